"""Every argument checked before anything starts: a value that cannot work
ends `exo` at once with status 2 (UsageError), instead of after a QEMU boot
(or a recording) with a traceback, a timeout or another status."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

from . import window
from .connection import UsageError, exo_qemu
from .mem_events import check_inside

# What the kernel's `watch` accepts (shell/watch_commands.cc).
INTERVAL_MS = (10, 60000)


def check(args) -> None:
    """Raise UsageError for the first argument of `args` that cannot work."""
    _launch_and_connection(args)
    by_command = {"run": _run, "gdb": _gdb, "plot": _plot, "report": _report, "trace": _trace}
    if args.cmd in by_command:
        by_command[args.cmd](args)


# --------------------------------------------------------------------------
# Files

def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _writable_dir(d: Path, opt: str, path: Path) -> None:
    if not d.is_dir():
        raise UsageError(f"{opt} {path}: {d} is not a directory")
    if not os.access(d, os.W_OK | os.X_OK):
        raise UsageError(f"{opt} {path}: cannot write in {d}")


def output_file(path: Path, opt: str, makes_parents: bool = True) -> None:
    """`path` can be written as a file (its missing folders made, if the
    writer makes them)."""
    path = Path(path)
    if path.is_dir():
        raise UsageError(f"{opt} {path}: is a directory; give a file name")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"{opt} {path}: cannot write it")
        return
    parent = path.absolute().parent
    _writable_dir(_nearest_existing(parent) if makes_parents else parent, opt, path)


def output_dir(path: Path, opt: str) -> None:
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{opt} {path}: exists and is not a directory; give a directory")
    _writable_dir(_nearest_existing(path), opt, path)


def input_file(path: Path, opt: str) -> None:
    path = Path(path)
    if not path.is_file() or not os.access(path, os.R_OK):
        raise UsageError(f"{opt} {path}: no such readable file")


def figure_files(paths: Sequence[Path]) -> None:
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    for path in paths:
        ext = Path(path).suffix[1:].lower()
        if ext and ext not in formats:
            raise UsageError(f"-o {path}: matplotlib cannot write .{ext} (use .png, .svg or .pdf)")
        output_file(path, "-o")


def needs_window() -> None:
    why = window.problem()
    if why:
        raise UsageError(why)


# --------------------------------------------------------------------------
# Numbers

def _recording(duration: Optional[float], trigger: Optional[float], interval: int) -> None:
    """`watch mem` for `duration` s (None: until stopped), `init deferred` at `trigger`."""
    if duration is not None and not duration > 0:
        raise UsageError(f"--duration {duration:g}: must be > 0")
    if trigger is not None and not (trigger >= 0 and (duration is None or trigger < duration)):
        inside = f" and below --duration {duration:g}" if duration is not None else ""
        raise UsageError(f"--trigger-deferred-at {trigger:g}: must be >= 0{inside}")
    lo, hi = INTERVAL_MS
    if not lo <= interval <= hi:
        raise UsageError(f"--interval {interval}: must be {lo}..{hi} ms")


# --------------------------------------------------------------------------
# Per command

def _launch_and_connection(args) -> None:
    mode = (exo_qemu.BootMode.ISO if args.iso else
            exo_qemu.BootMode.MICROVM if args.microvm else exo_qemu.BootMode.PVH)
    problem = exo_qemu.mem_problem(mode, args.mem_mib)
    if problem:
        raise UsageError(problem)
    for opt, value in (("--timeout", args.timeout), ("--boot-timeout", args.boot_timeout)):
        if not value > 0:
            raise UsageError(f"{opt} {value:g}: must be > 0 seconds")
    if args.transcript is not None:
        output_file(args.transcript, "--transcript", makes_parents=False)


def _run(args) -> None:
    if not 0 <= args.gdb_port <= 65535:
        raise UsageError(f"--gdb-port {args.gdb_port}: a TCP port is 0..65535")


def _gdb(args) -> None:
    if not args.connect and args.iso and args.append:
        raise UsageError("--append with --iso is not supported by `exo gdb`; use PVH (the default)")


def _plot(args) -> None:
    if getattr(args, "from_json", None) is not None:
        input_file(args.from_json, "--from-json")
    if args.output:
        figure_files(args.output)
    if args.what == "mem":
        live = args.live or not args.output
        duration = args.duration if args.duration is not None or live else 5.0  # cmd_plot_mem's default
        _recording(duration, args.trigger_deferred_at, args.interval)
        _at(getattr(args, "at", None), duration)
        if args.csv is not None:
            output_file(args.csv, "--csv", makes_parents=False)
        if live:
            needs_window()
    elif not args.output:
        needs_window()


def _report(args) -> None:
    output_dir(args.output, "-o")
    _recording(args.duration, args.trigger_deferred_at, args.interval)
    _at(getattr(args, "at", None), args.duration)


def _at(events, duration) -> None:
    """`--at T:CMD` times must fall inside the recording."""
    problem = check_inside(events or [], duration)
    if problem:
        raise UsageError(problem)


def _trace(args) -> None:
    output_file(args.output, "-o")
    if args.from_replies is not None:
        input_file(args.from_replies, "--from-replies")
        return
    trigger = None if args.no_deferred else args.trigger_deferred_at
    _recording(args.duration, trigger, args.interval)
    if args.save_replies is not None:
        output_file(args.save_replies, "--save-replies")
