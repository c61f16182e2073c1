#!/usr/bin/env python3
"""Build the compact kernel symbol table (format: kernel/debug/symbol_table.h)
from `nm -n -S -C --defined-only` of the first-stage kernel: text symbols
with their sizes (so an address past a function's end is never misnamed),
short names, and functions under MIN_SIZE bytes left out to keep it small
(a frame in one shows its address only)."""
import struct
import subprocess
import sys


def short_name(name: str) -> str:
    name = name.replace('(anonymous namespace)::', '')
    depth = 0
    for i, ch in enumerate(name):  # cut at the parameter list's '(' at depth 0
        if ch == '<':
            depth += 1
        elif ch == '>':
            depth -= 1
        elif ch == '(' and depth == 0 and i > 0:
            name = name[:i]
            break
    name = name.replace('exo::', '').replace('(anonymous namespace)::', '')
    # Lambdas and template instances: keep the readable head only.
    for cut in ('{lambda', '<'):
        if cut in name:
            name = name[:name.index(cut)].rstrip(':') + ('{lambda}' if cut == '{lambda' else '<>')
    # A return type before the name (templates): drop it.
    if ' ' in name:
        name = name.rsplit(' ', 1)[1]
    # The function's own name says enough in a backtrace (with the address,
    # addr2line on exo-kernel.elf gives the rest) and keeps the table small.
    return name.split('::')[-1][:40]


MIN_SIZE = 128


def main() -> int:
    nm, elf, out = sys.argv[1:4]
    lines = subprocess.run([nm, '-n', '-S', '-C', '--defined-only', elf], check=True,
                           capture_output=True, text=True).stdout.splitlines()
    syms = {}
    for line in lines:
        parts = line.split(' ', 3)
        if len(parts) != 4 or parts[2] not in 'tTwW':
            continue
        addr, size = int(parts[0], 16), int(parts[1], 16)
        if addr < 0xFFFFFFFF80000000 or size < MIN_SIZE:
            continue  # the 32-bit trampoline runs before any backtrace matters
        syms.setdefault(addr, (min(size, 0xFFFF), short_name(parts[3])))
    addrs = sorted(syms)
    base = addrs[0] if addrs else 0
    strings = bytearray()
    entries = bytearray()
    offsets = {}
    for a in addrs:
        size, name = syms[a]
        if name not in offsets:
            offsets[name] = len(strings)
            strings += name.encode() + b'\0'
        entries += struct.pack('<IHH', a - base, size, offsets[name])
    if len(strings) > 0xFFFF:
        raise SystemExit('ksyms: names exceed the 16-bit offsets')
    blob = struct.pack('<IIQ', 0x4D59534B, len(addrs), base) + entries + strings
    if not addrs:
        blob = b''
    with open(out, 'wb') as f:
        f.write(blob)
    return 0


if __name__ == '__main__':
    sys.exit(main())
