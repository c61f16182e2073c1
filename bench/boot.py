#!/usr/bin/python3
"""Boot-time and binary-size report for Exo-OS, against a do-nothing floor.

For each boot path (GRUB ISO on -M pc, PVH -kernel on -M pc, PVH on
-M microvm) it measures the time from QEMU's start (time.monotonic() just
before the process is spawned) to the arrival on COM1 of

    `exo> `         for Exo-OS (build/exo.iso, build/exo-kernel)
    `nothing: up`   for the floor (bench/nothing/, built here, booted the same way)

N times each (TCG, -m 32), exo and floor interleaved (alternating which goes
first) so drift on the host hits both alike, and prints median/min/max and the
ratio of medians exo/floor against the budgets in goals.md. Then the size of
build/exo-kernel and its sections. A report: always exits 0.

    /usr/bin/python3 bench/boot.py [--runs N] [--modes iso,pvh,microvm] [--build-dir DIR]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(REPO_DIR / "host-tools"))

import exo_qemu  # noqa: E402
import size_report  # noqa: E402  (bench/, next to this script)
from exo_qemu import BootMode, Qemu  # noqa: E402

NOTHING_DIR = BENCH_DIR / "nothing"
FLOOR_MARKER = b"nothing: up"
EXO_MARKER = exo_qemu.PROMPT

# goals.md: boot budgets as ratios to the floor booted the same way.
BUDGET_ISO = 1.05     # goals.md
BUDGET_DIRECT = 1.10  # goals.md, PVH on pc and microvm
# goals.md: binary size, as bench/size_report.py states it (one place).
SIZE_LIMITS = dict(size_report.BUDGETS)
SIZE_BUDGET = SIZE_LIMITS["budget"]
SIZE_STRETCH = SIZE_LIMITS["stretch"]
SIZE_CEILING = SIZE_LIMITS["build ceiling"]  # CMakeLists.txt EXO_KERNEL_SIZE_CEILING
# goals.md: kernel's own boot work (TSC, `boot` command).
OWN_WORK_BUDGET_US = 1000
OWN_WORK_STRETCH_US = 200

MODE_LABELS = {
    BootMode.ISO: "GRUB ISO, -M pc",
    BootMode.PVH: "PVH -kernel, -M pc",
    BootMode.MICROVM: "PVH -kernel, -M microvm",
}


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if done.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed:\n{done.stdout.decode(errors='replace')}")
    return done.stdout.decode(errors="replace")


def build_floor(out: Path, build_dir: Path) -> tuple[Path, Path]:
    """Assemble and link bench/nothing, strip it (as build/exo-kernel is),
    and wrap it in a GRUB ISO made the way build/exo.iso is made."""
    obj, elf, kernel = out / "nothing.o", out / "nothing.elf", out / "nothing"
    run(["gcc", "-c", str(NOTHING_DIR / "nothing.S"), "-o", str(obj)])
    run(["ld", "-nostdlib", "-static", "-z", "max-page-size=0x1000",
         "-T", str(NOTHING_DIR / "nothing.ld"), str(obj), "-o", str(elf)])
    run(["strip", "-o", str(kernel), str(elf)])

    iso_dir = out / "isodir"
    (iso_dir / "boot" / "grub").mkdir(parents=True)
    shutil.copy2(kernel, iso_dir / "boot" / "nothing")
    # Same grub.cfg as Exo-OS's (timeout, default, menu), only the kernel
    # differs, so GRUB does the same work for both.
    exo_cfg = build_dir / "isodir" / "boot" / "grub" / "grub.cfg"
    cfg = exo_cfg.read_text() if exo_cfg.is_file() else exo_qemu.DEFAULT_GRUB_CFG
    (iso_dir / "boot" / "grub" / "grub.cfg").write_text(
        exo_qemu.rewrite_grub_cfg(cfg, kernel="/boot/nothing", replace_args=True))
    iso = out / "nothing.iso"
    exo_qemu.grub_mkrescue(iso, iso_dir)
    return kernel, iso


def boot_once(mode: BootMode, marker: bytes, timeout: float, **kwargs) -> float:
    """Seconds from QEMU start to `marker` on COM1."""
    with Qemu(mode, **kwargs) as q:
        return q.wait_for(marker, timeout).elapsed


def fmt_ms(values: list[float]) -> str:
    if not values:
        return "no data"
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):8.1f} ms ({min(ms):.1f}-{max(ms):.1f})"


def kernel_own_work(build_dir: Path, timeout: float) -> str:
    """The kernel's own boot time as its `boot --json` reports it."""
    try:
        with Qemu(BootMode.ISO, build_dir=build_dir) as q:
            q.wait_prompt(timeout)
            out = q.command("boot --json", timeout=10)
        line = next(line for line in out.splitlines() if line.lstrip().startswith("{"))
        total = json.loads(line)["total_us"]
    except Exception as e:  # a report: say what is missing and go on
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return f"not available ({first})"
    verdict = ("PASS (stretch met)" if total <= OWN_WORK_STRETCH_US
               else "PASS" if total <= OWN_WORK_BUDGET_US else "OVER")
    return (f"{total} us (budget {OWN_WORK_BUDGET_US} us, stretch "
            f"{OWN_WORK_STRETCH_US} us): {verdict}")


