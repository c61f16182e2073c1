"""Recording `watch mem` (with commands run in the middle: `init
deferred`, `user sampler`...) and writing the kernel's telemetry as CSV."""
from __future__ import annotations

import csv
import threading
import time
from pathlib import Path
from typing import Callable, Optional, Sequence

from .connection import KernelError, PromptTimeout, Shell
from .mem_events import INIT_DEFERRED, schedule, summarize
from .plots import Mark, MemSeries, boot_tasks, mappings


def run_init_deferred(shell: Shell) -> str:
    """`init deferred`; an `error:` line raises KernelError."""
    out = shell.command("init deferred")
    for ln in out.splitlines():
        if ln.strip().startswith("error:"):
            raise KernelError("init deferred", ln.strip())
    return out


class MemRecorder:
    """`watch mem MS` into a MemSeries, from a thread (live window) or
    inline (`run()`). At each event's time (`events`: (seconds, command);
    `trigger_at` T adds `init deferred` at T) the watch stops, the command
    runs, and the watch starts again; each becomes a Mark. All shell I/O
    happens in run(); other threads read `snapshot()`."""

    def __init__(self, shell: Shell, interval_ms: int = 100, duration: Optional[float] = None,
                 trigger_at: Optional[float] = None,
                 on_event: Optional[Callable[[str], None]] = None, events: Sequence[tuple] = ()):
        self.shell = shell
        self.interval_ms = interval_ms
        self.duration = duration
        self.events = schedule(events, trigger_at)
        self.on_event = on_event or (lambda msg: None)
        self.series = MemSeries()
        self.marks: list[Mark] = []
        self.outputs: list[tuple] = []          # (seconds, command, what it printed)
        self.init_output: Optional[str] = None  # `init deferred`'s, when it ran
        self.error: Optional[BaseException] = None
        self.interrupted = False   # Ctrl-C ended the recording early (inline run only)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.done = threading.Event()
        self.t0: Optional[float] = None
        self._thread: Optional[threading.Thread] = None

    # -- control -------------------------------------------------------------

    def start(self) -> "MemRecorder":
        self._thread = threading.Thread(target=self.run, name="exo-mem-recorder", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        self.stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> tuple[MemSeries, list[Mark]]:
        with self.lock:
            s = MemSeries(list(self.series.t), list(self.series.heap_used), list(self.series.heap_mapped),
                          list(self.series.heap_peak), list(self.series.phys_used_kib),
                          self.series.phys_total_kib, list(self.series.raw))
            return s, list(self.marks)

    # -- the recording -----------------------------------------------------------

    def _add(self, sample) -> None:
        with self.lock:
            self.series.add(sample.t - self.t0, sample.data)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as e:  # reported by the caller, on its thread
            self.error = e
        finally:
            self.done.set()

    def _run(self) -> None:
        shell = self.shell
        self.t0 = time.monotonic()
        self._watch = None
        self._watch = shell.watch("mem", self.interval_ms)
        try:
            self._loop()
        except KeyboardInterrupt:
            self.interrupted = True
        for smp in self._watch.stop():
            self._add(smp)

    def _run_event(self, command: str) -> str:
        """One scheduled command; its `error:` line is a mark, not a failure."""
        if command == INIT_DEFERRED:
            try:
                out = run_init_deferred(self.shell)
            except KernelError as e:
                out = e.line
            self.init_output = out
            return out
        return self.shell.command(command)

    def _loop(self) -> None:
        shell = self.shell
        watch = self._watch
        last_sample = time.monotonic()
        # No sample for this long means the kernel stopped answering.
        stall_s = max(3.0 * self.interval_ms / 1000.0, shell.timeout)
        pending = list(self.events)
        while not self.stop_event.is_set():
            now = time.monotonic() - self.t0
            if self.duration is not None and now >= self.duration:
                break
            if pending and now >= pending[0][0]:
                _, command = pending.pop(0)
                t_mark = time.monotonic() - self.t0
                for smp in watch.stop():
                    self._add(smp)
                self.on_event(command)
                out = self._run_event(command)
                detail = summarize(command, out)
                self.on_event(detail)
                watch = self._watch = shell.watch("mem", self.interval_ms)
                last_sample = time.monotonic()
                with self.lock:
                    self.outputs.append((t_mark, command, out))
                    self.marks.append(Mark(t_mark, command, detail, time.monotonic() - self.t0))
                continue
            wait = 0.1
            if self.duration is not None:
                wait = min(wait, max(0.0, self.duration - now))
            if pending:
                wait = min(wait, max(0.0, pending[0][0] - now))
            smp = watch.next(wait)
            if smp is not None:
                self._add(smp)
                last_sample = time.monotonic()
            elif time.monotonic() - last_sample > stall_s:
                raise PromptTimeout(f"`{watch.line}` sent no sample for {stall_s:.1f} s "
                                    f"(from {shell.transport.description})")


# --------------------------------------------------------------------------
# CSV

def write_boot_csv(path: Path, boot: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "phase", "start_us", "duration_us", "end_us", "status", "deferred",
                    "frames", "heap_bytes"])
        for t in sorted(boot_tasks(boot), key=lambda t: (not t.ran, t.deferred, t.start_us)):
            w.writerow([t.name, t.phase, f"{t.start_us:.3f}", f"{t.duration_us:.3f}", f"{t.end_us:.3f}",
                        t.status, int(t.deferred), t.frames, t.heap_bytes])


def write_mem_csv(path: Path, series: MemSeries, marks: Sequence[Mark] = ()) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_s", "phys_total_kib", "phys_used_kib", "phys_free_kib", "used_frames",
                    "heap_mapped_bytes", "heap_used_bytes", "heap_peak_bytes", "heap_free_bytes",
                    "heap_allocs", "heap_frees", "event"])
        pending = sorted(marks, key=lambda m: m.t)
        for t, mem in zip(series.t, series.raw):
            p, h = mem.get("phys", {}), mem.get("heap", {})
            event = ""
            while pending and pending[0].t <= t:
                m = pending.pop(0)
                event = f"{m.label} at {m.t:.3f} s: {m.detail}"
            w.writerow([f"{t:.3f}", p.get("total_kib", ""), p.get("used_kib", ""), p.get("free_kib", ""),
                        p.get("used_kib", 0) // 4, h.get("mapped_bytes", ""), h.get("used_bytes", ""),
                        h.get("peak_bytes", ""), h.get("free_bytes", ""), h.get("allocs", ""),
                        h.get("frees", ""), event])


def write_mappings_csv(path: Path, pages: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["virt", "end", "phys", "page_size", "count", "size_bytes", "flags", "wx"])
        for m in mappings(pages):
            w.writerow([f"0x{m.virt:016x}", f"0x{m.end:016x}", f"0x{m.phys:x}", m.page_size, m.count,
                        m.size, m.flags, int(m.wx)])


def write_drivers_csv(path: Path, drivers: dict) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["name", "phase", "state", "init_us", "detail"])
        for d in drivers.get("drivers", []):
            w.writerow([d.get("name", ""), d.get("phase", ""), d.get("state", ""), d.get("init_us", ""),
                        d.get("detail", "")])
