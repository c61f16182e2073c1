"""The GDB remote protocol as the fuzzer needs it on the host: framing, and
a model of what the stub's decoder (gdbstub/rsp_codec.cc) will make of a
byte string, so that random bytes never smuggle in a packet that would
legitimately wreck the kernel (a `c ADDR` jumping to a random address, an
`M` over live data). Pure: no I/O.
"""
from __future__ import annotations

import re

PACKET_SIZE = 0x800            # the stub's PacketSize (rsp_codec.h)
REGISTER_BYTES = 396           # kGdbRegisterBytes (gdbstub/registers.h): a G body is twice this
MUST_ESCAPE = b"$#}*"
START, END, ESCAPE = 0x24, 0x23, 0x7D

# Shell commands that end the machine when run through `monitor`.
MACHINE_ENDERS = ("poweroff", "reboot")


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def escape(data: bytes) -> bytes:
    out = bytearray()
    for b in data:
        if b in MUST_ESCAPE:
            out += bytes([ESCAPE, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def frame(body, *, escaped: bool = False, sum_delta: int = 0) -> bytes:
    """`$body#cc`. body is raw (escaped here) unless escaped=True; a
    non-zero sum_delta gives a wrong checksum on purpose."""
    if isinstance(body, str):
        body = body.encode("latin-1")
    wire = body if escaped else escape(body)
    return b"$" + wire + b"#" + b"%02x" % ((checksum(wire) + sum_delta) & 0xFF)


def hex_text(text: str) -> str:
    return text.encode("latin-1").hex()


def decoded_packets(data: bytes) -> list[tuple[bytes, int]]:
    """What the stub accepts from `data`, fed from its idle state: each
    packet with a good checksum (oversized ones included) as (body with
    escapes undone, offset of its first checksum digit in `data`)."""
    out: list[tuple[bytes, int]] = []
    state, body, wire_sum, escaped, digits, at = "idle", bytearray(), 0, False, "", 0
    for i, b in enumerate(data):
        if b == START:
            state, body, wire_sum, escaped, digits = "body", bytearray(), 0, False, ""
            continue
        if state == "body":
            if b == END:
                state, at = "sum", i + 1
                continue
            wire_sum = (wire_sum + b) & 0xFF
            if escaped:
                body.append(b ^ 0x20)
                escaped = False
            elif b == ESCAPE:
                escaped = True
            else:
                body.append(b)
        elif state == "sum":
            digits += chr(b)
            if len(digits) == 2:
                state = "idle"
                if re.fullmatch(r"[0-9a-fA-F]{2}", digits) and int(digits, 16) == wire_sum:
                    out.append((bytes(body), at))
    return out


_HEX = rb"[0-9a-fA-F]"
_NUMBER_AND_MORE = re.compile(rb"^[cs]" + _HEX)                 # c ADDR / s ADDR
_SIGNAL_AND_ADDR = re.compile(rb"^[CS]" + _HEX + rb"+;")        # C sig;ADDR
_REGISTER_WRITE = re.compile(rb"^P" + _HEX + rb"+=")
_MEMORY_WRITE = re.compile(rb"^[MX]" + _HEX + rb"+," + _HEX + rb"+:")
_SOFT_BREAK = re.compile(rb"^Z0,")


def is_dangerous(body: bytes) -> bool:
    """Could this packet, as the stub parses it, change the kernel's memory
    or registers or end the machine? Conservative: True when unsure. (The
    fuzzer's own write-backs, which write what they read, are built
    elsewhere and never pass through here.)"""
    if _NUMBER_AND_MORE.match(body) or _SIGNAL_AND_ADDR.match(body):
        return True
    if body[:1] == b"G" and len(body) - 1 == 2 * REGISTER_BYTES:
        return True
    if _REGISTER_WRITE.match(body) or _MEMORY_WRITE.match(body):
        return True
    if _SOFT_BREAK.match(body):
        return True   # planted on the next resume: only at chosen addresses
    if body.startswith(b"qRcmd,"):
        hex_part = re.match(rb"[0-9a-fA-F]*", body[6:]).group(0)
        text = bytes.fromhex(hex_part[: len(hex_part) // 2 * 2].decode()).lower()
        return any(word.encode() in text for word in MACHINE_ENDERS)
    return False


def defuse(data: bytes) -> bytes:
    """`data` with the checksum of every dangerous packet in it spoiled (a
    non-hex digit: the stub NAKs it), so random bytes stay harmless."""
    data = bytearray(data)
    while True:
        bad = [at for body, at in decoded_packets(bytes(data)) if is_dangerous(body)]
        if not bad:
            return bytes(data)
        data[bad[0]] = ord("x")

