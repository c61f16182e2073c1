"""The kernel's telemetry as a Chrome trace-event file (Perfetto, chrome://tracing).

Pure: a `Recording` (the shell's JSON replies, with the host times they
arrived) goes in, the trace dict comes out; nothing here talks to the kernel
(trace_record.py does), so the tests build traces from recorded replies.

One time base: the kernel's own, microseconds since its first instruction.
`boot --json` and `log --json` already count from there; what the host saw
arrive (`watch mem` samples, `threads --json`) is put on it through
`uptime --json` replies taken around the recording (`KernelClock`).
"""
from __future__ import annotations

import bisect
import dataclasses
import re
from typing import Iterable, Optional

from . import __version__

RECORDING_FORMAT = 1   # "exo_trace_recording" in a saved Recording

PID_KERNEL, PID_MEMORY, PID_THREADS = 1, 2, 3
PHASE_ORDER = ("critical", "essential", "optional")
# A task slice may start up to this much before the previous one on its track
# ends: `start_us` is whole microseconds (truncated), durations are ns.
START_SLACK_US = 1.0
# Task statuses that have a start and a duration; the rest never ran.
RAN = ("ok", "failed", "absent")
_BANNER = re.compile(r"Exo-OS \S+.*")


# --------------------------------------------------------------------------
# What trace_record.py collects

@dataclasses.dataclass
class Recording:
    boot: dict                                   # boot --json (after init deferred)
    anchors: list = dataclasses.field(default_factory=list)   # (host s, uptime_us)
    mem: list = dataclasses.field(default_factory=list)       # (host s, mem --json)
    threads: list = dataclasses.field(default_factory=list)   # (host s, threads --json)
    drivers: Optional[dict] = None
    cpu: Optional[dict] = None
    log: Optional[dict] = None
    banner: str = ""          # COM1 before the first prompt (only when exo booted it)
    interval_ms: Optional[int] = None
    source: str = ""

    def to_json(self) -> dict:
        return {"exo_trace_recording": RECORDING_FORMAT, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, obj: dict) -> "Recording":
        if obj.get("exo_trace_recording") != RECORDING_FORMAT:
            raise ValueError(f"not a trace recording (format {RECORDING_FORMAT}): "
                             f"exo_trace_recording is {obj.get('exo_trace_recording')!r}")
        fields = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in fields})


class KernelClock:
    """Host monotonic seconds -> kernel microseconds, through (host, uptime)
    pairs: piecewise linear, so a host and a guest clock that run at
    slightly different rates (TCG) still line up at every anchor."""

    def __init__(self, anchors: Iterable):
        self.points = sorted((float(h), float(k)) for h, k in anchors)
        if not self.points:
            raise ValueError("no `uptime --json` anchor: host times cannot be put on the kernel's clock")
        self.hosts = [h for h, _ in self.points]

    def us(self, host_s: float) -> float:
        p = self.points
        if len(p) == 1:
            return p[0][1] + (host_s - p[0][0]) * 1e6
        i = min(max(bisect.bisect_right(self.hosts, host_s), 1), len(p) - 1)
        (h0, k0), (h1, k1) = p[i - 1], p[i]
        rate = (k1 - k0) / (h1 - h0) if h1 > h0 else 1e6
        return k0 + (host_s - h0) * rate


# --------------------------------------------------------------------------
# Pieces of the boot record

@dataclasses.dataclass
class Slice:
    name: str
    ts: float
    dur: float
    cat: str
    args: dict

    @property
    def end(self) -> float:
        return self.ts + self.dur


def task_slices(boot: dict, deferred: bool, drivers: Optional[dict] = None) -> dict:
    """The tasks that ran, (cpu, phase or "deferred") -> [Slice]: a `cpu`
    field, when a record has one, picks the track."""
    detail = {d.get("name"): d for d in (drivers or {}).get("drivers", [])}
    tracks: dict = {}
    for t in boot.get("tasks", []):
        if bool(t.get("deferred", False)) != deferred or t.get("status") not in RAN:
            continue
        ns = t.get("duration_ns")
        dur = ns / 1000.0 if isinstance(ns, (int, float)) else float(t.get("duration_us", 0))
        args = {k: t[k] for k in ("phase", "status", "frames", "heap_bytes", "duration_ns", "cpu") if k in t}
        d = detail.get(t.get("name"))
        if deferred and d:
            args.update(driver_state=d.get("state"), driver_detail=d.get("detail"))
        key = (t.get("cpu"), "deferred" if deferred else str(t.get("phase", "?")))
        tracks.setdefault(key, []).append(
            Slice(str(t.get("name", "?")), float(t.get("start_us", 0)), max(0.0, dur), key[1], args))
    return tracks


