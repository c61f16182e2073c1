"""`exo boot blame`, `exo boot chain` and `exo boot-stats`: the command
line side (argparse and I/O) of boot_analysis.py and boot_stats.py, kept
out of cli.py so that each stays small."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import boot_analysis, boot_graph, boot_stats
from .connection import EXIT_USAGE, ExoError

MAX_RUNS = 200


class UsageError(ExoError):
    exit_status = EXIT_USAGE


def _runs(text: str) -> int:
    n = int(text)
    if not 1 <= n <= MAX_RUNS:
        raise argparse.ArgumentTypeError(f"--runs must be 1..{MAX_RUNS}")
    return n


def add_commands(sub, add, add_common) -> None:
    """Register the commands: `add(name, help)` makes a top-level command,
    `add_common(parser)` gives a nested one the connection/launch options."""
    sp = add("boot", "systemd-analyze for the boot: `boot blame` (tasks and spans by duration), "
                     "`boot chain` (the critical chain through the declared dependencies)")
    bsub = sp.add_subparsers(dest="what", metavar="WHAT", required=True)

    def nested(name, help_):
        bp = bsub.add_parser(name, help=help_, description=help_)
        add_common(bp)
        bp.add_argument("--deferred", action="store_true", help="run `init deferred` first")
        bp.add_argument("--from-json", type=Path, metavar="FILE", help="a saved `boot --json` instead of a kernel")
        bp.add_argument("--json", action="store_true", help="print JSON instead of the table")
        return bp

    bp = nested("blame", "tasks and named spans by duration, longest first (no time left unattributed)")
    bp.set_defaults(func=cmd_blame)
    bp = nested("chain", "the critical chain to TASK (default: the shell prompt): from each task, the "
                         "requirement that finished last (build/exo-kernel-stage1.elf or build/boot_graph.bin)")
    bp.add_argument("task", nargs="?", help="a boot task's name (default: the shell prompt)")
    bp.add_argument("-o", "--output", action="append", type=Path, metavar="FILE",
                    help="also write the boot Gantt with the chain drawn as arrows (.png, .svg, .pdf)")
    bp.set_defaults(func=cmd_chain)

    sp = add("boot-stats", "boot N times (own QEMU each time): each task's median and spread, as a table and a plot")
    sp.add_argument("--runs", type=_runs, default=5, metavar="N", help="boots (default 5)")
    sp.add_argument("-o", "--output", action="append", type=Path, metavar="FILE",
                    help="write the plot (.png, .svg, .pdf; repeatable)")
    sp.add_argument("--save", type=Path, metavar="FILE", help="also write every run's `boot --json` to FILE")
    sp.add_argument("--from-json", type=Path, metavar="FILE", help="runs saved with --save instead of booting")
    sp.add_argument("--json", action="store_true", help="print the statistics as JSON instead of the table")
    sp.set_defaults(func=cmd_boot_stats)


# --------------------------------------------------------------------------

def _boot(args) -> tuple:
    """(boot --json, where it came from), after `init deferred` if asked."""
    from .cli import note, read_json_file, session_for
    from .telemetry import run_init_deferred
    if args.from_json:
        return read_json_file(args.from_json, "boot --json"), str(args.from_json)
    with session_for(args) as s:
        if args.deferred:
            note("init deferred: " + " | ".join(run_init_deferred(s.shell).splitlines()))
        return s.shell.query("boot"), s.where


def cmd_blame(args) -> int:
    boot, _ = _boot(args)
    if args.json:
        print(json.dumps(boot_analysis.blame_json(boot)))
    else:
        print(boot_analysis.blame_text(boot))
    return 0


def chain_for_plot(boot: dict, build_dir: Path) -> tuple:
    """(the prompt's critical chain as task names, a note): no graph is a
    note on the plot, not a failure."""
    try:
        graph = boot_graph.read(build_dir, boot)
    except boot_graph.GraphError as e:
        return [], f"no critical chain: {e}"
    return boot_analysis.chain_names(boot_analysis.critical_chain(boot, graph.requires)), ""


def cmd_chain(args) -> int:
    from .cli import save_figure
    from .plots import boot_figure
    boot, where = _boot(args)
    graph = boot_graph.read(Path(args.build_dir), boot)
    try:
        chain = boot_analysis.critical_chain(boot, graph.requires, args.task)
    except KeyError as e:
        raise ExoError(e.args[0]) from None
    if args.json:
        print(json.dumps({"graph": graph.source, "chain": boot_analysis.chain_json(chain)}))
    else:
        print(boot_analysis.chain_text(chain))
    if args.output:
        save_figure(boot_figure(boot, source=where, chain=boot_analysis.chain_names(chain)), args.output)
    return 0


def _record_runs(args, n: int) -> list:
    from .cli import note, session_for
    runs = []
    for i in range(n):
        with session_for(args) as s:
            runs.append(boot_stats.Run(s.shell.query("boot"), s.prompt_after_s))
        note(f"boot {i + 1}/{n}: {boot_analysis.fmt_us(boot_analysis.accounting(runs[-1].boot).total_us)} "
             "to the prompt")
    return runs


def cmd_boot_stats(args) -> int:
    from .cli import save_figure
    if args.from_json:
        try:
            runs = boot_stats.load_runs(json.loads(Path(args.from_json).read_text()))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ExoError(f"cannot read runs from {args.from_json}: {e}") from None
        source = str(args.from_json)
    else:
        if args.connect:
            raise UsageError("boot-stats boots its own QEMU for every run: it cannot use --connect")
        runs = _record_runs(args, args.runs)
        source = f"{args.runs} boots of {Path(args.build_dir) / 'exo-kernel'} ({'ISO' if args.iso else 'PVH'}"
        source += ", microvm)" if args.microvm else ")"
        if args.save:
            args.save.parent.mkdir(parents=True, exist_ok=True)
            args.save.write_text(json.dumps(boot_stats.runs_json(runs)) + "\n")
            print(args.save)
    stats = boot_stats.summarize(runs)
    if args.json:
        print(json.dumps({"runs": len(runs), "stats": boot_stats.stats_json(stats)}))
    else:
        print(boot_stats.table_text(stats, len(runs)))
    sys.stdout.flush()
    if args.output:
        save_figure(boot_stats.stats_figure(stats, len(runs), source), args.output)
    return 0