def size_report(kernel: Path) -> list[str]:
    if not kernel.is_file():
        return [f"{kernel}: missing"]
    n = kernel.stat().st_size
    verdict = ("PASS (stretch met)" if n <= SIZE_STRETCH
               else "PASS" if n <= SIZE_BUDGET
               else "OVER budget, under ceiling" if n <= SIZE_CEILING else "OVER CEILING")
    lines = [f"{kernel}: {n} bytes = {n / 1024:.1f} KiB "
             f"(budget 64 KiB = {SIZE_BUDGET}, stretch 48 KiB = {SIZE_STRETCH}, "
             f"ceiling 80 KiB = {SIZE_CEILING}): {verdict}"]
    # The stripped file has no section headers (cmake/trim_elf.py): its
    # sections are read from the ELF it was stripped from.
    elf = kernel.with_name(kernel.name + ".elf")
    try:
        sections = run(["size", "-A", str(elf)])
    except (RuntimeError, OSError) as e:
        return lines + [f"size -A failed: {e}"]
    # NOBITS sections (.bss) take memory, not file bytes.
    try:
        nobits = {parts[1] for parts in (l.replace("[ ", "[").split()
                                         for l in run(["readelf", "-S", "-W", str(elf)]).splitlines())
                  if len(parts) > 2 and parts[2] == "NOBITS"}
    except (RuntimeError, OSError):
        nobits = set()
    lines.append(f"$ size -A {elf}   (share = section bytes / bytes of {kernel.name})")
    in_file = 0
    for raw in sections.splitlines():
        parts = raw.split()
        if len(parts) == 3 and parts[1].isdigit():
            name, size, addr = parts[0], int(parts[1]), int(parts[2])
            if name == "Total":
                lines.append(f"  {name:<20} {size:>8}")
            elif name in nobits:
                lines.append(f"  {name:<20} {size:>8}  memory only (NOBITS)  @ {addr:#x}")
            elif size and not name.startswith(".debug") and name not in (".symtab", ".strtab", ".shstrtab"):
                in_file += size
                lines.append(f"  {name:<20} {size:>8}  {100 * size / n:5.1f}% of file  @ {addr:#x}")
    lines.append(f"  {'(headers, padding)':<20} {n - in_file:>8}  {100 * (n - in_file) / n:5.1f}% of file")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=10, help="boots per figure (default 10)")
    p.add_argument("--modes", default="iso,pvh,microvm",
                   help="comma-separated subset of iso,pvh,microvm")
    p.add_argument("--build-dir", type=Path,
                   default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    p.add_argument("--timeout", type=float, default=60.0, help="per boot, seconds")
    args = p.parse_args()
    build_dir = args.build_dir.resolve()
    modes = [BootMode(m.strip()) for m in args.modes.split(",") if m.strip()]

    print("Exo-OS boot bench (a report; exits 0)")
    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"qemu: {run([exo_qemu.QEMU_BINARY, '--version']).splitlines()[0]}")
    print(f"runs: {args.runs} per figure, TCG, -m {exo_qemu.DEFAULT_MEM_MIB}, "
          "exo and floor interleaved, time = QEMU spawn to marker on COM1")
    print(f"markers: Exo-OS {EXO_MARKER!r}, floor {FLOOR_MARKER!r}")
    print(flush=True)

    tmp = Path(tempfile.mkdtemp(prefix="exo-bench-"))
    try:
        try:
            floor_kernel, floor_iso = build_floor(tmp, build_dir)
        except (RuntimeError, OSError, exo_qemu.QemuError) as e:
            print(f"could not build the floor kernel: {e}")
            return 0

        def setups(mode: BootMode):
            exo = dict(build_dir=build_dir)
            floor = dict(build_dir=build_dir,
                         **({"iso": floor_iso} if mode is BootMode.ISO else {"kernel": floor_kernel}))
            return exo, floor

        for mode in modes:
            exo, floor = setups(mode)
            for who, kw in (("exo", exo), ("floor", floor)):
                q = Qemu(mode, start=False, **kw)
                argv = exo_qemu.build_argv(
                    dataclasses.replace(q.spec, com1="stdio"))
                print(f"{MODE_LABELS[mode]:<24} {who:<5} $ {exo_qemu.format_argv(argv)}")
        print(flush=True)

        times = {m: {"exo": [], "floor": []} for m in modes}
        failures = {m: {"exo": [], "floor": []} for m in modes}
        for i in range(args.runs):
            for mode in modes:
                exo, floor = setups(mode)
                order = [("exo", EXO_MARKER, exo), ("floor", FLOOR_MARKER, floor)]
                if i % 2:
                    order.reverse()
                for who, marker, kw in order:
                    try:
                        times[mode][who].append(boot_once(mode, marker, args.timeout, **kw))
                    except (exo_qemu.QemuError, OSError) as e:
                        failures[mode][who].append(str(e).splitlines()[0])
            print(f"  run {i + 1}/{args.runs} done", file=sys.stderr, flush=True)

        print(f"{'boot path':<24} {'Exo-OS median (min-max)':<30} "
              f"{'floor median (min-max)':<30} {'exo/floor':>9} {'budget':>7}  verdict")
        for mode in modes:
            e, f = times[mode]["exo"], times[mode]["floor"]
            budget = BUDGET_ISO if mode is BootMode.ISO else BUDGET_DIRECT
            if e and f:
                ratio = statistics.median(e) / statistics.median(f)
                verdict = "PASS" if ratio <= budget else "OVER"
                ratio_s = f"{ratio:8.3f}x"
            else:
                ratio_s, verdict = "       --", "NO DATA"
            print(f"{MODE_LABELS[mode]:<24} {fmt_ms(e):<30} {fmt_ms(f):<30} "
                  f"{ratio_s:>9} {budget:6.2f}x  {verdict}")
            for who in ("exo", "floor"):
                if failures[mode][who]:
                    print(f"  {who}: {len(failures[mode][who])} failed boot(s), first: "
                          f"{failures[mode][who][0]}")
        print()
        print(f"kernel's own boot work (`boot --json` total_us, ISO): "
              f"{kernel_own_work(build_dir, args.timeout)}")
        print()
        for line in size_report(build_dir / "exo-kernel"):
            print(line)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
    sys.exit(0)