def lanes(slices: Iterable[Slice], slack_us: float = START_SLACK_US) -> list:
    """Slices -> lanes in which none overlap. An overlap within `slack_us`
    is the truncated start: the earlier slice is cut there. A longer one is
    real concurrency (two CPUs, no `cpu` field) and opens another lane."""
    out: list = []
    for s in sorted(slices, key=lambda s: (s.ts, -s.dur)):
        for lane in out:
            last = lane[-1]
            if s.ts >= last.end - slack_us:
                last.dur = max(0.0, min(last.dur, s.ts - last.ts))
                lane.append(s)
                break
        else:
            out.append([s])
    return out


def boot_spans(boot: dict) -> list:
    """First instruction -> prompt, and inside it: before the first task,
    the tasks, after the last task (bench/boot_trace.py's split)."""
    ran = [s for group in task_slices(boot, deferred=False).values() for s in group]
    total = boot.get("total_ns")
    total = total / 1000.0 if isinstance(total, (int, float)) else float(boot.get("total_us", 0))
    if not ran:
        return [Slice("entry → prompt", 0.0, total, "boot", {})] if total > 0 else []
    first = min(s.ts for s in ran)
    last = max(s.end for s in ran)
    total = max(total, last)
    args = {"total_us": round(total, 3), "degraded": bool(boot.get("degraded", False))}
    return [Slice("entry → prompt", 0.0, total, "boot", args),
            Slice("before the first task", 0.0, first, "boot", {}),
            Slice("boot tasks", first, last - first, "boot", {"tasks": len(ran)}),
            Slice("after the last task", last, total - last, "boot", {})]


def kernel_version(rec: Recording) -> Optional[str]:
    """The banner line, from the log ring or else from the boot log."""
    texts = [r.get("text", "") for r in (rec.log or {}).get("records", [])] + rec.banner.splitlines()
    for text in texts:
        m = _BANNER.search(text)
        if m:
            return m.group(0).strip()
    return None


def thread_labels(samples: list) -> dict:
    """Thread id -> counter name: the thread's name, plus its id when two
    threads share one (a counter track is named, not numbered)."""
    names: dict = {}
    for _, obj in samples:
        for t in obj.get("threads", []):
            names[t.get("id")] = str(t.get("name", "?"))
    count: dict = {}
    for n in names.values():
        count[n] = count.get(n, 0) + 1
    return {i: n if count[n] == 1 else f"{n} #{i}" for i, n in names.items()}


# --------------------------------------------------------------------------
# The trace

class _Events:
    """traceEvents plus the M events that name what they use. Thread ids are
    unique over the whole trace (Perfetto keys threads by tid)."""

    def __init__(self):
        self.meta: list = []
        self.timed: list = []
        self.tracks: dict = {}

    def process(self, pid: int, name: str, sort: int, labels: str = "") -> None:
        self.meta.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "args": {"name": name}})
        self.meta.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "args": {"sort_index": sort}})
        if labels:
            self.meta.append({"ph": "M", "name": "process_labels", "pid": pid, "tid": 0, "args": {"labels": labels}})

    def track(self, pid: int, key, name: str, sort: int) -> int:
        if (pid, key) not in self.tracks:
            tid = 10 + len(self.tracks)
            self.tracks[(pid, key)] = tid
            self.meta.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": name}})
            self.meta.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid,
                              "args": {"sort_index": sort}})
        return self.tracks[(pid, key)]

    def slice(self, pid: int, tid: int, s: Slice) -> None:
        self.timed.append({"ph": "X", "name": s.name, "cat": s.cat, "pid": pid, "tid": tid,
                           "ts": round(s.ts, 3), "dur": round(s.dur, 3), "args": s.args})

    def counter(self, pid: int, tid: int, name: str, ts: float, **values) -> None:
        self.timed.append({"ph": "C", "name": name, "pid": pid, "tid": tid, "ts": round(ts, 3), "args": values})

    def instant(self, pid: int, tid: int, name: str, ts: float, args: dict) -> None:
        self.timed.append({"ph": "i", "s": "t", "name": name, "pid": pid, "tid": tid, "ts": round(ts, 3),
                           "args": args})

    def all(self) -> list:
        # Parents before children: equal starts sort the longer slice first.
        return self.meta + sorted(self.timed, key=lambda e: (e["ts"], -e.get("dur", 0)))


def _phase_rank(phase: str) -> int:
    return PHASE_ORDER.index(phase) if phase in PHASE_ORDER else len(PHASE_ORDER)


def _track_name(cpu, group: str, lane: int) -> str:
    name = "deferred inits" if group == "deferred" else f"{group} phase"
    if cpu is not None:
        name = f"cpu {cpu}: {name}"
    return name if lane == 0 else f"{name} ({lane + 1})"


