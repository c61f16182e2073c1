#!/usr/bin/env python3
"""Build the kernel's embedded symbol table (format: kernel/debug/symbol_table.h)
from `nm -n -S -C --defined-only` of the first-stage kernel.

Every function in .text is listed (assembly labels without a size run to the
next symbol), with its own short name; padding between functions is kept out
so an address there is never misnamed. Names are compressed with byte-pair
tokens (as Linux's kallsyms does, but each token is stored as a pair of codes
and expanded recursively); the characters names use get the lowest codes, so
every other code can be a token. Sizes are a base-224/32 varint (size_code).

Usage: gen_ksyms.py NM ELF OUT
       gen_ksyms.py --listing NM_OUTPUT OUT [FUNCTIONS_TXT]   (test fixtures)
Importable: parse_nm, functions, short_name, encode, lookup (a reference decoder).
"""
import struct
import subprocess
import sys

HEADER = 6                    # base, token count, character count
END = 0                       # a name's expansion ends with code 0 ...
END_PAD1 = 1                  # ... or with 1: one byte of padding follows the function
FIRST_TOKEN = 2               # then the tokens, then the characters
MAX_DEPTH = 15                # token nesting (kSymbolTokenDepth: the decoder's stack)
SIZE_RADIX = 224              # size digits: 0..223 final, 224..255 a leading base-32 digit
MAX_NAME = 63                 # bytes kept of a name (kSymbolNameMax, the decoder's bound)
_TEXT_TYPES = 'tTwW'


def _strip_groups(s: str, opener: str, closer: str) -> str:
    """Drops every opener..closer group (nested), e.g. template arguments."""
    out, depth = [], 0
    for ch in s:
        if ch == opener:
            depth += 1
        elif ch == closer and depth:
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return ''.join(out)


def _components(name: str):
    """Splits a demangled name at the '::' that are outside (), <> and {}."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(name):
        ch = name[i]
        if ch in '(<{':
            depth += 1
        elif ch in ')>}' and depth:
            depth -= 1
        elif depth == 0 and name.startswith('::', i):
            parts.append(name[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(name[start:])
    return parts


def short_name(name: str, qualified: bool = False) -> str:
    """The function's own name (`qualified`: with its enclosing scope), without
    parameters, template arguments, return type or clone suffixes; a lambda is
    `enclosing{lambda}`. addr2line on exo-kernel.elf gives the rest."""
    name = name.split(' [clone ')[0].replace('(anonymous namespace)::', '')
    name = name.replace('}::operator()(', '}::_FUN(')  # a lambda's body: named like its invoker
    # Operators keep their symbol; the rest of the parsing must not see it.
    ops = {}
    for op in ('operator new[]', 'operator delete[]', 'operator new', 'operator delete',
               'operator()', 'operator<<', 'operator<', 'operator->', 'operator>'):
        while op in name:
            key = '@%d@' % len(ops)
            ops[key] = op.replace('operator ', '')
            name = name.replace(op, key, 1)
    # A return type (templates) ends at the last space outside any group.
    name = name.replace(') const', ')')  # const member functions, also before ::{lambda
    depth, cut = 0, 0
    for i, ch in enumerate(name):
        if ch in '(<{':
            depth += 1
        elif ch in ')>}' and depth:
            depth -= 1
        elif ch == ' ' and depth == 0:
            cut = i + 1
    parts = _components(name[cut:])
    clean = []
    for p in parts:
        if p.startswith('{lambda'):
            if clean:
                clean[-1] += '{lambda}'
            else:
                clean.append('{lambda}')
            continue
        p = _strip_groups(_strip_groups(p, '<', '>'), '(', ')').replace(' const', '').strip()
        p = p.split('.')[0]  # .isra.0, .constprop.0, .part.0, .cold
        if p in ('_FUN', '') and clean and clean[-1].endswith('{lambda}'):
            continue  # a lambda's static invoker
        if p:
            clean.append(p)
    if not clean:
        clean = ['?']
    if clean[0] == 'exo' and len(clean) > 1:
        clean = clean[1:]
    out = '::'.join(clean[-2:]) if qualified else clean[-1]
    for key, op in ops.items():
        out = out.replace(key, op)
    out = out.replace(' ', '')
    return out.encode('ascii', 'replace').decode()[:MAX_NAME]


def parse_nm(text: str):
    """Text symbols of the higher half, as (address, size or None, name) sorted by
    address, and the .text bounds (__text_start, __text_end). The linker
    script's markers are left out: they name no code."""
    syms, start, end = [], None, None
    for line in text.splitlines():
        parts = line.split(' ', 3)
        if len(parts) == 4 and len(parts[1]) == 16 and parts[2] in _TEXT_TYPES:
            addr, size, name = int(parts[0], 16), int(parts[1], 16), parts[3]
        else:
            parts = line.split(' ', 2)
            if len(parts) != 3 or parts[1] not in _TEXT_TYPES:
                continue
            addr, size, name = int(parts[0], 16), None, parts[2]
        if name == '__text_start':
            start = addr
        elif name == '__text_end':
            end = addr
        elif size is not None or not name.startswith('__'):
            syms.append((addr, size, name))  # not a linker script's marker (__nobreak_start)
    if start is None or end is None:
        start = min((a for a, _, _ in syms if a >= 0xFFFFFFFF80000000), default=0)
        end = max((a + (s or 0) for a, s, _ in syms), default=0)
    syms = [s for s in syms if start <= s[0] < end]
    syms.sort(key=lambda s: s[0])
    return syms, start, end


