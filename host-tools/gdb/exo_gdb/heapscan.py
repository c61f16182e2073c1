"""The heap by size class. The kernel keeps only partially free slabs on a
list (full ones are reachable from no pointer), so every slab is found
instead by its header: each frame in use is looked at in the direct map, and
a page whose first word is the heap's tag for that page is a slab or a large
run (kernel/mm/heap.cc: magic ^ page address ^ heap address)."""
from __future__ import annotations

import dataclasses
import struct
from typing import List

import gdb

from . import target

PAGE = 4096
SLAB_HEADER = 64                        # Heap::Slab: tag, next, prev, free_count, size_class, ...
SLAB_PAYLOAD = PAGE - SLAB_HEADER
SLAB_MAGIC = 0x51ABC0DEE7C00001
LARGE_MAGIC = 0x1A46C0DEE7C00002
MAX_SCANNED = 16384                     # frames: a 64 MiB machine's worth of headers at most


@dataclasses.dataclass
class ClassUse:
    size: int
    slabs: int = 0
    slots: int = 0
    free: int = 0

    @property
    def used(self) -> int:
        return self.slots - self.free


@dataclasses.dataclass
class HeapScan:
    classes: List[ClassUse]
    large_runs: int = 0
    large_pages: int = 0
    scanned: int = 0
    truncated: bool = False

    @property
    def used_bytes(self) -> int:
        """What Heap::m_used should be: class size per live object, whole runs."""
        return sum(c.used * c.size for c in self.classes) + self.large_pages * PAGE


def used_frames(frames: gdb.Value) -> List[int]:
    """Frames owned by the allocator and not free: what alloc*() handed out."""
    words = target.u64(frames["m_words"])
    free = target.read(target.ptr(frames["m_free"]), words * 8)
    owned = target.read(target.ptr(frames["m_owned"]), words * 8)
    out = []
    for w, (f, o) in enumerate(zip(struct.iter_unpack("<Q", free), struct.iter_unpack("<Q", owned))):
        busy = o[0] & ~f[0]
        while busy:
            bit = (busy & -busy).bit_length() - 1
            out.append(w * 64 + bit)
            busy &= busy - 1
    return out


def scan(heap: gdb.Value, heap_address: int, frames: gdb.Value) -> HeapScan:
    sizes = [int(s) for s in target.array(target.symbol("exo::Heap::kClassSizes"))]
    result = HeapScan([ClassUse(s) for s in sizes])
    spare = target.u64(heap["m_spare"])
    skip_until = -1
    for frame in used_frames(frames):
        if frame < skip_until:
            continue  # inside a large run already counted
        if result.scanned == MAX_SCANNED:
            result.truncated = True
            break
        result.scanned += 1
        base = target.DIRECT_MAP_BASE + frame * PAGE
        if base == spare:
            continue  # the spare page keeps its old header
        try:
            header = target.read(base, SLAB_HEADER)
        except gdb.MemoryError:
            continue
        tag, = struct.unpack_from("<Q", header)
        magic = tag ^ base ^ heap_address
        if magic == SLAB_MAGIC:
            free_count, size_class = struct.unpack_from("<HB", header, 24)
            if size_class < len(sizes):
                c = result.classes[size_class]
                c.slabs += 1
                c.slots += SLAB_PAYLOAD // c.size
                c.free += free_count
        elif magic == LARGE_MAGIC:
            pages, = struct.unpack_from("<I", header, 8)
            result.large_runs += 1
            result.large_pages += pages
            skip_until = frame + max(pages, 1)
    return result
