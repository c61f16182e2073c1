#!/usr/bin/python3
"""Where the kernel's bytes come from: build/exo-kernel.elf per source folder,
in the spirit of `cargo bloat --crates`.

    /usr/bin/python3 bench/size_report.py [ELF] [--depth N] [--top N] [--json]

ELF: the linked kernel with its DWARF (-g), not the stripped exo-kernel;
default $EXO_BUILD_DIR/exo-kernel.elf, else <repo>/build/exo-kernel.elf.
Standard library only, plus binutils `readelf`, `objdump` and `size`.

What it measures: every byte of every allocated section, file-backed (.text,
.rodata, .data; .boot, .note.pvh, .ksyms as "other") or memory only (.bss,
.boot.bss), given to exactly one source file or to `(unattributed)`, then
summed per folder: the file's directory relative to the repo root, cut to N
components by --depth. Folders are read off the paths; no list of them is kept.
Every byte is given to one owner (a per-byte map per section), so the
per-section sums are the section sizes.

How a byte finds its file; the first rule that applies wins:
 1. code: the DWARF line table (.debug_line, decoded here). A byte belongs to
    the file of the source line it was compiled from, so code LTO inlined
    counts for the CALLEE's file (the header or .cc the inlined function is
    written in), not for the function it landed in. `--inlined caller`
    reverses that: a function's whole body goes to the function's file.
 2. symbols with a size: their defining file in DWARF (the concrete
    DW_TAG_subprogram/DW_TAG_variable at that address, through abstract_origin
    and specification to DW_AT_decl_file).
 3. assembler labels without a size: a local label belongs to the source named
    by the FILE symbol before it (boot.S.o); it owns bytes up to the next symbol.
 4. data with no DWARF (string literals and other merged constants, switch
    tables, vtables, tables only a global label marks, like .ksyms): the file
    of the FUNCTION whose instructions reference it (an absolute or RIP-relative
    operand; `cmp` is skipped, it compares against one-past-the-end) or of the
    data holding a pointer to it. Functions, not lines: a literal handed to an
    inlined helper is written at the call site, but the instruction loading it
    carries the helper's line. A referenced address owns the bytes up to the
    next referenced one; a sized symbol goes whole; most references wins.
 5. the rest, mostly alignment padding: `(unattributed)`, per section.

Exits 0 with the report; 2 with a message if the ELF is missing, is not an
ELF64, or has no DWARF.
"""
from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import struct
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

REPO_DIR = Path(__file__).resolve().parent.parent
BUDGETS = (("stretch", 49_152), ("budget", 65_536), ("build ceiling", 81_920))
UNATTRIBUTED = "(unattributed)"
COLUMNS = (".text", ".rodata", ".data")  # other file-backed sections sum into "other"

SHT_NOBITS = 8
SHF_ALLOC, SHF_EXECINSTR, SHF_COMPRESSED = 0x2, 0x4, 0x800


class ReportError(Exception):
    """The report cannot be made; main() prints the message and exits 2."""


def run(*argv: str) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, errors="replace")
    except FileNotFoundError:
        raise ReportError(f"`{argv[0]}` not found: install binutils") from None
    if done.returncode != 0:
        raise ReportError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


# ---- ELF ---------------------------------------------------------------------

@dataclass
class Section:
    name: str
    type: int
    flags: int
    addr: int
    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def in_file(self) -> bool:
        return self.type != SHT_NOBITS

    @property
    def code(self) -> bool:
        return bool(self.flags & SHF_EXECINSTR)


class Elf:
    """Section headers and contents of a little-endian ELF64 file."""

    def __init__(self, path: Path):
        self.data = path.read_bytes()
        if self.data[:4] != b"\x7fELF" or self.data[4:6] != b"\x02\x01":
            raise ReportError(f"{path} is not a little-endian ELF64 file")
        if struct.unpack_from("<H", self.data, 0x3C)[0] == 0:
            raise ReportError(f"{path} has no section headers (the stripped, trimmed kernel): "
                              "pass the unstripped exo-kernel.elf next to it")
        try:
            self.sections = self._read_sections()
        except (struct.error, ValueError, IndexError):
            raise ReportError(f"{path}: truncated or malformed ELF") from None

    def _read_sections(self) -> list[Section]:
        shoff, = struct.unpack_from("<Q", self.data, 0x28)
        entsize, count, names_index = struct.unpack_from("<HHH", self.data, 0x3A)
        headers = [struct.unpack_from("<IIQQQQ", self.data, shoff + i * entsize)
                   for i in range(count)]
        names_at = headers[names_index][4]
        return [Section(self._cstr(names_at + h[0]), *h[1:]) for h in headers]

    def _cstr(self, at: int) -> str:
        return self.data[at:self.data.index(b"\0", at)].decode()

    def section(self, name: str) -> Optional[Section]:
        return next((s for s in self.sections if s.name == name), None)

    def alloc_sections(self) -> list[Section]:
        return [s for s in self.sections if s.flags & SHF_ALLOC and s.size]

    def contents(self, name: str) -> bytes:
        s = self.section(name)
        if s is None or not s.in_file:
            return b""
        raw = self.data[s.offset:s.offset + s.size]
        if s.flags & SHF_COMPRESSED:  # Elf64_Chdr, then a zlib stream
            return zlib.decompress(raw[24:])
        return raw


