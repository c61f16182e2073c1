#!/usr/bin/python3
"""Live fuzzing of a running Exo-OS: random and mutated input on COM1 (the
shell) and COM2 (the GDB stub) of the real kernel in QEMU, with liveness
checks and a leak check at idle.

    tests/fuzz/live_fuzz.py --seconds 300 --seed 7
    tests/fuzz/live_fuzz.py --inputs 200 --seed 1 --check-every 20 --out /tmp/lf
    tests/fuzz/live_fuzz.py --replay /tmp/lf/inputs.jsonl

Each input is followed by a probe on its channel (see campaign.py); every
--check-every inputs a liveness check asks the stub for `?` and, detached,
the shell for `uptime`. On a failure, or with --out, the input log
(JSON lines, replayable with --replay) and both transcripts are saved.
Exit status: 0 all checks passed and nothing leaked; 1 a check failed, the
kernel stopped answering or died, or a leak; 2 bad usage.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parents[1] / "host-tools")]

from address_book import AddressBook  # noqa: E402
from campaign import SHELL_TIMEOUT_S, Executor, Failure, warm_up  # noqa: E402
from exo_shell import describe, leaks  # noqa: E402
from live_link import REPO_DIR, BootMode, Link  # noqa: E402
from rsp_inputs import RspInputs  # noqa: E402
from shell_inputs import ShellInputs  # noqa: E402

DEFAULT_SECONDS = 60.0


class Generator:
    """The op stream for a seed: COM1 and COM2 inputs, a detach before
    anything the shell must see, a liveness check every N inputs."""

    def __init__(self, seed: int, commands: list[dict], book: AddressBook, check_every: int) -> None:
        self.rng = random.Random(seed)
        self.shell = ShellInputs(self.rng, commands, book)
        self.rsp = RspInputs(self.rng, book, lambda: self.shell.command_line())
        self.check_every = check_every
        self.attached = False
        self.inputs = 0
        self.checked = False
        self.pending: list[dict] = []

    def _next_input(self) -> dict:
        pick = self.rng.random()
        if pick < 0.45:
            return self.shell.next()
        if pick < 0.90:
            return self.rsp.next()
        if pick < 0.91:
            return self.rsp.typing_while_stopped(bytes.fromhex(self.shell.noise()["hex"]))
        if pick < 0.955:
            line = self.shell.command_line([n for n in self.shell.names if n != "watch"])
            return dict(self.rsp.run(line), ch="both")
        return dict(self.rsp.stop_busy(self.shell.command_line()), ch="both")

    def next(self) -> dict:
        if self.pending:
            return self.pending.pop(0)
        if self.inputs and self.inputs % self.check_every == 0 and not self.checked:
            self.checked = True
            self.attached = False   # a check ends detached
            return {"ch": "ctl", "op": "check"}
        self.checked = False
        op = self._next_input()
        self.inputs += 1
        ops = [op]
        # The stub holds the kernel after any COM2 input; the shell only
        # runs once gdb lets go.
        if (op["ch"] == "com1" or op["op"] == "stop-busy") and self.attached:
            ops.insert(0, {"ch": "ctl", "op": "detach"})
        self.attached = op["ch"] != "com1"
        self.pending = ops[1:]
        return ops[0]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="live_fuzz.py", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 2)[2])
    p.add_argument("--seconds", type=float, help=f"stop after this long (default {DEFAULT_SECONDS:.0f} s "
                                                 "when --inputs is not given either)")
    p.add_argument("--inputs", type=int, help="stop after this many inputs")
    p.add_argument("--seed", type=int, help="random seed (default: from the clock; printed)")
    p.add_argument("--check-every", type=int, default=25, metavar="N", help="a liveness check every N inputs (25)")
    p.add_argument("--out", type=Path, help="save the input log and transcripts here (always on a failure; "
                                            "default then: a new directory under /tmp)")
    p.add_argument("--replay", type=Path, metavar="LOG", help="resend a saved input log instead of fuzzing")
    p.add_argument("--mode", choices=[m.value for m in BootMode], default="pvh", help="how to boot (pvh)")
    p.add_argument("--build-dir", type=Path, default=Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")))
    p.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                   help="one more QEMU argument (repeat for several), e.g. for -d/-D logs")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.check_every < 1 or (args.inputs is not None and args.inputs < 0):
        p.error("--check-every and --inputs must be positive")
    if args.seconds is None and args.inputs is None:
        args.seconds = DEFAULT_SECONDS
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1_000_000
    return args


def save(out: Path, ex: Executor, link: Link, summary: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "inputs.jsonl", "w") as f:
        for op in ex.log:
            f.write(json.dumps(op) + "\n")
    (out / "com1.bin").write_bytes(link.q.output)
    (out / "com2.bin").write_bytes(link.com2.snapshot())
    (out / "qemu-stderr.txt").write_text(link.q.stderr_text)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def ops_to_run(args, gen: Generator, replay):
    """The saved log's ops, or the generator's until --inputs/--seconds."""
    if replay is not None:
        for op in replay:
            yield {k: v for k, v in op.items() if k != "i"}
        return
    t0 = time.monotonic()
    while gen.pending or not ((args.inputs is not None and gen.inputs >= args.inputs)
                              or (args.seconds is not None and time.monotonic() - t0 >= args.seconds)):
        yield gen.next()


def campaign(args, link: Link, ex: Executor, summary: dict, replay) -> None:
    """Warm up, take the idle figures, run the ops, check, compare."""
    commands = warm_up(link)["commands"]
    pages = link.shell.json("pages", SHELL_TIMEOUT_S)
    book = AddressBook.load(args.build_dir / "exo-kernel.elf", pages)
    summary["idle_before"] = before = ex.idle_figures()
    gen = Generator(args.seed, commands, book, args.check_every)
    t0 = time.monotonic()
    for op in ops_to_run(args, gen, replay):
        ex.run(op)
        if not args.quiet and op["op"] == "check":
            print(f"[{time.monotonic() - t0:6.1f} s] {ex.checks_passed} checks passed; inputs com1 "
                  f"{ex.counts['com1']}, com2 {ex.counts['com2']}, both {ex.counts['both']}", flush=True)
    if not ex.log or ex.log[-1]["op"] != "check":   # a replayed log ends with its own
        ex.run({"ch": "ctl", "op": "check"})
    summary["campaign_s"] = round(time.monotonic() - t0, 1)
    summary["idle_after"] = after = ex.idle_figures()
    leaked = leaks(before, after)
    if leaked:
        raise Failure("leak at idle: " + "; ".join(leaked))


def main(argv=None) -> int:
    args = parse_args(argv)
    replay = [json.loads(ln) for ln in args.replay.read_text().splitlines() if ln.strip()] if args.replay else None
    started = time.monotonic()
    summary: dict = {"seed": args.seed, "replay": str(args.replay) if args.replay else None}
    failure = None
    with Link(args.build_dir, BootMode(args.mode), extra_args=tuple(args.qemu_arg)) as link:
        ex = Executor(link)
        try:
            campaign(args, link, ex, summary, replay)
        except Failure as e:
            failure = str(e)
        except KeyboardInterrupt:
            failure = "interrupted (Ctrl-C)"
        summary.update(inputs=ex.counts, checks_passed=ex.checks_passed, checks_failed=ex.checks_failed,
                       duration_s=round(time.monotonic() - started, 1), failure=failure)
        out = args.out
        if failure and out is None:
            out = Path(tempfile.mkdtemp(prefix=f"exo-live-fuzz-{args.seed}-"))
        if out is not None:
            save(out, ex, link, summary)
    report(summary, out)
    return 1 if failure else 0


def report(s: dict, out) -> None:
    c = s["inputs"]
    print(f"inputs: com1 {c['com1']}, com2 {c['com2']}, both channels {c['both']}")
    print(f"liveness checks: {s['checks_passed']} passed, {s['checks_failed']} failed")
    for when in ("idle_before", "idle_after"):
        if when in s:
            print(f"{when.replace('_', ' ')}: {describe(s[when])}")
    print(f"duration: {s['duration_s']} s (inputs and checks: {s.get('campaign_s', '-')} s); "
          + (f"replay of {s['replay']}" if s["replay"] else f"seed: {s['seed']}"))
    if s["failure"]:
        print(f"FAILED: {s['failure']}")
    if out is not None:
        print(f"input log and transcripts: {out}")


if __name__ == "__main__":
    sys.exit(main())
