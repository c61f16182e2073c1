#!/usr/bin/python3
"""Where the kernel's boot work goes under TCG, counted rather than timed.

Boots the kernel once under QEMU TCG with `-d in_asm,exec,nochain` (QEMU's
translation and block-execution log), from the kernel's first instruction
(_start_multiboot / _start_pvh) to the prompt's rdtsc in shell_main, and
counts the guest instructions translated and the translated blocks executed.
Under TCG those two dominate boot work (goals.md: ~1.24 us per instruction
translated, ~44 ns per block executed), so the counts give a boot-work model
that does not move with host load, unlike `boot --json` on a busy machine.
Prints the totals, the model, the top symbols, and a split per boot task
(before the first task, each task body, the runner between tasks, after the
last task). A timer interrupt that lands during the slow logged run adds its
handler's translation: that part is shown separately.

    /usr/bin/python3 bench/boot_trace.py                     # PVH on -M microvm
    /usr/bin/python3 bench/boot_trace.py --mode iso --top 60
    /usr/bin/python3 bench/boot_trace.py --cpu max --build-dir other/build

A report, not a test: exits 0 whatever it finds. Needs nm and objdump.
"""
from __future__ import annotations

import argparse
import bisect
import collections
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))
sys.path.insert(0, str(REPO_DIR / "cmake"))
import exo_qemu  # noqa: E402  (QEMU with the contract's wiring, killed on every path)
import gen_boot_graph  # noqa: E402  (the ELF reader and BootTask layout the build uses)

US_PER_INSN = 1.24
US_PER_BLOCK = 0.044
IRQ_PREFIXES = ("isr_", "trap_", "_ZN3exo5timer12_GLOBAL__N_17on_tick")


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


class Image(gen_boot_graph.Elf):
    """Symbols and loaded bytes of exo-kernel.elf."""

    def __init__(self, elf: Path):
        super().__init__(str(elf))
        self.elf = elf
        self.functions = []
        self.symbols = {}
        self.sizes = {}
        for line in run(["nm", "-n", "-S", str(elf)]).splitlines():
            parts = line.split()
            if len(parts) == 4:
                self.sizes[parts[3]] = int(parts[1], 16)
                del parts[1]
            if len(parts) != 3:
                continue
            addr, kind, name = int(parts[0], 16), parts[1], parts[2]
            self.symbols[name] = addr
            if kind in "tTwW":
                self.functions.append((addr, name))
        self.starts = [a for a, _ in self.functions]

    def function_at(self, pc: int) -> str:
        i = bisect.bisect_right(self.starts, pc) - 1
        return self.functions[i][1] if i >= 0 else "?"

    def task_bodies(self) -> dict[int, str]:
        start, end = self.symbols["__boot_tasks_start"], self.symbols["__boot_tasks_end"]
        bodies = {}
        for a in range(start, end, gen_boot_graph.TASK_BYTES):
            name, _, _, body = gen_boot_graph.read_task(self, a)
            bodies[body] = self.cstr(name)
        return bodies

    def prompt_mark(self) -> int:
        """The address right after the rdtsc call in shell_main (mark_prompt)."""
        dis = run(["objdump", "-d", "--no-show-raw-insn", "--disassemble=_ZN3exo10shell_mainEPv", str(self.elf)])
        body = re.search(r"<_ZN3exo10shell_mainEPv>:\n(.*?)(\n\n|$)", dis, re.S).group(1).splitlines()
        for i, line in enumerate(body):
            if "rdtsc" in line:
                return int(body[i + 1].split(":")[0], 16)
        raise RuntimeError("no rdtsc call in shell_main")


