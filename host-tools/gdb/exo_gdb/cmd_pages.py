"""exo-pages: the live page tables from CR3, as the shell's `pages` prints
the kernel's (kernel/mm/memory_commands.cc): coalesced ranges and the W+X
audit, or with an address the walk to it. The tables are read through the
kernel's direct map of physical memory."""
from __future__ import annotations

import struct
from typing import Optional, Sequence, Tuple

import gdb

from . import names, pagewalk, target
from .command import ExoCommand

HEADER = "virt               end                phys                size  count  flags\n"


def read_table(phys: int) -> Optional[Sequence[int]]:
    try:
        return struct.unpack("<512Q", target.read(target.DIRECT_MAP_BASE + phys, 4096))
    except gdb.MemoryError:
        return None


def kernel_root() -> Tuple[int, bool]:
    """The kernel's own root table and whether it uses NX (g_kernel_pt)."""
    pt = target.symbol(target.G_KERNEL_PT)
    return target.u64(pt["m_root"]), int(pt["m_nx"]) == 0  # NoExecute::Supported is 0


def live_root() -> Tuple[int, str]:
    """CR3 (both stubs have it); else the kernel's root table."""
    cr3 = target.register("cr3")
    if cr3 is not None:
        return cr3 & pagewalk.ADDRESS_MASK, "CR3"
    root, _ = kernel_root()
    if not root:
        raise target.NotReady("no CR3 from this stub and the kernel has not adopted its page tables yet")
    return root, "the kernel's root table (this stub has no CR3)"


def nx_supported() -> bool:
    """Whether XD means no-execute: as the kernel's PageTable decodes it,
    else EFER.NXE (before the kernel adopted its tables)."""
    root, nx = kernel_root()
    if root:
        return nx
    efer = target.register("efer")
    return bool(efer & (1 << 11)) if efer is not None else True


def p(v: int) -> str:
    """The kernel's %p: 0x and 16 digits."""
    return f"0x{v:016x}"


def ranges_text(tables: pagewalk.PageTables) -> str:
    ranges = tables.ranges()
    out = [HEADER]
    for r in ranges:
        size = pagewalk.page_size_bytes(r.page_size)
        out.append("%s %s %s %4uK %6u  %s\n" % (p(r.virt), p(r.virt + r.bytes), p(r.phys), size // 1024, r.count,
                                                 pagewalk.flags_text(r.flags)))
    if ranges.corrupt:
        out.append("error: page tables unreadable (the ranges above skip the tables that could not be read)\n")
    wx = list(ranges.wx())
    aliased = ranges.wx_aliases()
    if wx or aliased:
        out.append(f"W+X audit: {len(wx)} W+X ranges ({sum(r.bytes for r in wx)} bytes), "
                   f"{aliased} code ranges writable elsewhere!\n")
    else:
        out.append("W+X audit: no writable+executable mappings, no writable alias of code\n")
    return "".join(out)


def walk_text(tables: pagewalk.PageTables, virt: int) -> str:
    w = tables.walk(virt)
    out = [f"walk of {p(virt)}\n"]
    for i, level in enumerate(w.levels):
        out.append("  %-5s [%3u] at phys %s = %s  %s\n" % (names.WALK_LEVELS[i], level.index, p(level.entry_phys),
                                                          p(level.raw), pagewalk.flags_text(level.flags)))
    if w.mapped:
        out.append(f"  -> phys {p(w.phys)} ({'4 KiB' if w.stop == 'leaf' else 'large'} page, "
                   f"effective {pagewalk.flags_text(w.flags)})\n")
    else:
        out.append(f"  -> {names.WALK_STOPS[pagewalk.Walk.STOP_INDEX[w.stop]]}\n")
    return "".join(out)


class ExoPages(ExoCommand):
    """The live page tables, as the shell's `pages` shows the kernel's.

Usage: exo-pages [VADDR]
Without an address: every mapping from CR3, coalesced into ranges of equal
flags (RWXUG), and the W+X audit. With one (any gdb expression: 0x..., $pc,
&symbol): the walk to it, entry by entry, with each entry's own flags."""

    NAME = "exo-pages"
    USAGE = "exo-pages [VADDR]"

    def run(self, args: list) -> str:
        if len(args) > 1:
            raise self.usage()
        root, where = live_root()
        tables = pagewalk.PageTables(root, read_table, nx_supported())
        kernel, _ = kernel_root()
        note = ""
        if where != "CR3":
            note = f"(walked from {where})\n"
        elif kernel and root != kernel:
            note = f"(CR3 {p(root)} is a user address space, not the kernel's {p(kernel)})\n"
        if args:
            virt = int(gdb.parse_and_eval(args[0]).cast(gdb.lookup_type("unsigned long"))) & target.MASK64
            return note + walk_text(tables, virt)
        return note + ranges_text(tables)
