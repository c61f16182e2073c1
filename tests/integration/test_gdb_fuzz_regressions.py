"""Kernel bugs the live fuzzer (tests/fuzz/live_fuzz.py) found in the GDB
stub's trap handling, each reduced to a few packets.

1. COM2's line reaches the CPU as an NMI as well as IRQ 3, and QEMU can
   deliver that NMI late: after the IRQ 3 handler has read every byte and
   returned. The stub took such an NMI (no byte waiting, stub idle) for a
   foreign one and printed the panic report; random gdb traffic at an idle
   kernel did it within a few dozen 20 KB packets. A foreign NMI still gets the
   report: at once without gdb traffic (test_gdb_debugger_moves.py), and by
   the second one after it.
2. A watchpoint just below a thread's stack pointer, where the next trap
   frame goes: a #DB's own entry pushes hit it, the nested #DB stops for gdb
   and clears DR6, and the outer #DB, finding no cause once gdb had
   detached, printed the panic report.
3. A watchpoint on the NMI's IST stack: the NMI entry's pushes hit it, the
   stub stopped inside the NMI, and on resume the #DB's iret let the next
   NMI (COM2's) in on the same stack, over the first one's frame: the panic
   report, or QEMU 7.2 aborting when the CPU's own frame push hit it. Such
   watchpoints are now refused (E0d), like breakpoints on the trap path.
"""
from __future__ import annotations

import random
import re
import socket
import sys
import time
from pathlib import Path

from exo_qemu import BootMode, Qmp
from test_gdb_rsp import Symbols

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from rsp_model import frame, hex_text  # noqa: E402

TIMEOUT_S = 30.0
ROUNDS = 300
BUDGET_S = 15.0          # rounds stop here: the old kernel panicked well within
PANIC = b"KERNEL PANIC"
NMI_REPORT = rb"KERNEL PANIC: exception 2 \(NMI\)"
OK = b"$OK#9a"


class Com2:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def wait(self, pattern: bytes, timeout: float = TIMEOUT_S):
        """The bytes of the first match of `pattern` (a regex) in what the
        stub sends, dropping everything up to its end; None on timeout."""
        deadline = time.monotonic() + timeout
        while (m := re.search(pattern, self.buf)) is None:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk
        found = bytes(m.group(0))   # before the buffer moves under the match
        del self.buf[:m.end()]
        return found

    def expect(self, marker: bytes) -> bool:
        return self.wait(re.escape(marker)) is not None


def burst(rng: random.Random) -> bytes:
    """A packet too big for the stub (E01), of random bytes: ~20 KB streamed
    through the FIFO while the IRQ 3 handler reads it. The old kernel
    panicked within a few dozen of these."""
    return frame(b"q" + rng.randbytes(20000))


def test_com2_traffic_at_an_idle_kernel_never_panics(booted):
    q = booted(BootMode.PVH, com2="tcp")
    com2 = Com2(q.com2_port)
    rng = random.Random(14)
    start = time.monotonic()
    rounds = 0
    try:
        while rounds < ROUNDS and time.monotonic() - start < BUDGET_S:
            com2.send(frame("D"))
            assert com2.expect(OK), f"round {rounds}: no OK to D"
            com2.send(burst(rng))
            tag = f"zz{rounds}"
            com2.send(frame("qRcmd," + hex_text(tag)))
            answered = com2.expect(hex_text(f"command '{tag}'").encode()) and com2.expect(OK)
            assert PANIC not in q.output, f"round {rounds}: the kernel panicked"
            assert answered, f"round {rounds}: the stub did not answer `monitor {tag}`"
            rounds += 1
        com2.send(frame("D"))
        assert com2.expect(OK)
    finally:
        com2.sock.close()
    assert "up " in q.command("uptime", TIMEOUT_S)


