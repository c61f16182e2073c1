"""exo-mem: the shell's `mem` (kernel/mm/memory_commands.cc): frames and the
kernel's footprint, heap statistics; then the heap by size class."""
from __future__ import annotations

from typing import List

import gdb

from . import heapscan, target
from .command import ExoCommand

KIB = 1024
FRAME = 4096
BOOT_TABLE_FRAMES = 7  # kernel/mm/memory_hw.cc kBootTableFrames: boot.S's tables, in the image


def red_zone_overhead() -> int:
    """heap.cc's kOverhead: 0, or the red zone and trailer of an
    EXO_KERNEL_DEBUG build (in the debug info as a constant)."""
    try:
        return int(target.symbol(f"exo::{target.ANON}::kOverhead"))
    except gdb.error:
        return 0


def heap_stats(heap: gdb.Value) -> dict:
    """Heap::stats()."""
    if heap is None:
        return dict.fromkeys(("mapped", "used", "peak", "free", "allocs", "frees", "largest", "faults"), 0)
    sizes = [int(s) for s in target.array(target.symbol("exo::Heap::kClassSizes"))]
    overhead = red_zone_overhead()
    largest = 0
    for c in range(len(sizes) - 1, -1, -1):
        if target.ptr(heap["m_partial"][c]):
            largest = sizes[c] - overhead
            break
    if target.u64(heap["m_spare"]):
        largest = heapscan.PAGE - 16 - overhead  # a one-page run beats any slot (Large header: 16 bytes)
    mapped = target.u64(heap["m_mapped_pages"]) * heapscan.PAGE
    used = target.u64(heap["m_used"])
    return dict(mapped=mapped, used=used, peak=target.u64(heap["m_peak"]), free=(mapped - used) & target.MASK64,
                allocs=target.u64(heap["m_allocs"]), frees=target.u64(heap["m_frees"]), largest=largest,
                faults=target.u64(heap["m_fault_count"]))


def free_slots(heap) -> List[tuple]:
    """Heap::free_slots(): (class size, free slots) over each class's list
    of slabs with room (full slabs are on no list)."""
    if heap is None:
        return []
    sizes = [int(s) for s in target.array(target.symbol("exo::Heap::kClassSizes"))]
    out = []
    for c, size in enumerate(sizes):
        free, slab, seen = 0, heap["m_partial"][c], 0
        while target.ptr(slab) and seen < 4096:   # bounded: a corrupt list must not hang gdb
            free += int(slab.dereference()["free_count"])
            slab, seen = slab.dereference()["next"], seen + 1
        out.append((size, free))
    return out


def physical_lines(frames: gdb.Value, heap_mapped: int) -> List[str]:
    """memory::footprint() and frame_stats() as `mem` prints them."""
    released = target.u64(target.symbol(target.G_RELEASED_BYTES))
    image = target.address_of("__kernel_phys_end") - target.address_of("__kernel_phys_start") - released
    metadata = target.u64(target.symbol(target.G_METADATA_BYTES))
    tables = target.u64(target.symbol(target.G_TABLE_FRAMES)) * FRAME
    total_frames, reserved, free_frames = (target.u64(frames[f]) for f in ("m_total", "m_reserved", "m_free_count"))
    used_frames = (total_frames - reserved - free_frames) & target.MASK64
    total, free = total_frames * FRAME // KIB, free_frames * FRAME // KIB
    used = (image + metadata + used_frames * FRAME) // KIB
    return [f"physical: {total} KiB total, {used} KiB used, {free} KiB free, "
            f"{(total - free - used) & target.MASK64} KiB reserved (firmware, boot data)\n",
            f"  kernel image {(image - BOOT_TABLE_FRAMES * FRAME) // KIB} KiB, frame bitmap {metadata // KIB} KiB, "
            f"page tables {tables // KIB} KiB, heap {heap_mapped // KIB} KiB\n"]


def class_lines(scan: heapscan.HeapScan, heap_used: int) -> List[str]:
    out = ["heap by size class (slabs found among the frames in use):\n",
           "   class  slabs  slots   used   free   used_B\n"]
    for c in scan.classes:
        if c.slabs:
            out.append("  %6u %6u %6u %6u %6u %8u\n" % (c.size, c.slabs, c.slots, c.used, c.free, c.used * c.size))
    out.append(f"  large runs: {scan.large_runs} ({scan.large_pages} pages, {scan.large_pages * heapscan.PAGE} B)\n")
    if scan.truncated:
        out.append(f"  (stopped after {scan.scanned} frames)\n")
    elif scan.used_bytes != heap_used:
        out.append(f"  (these add up to {scan.used_bytes} B, the heap counts {heap_used} B in use: "
                   "a header was overwritten or the heap is mid-update)\n")
    return out


class ExoMem(ExoCommand):
    """Physical memory and heap statistics as the shell's `mem` shows them.

Usage: exo-mem
Frames total/used/free/reserved and what the kernel took them for; the
heap's counters; then, beyond the shell, the heap by size class (slabs,
slots, objects in use) and its large runs."""

    NAME = "exo-mem"
    USAGE = "exo-mem"

    def run(self, args: list) -> str:
        if args:
            raise self.usage()
        heap_ptr = target.ptr(target.symbol(target.G_HEAP))
        heap = target.deref(heap_ptr, "exo::Heap") if heap_ptr else None
        h = heap_stats(heap)
        frames_ptr = target.ptr(target.symbol(target.G_FRAMES))
        frames = target.deref(frames_ptr, "exo::FrameAllocator") if frames_ptr else None
        if frames is not None:
            out = physical_lines(frames, h["mapped"])
        else:
            out = ["physical: the frame bitmap is not built yet (the kernel builds it on first use, "
                   "right after the prompt)\n"]
        out += [f"heap: {h['mapped']} B mapped, {h['used']} B in use, {h['peak']} B peak, {h['free']} B free\n",
                f"      {h['allocs']} allocations, {h['frees']} frees, {h['faults']} faults detected\n",
                "      free slots (size:count):"
                + "".join(f" {size}:{free}" for size, free in free_slots(heap) if free) + "\n"]
        if heap is not None and frames is not None:
            out += class_lines(heapscan.scan(heap, heap_ptr, frames), h["used"])
        return "".join(out)
