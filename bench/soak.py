#!/usr/bin/python3
"""Soak: Exo-OS under `watch mem 100` for a long while, stopped every few
seconds to run the ring-3 programs and other commands, then watched again.
At the end the heap and frames in use at idle are compared with the start.

    /usr/bin/python3 bench/soak.py                 # 30 minutes
    /usr/bin/python3 bench/soak.py --minutes 5 --cycle-seconds 10

Exit status: 0 no leak and no hang; 1 a leak at idle, a hang (no sample or
no answer within the timeout) or QEMU gone.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))

from exo_qemu import BootMode, Qemu, QemuExited, format_argv  # noqa: E402
from exo_shell import Shell, describe, leaks  # noqa: E402

SAMPLE = re.compile(rb'\{"schema":1,"phys"[^\r\n]*\}\r?\n')
STARTED = re.compile(rb"started thread \d+ \(user:\w+\) in ring 3")
HANG_S = 30.0          # no sample, or no answer, for this long: a hang (TCG on a shared machine)
WARM_UP = ("init deferred", "user sampler", "user fault", "user badptr", "user bench", "user trap", "bench")
PROGRAMS = ("sampler", "fault", "badptr", "bench", "trap")
# Other commands run between watches, each with what its answer starts with.
COMMANDS = (("threads", rb"  id name"), ("ipc", rb"endpoint "), ("bench", rb"benchmark "),
            ("log", rb"\[ *\d+\.\d+\] "), ("pages", rb"virt "), ("drivers", rb"driver "),
            ("gdb", rb"gdb stub "), ("boot", rb"TSC \d+ kHz"), ("cpu", rb"TSC \d+ kHz from"),
            ("pci", rb"\d\d:\d\d\.\d "), ("uptime", rb"up \d"))


class Hang(Exception):
    pass


class Soak:
    def __init__(self, q: Qemu) -> None:
        self.q = q
        self.sh = Shell(q)
        self.samples = 0
        self.garbled = 0
        self.peak = {"used_kib": 0, "heap_used_bytes": 0}
        self.runs = {p: 0 for p in PROGRAMS}
        self.commands = 0
        self.cycles = 0

    def sync(self, tag: str) -> None:
        if not self.sh.sync(tag, HANG_S):
            raise Hang(f"the shell did not answer `zz{tag}` within {HANG_S:.0f} s")

    def watch(self, seconds: float) -> None:
        """`watch mem 100` for `seconds`, every sample waited for; a key ends it."""
        self.sh.mark()
        self.q.send(b"\x03watch mem 100\r")
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            m = self.sh.wait(SAMPLE, HANG_S)
            if m is None:
                raise Hang(f"no `watch mem 100` sample within {HANG_S:.0f} s")
            self.count(m.text)
        self.q.send(b" ")
        self.sync(f"w{self.cycles}")

    def count(self, line: bytes) -> None:
        try:
            obj = json.loads(line)
        except ValueError:
            self.garbled += 1   # a log line landed inside it
            return
        self.samples += 1
        self.peak["used_kib"] = max(self.peak["used_kib"], obj["phys"]["used_kib"])
        self.peak["heap_used_bytes"] = max(self.peak["heap_used_bytes"], obj["heap"]["used_bytes"])

    def programs(self) -> None:
        for name in PROGRAMS:
            if self.sh.command(f"user {name}", STARTED, HANG_S) is None:
                raise Hang(f"`user {name}` did not start within {HANG_S:.0f} s")
            self.runs[name] += 1
        line, answer = COMMANDS[self.cycles % len(COMMANDS)]
        if self.sh.command(line, re.compile(rb"\r\n" + answer), HANG_S) is None:
            raise Hang(f"`{line}` did not answer within {HANG_S:.0f} s")
        self.commands += 1
        self.sync(f"p{self.cycles}")

    def idle(self) -> dict:
        figures = self.sh.idle_figures(HANG_S)
        if figures is None:
            raise Hang("the machine did not settle at idle")
        return figures


def parse_args(argv):
    p = argparse.ArgumentParser(prog="soak.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--minutes", type=float, default=30.0, help="how long to soak (30)")
    p.add_argument("--cycle-seconds", type=float, default=20.0,
                   help="watch this long between program runs (20)")
    p.add_argument("--mode", choices=[m.value for m in BootMode], default="iso", help="how to boot (iso)")
    p.add_argument("--build-dir", type=Path, default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    p.add_argument("--quiet", action="store_true", help="no progress line per cycle")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    failure = None
    before = after = None
    with Qemu(BootMode(args.mode), build_dir=args.build_dir) as q:
        soak = Soak(q)
        try:
            q.wait_prompt(HANG_S * 2)
            for line in WARM_UP:   # what allocates once and keeps it, before the baseline
                q.send(f"{line}\r".encode())
            soak.sync("warm")
            before = soak.idle()
            end = time.monotonic() + args.minutes * 60
            while time.monotonic() < end:
                soak.watch(min(args.cycle_seconds, max(0.0, end - time.monotonic())))
                soak.programs()
                soak.cycles += 1
                if not args.quiet:
                    print(f"[{time.monotonic() - started:7.1f} s] cycle {soak.cycles}: "
                          f"{soak.samples} samples", flush=True)
            after = soak.idle()
            leaked = leaks(before, after)
            if leaked:
                failure = "leak at idle: " + "; ".join(leaked)
        except (Hang, QemuExited) as e:
            failure = f"hang: {e}" if isinstance(e, Hang) else f"QEMU exited: {e}".splitlines()[0]
        print(f"QEMU: {format_argv(q.argv)}")
        if failure:
            print(f"--- last COM1 output ---\n{q.tail(1500)}")
    print(f"idle before: {describe(before) if before else '-'}")
    print(f"idle after:  {describe(after) if after else '-'}")
    print(f"samples: {soak.samples} collected ({soak.garbled} cut by a log line), "
          f"peak used {soak.peak['used_kib']} KiB, peak heap in use {soak.peak['heap_used_bytes']} B")
    print(f"cycles: {soak.cycles}; programs run: " + ", ".join(f"{k} {v}" for k, v in soak.runs.items())
          + f"; other commands: {soak.commands}")
    print(f"duration: {time.monotonic() - started:.1f} s")
    print(f"FAILED: {failure}" if failure else "no leak, no hang")
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
