"""COM2's line reaches the CPU as an NMI as well as IRQ 3. QEMU can deliver
that NMI late: after the IRQ 3 handler has read every byte and returned.
The stub used to take such an NMI (no byte waiting, stub idle) for a
foreign one and print the panic report; random gdb traffic at an idle
kernel did it within a few hundred rounds (found by tests/fuzz/live_fuzz.py).
Each round here is a detach, a burst of random bytes or a huge packet, and a
`monitor` probe whose answer proves the stub is still there.

A foreign NMI still gets the report: at once without gdb traffic
(test_gdb_debugger_moves.py), and by the second one after it.
"""
from __future__ import annotations

import json
import random
import re
import socket
import sys
import time
from pathlib import Path

from exo_qemu import BootMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from rsp_model import frame, hex_text  # noqa: E402

TIMEOUT_S = 30.0
ROUNDS = 2000
BUDGET_S = 20.0          # rounds stop here: the old kernel panicked well within
PANIC = b"KERNEL PANIC"
OK = b"$OK#9a"


class Com2:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT_S)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def expect(self, marker: bytes) -> bool:
        """Read until `marker` arrives (dropping what came before it)."""
        deadline = time.monotonic() + TIMEOUT_S
        while (at := self.buf.find(marker)) < 0:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                return False
            self.buf += chunk
        del self.buf[:at + len(marker)]
        return True


def burst(rng: random.Random) -> bytes:
    if rng.random() < 0.5:
        return bytes(rng.randrange(256) for _ in range(rng.choice((16, 300, 1024))))
    body = b"q" + bytes(rng.randrange(256) for _ in range(rng.choice((0x801, 0x1000, 20000))))
    return frame(body)


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
    qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qmp.settimeout(TIMEOUT_S)
    try:
        qmp.connect(str(sock_path))
        reader = qmp.makefile("rb")
        reader.readline()                                   # the greeting

        def execute(command: str) -> None:
            qmp.sendall(json.dumps({"execute": command}).encode() + b"\n")
            while b'"return"' not in (line := reader.readline()):
                assert line, "QMP closed"

        execute("qmp_capabilities")
        execute("inject-nmi")
        # Two NMIs sent back to back would be one: let the kernel run
        # between them (or print the report already).
        q.send_line("uptime")
        q.wait_for(re.compile(rb"up \d|KERNEL PANIC"), TIMEOUT_S)
        execute("inject-nmi")
    finally:
        qmp.close()
    q.wait_for(re.compile(rb"KERNEL PANIC: exception 2 \(NMI\)"), TIMEOUT_S)
