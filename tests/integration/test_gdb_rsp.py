"""The GDB stub on COM2, spoken to packet by packet (in the spirit of Linux's
kgdbts): framing, checksums and acknowledgements are done here by hand, over
a TCP socket on QEMU's COM2 chardev, so every byte the stub sends is checked.

Each test boots its own PVH machine (a fraction of a second), attaches by
sending its first packet (which stops the kernel), and ends by detaching and
running a command on COM1: the kernel must still answer there after anything
the debugger did. Addresses come from the kernel ELF's symbols (`nm`) and
from `pages --json`, never hard-coded.

Every wait is for bytes (a reply on COM2, a marker on COM1) with a timeout as
an upper bound; nothing sleeps. A failing check prints the packets exchanged.

The RSP client and the symbol helpers here are reused by test_gdb_batch.py.
"""
from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Optional, Union

import pytest

import exo_qemu
from exo_qemu import BootMode, Qemu

REPLY_TIMEOUT_S = 20.0   # upper bound for one reply (TCG on a loaded machine)
CMD_TIMEOUT_S = 20.0
PACKET_SIZE = 0x800      # what the stub advertises; bodies up to this size
STEPS = 1000
HIGHER_HALF = 0xFFFF800000000000
PAGE = 4096

# `T` stop reply: signal, then `name:value;` pairs (registers by hex number,
# thread:, swbreak:, hwbreak:, watch:ADDR ...).
STOP_REPLY = re.compile(r"^T([0-9a-f]{2})((?:[^;:]+:[^;]*;)*)$")
RIP, RSP, RBP = 0x10, 0x07, 0x06
SIGINT, SIGTRAP = 2, 5


# --------------------------------------------------------------------------
# Kernel symbols

_LTO_SUFFIX = re.compile(r"(\.lto_priv\.\d+|\.constprop\.\d+|\.isra\.\d+|\.part\.\d+|\.cold)+$")


class Symbols:
    """`nm -S` of the kernel ELF, demangled, LTO/clone suffixes dropped."""

    def __init__(self, elf: Path) -> None:
        self.elf = elf
        self.entries: list[tuple[int, int, str, str]] = []  # addr, size, type, name
        raw = subprocess.run(["nm", "-S", str(elf)], check=True, capture_output=True, text=True).stdout
        lines = [ln.split(None, 3) for ln in raw.splitlines()]
        lines = [ln for ln in lines if len(ln) == 4]
        mangled = [_LTO_SUFFIX.sub("", ln[3]) for ln in lines]
        names = subprocess.run(["c++filt"], input="\n".join(mangled), check=True,
                               capture_output=True, text=True).stdout.splitlines()
        for (addr, size, kind, _), name in zip(lines, names):
            name = re.sub(r" \[clone [^\]]*\]$", "", name)
            self.entries.append((int(addr, 16), int(size, 16), kind, name))

    def find(self, suffix: str, kinds: str = "tTbBdD") -> tuple[int, int]:
        """(address, size) of the one symbol whose demangled name is `suffix`
        or ends in `::suffix` (with the given nm types)."""
        hits = {(a, s) for a, s, k, n in self.entries
                if k in kinds and (n == suffix or n.endswith("::" + suffix) or n.endswith("::" + suffix + "()")
                                   or re.search(r"(^|::)" + re.escape(suffix) + r"\(", n))}
        assert len(hits) == 1, f"symbol {suffix!r} in {self.elf}: {len(hits)} matches {sorted(hits)}"
        return hits.pop()

    def address(self, suffix: str, kinds: str = "tTbBdD") -> int:
        return self.find(suffix, kinds)[0]


@pytest.fixture(scope="session")
def kernel_symbols(build_dir) -> Symbols:
    elf = build_dir / "exo-kernel.elf"
    if not elf.is_file():
        pytest.fail(f"{elf} is missing: build the kernel first (or set EXO_BUILD_DIR)", pytrace=False)
    return Symbols(elf)


# --------------------------------------------------------------------------
# The RSP client

def checksum(data: bytes) -> int:
    return sum(data) & 0xFF


def frame(body: Union[bytes, str]) -> bytes:
    if isinstance(body, str):
        body = body.encode()
    return b"$" + body + b"#" + b"%02x" % checksum(body)


def escape(data: bytes) -> bytes:
    """Binary data for X packets: $ # } * escaped as } (byte ^ 0x20)."""
    out = bytearray()
    for b in data:
        if b in b"$#}*":
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


def decode_body(raw: bytes) -> bytes:
    """Undo `}` escapes and `*` run-length encoding of a received body."""
    out = bytearray()
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == 0x7D:
            out.append(raw[i + 1] ^ 0x20)
            i += 2
        elif c == 0x2A:
            out += out[-1:] * (raw[i + 1] - 29)
            i += 2
        else:
            out.append(c)
            i += 1
    return bytes(out)


class RspError(AssertionError):
    pass


