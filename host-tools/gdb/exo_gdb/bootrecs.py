"""The boot runner's tasks and records (kernel/boot/boot_runner.h), read
from the kernel: shared by exo-boot, exo-drivers and the estimate of "now"
that exo-threads needs."""
from __future__ import annotations

import dataclasses
from typing import List, Optional

from . import names, target

MAX_LISTED = 32  # kernel/boot/boot_commands.cc kMaxListed


@dataclasses.dataclass
class Task:
    name: str
    phase: int
    tsc_start: int
    tsc_end: int
    frames_delta: int
    heap_delta: int
    status: int
    error: int
    deferred: bool
    blocked_by: int = 0xFFFF

    @property
    def ran(self) -> bool:
        """BootRecord::ran(): the body returned."""
        return self.status in (names.TASK_STATUS["Ok"], names.TASK_STATUS["Failed"], names.TASK_STATUS["Absent"])

    @property
    def ticks(self) -> int:
        return (self.tsc_end - self.tsc_start) & target.MASK64

    @property
    def is_failure(self) -> bool:
        """BootRecord::is_failure()."""
        return self.status == names.TASK_STATUS["Failed"] or (
            self.status == names.TASK_STATUS["Skipped"] and self.error != names.ERROR["Absent"])


@dataclasses.dataclass
class Runner:
    tasks: List[Task]
    degraded: bool

    def find(self, name: str) -> Optional[Task]:
        """BootRunner::find(): the first task of that name."""
        return next((t for t in self.tasks if t.name == name), None)

    def phase_ticks(self, phase: int) -> int:
        return sum(t.ticks for t in self.tasks if t.phase == phase and t.ran) & target.MASK64


def read_runner() -> Runner:
    runner_ptr = target.symbol(target.G_RUNNER)
    if target.ptr(runner_ptr) == 0:
        raise target.NotReady("no boot record yet (the boot runner starts after the log and the command line)")
    r = runner_ptr.dereference()
    count = int(r["m_count"])
    tasks_at, records = r["m_tasks"], r["m_records"]
    deferred = 1  # RunContext::Deferred
    out = []
    for i in range(count):
        t, rec = tasks_at[i], records[i]
        out.append(Task(
            name=target.cstring(target.ptr(t["name"]), 64) or "(null)", phase=int(t["phase"]),
            tsc_start=target.u64(rec["tsc_start"]), tsc_end=target.u64(rec["tsc_end"]),
            frames_delta=int(rec["frames_delta"]), heap_delta=int(rec["heap_delta"]),
            status=int(rec["status"]), error=int(rec["error"]), blocked_by=int(rec["blocked_by"]),
            # As `boot` says it: ran in `init`, or waits for it.
            deferred=int(rec["context"]) == deferred or int(rec["status"]) == names.TASK_STATUS["Pending"]))
    return Runner(out, bool(r["m_degraded"]))
