#!/usr/bin/python3
"""Shell round trip: `mem --json` over COM1 on TCP, to the prompt back.

Boots Exo-OS (GRUB ISO by default, or PVH -kernel with --pvh / --microvm)
with COM1 on `tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on` (QEMU waits
for this script to connect before the guest runs, so no output is lost),
waits for the `exo> ` prompt, then N times (default 200), one at a time:

    send `mem --json` CR, time until the next `exo> ` has arrived;
    send an empty line (CR), time until the next `exo> ` has arrived;
    send as many blanks as the command has characters and CR, time until
    the next `exo> ` has arrived.

The empty line is the floor measured in the same run: the same socket, UART,
interrupt, line editor and prompt, with no command behind it. The blank line
is a second floor: the same bytes in and the same echo out as the command
(the shell reads COM1 a byte per interrupt, and each input byte is a QEMU
main-loop round trip), but nothing to run; the command's own work and answer
are what it adds. The three rotate so drift on the host hits all alike. Prints median
/ p99 / min / max for each, the ratios to the floors, and the budget of
goals.md (median 2 ms, p99 10 ms). A report: exits 0 whatever the verdict;
1 if the machine never answered properly.

Why nodelay=on: without it QEMU's socket is Nagle'd, so after the first
byte of an answer the rest waits for this end's delayed ACK (40 ms on
Linux): every round trip, even the empty line's, then measures ~45 ms of
TCP and nothing of the kernel. --nagle shows that (plain contract chardev).

    /usr/bin/python3 bench/shell_rtt.py [--count N] [--warmup N] [--pvh|--microvm]
        [--command 'mem --json'] [--mem MIB] [--nagle] [--build-dir DIR]

QEMU is stopped on every path (normal end, error, Ctrl-C, SIGTERM; and by
PR_SET_PDEATHSIG if this process is killed outright).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))

import exo_qemu  # noqa: E402
from exo_qemu import BootMode  # noqa: E402

PROMPT = exo_qemu.PROMPT
BUDGET_MEDIAN_MS = 2.0   # goals.md: shell round trip, median
BUDGET_P99_MS = 10.0     # goals.md: shell round trip, p99
BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S
ROUND_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 10.0


class BenchError(Exception):
    pass


class Com1:
    """The TCP end of COM1: send bytes, read until the prompt."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()

    def read_until(self, marker: bytes, start: int, timeout: float) -> int:
        """Receive until `marker` is in buf[start:]; the offset after it."""
        deadline = time.monotonic() + timeout
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                return i + len(marker)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BenchError(f"no {marker!r} within {timeout:.1f} s; last output:\n"
                                 + self.buf[-2000:].decode(errors="replace"))
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise BenchError("QEMU closed COM1; last output:\n" + self.buf[-2000:].decode(errors="replace"))
            self.buf += chunk

    def round_trip(self, line: bytes) -> tuple[int, str]:
        """Send `line` + CR; nanoseconds until the next prompt has arrived,
        and what came in between (the echo included)."""
        start = len(self.buf)
        t0 = time.perf_counter_ns()
        self.sock.sendall(line + b"\r")
        end = self.read_until(PROMPT, start, ROUND_TIMEOUT_S)
        t1 = time.perf_counter_ns()
        if end != len(self.buf):
            raise BenchError(f"output after the prompt: {bytes(self.buf[end:])!r}")
        reply = self.buf[start:end - len(PROMPT)].decode(errors="replace")
        del self.buf[:]
        return t1 - t0, reply


def check_reply(line: bytes, reply: str) -> None:
    """The command's echo, then (for a --json command) exactly one JSON line."""
    lines = reply.replace("\r\n", "\n").split("\n")
    if lines[0].strip() != line.decode().strip():
        raise BenchError(f"echo {lines[0]!r} is not {line!r}")
    body = [ln for ln in lines[1:] if ln]
    if not line.strip():
        if body:
            raise BenchError(f"an empty line answered {body!r}")
        return
    if b"--json" in line:
        if len(body) != 1:
            raise BenchError(f"`{line.decode()}` answered {len(body)} lines: {body!r}")
        json.loads(body[0])
    elif any(ln.startswith("error:") for ln in body):
        raise BenchError(f"`{line.decode()}` answered {body!r}")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def connect(port: int, proc: subprocess.Popen) -> socket.socket:
    """QEMU opens its listener before it waits for us; connect as soon as
    it is there (polling: there is nothing else to wait on)."""
    deadline = time.monotonic() + CONNECT_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise BenchError(f"QEMU exited with status {proc.returncode} before COM1 was connected")
        try:
            sock = socket.create_connection((exo_qemu.LOOPBACK, port), timeout=1.0)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(f"could not connect to COM1 on port {port} within {CONNECT_TIMEOUT_S} s")
            time.sleep(0.01)


def stop(proc: Optional[subprocess.Popen]) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=exo_qemu.KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fmt_row(label: str, ms: list[float]) -> str:
    return (f"{label:<24}{statistics.median(ms):>9.3f}{percentile(ms, 99):>9.3f}"
            f"{min(ms):>9.3f}{max(ms):>9.3f}")


def verdict(value: float, budget: float) -> str:
    return "PASS" if value <= budget else "OVER"