class Rsp:
    """One gdb-side connection. Ack mode throughout (as gdb starts)."""

    def __init__(self, sock: socket.socket) -> None:
        # As gdb does: each small packet leaves at once (no Nagle delay).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self.port: Optional[int] = None
        self.buf = bytearray()
        self.log: list[tuple[str, bytes]] = []

    # -- the transcript -------------------------------------------------

    def _note(self, direction: str, data: bytes) -> None:
        self.log.append((direction, bytes(data)))

    def transcript(self, last: int = 30) -> str:
        lines = []
        for d, data in self.log[-last:]:
            shown = data if len(data) <= 200 else data[:120] + b"...(%d bytes)..." % len(data) + data[-40:]
            lines.append(f"  {d} {shown!r}")
        return "packets exchanged (last %d):\n%s" % (min(last, len(self.log)), "\n".join(lines))

    def why(self, what: str) -> str:
        """An assertion message: `what` and the packets exchanged."""
        return f"{what}\n{self.transcript()}"

    def fail(self, what: str) -> RspError:
        return RspError(self.why(what))

    # -- bytes ------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        self._note("->", data)
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self.fail(f"timed out after {REPLY_TIMEOUT_S} s waiting for the stub "
                            f"(unparsed: {bytes(self.buf)!r})")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise self.fail(f"timed out waiting for the stub (unparsed: {bytes(self.buf)!r})") from None
        if not chunk:
            raise self.fail("the COM2 connection closed")
        self.buf += chunk

    def read_byte(self, timeout: float = REPLY_TIMEOUT_S) -> int:
        deadline = time.monotonic() + timeout
        while not self.buf:
            self._fill(deadline)
        b = self.buf[0]
        del self.buf[0]
        self._note("<-", bytes([b]))
        return b

    def expect_ack(self, want: bytes = b"+", timeout: float = REPLY_TIMEOUT_S) -> None:
        got = self.read_byte(timeout)
        if bytes([got]) != want:
            raise self.fail(f"expected {want!r} from the stub, got {bytes([got])!r}")

    def read_packet(self, timeout: float = REPLY_TIMEOUT_S, ack: bool = True) -> str:
        """The next packet's body (decoded); acknowledged with `+`. Bytes
        before its `$` are an error (no stray acks, no noise)."""
        deadline = time.monotonic() + timeout
        while True:
            end = self.buf.find(b"#")
            if self.buf[:1] and self.buf[:1] != b"$":
                raw = bytes(self.buf)
                self._note("<-", raw)
                raise self.fail(f"expected a packet, got {raw!r}")
            if end >= 0 and len(self.buf) >= end + 3:
                break
            self._fill(deadline)
        raw = bytes(self.buf[:end + 3])
        del self.buf[:end + 3]
        self._note("<-", raw)
        body = raw[1:end]
        if b"$" in body:
            raise self.fail(f"a `$` inside a packet body: {raw!r}")
        try:
            sent_sum = int(raw[end + 1:end + 3], 16)
        except ValueError:
            raise self.fail(f"checksum digits are not hex: {raw!r}") from None
        if sent_sum != checksum(body):
            raise self.fail(f"bad checksum from the stub: {raw!r} (sum {checksum(body):02x})")
        if ack:
            self.send_raw(b"+")
        return decode_body(body).decode("latin-1")

    # -- packets ------------------------------------------------------------

    def send(self, body: Union[bytes, str]) -> None:
        """Send one packet and wait for its `+`."""
        self.send_raw(frame(body))
        self.expect_ack()

    def request(self, body: Union[bytes, str], timeout: float = REPLY_TIMEOUT_S) -> str:
        self.send(body)
        return self.read_packet(timeout)

    def no_pending_bytes(self) -> None:
        """Nothing unread: the stub said exactly what it had to."""
        if self.buf:
            raise self.fail(f"unexpected bytes from the stub: {bytes(self.buf)!r}")

    # -- helpers ------------------------------------------------------------

    def stop_reply(self, reply: str) -> dict:
        """Parse a T stop reply: {'signal': n, key: value, ...}; registers by number."""
        m = STOP_REPLY.match(reply)
        if not m:
            raise self.fail(f"not a T stop reply: {reply!r}")
        out: dict = {"signal": int(m.group(1), 16)}
        for pair in m.group(2).split(";")[:-1]:
            key, _, value = pair.partition(":")
            if re.fullmatch(r"[0-9a-f]{1,2}", key):
                out[int(key, 16)] = int.from_bytes(bytes.fromhex(value), "little")
            else:
                out[key] = value
        return out

    def read_memory(self, address: int, length: int) -> str:
        return self.request(f"m{address:x},{length:x}")

    def memory(self, address: int, length: int) -> bytes:
        reply = self.read_memory(address, length)
        if not re.fullmatch(r"(?:[0-9a-f]{2})*", reply) or reply.startswith("E") and len(reply) == 3:
            raise self.fail(f"m{address:x},{length:x} answered {reply!r}")
        return bytes.fromhex(reply)

    def ok(self, body: Union[bytes, str]) -> None:
        reply = self.request(body)
        if reply != "OK":
            shown = body if isinstance(body, str) else body.decode("latin-1")
            raise self.fail(f"{shown[:60]!r} answered {reply!r}, not OK")

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Machines

def com2_chardev(port: int) -> str:
    """COM2 on loopback TCP with TCP_NODELAY on QEMU's side, as QEMU's own
    `-gdb tcp:...` stub sets it. Without it, QEMU's Nagle holds each reply
    behind the stub's `+` until the host's delayed ACK (~40 ms a packet)."""
    return exo_qemu.tcp_chardev(port) + ",nodelay=on"


def connect(port: int) -> Rsp:
    rsp = Rsp(socket.create_connection((exo_qemu.LOOPBACK, port), timeout=REPLY_TIMEOUT_S))
    rsp.port = port
    return rsp


@pytest.fixture
def kernel(booted):
    """Factory: a PVH machine at the prompt, COM2 on TCP, and an Rsp on it
    (connected, nothing sent yet: the kernel runs). plain_chardev=True uses
    the launcher's own COM2 wiring (com2="tcp", connect_com2())."""
    conns: list[Rsp] = []

    def start(plain_chardev: bool = False, **kwargs) -> tuple[Qemu, Rsp]:
        if plain_chardev:
            q = booted(BootMode.PVH, com2="tcp", **kwargs)
            rsp = Rsp(q.connect_com2())
            rsp.port = q.com2_port
        else:
            port = exo_qemu.free_tcp_port()
            q = booted(BootMode.PVH, com2=com2_chardev(port), **kwargs)
            rsp = connect(port)   # the listener exists: QEMU made it before the guest ran
        conns.append(rsp)
        return q, rsp

    yield start
    for rsp in conns:
        rsp.close()


