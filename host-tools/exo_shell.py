"""The shell on COM1 driven by long-running host scripts (the live fuzzer,
the soak): commands recognised by their answers rather than by prompt
positions, since log lines from dying user programs land between a
command's writes and redraw the prompt. Each wait is for a marker, with a
timeout as an upper bound only.

Standard library only; used with an exo_qemu.Qemu.
"""
from __future__ import annotations

import json
import re
import time
from typing import Callable, Optional

from exo_qemu import PROMPT, Qemu, QemuTimeout

END = re.compile(rb"\Z")
CTRL_C = b"\x03"   # cancels a half-typed line, or is the key that ends `watch`
JSON_LINE = re.compile(rb'(\{"[a-z_]+":[^\r\n]*\})\r?\n')
UPTIME = re.compile(rb"up \d+:\d\d:\d\d\.\d+")
THREADS_LINE = re.compile(rb'(\{"schema":1,"switches"[^\r\n]*\})\r?\n')
RING3 = 3
# What must be equal at idle before and after a campaign: frames in use
# other than the heap's own (the heap keeps pages it grew into, by design),
# heap bytes in use, kernel page tables, threads.
LEAK_FIGURES = ("frames_kib", "heap_used_bytes", "page_tables_kib", "threads")


class Shell:
    def __init__(self, q: Qemu, send: Optional[Callable[[bytes], None]] = None) -> None:
        self.q = q
        self.send = send or q.send

    def mark(self) -> int:
        """Later waits look only at output from now on; returns that offset."""
        return self.q.wait_for(END, 0).end

    def wait(self, marker, timeout: float):
        """The match, or None on timeout (QemuExited propagates)."""
        try:
            return self.q.wait_for(marker, timeout)
        except QemuTimeout:
            return None

    def sync(self, tag: str, timeout: float) -> bool:
        """Cancel whatever is half-typed (or stop a `watch`), then type an
        unknown command `zz<tag>`: its error proves the shell read every
        byte before it and finished every command typed earlier."""
        start = self.mark()
        self.send(CTRL_C + f"zz{tag}\r".encode())
        if self.wait(re.compile(rb"zz" + tag.encode() + rb"'"), timeout):
            return True
        # A log line may have landed between the error's pieces: then the
        # name shows twice (echo and error) with a prompt after.
        seen = self.q.output[start:]
        last = seen.rfind(b"zz" + tag.encode())
        return seen.count(b"zz" + tag.encode()) >= 2 and PROMPT in seen[last:]

    def command(self, line: str, answer, timeout: float):
        self.mark()
        self.send(CTRL_C + line.encode() + b"\r")
        return self.wait(answer, timeout)

    def uptime_ok(self, timeout: float) -> bool:
        return self.command("uptime", UPTIME, timeout) is not None and self.wait(PROMPT, timeout) is not None

    def json(self, cmd: str, timeout: float, tries: int = 3) -> Optional[dict]:
        """`cmd --json` parsed; retried when a log line split the record."""
        for _ in range(tries):
            m = self.command(f"{cmd} --json", JSON_LINE, timeout)
            if m is None:
                return None
            try:
                return json.loads(m.groups[0])
            except ValueError:
                continue
        return None

    def wait_idle(self, timeout: float) -> Optional[list]:
        """Until no ring-3 program is left, read from `watch threads 100`:
        it sleeps between samples, so the programs (of lower priority than
        the shell) run; polling `threads --json` back to back kept the shell
        busy and starved them."""
        deadline = time.monotonic() + timeout
        self.mark()
        self.q.send(CTRL_C + b"watch threads 100\r")
        try:
            while time.monotonic() < deadline:
                m = self.wait(THREADS_LINE, max(0.1, deadline - time.monotonic()))
                if m is None:
                    return None
                try:
                    threads = json.loads(m.groups[0]).get("threads", [])
                except ValueError:
                    continue   # a log line cut it: the next sample
                if not any(t.get("ring") == RING3 for t in threads):
                    return threads
            return None
        finally:
            self.q.send(CTRL_C)   # any key ends the watch
            self.wait(PROMPT, timeout)

    def idle_figures(self, timeout: float) -> Optional[dict]:
        """The leak figures at idle (no user program running)."""
        threads = self.wait_idle(timeout)
        mem = self.json("mem", timeout) if threads is not None else None
        if mem is None:
            return None
        phys, heap = mem["phys"], mem["heap"]
        return {"frames_kib": phys["used_kib"] - phys["heap_kib"], "heap_used_bytes": heap["used_bytes"],
                "page_tables_kib": phys["page_tables_kib"], "threads": len(threads),
                "used_kib": phys["used_kib"], "heap_kib": phys["heap_kib"], "heap_mapped_bytes": heap["mapped_bytes"]}


def leaks(before: dict, after: dict) -> list[str]:
    return [f"{k}: {before[k]} -> {after[k]}" for k in LEAK_FIGURES if before[k] != after[k]]


def describe(figures: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in figures.items())
