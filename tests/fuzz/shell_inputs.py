"""Inputs for the shell on COM1: random bytes, escape sequences, 10 KB
lines, and well-formed command lines with random arguments. Each input is
an op (a dict the campaign logs and replays); this module only builds them.

Excluded, because they end the machine or hang it on purpose: `poweroff`,
`reboot`, `fault` (named by the caller from `help --json`). Tab is never
in random bytes: completion could turn `po<Tab>` into `poweroff `.
"""
from __future__ import annotations

import random
import re

from address_book import AddressBook

# Commands that end or hang the machine by design (README: `fault spin` hangs).
FORBIDDEN = ("poweroff", "reboot", "fault")
TAB = 0x09
CTRL_C = b"\x03"
LONG_LINE = 10 * 1024

KEYS = (b"\x1b[A", b"\x1b[B", b"\x1b[C", b"\x1b[D", b"\x1b[H", b"\x1b[F", b"\x1b[1~", b"\x1b[3~",
        b"\x1b[4~", b"\x1b[7~", b"\x1b[8~", b"\x1bOA", b"\x1bOB", b"\x1bOH", b"\x1bOF", b"\x01",
        b"\x02", b"\x04", b"\x05", b"\x06", b"\x0b", b"\x0c", b"\x0e", b"\x10", b"\x15", b"\x17",
        b"\x7f", b"\x08", b"\x1b", b"\x1b\x1b", b"\x1b[", b"\x1bO")


def _safe(text: str) -> bool:
    return not any(word in text for word in FORBIDDEN)


class ShellInputs:
    def __init__(self, rng: random.Random, commands: list[dict], book: AddressBook) -> None:
        self.rng = rng
        self.book = book
        self.commands = [c for c in commands if c["name"] not in FORBIDDEN]
        self.names = [c["name"] for c in self.commands]
        # The fixed words each usage line offers (`user sampler|badptr|...`).
        self.words = {c["name"]: [w for w in re.findall(r"[a-z][a-z0-9-]*", c["usage"])[1:]
                                  if _safe(w)] for c in self.commands}

    # -- bytes ----------------------------------------------------------------

    def _random_bytes(self, n: int) -> bytes:
        rng = self.rng
        out = bytearray()
        for _ in range(n):
            r = rng.random()
            if r < 0.6:
                out.append(rng.randrange(0x20, 0x7F))
            elif r < 0.75:
                out += rng.choice(KEYS)
            elif r < 0.8:
                out.append(rng.choice(b"\r\n"))
            else:
                out.append(rng.randrange(256))
        return bytes(b for b in out if b != TAB)

    def noise(self) -> dict:
        n = self.rng.choice((1, 2, 8, 40, 120, 300))
        return {"ch": "com1", "op": "bytes", "why": "noise", "hex": self._random_bytes(n).hex()}

    def escapes(self) -> dict:
        rng = self.rng
        out = bytearray()
        for _ in range(rng.randrange(1, 30)):
            r = rng.random()
            if r < 0.5:
                out += rng.choice(KEYS)
            elif r < 0.7:   # a CSI with odd parameters, or never finished
                params = ";".join(str(rng.choice((0, 1, 9, 99, 9999, 99999, 2 ** 40)))
                                  for _ in range(rng.randrange(4)))
                out += b"\x1b[" + params.encode() + bytes([rng.randrange(0x20, 0x7F)])
            elif r < 0.8:
                out += b"\x1b[" + b"1" * rng.randrange(10, 40)   # past the 16-byte limit
            else:
                out += bytes(rng.randrange(0x20, 0x7F) for _ in range(rng.randrange(1, 8)))
        if rng.random() < 0.5:
            out += b"\r"
        return {"ch": "com1", "op": "bytes", "why": "escapes", "hex": bytes(out).hex()}

    def long_line(self) -> dict:
        rng = self.rng
        n = rng.choice((257, 1000, LONG_LINE))
        body = rng.choice((
            lambda: bytes(rng.randrange(0x20, 0x7F) for _ in range(n)),
            lambda: (rng.choice(self.names) + " ").encode() + b"a" * n,
            lambda: b" ".join([b"x"] * (n // 2)),
        ))()
        return {"ch": "com1", "op": "bytes", "why": "long line", "hex": (body[:n] + b"\r").hex()}

    def completion(self) -> dict:
        """A prefix, Tab once or twice, then Ctrl-C: whatever it completed to
        (`poweroff` included) is cancelled, never run."""
        rng = self.rng
        name = rng.choice(self.names + ["p", "f", "r", "w", "u", "x"])
        prefix = name[: rng.randrange(0, len(name) + 1)]
        if rng.random() < 0.4:
            prefix = name + " " + rng.choice(self.words.get(name, [""]) + [""])[:rng.randrange(3)]
        data = prefix.encode() + b"\t" * rng.randrange(1, 3) + CTRL_C
        return {"ch": "com1", "op": "bytes", "why": "completion", "hex": data.hex()}

    # -- command lines --------------------------------------------------------

    def _arg(self, name: str) -> str:
        rng = self.rng
        r = rng.randrange(12)
        if r < 3 and self.words.get(name):
            return rng.choice(self.words[name])
        if r < 5:
            return hex(self.book.address(rng))
        if r == 5:
            return str(self.book.length(rng))
        if r == 6:
            return "--json"
        if r == 7:
            return rng.choice(('""', '"a b"', '"unterminated', "'x'", "-1", "0x", "0x" + "f" * 20,
                               "99999999999999999999", "1e9", "\\", "%s%n%x", "é"))
        if r == 8:
            return rng.choice(self.names)
        return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(rng.randrange(1, 12)))

    def command_line(self, names=None) -> str:
        rng = self.rng
        while True:
            name = rng.choice(names or self.names)
            count = rng.choice((0, 1, 1, 2, 2, 3, 17, 20))
            args = [self._arg(name) for _ in range(count)]
            line = " ".join([name] + args)
            if name == "x" and rng.random() < 0.7:   # mostly well-formed dumps
                line = f"x {hex(self.book.address(rng))} {self.book.length(rng) % 0x2000}"
            if _safe(line):
                return line

    def command(self) -> dict:
        names = [n for n in self.names if n != "watch"]
        return {"ch": "com1", "op": "command", "line": self.command_line(names)}

    def watch(self) -> dict:
        """`watch CMD MS`, stopped by a key after a random moment."""
        rng = self.rng
        target = rng.choice(self.names + ["nosuch", "watch"])
        ms = rng.choice(("10", "100", "9", "60000", "60001", "0", "-5", "abc", str(rng.randrange(10, 500))))
        line = f"watch {target} {ms}" if rng.random() < 0.9 else f"watch {target}"
        key = bytes([rng.choice((0x20, 0x0D, 0x71, 0x03, 0x1B, rng.randrange(0x20, 0x7F)))])
        return {"ch": "com1", "op": "watch", "line": line, "key": key.hex(),
                "after_ms": rng.choice((0, 50, 300, 1000))}

    def next(self) -> dict:
        pick = self.rng.random()
        if pick < 0.25:
            return self.noise()
        if pick < 0.40:
            return self.escapes()
        if pick < 0.45:
            return self.long_line()
        if pick < 0.52:
            return self.completion()
        if pick < 0.60:
            return self.watch()
        return self.command()