def attach(rsp: Rsp) -> dict:
    """What gdb does first: `+`, then a packet; the kernel stops and answers.
    Returns the `?` stop reply, parsed."""
    rsp.send_raw(b"+")
    supported = rsp.request("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+;xmlRegisters=i386")
    if "PacketSize=" not in supported:
        raise rsp.fail(f"qSupported: {supported!r}")
    return rsp.stop_reply(rsp.request("?"))


def shell_answers(q: Qemu, what: str) -> None:
    out = q.command("uptime", CMD_TIMEOUT_S)
    assert re.search(r"\bup\b", out), f"after {what}, `uptime` on COM1 answered {out!r}"


def detach_and_check(q: Qemu, rsp: Rsp, what: str) -> None:
    """`D` -> OK, then the kernel runs and the shell answers on COM1."""
    reply = rsp.request("D")
    if reply != "OK":
        raise rsp.fail(f"D answered {reply!r}")
    shell_answers(q, what)
    rsp.no_pending_bytes()


def type_on_com1(q: Qemu, line: str) -> int:
    """Type a command on COM1 without waiting; returns the COM1 offset
    before it (for finding its output later)."""
    start = q.wait_for(b"", 0, advance=False).start
    q.send_line(line)
    return start


def continue_and_stop(q: Qemu, rsp: Rsp, line: str, resume: str = "c") -> dict:
    """Resume, type `line` on COM1, and return the stop reply that follows."""
    rsp.send(resume)   # no reply until the kernel stops again
    type_on_com1(q, line)
    return rsp.stop_reply(rsp.read_packet())


def pages_ranges(q: Qemu) -> list[tuple[int, int, str]]:
    out = q.command("pages --json", CMD_TIMEOUT_S)
    obj = json.loads(out.strip().splitlines()[-1])
    ranges = []
    for m in obj["mappings"]:
        virt = int(m["virt"], 16)
        ranges.append((virt, virt + int(m["page_size"]) * int(m["count"]), m["flags"]))
    return ranges


def mapped_then_unmapped(ranges: list[tuple[int, int, str]], near: int) -> int:
    """An address at or above `near` where a mapping ends and nothing is mapped after it."""
    starts = {r[0] for r in ranges}
    edges = sorted(end for _, end, _ in ranges if end not in starts and end >= near)
    assert edges, f"no unmapped page above {near:#x} in {ranges}"
    return edges[0]


# --------------------------------------------------------------------------
# Tests

def test_qsupported_and_stop_reply(kernel):
    q, rsp = kernel(plain_chardev=True)   # the launcher's wiring, as `exo_qemu.py --gdb-port` gives
    rsp.send_raw(b"+")
    reply = rsp.request("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;"
                        "fork-events+;vfork-events+;exec-events+;vContSupported+;"
                        "QThreadEvents+;no-resumed+;xmlRegisters=i386")
    features = dict(f.partition("=")[::2] for f in reply.split(";"))
    flags = {f for f in reply.split(";") if f.endswith(("+", "-"))}
    assert "PacketSize" in features, rsp.why(f"no PacketSize in {reply!r}")
    assert int(features["PacketSize"], 16) >= PACKET_SIZE, rsp.why(f"PacketSize {features['PacketSize']} (hex)")
    for want in ("qXfer:features:read+", "swbreak+", "hwbreak+", "vContSupported+", "QStartNoAckMode+"):
        assert want in flags, rsp.why(f"qSupported lacks {want}: {reply!r}")

    stop = rsp.stop_reply(rsp.request("?"))
    assert stop["signal"] == SIGTRAP, rsp.why(f"attach stop signal {stop['signal']}, want SIGTRAP (5)")
    assert int(stop["thread"], 16) >= 1, rsp.why("stop reply thread")
    assert stop[RIP] >= HIGHER_HALF, rsp.why(f"stopped rip {stop[RIP]:#x} is not kernel text")
    # ? again: the same stop, the kernel has not moved.
    again = rsp.stop_reply(rsp.request("?"))
    assert again[RIP] == stop[RIP], rsp.why("a second ? moved rip")
    # Unknown packets get the empty reply.
    assert rsp.request("qExoNoSuchPacket") == "", rsp.why("unknown packet")
    assert rsp.request("vMustReplyEmpty") == "", rsp.why("vMustReplyEmpty")
    detach_and_check(q, rsp, "qSupported and ?")


def _target_registers(rsp: Rsp) -> list[tuple[str, int]]:
    """(name, bitsize) in order, from qXfer:features:read (with includes)."""
    def fetch(annex: str) -> str:
        text, offset = "", 0
        while True:
            reply = rsp.request(f"qXfer:features:read:{annex}:{offset:x},800")
            if not reply or reply[0] not in "ml":
                raise rsp.fail(f"qXfer {annex} at {offset}: {reply[:40]!r}")
            text += reply[1:]
            offset += len(reply) - 1
            if reply[0] == "l":
                return text

    def regs(annex: str) -> list[tuple[str, int]]:
        root = ET.fromstring(fetch(annex))
        out = []
        for el in root.iter():
            tag = el.tag.split("}")[-1]
            if tag == "include":
                out += regs(el.attrib["href"])
            elif tag == "reg":
                out.append((el.attrib["name"], int(el.attrib["bitsize"])))
        return out

    return regs("target.xml")