def functions(syms, text_end, qualified=False):
    """One (start, end, name) per text address: a sized symbol ends at its size,
    a label at the next symbol; the first sized name wins at a shared address."""
    by_addr = {}
    for addr, size, name in syms:
        if addr not in by_addr or (by_addr[addr][0] is None and size is not None):
            by_addr[addr] = (size, name)
    addrs = sorted(by_addr)
    out = []
    for i, addr in enumerate(addrs):
        size, name = by_addr[addr]
        nxt = addrs[i + 1] if i + 1 < len(addrs) else text_end
        end = nxt if size is None else min(addr + size, nxt)
        if end > addr:
            out.append((addr, end, short_name(name, qualified)))
    return out


def size_code(v: int) -> bytes:
    """v = (leading base-32 digits) * 224 + final digit; the leading digits are
    bytes 224..255, the final one a byte < 224: one byte below 224, two below 7168."""
    out = [v % SIZE_RADIX]
    v //= SIZE_RADIX
    while v:
        out.append(SIZE_RADIX + v % (256 - SIZE_RADIX))
        v //= 256 - SIZE_RADIX
    if len(out) > 4:
        raise ValueError('ksyms: function too large')
    return bytes(reversed(out))


def compress(seqs, first_token, max_tokens):
    """Byte-pair compression of code sequences (the names with their end marker):
    repeatedly replaces the most frequent adjacent pair within one sequence by a
    new code (first_token, first_token + 1, ...) while that saves bytes.
    Returns (pairs, sequences)."""
    seqs = [list(q) for q in seqs]
    pairs = []
    depth = {}  # code -> nesting depth of a token
    while len(pairs) < max_tokens:
        counts = {}
        for s in seqs:
            i = 0
            while i + 1 < len(s):
                p = (s[i], s[i + 1])
                if max(depth.get(p[0], 0), depth.get(p[1], 0)) < MAX_DEPTH:
                    counts[p] = counts.get(p, 0) + 1
                # Non-overlapping count for runs like "aaa".
                i += 2 if i + 2 < len(s) and s[i + 2] == s[i + 1] == s[i] else 1
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
        if counts[best] <= 2:  # a pair costs 2 bytes in the table
            break
        code = first_token + len(pairs)
        depth[code] = 1 + max(depth.get(best[0], 0), depth.get(best[1], 0))
        pairs.append(best)
        for k, s in enumerate(seqs):
            out, i = [], 0
            while i < len(s):
                if i + 1 < len(s) and (s[i], s[i + 1]) == best:
                    out.append(code)
                    i += 2
                else:
                    out.append(s[i])
                    i += 1
            seqs[k] = out
    return pairs, seqs


