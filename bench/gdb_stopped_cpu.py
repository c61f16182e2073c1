#!/usr/bin/python3
"""Host CPU a kernel stopped by gdb burns: QEMU's CPU time (utime + stime
from /proc/PID/stat) over a few seconds at the idle prompt (the floor: the
idle thread halts), then as long again while the GDB stub holds the kernel
stopped (attached by a raw `?` on COM2, released with `D`). A stub that
spins on the UARTs keeps one host core busy, which on a small machine is
taken from gdb and from QEMU's own I/O thread; ours halts between bytes.

    /usr/bin/python3 bench/gdb_stopped_cpu.py [--seconds S] [--runs N] [--build-dir DIR]

Prints each run's figures and the medians as % of one core, with the
ratio stopped/idle. QEMU is killed on every path. A report: exits 0.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))

import exo_qemu  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ   # utime, stime


def busy_percent(pid: int, seconds: float) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100.0 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


def one_run(build_dir: Path, seconds: float) -> tuple[float, float]:
    q = exo_qemu.Qemu(exo_qemu.BootMode.PVH, build_dir=build_dir, com2="tcp")
    try:
        q.wait_prompt(60)
        idle = busy_percent(q.proc.pid, seconds)
        s = q.connect_com2()
        s.sendall(b"$?#3f")            # attach: the kernel stops
        reply = b""
        while b"#" not in reply:
            reply += s.recv(256)
        stopped = busy_percent(q.proc.pid, seconds)
        s.sendall(b"+$D#44")           # detach: it runs on
        return idle, stopped
    finally:
        q.kill()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--build-dir", type=Path, default=REPO_DIR / "build")
    a = p.parse_args()
    idles, stops = [], []
    for i in range(a.runs):
        idle, stopped = one_run(a.build_dir, a.seconds)
        idles.append(idle)
        stops.append(stopped)
        print(f"run {i + 1}: idle at the prompt {idle:5.1f} %, stopped by gdb {stopped:5.1f} % of a core")
    mi, ms = statistics.median(idles), statistics.median(stops)
    print(f"median: idle {mi:.1f} %, stopped {ms:.1f} % ({ms / max(mi, 0.1):.1f}x idle)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
