"""Carries out the live fuzzer's ops on a Link and proves after each one
that the channel it used still answers:

  * after a COM1 op, the shell answers an unknown command `zzs<i>` (so it
    read every byte and finished every command before it);
  * after a COM2 op, the stub answers `monitor zzg<i>` (so the kernel is
    stopped, attached, and every packet before it was handled).

A missing answer, or QEMU gone, raises Failure. Ops are dicts (see
shell_inputs.py, rsp_inputs.py; `detach` and `check` come from the
campaign); every op carried out is appended to `log`, so a failing log ends
with the op that failed and replays as it was sent.
"""
from __future__ import annotations

import re
import time
from typing import Optional

from exo_qemu import QemuExited
from live_link import Link, LinkDead
from rsp_model import frame, hex_text

STUB_TIMEOUT_S = 30.0    # upper bounds only (TCG on a shared machine)
SHELL_TIMEOUT_S = 60.0
IDLE_TIMEOUT_S = 60.0
OK = re.compile(rb"\$OK#9a")
ANY_PACKET = re.compile(rb"\$([^#$]*)#[0-9a-fA-F]{2}")
STOP_REPLY = re.compile(rb"\$T[0-9a-f]{2}[^#$]*#[0-9a-f]{2}")
HEX_REPLY = re.compile(rb"[0-9a-f]+")
INTERRUPT = b"\x03"


class Failure(Exception):
    pass