def encode(funcs) -> bytes:
    """funcs: (start, end, name) sorted, not overlapping. One byte of padding after
    a function is marked by its name's end; longer padding is an entry with an
    empty name."""
    if not funcs:
        return b''
    for _, _, name in funcs:
        if not name or any(not 0x22 <= ord(c) <= 0x7E for c in name):
            raise ValueError(f'ksyms: unencodable name {name!r}')
    # The characters' codes follow the tokens', whose count compress() decides:
    # 256 + i until then.
    chars = sorted({c for _, _, name in funcs for c in name.encode()})
    code_of = {c: 256 + i for i, c in enumerate(chars)}
    base = funcs[0][0]
    if not -(1 << 31) <= (base - (1 << 64) if base >= 1 << 63 else base) < (1 << 31):
        raise ValueError('ksyms: base is not a sign-extended 32-bit address')
    entries = []  # (size, name bytes with end marker)
    for i, (start, end, name) in enumerate(funcs):
        pad = funcs[i + 1][0] - end if i + 1 < len(funcs) else 0
        if pad < 0:
            raise ValueError('ksyms: overlapping functions')
        entries.append((end - start, [code_of[c] for c in name.encode()] + [END_PAD1 if pad == 1 else END]))
        if pad > 1:
            entries.append((pad, [END]))
    pairs, seqs = compress([n for _, n in entries], FIRST_TOKEN, 256 - FIRST_TOKEN - len(chars))

    def renumber(c):
        return c - 256 + FIRST_TOKEN + len(pairs) if c >= 256 else c
    pairs = [(renumber(a), renumber(b)) for a, b in pairs]
    seqs = [[renumber(c) for c in q] for q in seqs]
    blob = bytearray(struct.pack('<IBB', base & 0xFFFFFFFF, len(pairs), len(chars)))
    for a, b in pairs:
        blob += bytes((a, b))
    blob += bytes(chars)
    for (size, _), seq in zip(entries, seqs):
        blob += size_code(size) + bytes(seq)
    return bytes(blob)


def lookup(blob: bytes, addr: int):
    """Reference decoder (the tests compare the C++ one against it):
    (function start, name) or None."""
    if len(blob) < HEADER:
        return None
    base = struct.unpack_from('<i', blob)[0] & 0xFFFFFFFFFFFFFFFF
    ntok, nchars = blob[4], blob[5]
    first_char = FIRST_TOKEN + ntok
    pos = HEADER + 2 * ntok + nchars
    if pos > len(blob) or first_char + nchars > 256:
        return None
    pairs = blob[HEADER:HEADER + 2 * ntok]
    chars = blob[HEADER + 2 * ntok:pos]

    def expand(code, depth=0):
        t = code - FIRST_TOKEN
        if 0 <= t < ntok and depth < MAX_DEPTH:
            return expand(pairs[2 * t], depth + 1) + expand(pairs[2 * t + 1], depth + 1)
        return [code]

    start = base
    while pos < len(blob):
        size = 0
        while blob[pos] >= SIZE_RADIX:
            size = size * (256 - SIZE_RADIX) + blob[pos] - SIZE_RADIX
            pos += 1
        size = size * SIZE_RADIX + blob[pos]
        pos += 1
        codes = []  # a name's end marker is the last code of its expansion
        while not codes or codes[-1] >= FIRST_TOKEN:
            codes += expand(blob[pos])
            pos += 1
        if start <= addr < start + size:
            name = bytes(chars[c - first_char] for c in codes[:-1]).decode()
            return (start, name) if name else None
        start += size + (codes[-1] == END_PAD1)
    return None


def main() -> int:
    if len(sys.argv) >= 4 and sys.argv[1] == '--listing':
        # Test fixtures: from a saved listing, plus the expected functions.
        with open(sys.argv[2]) as f:
            text = f.read()
        out = sys.argv[3]
    elif len(sys.argv) == 4:
        nm, elf, out = sys.argv[1:4]
        text = subprocess.run([nm, '-n', '-S', '-C', '--defined-only', elf], check=True,
                              capture_output=True, text=True).stdout
    else:
        raise SystemExit('usage: gen_ksyms.py NM ELF OUT | --listing NM_OUTPUT OUT [FUNCTIONS_TXT]')
    syms, _, end = parse_nm(text)
    funcs = functions(syms, end)
    with open(out, 'wb') as f:
        f.write(encode(funcs))
    if sys.argv[1] == '--listing' and len(sys.argv) == 5:
        with open(sys.argv[4], 'w') as f:
            f.writelines(f'{s:x} {e:x} {n}\n' for s, e, n in funcs)
    return 0


if __name__ == '__main__':
    sys.exit(main())