# ---- DWARF line tables (.debug_line, versions 2 to 5) ---------------------------

class Reader:
    def __init__(self, data: bytes, pos: int = 0):
        self.data, self.pos = data, pos

    def fixed(self, fmt: str) -> int:
        value, = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def _leb(self) -> tuple[int, int, int]:
        """LEB128: the value's bits, how many, and the last byte."""
        result = shift = 0
        while True:
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result, shift, byte

    def uleb(self) -> int:
        return self._leb()[0]

    def sleb(self) -> int:
        result, shift, last = self._leb()
        return result - (1 << shift) if last & 0x40 else result

    def cstr(self) -> str:
        end = self.data.index(b"\0", self.pos)
        text = self.data[self.pos:end].decode(errors="replace")
        self.pos = end + 1
        return text


def string_at(table: bytes, offset: int) -> str:
    return table[offset:table.index(b"\0", offset)].decode(errors="replace")


@dataclass
class LineUnit:
    files: list[Optional[str]]  # indexed by DWARF file number; None: no real file
    ranges: list[tuple[int, int, Optional[str]]] = field(default_factory=list)


def read_form(r: Reader, form: int, offset_fmt: str, strings: dict[int, bytes]):
    """One value of a line-table header entry (DW_LNCT_*), by DW_FORM."""
    if form == 0x08:                      # string
        return r.cstr()
    if form in (0x1F, 0x0E):              # line_strp, strp
        return string_at(strings[form], r.fixed(offset_fmt))
    if form == 0x0F:                      # udata
        return r.uleb()
    sizes = {0x0B: "B", 0x05: "H", 0x06: "I", 0x07: "Q"}
    if form in sizes:                     # data1/2/4/8
        return r.fixed(sizes[form])
    if form == 0x1E:                      # data16 (MD5)
        r.pos += 16
        return None
    if form == 0x09:                      # block
        r.pos += r.uleb()
        return None
    raise ReportError(f".debug_line uses DW_FORM {form:#x}, which this script does not read")


def read_entries(r: Reader, offset_fmt: str, strings) -> list[dict[int, object]]:
    """A DWARF 5 directory or file-name table: [{DW_LNCT_*: value}]."""
    formats = [(r.uleb(), r.uleb()) for _ in range(r.fixed("B"))]
    return [{kind: read_form(r, form, offset_fmt, strings) for kind, form in formats}
            for _ in range(r.uleb())]


def real_file(path: str) -> Optional[str]:
    """None for LTO's '<artificial>' and other names that are no source file."""
    return None if path.endswith(">") else os.path.normpath(path)


def file_table_v5(r: Reader, offset_fmt: str, strings) -> list[Optional[str]]:
    dirs = [str(e.get(1, "")) for e in read_entries(r, offset_fmt, strings)]
    files = []
    for entry in read_entries(r, offset_fmt, strings):
        directory = dirs[entry.get(2, 0)] if dirs else ""
        base = dirs[0] if dirs else ""
        files.append(real_file(os.path.join(base, directory, str(entry.get(1, "")))))
    return files


def file_table_v4(r: Reader, comp_dir: str) -> list[Optional[str]]:
    dirs = [comp_dir]
    while (name := r.cstr()):
        dirs.append(name)
    files: list[Optional[str]] = [None]  # file numbers start at 1
    while (name := r.cstr()):
        directory = r.uleb()
        r.uleb(), r.uleb()  # mtime, length
        files.append(real_file(os.path.join(comp_dir, dirs[directory], name)))
    return files


def line_ranges(rows: list[tuple[int, int, int]], files) -> list[tuple[int, int, Optional[str]]]:
    """[start, end) -> file for one sequence; the last row at an address wins."""
    out = []
    for (addr, fileno, line), (next_addr, _, _) in zip(rows, rows[1:]):
        if next_addr > addr:
            path = files[fileno] if line and fileno < len(files) else None
            out.append((addr, next_addr, path))
    return out


