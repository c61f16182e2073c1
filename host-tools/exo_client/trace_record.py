"""Recording what `exo trace` (and `exo report`) turn into a trace: the shell
I/O side of trace.py."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Callable, Optional

from .connection import KernelError, ProtocolError, Session, Shell
from .telemetry import MemRecorder
from .trace import Recording, build_trace

# Kept out of the trace, not fatal, when a kernel lacks them (as in `exo report`).
OPTIONAL_QUERIES = ("drivers", "cpu", "log")


class ClockAnchors:
    """`uptime --json` pins the host's clock to the kernel's; `threads --json`
    is sampled at the same checkpoints. A reply is placed at the midpoint of
    its round trip, and of a few tries the shortest round trip wins (NTP's
    rule): the first query after boot can take tens of ms, the next under 1."""

    TRIES = 3

    def __init__(self, shell: Shell):
        self.shell = shell
        self.anchors: list = []
        self.threads: list = []

    def _timed(self, command: str) -> tuple:
        before = time.monotonic()
        obj = self.shell.query(command)
        after = time.monotonic()
        return (before + after) / 2, obj, after - before

    def checkpoint(self) -> None:
        best = None
        for _ in range(self.TRIES):
            host_s, up, rtt = self._timed("uptime")
            if not isinstance(up.get("uptime_us"), (int, float)):
                raise ProtocolError("`uptime --json` has no numeric \"uptime_us\"")
            if best is None or rtt < best[2]:
                best = (host_s, up["uptime_us"], rtt)
        self.anchors.append(best[:2])
        self.threads.append(self._timed("threads")[:2])


def mem_samples(rec: MemRecorder) -> list:
    """MemRecorder's samples as (host monotonic s, mem --json)."""
    series, _ = rec.snapshot()
    return [(rec.t0 + t, raw) for t, raw in zip(series.t, series.raw)]


def query_optional(shell: Shell, name: str, log: Callable[[str], None]) -> Optional[dict]:
    try:
        return shell.query(name)
    except KernelError as e:
        log(f"`{name} --json`: {e.line} (left out of the trace)")
        return None


def record(session: Session, *, duration: float, interval_ms: int, trigger_at: Optional[float],
           log: Callable[[str], None] = lambda m: None) -> Recording:
    """Threads and the clock, `watch mem` for `duration` s (with `init
    deferred` at `trigger_at` unless None), threads and the clock again, then
    the boot record and the rest."""
    shell = session.shell
    clock = ClockAnchors(shell)
    clock.checkpoint()
    what = f", `init deferred` at {trigger_at:g} s" if trigger_at is not None else ""
    log(f"recording `watch mem {interval_ms}` for {duration:g} s{what}")
    rec = MemRecorder(shell, interval_ms=interval_ms, duration=duration, trigger_at=trigger_at, on_event=log)
    rec.run()
    if rec.error is not None:
        raise rec.error
    clock.checkpoint()
    extra = {name: query_optional(shell, name, log) for name in OPTIONAL_QUERIES}
    return Recording(boot=shell.query("boot"), anchors=clock.anchors, mem=mem_samples(rec), threads=clock.threads,
                     banner=session.boot_log, interval_ms=interval_ms, source=session.where, **extra)


def write_json(path: Path, obj: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=1) + "\n")


def write_trace(path: Path, rec: Recording) -> dict:
    trace = build_trace(rec)
    write_json(path, trace)
    return trace
