"""The `exo` command line."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Sequence

from . import KNOWN_SCHEMA, __version__, arg_checks, window
from . import connection as conn
from .connection import (EXIT_KERNEL_ERROR, EXIT_PROTOCOL, EXIT_TIMEOUT, EXIT_UNREACHABLE, ExoError,
                         LaunchOptions, NotReachable, Session, UsageError, exo_qemu)

PROG = "exo"

EPILOG = f"""\
Where the kernel is: --connect tcp:HOST:PORT (COM1 on a QEMU TCP chardev),
--connect /dev/pts/N or /dev/ttyS0 (a pty or serial device), or any pyserial
URL (socket://HOST:PORT, rfc2217://...). Without --connect, exo starts its own
QEMU (PVH boot of build/exo-kernel on -M pc; --iso for the GRUB ISO) and stops
it again on every way out.

exit status: 0 ok, {EXIT_KERNEL_ERROR} the kernel answered `error: ...`, 2 bad usage (checked
before QEMU starts), {EXIT_UNREACHABLE} kernel not reachable (build/connect/launch failed,
connection lost), {EXIT_TIMEOUT} timeout (no prompt, echo or output), {EXIT_PROTOCOL} protocol
(bad JSON, JSON schema newer than {KNOWN_SCHEMA}).
"""

_OPTION_DEFAULTS = {
    "connect": None,
    "iso": False,
    "microvm": False,
    "kvm": False,
    "append": None,
    "mem_mib": exo_qemu.DEFAULT_MEM_MIB,
    "build_dir": None,
    "timeout": conn.DEFAULT_TIMEOUT_S,
    "boot_timeout": conn.DEFAULT_BOOT_TIMEOUT_S,
    "transcript": None,
}


def _launch_options(p: argparse.ArgumentParser) -> None:
    S = argparse.SUPPRESS
    g = p.add_argument_group("launching QEMU (when there is no --connect)")
    m = g.add_mutually_exclusive_group()
    m.add_argument("--iso", action="store_true", default=S,
                   help="boot build/exo.iso through GRUB (default: PVH, -kernel build/exo-kernel)")
    m.add_argument("--microvm", action="store_true", default=S, help="PVH boot on -M microvm")
    g.add_argument("--kvm", action="store_true", default=S, help="KVM instead of TCG")
    g.add_argument("--append", metavar="ARGS", default=S,
                   help="kernel command line, e.g. 'deferred=auto log=verbose'")
    g.add_argument("--mem", dest="mem_mib", type=int, metavar="MIB", default=S,
                   help=f"guest RAM (default {exo_qemu.DEFAULT_MEM_MIB})")
    g.add_argument("--build-dir", type=Path, metavar="DIR", default=S,
                   help="where exo-kernel / exo.iso / exo-kernel.elf are (default: $EXO_BUILD_DIR, "
                        "else <repo>/build)")


def _connect_options(p: argparse.ArgumentParser) -> None:
    S = argparse.SUPPRESS
    g = p.add_argument_group("connection")
    g.add_argument("--connect", metavar="URL", default=S,
                   help="the kernel's COM1: tcp:HOST:PORT, a pty or serial device path, or a pyserial URL")
    g.add_argument("--timeout", type=float, metavar="S", default=S,
                   help=f"per-command timeout (default {conn.DEFAULT_TIMEOUT_S:g})")
    g.add_argument("--boot-timeout", type=float, metavar="S", default=S,
                   help=f"QEMU start to prompt (default {conn.DEFAULT_BOOT_TIMEOUT_S:g})")
    g.add_argument("--transcript", type=Path, metavar="FILE", default=S,
                   help="append everything COM1 says to FILE")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Host client for Exo-OS: run it, talk to its shell, plot its telemetry.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__} (JSON schema {KNOWN_SCHEMA})")
    _connect_options(p)
    _launch_options(p)
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def add(name, help_, connect=True, launch=True, **kw):
        sp = sub.add_parser(name, help=help_, description=help_, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        if connect:
            _connect_options(sp)
        if launch:
            _launch_options(sp)
        return sp

    sp = add("run", "build if needed, boot in QEMU with the shell on this terminal, COM2 (GDB) on a free port",
             connect=False)
    sp.add_argument("--no-build", action="store_true", help="do not run cmake --build first")
    sp.add_argument("--gdb-port", type=int, metavar="N", default=0, help="COM2 TCP port (default: a free one)")
    sp.add_argument("--dry-run", action="store_true", help="print the QEMU command, start nothing")
    sp.add_argument("qemu_args", nargs="*", metavar="-- QEMU_ARGS", help="passed to QEMU unchanged")
    sp.set_defaults(func=cmd_run)

    sp = add("gdb", "gdb on build/exo-kernel.elf attached to the kernel's GDB stub (COM2)", connect=False)
    sp.add_argument("--connect", metavar="TARGET", default=argparse.SUPPRESS,
                    help="the stub: tcp:HOST:PORT, HOST:PORT, PORT, or a pty/serial device; default: start "
                         "a QEMU with COM2 on a free port (and COM1 on another, for `exo shell --connect`)")
    sp.add_argument("--gdb", dest="gdb_binary", default=os.environ.get("EXO_GDB", "gdb"),
                    help="the debugger (default: $EXO_GDB or gdb)")
    sp.add_argument("--elf", type=Path, help="symbols (default: BUILD_DIR/exo-kernel.elf)")
    sp.add_argument("--dry-run", action="store_true", help="print the command(s), start nothing")
    sp.add_argument("gdb_args", nargs="*", metavar="-- GDB_ARGS", help="more gdb arguments")
    sp.set_defaults(func=cmd_gdb)

    sp = add("shell", "interactive terminal on COM1 (raw mode; Ctrl-] leaves)")
    sp.set_defaults(func=cmd_shell)

    sp = add("query", "send `CMD --json`, print the JSON")
    sp.add_argument("command", nargs="+", metavar="CMD", help="e.g. mem, boot, pages 0xffffffff80100000")
    sp.add_argument("--pretty", action="store_true", help="indented JSON")
    sp.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # tolerated: it is added anyway
    sp.set_defaults(func=cmd_query)

    sp = add("plot", "plot boot | mem | pages")
    psub = sp.add_subparsers(dest="what", metavar="WHAT", required=True)

    def add_plot(name, help_):
        pp = psub.add_parser(name, help=help_, description=help_, epilog=EPILOG,
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        _connect_options(pp)
        _launch_options(pp)
        pp.add_argument("-o", "--output", action="append", type=Path, metavar="FILE",
                        help="write the figure (.png, .svg, .pdf; repeat for several); default: a window")
        return pp

    pp = add_plot("boot", "Gantt timeline of the boot tasks and deferred inits (`boot --json`)")
    pp.add_argument("--deferred", action="store_true", help="run `init deferred` first so deferred inits show")
    pp.add_argument("--from-json", type=Path, metavar="FILE", help="plot a saved `boot --json` instead")
    pp.set_defaults(func=cmd_plot_boot)

    pp = add_plot("mem", "heap and physical memory over time (`watch mem MS`)")
    pp.add_argument("--live", action="store_true", help="a live window (the default when there is no -o)")
    pp.add_argument("--duration", type=float, metavar="S",
                    help="record for S seconds (default with -o and no --live: 5; live: until the window closes)")
    pp.add_argument("--interval", type=int, default=100, metavar="MS", help="sampling period (default 100)")
    pp.add_argument("--trigger-deferred-at", type=float, metavar="T",
                    help="at T seconds: stop the watch, run `init deferred`, watch again; marked on the plot")
    pp.add_argument("--at", action="append", type=_at_spec, default=[], metavar="T:CMD",
                    help="at T seconds run CMD the same way, e.g. --at 2:'user sampler' --at 4:bench (repeatable)")
    pp.add_argument("--csv", type=Path, metavar="FILE", help="also write the samples as CSV")
    pp.set_defaults(func=cmd_plot_mem)

    pp = add_plot("pages", "map of the kernel's virtual address space (`pages --json`), with a W+X warning")
    pp.add_argument("--from-json", type=Path, metavar="FILE", help="plot a saved `pages --json` instead")
    pp.set_defaults(func=cmd_plot_pages)

    sp = add("report", "everything at once: plots (PNG+SVG), raw JSON, CSV and index.html in DIR")
    sp.add_argument("-o", "--output", type=Path, required=True, metavar="DIR")
    sp.add_argument("--duration", type=float, default=3.0, metavar="S",
                    help="memory recording length (default 3)")
    sp.add_argument("--trigger-deferred-at", type=float, default=1.0, metavar="T",
                    help="when `init deferred` runs during the recording (default 1)")
    sp.add_argument("--at", action="append", type=_at_spec, default=[], metavar="T:CMD",
                    help="also run CMD at T seconds during the recording (repeatable), as for `plot mem`")
    sp.add_argument("--interval", type=int, default=100, metavar="MS", help="sampling period (default 100)")
    sp.set_defaults(func=cmd_report)

    from .cli_boot import add_commands as add_boot_commands
    add_boot_commands(sub, add, lambda bp: (_connect_options(bp), _launch_options(bp)))

    sp = add("trace", "timeline for ui.perfetto.dev or chrome://tracing: boot tasks, deferred inits, log, threads, "
                      "heap and frames")
    sp.add_argument("-o", "--output", type=Path, required=True, metavar="FILE", help="the trace, e.g. boot.json")
    sp.add_argument("--duration", type=float, default=2.0, metavar="S", help="`watch mem` length (default 2)")
    sp.add_argument("--interval", type=int, default=100, metavar="MS", help="sampling period (default 100)")
    sp.add_argument("--trigger-deferred-at", type=float, metavar="T",
                    help="when `init deferred` runs during the watch (default: half way)")
    sp.add_argument("--no-deferred", action="store_true", help="leave pending deferred inits pending")
    sp.add_argument("--save-replies", type=Path, metavar="FILE", help="also write the replies the trace is built from")
    sp.add_argument("--from-replies", type=Path, metavar="FILE", help="build the trace from saved replies, no kernel")
    sp.set_defaults(func=cmd_trace)
    return p


def _at_spec(spec: str) -> tuple:
    """--at T:CMD, checked by argparse (bad usage: exit status 2)."""
    from .mem_events import parse_at
    try:
        return parse_at(spec)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for k, v in _OPTION_DEFAULTS.items():
        if not hasattr(args, k):
            setattr(args, k, v)
    if args.build_dir is None:
        args.build_dir = conn.default_build_dir()
    return args


# --------------------------------------------------------------------------
# Helpers

def note(msg: str) -> None:
    print(f"{PROG}: {msg}", file=sys.stderr, flush=True)


def launch_options(args) -> LaunchOptions:
    mode = (exo_qemu.BootMode.ISO if args.iso else
            exo_qemu.BootMode.MICROVM if args.microvm else exo_qemu.BootMode.PVH)
    return LaunchOptions(build_dir=Path(args.build_dir), mode=mode, kvm=args.kvm, append=args.append,
                         mem_mib=args.mem_mib)


@contextmanager
def session_for(args) -> Iterator[Session]:
    transcript = open(args.transcript, "a") if args.transcript else None
    try:
        with conn.open_session(args.connect, launch=launch_options(args), timeout=args.timeout,
                               boot_timeout=args.boot_timeout, transcript=transcript) as s:
            yield s
    finally:
        if transcript is not None:
            transcript.close()


def pyplot_for_window():
    """pyplot with an interactive backend, or a clear error."""
    why = window.problem()
    if why:
        raise UsageError(why)
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, outputs: Sequence[Path]) -> None:
    from .plots import save
    for out in outputs:
        out = Path(out)
        if out.parent and not out.parent.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
        try:
            save(fig, out)
        except (ValueError, OSError) as e:  # unknown format, unwritable path
            raise UsageError(f"cannot write {out}: {e}") from None
        print(out)


def show_or_save(make_figure, outputs: Optional[Sequence[Path]]) -> int:
    if outputs:
        save_figure(make_figure(None), outputs)
        return 0
    plt = pyplot_for_window()
    fig = plt.figure()
    make_figure(fig)
    plt.show()
    return 0


def read_json_file(path: Path, command: str) -> dict:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise conn.BadJson(f"{command} (from {path})", text.splitlines()[e.lineno - 1] if text else "",
                           e) from None
    if not isinstance(obj, dict):
        raise conn.ProtocolError(f"{path}: not a JSON object")
    return conn.check_schema(obj, command)


# --------------------------------------------------------------------------
# Commands

# What booting needs (exo-kernel.elf, exo-kernel, exo.iso); the unit tests are test.sh's.
BOOT_TARGET = "exo-image"


def build_kernel(build_dir: Path) -> None:
    repo = conn.repo_dir()
    build = ["cmake", "--build", str(build_dir), "--target", BOOT_TARGET]
    if (build_dir / "build.ninja").is_file() or (build_dir / "Makefile").is_file():
        steps = [build]
    elif repo is not None:
        steps = [["cmake", "-S", str(repo), "-B", str(build_dir), "-G", "Ninja"], build]
    else:
        raise NotReachable(f"{build_dir} is not a build directory and no source tree is next to exo: "
                           "pass --build-dir or --no-build")
    for step in steps:
        note("$ " + exo_qemu.format_argv(step))
        try:
            done = subprocess.run(step)
        except FileNotFoundError:
            raise NotReachable(f"{step[0]} not found (host-tools/install-deps.sh installs it)") from None
        if done.returncode != 0:
            raise NotReachable(f"the build failed ({exo_qemu.format_argv(step)} exited {done.returncode})")


def cmd_run(args) -> int:
    build_dir = Path(args.build_dir)
    if not args.no_build and not args.dry_run:
        build_kernel(build_dir)
    port = args.gdb_port or exo_qemu.free_tcp_port()
    argv = ["--build-dir", str(build_dir), "--gdb-port", str(port), "--mem", str(args.mem_mib)]
    if args.microvm:
        argv.append("--microvm")
    elif not args.iso:
        argv.append("--pvh")
    if args.kvm:
        argv.append("--kvm")
    if args.append:
        argv += ["--append", args.append]
    if args.dry_run:
        argv.append("--dry-run")
    argv += ["--", *args.qemu_args]
    elf = build_dir / "exo-kernel.elf"
    note(f"GDB stub (COM2) on tcp {exo_qemu.LOOPBACK}:{port} — attach with: "
         f"exo gdb --connect tcp:{exo_qemu.LOOPBACK}:{port}  (or gdb {elf} -ex 'target remote "
         f"{exo_qemu.LOOPBACK}:{port}')")
    sys.stdout.flush()
    sys.stderr.flush()
    return exo_qemu.main(argv)


def gdb_target(spec: str) -> str:
    """--connect for gdb -> what `target remote` takes."""
    spec = spec.strip()
    if spec.isdigit():
        return f"{exo_qemu.LOOPBACK}:{spec}"
    for prefix in ("tcp:", "socket://", "tcp://"):
        if spec.startswith(prefix):
            rest = spec[len(prefix):]
            return f"{exo_qemu.LOOPBACK}:{rest}" if rest.isdigit() else rest
    return spec  # HOST:PORT, or a device path


# The gdb helpers (exo-threads, exo-dmesg, ...): in the repo only, not in a pip install.
GDB_HELPERS = Path(__file__).resolve().parent.parent / "gdb" / "exo.py"


def gdb_command(gdb: str, elf: Path, target: str, extra: Sequence[str] = ()) -> list[str]:
    helpers = ["-ex", f"source {GDB_HELPERS}"] if GDB_HELPERS.is_file() else []
    return [gdb, str(elf), *helpers, "-ex", f"target remote {target}", *extra]


def cmd_gdb(args) -> int:
    elf = args.elf or Path(args.build_dir) / "exo-kernel.elf"
    if args.connect:
        argv = gdb_command(args.gdb_binary, elf, gdb_target(args.connect), args.gdb_args)
        print(exo_qemu.format_argv(argv))
        if args.dry_run:
            return 0
        if not elf.is_file():
            raise NotReachable(f"{elf} does not exist: build the kernel first (or --elf)")
        return _run_gdb(argv)

    # No --connect: our own QEMU, COM2 (the stub) and COM1 (the shell) on free loopback ports.
    opts = launch_options(args)
    com1_port, com2_port = exo_qemu.free_tcp_port(), exo_qemu.free_tcp_port()
    spec = exo_qemu.LaunchSpec(mode=opts.mode, build_dir=opts.build_dir,
                               accel=exo_qemu.Accel.KVM if opts.kvm else exo_qemu.Accel.TCG,
                               mem_mib=opts.mem_mib, append=opts.append,
                               com1=exo_qemu.tcp_chardev(com1_port), com2=exo_qemu.tcp_chardev(com2_port))
    qemu_argv = exo_qemu.build_argv(spec)
    argv = gdb_command(args.gdb_binary, elf, f"{exo_qemu.LOOPBACK}:{com2_port}", args.gdb_args)
    print(exo_qemu.format_argv(qemu_argv))
    print(exo_qemu.format_argv(argv))
    if args.dry_run:
        return 0
    for path in (spec.boot_artifact(), elf):
        if not path.is_file():
            raise NotReachable(f"{path} does not exist: build the kernel first (`exo run` builds it)")
    note(f"QEMU started; its shell is at: exo shell --connect tcp:{exo_qemu.LOOPBACK}:{com1_port}")
    qemu = subprocess.Popen(qemu_argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, preexec_fn=_die_with_parent)
    try:
        time.sleep(0.2)
        if qemu.poll() is not None:
            raise NotReachable(f"QEMU exited at once ({qemu.returncode}): "
                               + qemu.stderr.read().decode(errors="replace")[-800:])
        return _run_gdb(argv)
    finally:
        _stop(qemu)


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after a second: this one process only."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _die_with_parent() -> None:
    """Child side: SIGKILL when exo dies, even by SIGKILL (Linux prctl)."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _run_gdb(argv: list[str]) -> int:
    if shutil.which(argv[0]) is None:
        raise NotReachable(f"{argv[0]} not found (Debian: apt-get install gdb)")
    # gdb owns the terminal: Ctrl-C interrupts the target, not us.
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    finally:
        signal.signal(signal.SIGINT, old)


def cmd_shell(args) -> int:
    from .shellterm import interactive
    transcript = open(args.transcript, "a") if args.transcript else None
    try:
        if args.connect:
            transport = conn.SerialTransport(args.connect)
            session = Session(conn.Shell(transport, args.timeout, transcript))
            try:
                transport.write(b"\r")  # a fresh prompt to start from
            except BaseException:
                session.close()
                raise
        else:
            q = conn.launch_qemu(launch_options(args))
            session = Session(conn.Shell(conn.QemuTransport(q), args.timeout, transcript), q)
        with session:
            return interactive(session)
    finally:
        if transcript is not None:
            transcript.close()


def cmd_query(args) -> int:
    command = " ".join(args.command)
    with session_for(args) as s:
        obj = s.shell.query(command)
    print(json.dumps(obj, indent=2 if args.pretty else None))
    return 0


def cmd_plot_boot(args) -> int:
    from .plots import boot_figure
    if args.from_json:
        boot, where = read_json_file(args.from_json, "boot --json"), str(args.from_json)
    else:
        with session_for(args) as s:
            if args.deferred:
                from .telemetry import run_init_deferred
                note("init deferred: " + " | ".join(run_init_deferred(s.shell).splitlines()))
            boot, where = s.shell.query("boot"), s.where
    from .cli_boot import chain_for_plot
    chain, why_not = chain_for_plot(boot, Path(args.build_dir))
    if why_not:
        note(why_not)
    return show_or_save(lambda fig: boot_figure(boot, fig=fig, source=where, chain=chain), args.output)


def cmd_plot_pages(args) -> int:
    from .plots import mappings, pages_figure
    from . import kernel_map
    if args.from_json:
        pages, where = read_json_file(args.from_json, "pages --json"), str(args.from_json)
        regions, notes = kernel_map.for_plot(args.build_dir, pages)
    else:
        with session_for(args) as s:
            pages, where = s.shell.query("pages"), s.where
            regions, notes = kernel_map.for_plot(args.build_dir, pages, s.shell)
    wx = [m for m in mappings(pages) if m.wx]
    if wx or pages.get("wx_ranges"):
        note(f"WARNING: {max(len(wx), int(pages.get('wx_ranges') or 0))} writable+executable range(s): "
             + ", ".join(f"0x{m.virt:x} {m.flags}" for m in wx))
    return show_or_save(lambda fig: pages_figure(pages, fig=fig, source=where, regions=regions, region_notes=notes),
                        args.output)


def cmd_plot_mem(args) -> int:
    from .plots import MemFigure
    from .telemetry import MemRecorder, write_mem_csv
    live = args.live or not args.output
    if live:
        plt = pyplot_for_window()  # fail before booting anything
    duration = args.duration
    if duration is None and not live:
        duration = 5.0

    with session_for(args) as s:
        rec = MemRecorder(s.shell, interval_ms=args.interval, duration=duration,
                          trigger_at=args.trigger_deferred_at, events=args.at,
                          on_event=lambda m: note(m) if not live else None)
        saved = False
        if live:
            fig = plt.figure(num=f"Exo-OS memory ({s.where})")
            mf = MemFigure(fig, interval_ms=args.interval, source=s.where)
            rec.start()

            def refresh():
                nonlocal saved
                series, marks = rec.snapshot()
                mf.update(series, marks)
                if rec.done.is_set():
                    timer.stop()
                    if rec.error is not None:
                        fig.suptitle(f"stopped: {rec.error}"[:300], color="#c0392b", fontsize=9)
                    elif args.output and not saved:
                        # the window's own figure, as soon as the recording ends
                        save_figure(fig, args.output)
                        saved = True
                fig.canvas.draw_idle()

            timer = fig.canvas.new_timer(interval=300)
            timer.add_callback(refresh)
            timer.start()
            try:
                plt.show()
            finally:
                rec.stop()
        else:
            note(f"recording `watch mem {args.interval}` for {duration:g} s (Ctrl-C stops it early)")
            rec.run()
            if rec.interrupted:
                note("interrupted: writing what was recorded")
        if rec.error is not None:
            raise rec.error
        series, marks = rec.snapshot()
    if args.csv:
        write_mem_csv(args.csv, series, marks)
        print(args.csv)
    if args.output and not saved:
        mf = MemFigure(interval_ms=args.interval, source=s.where)
        mf.update(series, marks)
        save_figure(mf.fig, args.output)
    return 0


def cmd_report(args) -> int:
    from .report import write_report
    with session_for(args) as s:
        index = write_report(s, args.output, duration=args.duration, trigger_at=args.trigger_deferred_at,
                             interval_ms=args.interval, log=note, events=args.at, build_dir=Path(args.build_dir))
    print(index)
    return 0


def cmd_trace(args) -> int:
    from . import trace_record
    from .trace import Recording
    if args.from_replies:
        try:
            rec = Recording.from_json(json.loads(Path(args.from_replies).read_text()))
        except (OSError, ValueError, TypeError) as e:
            raise UsageError(f"cannot read replies from {args.from_replies}: {e}") from None
    else:
        trigger = None if args.no_deferred else (
            args.duration / 2 if args.trigger_deferred_at is None else args.trigger_deferred_at)
        with session_for(args) as s:
            rec = trace_record.record(s, duration=args.duration, interval_ms=args.interval, trigger_at=trigger,
                                      log=note)
        if args.save_replies:
            trace_record.write_json(args.save_replies, rec.to_json())
    try:
        trace_record.write_trace(args.output, rec)
    except ValueError as e:
        raise conn.ProtocolError(f"cannot build the trace: {e}") from None
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e}") from None
    print(args.output)
    return 0


# --------------------------------------------------------------------------

def _raise_exit(signum, frame):
    raise SystemExit(128 + signum)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    # SIGTERM / SIGHUP unwind like an exception: QEMU is stopped, the tty restored.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            signal.signal(sig, _raise_exit)
        except (ValueError, OSError):
            pass
    try:
        arg_checks.check(args)  # before anything boots
        return args.func(args)
    except ExoError as e:
        note(f"error: {e}")
        return e.exit_status
    except KeyboardInterrupt:
        note("interrupted")
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
