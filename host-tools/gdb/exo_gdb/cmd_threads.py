"""exo-threads: the shell's `threads` (kernel/sched/thread_commands.cc),
read from the kernel; --bt adds each thread's backtrace."""
from __future__ import annotations

from typing import List, Optional

import gdb

from . import bootrecs, kthreads, names, target, tsc, unwind
from .command import ExoCommand

PIT_HZ = 100  # kernel/drivers/pit8254/timer_hw.h kTickHz

HEADER = "  id name             state     ring prio       cpu_us  switches  stack_B   of_B wait\n"
ROW = "%4u %-16s %-9s %4u %4u %12u %9u %8u %6u %s\n"
FOOTER = "%u context switches, time slice %u ticks\n"


def estimated_now(hz: int) -> Optional[int]:
    """The TSC now, which gdb cannot read: the PIT's tick count since its
    boot task started it (g_ticks was zeroed inside that task), converted at
    the kernel's TSC rate. An estimate (a tick is 10 ms, and ticks lost
    with interrupts off are not counted); None when there is no PIT yet."""
    if not hz:
        return None
    try:
        pit = bootrecs.read_runner().find("pit")
    except target.NotReady:
        return None
    if pit is None or not pit.ran:
        return None
    return pit.tsc_end + tsc.mul_div_floor(target.u64(target.symbol(target.G_TICKS)), hz, PIT_HZ)


def table(threads: List[kthreads.ThreadInfo], sched: gdb.Value, hz: int) -> str:
    now = estimated_now(hz)
    out = [HEADER]
    estimated = False
    for t in threads:
        cpu_ticks = t.cpu_ticks
        if t.is_current and t.arch and now is not None and now > t.tsc_switched_in:
            # The shell adds rdtsc - tsc_switched_in for the running thread.
            cpu_ticks += now - t.tsc_switched_in
            estimated = True
        out.append(ROW % (t.id, t.name, t.state_name, t.ring, t.priority, tsc.ticks_to_us(cpu_ticks, hz),
                          t.switches, kthreads.stack_used(t), t.stack_size, t.wait))
    out.append(FOOTER % (target.u64(sched["m_switches"]), int(sched["m_slice_ticks"])))
    if estimated:
        out.append("(the running thread's cpu_us adds the time since its switch-in estimated from the PIT "
                   "tick count: gdb cannot read the TSC)\n")
    note = target.tsc_note(hz)
    if note:
        out.append(note + "\n")
    return "".join(out)


def backtrace(t: kthreads.ThreadInfo) -> List[str]:
    head = f'\nThread {t.id} "{t.name}" ({t.state_name})'
    if t.is_current:
        gt = kthreads.gdb_thread_of(t)
        if gt is None:
            return [head + ": on the CPU; `bt` in gdb's thread for it shows where"]
        return [head + ", on the CPU (gdb's unwind of its registers):", *unwind.gdb_frames(gt)]
    words = kthreads.saved_context(t)
    if words is None:
        return [head + ": no saved context (never switched out)"]
    lo, hi = t.stack_base, t.stack_top
    if not (lo <= t.saved_rsp < hi):  # a stack the kernel did not record (should not happen)
        lo, hi = t.saved_rsp, t.saved_rsp + 0x10000
    frames = unwind.frame_pointer_chain(words[kthreads.SAVED_RIP], words[kthreads.SAVED_RBP], lo, hi)
    return [head + f", switched out at rsp 0x{t.saved_rsp:016x}:", *unwind.format_frames(frames)]


class ExoThreads(ExoCommand):
    """Kernel threads as the shell's `threads` shows them, read from memory.

Usage: exo-threads [--bt | -b]
Columns: id, name, state, ring, priority, CPU time (us), switches, stack
high-water mark (bytes). With --bt, each thread's backtrace follows: threads
off the CPU are unwound from the context they saved (RSP, RBP, return
address) along their frame pointers; the running one by gdb itself."""

    NAME = "exo-threads"
    USAGE = "exo-threads [--bt | -b]"

    def run(self, args: list) -> str:
        if any(a not in ("--bt", "-b") for a in args):
            raise self.usage()
        sched = kthreads.scheduler()
        threads = kthreads.all_threads()
        text = table(threads, sched, target.tsc_hz())
        if args:
            dead = names.THREAD_STATE["Dead"]
            lines = [line for t in threads if t.state != dead for line in backtrace(t)]
            text += "\n".join(lines) + "\n"
        return text
