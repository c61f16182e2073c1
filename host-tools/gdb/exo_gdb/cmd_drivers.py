"""exo-drivers: the shell's `drivers` (kernel/drivers/driver_commands.cc):
each driver's phase, state, init time and detail line."""
from __future__ import annotations

import gdb

from . import bootrecs, names, target, tsc
from .command import ExoCommand

DETAIL_SIZE = 88  # kernel/drivers/drivers_hw.h kDriverDetailSize
HEADER = "driver      phase      state      init_us  detail\n"
ROW = "%-11s %-10s %-8s %7u.%u  %s\n"


def driver_state(t: bootrecs.Task) -> str:
    """driver_state(): what the record says about the device."""
    status = names.TASK_STATUSES[t.status] if t.status < len(names.TASK_STATUSES) else "?"
    if status == "skipped" and not t.is_failure:
        return "absent"  # what it needs is absent
    return {"ok": "active", "pending": "pending", "running": "pending", "not-run": "pending",
            "absent": "absent"}.get(status, "failed")


class ExoDrivers(ExoCommand):
    """The drivers as the shell's `drivers` shows them, read from memory.

Usage: exo-drivers
Each driver's phase, state (active/pending/absent/failed), init time and detail."""

    NAME = "exo-drivers"
    USAGE = "exo-drivers"

    def run(self, args: list) -> str:
        if args:
            raise self.usage()
        runner = bootrecs.read_runner()
        hz = target.tsc_hz()
        begin, end = target.address_of("__drivers_start"), target.address_of("__drivers_end")
        entry_size = gdb.lookup_type("exo::DriverEntry").sizeof
        out = [HEADER]
        for at in range(begin, end, entry_size):
            name_ptr, detail_ptr = target.read_u64s(at, 2)
            name = target.cstring(name_ptr, 64) or "(null)"
            t = runner.find(name)
            if t is None:
                continue
            ns = tsc.ticks_to_ns(t.ticks, hz) if t.ran else 0
            detail = target.cstring(detail_ptr, DETAIL_SIZE)
            if t.status == names.TASK_STATUS["Skipped"] and not detail and t.blocked_by < len(runner.tasks):
                detail = f"needs {runner.tasks[t.blocked_by].name}"   # as the shell fills it in
            out.append(ROW % (name, names.name_at(names.BOOT_PHASES, t.phase), driver_state(t), ns // 1000,
                              ns % 1000 // 100, "(null)" if detail is None else detail))
        note = target.tsc_note(hz)
        if note:
            out.append(note + "\n")
        return "".join(out)