class Executor:
    def __init__(self, link: Link) -> None:
        self.link = link
        self.log: list[dict] = []
        self.checks_passed = 0
        self.checks_failed = 0
        self.counts = {"com1": 0, "com2": 0, "both": 0}

    # -- probes ----------------------------------------------------------------

    def _fail(self, what: str) -> Failure:
        if not self.link.alive():
            what += f" (QEMU exited with status {self.link.q.returncode})"
            # QEMU's own assertions are QEMU's bugs, not the kernel's.
            asserted = [ln for ln in self.link.q.stderr_text.splitlines() if "assertion failed" in ln]
            if asserted:
                what += f"; QEMU itself aborted: {asserted[-1].strip()}"
        return Failure(what)

    def shell_probe(self, tag: str) -> None:
        if not self.link.shell.sync(tag, SHELL_TIMEOUT_S):
            raise self._fail(f"the shell did not answer `zz{tag}` within {SHELL_TIMEOUT_S:.0f} s")

    def stub_probe(self, tag: str) -> None:
        com2 = self.link.com2
        com2.mark()
        self.link.send_com2(frame("qRcmd," + hex_text(f"zz{tag}")))
        said = hex_text(f"command 'zz{tag}'").encode()
        if com2.wait(re.compile(said), STUB_TIMEOUT_S) is None or com2.wait(OK, STUB_TIMEOUT_S) is None:
            raise self._fail(f"the stub did not answer `monitor zz{tag}` within {STUB_TIMEOUT_S:.0f} s")

    def _request(self, body: str) -> bytes:
        """One packet and the first packet back (only between probes, so
        nothing else is in flight)."""
        self.link.com2.mark()
        self.link.send_com2(frame(body))
        m = self.link.com2.wait(ANY_PACKET, STUB_TIMEOUT_S)
        if m is None:
            raise self._fail(f"no reply to {body[:40]!r} within {STUB_TIMEOUT_S:.0f} s")
        return m.group(1)

    # -- ops -------------------------------------------------------------------

    def run(self, op: dict) -> None:
        op["i"] = len(self.log)
        self.log.append(op)
        if op.get("ch") in self.counts:
            self.counts[op["ch"]] += 1
        try:
            getattr(self, "_" + op["op"].replace("-", "_"))(op)
        except (LinkDead, QemuExited) as e:
            raise self._fail(f"op {op['i']} ({op['op']}): {e}") from None

    def _bytes(self, op: dict) -> None:
        data = bytes.fromhex(op["hex"])
        if op["ch"] == "com1":
            self.link.send_com1(data)
            self.shell_probe(f"s{op['i']}")
        else:
            self.link.send_com2(data)
            self.stub_probe(f"g{op['i']}")

    def _command(self, op: dict) -> None:
        self.link.send_com1(INTERRUPT + op["line"].encode() + b"\r")
        self.shell_probe(f"s{op['i']}")

    def _watch(self, op: dict) -> None:
        self.link.send_com1(INTERRUPT + op["line"].encode() + b"\r")
        time.sleep(op["after_ms"] / 1000)   # let it print a few samples first
        self.link.send_com1(bytes.fromhex(op["key"]))
        self.shell_probe(f"s{op['i']}")

    def _write_back(self, op: dict) -> None:
        """Read text/rodata, write the same bytes back (M as hex, X binary)."""
        reply = self._request(f"m{op['addr']:x},{op['len']:x}")
        if HEX_REPLY.fullmatch(reply) and len(reply) % 2 == 0:
            data = bytes.fromhex(reply.decode())
            body = (f"M{op['addr']:x},{len(data):x}:{data.hex()}".encode() if op["cmd"] == "M"
                    else f"X{op['addr']:x},{len(data):x}:".encode() + data)
            self._request(body.decode("latin-1"))
        self.stub_probe(f"g{op['i']}")

    def _register_write_back(self, op: dict) -> None:
        reg = op["reg"]
        if reg == "G":
            reply = self._request("g")
            if re.fullmatch(rb"[0-9a-fx]+", reply):
                self._request("G" + reply.decode())
        else:
            reply = self._request(f"p{reg:x}")
            if HEX_REPLY.fullmatch(reply) and not reply.startswith(b"E"):
                self._request(f"P{reg:x}={reply.decode()}")
        self.stub_probe(f"g{op['i']}")

    def _run(self, op: dict) -> None:
        """Set breakpoints, resume, type a command while gdb is attached,
        then Ctrl-C (the kernel may have stopped at a breakpoint already)."""
        for packet in op["setup"]:
            self.link.send_com2(bytes.fromhex(packet))
        self.stub_probe(f"g{op['i']}a")
        self.link.send_com2(frame(op["resume"]))
        if op.get("line"):
            self.link.send_com1(INTERRUPT + op["line"].encode() + b"\r")
            if op["wait_s"]:
                self.link.shell.sync(f"s{op['i']}", op["wait_s"])   # may not answer: stopped
        self.link.send_com2(INTERRUPT)
        self.stub_probe(f"g{op['i']}")

    def _stop_busy(self, op: dict) -> None:
        self.link.send_com1(INTERRUPT + op["line"].encode() + b"\r")
        time.sleep(op["delay_ms"] / 1000)
        self.link.send_com2(bytes.fromhex(op["hex"]))
        self.stub_probe(f"g{op['i']}")

    def _typing_while_stopped(self, op: dict) -> None:
        self.stub_probe(f"g{op['i']}a")          # gdb holds the kernel
        self.link.send_com1(bytes.fromhex(op["hex"]))
        time.sleep(op["silence_s"])               # gdb silent: the stub reads COM1 after ~2 s
        self.stub_probe(f"g{op['i']}")

    def _detach(self, op: dict) -> None:
        self.link.com2.mark()
        self.link.send_com2(frame("D"))
        if self.link.com2.wait(OK, STUB_TIMEOUT_S) is None:
            raise self._fail(f"no OK to D within {STUB_TIMEOUT_S:.0f} s")

    def _check(self, op: dict) -> None:
        """Liveness: the stub gives a stop reply to `?`, and after a detach
        the shell answers `uptime`."""
        com2 = self.link.com2
        com2.mark()
        self.link.send_com2(frame("?"))
        stub_ok = com2.wait(STOP_REPLY, STUB_TIMEOUT_S) is not None
        if stub_ok:
            self._detach(op)
        shell_ok = stub_ok and self.link.shell.uptime_ok(SHELL_TIMEOUT_S)
        if stub_ok and shell_ok:
            self.checks_passed += 1
            return
        self.checks_failed += 1
        raise self._fail("liveness check: " + ("the shell did not answer `uptime`" if stub_ok
                                               else "the stub did not answer `?`"))

    # -- the idle machine ----------------------------------------------------------

    def idle_figures(self) -> dict:
        """Detached, every user program gone: the leak figures."""
        self._detach({})
        self.shell_probe("idle")
        figures: Optional[dict] = self.link.shell.idle_figures(IDLE_TIMEOUT_S)
        if figures is None:
            raise self._fail("the machine did not settle at idle (threads/mem --json unanswered)")
        return figures


def warm_up(link: Link) -> dict:
    """Everything that allocates once and keeps it (deferred drivers, the
    first user program, bench, a gdb attach) is done before the baseline is
    taken; returns `help --json`."""
    ex = Executor(link)
    sh = link.shell
    commands = sh.json("help", SHELL_TIMEOUT_S)
    if commands is None:
        raise Failure("`help --json` did not answer")
    for line in ("init deferred", "user sampler", "user fault", "user badptr", "user bench", "user trap", "bench"):
        ex.run({"op": "command", "line": line})
    ex.run({"op": "watch", "line": "watch mem 100", "key": "20", "after_ms": 300})
    ex.stub_probe("warm")
    ex.run({"op": "detach"})
    return commands