def boot_logged(build: Path, mode: str, cpu: str | None, append: str, log: Path, timeout: float) -> None:
    """One boot to the prompt with QEMU's translation log in `log`, wired as
    every other boot (host-tools/exo_qemu.py), QEMU stopped on every path."""
    extra = (["-cpu", cpu] if cpu else []) + ["-d", "in_asm,exec,nochain", "-D", str(log)]
    with exo_qemu.Qemu(mode, build_dir=build, append=None if mode == "iso" else append,
                       extra_args=extra) as q:
        try:
            q.wait_for(exo_qemu.PROMPT, timeout)
        except exo_qemu.QemuError as e:
            sys.exit(f"boot_trace: no prompt within {timeout:.0f} s: {e}")
        time.sleep(0.3)  # QEMU writes its log buffered: let it reach the prompt mark


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", type=Path, default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    ap.add_argument("--mode", choices=("iso", "pvh", "microvm"), default="microvm")
    ap.add_argument("--cpu", help="QEMU -cpu model (default: QEMU's qemu64)")
    ap.add_argument("--append", default="deferred=manual", help="PVH command line (the ISO uses grub.cfg's)")
    ap.add_argument("--top", type=int, default=30, help="symbols to list")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--where", help='list functions for one span only, e.g. "(before the first task)" or "paging"')
    args = ap.parse_args()

    image = Image(args.build_dir / "exo-kernel.elf")
    entries = {image.symbols[s] for s in ("_start_multiboot", "_start_pvh")}
    mark = image.prompt_mark()
    bodies = image.task_bodies()
    execute_name = "_ZN3exo10BootRunner7executeEmNS_10RunContextE"
    execute = image.symbols.get(execute_name)
    execute_end = execute + image.sizes.get(execute_name, 0) if execute else 0
    # Called once the Essential phase is done: from there on it is "after".
    after = image.symbols.get("_ZN3exo10BootRunner21mark_optional_pendingEv")

    trans, execs = collections.Counter(), collections.Counter()
    task_trans, task_execs = collections.Counter(), collections.Counter()
    span_trans, span_execs = collections.Counter(), collections.Counter()  # (span, function)
    order = []
    started = reached = False
    where = "(before the first task)"
    rx_exec = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    rx_insn = re.compile(r"^0x([0-9a-f]+):\s")
    with tempfile.TemporaryDirectory(prefix="exo-boot-trace-") as tmp:
        log = Path(tmp) / "qemu.log"
        boot_logged(args.build_dir, args.mode, args.cpu, args.append, log, args.timeout)
        with open(log, errors="replace") as f:
            for line in f:
                if line.startswith("Trace"):
                    pc = int(rx_exec.match(line).group(1), 16)
                    started = started or pc in entries
                    if not started:
                        continue
                    if pc == mark:
                        reached = True
                        break
                    if pc == after:
                        where = "(after the last task)"
                    elif pc in bodies:
                        where = bodies[pc]
                        order.append(where)
                    elif execute and execute <= pc < execute_end and where in bodies.values():
                        where = "(runner between tasks)"
                    fn = image.function_at(pc)
                    execs[fn] += 1
                    task_execs[where] += 1
                    span_execs[where, fn] += 1
                elif started and (m := rx_insn.match(line)):
                    fn = image.function_at(int(m.group(1), 16))
                    trans[fn] += 1
                    task_trans[where] += 1
                    span_trans[where, fn] += 1
    if not reached:
        print("boot_trace: the log ends before the prompt mark; counts are partial")

    def model(t: int, e: int) -> float:
        return t * US_PER_INSN + e * US_PER_BLOCK

    nt, ne = sum(trans.values()), sum(execs.values())
    irq = [k for k in set(trans) | set(execs) if k.startswith(IRQ_PREFIXES) or "preemption_due" in k]
    it, ie = sum(trans[k] for k in irq), sum(execs[k] for k in irq)
    print(f"{args.mode}{' -cpu ' + args.cpu if args.cpu else ''}: {nt} guest instructions translated, "
          f"{ne} translated blocks executed, first instruction to prompt")
    print(f"model: {model(nt, ne):.0f} us ({US_PER_INSN} us/insn, {US_PER_BLOCK * 1000:.0f} ns/block); "
          f"timer-interrupt path in this run: {model(it, ie):.0f} us; without it: {model(nt - it, ne - ie):.0f} us")
    if args.where:
        trans = collections.Counter({fn: n for (w, fn), n in span_trans.items() if w == args.where})
        execs = collections.Counter({fn: n for (w, fn), n in span_execs.items() if w == args.where})
    print(f"\n{'function' + (' in ' + args.where if args.where else ''):64s} {'insns':>6s} {'blocks':>7s} {'us':>6s}")
    ranked = sorted(set(trans) | set(execs), key=lambda k: -model(trans[k], execs[k]))
    for k in ranked[:args.top]:
        print(f"{k[:64]:64s} {trans[k]:6d} {execs[k]:7d} {model(trans[k], execs[k]):6.0f}")
    print(f"\n{'where (task bodies include what they call)':44s} {'insns':>6s} {'blocks':>7s} {'us':>6s}")
    for k in ["(before the first task)"] + order + ["(runner between tasks)", "(after the last task)"]:
        print(f"{k:44s} {task_trans[k]:6d} {task_execs[k]:7d} {model(task_trans[k], task_execs[k]):6.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
