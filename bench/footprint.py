#!/usr/bin/python3
"""Kernel's own boot work, idle footprint and smallest machine for Exo-OS,
each beside a do-nothing floor measured in the same run.

Three reports (goals.md budgets), all through host-tools/exo_qemu.py, TCG:

 1. own work  `boot --json` total_us (TSC from the kernel's first
              instruction to the prompt, deferred=manual), N boots per path
              (GRUB ISO, PVH on -M pc, PVH on -M microvm): median/min/max
              against 1000 us (stretch 200 us), per-task medians, and two
              floors from a do-nothing kernel booted the same way: the same
              TSC metric (its first instruction to the end of its one line)
              and QEMU spawn to the first COM1 byte, as ratios.
 2. idle      `mem --json` at the idle prompt (phys.used_kib and its
              breakdown) against 256 KiB, and guest RAM actually touched:
              QEMU's RAM on a memfd backend, Rss of that mapping in
              /proc/<qemu pid>/smaps at the idle prompt, exo vs the
              do-nothing kernel idling after its line (the floor: firmware
              and loader touch RAM too).
 3. smallest  descending -m sizes: the lowest that boots to the prompt and
              answers `mem --json` and `boot --json` sanely, through GRUB
              (budget 4 MiB) and PVH on -M pc (budget 2 MiB); the do-nothing
              kernel at each size tells firmware/loader limits from ours.

A report: exits 0 whatever the verdicts. Every QEMU is stopped on every path.

    /usr/bin/python3 bench/footprint.py [--runs N] [--only own,idle,small]
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
import json
import mmap
import platform
import os
import re
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import shutil
import time
from pathlib import Path
from typing import Optional

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))
sys.path.insert(0, str(BENCH_DIR))
sys.dont_write_bytecode = True  # no __pycache__ in the tree from importing boot.py

import exo_qemu  # noqa: E402
from exo_qemu import BootMode, Qemu, QemuError, Qmp  # noqa: E402
import boot as boot_bench  # noqa: E402  (bench/boot.py: build_floor, labels)

# goals.md budgets.
OWN_WORK_BUDGET_US = 1000
OWN_WORK_STRETCH_US = 200
IDLE_BUDGET_KIB = 256
SMALLEST_BUDGET_MIB = {BootMode.ISO: 4, BootMode.PVH: 2}

APPEND = "deferred=manual"
FLOOR_MARKER = boot_bench.FLOOR_MARKER            # b"nothing: up"
FLOOR_TSC = re.compile(rb"tsc: ([0-9a-f]{16})\r?\n")
ANY_BYTE = re.compile(rb"[\s\S]")
MODE_LABELS = boot_bench.MODE_LABELS
ALL_MODES = (BootMode.ISO, BootMode.PVH, BootMode.MICROVM)
DEFAULT_SIZES = (32, 16, 8, 6, 5, 4, 3, 2, 1)
MEMFD_ID = "ram"
# The kernel freezes its PIT-refined TSC rate after kTickHz ticks (1 s):
# ask `boot --json` again this long after the prompt.
SETTLE_S = 1.3
# SeaBIOS (-M pc) logs to the debug console at port 0x402; attached in the
# smallest-machine runs so a boot that never reaches the kernel says why.
DEBUGCON_PORT = "0x402"


# --------------------------------------------------------------------------
# The floor kernel: bench/nothing with two edits (made in a temp copy)

# At _start: take the TSC first thing (as Exo-OS's boot.S does).
_ENTRY_ANCHOR = "_start:\n    cli\n"
_ENTRY_PATCH = """_start:
    /* footprint.py: TSC at the first instruction */
    rdtsc
    movl %eax, fb_tsc0
    movl %edx, fb_tsc0 + 4
    cli
"""
# Instead of leaving through isa-debug-exit: print the TSC ticks from the
# first instruction to the end of "nothing: up\\n" as 16 hex digits, then
# idle with interrupts off (so its touched RAM can be read while it idles).
_EXIT_ANCHOR = "    xorl %eax, %eax\n    outb %al, $DEBUG_EXIT_PORT\n"
_EXIT_PATCH = """    /* footprint.py: "tsc: <ticks since _start>", then idle forever */
    rdtsc
    shlq $32, %rdx
    orq %rdx, %rax
    subq fb_tsc0(%rip), %rax
    movq %rax, %rbx
    movw $COM1, %dx
    leaq fb_tag(%rip), %rsi
    movl $(fb_tag_end - fb_tag), %ecx
    rep outsb
    leaq fb_hex(%rip), %rdi
    movl $16, %ecx
1:  rolq $4, %rbx
    movl %ebx, %eax
    andl $15, %eax
    movb (%rdi,%rax), %al
    outb %al, %dx
    decl %ecx
    jnz 1b
    movb $10, %al
    outb %al, %dx
fb_idle:
    cli
    hlt
    jmp fb_idle

    .section .rodata
fb_tag: .ascii "tsc: "
fb_tag_end:
fb_hex: .ascii "0123456789abcdef"
    .bss
    .balign 8
fb_tsc0: .skip 8
    .text