def run_line_program(r: Reader, end: int, header: dict, files) -> list:
    ranges, rows = [], []
    base, line_base, line_range = header["opcode_base"], header["line_base"], header["line_range"]
    min_inst, lengths = header["min_inst"], header["lengths"]
    address, fileno, line = 0, 1, 1
    while r.pos < end:
        op = r.fixed("B")
        if op >= base:                          # special opcode: advance and add a row
            step = op - base
            address += (step // line_range) * min_inst
            line += line_base + step % line_range
            rows.append((address, fileno, line))
        elif op == 0:                           # extended opcode
            size = r.uleb()
            after = r.pos + size
            sub = r.fixed("B")
            if sub == 1:                        # end_sequence
                rows.append((address, fileno, line))
                ranges += line_ranges(rows, files)
                rows, address, fileno, line = [], 0, 1, 1
            elif sub == 2:                      # set_address
                address = r.fixed("Q" if size == 9 else "I")
            r.pos = after
        elif op == 1:                           # copy
            rows.append((address, fileno, line))
        elif op == 2:                           # advance_pc
            address += r.uleb() * min_inst
        elif op == 3:                           # advance_line
            line += r.sleb()
        elif op == 4:                           # set_file
            fileno = r.uleb()
        elif op == 8:                           # const_add_pc
            address += ((255 - base) // line_range) * min_inst
        elif op == 9:                           # fixed_advance_pc
            address += r.fixed("H")
        else:                                   # column, stmt, isa...: skip the operands
            for _ in range(lengths[op - 1]):
                r.uleb()
    return ranges


def parse_line_unit(data: bytes, pos: int, strings, comp_dirs: dict[int, str]):
    """One unit of .debug_line at pos: (LineUnit, offset of the next unit)."""
    r = Reader(data, pos)
    length, offset_fmt = r.fixed("I"), "I"
    if length == 0xFFFFFFFF:
        length, offset_fmt = r.fixed("Q"), "Q"
    end = r.pos + length
    version = r.fixed("H")
    if version >= 5:
        r.pos += 2  # address_size, segment_selector_size
    header_length = r.fixed(offset_fmt)
    program = r.pos + header_length
    header = {"min_inst": r.fixed("B")}
    if version >= 4:
        r.pos += 1  # maximum_operations_per_instruction
    r.pos += 1      # default_is_stmt
    header["line_base"] = struct.unpack("b", bytes([r.fixed("B")]))[0]
    header["line_range"] = r.fixed("B")
    header["opcode_base"] = r.fixed("B")
    header["lengths"] = [r.fixed("B") for _ in range(header["opcode_base"] - 1)]
    if version >= 5:
        files = file_table_v5(r, offset_fmt, strings)
    else:
        files = file_table_v4(r, comp_dirs.get(pos, ""))
    r.pos = program
    unit = LineUnit(files)
    unit.ranges = run_line_program(r, end, header, files)
    return unit, end


def parse_line_tables(elf: Elf, comp_dirs: dict[int, str]) -> dict[int, LineUnit]:
    """Every unit of .debug_line, keyed by its offset (DW_AT_stmt_list)."""
    data = elf.contents(".debug_line")
    strings = {0x1F: elf.contents(".debug_line_str"), 0x0E: elf.contents(".debug_str")}
    units, pos = {}, 0
    while pos < len(data):
        units[pos], pos = parse_line_unit(data, pos, strings, comp_dirs)
    return units


# ---- DWARF entries (.debug_info, through `readelf --debug-dump=info`) -------------

DIE_RE = re.compile(r"\s*<(\d+)><([0-9a-f]+)>: Abbrev Number: \d+ \((DW_TAG_\w+)\)")
ATTR_RE = re.compile(r"\s*<[0-9a-f]+>\s+(DW_AT_\w+)\s*: (.*)")
STRING_FORM_RE = re.compile(r"\(\w+\)\s*(?:\((?:offset|index): 0x[0-9a-f]+\):\s*)?")
REF_RE = re.compile(r"<0x([0-9a-f]+)>")
OP_ADDR_RE = re.compile(r"\(DW_OP_addr: ([0-9a-f]+)\)$")


@dataclass
class Dies:
    units: list[dict] = field(default_factory=list)     # per CU: name, comp_dir, stmt_list
    links: dict[int, tuple] = field(default_factory=dict)  # DIE -> (cu, decl_file, origin)
    at_addr: dict[int, int] = field(default_factory=dict)  # address -> concrete DIE


def parse_attr(name: str, value: str, die: dict) -> None:
    if name in ("DW_AT_name", "DW_AT_comp_dir"):
        die[name] = STRING_FORM_RE.sub("", value, count=1)
    elif name == "DW_AT_decl_file":
        die[name] = int(value.split()[-1], 0)
    elif name == "DW_AT_stmt_list":
        die[name] = int(value.split()[-1], 16)
    elif name in ("DW_AT_abstract_origin", "DW_AT_specification"):
        if (m := REF_RE.search(value)):
            die.setdefault("origin", int(m.group(1), 16))
    elif name == "DW_AT_location":
        if (m := OP_ADDR_RE.search(value.rstrip())):
            die["addr"] = int(m.group(1), 16)
    elif name == "DW_AT_low_pc":
        die["addr"] = int(value.split()[-1], 16)


def finish_die(dies: Dies, offset: int, tag: str, attrs: dict) -> None:
    if tag == "DW_TAG_compile_unit" or tag == "DW_TAG_partial_unit":
        dies.units.append({"name": attrs.get("DW_AT_name", ""),
                           "comp_dir": attrs.get("DW_AT_comp_dir", ""),
                           "stmt_list": attrs.get("DW_AT_stmt_list")})
    dies.links[offset] = (len(dies.units) - 1, attrs.get("DW_AT_decl_file"), attrs.get("origin"))
    if tag in ("DW_TAG_subprogram", "DW_TAG_variable") and "addr" in attrs:
        dies.at_addr.setdefault(attrs["addr"], offset)


def parse_info(elf_path: Path) -> Dies:
    dies, current, tag, attrs = Dies(), None, "", {}
    text = run("readelf", "--wide", "--debug-dump=info", str(elf_path))
    for line in text.splitlines():
        if "DW_TAG_" in line and (m := DIE_RE.match(line)):
            if current is not None:
                finish_die(dies, current, tag, attrs)
            current, tag, attrs = int(m.group(2), 16), m.group(3), {}
        elif current is not None and "DW_AT_" in line and (m := ATTR_RE.match(line)):
            parse_attr(m.group(1), m.group(2), attrs)
    if current is not None:
        finish_die(dies, current, tag, attrs)
    return dies


class Dwarf:
    """Line tables plus the defining file of every concrete function/variable."""

    def __init__(self, elf: Elf, elf_path: Path):
        if elf.section(".debug_info") is None or elf.section(".debug_line") is None:
            raise ReportError(f"{elf_path} has no DWARF (.debug_info/.debug_line): "
                              "pass the unstripped exo-kernel.elf built with -g")
        self.dies = parse_info(elf_path)
        comp_dirs = {u["stmt_list"]: u["comp_dir"] for u in self.dies.units
                     if u["stmt_list"] is not None}
        self.lines = parse_line_tables(elf, comp_dirs)

    def unit_names(self) -> list[str]:
        return [real_file(u["name"]) for u in self.dies.units
                if u["name"].startswith("/") and real_file(u["name"])]

    def known_files(self) -> set[str]:
        files = {f for unit in self.lines.values() for f in unit.files if f}
        return files | set(self.unit_names())

    def code_ranges(self):
        for unit in self.lines.values():
            yield from unit.ranges

    def defining_file(self, addr: int) -> Optional[str]:
        """decl_file of the concrete DIE at addr, through its origins."""
        offset = self.dies.at_addr.get(addr)
        for _ in range(8):
            if offset not in self.dies.links:
                return None
            cu, decl_file, origin = self.dies.links[offset]
            if decl_file is not None:
                return self._file_of(cu, decl_file)
            offset = origin
        return None

    def _file_of(self, cu: int, number: int) -> Optional[str]:
        unit = self.lines.get(self.dies.units[cu]["stmt_list"]) if cu >= 0 else None
        if unit is None or number >= len(unit.files):
            return None
        return unit.files[number]


# ---- symbols ---------------------------------------------------------------------

@dataclass
class Symbol:
    addr: int
    size: int
    name: str             # demangled, as `nm -C` prints it
    section: str
    object_name: str      # FILE symbol before a local one (e.g. boot.S.o), else ""
    file: Optional[str] = None


SYMBOL_RE = re.compile(r"\s*(\d+): ([0-9a-f]+)\s+(\S+) (\w+)\s+(\w+)\s+\w+\s+(\w+) ?(.*)$")


def read_symbols(elf_path: Path, elf: Elf) -> list[Symbol]:
    """Every symbol that sits in an allocated section, in symbol table order."""
    symbols, object_name = [], ""
    text = run("readelf", "--wide", "--syms", "--demangle", str(elf_path))
    for line in text.splitlines():
        m = SYMBOL_RE.match(line)
        if not m:
            continue
        _, value, size, kind, bind, index, name = m.groups()
        if kind == "FILE":
            object_name = name
            continue
        if not index.isdigit() or kind == "SECTION":
            continue
        section = elf.sections[int(index)]
        if not section.flags & SHF_ALLOC:
            continue
        symbols.append(Symbol(int(value, 16), int(size, 0), name, section.name,
                              object_name if bind == "LOCAL" else ""))
    return symbols


# ---- attribution -----------------------------------------------------------------

class ByteMap:
    """The owner (a source path or None) of every byte of one section."""

    def __init__(self, section: Section):
        self.section = section
        self.owner: list[Optional[str]] = [None] * section.size
        self.rules: Counter = Counter()  # bytes given by each attribution rule

    def fill(self, start: int, end: int, path: str, rule: str) -> int:
        """Give [start, end) to path where no owner is set yet; bytes given."""
        lo, hi = max(start, self.section.addr), min(end, self.section.end)
        given = 0
        for i in range(lo - self.section.addr, hi - self.section.addr):
            if self.owner[i] is None:
                self.owner[i] = path
                given += 1
        self.rules[rule] += given
        return given

    def fill_run(self, start: int, limit: int, path: str, rule: str) -> None:
        """Give bytes from start up to limit, stopping at the first owned byte."""
        i, stop = start - self.section.addr, min(limit, self.section.end) - self.section.addr
        while i < stop and self.owner[i] is None:
            self.owner[i] = path
            self.rules[rule] += 1
            i += 1

    def at(self, addr: int) -> Optional[str]:
        return self.owner[addr - self.section.addr]

    def free_runs(self):
        """Maximal [start, end) address runs that have no owner."""
        start = None
        for i, owner in enumerate(self.owner + ["end"]):
            if owner is None and start is None:
                start = i
            elif owner is not None and start is not None:
                yield self.section.addr + start, self.section.addr + i
                start = None


class Attribution:
    def __init__(self, elf: Elf, elf_path: Path, dwarf: Dwarf, inlined: str):
        self.elf, self.dwarf = elf, dwarf
        self.maps = {s.name: ByteMap(s) for s in elf.alloc_sections()}
        self.by_addr = sorted(self.maps.values(), key=lambda m: m.section.addr)
        self.starts = [m.section.addr for m in self.by_addr]
        self.symbols = read_symbols(elf_path, elf)
        self.objects = self._object_paths()
        if inlined == "caller":
            self._by_symbols(code=True)
        self._by_line_table()
        self._by_symbols(code=None)
        self._by_local_labels()
        self._by_references(elf_path)

    def map_of(self, addr: int) -> Optional[ByteMap]:
        i = bisect.bisect_right(self.starts, addr) - 1
        if i >= 0 and addr < self.by_addr[i].section.end:
            return self.by_addr[i]
        return None

    def _object_paths(self) -> dict[str, str]:
        """FILE symbol (boot.S.o) -> source path, when exactly one file has that name."""
        by_name = defaultdict(set)
        for path in self.dwarf.known_files():
            by_name[os.path.basename(path)].add(path)
        found = {}
        for name in {s.object_name for s in self.symbols if s.object_name}:
            stem = name[:-2] if name.endswith(".o") else name
            paths = by_name.get(stem) or find_in_tree(repo_root(self.dwarf), stem)
            if len(paths) == 1:
                found[name] = next(iter(paths))
        return found

    def defining_file(self, sym: Symbol) -> Optional[str]:
        path = self.dwarf.defining_file(sym.addr)
        if path is None and self.maps[sym.section].section.code:
            path = self.maps[sym.section].at(sym.addr)  # assembler code: its line table
        return path or self.objects.get(sym.object_name)

    def _by_line_table(self) -> None:
        for start, end, path in self.dwarf.code_ranges():
            m = self.map_of(start)
            if m is not None and m.section.code and path:
                m.fill(start, end, path, "line table")

    def _by_symbols(self, code: Optional[bool]) -> None:
        for sym in self.symbols:
            if sym.size and (code is None or self.maps[sym.section].section.code == code):
                sym.file = sym.file or self.defining_file(sym)
                if sym.file:
                    self.maps[sym.section].fill(sym.addr, sym.addr + sym.size, sym.file, "symbols")

    def _by_local_labels(self) -> None:
        bounds = sorted({s.addr for s in self.symbols} | {m.section.end for m in self.maps.values()})
        for sym in self.symbols:
            path = self.objects.get(sym.object_name)
            if sym.size == 0 and path and sym.addr < self.maps[sym.section].section.end:
                limit = bounds[bisect.bisect_right(bounds, sym.addr)]
                self.maps[sym.section].fill_run(sym.addr, limit, path, "labels")

    def _by_references(self, elf_path: Path) -> None:
        from_code = self._code_references(elf_path)
        for _ in range(8):
            refs = defaultdict(Counter)
            for target, path in from_code + self._data_references():
                refs[target][path] += 1
            if not self._give_referenced(refs):
                return

    def _give_referenced(self, refs: dict[int, Counter]) -> int:
        """Sized symbols DWARF has no file for (vtables...) go whole to the file
        referencing them most; other free runs are cut at referenced addresses."""
        given, targets = 0, sorted(refs)

        def referenced(start: int, end: int) -> list[int]:
            return targets[bisect.bisect_left(targets, start):bisect.bisect_left(targets, end)]

        for sym in self.symbols:
            m = self.maps[sym.section]
            if sym.size and not sym.file and not m.section.code:
                votes = sum((refs[t] for t in referenced(sym.addr, sym.addr + sym.size)), Counter())
                if votes:
                    given += m.fill(sym.addr, sym.addr + sym.size, most_common(votes), "references")
        for m in self.maps.values():
            if m.section.code:
                continue
            for start, end in list(m.free_runs()):
                inside = referenced(start, end)
                for here, upto in zip(inside, inside[1:] + [end]):
                    given += m.fill(here, upto, most_common(refs[here]), "references")
        return given

    def _code_references(self, elf_path: Path) -> list[tuple[int, str]]:
        """(address, file of the function) for each instruction operand that
        points into data. The function, not the line: a literal passed to an
        inlined helper is written at the call site, but its load instruction
        carries the helper's line."""
        functions = sorted((s.addr, s.addr + s.size, s.file) for s in self.symbols
                           if s.size and s.file and self.maps[s.section].section.code)
        starts = [f[0] for f in functions]
        refs = []
        text = run("objdump", "-d", "--wide", "--no-show-raw-insn", str(elf_path))
        for line in text.splitlines():
            m = INSN_RE.match(line)
            if not m or m.group(2).startswith("cmp"):  # bounds checks: one past the end
                continue
            addr = int(m.group(1), 16)
            i = bisect.bisect_right(starts, addr) - 1
            inside = i >= 0 and addr < functions[i][1]
            source = functions[i][2] if inside else self.owner_of(addr)
            if source is None:
                continue
            for target in operand_addresses(m.group(2)):
                if self.in_data(target):
                    refs.append((target, source))
        return refs

    def _data_references(self) -> list[tuple[int, str]]:
        """(address, file of the pointer) for 8-byte pointers in attributed data."""
        refs = []
        for m in self.maps.values():
            s = m.section
            if s.code or not s.in_file:
                continue
            raw = self.elf.data[s.offset:s.offset + s.size]
            for i in range((-s.addr) % 8, s.size - 7, 8):
                source = m.owner[i]
                if source is not None:
                    target, = struct.unpack_from("<Q", raw, i)
                    if self.in_data(target):
                        refs.append((target, source))
        return refs

    def owner_of(self, addr: int) -> Optional[str]:
        m = self.map_of(addr)
        return m.at(addr) if m else None

    def in_data(self, addr: int) -> bool:
        m = self.map_of(addr)
        return m is not None and not m.section.code and m.at(addr) is None


def most_common(votes: Counter) -> str:
    """The file with the most references; ties go to the first name."""
    return min(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]


INSN_RE = re.compile(r"\s*([0-9a-f]+):\t(.*)$")
NUMBER_RE = re.compile(r"(-?)0x([0-9a-f]+)|#\s*([0-9a-f]+)\b")


def operand_addresses(insn: str):
    """Numbers in an instruction as 64-bit addresses (displacements sign-extended)."""
    for sign, hexa, comment in NUMBER_RE.findall(insn):
        value = int(hexa or comment, 16)
        yield (1 << 64) - value if sign else value


def repo_root(dwarf: Dwarf) -> Path:
    """This script's repo, unless the ELF was built from sources elsewhere:
    then the deepest directory holding all of its compile units."""
    names = dwarf.unit_names()
    inside = [n for n in names if Path(n).is_relative_to(REPO_DIR)]
    if names and len(inside) * 2 < len(names):
        return Path(os.path.commonpath(names))
    return REPO_DIR


def find_in_tree(root: Path, name: str) -> set[str]:
    """Files called name under root, skipping hidden and build directories."""
    found = set()
    for here, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")
                   and not (Path(here, d) / "CMakeCache.txt").exists()]
        if name in files:
            found.add(os.path.join(here, name))
    return found


# ---- report data -----------------------------------------------------------------

def folder_of(path: Optional[str], root: Path, depth: Optional[int], by_file: bool) -> str:
    if path is None:
        return UNATTRIBUTED
    p = Path(path)
    if p.is_relative_to(root):
        p = p.relative_to(root)
    parts = p.parts if by_file else p.parent.parts
    if depth and not by_file:
        parts = parts[:depth + (1 if p.is_absolute() else 0)]
    return "/".join(parts).replace("//", "/") or "."


def column_of(section: Section) -> str:
    if not section.in_file:
        return ".bss"
    return section.name if section.name in COLUMNS else "other"


def folder_table(att: Attribution, root: Path, depth, by_file) -> list[dict]:
    rows = defaultdict(Counter)
    for m in att.maps.values():
        column = column_of(m.section)
        for path, count in Counter(m.owner).items():
            rows[folder_of(path, root, depth, by_file)][column] += count
    file_total = sum(s.size for s in att.elf.alloc_sections() if s.in_file)
    table = []
    for folder, c in rows.items():
        total = sum(c[k] for k in (*COLUMNS, "other"))
        table.append({"folder": folder, **{k.lstrip("."): c[k] for k in COLUMNS},
                      "other": c["other"], "total": total,
                      "percent": round(100 * total / file_total, 2), "bss": c[".bss"]})
    table.sort(key=lambda r: (r["folder"] == UNATTRIBUTED, -r["total"], -r["bss"], r["folder"]))
    return table


def section_table(att: Attribution) -> list[dict]:
    rows = []
    for m in att.maps.values():
        unattributed = m.owner.count(None)
        rows.append({"section": m.section.name, "size": m.section.size, "file_backed": m.section.in_file,
                     "attributed": len(m.owner) - unattributed, "unattributed": unattributed,
                     "by_rule": dict(m.rules)})
    return rows


def symbol_name_at(att: Attribution, addr: int) -> str:
    """The nearest symbol at or before addr in its section, as name+offset."""
    best = None
    for sym in att.symbols:
        if sym.addr <= addr and att.map_of(sym.addr) is att.map_of(addr):
            if best is None or sym.addr > best.addr:
                best = sym
    if best is None:
        return att.map_of(addr).section.name
    return best.name + (f"+{addr - best.addr:#x}" if addr != best.addr else "")


def unattributed_runs(att: Attribution, limit: int = 10) -> list[dict]:
    runs = [(end - start, start, m) for m in att.maps.values() for start, end in m.free_runs()]
    runs.sort(key=lambda r: (-r[0], r[1]))
    return [{"size": size, "section": m.section.name, "address": f"{start:#x}",
             "at": symbol_name_at(att, start), "zeros": all_zero(att.elf, m.section, start, size)}
            for size, start, m in runs[:limit]]


def all_zero(elf: Elf, section: Section, start: int, size: int) -> bool:
    """Whether a run holds only zero bytes (alignment padding, most likely)."""
    if not section.in_file:
        return True
    at = section.offset + start - section.addr
    return not any(elf.data[at:at + size])


def top_symbols(att: Attribution, root: Path, limit: int) -> list[dict]:
    seen, rows = set(), []
    for sym in sorted(att.symbols, key=lambda s: (-s.size, s.addr)):
        if not sym.size or not att.maps[sym.section].section.in_file or \
                (sym.addr, sym.size) in seen:
            continue
        seen.add((sym.addr, sym.size))
        path = sym.file or att.owner_of(sym.addr)  # no DWARF: who references it
        rows.append({"size": sym.size, "section": sym.section, "symbol": sym.name,
                     "file": folder_of(path, root, None, True) if path else UNATTRIBUTED})
        if len(rows) == limit:
            break
    return rows


def stripped_report(elf_path: Path, file_backed: int) -> Optional[dict]:
    stripped = elf_path.with_suffix("") if elf_path.suffix == ".elf" else None
    if stripped is None or not stripped.is_file():
        return None
    size = stripped.stat().st_size
    return {"path": str(stripped), "size": size, "sections": file_backed,
            "headers_and_padding": size - file_backed,
            "budgets": [{"name": n, "limit": b, "margin": b - size} for n, b in BUDGETS]}


def build_report(elf_path: Path, args) -> dict:
    if not elf_path.is_file():
        raise ReportError(f"{elf_path}: no such file (build it: cmake --build build; "
                          "or pass the ELF path or set EXO_BUILD_DIR)")
    elf = Elf(elf_path)
    dwarf = Dwarf(elf, elf_path)
    att = Attribution(elf, elf_path, dwarf, args.inlined)
    root = repo_root(dwarf)
    sections = section_table(att)
    file_backed = sum(s.size for s in elf.alloc_sections() if s.in_file)
    return {
        "elf": str(elf_path),
        "repo_root": str(root),
        "grouping": "file" if args.files else f"directory, depth {args.depth or 'full'}",
        "group_title": "file" if args.files else "folder",
        "inlined_code_counts_for": args.inlined,
        "other_sections": [m.section.name for m in att.maps.values()
                           if column_of(m.section) == "other"],
        "folders": folder_table(att, root, args.depth, args.files),
        "sections": sections,
        "file_backed_total": file_backed,
        "unattributed_file_backed": sum(s["unattributed"] for s in sections if s["file_backed"]),
        "largest_unattributed": unattributed_runs(att),
        "top_symbols": top_symbols(att, root, args.top),
        "stripped": stripped_report(elf_path, file_backed),
    }


# ---- text output -----------------------------------------------------------------

def print_folders(report: dict) -> None:
    has_other = bool(report["other_sections"])
    width = max(24, *(len(r["folder"]) for r in report["folders"]))
    head = f"{report['group_title']:<{width}} {'.text':>7} {'.rodata':>7} {'.data':>6}"
    head += f" {'other':>6}" if has_other else ""
    print(head + f" {'total':>7} {'%file':>6} | {'.bss':>7} (memory only)")
    sums = Counter()
    for r in report["folders"]:
        sums.update({k: r[k] for k in ("text", "rodata", "data", "other", "total", "bss")})
        print_folder_row(width, has_other, r["folder"], r, r["percent"])
    print_folder_row(width, has_other, "total", sums, 100.0)
    if has_other:
        print(f"(other: {' '.join(report['other_sections'])})")


def print_folder_row(width: int, has_other: bool, name: str, r, percent: float) -> None:
    line = f"{name:<{width}} {r['text']:>7} {r['rodata']:>7} {r['data']:>6}"
    line += f" {r['other']:>6}" if has_other else ""
    print(line + f" {r['total']:>7} {percent:>5.1f}% | {r['bss']:>7}")


RULES = ("line table", "symbols", "labels", "references")


def print_sections(report: dict) -> None:
    print(f"{'section':<14} {'size':>8} | {'line tbl':>8} {'symbols':>8} {'labels':>7} "
          f"{'refs':>6} {'unattrib.':>9}")
    for kind, title in ((True, "file-backed"), (False, "memory only")):
        rows = [s for s in report["sections"] if s["file_backed"] == kind]
        for s in rows:
            print_section_row(s["section"], s)
        total = {k: sum(s[k] for s in rows) for k in ("size", "unattributed")}
        total["by_rule"] = sum((Counter(s["by_rule"]) for s in rows), Counter())
        print_section_row("= " + title, total)


def print_section_row(name: str, s: dict) -> None:
    rules = [s["by_rule"].get(rule, 0) for rule in RULES]
    share = f"({100 * s['unattributed'] / s['size']:.1f}%)" if s["size"] else ""
    print(f"{name:<14} {s['size']:>8} | "
          f"{rules[0]:>8} {rules[1]:>8} {rules[2]:>7} {rules[3]:>6} {s['unattributed']:>9}  {share}")


def print_stripped(report: dict) -> None:
    s = report["stripped"]
    if s is None:
        print("stripped kernel: not found next to the ELF")
        return
    print(f"stripped {s['path']}: {s['size']} B ({s['size'] / 1024:.1f} KiB) = "
          f"{s['sections']} B of sections + {s['headers_and_padding']} B of headers and padding")
    for b in s["budgets"]:
        verdict = f"{b['margin']} B to spare" if b["margin"] >= 0 else f"OVER by {-b['margin']} B"
        print(f"  {b['name']:<14} {b['limit']:>6} B  {verdict}")


def print_runs(report: dict) -> None:
    print(f"{'size':>6} {'section':<10} {'address':<18} {'content':<8} starts at")
    for r in report["largest_unattributed"]:
        content = "zeros" if r["zeros"] else "non-zero"
        print(f"{r['size']:>6} {r['section']:<10} {r['address']:<18} {content:<8} {r['at']}")


def print_top(report: dict) -> None:
    print(f"{'size':>6} {'section':<9} {'file':<40} symbol")
    for r in report["top_symbols"]:
        print(f"{r['size']:>6} {r['section']:<9} {r['file']:<40} {r['symbol']}")


def print_report(report: dict) -> None:
    print(f"Exo-OS size report: {report['elf']}")
    print(f"folders: {report['grouping']}, relative to {report['repo_root']}; "
          f"inlined code counts for the {report['inlined_code_counts_for']}'s file")
    print()
    print_folders(report)
    print()
    print_sections(report)
    print()
    print_stripped(report)
    print()
    print("largest unattributed runs")
    print_runs(report)
    print()
    print(f"{len(report['top_symbols'])} largest symbols (file-backed sections)")
    print_top(report)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    default_elf = Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")) / "exo-kernel.elf"
    p.add_argument("elf", nargs="?", type=Path, default=default_elf,
                   help=f"the linked kernel with DWARF, or its build directory (default {default_elf})")
    p.add_argument("--depth", type=int, default=None, metavar="N",
                   help="group by the first N directory components (default: the whole directory)")
    p.add_argument("--files", action="store_true", help="group by source file instead of folder")
    p.add_argument("--top", type=int, default=30, metavar="N", help="largest symbols to list (default 30)")
    p.add_argument("--inlined", choices=("callee", "caller"), default="callee",
                   help="whose file inlined code counts for (default callee: the line table)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = p.parse_args()
    if args.depth is not None and args.depth < 1:
        p.error("--depth must be 1 or more")
    elf_path = args.elf / "exo-kernel.elf" if args.elf.is_dir() else args.elf
    try:
        report = build_report(elf_path, args)
    except (ReportError, OSError) as e:
        print(f"size_report: {e}", file=sys.stderr)
        return 2
    try:
        if args.json:
            print(json.dumps(report, indent=1))
        else:
            print_report(report)
    except BrokenPipeError:  # | head
        sys.stderr.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
