"""Addresses and lengths worth throwing at `x`, `pages`, and the stub's
m/M/X/Z/qCRC: the kernel's own ranges (from `pages --json` and the ELF's
symbols) and their edges, device and user memory, the non-canonical hole,
and plain random numbers. Deterministic for a given build and seed.
"""
from __future__ import annotations

import random
import subprocess
from pathlib import Path

U64 = (1 << 64) - 1
NON_CANONICAL = 0x0000800000000000   # first address of the hole
HIGHER_HALF = 0xFFFF800000000000
USER_IMAGE = 0x400000                 # where `user` programs run (kernel/user)

EDGE_LENGTHS = (0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 0x3ff, 0x400, 0x7ff, 0x800,
                0x801, 0xfff, 0x1000, 0x1001, 0xffff, 1 << 31, 1 << 32, 1 << 63, U64 - 1, U64)


class AddressBook:
    def __init__(self, mappings: list[dict], functions: list[int], text: tuple[int, int],
                 rodata: tuple[int, int]) -> None:
        # (start, end, flags) of every kernel mapping, as `pages --json` lists them.
        self.ranges = [(int(m["virt"], 16), int(m["virt"], 16) + int(m["page_size"]) * int(m["count"]),
                        m["flags"]) for m in mappings]
        self.functions = functions
        self.text = text
        self.rodata = rodata

    @classmethod
    def load(cls, elf: Path, pages_json: dict) -> "AddressBook":
        # -S: sized symbols only are functions (asm labels have no size).
        out = subprocess.run(["nm", "-n", "-S", str(elf)], check=True, capture_output=True, text=True).stdout
        rows = [ln.split() for ln in out.splitlines()]
        by_name = {r[-1]: int(r[0], 16) for r in rows if len(r) >= 3}
        text = (by_name["__text_start"], by_name["__text_end"])
        rodata = (by_name["__rodata_start"], by_name["__rodata_end"])
        functions = sorted({int(r[0], 16) for r in rows
                            if len(r) == 4 and r[2] in "tT" and int(r[1], 16) > 0
                            and text[0] <= int(r[0], 16) < text[1]})
        return cls(pages_json["mappings"], functions, text, rodata)

    def mapped(self, rng: random.Random, flags: str = "") -> int:
        """An address inside a mapping whose flags start with `flags`."""
        pool = [r for r in self.ranges if r[2].startswith(flags)] or self.ranges
        start, end, _ = rng.choice(pool)
        return rng.randrange(start, end)

    def unmapped(self, rng: random.Random) -> int:
        """An address no kernel mapping covers (the page after a mapping, a
        hole below the image, the non-canonical hole, low memory)."""
        starts = {r[0] for r in self.ranges}
        edges = [end for _, end, _ in self.ranges if end not in starts and end < U64]
        choice = rng.randrange(4)
        if choice == 0 and edges:
            return rng.choice(edges) + rng.randrange(0x1000)
        if choice == 1:
            return rng.randrange(NON_CANONICAL, HIGHER_HALF)
        if choice == 2:
            return rng.randrange(0x1000)
        return self.text[0] - 0x1000 - rng.randrange(0x1000) if self.text[0] else 0

    def edge(self, rng: random.Random) -> int:
        """Either side of a mapping's start or end."""
        start, end, _ = rng.choice(self.ranges)
        return (rng.choice((start, end)) + rng.choice((-8, -1, 0, 1, 7))) & U64

    def address(self, rng: random.Random) -> int:
        """Any of the above, or a wild number."""
        pick = rng.randrange(10)
        if pick < 3:
            return self.mapped(rng)
        if pick < 5:
            return self.unmapped(rng)
        if pick < 7:
            return self.edge(rng)
        if pick == 7:
            return rng.choice((0, U64, U64 - 7, NON_CANONICAL - 1, NON_CANONICAL, HIGHER_HALF,
                               HIGHER_HALF - 1, USER_IMAGE, 0xFEE00000, 0xFEC00000))
        if pick == 8 and self.functions:
            return rng.choice(self.functions) + rng.randrange(16)
        return rng.getrandbits(64)

    def length(self, rng: random.Random) -> int:
        if rng.random() < 0.5:
            return rng.choice(EDGE_LENGTHS)
        return rng.getrandbits(rng.choice((4, 8, 12, 16, 32, 64)))

    def function(self, rng: random.Random) -> int:
        return rng.choice(self.functions) if self.functions else self.text[0]

    def readonly_kernel(self, rng: random.Random, length: int) -> int:
        """A start in .text or .rodata such that `length` bytes stay inside:
        memory nothing changes while the kernel is stopped, so writing back
        what was read there is harmless."""
        lo, hi = rng.choice([r for r in (self.text, self.rodata) if r[1] - r[0] > length] or [self.text])
        return rng.randrange(lo, max(lo + 1, hi - length))
