"""Names for the page map: the image's sections, each thread's stack, the
IST stacks and the heap's pages, as address ranges (`Region`).

`regions()` is pure: the kernel ELF's layout (elf_layout.py), `pages
--json`, `threads --json` and what `read_live()` read out of kernel memory
with the shell's `x` (the kernel's own table of IST stacks, the heap
object's page pointers). Constants mirror the kernel; each names its source.
"""
from __future__ import annotations

import dataclasses
import re
import struct
from pathlib import Path
from typing import Callable, Optional

from . import elf_layout
from .connection import KernelError
from .elf_layout import Layout

PAGE = 4096
KERNEL_VMA = 0xFFFFFFFF80000000            # linker.ld: the image's virtual base (physical 0)
HHDM_BASE = 0xFFFF800000000000             # kernel/mm: the direct map of physical memory
HHDM_END = HHDM_BASE + (1 << 46)
STACKS_BASE = 0xFFFFFFFFC0000000           # kernel/mm/kernel_stack_hw.cc kStackRegion
STACK_PAGES = 2                            # kernel/mm/kernel_stack_hw.h kKernelStackPages
SLOT_BYTES = (STACK_PAGES + 4) * PAGE      # kernel_stack_hw.cc kSlotBytes: guard + stack + spacing
STACK_SLOTS = 64                           # kernel_stack_hw.cc kSlots
STACK_INFO_BYTES = 24                      # gdt.h GuardedStackInfo: guard, top, name
SECTION_LABELS = {".text": ".text (code)", ".rodata": ".rodata", ".ksyms": ".ksyms (symbols)",
                  ".data": ".data", ".bss": ".bss"}
# Every symbol (or part of a mangled name) this module looks up.
SYMBOL_PARTS = ("boot_stack_", "shell_stack_", "g_stack_info", "g_ist_stacks", "g_heap_storage")
# Threads whose stacks are static in the image (boot.S), not in a slot.
STATIC_STACKS = {"idle": ("boot_stack_bottom", "boot_stack_top"),
                 "shell": ("shell_stack_bottom", None)}


@dataclasses.dataclass
class Region:
    start: int
    end: int
    label: str
    kind: str     # "section", "stack", "ist", "heap", "alias"

    def to_json(self) -> dict:
        return {"start": f"0x{self.start:x}", "end": f"0x{self.end:x}", "label": self.label, "kind": self.kind}


@dataclasses.dataclass
class Live:
    """What read_live() found in kernel memory."""
    stack_info: list = dataclasses.field(default_factory=list)   # [(guard, top, name)]
    heap_pages: list = dataclasses.field(default_factory=list)   # page addresses

    def to_json(self) -> dict:
        return {"stack_info": [[f"0x{g:x}", f"0x{t:x}", n] for g, t, n in self.stack_info],
                "heap_pages": [f"0x{p:x}" for p in self.heap_pages]}

    @classmethod
    def from_json(cls, obj: dict) -> "Live":
        return cls([(int(g, 16), int(t, 16), n) for g, t, n in obj.get("stack_info", [])],
                   [int(p, 16) for p in obj.get("heap_pages", [])])


def find_symbol(layout: Layout, part: str) -> Optional[tuple]:
    """(addr, size) of the symbol named `part`, else of the one whose
    (mangled) name contains it: anonymous-namespace globals."""
    if part in layout.symbols:
        return layout.symbols[part]
    hits = [v for k, v in layout.symbols.items() if part in k]
    return hits[0] if len(hits) == 1 else None


def _int(v) -> int:
    return int(v, 0) if isinstance(v, str) else int(v)


def image_matches(layout: Layout, pages: dict) -> bool:
    """The ELF is the booted kernel's: its .text starts an executable mapping."""
    text = layout.section(".text")
    if text is None:
        return False
    return any(_int(m["virt"]) == text.addr & ~(PAGE - 1) and str(m.get("flags", ""))[2:3] == "X"
               for m in pages.get("mappings", []))


def section_regions(layout: Layout) -> list:
    out = [Region(s.addr, s.end, SECTION_LABELS[s.name], "section")
           for s in layout.sections if s.name in SECTION_LABELS and s.addr >= KERNEL_VMA]
    if out:  # the direct map sees the image at its physical address too
        lo, hi = min(r.start for r in out), max(r.end for r in out)
        out.append(Region(HHDM_BASE + lo - KERNEL_VMA, HHDM_BASE + hi - KERNEL_VMA,
                          "kernel image (direct-map alias)", "alias"))
    return out


def _thread_names(threads: Optional[dict]) -> list:
    return [t for t in (threads or {}).get("threads", []) if t.get("state") != "dead"]


def static_stack_regions(layout: Layout, threads: Optional[dict]) -> list:
    names = {str(t.get("name")) for t in _thread_names(threads)}
    out = []
    for thread, (bottom, top) in STATIC_STACKS.items():
        lo = layout.symbol(bottom)
        if lo is None:
            continue
        hi = layout.symbol(top)[0] if top and layout.symbol(top) else lo[0] + STACK_PAGES * PAGE
        who = f"{thread} stack" if thread in names or not threads else f"{bottom.split('_')[0]} stack"
        out.append(Region(lo[0], hi, who, "stack"))
    return out


def ist_regions(layout: Layout, live: Optional[Live]) -> list:
    if live and live.stack_info:
        return [Region(guard + PAGE, top, f"{name} (IST)", "ist") for guard, top, name in live.stack_info]
    sym = find_symbol(layout, "g_ist_stacks")
    return [Region(sym[0], sym[0] + sym[1], "IST stacks", "ist")] if sym and sym[1] else []


