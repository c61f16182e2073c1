"""Section and symbol tables of an ELF64 kernel, read in pure Python.

The page map labels the image's sections and stacks from these, and the
boot graph finds the boot task table by its symbols; no nm or readelf is
needed, so a pip-installed client reads them too. `Layout` is plain data
(JSON-able), so tests load a recorded one instead of an ELF.
"""
from __future__ import annotations

import dataclasses
import struct
from pathlib import Path
from typing import Optional

SHT_SYMTAB, SHT_NOBITS = 2, 8
SHF_WRITE, SHF_ALLOC, SHF_EXECINSTR = 0x1, 0x2, 0x4


class ElfError(ValueError):
    pass


@dataclasses.dataclass
class Section:
    name: str
    addr: int
    size: int
    flags: int

    @property
    def end(self) -> int:
        return self.addr + self.size


@dataclasses.dataclass
class Layout:
    """The loaded sections and the sized or named symbols of one image."""
    sections: list                               # [Section], allocated ones only
    symbols: dict                                # name -> (addr, size)
    path: str = ""

    def section(self, name: str) -> Optional[Section]:
        return next((s for s in self.sections if s.name == name), None)

    def symbol(self, name: str) -> Optional[tuple]:
        return self.symbols.get(name)

    def to_json(self) -> dict:
        return {"path": self.path, "sections": [dataclasses.asdict(s) for s in self.sections],
                "symbols": {k: list(v) for k, v in sorted(self.symbols.items())}}

    @classmethod
    def from_json(cls, obj: dict) -> "Layout":
        return cls([Section(**s) for s in obj["sections"]],
                   {k: tuple(v) for k, v in obj["symbols"].items()}, obj.get("path", ""))


def _cstr(data: bytes, offset: int) -> str:
    end = data.index(b"\0", offset)
    return data[offset:end].decode(errors="replace")


def parse(data: bytes, path: str = "") -> Layout:
    """ELF64 little-endian bytes -> Layout (ElfError if they are not)."""
    if data[:4] != b"\x7fELF" or len(data) < 64 or data[4] != 2 or data[5] != 1:
        raise ElfError(f"{path or 'data'}: not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    if not headers or shstrndx >= shnum:
        raise ElfError(f"{path or 'data'}: no section name table")
    names_off = headers[shstrndx][4]
    sections, symbols = [], {}
    for (name, sh_type, flags, addr, offset, size, link, _info, _align, entsize) in headers:
        if flags & SHF_ALLOC and size:
            sections.append(Section(_cstr(data, names_off + name), addr, size, flags))
        if sh_type == SHT_SYMTAB and entsize:
            strtab_off = headers[link][4]
            for i in range(size // entsize):
                st_name, _st_info, _other, shndx, value, st_size = struct.unpack_from(
                    "<IBBHQQ", data, offset + i * entsize)
                if st_name and shndx:   # named and defined
                    symbols[_cstr(data, strtab_off + st_name)] = (value, st_size)
    return Layout(sorted(sections, key=lambda s: s.addr), symbols, path)


def read(path: Path) -> Layout:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ElfError(f"cannot read {path}: {e.strerror or e}") from None
    return parse(data, str(path))