def _boot_tracks(ev: _Events, rec: Recording) -> None:
    tid = ev.track(PID_KERNEL, "boot", "boot (first instruction → prompt)", 0)
    for s in boot_spans(rec.boot):
        ev.slice(PID_KERNEL, tid, s)
    groups = {**task_slices(rec.boot, deferred=False), **task_slices(rec.boot, deferred=True, drivers=rec.drivers)}

    def rank(key) -> int:  # CPU by CPU; in each, the phases in order, then deferred inits
        cpu, group = key
        cpu_rank = cpu if isinstance(cpu, int) else 0
        return 1 + cpu_rank * 10 + (9 if group == "deferred" else _phase_rank(group))

    for key in sorted(groups, key=rank):
        for n, lane in enumerate(lanes(groups[key])):
            tid = ev.track(PID_KERNEL, (*key, n), _track_name(*key, n), rank(key) * 10 + n)
            for s in lane:
                ev.slice(PID_KERNEL, tid, s)


def _log_track(ev: _Events, rec: Recording) -> None:
    records = (rec.log or {}).get("records", [])
    if not records:
        return
    tid = ev.track(PID_KERNEL, "log", "kernel log", 1000)
    for r in records:
        text = str(r.get("text", ""))
        ev.instant(PID_KERNEL, tid, text[:80] or "(empty)", float(r.get("time_us", 0)),
                   {"level": r.get("level"), "seq": r.get("seq"), "text": text})


def _memory_tracks(ev: _Events, rec: Recording, clock: KernelClock) -> None:
    if not rec.mem:
        return
    what = f"watch mem {rec.interval_ms}" if rec.interval_ms else "mem --json"
    ev.process(PID_MEMORY, f"Exo-OS memory ({what})", 1)
    tid = ev.track(PID_MEMORY, "mem", what, 0)
    for host_s, mem in rec.mem:
        ts = clock.us(host_s)
        heap, phys = mem.get("heap", {}), mem.get("phys", {})
        ev.counter(PID_MEMORY, tid, "heap used", ts, bytes=heap.get("used_bytes", 0))
        ev.counter(PID_MEMORY, tid, "heap mapped", ts, bytes=heap.get("mapped_bytes", 0))
        ev.counter(PID_MEMORY, tid, "frames used", ts, frames=phys.get("used_kib", 0) // 4)  # 4 KiB frames


def _thread_tracks(ev: _Events, rec: Recording, clock: KernelClock) -> None:
    if not rec.threads:
        return
    ev.process(PID_THREADS, "Exo-OS threads (CPU time, threads --json)", 2)
    labels = thread_labels(rec.threads)
    switch_tid = ev.track(PID_THREADS, "switches", "context switches", 0)
    for host_s, obj in rec.threads:
        ts = clock.us(host_s)
        if isinstance(obj.get("switches"), (int, float)):
            ev.counter(PID_THREADS, switch_tid, "context switches", ts, count=obj["switches"])
        for t in obj.get("threads", []):
            tid = ev.track(PID_THREADS, ("thread", t.get("id")), f"{labels[t.get('id')]} (id {t.get('id')})",
                           1 + int(t.get("id") or 0))
            ev.counter(PID_THREADS, tid, labels[t.get("id")], ts, cpu_ms=float(t.get("cpu_us", 0)) / 1000.0)


def build_trace(rec: Recording) -> dict:
    """The Recording as {"traceEvents": [...], "displayTimeUnit", "otherData"}."""
    clock = KernelClock(rec.anchors) if rec.anchors else None
    if clock is None and (rec.mem or rec.threads):
        raise ValueError("samples without an `uptime --json` anchor cannot be placed on the kernel's clock")
    version = kernel_version(rec)
    tsc_hz = rec.boot.get("tsc_hz") or (rec.cpu or {}).get("tsc_hz")
    tsc_source = rec.boot.get("tsc_source") or (rec.cpu or {}).get("tsc_source")
    labels = ", ".join(x for x in (version, f"TSC {tsc_hz / 1e9:.3f} GHz ({tsc_source})" if tsc_hz else "") if x)

    ev = _Events()
    ev.process(PID_KERNEL, "Exo-OS kernel", 0, labels)
    _boot_tracks(ev, rec)
    _log_track(ev, rec)
    if clock is not None:
        _memory_tracks(ev, rec, clock)
        _thread_tracks(ev, rec, clock)

    not_run = {t.get("name"): t.get("status") for t in rec.boot.get("tasks", []) if t.get("status") not in RAN}
    other = {
        "kernel": version or "unknown",
        "tsc_hz": tsc_hz,
        "tsc_source": tsc_source,
        "cpu": ((rec.cpu or {}).get("brand") or "").strip() or None,
        "source": rec.source,
        "client": f"exo {__version__}",
        "time_base": "kernel microseconds since its first instruction (TSC); host samples placed "
                     "through uptime --json",
        "boot_total_us": rec.boot.get("total_us"),
        "degraded": rec.boot.get("degraded"),
        "not_run": not_run,
        "mem_interval_ms": rec.interval_ms,
    }
    return {"traceEvents": ev.all(), "displayTimeUnit": "ms",
            "otherData": {k: v for k, v in other.items() if v is not None}}
