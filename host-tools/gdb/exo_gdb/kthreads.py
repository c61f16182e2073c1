"""The scheduler's threads as the kernel keeps them (kernel/sched/): the
list of every thread, each Thread and its ThreadArch (saved context, stack,
switch-in time), the stack high-water mark."""
from __future__ import annotations

import dataclasses
from typing import List, Optional

import gdb

from . import names, target

MAX_THREADS = 1024  # a corrupt list must not loop forever
STACK_FILL = 0x57   # kernel/mm/kernel_stack_hw.h kStackFillByte: untouched stack
SAVED_WORDS = 7     # context_switch.S: r15 r14 r13 r12 rbx rbp, then the return address
SAVED_RBP, SAVED_RIP = 5, 6


@dataclasses.dataclass
class ThreadInfo:
    address: int
    id: int
    name: str
    state: int
    ring: int
    priority: int
    cpu_ticks: int
    switches: int
    arch: int                 # ThreadArch address, 0 if none
    ipc_op: int = 0           # Thread::ipc.op (IpcOp)
    stack_base: int = 0
    stack_top: int = 0
    saved_rsp: int = 0
    tsc_switched_in: int = 0
    is_idle: bool = False
    is_current: bool = False
    next: int = 0             # Thread::all_next

    @property
    def state_name(self) -> str:
        return names.name_at(names.THREAD_STATES, self.state)

    @property
    def wait(self) -> str:
        """What it waits for, as the shell's `threads` says it (wait_of)."""
        if self.state_name == "blocked":
            return names.name_at(names.THREAD_WAITS, self.ipc_op)
        return "sleep" if self.state_name == "sleeping" else "-"

    @property
    def stack_size(self) -> int:
        return 0 if self.is_idle or not self.arch else self.stack_top - self.stack_base


def scheduler() -> gdb.Value:
    sched = target.symbol(target.G_SCHED)
    if target.ptr(sched) == 0:
        raise target.NotReady("the scheduler has not started yet (no threads before its boot task)")
    return sched.dereference()


def read_thread(address: int, idle: int = 0, current: int = 0) -> ThreadInfo:
    t = target.deref(address, "exo::Thread")
    info = ThreadInfo(address=address, id=int(t["id"]), name=target.char_array(t["name"]),
                      state=int(t["state"]), ring=int(t["ring"]), priority=int(t["priority"]),
                      cpu_ticks=target.u64(t["cpu_ticks"]), switches=target.u64(t["switches"]),
                      arch=target.ptr(t["arch"]), ipc_op=int(t["ipc"]["op"]), is_idle=address == idle, is_current=address == current,
                      next=target.ptr(t["all_next"]))
    if info.arch:
        a = target.deref(info.arch, "exo::threads::ThreadArch")
        info.stack_base = target.u64(a["stack"]["base"])
        info.stack_top = target.u64(a["stack"]["top"])
        info.saved_rsp = target.u64(a["saved_rsp"])
        info.tsc_switched_in = target.u64(a["tsc_switched_in"])
    return info


def all_threads() -> List[ThreadInfo]:
    """Every registered thread in registration order (idle first), as
    Scheduler::first_thread()/next_thread() walk them."""
    s = scheduler()
    idle, current = target.ptr(s["m_idle"]), target.ptr(s["m_current"])
    out: List[ThreadInfo] = []
    seen = set()
    at = target.ptr(s["m_all_head"])
    while at and at not in seen and len(out) < MAX_THREADS:
        seen.add(at)
        info = read_thread(at, idle, current)
        out.append(info)
        at = info.next
    return out


def stack_used(info: ThreadInfo) -> int:
    """kernel_stack_used(): bytes below the top that lost the fill pattern,
    found by scanning up from the base (read in chunks: the untouched part
    is all that needs reading)."""
    size = info.stack_top - info.stack_base
    if info.is_idle or not info.arch or size <= 0:
        return 0
    untouched, chunk = 0, 512
    while untouched < size:
        data = target.read(info.stack_base + untouched, min(chunk, size - untouched))
        for b in data:
            if b != STACK_FILL:
                return size - untouched
            untouched += 1
    return 0


def saved_context(info: ThreadInfo) -> Optional[List[int]]:
    """The words context_switch pushed (None for a thread never switched out)."""
    if not info.saved_rsp:
        return None
    return target.read_u64s(info.saved_rsp, SAVED_WORDS)


def gdb_thread_of(info: ThreadInfo) -> Optional[gdb.InferiorThread]:
    """gdb's view of the thread on the CPU: our stub numbers its threads
    kernel id + 1; QEMU's stub has one thread per CPU (one here)."""
    threads = gdb.selected_inferior().threads()
    for t in threads:
        if t.ptid[1] == info.id + 1 and len(threads) > 1:
            return t
    return threads[0] if len(threads) == 1 else None