def test_a_foreign_nmi_after_gdb_traffic_panics_by_the_second(booted, tmp_path):
    sock_path = tmp_path / "qmp.sock"
    q = booted(BootMode.PVH, com2="tcp", extra_args=["-qmp", f"unix:{sock_path},server=on,wait=off"])
    com2 = Com2(q.com2_port)
    try:
        com2.send(frame("?"))
        assert com2.expect(b"$T")
        com2.send(frame("D"))
        assert com2.expect(OK)
    finally:
        com2.sock.close()
    assert "up " in q.command("uptime", TIMEOUT_S)
    with Qmp(sock_path, TIMEOUT_S) as qmp:
        qmp.execute("inject-nmi")
        # Two NMIs sent back to back would be one: let the kernel run
        # between them (or print the report already).
        q.send_line("uptime")
        if q.wait_for(re.compile(rb"up \d|" + NMI_REPORT), TIMEOUT_S).text.startswith(b"up"):
            qmp.execute("inject-nmi")
            q.wait_for(re.compile(NMI_REPORT), TIMEOUT_S)

def _stack_pointer(stop_reply: bytes) -> int:
    m = re.search(rb"07:([0-9a-f]{16})", stop_reply)
    assert m, f"no rsp in {stop_reply!r}"
    return int.from_bytes(bytes.fromhex(m.group(1).decode()), "little")


TRAP_FRAME_DEPTH = 0xE0   # below the interrupted rsp: where trap_dispatch's prologue pushes
WATCH_BYTES = 0x20        # four debug registers
WATCH_WAIT_S = 5.0        # the timer tick's trap frame lands there within ms


def test_a_watchpoint_on_the_trap_frames_own_stack_survives_detach(booted):
    q = booted(BootMode.PVH, com2="tcp")
    com2 = Com2(q.com2_port)
    try:
        for run in range(5):
            com2.send(frame("?"))
            stop = com2.wait(rb"\$T[^#]*#")
            assert stop, f"run {run}: no stop reply"
            watch = _stack_pointer(stop) - TRAP_FRAME_DEPTH
            com2.send(frame(f"Z4,{watch:x},{WATCH_BYTES:x}"))
            assert com2.expect(OK), f"run {run}: Z4 refused"
            com2.send(frame("c"))
            if com2.wait(rb"watch:", WATCH_WAIT_S) is None:
                com2.send(b"\x03")            # it never fired: stop it anyway
            com2.send(frame("D"))
            assert com2.expect(OK), f"run {run}: no OK to D"
            assert "up " in q.command("uptime", TIMEOUT_S), f"run {run}: the shell did not answer"
            assert PANIC not in q.output, f"run {run}: the kernel panicked"
    finally:
        com2.sock.close()


def test_watchpoints_on_the_ist_stacks_are_refused(booted, build_dir):
    base, size = Symbols(build_dir / "exo-kernel.elf").find("g_ist_stacks", "bB")
    tops = [base + size // 3 * (i + 1) for i in range(3)]    # #DF, NMI, #MC: guard page, then stack
    q = booted(BootMode.PVH, com2="tcp")
    com2 = Com2(q.com2_port)
    try:
        com2.send(frame("?"))
        assert com2.wait(rb"\$T[^#]*#"), "no stop reply"
        for top in tops:
            for below in (0x28, 0xB0):    # the CPU's frame, then trap_common's pushes
                for kind in "24":
                    com2.send(frame(f"Z{kind},{top - below:x},8"))
                    reply = com2.wait(rb"\$[^#]*#")
                    assert reply == b"$E0d#", f"Z{kind} at {top - below:#x}: {reply!r}"
        com2.send(frame("c"))
        com2.send(b"+" * 200)             # COM2 bytes: NMIs while it runs
        com2.send(b"\x03")
        assert com2.wait(rb"\$T[^#]*#"), "no stop after Ctrl-C"
        com2.send(frame("D"))
        assert com2.expect(OK)
    finally:
        com2.sock.close()
    assert "up " in q.command("uptime", TIMEOUT_S)
    assert PANIC not in q.output
