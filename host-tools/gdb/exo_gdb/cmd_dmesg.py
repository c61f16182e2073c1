"""exo-dmesg: the kernel log ring (kernel/debug/log_ring.cc), oldest first,
as the shell's `log` prints it, and how many records the full ring dropped."""
from __future__ import annotations

import struct
from typing import Iterator, Tuple

from . import names, target, tsc
from .command import ExoCommand

HEADER_SIZE = 16          # LogRing::kHeaderSize: u64 timestamp, u32 length, u8 level, u8 flags, u16
FLAG_PAD = 1 << 0         # not a record: the rest of the buffer is padding
SHOWN_TEXT = 256          # log_commands.cc RecordCopy::text: what `log` prints of a record


def records(ring_bytes: bytes, head: int, count: int) -> Iterator[Tuple[int, int, bytes]]:
    """(timestamp, level, text) of each retained record, oldest first, as
    LogRing::read_from walks them (padding skipped, nothing read past the end)."""
    capacity = len(ring_bytes)
    pos = head
    for _ in range(count):
        if capacity - pos < HEADER_SIZE or ring_bytes[pos + 13] & FLAG_PAD:
            pos = 0
        timestamp, length, level, _flags = struct.unpack_from("<QIBB", ring_bytes, pos)
        if length > capacity - pos - HEADER_SIZE:
            break
        yield timestamp, level, ring_bytes[pos + HEADER_SIZE:pos + HEADER_SIZE + length]
        pos += HEADER_SIZE + length
        if pos == capacity:
            pos = 0


class ExoDmesg(ExoCommand):
    """The kernel log ring, newest last, as the shell's `log` prints it.

Usage: exo-dmesg
Then one more line: how many older records the full ring dropped."""

    NAME = "exo-dmesg"
    USAGE = "exo-dmesg"

    def run(self, args: list) -> str:
        if args:
            raise self.usage()
        ring = target.symbol(target.G_LOG_RING)
        capacity = target.u64(ring["m_capacity"])
        data = target.read(target.ptr(ring["m_storage"]), capacity)
        hz = target.tsc_hz()
        entry = target.u64(target.symbol(target.G_TSC_ENTRY))
        out = []
        for timestamp, level, text in records(data, target.u64(ring["m_head"]), target.u64(ring["m_count"])):
            us = tsc.ticks_to_us(timestamp - entry, hz) if timestamp > entry else 0
            body = text[:SHOWN_TEXT].split(b"\0", 1)[0].decode("utf-8", errors="replace")
            out.append("[%6u.%06u] %-5s %s\n" % (us // 1000000, us % 1000000,
                                                 names.name_at(names.LOG_LEVELS, level), body))
        dropped = target.u64(ring["m_dropped"])
        out.append(f"({dropped} older record{'' if dropped == 1 else 's'} dropped: the ring holds "
                   f"{capacity} bytes)\n")
        note = target.tsc_note(hz)
        if note:
            out.append(note + "\n")
        return "".join(out)
