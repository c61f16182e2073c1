"""exo-dmesg: the kernel log ring (kernel/debug/log_ring.cc), oldest first,
as the shell's `log` prints it, and how many records the full ring dropped."""
from __future__ import annotations

from . import logring, names, target, tsc
from .command import ExoCommand

SHOWN_TEXT = 256  # log_commands.cc RecordCopy::text: what `log` prints of a record


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
        for timestamp, level, text in logring.records(data, target.u64(ring["m_head"]), target.u64(ring["m_count"])):
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
