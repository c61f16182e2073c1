#!/usr/bin/env python3
"""Drop the section header table (and the section-name strings after the
last segment) from the stripped kernel, in place.

Loaders (GRUB's Multiboot2, QEMU's PVH `-kernel`) read only the ELF header,
the program headers and what they point at; section headers matter to tools,
which read build/exo-kernel.elf. Like `sstrip`, this removes what no loader
uses: about 700 bytes of a 64 KiB budget. Refuses (exit 1) if any segment's
bytes lie past the point it would cut.
"""
import struct
import sys

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


def trim(path: str) -> int:
    data = bytearray(open(path, "rb").read())
    (ident, e_type, machine, version, entry, phoff, shoff, flags, ehsize, phentsize, phnum,
     shentsize, shnum, shstrndx) = EHDR.unpack_from(data)
    if ident[:4] != b"\x7fELF" or ident[4] != 2:
        raise SystemExit(f"trim_elf: {path} is not ELF64")
    end = phoff + phnum * phentsize
    for i in range(phnum):
        _, _, p_offset, _, _, p_filesz, _, _ = PHDR.unpack_from(data, phoff + i * phentsize)
        if p_filesz:
            end = max(end, p_offset + p_filesz)
    if shoff and shoff < end:
        raise SystemExit(f"trim_elf: section headers at {shoff:#x} lie inside the segments (end {end:#x})")
    EHDR.pack_into(data, 0, ident, e_type, machine, version, entry, phoff, 0, flags, ehsize, phentsize,
                   phnum, 0, 0, 0)
    del data[end:]
    open(path, "wb").write(data)
    return len(data)


if __name__ == "__main__":
    for p in sys.argv[1:]:
        trim(p)