def test_g_matches_target_xml(kernel):
    q, rsp = kernel()
    attach(rsp)
    layout = _target_registers(rsp)
    names = [n for n, _ in layout]
    for want in ("rip", "rsp", "eflags", "cs", "fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "efer"):
        assert want in names, rsp.why(f"target.xml has no {want}: {names}")
    assert names.index("rip") == RIP and names.index("rsp") == RSP, rsp.why(f"register numbering: {names}")
    total_bytes = sum(bits for _, bits in layout) // 8
    g = rsp.request("g")
    assert re.fullmatch(r"[0-9a-fx]+", g), rsp.why(f"g reply: {g[:80]!r}")
    assert len(g) == 2 * total_bytes, rsp.why(f"g is {len(g)} hex digits; target.xml says {total_bytes} bytes")

    # Each register where target.xml puts it; p N agrees with g.
    offsets, pos = {}, 0
    for name, bits in layout:
        offsets[name] = (pos, bits // 4)
        pos += bits // 4

    def from_g(name: str) -> int:
        off, n = offsets[name]
        return int.from_bytes(bytes.fromhex(g[off:off + n]), "little")

    stop = rsp.stop_reply(rsp.request("?"))
    assert from_g("rip") == stop[RIP], rsp.why("g's rip differs from the stop reply's")
    assert from_g("rsp") >= HIGHER_HALF, rsp.why(f"rsp {from_g('rsp'):#x}")
    assert from_g("cr0") & 0x80000001 == 0x80000001, rsp.why(f"cr0 {from_g('cr0'):#x}: PG and PE")
    assert from_g("efer") & 0x500 == 0x500, rsp.why(f"efer {from_g('efer'):#x}: LME and LMA")
    assert from_g("cr4") & 0x20, rsp.why(f"cr4 {from_g('cr4'):#x}: PAE")
    assert from_g("cr3") and from_g("cr3") % PAGE == 0, rsp.why(f"cr3 {from_g('cr3'):#x}")
    for name in ("rip", "cr3", "efer"):
        reply = rsp.request(f"p{names.index(name):x}")
        off, n = offsets[name]
        assert reply == g[off:off + n], rsp.why(f"p {name} = {reply!r}, g has {g[off:off + n]!r}")
    detach_and_check(q, rsp, "g and p")


def test_bad_checksum_is_nakked_then_in_sync(kernel):
    q, rsp = kernel()
    attach(rsp)
    body = b"m" + b"%x,4" % HIGHER_HALF
    rsp.send_raw(b"$" + body + b"#%02x" % ((checksum(body) + 1) & 0xFF))
    rsp.expect_ack(b"-")
    rsp.no_pending_bytes()
    # Non-hex checksum digits too.
    rsp.send_raw(b"$?#zz")
    rsp.expect_ack(b"-")
    stop = rsp.stop_reply(rsp.request("?"))
    assert stop["signal"] == SIGTRAP, rsp.why("? after bad checksums")
    # The stub resends its last reply when we answer `-`.
    rsp.send(b"?")
    first = rsp.read_packet(ack=False)
    rsp.send_raw(b"-")
    second = rsp.read_packet()
    assert first == second, rsp.why("the retransmission differs")
    detach_and_check(q, rsp, "bad checksums")


def test_oversized_packet_is_an_error_and_stays_in_sync(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    target = kernel_symbols.address("g_received", "bB")
    before = rsp.memory(target, 8)
    # A well-formed M packet longer than PacketSize: it must not be executed.
    data = "5a" * 4096
    body = f"M{target:x},{len(data) // 2:x}:{data}"
    assert len(body) > PACKET_SIZE
    reply = rsp.request(body)
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"oversized packet ({len(body)} bytes) answered {reply!r}")
    assert rsp.memory(target, 8) == before, rsp.why("the oversized M wrote memory")
    stop = rsp.stop_reply(rsp.request("?"))
    assert stop["signal"] == SIGTRAP, rsp.why("? after the oversized packet")
    g = rsp.request("g")
    assert len(g) > 100, rsp.why("g after the oversized packet")
    detach_and_check(q, rsp, "an oversized packet")


def test_memory_errors_and_partial_reads(kernel, kernel_symbols):
    q, rsp = kernel()
    ranges = pages_ranges(q)        # before attaching: the shell runs
    attach(rsp)
    for addr, n in ((0, 8), (0x1000, 1), (0xFFFF800000000000 - 0x1000, 4)):
        reply = rsp.read_memory(addr, n)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"m{addr:x},{n:x} (unmapped) answered {reply!r}")
    # Non-canonical and wrapping addresses.
    reply = rsp.read_memory(0x0000800000000000, 8)
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"non-canonical read answered {reply!r}")
    reply = rsp.read_memory(0xFFFFFFFFFFFFFFF8, 16)
    assert re.fullmatch(r"E[0-9a-f]{2}|(?:[0-9a-f]{2}){1,8}", reply), rsp.why(f"wrapping read answered {reply!r}")

    text = kernel_symbols.address("kernel_main", "tT")
    edge = mapped_then_unmapped(ranges, text)
    mapped = bytes.fromhex(rsp.read_memory(edge - 8, 8))
    assert len(mapped) == 8, rsp.why(f"the last 8 mapped bytes below {edge:#x}")
    reply = rsp.read_memory(edge - 8, 32)
    assert reply == mapped.hex(), rsp.why(f"a read across {edge:#x} (mapped, then not) should give the 8 "
                                           f"readable bytes, got {reply!r}")
    reply = rsp.read_memory(edge, 8)
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"m{edge:x},8 (the unmapped page) answered {reply!r}")
    # A write to an unmapped page is an error too, and a write to nothing
    # (length 0) is fine.
    reply = rsp.request(f"M{edge:x},4:01020304")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"M to unmapped {edge:#x} answered {reply!r}")
    reply = rsp.request("M0,2:0102")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"M0,2 answered {reply!r}")
    # The biggest read one reply holds: PacketSize/2 bytes of kernel text.
    big = rsp.read_memory(text, 0x10000)
    assert re.fullmatch(r"[0-9a-f]+", big) and 0 < len(big) <= PACKET_SIZE, \
        rsp.why(f"m{text:x},10000 answered {len(big)} chars")
    # Malformed requests.
    for bad in ("m", "mzz,4", f"m{text:x}", f"m{text:x},"):
        reply = rsp.request(bad)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"{bad!r} answered {reply!r}")
    detach_and_check(q, rsp, "faulting reads and writes")


