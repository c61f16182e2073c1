"""x86_64 4-level page tables read from the host: the same walk, effective
flags and coalescing as kernel/mm/page_table.cc (PageTable::walk and
for_each_range), over a function that returns one table's 512 entries.
Pure: the gdb binding hands it a reader over the kernel's direct map, tests
hand it a dict.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterator, List, Optional, Sequence

# PTE bits, Intel SDM Vol. 3A 4.5 (kernel/mm/page_table.h, namespace pte).
PRESENT = 1 << 0
LARGE_PAGE = 1 << 7
NO_EXECUTE = 1 << 63
ADDRESS_MASK = 0x000FFFFFFFFFF000

# exo::PageFlags bit values.
WRITABLE, USER, EXECUTABLE, GLOBAL = 1 << 0, 1 << 1, 1 << 2, 1 << 3
WRITE_THROUGH, CACHE_DISABLE, ACCESSED, DIRTY = 1 << 4, 1 << 5, 1 << 6, 1 << 7
ALLOW_WRITE_EXECUTE = 1 << 8
ANDED_RIGHTS = WRITABLE | USER | EXECUTABLE          # effective only if set at every level
LEAF_ONLY = GLOBAL | WRITE_THROUGH | CACHE_DISABLE   # taken from the leaf alone

ENTRIES = 512
LEVELS = 4                      # PML4, PDPT, PD, PT
LEAF_LEVEL = LEVELS - 1
HIGH_HALF = 0xFFFF000000000000  # sign extension of PML4 slots 256..511
CANONICAL_BITS = 47

# PageSize: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB.
SIZE_4K, SIZE_2M, SIZE_1G = 0, 1, 2

TableReader = Callable[[int], Optional[Sequence[int]]]  # phys -> 512 entries, None if unreadable


def page_size_bytes(size: int) -> int:
    return 1 << (12 + 9 * size)


def size_at_level(level: int) -> int:
    return LEAF_LEVEL - level


def level_shift(level: int) -> int:
    return 12 + 9 * (LEAF_LEVEL - level)


def is_canonical(virt: int) -> bool:
    top = virt >> CANONICAL_BITS
    return top == 0 or top == (1 << (64 - CANONICAL_BITS)) - 1


def flags_text(flags: int) -> str:
    """flags_text(): "RWXUG" with '-' for an absent right."""
    return "R" + "".join(c if flags & bit else "-"
                         for c, bit in (("W", WRITABLE), ("X", EXECUTABLE), ("U", USER), ("G", GLOBAL)))


def flag_names(flags: int) -> List[str]:
    """The bits flags_text() leaves out, by name (for the pretty-printer)."""
    return [name for name, bit in (("WT", WRITE_THROUGH), ("CD", CACHE_DISABLE), ("A", ACCESSED),
                                   ("D", DIRTY), ("AllowWX", ALLOW_WRITE_EXECUTE)) if flags & bit]


@dataclasses.dataclass
class WalkLevel:
    table_phys: int
    entry_phys: int
    index: int
    raw: int
    flags: int


@dataclasses.dataclass
class Walk:
    levels: List[WalkLevel]
    stop: str                     # "not-present", "large", "leaf", "unreadable", "reserved", "non-canonical"
    phys: int = 0                 # valid for "large" and "leaf"
    page_size: int = SIZE_4K
    flags: int = 0                # effective flags of the mapping

    # walk_stop_name() index of each stop.
    STOP_INDEX = {"not-present": 0, "large": 1, "leaf": 2, "unreadable": 3, "reserved": 4, "non-canonical": 5}

    @property
    def mapped(self) -> bool:
        return self.stop in ("large", "leaf")


@dataclasses.dataclass
class MappedRange:
    virt: int
    phys: int
    page_size: int
    count: int
    flags: int

    @property
    def bytes(self) -> int:
        return self.count * page_size_bytes(self.page_size)


class PageTables:
    """The tables under one root, as the kernel's PageTable sees them."""

    def __init__(self, root_phys: int, read_table: TableReader, nx_supported: bool = True) -> None:
        self.root = root_phys & ADDRESS_MASK
        self._read = read_table
        self._nx = nx_supported
        self._cache: dict = {}

    def table(self, phys: int) -> Optional[Sequence[int]]:
        if phys not in self._cache:
            self._cache[phys] = self._read(phys)
        return self._cache[phys]

    def decode(self, raw: int) -> int:
        """PageTable::decode: an entry's own bits as PageFlags."""
        v = (raw >> 1 & 3) | (raw << 1 & 0xF0) | (raw >> 5 & 8)
        if not raw & NO_EXECUTE or not self._nx:
            v |= EXECUTABLE
        return v

    @staticmethod
    def _is_leaf(raw: int, level: int) -> bool:
        return level == LEAF_LEVEL or (level > 0 and bool(raw & LARGE_PAGE))

    def walk(self, virt: int) -> Walk:
        """PageTable::walk: every entry read on the way to virt."""
        w = Walk(levels=[], stop="non-canonical")
        if not is_canonical(virt):
            return w
        table = self.root
        rights = ANDED_RIGHTS
        for level in range(LEVELS):
            entries = self.table(table)
            if entries is None:
                w.stop = "unreadable"
                return w
            index = (virt >> level_shift(level)) & (ENTRIES - 1)
            raw = entries[index]
            own = self.decode(raw)
            w.levels.append(WalkLevel(table, table + index * 8, index, raw, own))
            if not raw & PRESENT:
                w.stop = "not-present"
                return w
            if level == 0 and raw & LARGE_PAGE:
                w.stop = "reserved"
                return w
            rights &= own
            if self._is_leaf(raw, level):
                size = size_at_level(level)
                base = raw & ADDRESS_MASK & ~(page_size_bytes(size) - 1)
                w.stop = "leaf" if level == LEAF_LEVEL else "large"
                w.phys = base + (virt & (page_size_bytes(size) - 1))
                w.page_size = size
                w.flags = rights | (own & LEAF_ONLY)
                return w
            table = raw & ADDRESS_MASK
        return w

    def ranges(self) -> "RangeList":
        """PageTable::for_each_range: every mapping, ascending, coalesced."""
        out = RangeList()
        self._visit(out, self.root, 0, 0, ANDED_RIGHTS)
        out.flush()
        return out

    def _visit(self, out: "RangeList", table_phys: int, level: int, virt_base: int, rights: int) -> None:
        entries = self.table(table_phys)
        if entries is None:
            out.corrupt = True
            return
        for i, raw in enumerate(entries):
            if not raw & PRESENT:
                continue
            virt = virt_base | (i << level_shift(level))
            if level == 0 and i >= ENTRIES // 2:
                virt |= HIGH_HALF
            if level == 0 and raw & LARGE_PAGE:
                out.corrupt = True
                continue
            own = self.decode(raw)
            below = rights & own
            if self._is_leaf(raw, level):
                size = size_at_level(level)
                out.add(virt, raw & ADDRESS_MASK & ~(page_size_bytes(size) - 1), size, below | (own & LEAF_ONLY))
            else:
                self._visit(out, raw & ADDRESS_MASK, level + 1, virt, below)


