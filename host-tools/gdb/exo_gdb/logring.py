"""The kernel log ring's layout (kernel/debug/log_ring.cc), walked over a
copy of its buffer: records [16-byte header][text] back to back, padding
where a record did not fit before the end. Pure, so tests can feed it bytes."""
from __future__ import annotations

import struct
from typing import Iterator, Tuple

HEADER_SIZE = 16   # LogRing::kHeaderSize: u64 timestamp, u32 length, u8 level, u8 flags, u16 reserved
FLAGS_OFFSET = 13
FLAG_PAD = 1 << 0  # not a record: the rest of the buffer is padding


def records(ring_bytes: bytes, head: int, count: int) -> Iterator[Tuple[int, int, bytes]]:
    """(timestamp, level, text) of each retained record, oldest first, as
    LogRing::read_from walks them: padding skipped, nothing read past the end."""
    capacity = len(ring_bytes)
    pos = head
    for _ in range(count):
        if capacity - pos < HEADER_SIZE or ring_bytes[pos + FLAGS_OFFSET] & FLAG_PAD:
            pos = 0
        timestamp, length, level = struct.unpack_from("<QIB", ring_bytes, pos)
        if length > capacity - pos - HEADER_SIZE:
            break
        yield timestamp, level, ring_bytes[pos + HEADER_SIZE:pos + HEADER_SIZE + length]
        pos += HEADER_SIZE + length
        if pos == capacity:
            pos = 0