def test_write_memory_m_and_x(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    # The log ring's storage: .bss, written only by the logger (not while
    # stopped); restored afterwards.
    addr, size = kernel_symbols.find("g_ring_storage", "bB")
    assert size >= 0x400
    target = addr + size // 2
    original = rsp.memory(target, 64)
    assert len(original) == 64, rsp.why("64 bytes of .bss")

    pattern = bytes(range(0x40, 0x80))
    rsp.ok(f"M{target:x},{len(pattern):x}:{pattern.hex()}")
    assert rsp.memory(target, 64) == pattern, rsp.why("M then m")

    # X: binary, including every byte that needs escaping and NULs.
    data = bytes([0x24, 0x23, 0x7D, 0x2A, 0x00, 0xFF, 0x03, 0x2B, 0x2D, 0x0A, 0x0D, 0x7E]) * 5 + b"\x00\x01\x02\x03"
    body = b"X%x,%x:" % (target, len(data)) + escape(data)
    rsp.send(body)
    reply = rsp.read_packet()
    assert reply == "OK", rsp.why(f"X answered {reply!r}")
    assert rsp.memory(target, 64) == data, rsp.why("X then m")
    # Empty X (gdb's probe) is OK and writes nothing.
    rsp.ok(f"X{target:x},0:")
    assert rsp.memory(target, 64) == data, rsp.why("an empty X wrote")
    # Length mismatch is rejected.
    reply = rsp.request(f"M{target:x},4:0102")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"M with too little data answered {reply!r}")

    rsp.ok(f"M{target:x},{len(original):x}:{original.hex()}")
    assert rsp.memory(target, 64) == original, rsp.why("restore")
    detach_and_check(q, rsp, "M and X writes")


def _break_in_command(q: Qemu, rsp: Rsp, kind: str, address: int, command: str) -> dict:
    """Z<kind> at address, continue, type `command`; the stop reply."""
    rsp.ok(f"Z{kind},{address:x},1")
    stop = continue_and_stop(q, rsp, command)
    assert stop["signal"] == SIGTRAP, rsp.why(f"Z{kind} stop signal {stop['signal']}")
    assert stop.get(RIP) == address, rsp.why(f"Z{kind} at {address:#x}: stopped at {stop.get(RIP, 0):#x}")
    return stop


