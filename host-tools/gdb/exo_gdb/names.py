"""The kernel's names for its enum values, as its shell prints them.

Each list mirrors one packed name string (kernel/lib/names.h's name_at) in
the C++ source named beside it; tests/tools/test_gdb_helpers_pure.py checks
that they still match. gdb only knows the enumerators (exo::Error::NotFound),
not the lower-case words the shell shows ("not found").
"""
from __future__ import annotations

from typing import Sequence

THREAD_STATES = ("ready", "running", "blocked", "sleeping", "dead")     # kernel/sched/thread.h
# kernel/sched/thread_commands.cc kWaits: by IpcOp while blocked, then sleeping, then none.
THREAD_WAITS = ("input", "send", "call", "receive", "reply", "sleep", "-")
ERRORS = ("ok", "invalid argument", "not found", "out of memory", "not mapped", "unsupported",
          "absent", "timeout", "corrupt", "too long", "busy")            # kernel/lib/result.h
BOOT_PHASES = ("critical", "essential", "optional")                     # kernel/boot/boot_task.h
TASK_STATUSES = ("not-run", "pending", "running", "ok", "failed", "absent", "skipped")  # boot_task.h
LOG_LEVELS = ("error", "warn", "info", "debug")                          # kernel/debug/log_ring.h
TSC_SOURCES = ("unknown", "cpuid-15h", "cpuid-16h", "pit", "acpi-pm-timer")  # kernel/drivers/pit8254/timer_hw.cc
WALK_STOPS = ("not present", "large page", "leaf", "unreadable table", "reserved bit set",
              "non-canonical")                                           # kernel/mm/page_table.h
WALK_LEVELS = ("PML4E", "PDPTE", "PDE", "PTE")                           # kernel/mm/page_table.h

# Enum values by name (the C++ enumerator order), for the code that compares.
TASK_STATUS = {name: i for i, name in enumerate(
    ("NotRun", "Pending", "Running", "Ok", "Failed", "Absent", "Skipped"))}
THREAD_STATE = {name: i for i, name in enumerate(("Ready", "Running", "Blocked", "Sleeping", "Dead"))}
# Error() (0) is "ok": the enumerators start at 1.
ERROR = {name: i for i, name in enumerate(
    ("InvalidArgument", "NotFound", "NoMemory", "NotMapped", "Unsupported", "Absent", "Timeout",
     "Corrupt", "TooLong", "Busy"), start=1)}


def name_at(names: Sequence[str], index: int) -> str:
    """name_at(): the index-th name, "?" past the end (a corrupt value)."""
    return names[index] if 0 <= index < len(names) else "?"