def run(args: argparse.Namespace) -> int:
    mode = BootMode.MICROVM if args.microvm else BootMode.PVH if args.pvh else BootMode.ISO
    port = exo_qemu.free_tcp_port()
    com1_chardev = exo_qemu.tcp_chardev(port, wait=True) + ("" if args.nagle else ",nodelay=on")
    spec = exo_qemu.LaunchSpec(mode=mode, build_dir=args.build_dir, mem_mib=args.mem,
                               com1=com1_chardev)
    if not spec.boot_artifact().is_file():
        print(f"shell_rtt.py: {spec.boot_artifact()} does not exist: build the kernel first", file=sys.stderr)
        return 1
    argv = exo_qemu.build_argv(spec)
    print("QEMU:", exo_qemu.format_argv(argv))
    command = args.command.encode()

    proc = None
    sock = None
    with tempfile.TemporaryFile() as qemu_stderr:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=qemu_stderr, preexec_fn=exo_qemu._pdeathsig_setter())
            sock = connect(port, proc)
            com1 = Com1(sock)
            t_boot = time.monotonic()
            com1.read_until(PROMPT, 0, BOOT_TIMEOUT_S)
            boot_s = time.monotonic() - t_boot
            del com1.buf[:]

            blank = b" " * len(command)
            probes = [(command, []), (b"", []), (blank, [])]
            for _ in range(args.warmup):
                for line, _times in probes:
                    _, reply = com1.round_trip(line)
                    check_reply(line, reply)
            sizes = {}
            for i in range(args.count):
                for line, into in probes[i % 3:] + probes[:i % 3]:
                    ns, reply = com1.round_trip(line)
                    check_reply(line, reply)
                    into.append(ns / 1e6)
                    sizes[line] = len(reply.encode()) + len(PROMPT)
            cmd_ms, floor_ms, blank_ms = (times for _, times in probes)
        except (BenchError, OSError, ValueError) as e:
            print(f"shell_rtt.py: {e}", file=sys.stderr)
            qemu_stderr.seek(0)
            err = qemu_stderr.read().decode(errors="replace").strip()
            if err:
                print("--- QEMU stderr ---\n" + err[-2000:], file=sys.stderr)
            return 1
        finally:
            if sock is not None:
                sock.close()
            stop(proc)

    label = f"`{args.command}`"
    print(f"boot path: {mode.value}, -m {args.mem}, TCG; prompt {boot_s * 1000:.0f} ms after connecting; "
          f"host load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    print(f"{args.count} round trips each (after {args.warmup} warm-up rounds), send to prompt back, ms:")
    print(f"{'':<24}{'median':>9}{'p99':>9}{'min':>9}{'max':>9}   bytes in/out")
    print(fmt_row(label, cmd_ms) + f"   {len(command) + 1:>4} / {sizes[command]}")
    print(fmt_row("empty line (floor)", floor_ms) + f"   {1:>4} / {sizes[b'']}")
    print(fmt_row(f"{len(blank)} blanks (floor 2)", blank_ms) + f"   {len(blank) + 1:>4} / {sizes[blank]}")
    med, p99 = statistics.median(cmd_ms), percentile(cmd_ms, 99)
    fmed, fp99 = statistics.median(floor_ms), percentile(floor_ms, 99)
    bmed, bp99 = statistics.median(blank_ms), percentile(blank_ms, 99)
    print(f"{'ratio to empty line':<24}{med / fmed:>8.2f}x{p99 / fp99:>8.2f}x")
    print(f"{'ratio to blank line':<24}{med / bmed:>8.2f}x{p99 / bp99:>8.2f}x")
    print(f"budget (goals.md)       median {BUDGET_MEDIAN_MS:g} ms: {med:.3f} ms "
          f"({med / BUDGET_MEDIAN_MS:.2f}x of budget) {verdict(med, BUDGET_MEDIAN_MS)}; "
          f"p99 {BUDGET_P99_MS:g} ms: {p99:.3f} ms ({p99 / BUDGET_P99_MS:.2f}x of budget) "
          f"{verdict(p99, BUDGET_P99_MS)}")
    print(f"over the empty line: median {med - fmed:+.3f} ms; over the blank line (the command's own "
          f"work and answer): median {med - bmed:+.3f} ms; an input byte costs about "
          f"{(bmed - fmed) / max(1, len(blank)) * 1000:.0f} us")
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="shell_rtt.py", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pvh", action="store_true", help="boot build/exo-kernel with -kernel on -M pc")
    where.add_argument("--microvm", action="store_true", help="boot build/exo-kernel on -M microvm")
    p.add_argument("--count", type=int, default=200, metavar="N", help="round trips of each kind (default 200)")
    p.add_argument("--warmup", type=int, default=10, metavar="N",
                   help="untimed rounds first, for TCG's translation cache (default 10)")
    p.add_argument("--command", default="mem --json", help="the command timed (default: mem --json)")
    p.add_argument("--mem", type=int, default=exo_qemu.DEFAULT_MEM_MIB, metavar="MIB")
    p.add_argument("--nagle", action="store_true",
                   help="leave nodelay=on off QEMU's COM1 chardev (shows TCP's delayed-ACK stall)")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("EXO_BUILD_DIR", exo_qemu.DEFAULT_BUILD_DIR)))
    args = p.parse_args(argv)
    if args.count < 1:
        p.error("--count must be at least 1")
    # SIGTERM / SIGHUP unwind through the finally that stops QEMU.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