def _remove_and_finish(q: Qemu, rsp: Rsp, kind: str, address: int, command_start_marker: str) -> None:
    rsp.ok(f"z{kind},{address:x},1")
    rsp.send("c")
    q.wait_for(command_start_marker, CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    rsp.no_pending_bytes()


def test_software_breakpoint(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    handler = kernel_symbols.address("cmd_uptime", "tT")
    text = rsp.memory(handler, 16)
    _break_in_command(q, rsp, "0", handler, "uptime")
    # Stopped at an int3: the stub keeps the CPU and the line to itself. A
    # burst of requests, each acknowledged `+` and answered in order. (m may
    # show the planted int3 or hide it: gdb masks its breakpoints itself.)
    for i in range(100):
        got = rsp.memory(handler, 16)
        assert got[0] in (text[0], 0xCC) and got[1:] == text[1:], rsp.why(f"request {i} at the breakpoint")
    # gdb's step over its breakpoint: remove, step, re-insert, continue.
    rsp.ok(f"z0,{handler:x},1")
    assert rsp.memory(handler, 16) == text, rsp.why("z0 did not restore the byte")
    stepped = rsp.stop_reply(rsp.request("s"))
    assert stepped.get(RIP, handler) != handler, rsp.why("a step from the breakpoint did not move")
    rsp.ok(f"Z0,{handler:x},1")
    rsp.send("c")
    q.wait_for("up ", CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    # Still planted (the kernel runs): the next uptime hits it again.
    type_on_com1(q, "uptime")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop.get(RIP) == handler, rsp.why(f"second hit at {stop.get(RIP, 0):#x}, not {handler:#x}")
    _remove_and_finish(q, rsp, "0", handler, "up ")
    # Removing a breakpoint that is not there is an error.
    reply = rsp.request(f"z0,{handler:x},1")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"z0 of nothing answered {reply!r}")
    detach_and_check(q, rsp, "a software breakpoint")


def test_software_breakpoint_stop_reply_says_swbreak(kernel, kernel_symbols):
    """We advertise swbreak+, so gdb trusts the stop reply to say when an
    int3 of its own was hit (and that rip is already moved back)."""
    q, rsp = kernel()
    attach(rsp)
    handler = kernel_symbols.address("cmd_uptime", "tT")
    stop = _break_in_command(q, rsp, "0", handler, "uptime")
    assert "swbreak" in stop, rsp.why("the stop reply of a Z0 hit lacks swbreak:")
    assert "hwbreak" not in stop and "watch" not in stop, rsp.why("a Z0 hit with another reason")
    _remove_and_finish(q, rsp, "0", handler, "up ")
    detach_and_check(q, rsp, "a software breakpoint's stop reply")


def test_hardware_breakpoint(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    handler = kernel_symbols.address("cmd_uptime", "tT")
    text = rsp.memory(handler, 16)
    stop = _break_in_command(q, rsp, "1", handler, "uptime")
    assert "hwbreak" in stop, rsp.why("the stop reply of a Z1 hit lacks hwbreak:")
    assert "swbreak" not in stop, rsp.why("a Z1 hit reported as swbreak")
    assert rsp.memory(handler, 16) == text, rsp.why("Z1 changed memory")
    _remove_and_finish(q, rsp, "1", handler, "up ")
    detach_and_check(q, rsp, "a hardware breakpoint")


def test_watchpoint_on_received_counter(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    counter, size = kernel_symbols.find("g_received", "bB")
    assert size == 8
    before = int.from_bytes(rsp.memory(counter, 8), "little")
    rsp.ok(f"Z2,{counter:x},8")
    stop = continue_and_stop(q, rsp, "uptime")
    assert stop["signal"] == SIGTRAP, rsp.why(f"watch stop signal {stop['signal']}")
    assert "watch" in stop, rsp.why("the stop reply of a Z2 hit lacks watch:")
    assert int(stop["watch"], 16) == counter, rsp.why(f"watch:{stop['watch']} is not {counter:#x}")
    after = int.from_bytes(rsp.memory(counter, 8), "little")
    assert after == before + 1, rsp.why(f"g_received {before} -> {after}: the stop is right after one write")
    rsp.ok(f"z2,{counter:x},8")
    rsp.send("c")
    q.wait_for("up ", CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, "a watchpoint")


def test_read_watchpoint_is_unsupported_and_bad_watch_lengths(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    counter = kernel_symbols.address("g_received", "bB")
    reply = rsp.request(f"Z3,{counter:x},8")
    assert reply == "", rsp.why(f"Z3 (read watchpoint) answered {reply!r}, want empty (unsupported)")
    for bad in (f"Z2,{counter:x},0", f"Z4,{counter:x},21"):   # 33 bytes: more than 4 registers cover
        reply = rsp.request(bad)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"{bad} answered {reply!r}")
    # Four slots, then no more.
    for i in range(4):
        rsp.ok(f"Z2,{counter:x},{[1, 2, 4, 8][i]:x}")
    reply = rsp.request(f"Z4,{counter:x},8")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"a fifth hardware slot answered {reply!r}")
    # Detach removes them all: typing on COM1 must not stop the kernel.
    detach_and_check(q, rsp, "Z3 and full debug registers")


def _rcx(rsp: Rsp) -> int:
    return int.from_bytes(bytes.fromhex(rsp.request("p2")), "little")


def _has_rep_prefix(code: bytes) -> bool:
    """F2/F3 among the legacy prefixes (and REX) before the opcode."""
    for b in code:
        if b in (0xF2, 0xF3):
            return True
        if not (b in (0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67, 0xF0) or 0x40 <= b <= 0x4F):
            return False
    return False


def test_thousand_single_steps(kernel, kernel_symbols):
    q, rsp = kernel()
    attach(rsp)
    # In through a hardware breakpoint (#DB), so that this test is about
    # stepping alone (test_software_breakpoint covers int3 stops).
    handler = kernel_symbols.address("cmd_mem", "tT")
    rsp.ok(f"Z1,{handler:x},1")
    stop = continue_and_stop(q, rsp, "mem")
    assert stop.get(RIP) == handler, rsp.why("breakpoint in cmd_mem")
    rsp.ok(f"z1,{handler:x},1")
    thread = int(stop["thread"], 16)
    pc = stop[RIP]
    pcs = [pc]
    last_rcx = 0
    for i in range(STEPS):
        step = f"vCont;s:{thread:x};c" if i % 2 == 0 else "s"
        reply = rsp.request(step)
        stop = rsp.stop_reply(reply)
        assert stop["signal"] == SIGTRAP, rsp.why(f"step {i}: signal {stop['signal']}")
        assert RIP in stop, rsp.why(f"step {i}: no rip in the stop reply")
        assert stop[RIP] >= HIGHER_HALF, rsp.why(f"step {i}: rip {stop[RIP]:#x}")
        if stop[RIP] == pc:
            # Only a rep-prefixed string instruction steps in place (one
            # iteration per step, rcx counting down).
            rcx = _rcx(rsp)
            assert _has_rep_prefix(rsp.memory(pc, 15)) and rcx < last_rcx, \
                rsp.why(f"step {i} ({step}): rip stayed at {pc:#x} (rcx {last_rcx:#x} -> {rcx:#x})")
            last_rcx = rcx
        else:
            last_rcx = _rcx(rsp) if _has_rep_prefix(rsp.memory(stop[RIP], 15)) else 0
        pc = stop[RIP]
        pcs.append(pc)
    assert len(set(pcs)) > 50, rsp.why(f"{STEPS} steps visited only {len(set(pcs))} addresses")
    rsp.send("c")
    q.wait_for("heap", CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, f"{STEPS} single steps")


def test_step_through_idle_loop(kernel):
    """Attached while idle, the kernel stops in the idle loop (sti; hlt;
    jmp): stepping there must move through it like any code."""
    q, rsp = kernel()
    # The shell answers only after its after-prompt work (service threads,
    # boot frames given back): from then on the kernel is idle.
    shell_answers(q, "boot")
    stop = attach(rsp)
    pc = stop[RIP]
    seen = [pc]
    for i in range(6):
        stop = rsp.stop_reply(rsp.request("s"))
        assert stop["signal"] == SIGTRAP, rsp.why(f"idle step {i}: signal {stop['signal']}")
        assert stop[RIP] != pc, rsp.why(f"idle step {i}: rip stayed at {pc:#x} (path {[hex(p) for p in seen]})")
        pc = stop[RIP]
        seen.append(pc)
    detach_and_check(q, rsp, "stepping the idle loop")


def test_detach_and_reattach(kernel):
    q, rsp = kernel()
    first = attach(rsp)
    detach_and_check(q, rsp, "the first detach")
    # Detached: the kernel runs, COM2 stays quiet.
    shell_answers(q, "detach (again)")
    rsp.no_pending_bytes()
    rsp.close()
    # A new connection, as a new gdb.
    rsp2 = connect(rsp.port)
    try:
        stop = attach(rsp2)
        assert stop["signal"] == SIGTRAP, rsp2.why("reattach stop")
        g = rsp2.request("g")
        assert len(g) > 100, rsp2.why("g after reattach")
        detach_and_check(q, rsp2, "reattach")
        # And a third time on the same socket, without reconnecting.
        stop = rsp2.stop_reply(rsp2.request("?"))
        assert stop["signal"] == SIGTRAP, rsp2.why("attach on the same socket after D")
        detach_and_check(q, rsp2, "the third attach")
    finally:
        rsp2.close()


def test_ctrl_c_while_running(kernel):
    q, rsp = kernel()
    attach(rsp)
    rsp.send("vCont;c")
    shell_answers(q, "vCont;c")     # running: the shell works
    rsp.no_pending_bytes()
    rsp.send_raw(b"\x03")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] == SIGINT, rsp.why(f"Ctrl-C stop signal {stop['signal']}, want SIGINT (2)")
    assert stop[RIP] >= HIGHER_HALF, rsp.why(f"Ctrl-C stop at {stop[RIP]:#x}")
    g = rsp.request("g")
    assert len(g) > 100, rsp.why("g after Ctrl-C")
    # Again with the legacy c.
    rsp.send("c")
    rsp.send_raw(b"\x03")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] == SIGINT, rsp.why("second Ctrl-C")
    detach_and_check(q, rsp, "Ctrl-C")
    # Detached, a stray 0x03 on COM2 must not stop the kernel.
    rsp.send_raw(b"\x03")
    shell_answers(q, "a stray Ctrl-C while detached")
    rsp.no_pending_bytes()


def test_monitor_streams_output(kernel):
    q, rsp = kernel()
    expected = q.command("mem", CMD_TIMEOUT_S)
    attach(rsp)
    rsp.send("qRcmd," + b"mem".hex())
    out, packets = "", 0
    while True:
        reply = rsp.read_packet()
        if reply == "OK":
            break
        assert reply.startswith("O") and re.fullmatch(r"O(?:[0-9a-f]{2})+", reply), \
            rsp.why(f"qRcmd streamed {reply[:60]!r}, not an O packet")
        out += bytes.fromhex(reply[1:]).decode(errors="replace")
        packets += 1
    assert packets >= 1
    assert "heap" in out and "physical" in out, rsp.why(f"monitor mem printed:\n{out}")
    # The same kind of report the shell prints (numbers may have moved).
    shape = lambda s: re.sub(r"\d+", "N", s).replace("\r\n", "\n").strip()  # noqa: E731
    assert shape(out) == shape(expected), rsp.why(f"monitor mem:\n{out}\nshell mem:\n{expected}")
    # An unknown command: an error line, then OK; the stub stays in sync.
    rsp.send("qRcmd," + b"nosuchcommand".hex())
    text = ""
    while (reply := rsp.read_packet()) != "OK":
        text += bytes.fromhex(reply[1:]).decode(errors="replace")
    assert "error" in text, rsp.why(f"monitor nosuchcommand printed {text!r}")
    stop = rsp.stop_reply(rsp.request("?"))
    assert stop["signal"] == SIGTRAP
    detach_and_check(q, rsp, "qRcmd")


def read_xfer(rsp: Rsp, prefix: str, chunk: int) -> str:
    """A whole qXfer object, `chunk` bytes a request, as gdb reads it."""
    text = ""
    while True:
        reply = rsp.request(f"{prefix}{len(text):x},{chunk:x}")
        assert reply[:1] in ("m", "l") and len(reply) - 1 <= chunk, rsp.why(f"{prefix} answered {reply!r}")
        text += reply[1:]
        if reply[0] == "l":
            return text


def test_qxfer_threads_in_pieces(kernel):
    """qXfer:threads:read: every thread with its id, CPU and name in one
    document, read whole or in small pieces; past its end `l`; a bad annex
    or request E00."""
    q, rsp = kernel()
    stop = attach(rsp)
    assert "qXfer:threads:read+" in rsp.request("qSupported").split(";"), rsp.why("not advertised")
    doc = read_xfer(rsp, "qXfer:threads:read::", 0xFFB)
    root = ET.fromstring(doc)
    assert root.tag == "threads" and len(root) >= 2, rsp.why(f"threads document {doc!r}")
    for t in root:
        assert t.tag == "thread" and re.fullmatch(r"[0-9a-f]+", t.get("id")) and t.get("core") == "0", \
            rsp.why(f"thread element {ET.tostring(t)!r}")
        assert re.fullmatch(r"\w+, ring [03]", t.text or ""), rsp.why(f"thread state {t.text!r}")
    names = {int(t.get("id"), 16): t.get("name") for t in root}
    assert {"idle", "shell"} <= set(names.values()), rsp.why(f"names {names}")
    assert int(stop["thread"], 16) in names, rsp.why(f"the stopped thread is not in {names}")
    for chunk in (1, 7, 0x40):
        assert read_xfer(rsp, "qXfer:threads:read::", chunk) == doc, rsp.why(f"read {chunk} bytes a time")
    for offset in (len(doc), len(doc) + 1, 0xFFFFFFFF):
        reply = rsp.request(f"qXfer:threads:read::{offset:x},10")
        assert reply == "l", rsp.why(f"offset {offset:#x} (the document is {len(doc)}) answered {reply!r}")
    for bad in ("qXfer:threads:read:x:0,10", "qXfer:threads:read::0", "qXfer:threads:read::zz,10",
                "qXfer:threads:write::0:61", "qXfer:nosuch:read::0,10"):
        reply = rsp.request(bad)
        assert reply == "E00", rsp.why(f"{bad!r} answered {reply!r}")
    detach_and_check(q, rsp, "qXfer:threads:read")


def test_qsearch_memory(kernel, kernel_symbols):
    """qSearch:memory finds the first match (also across the stub's read
    windows), answers 0 for none, and an unmapped page in the range is an
    error unless a match comes before it: never a fault."""
    q, rsp = kernel()
    ranges = pages_ranges(q)
    attach(rsp)
    text = kernel_symbols.address("kernel_main", "tT")
    for at in (0x10, 0x7E0, 0x1000 + 0x7F0):       # the stub reads ~2 KiB windows
        pattern = rsp.memory(text + at, 16)
        body = f"qSearch:memory:{text:x};{at + 0x100:x};".encode() + escape(pattern)
        reply = rsp.request(body)
        m = re.fullmatch(r"1,([0-9a-f]+)", reply)
        assert m and text <= int(m.group(1), 16) <= text + at, rsp.why(f"search for {pattern.hex()} answered {reply!r}")
        assert rsp.memory(int(m.group(1), 16), 16) == pattern, rsp.why(f"{reply!r} is not a match")
    # One byte short of the whole pattern in range: no match there.
    pattern = b"no such bytes \x00\xff#$}*"
    reply = rsp.request(f"qSearch:memory:{text:x};3000;".encode() + escape(pattern))
    assert reply == "0", rsp.why(f"search for an absent pattern answered {reply!r}")
    edge = mapped_then_unmapped(ranges, text)
    last = rsp.memory(edge - 8, 8)
    reply = rsp.request(f"qSearch:memory:{edge - 0x100:x};200;".encode() + escape(pattern))
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"search into the unmapped page at {edge:#x} answered {reply!r}")
    reply = rsp.request(f"qSearch:memory:{edge - 0x100:x};200;".encode() + escape(last))
    assert re.fullmatch(r"1,[0-9a-f]+", reply) and int(reply[2:], 16) <= edge - 8, \
        rsp.why(f"a match before the unmapped page at {edge:#x} answered {reply!r}")
    reply = rsp.request(f"qSearch:memory:{edge:x};1000;ab")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"search of the unmapped page answered {reply!r}")
    # The stub's own packet buffer is searched too (in .bss, and through the
    # direct map): the pattern's copy there is never a match.
    pattern = bytes(range(0xF0, 0x100)) + b"exo-qsearch"
    stub_at, stub_size = kernel_symbols.find("g_stub", "bBdD")
    direct = min(lo for lo, _, _ in ranges if lo >= 0xFFFF800000000000 and lo < 0xFFFFFFFF80000000)
    for lo, n in ((stub_at, stub_size), (direct, 0x200000)):
        reply = rsp.request(f"qSearch:memory:{lo:x};{n:x};".encode() + escape(pattern))
        assert reply == "0", rsp.why(f"search of {lo:#x}+{n:#x} (the stub's buffer) answered {reply!r}")
    for bad in ("qSearch:memory:", f"qSearch:memory:{text:x};10;", f"qSearch:memory:{text:x},10;ab"):
        reply = rsp.request(bad)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"{bad!r} answered {reply!r}")
    detach_and_check(q, rsp, "qSearch:memory")


