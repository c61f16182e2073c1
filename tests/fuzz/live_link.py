"""One booted machine for the live fuzzer: COM1 (the shell) through
exo_qemu.Qemu, COM2 (the GDB stub) on a loopback TCP socket, both
transcribed in full. Bytes go out through a writer thread per channel, so a
kernel that stops reading (a full pipe or socket) shows up as a missed
answer instead of blocking the fuzzer.
"""
from __future__ import annotations

import queue
import re
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Optional

REPO_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_DIR / "host-tools"))

from exo_qemu import BootMode, ByteStream, Qemu  # noqa: E402
from exo_shell import Shell  # noqa: E402

BOOT_TIMEOUT_S = 60.0


class LinkDead(Exception):
    """QEMU exited or a channel closed."""


class Com2Stream(ByteStream):
    """Bytes from the stub, with a cursor like Qemu.wait_for's."""

    def __init__(self) -> None:
        super().__init__()
        self.cursor = 0

    def mark(self) -> int:
        with self.cond:
            self.cursor = len(self.data)
            return self.cursor

    def wait(self, pattern: "re.Pattern[bytes]", timeout: float) -> Optional["re.Match[bytes]"]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = pattern.search(self.data, self.cursor)
                if m:
                    self.cursor = m.end()
                    return m
                remaining = deadline - time.monotonic()
                if self.eof:
                    raise LinkDead("COM2 closed")
                if remaining <= 0:
                    return None
                self.cond.wait(remaining)

    def snapshot(self) -> bytes:
        with self.cond:
            return bytes(self.data)


class Writer:
    """Sends queued bytes in order on its own thread."""

    def __init__(self, name: str, write) -> None:
        self.write = write
        self.error: Optional[BaseException] = None
        self.queue: "queue.Queue[Optional[bytes]]" = queue.Queue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        while (data := self.queue.get()) is not None:
            try:
                self.write(data)
            except BaseException as e:  # noqa: BLE001 - reported by send()
                self.error = e
                return

    def send(self, data: bytes) -> None:
        if self.error is not None:
            raise LinkDead(f"cannot send: {self.error!r}")
        self.queue.put(data)

    def close(self) -> None:
        self.queue.put(None)


class Link:
    def __init__(self, build_dir: Path, mode: BootMode, append: Optional[str] = None,
                 extra_args: tuple = ()) -> None:
        self.q = Qemu(mode, build_dir=build_dir, com2="tcp", append=append, extra_args=extra_args)
        self.sock: Optional[socket.socket] = None
        try:
            self.sock = self.q.connect_com2(BOOT_TIMEOUT_S)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.com2 = Com2Stream()
            threading.Thread(target=self.com2.pump, args=(lambda: self.sock.recv(65536),), name="com2-reader",
                             daemon=True).start()
            self.com1_writer = Writer("com1-writer", self.q.send)
            self.com2_writer = Writer("com2-writer", self.sock.sendall)
            self.shell = Shell(self.q, self.send_com1)
            self.q.wait_prompt(BOOT_TIMEOUT_S)
        except BaseException:
            self.close()
            raise

    def send_com1(self, data: bytes) -> None:
        self.com1_writer.send(data)

    def send_com2(self, data: bytes) -> None:
        self.com2_writer.send(data)

    def alive(self) -> bool:
        return self.q.returncode is None

    def close(self) -> None:
        for w in ("com1_writer", "com2_writer"):
            if hasattr(self, w):
                getattr(self, w).close()
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.q.kill()

    def __enter__(self) -> "Link":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