class RangeList(list):
    """Coalesces pages the way PageTable::Visit does; `corrupt` is set when
    a table could not be read (the walk went on past it)."""

    def __init__(self) -> None:
        super().__init__()
        self.corrupt = False
        self._pending: Optional[MappedRange] = None

    def add(self, virt: int, phys: int, size: int, flags: int) -> None:
        p = self._pending
        if p is not None and p.page_size == size and p.flags == flags:
            step = p.count * page_size_bytes(size)
            if virt == p.virt + step and phys == p.phys + step:
                p.count += 1
                return
        self.flush()
        self._pending = MappedRange(virt, phys, size, 1, flags)

    def flush(self) -> None:
        if self._pending is not None:
            self.append(self._pending)
            self._pending = None

    def wx(self) -> Iterator[MappedRange]:
        """The W+X audit: ranges both writable and executable."""
        return (r for r in self if r.flags & WRITABLE and r.flags & EXECUTABLE)

    def wx_aliases(self) -> int:
        """Executable ranges whose frames another range maps writable
        (PageTable::audit_wx's alias_ranges)."""
        def aliased(x: MappedRange) -> bool:
            return any(w.flags & WRITABLE and w.virt != x.virt and w.phys < x.phys + x.bytes
                       and x.phys < w.phys + w.bytes for w in self)
        return sum(1 for x in self if x.flags & EXECUTABLE and aliased(x))
