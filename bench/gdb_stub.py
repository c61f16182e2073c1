#!/usr/bin/python3
"""GDB stub: one scripted gdb session against Exo-OS's own stub (COM2)
and against QEMU's built-in gdbstub (`-gdb tcp:...`), same kernel, same boot.

The session (goals.md) is

    gdb -nx -batch build/exo-kernel.elf \
      -ex 'target remote ...'     # attach: the kernel stops
      -ex stepi   (x 100)
      -ex 'x/4096xb ADDR'         # ADDR: __text_start, 4 KiB of kernel text
      -ex 'info registers' (x 50)
      -ex detach

timed from inside gdb: `shell date +%s%N` between the phases prints a
timestamp, so gdb's own start-up (loading the 1 MB of DWARF) is not in the
figure, and each phase is reported too. Every run boots a fresh machine
(PVH by default) to the `exo> ` prompt first, then attaches: for our stub
over COM2 (`tcp:127.0.0.1:PORT,server=on,wait=off,nodelay=on`), for QEMU's
with `-gdb tcp:127.0.0.1:PORT` added to the same QEMU command (QEMU's stub
sets nodelay=on on its own socket; --nagle drops it from ours, which is what
`exo_qemu.py --gdb-port` gives today: ~40 ms of delayed ACK per packet).
Runs alternate which stub goes first so host drift hits both alike. Prints
per-phase and total medians over N runs (default 5), the ratio ours/QEMU's
and the goals.md budget (within 1.5x), the exact commands, and the packet
counts from gdb's remote log. A report: exits 0 whatever the verdict; 1 if
a session failed.

    /usr/bin/python3 bench/gdb_stub.py [--runs N] [--iso|--microvm] [--nagle]
        [--mem-cache] [--steps 100] [--regs 50] [--bytes 4096] [--build-dir DIR]

QEMU and gdb are stopped on every path (end, error, Ctrl-C; QEMU also by
PR_SET_PDEATHSIG if this process is killed outright).
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import signal
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

GDB = os.environ.get("EXO_GDB", "/usr/bin/gdb")
BUDGET_RATIO = 1.5            # goals.md: within 1.5x of QEMU's stub
SESSION_TIMEOUT_S = 300.0
PHASES = ("attach", "stepi", "x", "info registers", "detach")
STAMP = re.compile(r"^@@T(\d+)$", re.M)


def stamp() -> list[str]:
    return ["-ex", "shell date +@@T%s%N"]


def session_args(elf: Path, target: str, text_addr: int, steps: int, regs: int, nbytes: int,
                 log: Optional[Path], cache: Optional[tuple[int, int]] = None) -> list[str]:
    argv = [GDB, "-nx", "-batch", str(elf), "-ex", "set remotetimeout 30"]
    if log:
        argv += ["-ex", f"set remotelogfile {log}"]
    if cache:   # gdb reads kernel text through its cache, 64 bytes an `m`
        argv += ["-ex", "set mem inaccessible-by-default off", "-ex", f"mem {cache[0]:#x} {cache[1]:#x} rw cache"]
    argv += stamp() + ["-ex", f"target remote {target}"] + stamp()
    for _ in range(steps):
        argv += ["-ex", "stepi"]
    argv += stamp() + ["-ex", f"x/{nbytes}xb {text_addr:#x}"] + stamp()
    for _ in range(regs):
        argv += ["-ex", "info registers"]
    argv += stamp() + ["-ex", "detach"] + stamp()
    return argv


def short_command(argv: list[str], steps: int, regs: int) -> str:
    """The gdb command line with the repeated -ex folded, for printing."""
    text = " ".join(shlex.quote(a) for a in argv)
    text = text.replace(" -ex stepi" * steps, f" [-ex stepi] x{steps}")
    text = text.replace(" -ex 'info registers'" * regs, f" [-ex 'info registers'] x{regs}")
    return text


def symbol(elf: Path, name: str) -> int:
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == name:
            return int(parts[0], 16)
    raise SystemExit(f"gdb_stub.py: no symbol {name} in {elf}")


class Failed(Exception):
    pass


def run_session(argv: list[str], steps: int, regs: int, nbytes: int) -> tuple[list[float], str]:
    """Run gdb; phase durations in seconds (attach, stepi, x, info registers, detach)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=SESSION_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise Failed(f"gdb still running after {SESSION_TIMEOUT_S:.0f} s; its output:\n{out[-3000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stamps = [int(s) for s in STAMP.findall(out)]
    problems = []
    if proc.returncode != 0:
        problems.append(f"gdb exited {proc.returncode}")
    if len(stamps) != len(PHASES) + 1:
        problems.append(f"{len(stamps)} timestamps, want {len(PHASES) + 1}")
    dump_lines = len(re.findall(r"^0x[0-9a-f]+ <[^>]*>:\t(?:0x[0-9a-f]{2}\s*){1,8}$", out, re.M))
    if dump_lines != nbytes // 8:
        problems.append(f"x/{nbytes}xb printed {dump_lines} lines of 8 bytes, want {nbytes // 8}")
    if len(re.findall(r"^rip\s+0x", out, re.M)) != regs:
        problems.append(f"`info registers` showed rip {len(re.findall(r'^rip', out, re.M))} times, want {regs}")
    if not re.search(r"^\[Inferior 1 \(.*\) detached\]$", out, re.M):
        problems.append("no detach")
    for bad in ("Cannot access memory", "Remote connection closed", "Ignoring packet error", "Timed out"):
        if bad in out:
            problems.append(f"gdb said {bad!r}")
    if problems:
        raise Failed("; ".join(problems) + "\n--- gdb output (tail) ---\n" + out[-3000:])
    return [(b - a) / 1e9 for a, b in zip(stamps, stamps[1:])], out


def count_packets(log: Path) -> dict[str, int]:
    """Packets gdb sent, by their first letters, from a remotelogfile."""
    counts: dict[str, int] = {}
    if not log.is_file():
        return counts
    for line in log.read_text(errors="replace").splitlines():
        m = re.match(r"w \+?\$(vCont;s|vCont;c|qXfer|[A-Za-z?])", line)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def boot(mode: BootMode, build_dir: Path, which: str, port: int, nagle: bool) -> exo_qemu.Qemu:
    """A machine at the prompt. COM2 is the same TCP chardev for both stubs;
    QEMU's stub gets -gdb on top."""
    com2 = exo_qemu.tcp_chardev(port if which == "exo" else exo_qemu.free_tcp_port())
    if not nagle:
        com2 += ",nodelay=on"
    extra = ["-gdb", f"tcp:{exo_qemu.LOOPBACK}:{port}"] if which == "qemu" else []
    q = exo_qemu.Qemu(mode, build_dir=build_dir, com2=com2, extra_args=extra)
    try:
        q.wait_prompt()
    except BaseException:
        q.kill()
        raise
    return q


def fmt_ms(s: float) -> str:
    return f"{s * 1000:9.1f}"


def run(args: argparse.Namespace) -> int:
    build_dir = args.build_dir.resolve()
    elf = build_dir / "exo-kernel.elf"
    mode = BootMode.MICROVM if args.microvm else BootMode.ISO if args.iso else BootMode.PVH
    for f in (elf, build_dir / ("exo.iso" if mode is BootMode.ISO else "exo-kernel")):
        if not f.is_file():
            print(f"gdb_stub.py: {f} is missing: build the kernel first", file=sys.stderr)
            return 1
    text_addr = symbol(elf, "__text_start")
    results: dict[str, list[list[float]]] = {"exo": [], "qemu": []}
    packets: dict[str, dict[str, int]] = {}
    shown: dict[str, tuple[str, str]] = {}
    failures = 0
    with tempfile.TemporaryDirectory(prefix="exo-gdb-bench-") as tmp:
        for run_no in range(args.runs):
            order = ("exo", "qemu") if run_no % 2 == 0 else ("qemu", "exo")
            for which in order:
                port = exo_qemu.free_tcp_port()
                log = Path(tmp) / f"{which}-{run_no}.log" if run_no == 0 else None
                argv = session_args(elf, f"{exo_qemu.LOOPBACK}:{port}", text_addr,
                                    args.steps, args.regs, args.bytes, log,
                                    (text_addr, symbol(elf, "__text_end")) if args.mem_cache else None)
                q = boot(mode, build_dir, which, port, args.nagle)
                try:
                    shown.setdefault(which, (exo_qemu.format_argv(q.argv), short_command(argv, args.steps, args.regs)))
                    phases, _ = run_session(argv, args.steps, args.regs, args.bytes)
                    # The kernel must still answer after the session.
                    out = q.command("uptime", 20.0)
                    if "up" not in out:
                        raise Failed(f"after the session, uptime answered {out!r}")
                except Failed as e:
                    failures += 1
                    print(f"run {run_no + 1} {which}: FAILED: {e}", flush=True)
                    continue
                finally:
                    q.kill()
                results[which].append(phases)
                if log:
                    packets[which] = count_packets(log)
                print(f"run {run_no + 1} {which:4s}: total {sum(phases) * 1000:8.1f} ms  ("
                      + ", ".join(f"{n} {p * 1000:.1f}" for n, p in zip(PHASES, phases)) + ")", flush=True)

    print()
    for which, label in (("exo", "Exo-OS stub (COM2)"), ("qemu", "QEMU gdbstub (-gdb)")):
        if which in shown:
            qemu_cmd, gdb_cmd = shown[which]
            print(f"{label}:\n  qemu: {qemu_cmd}\n  gdb:  {gdb_cmd}")
    print(f"\nboot: {mode.value}, TCG; COM2 chardev {'without' if args.nagle else 'with'} nodelay=on; "
          f"session: attach, {args.steps} x stepi, x/{args.bytes}xb {text_addr:#x}{' (text cached: mem ... rw cache)' if args.mem_cache else ''}, "
          f"{args.regs} x info registers, detach; {args.runs} runs; load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not results["exo"] or not results["qemu"]:
        print("no complete pair of sessions: no verdict")
        return 1
    med = {w: [statistics.median(r[i] for r in results[w]) for i in range(len(PHASES))] for w in results}
    tot = {w: statistics.median(sum(r) for r in results[w]) for w in results}
    print(f"\n{'phase (median ms)':22s}{'Exo-OS':>10s}{'QEMU':>10s}{'ratio':>9s}")
    for i, name in enumerate(PHASES):
        ratio = med["exo"][i] / med["qemu"][i] if med["qemu"][i] > 0 else float("inf")
        print(f"{name:22s}{fmt_ms(med['exo'][i])} {fmt_ms(med['qemu'][i])} {ratio:8.2f}x")
    ratio = tot["exo"] / tot["qemu"]
    verdict = "PASS" if ratio <= BUDGET_RATIO else "OVER"
    print(f"{'total':22s}{fmt_ms(tot['exo'])} {fmt_ms(tot['qemu'])} {ratio:8.2f}x   "
          f"budget {BUDGET_RATIO:.1f}x: {verdict}")
    for w in results:
        totals = sorted(sum(r) * 1000 for r in results[w])
        print(f"  {w}: {len(totals)} runs, min {totals[0]:.1f} ms, max {totals[-1]:.1f} ms")
    if packets:
        print("\npackets gdb sent in run 1 (from its remotelogfile):")
        for w, c in packets.items():
            print(f"  {w}: {sum(c.values())} total; " + ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])))
        # gdb reads x/Nxb a byte per `m` packet (plus a few symbol lookups):
        # that phase is a per-packet round-trip figure.
        for w, c in packets.items():
            if c.get("m"):
                per = med[w][PHASES.index("x")] / (args.bytes + 0.0) * 1000
                print(f"  {w}: x phase per byte read (one m packet each): {per:.3f} ms")
    if failures:
        print(f"\n{failures} session(s) failed (see above)")
    return 1 if failures else 0


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="gdb_stub.py", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--iso", action="store_true", help="boot the GRUB ISO (default: PVH -kernel on -M pc)")
    where.add_argument("--microvm", action="store_true", help="boot PVH on -M microvm")
    p.add_argument("--runs", type=int, default=5, metavar="N", help="sessions per stub (default 5)")
    p.add_argument("--steps", type=int, default=100, help="stepi count (default 100)")
    p.add_argument("--regs", type=int, default=50, help="info registers count (default 50)")
    p.add_argument("--bytes", type=int, default=4096, help="bytes examined with x/Nxb (default 4096)")
    p.add_argument("--nagle", action="store_true",
                   help="COM2 chardev without nodelay=on (as exo_qemu.py --gdb-port wires it today)")
    p.add_argument("--mem-cache", action="store_true",
                   help="gdb caches reads of kernel text (`mem __text_start __text_end rw cache`) in both sessions")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    args = p.parse_args(argv)
    if args.bytes % 8:
        p.error("--bytes must be a multiple of 8")
    # SIGTERM unwinds like Ctrl-C, so the finally blocks stop QEMU and gdb.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        return run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
