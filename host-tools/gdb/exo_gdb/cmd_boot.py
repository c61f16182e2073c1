"""exo-boot: the boot record as the shell's `boot` prints it
(kernel/boot/boot_commands.cc): each task, phase totals, the time to the
prompt, what waits for `init deferred`."""
from __future__ import annotations

from . import bootrecs, names, target, tsc
from .command import ExoCommand

HEADER = "task         phase         start_us     dur_us  status    frames    heap_B\n"
ROW = "%-12s %-10s %9u.%u %8u.%u  %-8s %7d %9d%s\n"


def tenths(ns: int) -> tuple:
    """Microseconds and their tenth, as the shell's text shows times."""
    return ns // 1000, ns % 1000 // 100


class ExoBoot(ExoCommand):
    """The boot tasks as the shell's `boot` shows them, read from memory.

Usage: exo-boot
Each task in the order it ran (not yet run: last, as declared): phase, start
since the first instruction, duration, status, frames and heap taken."""

    NAME = "exo-boot"
    USAGE = "exo-boot"

    def run(self, args: list) -> str:
        if args:
            raise self.usage()
        runner = bootrecs.read_runner()
        hz = target.tsc_hz()
        entry = target.u64(target.symbol(target.G_TSC_ENTRY))

        def since_entry_ns(stamp: int) -> int:
            return tsc.ticks_to_ns(stamp - entry, hz) if stamp else 0

        source = names.name_at(names.TSC_SOURCES, int(target.symbol(target.G_TSC_SOURCE)))
        out = [f"TSC {hz // 1000} kHz ({source})\n", HEADER]
        listed = runner.tasks[:bootrecs.MAX_LISTED]
        # boot_order(): by start time, tasks that never started last; stable.
        for t in sorted(listed, key=lambda t: t.tsc_start or target.MASK64):
            start = since_entry_ns(t.tsc_start)
            dur = tsc.ticks_to_ns(t.ticks, hz) if t.ran else 0
            out.append(ROW % (t.name, names.name_at(names.BOOT_PHASES, t.phase), *tenths(start), *tenths(dur),
                              names.name_at(names.TASK_STATUSES, t.status), t.frames_delta, t.heap_delta,
                              "  (deferred)" if t.deferred else ""))
        for p, phase in enumerate(names.BOOT_PHASES):
            out.append("%-9s total %8u.%u us\n" % (phase, *tenths(tsc.ticks_to_ns(runner.phase_ticks(p), hz))))
        prompt_ns = since_entry_ns(target.u64(target.symbol(target.G_TSC_PROMPT)))
        out.append("boot work, first instruction to prompt: %u.%u us%s\n" % (
            *tenths(prompt_ns), " (DEGRADED: an essential task failed)" if runner.degraded else ""))
        pending = [t.name for t in runner.tasks if t.status == names.TASK_STATUS["Pending"]]
        out.append(f"deferred: {' '.join(pending)} (run `init deferred`)\n" if pending
                   else "deferred: nothing pending\n")
        note = target.tsc_note(hz)
        if note:
            out.append(note + "\n")
        return "".join(out)