def test_threads(kernel):
    q, rsp = kernel()
    stop = attach(rsp)
    doc = read_xfer(rsp, "qXfer:threads:read::", 0xFFB)
    names = {int(t.get("id"), 16): t.get("name") for t in ET.fromstring(doc)}
    assert len(names) >= 2 and int(stop["thread"], 16) in names, rsp.why(f"threads {names}")
    # The classic list, for clients without qXfer: the same ids, in one packet.
    listed = rsp.request("qfThreadInfo")
    assert listed.startswith("m") and {int(t, 16) for t in listed[1:].split(",")} == set(names), \
        rsp.why(f"qfThreadInfo {listed!r} vs the XML's {sorted(names)}")
    assert rsp.request("qsThreadInfo") == "l", rsp.why("qsThreadInfo does not end the list")
    # gdb uses these only with stubs that lack qXfer:threads:read and a
    # thread in every stop reply: not offered.
    for packet in ("qThreadExtraInfo,1", "qC"):
        assert rsp.request(packet) == "", rsp.why(f"{packet} is offered")
    assert "idle" in names.values() and "shell" in names.values(), \
        rsp.why(f"thread names {names}")
    # Registers of a blocked thread: Hg, then g has its rip and rsp.
    shell = next(t for t, n in names.items() if "shell" in n)
    rsp.ok(f"Hg{shell:x}")
    g = rsp.request("g")
    rip = int.from_bytes(bytes.fromhex(g[RIP * 16:RIP * 16 + 16]), "little")
    assert rip >= HIGHER_HALF, rsp.why(f"shell thread rip {rip:#x}")
    assert rsp.request("Hg0") == "OK"
    reply = rsp.request("Hg7fff")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"Hg of no thread answered {reply!r}")
    detach_and_check(q, rsp, "thread queries")