"""


def build_floor(tmp: Path, build_dir: Path) -> tuple[Path, Path]:
    """The do-nothing kernel (stripped ELF, GRUB ISO), built by bench/boot.py's
    own build_floor from a patched copy of bench/nothing."""
    src = tmp / "nothing-src"
    src.mkdir()
    text = (boot_bench.NOTHING_DIR / "nothing.S").read_text()
    for anchor, patch in ((_ENTRY_ANCHOR, _ENTRY_PATCH), (_EXIT_ANCHOR, _EXIT_PATCH)):
        if text.count(anchor) != 1:
            raise RuntimeError(f"bench/nothing/nothing.S changed: anchor {anchor!r} not found once")
        text = text.replace(anchor, patch)
    (src / "nothing.S").write_text(text)
    shutil.copy2(boot_bench.NOTHING_DIR / "nothing.ld", src / "nothing.ld")
    out = tmp / "nothing-build"
    out.mkdir()
    saved = boot_bench.NOTHING_DIR
    boot_bench.NOTHING_DIR = src
    try:
        return boot_bench.build_floor(out, build_dir)
    finally:
        boot_bench.NOTHING_DIR = saved


# --------------------------------------------------------------------------
# Helpers

def run(argv: list[str]) -> str:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return done.stdout.decode(errors="replace")


def first_line(e: BaseException) -> str:
    s = str(e)
    return s.splitlines()[0] if s else type(e).__name__


def json_line(out: str) -> Optional[dict]:
    """The one JSON object a `--json` command printed, or None."""
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def med(values):
    return statistics.median(values) if values else None


def stats_s(values, unit: str, fmt: str = "{:.0f}") -> str:
    if not values:
        return "no data"
    return (f"{fmt.format(statistics.median(values))} {unit} "
            f"({fmt.format(min(values))}-{fmt.format(max(values))})")


def last_lines(text: str, n: int = 12) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n").split("\n")
    return [l for l in lines[-n:]] if text else ["(nothing)"]


def memfd_args(mem_mib: int) -> list[str]:
    return ["-object", f"memory-backend-memfd,id={MEMFD_ID},size={mem_mib}M",
            "-machine", f"memory-backend={MEMFD_ID}"]


def debugcon_args(path: Path) -> list[str]:
    return ["-chardev", f"file,id=fbdebugcon,path={path}",
            "-device", f"isa-debugcon,iobase={DEBUGCON_PORT},chardev=fbdebugcon"]


def memfd_rss_kib(pid: int, size_kib: int) -> tuple[int, str]:
    """Rss of QEMU's guest-RAM memfd mapping: the smaps entry whose name has
    `memfd:` and whose Size is the backend's size (QEMU 7.2 names the memfd
    after the backend type, `memfd:memory-backend-memfd`, not its id)."""
    with open(f"/proc/{pid}/smaps") as f:
        smaps = f.read()
    found = []
    for block in re.split(r"\n(?=[0-9a-f]+-[0-9a-f]+ )", smaps):
        head = block.split("\n", 1)[0]
        if "memfd:" not in head:
            continue
        size = re.search(r"^Size:\s+(\d+) kB", block, re.M)
        rss = re.search(r"^Rss:\s+(\d+) kB", block, re.M)
        if size and rss and int(size.group(1)) == size_kib:
            found.append((int(rss.group(1)), head.split(None, 5)[-1]))
    if len(found) != 1:
        raise RuntimeError(f"{len(found)} memfd mappings of {size_kib} kB in /proc/{pid}/smaps")
    return found[0]


def host_tsc_hz() -> tuple[Optional[float], str]:
    """The host's TSC rate. Under TCG QEMU's guest RDTSC is the host's RDTSC
    plus an offset (cpu_get_host_ticks), so this is the rate both kernels'
    TSC counts run at. Measured here: RDTSC (10 bytes of code run through
    ctypes) against CLOCK_MONOTONIC over 5 x 100 ms; /proc/cpuinfo if that
    is not possible."""
    if platform.machine() in ("x86_64", "AMD64"):
        try:
            code = b"\x0f\x31\x48\xc1\xe2\x20\x48\x09\xd0\xc3"  # rdtsc; shl $32,%rdx; or %rdx,%rax; ret
            buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            buf.write(code)
            rdtsc = ctypes.CFUNCTYPE(ctypes.c_uint64)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
            rates = []
            for _ in range(5):
                t0, r0 = time.perf_counter_ns(), rdtsc()
                time.sleep(0.1)
                r1, t1 = rdtsc(), time.perf_counter_ns()
                rates.append((r1 - r0) * 1e9 / (t1 - t0))
            return statistics.median(rates), "host RDTSC vs CLOCK_MONOTONIC, median of 5 x 100 ms"
        except (OSError, ValueError, AttributeError, TypeError):
            pass
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^cpu MHz\s*:\s*([\d.]+)", f.read(), re.M)
        if m:
            return float(m.group(1)) * 1e6, "/proc/cpuinfo cpu MHz (may not be the TSC rate)"
    except OSError:
        pass
    return None, "unknown"


def qmp_args(path: Path) -> list[str]:
    return ["-chardev", f"socket,id=fbqmp,path={path},server=on,wait=off",
            "-mon", "chardev=fbqmp,mode=control"]


def vga_text(sock: Path, out: Path) -> list[str]:
    """The VGA text screen (0xb8000, 80x25) read over QMP `pmemsave`: where
    SeaBIOS and GRUB write their errors."""
    try:
        with Qmp(sock, 5) as qmp:
            qmp.execute("pmemsave", val=0xB8000, size=80 * 25 * 2, filename=str(out))
    except QemuError as e:
        raise OSError(str(e)) from e
    chars = out.read_bytes()[0::2].decode("cp437", errors="replace")
    rows = [chars[i * 80:(i + 1) * 80].rstrip() for i in range(25)]
    return [r for r in rows if r.strip()] or ["(blank)"]


def qemu_kwargs(mode: BootMode, who: str, ctx: "Ctx") -> dict:
    """How to boot `who` ("exo" or "floor") on `mode`."""
    if who == "exo":
        kw = dict(build_dir=ctx.build_dir)
        if mode is BootMode.ISO:
            kw["iso"] = ctx.exo_iso          # grub.cfg with deferred=manual
        else:
            kw["append"] = APPEND
        return kw
    return dict(build_dir=ctx.build_dir,
                **({"iso": ctx.floor_iso} if mode is BootMode.ISO else {"kernel": ctx.floor_kernel}))


@dataclasses.dataclass
class Ctx:
    build_dir: Path
    exo_iso: Path
    floor_kernel: Path
    floor_iso: Path
    timeout: float
    host_hz: Optional[float] = None
    host_hz_source: str = ""


# --------------------------------------------------------------------------
# 1. Kernel's own boot work

@dataclasses.dataclass
class ExoBoot:
    first_byte_s: float
    prompt_s: float
    tsc_hz: int          # the kernel's own TSC rate when `boot --json` ran
    tsc_source: str
    total_ticks: float   # first instruction to prompt, TSC ticks (total_ns * tsc_hz)
    tasks: list          # [(name, phase, status, start_ticks, duration_ticks)]
    head: bytes
    prompt_tsc_hz: int   # `boot --json` right at the prompt
    prompt_total_us: float
    settled: bool        # tsc_hz unchanged across the settled `boot --json`

    def total_us(self, hz: Optional[float] = None) -> float:
        return self.total_ticks * 1e6 / (hz or self.tsc_hz)


@dataclasses.dataclass
class FloorBoot:
    first_byte_s: float
    marker_s: float
    ticks: int
    head: bytes


NOT_RUN = ("pending", "absent", "skipped", "not-run", "notrun")


def exo_boot(mode: BootMode, ctx: Ctx, commands: dict) -> ExoBoot:
    """Boot, read `boot --json` at the prompt (what a user sees) and again once
    the kernel's TSC rate has settled: until the PIT has run kTickHz ticks
    (1 s) the kernel refines its rate on every read, so a `boot --json` at the
    prompt mixes rates across its fields."""
    with Qemu(mode, **qemu_kwargs(mode, "exo", ctx)) as q:
        commands.setdefault((mode, "exo"), exo_qemu.format_argv(q.argv))
        first = q.wait_for(ANY_BYTE, ctx.timeout, advance=False)
        prompt = q.wait_prompt(ctx.timeout)
        at_prompt = None
        for _ in range(20):
            # tsc_hz is 0 until the PIT has run ~1 ms past its start: ask again.
            out = q.command("boot --json")
            at_prompt = json_line(out)
            if at_prompt is None or at_prompt.get("tsc_hz"):
                break
            time.sleep(0.02)
        time.sleep(max(0.0, SETTLE_S - (time.monotonic() - q.start_time - prompt.elapsed)))
        before = json_line(q.command("uptime --json")) or {}
        out = q.command("boot --json")
        rep = json_line(out)
        after = json_line(q.command("uptime --json")) or {}
        head = q.output[:24]
    if rep is None or "total_us" not in rep or not rep.get("tsc_hz"):
        raise QemuError(f"`boot --json` gave no usable JSON: {out[:300]!r}")
    hz = rep["tsc_hz"]
    settled = before.get("tsc_hz") == hz == after.get("tsc_hz")

    def ticks(ns: float) -> float:
        return ns * hz / 1e9

    tasks = []
    for t in rep.get("tasks", []):
        dur_ns = t.get("duration_ns", t.get("duration_us", 0) * 1000)
        tasks.append((t["name"], t.get("phase", "?"), t.get("status", "?"),
                      ticks(t.get("start_us", 0) * 1000), ticks(dur_ns)))
    total_ns = rep.get("total_ns", rep["total_us"] * 1000)
    prompt_hz = (at_prompt or {}).get("tsc_hz", 0)
    prompt_us = (at_prompt or {}).get("total_ns", (at_prompt or {}).get("total_us", 0) * 1000) / 1000
    return ExoBoot(first.elapsed, prompt.elapsed, hz, rep.get("tsc_source", "?"), ticks(total_ns),
                   tasks, head, prompt_hz, prompt_us, settled)


def floor_boot(mode: BootMode, ctx: Ctx, commands: dict) -> FloorBoot:
    with Qemu(mode, **qemu_kwargs(mode, "floor", ctx)) as q:
        commands.setdefault((mode, "floor"), exo_qemu.format_argv(q.argv))
        first = q.wait_for(ANY_BYTE, ctx.timeout, advance=False)
        marker = q.wait_for(FLOOR_MARKER, ctx.timeout)
        tsc = q.wait_for(FLOOR_TSC, ctx.timeout)
        head = q.output[:24]
    return FloorBoot(first.elapsed, marker.elapsed, int(tsc.groups[0], 16), head)


def _range(values: list[float]) -> str:
    return "(%.0f-%.0f)" % (min(values), max(values))


def task_table(boots: list[ExoBoot], hz: float) -> list[str]:
    """Median start/duration per task over the boots (in us at rate hz), in
    start order, and what the task runner does not see."""
    us = 1e6 / hz
    per: dict[str, dict] = {}
    for b in boots:
        for name, phase, status, start, dur in b.tasks:
            d = per.setdefault(name, {"phase": phase, "start": [], "dur": [], "status": set()})
            d["status"].add(status)
            if status not in NOT_RUN:
                d["start"].append(start * us)
                d["dur"].append(dur * us)
    total = med([b.total_ticks * us for b in boots]) or 1
    ran = sorted((n for n in per if per[n]["dur"]), key=lambda n: med(per[n]["start"]))
    idle = [n for n in per if not per[n]["dur"]]
    lines = [f"    {'task':<14} {'phase':<10} {'start_us':>9} {'dur_us med':>10} "
             f"{'(min-max)':>17} {'share':>6}  status"]
    for n in ran:
        d = per[n]
        lines.append(f"    {n:<14} {d['phase']:<10} {med(d['start']):9.0f} {med(d['dur']):10.1f} "
                     f"{_range(d['dur']):>17} {100 * med(d['dur']) / total:5.1f}%  "
                     f"{','.join(sorted(d['status']))}")
    for n in idle:
        lines.append(f"    {n:<14} {per[n]['phase']:<10} {'-':>9} {'-':>10} {'':>17} {'':>6}  "
                     f"{','.join(sorted(per[n]['status']))}")
    pre, post, tasks_sum = [], [], []
    for b in boots:
        done = [t for t in b.tasks if t[2] not in NOT_RUN]
        if not done:
            continue
        pre.append(min(t[3] for t in done) * us)
        post.append((b.total_ticks - max(t[3] + t[4] for t in done)) * us)
        tasks_sum.append(sum(t[4] for t in done) * us)
    rows = (("(before the first task) *", pre),
            ("(sum of the task durations)", tasks_sum),
            ("(after the last task, to prompt)", post))
    for label, vals in rows:
        if vals:
            lines.append(f"    {label:<35} {med(vals):10.1f} {_range(vals):>17} "
                         f"{100 * med(vals) / total:5.1f}%")
    if pre:
        lines.append("    * boot.S trampoline, console init, boot-info and command-line parsing, the "
                     "boot log lines")
    top = sorted(ran, key=lambda n: -med(per[n]["dur"]))[:3]
    if top:
        lines.append("    dominant tasks: " + ", ".join(
            f"{n} {med(per[n]['dur']):.0f} us ({100 * med(per[n]['dur']) / total:.0f}%)" for n in top))
    return lines


def verdict_us(us: Optional[float]) -> str:
    if us is None:
        return "NO DATA"
    return ("PASS (stretch met)" if us <= OWN_WORK_STRETCH_US
            else "PASS" if us <= OWN_WORK_BUDGET_US else "OVER")


def report_own_work(ctx: Ctx, modes: list[BootMode], runs: int) -> None:
    print("== 1. Kernel's own boot work (`boot --json` total_us, deferred=manual) ==")
    print(f"budget: under {OWN_WORK_BUDGET_US} us, stretch {OWN_WORK_STRETCH_US} us. {runs} boots "
          "per path, exo and the do-nothing floor interleaved (alternating which goes first);")
    print("`boot --json` is asked right at the prompt.")
    host_hz, host_src = ctx.host_hz, ctx.host_hz_source
    print(f"host TSC: {host_hz / 1e6:.3f} MHz ({host_src})" if host_hz else f"host TSC: {host_src}")
    print("floors, from the do-nothing kernel booted the same way in the same run:")
    print("  (a) the same TSC metric: its first instruction to the end of its one line (it prints")
    print("      the TSC ticks itself), in us at the host TSC rate: under TCG the guest RDTSC is")
    print("      the host's, so both kernels count the same clock;")
    print("  (b) QEMU spawn to the first COM1 byte (firmware + loader + the kernel up to its first")
    print("      output), host clock.")
    commands: dict = {}
    exo = {m: [] for m in modes}
    floor = {m: [] for m in modes}
    fails = {m: {"exo": [], "floor": []} for m in modes}
    for i in range(runs):
        for mode in modes:
            order = ["exo", "floor"] if i % 2 == 0 else ["floor", "exo"]
            for who in order:
                try:
                    if who == "exo":
                        exo[mode].append(exo_boot(mode, ctx, commands))
                    else:
                        floor[mode].append(floor_boot(mode, ctx, commands))
                except (QemuError, OSError) as e:
                    fails[mode][who].append(str(e))
        print(f"  run {i + 1}/{runs} done", file=sys.stderr, flush=True)
    print("commands:")
    for mode in modes:
        for who in ("exo", "floor"):
            if (mode, who) in commands:
                print(f"  {MODE_LABELS[mode] + ', ' + who:<32} $ {commands[(mode, who)]}")
    print()
    print(f"{'boot path':<24} {'at prompt (reported)':<24} {'settled (reported)':<22} "
          f"{'at host TSC rate':<22} {'verdict':<19} {'floor (a)':<20} {'exo/(a)':>8}")
    for mode in modes:
        e, f = exo[mode], floor[mode]
        at_prompt = [b.prompt_total_us for b in e if b.prompt_tsc_hz]
        rep = [b.total_us() for b in e]
        norm = [b.total_us(host_hz) for b in e] if host_hz else []
        fus = [b.ticks * 1e6 / host_hz for b in f] if host_hz else []
        ratio = (f"{med([b.total_ticks for b in e]) / med([b.ticks for b in f]):7.0f}x"
                 if e and f else "     --")
        print(f"{MODE_LABELS[mode]:<24} {stats_s(at_prompt, 'us'):<24} {stats_s(rep, 'us'):<22} "
              f"{stats_s(norm, 'us'):<22} {verdict_us(med(norm) if norm else med(rep)):<19} "
              f"{stats_s(fus, 'us', '{:.1f}'):<20} {ratio:>8}")
    print(f"  at prompt: `boot --json` right at the prompt, as the kernel reports it; settled: asked "
          f"again {SETTLE_S} s after the prompt,")
    print("  once the kernel's PIT-refined TSC rate has frozen; at host TSC rate: the settled TSC "
          "ticks over the host's rate (verdict on this)")
    for mode in modes:
        e = exo[mode]
        if not e:
            continue
        hzs = [b.prompt_tsc_hz for b in e if b.prompt_tsc_hz]
        fin = [b.tsc_hz for b in e]
        srcs = ",".join(sorted({b.tsc_source for b in e}))
        line = f"  kernel tsc_hz, {MODE_LABELS[mode]} ({srcs}): at prompt "
        line += f"{min(hzs) / 1e6:.1f}-{max(hzs) / 1e6:.1f} MHz" if hzs else "n/a"
        line += f", settled {min(fin) / 1e6:.1f}-{max(fin) / 1e6:.1f} MHz"
        if host_hz:
            off_p = sum(abs(h / host_hz - 1) > 0.005 for h in hzs)
            off_s = sum(abs(h / host_hz - 1) > 0.005 for h in fin)
            line += (f"; >0.5% off the host's {host_hz / 1e6:.1f} MHz: {off_p}/{len(hzs)} at prompt, "
                     f"{off_s}/{len(fin)} settled")
        unsettled = sum(not b.settled for b in e)
        if unsettled:
            line += f"; {unsettled} boot(s) still refining at the settled read"
        print(line)
    print()
    print(f"{'boot path':<24} {'(b) spawn->1st COM1 byte: exo':<32} {'floor':<26} "
          f"{'exo/floor':>9}   exo 1st byte->prompt (host)")
    for mode in modes:
        e, f = exo[mode], floor[mode]
        ef = [b.first_byte_s * 1000 for b in e]
        ff = [b.first_byte_s * 1000 for b in f]
        ratio = f"{med(ef) / med(ff):8.3f}x" if ef and ff else "      --"
        fp = [(b.prompt_s - b.first_byte_s) * 1000 for b in e]
        print(f"{MODE_LABELS[mode]:<24} {stats_s(ef, 'ms', '{:.1f}'):<32} "
              f"{stats_s(ff, 'ms', '{:.1f}'):<26} {ratio:>9}   {stats_s(fp, 'ms', '{:.1f}')}")
    heads = [f"exo {exo[m][0].head[:12]!r}" for m in modes[:1] if exo[m]]
    heads += [f"floor {floor[m][0].head[:12]!r}" for m in modes[:1] if floor[m]]
    if heads:
        print(f"  first COM1 bytes ({MODE_LABELS[modes[0]]}): " + ", ".join(heads)
              + " (firmware and GRUB write nothing to COM1)")
    for mode in modes:
        for who in ("exo", "floor"):
            if fails[mode][who]:
                print(f"  {MODE_LABELS[mode]} {who}: {len(fails[mode][who])} failed boot(s); first:")
                for line in fails[mode][who][0].splitlines()[:20]:
                    print(f"    | {line}")
    print()
    print("per-task durations (`boot --json`, us at the host TSC rate, median over the boots, "
          "start order):")
    for mode in modes:
        if not exo[mode]:
            continue
        hz = host_hz or med([b.tsc_hz for b in exo[mode]])
        print(f"  {MODE_LABELS[mode]}: total median {med([b.total_us(hz) for b in exo[mode]]):.0f} us")
        for line in task_table(exo[mode], hz):
            print(line)
    print(flush=True)


# --------------------------------------------------------------------------
# 2. Idle footprint

def idle_exo(mode: BootMode, ctx: Ctx, mem_mib: int) -> dict:
    with Qemu(mode, mem_mib=mem_mib, extra_args=memfd_args(mem_mib),
              **qemu_kwargs(mode, "exo", ctx)) as q:
        q.wait_prompt(ctx.timeout)
        mem = json_line(q.command("mem --json"))
        rss_prompt, name = memfd_rss_kib(q.proc.pid, mem_mib * 1024)
        out_deferred = q.command("init deferred", timeout=30)
        mem_def = json_line(q.command("mem --json"))
        rss_def, _ = memfd_rss_kib(q.proc.pid, mem_mib * 1024)
        return dict(argv=exo_qemu.format_argv(q.argv), mem=mem, rss=rss_prompt, name=name,
                    rss_deferred=rss_def, mem_deferred=mem_def,
                    deferred_out=out_deferred)


def idle_floor(mode: BootMode, ctx: Ctx, mem_mib: int) -> dict:
    with Qemu(mode, mem_mib=mem_mib, extra_args=memfd_args(mem_mib),
              **qemu_kwargs(mode, "floor", ctx)) as q:
        q.wait_for(FLOOR_TSC, ctx.timeout)   # printed, now halted for good
        rss, name = memfd_rss_kib(q.proc.pid, mem_mib * 1024)
        return dict(argv=exo_qemu.format_argv(q.argv), rss=rss, name=name)


def report_idle(ctx: Ctx, modes: list[BootMode], runs: int, mem_mib: int) -> None:
    print(f"== 2. Idle footprint (budget {IDLE_BUDGET_KIB} KiB), -m {mem_mib}, deferred=manual ==")
    exo = {m: [] for m in modes}
    floor = {m: [] for m in modes}
    errors = []
    for i in range(runs):
        for mode in modes:
            for who, fn, store in (("exo", idle_exo, exo), ("floor", idle_floor, floor)):
                try:
                    store[mode].append(fn(mode, ctx, mem_mib))
                except (QemuError, OSError, RuntimeError) as e:
                    errors.append(f"{MODE_LABELS[mode]} {who}: {e}")
    print("commands:")
    for mode in modes:
        for who, store in (("exo", exo), ("floor", floor)):
            if store[mode]:
                print(f"  {MODE_LABELS[mode] + ', ' + who:<32} $ {store[mode][0]['argv']}")
    names = sorted({r["name"] for m in modes for r in exo[m] + floor[m]})
    if names:
        print(f"  guest RAM mapping read from /proc/<qemu pid>/smaps: {', '.join(names)} "
              f"(Size {mem_mib * 1024} kB)")
    print()

    print("(a) `mem --json` at the idle prompt (physical memory the kernel has taken):")
    for mode in modes:
        reps = [r["mem"] for r in exo[mode] if r.get("mem")]
        if not reps:
            print(f"  {MODE_LABELS[mode]}: no data")
            continue
        phys = reps[0]["phys"]
        used = phys.get("used_kib")
        parts = {k: v for k, v in phys.items()
                 if k.endswith("_kib") and k not in ("total_kib", "used_kib", "free_kib", "reserved_kib")}
        other = used - sum(parts.values())
        same = all(r["phys"] == phys for r in reps)
        verdict = "PASS" if used <= IDLE_BUDGET_KIB else "OVER"
        print(f"  {MODE_LABELS[mode]:<24} used_kib {used} of total_kib {phys.get('total_kib')}: "
              f"{verdict} (budget {IDLE_BUDGET_KIB}){'' if same else ' (varied between runs)'}")
        print("    breakdown: " + ", ".join(f"{k} {v}" for k, v in parts.items())
              + f"; sum {sum(parts.values())}; not itemised {other}")
        if other > 0:
            itemised = sum(parts.values())
            print(f"    not itemised ({other} KiB): frames handed out that the breakdown does not list "
                  f"(kernel thread stacks, user programs); firmware areas are in reserved_kib "
                  f"({phys.get('reserved_kib')} KiB), not in used_kib;")
            print(f"    the itemised part alone: {itemised} KiB: "
                  f"{'PASS' if itemised <= IDLE_BUDGET_KIB else 'OVER'} (budget {IDLE_BUDGET_KIB})")
        extra = {k: v for k, v in phys.items() if not k.endswith("_kib")}
        if extra:
            print("    also: " + ", ".join(f"{k} {v}" for k, v in extra.items()))
        heap = reps[0].get("heap", {})
        if heap:
            print("    heap: " + ", ".join(f"{k} {v}" for k, v in heap.items()))
        dm = [r["mem_deferred"] for r in exo[mode] if r.get("mem_deferred")]
        if dm:
            print(f"    after `init deferred`: used_kib {dm[0]['phys'].get('used_kib')}, "
                  f"heap used_bytes {dm[0].get('heap', {}).get('used_bytes')}")
    print()

    print("(b) guest RAM touched (memfd Rss, KiB) at the idle prompt, exo vs the do-nothing kernel "
          "idling after its line:")
    print(f"  {'boot path':<24} {'exo med (min-max)':<22} {'floor med (min-max)':<22} "
          f"{'exo-floor':>9} {'exo/floor':>9}  {'vs budget':<10} after `init deferred`")
    for mode in modes:
        e = [r["rss"] for r in exo[mode]]
        f = [r["rss"] for r in floor[mode]]
        d = [r["rss_deferred"] for r in exo[mode]]
        if e and f:
            diff = med(e) - med(f)
            verdict = "PASS" if diff <= IDLE_BUDGET_KIB else "OVER"
            cols = f"{diff:9.0f} {med(e) / med(f):8.2f}x  {verdict + ' (diff)':<10}"
        else:
            cols = f"{'--':>9} {'--':>9}  {'NO DATA':<10}"
        print(f"  {MODE_LABELS[mode]:<24} {stats_s(e, 'KiB'):<22} {stats_s(f, 'KiB'):<22} {cols} "
              f"{stats_s(d, 'KiB')}")
    print("  (exo-floor is what Exo-OS touches beyond what firmware, loader and a minimal kernel "
          "touch; the budget applies to it. Rss counts pages read or written, by the guest or by "
          "QEMU loading ROMs/kernel.)")
    for err in errors:
        print(f"  failed: {err.splitlines()[0]}")
        for line in err.splitlines()[1:16]:
            print(f"    | {line}")
    print(flush=True)


# --------------------------------------------------------------------------
# 3. Smallest machine

def check_shell(q: Qemu) -> tuple[bool, str]:
    """`mem --json` and `boot --json` answer sane JSON."""
    mem = json_line(q.command("mem --json"))
    boot = json_line(q.command("boot --json"))
    problems = []
    if not mem or "phys" not in mem:
        problems.append("mem --json: no JSON")
    else:
        p = mem["phys"]
        # total = used (what the kernel took) + free + reserved (firmware, boot data)
        if not (p.get("total_kib", 0) > 0
                and p.get("used_kib", -1) + p.get("free_kib", -1) + p.get("reserved_kib", 0) == p["total_kib"]):
            problems.append(f"mem --json: inconsistent phys {p}")
    if not boot or "total_us" not in boot:
        problems.append("boot --json: no JSON")
    else:
        bad = [t["name"] for t in boot.get("tasks", []) if t.get("status") in ("failed", "skipped")]
        if bad or boot.get("degraded"):
            problems.append(f"boot --json: degraded={boot.get('degraded')}, failed/skipped {bad}")
    if problems:
        return False, "; ".join(problems)
    return True, (f"mem total_kib {mem['phys']['total_kib']} used_kib {mem['phys']['used_kib']}, "
                  f"boot total_us {boot['total_us']}")


def small_boot(mode: BootMode, who: str, size: int, ctx: Ctx, timeout: float, tmp: Path) -> dict:
    tag = f"{mode.value}-{who}-{size}"
    dbg, sock = tmp / f"debugcon-{tag}.log", tmp / f"qmp-{tag}.sock"
    # -M pc: SeaBIOS's debug console, and QMP to read the VGA text screen
    # (GRUB's errors go there) if the boot does not come up.
    extra = debugcon_args(dbg) + qmp_args(sock) if mode is not BootMode.MICROVM else []
    res = dict(ok=False, detail="", argv="", com1=[], debugcon=[], vga=[], stderr="")
    try:
        with Qemu(mode, mem_mib=size, extra_args=extra, start=False, **qemu_kwargs(mode, who, ctx)) as q:
            try:
                q.start()
                res["argv"] = exo_qemu.format_argv(q.argv)
                if who == "exo":
                    q.wait_prompt(timeout)
                    res["ok"], res["detail"] = check_shell(q)
                else:
                    q.wait_for(FLOOR_TSC, timeout)
                    res["ok"], res["detail"] = True, "printed its line"
            except QemuError as e:
                kind = "QEMU exited" if isinstance(e, exo_qemu.QemuExited) else "timeout"
                res["detail"] = f"{kind}: {first_line(e)}"
                if extra and q.returncode is None:
                    try:
                        res["vga"] = vga_text(sock, tmp / f"vga-{tag}.bin")
                    except (OSError, ValueError) as ve:
                        res["vga"] = [f"(could not read the VGA screen: {ve})"]
            res["com1"] = last_lines(q.text)
            res["stderr"] = q.stderr_text.strip()
            if not res["argv"] and q.argv:
                res["argv"] = exo_qemu.format_argv(q.argv)
    except OSError as e:
        res["detail"] = f"could not start QEMU: {e}"
    if dbg.is_file():
        res["debugcon"] = last_lines(dbg.read_text(errors="replace"), 4)
    return res


def print_failure(res: dict, indent: str = "         ") -> None:
    print(f"{indent}last COM1 lines:")
    for line in res["com1"]:
        print(f"{indent}  | {line}")
    if res["vga"]:
        print(f"{indent}VGA text screen (SeaBIOS/GRUB messages):")
        for line in res["vga"]:
            print(f"{indent}  | {line}")
    if res["debugcon"]:
        print(f"{indent}last SeaBIOS debugcon lines:")
        for line in res["debugcon"]:
            print(f"{indent}  | {line}")
    if res["stderr"]:
        print(f"{indent}QEMU stderr:")
        for line in res["stderr"].splitlines()[-6:]:
            print(f"{indent}  | {line}")


def report_smallest(ctx: Ctx, modes: list[BootMode], sizes: list[int], timeout: float, tmp: Path) -> None:
    print("== 3. Smallest machine (lowest -m that boots to the prompt and answers `mem --json` and "
          "`boot --json`) ==")
    print(f"sizes tried (MiB): {', '.join(map(str, sizes))}; timeout {timeout:.0f} s per boot; "
          f"-M pc boots log SeaBIOS via isa-debugcon at {DEBUGCON_PORT} to a file and offer QMP, "
          "through which a boot that does not come up has its VGA text screen read (pmemsave 0xb8000)")
    for mode in modes:
        budget = SMALLEST_BUDGET_MIB.get(mode)
        print(f"\n{MODE_LABELS[mode]} (budget {str(budget) + ' MiB' if budget else 'none set'}):")
        results = {}
        for size in sizes:
            for who in ("exo", "floor"):
                results[(size, who)] = small_boot(mode, who, size, ctx, timeout, tmp)
            if size == sizes[0]:
                for who in ("exo", "floor"):
                    print(f"  command ({who}, -m {size}; other sizes differ only in -m and the "
                          f"debugcon/QMP file names): $ {results[(size, who)]['argv']}")
            e, f = results[(size, 'exo')], results[(size, 'floor')]
            print(f"  -m {size:<3} exo: {'OK  ' if e['ok'] else 'FAIL'} {e['detail']}")
            print(f"         floor: {'OK  ' if f['ok'] else 'FAIL'} {f['detail']}")
            if not e["ok"]:
                print("         exo:")
                print_failure(e)
            if not f["ok"] and e["ok"]:
                print("         floor:")
                print_failure(f)
            sys.stdout.flush()

        def lowest(who: str) -> Optional[int]:
            best = None
            for size in sizes:          # descending: stop at the first failure
                if not results[(size, who)]["ok"]:
                    break
                best = size
            return best

        lo_e, lo_f = lowest("exo"), lowest("floor")
        passes = [s for s in sizes if results[(s, "exo")]["ok"]]
        verdict = ("NO DATA" if lo_e is None or budget is None
                   else "PASS" if lo_e <= budget else "OVER")
        print(f"  smallest that boots and answers: exo {lo_e} MiB, do-nothing floor {lo_f} MiB"
              + (f"; budget {budget} MiB: {verdict}" if budget else ""))
        if passes and lo_e is not None and min(passes) < lo_e:
            print(f"  note: exo also passed at {min(passes)} MiB below a failing size (not monotonic)")
        if lo_e is not None and lo_f is not None and lo_e == lo_f:
            print("  the floor stops at the same size: below it the limit is the firmware/loader, "
                  "not Exo-OS")
    print(flush=True)


# --------------------------------------------------------------------------

def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10, help="boots per path for own work (default 10)")
    p.add_argument("--idle-runs", type=int, default=3, help="boots per path for idle footprint (default 3)")
    p.add_argument("--only", default="own,idle,small", help="comma-separated subset of own,idle,small")
    p.add_argument("--modes", default="iso,pvh,microvm",
                   help="boot paths for own work and idle (default iso,pvh,microvm)")
    p.add_argument("--small-modes", default="iso,pvh", help="boot paths for smallest machine")
    p.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                   help="-m sizes in MiB, tried in descending order")
    p.add_argument("--mem", type=int, default=exo_qemu.DEFAULT_MEM_MIB, help="-m for idle footprint")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    p.add_argument("--timeout", type=float, default=60.0, help="per normal boot, seconds")
    p.add_argument("--small-timeout", type=float, default=20.0, help="per smallest-machine boot, seconds")
    args = p.parse_args()
    build_dir = args.build_dir.resolve()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    modes = [BootMode(m.strip()) for m in args.modes.split(",") if m.strip()]
    small_modes = [BootMode(m.strip()) for m in args.small_modes.split(",") if m.strip()]
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()}, reverse=True)

    print("Exo-OS footprint bench (a report; exits 0)")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"qemu: {run([exo_qemu.QEMU_BINARY, '--version']).splitlines()[0]}; TCG")
    load = os.getloadavg()
    print(f"host: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(absolute times drift with host load; compare against the floors)")
    print(f"build: {build_dir} (exo-kernel {(build_dir / 'exo-kernel').stat().st_size if (build_dir / 'exo-kernel').is_file() else '?'} bytes)")
    print("floor: bench/nothing/nothing.S built here (as bench/boot.py does) with two edits: rdtsc "
          "at _start, and after `nothing: up` it prints `tsc: <ticks since _start>` and halts "
          "instead of exiting QEMU")
    print(flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="exo-footbench-"))
    try:
        try:
            floor_kernel, floor_iso = build_floor(tmp, build_dir)
            work = tmp / "exo-iso"
            work.mkdir()
            exo_iso = exo_qemu.make_append_iso(build_dir, APPEND, work)
        except (RuntimeError, OSError, QemuError) as e:
            print(f"could not build the floor kernel or the exo ISO: {e}")
            return 0
        host_hz, host_src = host_tsc_hz()
        ctx = Ctx(build_dir, exo_iso, floor_kernel, floor_iso, args.timeout, host_hz, host_src)
        print(f"exo ISO: {build_dir / 'isodir'} repacked with `{APPEND}` on grub.cfg's multiboot2 line; "
              f"PVH gets `-append {APPEND}`")
        print()
        if "own" in only:
            report_own_work(ctx, modes, args.runs)
        if "idle" in only:
            report_idle(ctx, modes, args.idle_runs, args.mem)
        if "small" in only:
            report_smallest(ctx, small_modes, sizes, args.small_timeout, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _on_sigterm(signum, frame):
    raise SystemExit(0)   # unwinds through the `with Qemu(...)` blocks


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        main()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