def slot_regions(pages: dict, threads: Optional[dict]) -> list:
    """The kernel-stack slots that are mapped, named after their threads.
    Slots go lowest-free-first and ids only grow, so the threads without a
    static stack, by id, hold the mapped slots in order, unless an exited
    thread's slot was taken again: then the names get a "?"."""
    used = sorted({(_int(m["virt"]) - STACKS_BASE) // SLOT_BYTES for m in pages.get("mappings", [])
                   if STACKS_BASE <= _int(m["virt"]) < STACKS_BASE + STACK_SLOTS * SLOT_BYTES})
    live = sorted((t for t in _thread_names(threads) if t.get("name") not in STATIC_STACKS),
                  key=lambda t: int(t.get("id", 0)))
    ids = [int(t.get("id", 0)) for t in live]
    known = len(live) == len(used)
    gaps = known and ids and any(i not in ids for i in range(min(ids), max(ids)))
    out = []
    for n, slot in enumerate(used):
        base = STACKS_BASE + slot * SLOT_BYTES + PAGE   # the slot's first page is its guard
        label = f"slot {slot}"
        if known:
            label = f"{live[n].get('name')} stack" + (" ?" if gaps else "")
        out.append(Region(base, base + STACK_PAGES * PAGE, label, "stack"))
    return out


def heap_regions(live: Optional[Live]) -> list:
    out: list = []
    for p in sorted(set(live.heap_pages if live else [])):
        if out and out[-1].end == p:
            out[-1].end = p + PAGE
        else:
            out.append(Region(p, p + PAGE, "heap", "heap"))
    return out


def regions(layout: Optional[Layout], pages: dict, threads: Optional[dict] = None,
            live: Optional[Live] = None) -> tuple:
    """(regions, notes): every named range, and why some are missing."""
    notes = []
    if layout is None:
        return [], ["no kernel ELF: sections and stacks are not named"]
    if not image_matches(layout, pages):
        return [], [f"{layout.path or 'the ELF'} is not the booted kernel (.text is not mapped there): "
                    "regions not named"]
    out = section_regions(layout) + static_stack_regions(layout, threads) + ist_regions(layout, live)
    out += slot_regions(pages, threads) + heap_regions(live)
    if threads is None:
        notes.append("no `threads --json`: stack slots are not named after threads")
    if live is None:
        notes.append("no live reads: IST stacks unnamed, heap pages not located")
    elif live.heap_pages:
        notes.append("heap: the pages its object points at (spare page, slabs with free slots)")
    return sorted(out, key=lambda r: r.start), notes


# --------------------------------------------------------------------------
# Reading kernel memory through the shell's `x`

_HEX_ROW = re.compile(r"^(0x[0-9a-fA-F]+)(?: <[^>]*>)?:((?: [0-9a-fA-F]{2})+)\s*$")


def parse_hexdump(text: str) -> bytes:
    """`x ADDR LEN`'s rows -> the bytes (ValueError on an `error:` line or nothing)."""
    out = bytearray()
    for ln in text.splitlines():
        ln = ln.strip()
        if ln.startswith("error:"):
            raise ValueError(ln)
        m = _HEX_ROW.match(ln)
        if m:
            out += bytes.fromhex(m.group(2).replace(" ", ""))
    if not out:
        raise ValueError(f"no hex dump in {text[:80]!r}")
    return bytes(out)


def _u64s(data: bytes) -> list:
    return list(struct.unpack_from(f"<{len(data) // 8}Q", data))


def _cstring(read: Callable[[int, int], bytes], addr: int, limit: int = 32) -> str:
    data = read(addr, limit)
    return data.split(b"\0", 1)[0].decode(errors="replace")


def read_live(read: Callable[[int, int], bytes], layout: Layout) -> Live:
    """The IST stacks from the kernel's table of them (gdt.cc g_stack_info,
    filled at boot) and the heap pages the heap object points at (its spare
    page and each class's first slab with free slots: full slabs and large
    runs are not linked from it). `read(addr, n)` reads kernel memory."""
    live = Live()
    info = find_symbol(layout, "g_stack_info")
    if info and info[1] >= STACK_INFO_BYTES:
        words = _u64s(read(info[0], info[1]))
        for i in range(info[1] // STACK_INFO_BYTES):
            guard, top, name = words[3 * i: 3 * i + 3]
            if guard and top > guard:
                live.stack_info.append((guard, top, _cstring(read, name) if name else f"ist{i + 1}"))
    heap = find_symbol(layout, "g_heap_storage")
    if heap and heap[1]:
        live.heap_pages = sorted({w & ~(PAGE - 1) for w in _u64s(read(heap[0], heap[1]))
                                  if HHDM_BASE <= w < HHDM_END})
    return live


def shell_reader(shell) -> Callable[[int, int], bytes]:
    """read(addr, n) over `x ADDR N` (the shell checks the mapping first)."""
    def read(addr: int, n: int) -> bytes:
        return parse_hexdump(shell.command(f"x 0x{addr:x} {n}"))[:n]
    return read


def for_plot(build_dir, pages: dict, shell=None, threads: Optional[dict] = None) -> tuple:
    """(regions, notes) for the booted kernel's page map: its ELF from
    `build_dir`, and, given a shell, `threads --json` (unless passed) and
    the `x` reads. Whatever is missing is a note, never an error."""
    try:
        layout = elf_layout.read(Path(build_dir) / "exo-kernel.elf")
    except elf_layout.ElfError as e:
        return [], [f"regions not named: {e}"]
    live, notes = None, []
    if shell is not None:
        try:
            threads = threads if threads is not None else shell.query("threads")
            live = read_live(shell_reader(shell), layout)
        except (ValueError, KernelError) as e:
            notes.append(f"could not read kernel memory with `x`: {e}")
    regs, more = regions(layout, pages, threads, live)
    return regs, notes + more
