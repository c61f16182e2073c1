"""`exo shell`: this terminal wired to COM1.

Raw mode (every key, Ctrl-C included, goes to the kernel's line editor),
Ctrl-] leaves, and the terminal is restored on every path out: normal
exit, an exception, SIGTERM/SIGHUP (the CLI turns them into SystemExit).
When stdin is not a terminal, its bytes are sent as they are and the session
ends once stdin is at EOF and the kernel is back at its prompt.
"""
from __future__ import annotations

import os
import select
import sys
import termios
import threading
import time
import tty
from typing import Optional

from .connection import PROMPT, ConnectionLost, Session

ESCAPE = b"\x1d"        # Ctrl-]
QUIET_AFTER_EOF_S = 0.3
MAX_WAIT_AFTER_EOF_S = 30.0


class _Pump(threading.Thread):
    """COM1 -> stdout, until stopped or the connection dies."""

    def __init__(self, session: Session, out_fd: int):
        super().__init__(name="exo-shell-pump", daemon=True)
        self.session = session
        self.out_fd = out_fd
        self.stop_event = threading.Event()
        self.lost: Optional[ConnectionLost] = None
        self.last_data = time.monotonic()
        self.tail = b""
        self.prompt_since_write = False

    def note_write(self) -> None:
        self.prompt_since_write = False

    def at_prompt(self) -> bool:
        """The kernel printed its prompt after our last input, and nothing since."""
        return self.prompt_since_write and self.tail.endswith(PROMPT)

    def _write(self, data: bytes) -> None:
        self.tail = (self.tail + data)[-len(PROMPT):]
        if self.tail.endswith(PROMPT):
            self.prompt_since_write = True
        while data:
            n = os.write(self.out_fd, data)
            data = data[n:]

    def run(self) -> None:
        shell = self.session.shell
        try:
            if shell.buf:  # what arrived before the terminal took over
                self._write(bytes(shell.buf))
                shell.buf.clear()
            while not self.stop_event.is_set():
                data = shell.transport.read(0.1)
                if data:
                    self.last_data = time.monotonic()
                    if shell.transcript is not None:
                        shell.transcript.write(data.decode(errors="replace"))
                    self._write(data)
        except ConnectionLost as e:
            self.lost = e
        except OSError:
            pass


def interactive(session: Session, stdin_fd: int = 0, stdout_fd: int = 1,
                banner: bool = True) -> int:
    """Run the terminal until Ctrl-], EOF on stdin, or the kernel goes away.
    Returns 0, or raises ConnectionLost."""
    is_tty = os.isatty(stdin_fd)
    if banner:
        how = "Ctrl-] leaves" if is_tty else "stdin is not a terminal: EOF leaves"
        print(f"exo shell: connected to {session.where} ({how})", file=sys.stderr, flush=True)
    saved = termios.tcgetattr(stdin_fd) if is_tty else None
    pump = _Pump(session, stdout_fd)
    try:
        if is_tty:
            tty.setraw(stdin_fd, termios.TCSANOW)
        pump.start()
        eof_at: Optional[float] = None
        while pump.is_alive():
            if eof_at is not None:
                # stdin is done: leave once the kernel is back at its prompt
                now = time.monotonic()
                if (pump.at_prompt() and now - pump.last_data >= QUIET_AFTER_EOF_S) \
                        or now - eof_at > MAX_WAIT_AFTER_EOF_S:
                    break
                time.sleep(0.05)
                continue
            ready, _, _ = select.select([stdin_fd], [], [], 0.1)
            if not ready:
                continue
            data = os.read(stdin_fd, 1024)
            if not data:
                eof_at = time.monotonic()
                continue
            if is_tty and ESCAPE in data:
                before = data.split(ESCAPE, 1)[0]
                if before:
                    session.shell.write(before)
                break
            pump.note_write()
            session.shell.write(data)
    finally:
        pump.stop_event.set()
        if saved is not None:
            termios.tcsetattr(stdin_fd, termios.TCSADRAIN, saved)
        pump.join(1.0)
    if is_tty:
        os.write(stdout_fd, b"\r\n")
    if pump.lost is not None:
        raise pump.lost
    return 0
