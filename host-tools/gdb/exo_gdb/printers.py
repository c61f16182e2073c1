"""Pretty-printers for the kernel's main types: `print` shows a one-line
summary in the shell's words, then the raw fields (children) as usual.

  exo::Result<T>, exo::Result<void>   ok (the value) / error: not found
  exo::Thread                         #2 "ipc-echo" blocked, prio 1, ring 0
  exo::BootRecord                     ok, 36.4 us, 0 frames, 0 heap B
  exo::Endpoint                       "echo": 3 sent, 0 calls, ... 1 waiting to receive
  exo::PageFlags                      RW--G  (as `pages` shows flags)
"""
from __future__ import annotations

import gdb
import gdb.printing

from . import ipc, names, pagewalk, target, tsc


def _fields(val: gdb.Value):
    """Every data member, as gdb would print them without a printer."""
    for f in val.type.strip_typedefs().fields():
        if f.is_base_class or not hasattr(f, "bitpos"):  # static members have no position
            continue
        yield f.name, val[f]


def _error_name(val: gdb.Value) -> str:
    return names.name_at(names.ERRORS, int(val))


def _has_field(t: gdb.Type, name: str) -> bool:
    """Whether `name` is a member of t, directly or through an anonymous
    union or struct (Result<T> keeps its value in one)."""
    return any(f.name == name or (f.name is None and _has_field(f.type.strip_typedefs(), name))
               for f in t.fields())


class ResultPrinter:
    def __init__(self, val: gdb.Value) -> None:
        self.val = val
        self.has_value = _has_field(val.type.strip_typedefs(), "m_value")

    def ok(self) -> bool:
        return int(self.val["m_error"]) == 0  # Error() when ok

    def to_string(self) -> str:
        if self.ok():
            return "ok"
        return f"error: {_error_name(self.val['m_error'])}"

    def children(self):
        if self.has_value and self.ok():
            yield "value", self.val["m_value"]


class ThreadPrinter:
    def __init__(self, val: gdb.Value) -> None:
        self.val = val

    def to_string(self) -> str:
        v = self.val
        state = names.name_at(names.THREAD_STATES, int(v["state"]))
        return (f'#{int(v["id"])} "{target.char_array(v["name"])}" {state}, prio {int(v["priority"])}, '
                f'ring {int(v["ring"])}, {target.u64(v["switches"])} switches')

    def children(self):
        return _fields(self.val)


class BootRecordPrinter:
    def __init__(self, val: gdb.Value) -> None:
        self.val = val

    def to_string(self) -> str:
        v = self.val
        status = int(v["status"])
        text = names.name_at(names.TASK_STATUSES, status)
        if status in (names.TASK_STATUS["Ok"], names.TASK_STATUS["Failed"], names.TASK_STATUS["Absent"]):
            ticks = (target.u64(v["tsc_end"]) - target.u64(v["tsc_start"])) & target.MASK64
            hz = _tsc_hz()
            if hz:
                ns = tsc.ticks_to_ns(ticks, hz)
                text += f", {ns // 1000}.{ns % 1000 // 100} us"
            else:
                text += f", {ticks} TSC ticks"
        if status in (names.TASK_STATUS["Failed"], names.TASK_STATUS["Absent"], names.TASK_STATUS["Skipped"]):
            text += f" ({_error_name(v['error'])})"
        text += f", {int(v['frames_delta'])} frames, {int(v['heap_delta'])} heap B"
        if int(v["context"]) == 1:
            text += " (deferred)"
        return text

    def children(self):
        return _fields(self.val)


class EndpointPrinter:
    def __init__(self, val: gdb.Value) -> None:
        self.val = val

    def to_string(self) -> str:
        s = ipc.stats(self.val)
        return (f'"{s.name}": {s.sent} sent, {s.calls} calls, {s.replies} replies, {s.timeouts} timeouts, '
                f"max queue {s.max_depth}; waiting now: {s.senders} to send, {s.receivers} to receive, "
                f"{s.awaiting_reply} for a reply")

    def children(self):
        return _fields(self.val)


class PageFlagsPrinter:
    def __init__(self, val: gdb.Value) -> None:
        self.val = val

    def to_string(self) -> str:
        flags = int(self.val)
        extra = pagewalk.flag_names(flags)
        return pagewalk.flags_text(flags) + (f" ({' '.join(extra)})" if extra else "")


def _tsc_hz() -> int:
    try:
        return target.tsc_hz()
    except gdb.error:
        return 0


def build() -> gdb.printing.RegexpCollectionPrettyPrinter:
    pp = gdb.printing.RegexpCollectionPrettyPrinter("exo")
    pp.add_printer("Result", r"^exo::Result<.*>$", ResultPrinter)
    pp.add_printer("Thread", r"^exo::Thread$", ThreadPrinter)
    pp.add_printer("BootRecord", r"^exo::BootRecord$", BootRecordPrinter)
    pp.add_printer("Endpoint", r"^exo::Endpoint$", EndpointPrinter)
    pp.add_printer("PageFlags", r"^exo::PageFlags$", PageFlagsPrinter)
    return pp
