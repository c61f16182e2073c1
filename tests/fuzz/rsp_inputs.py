"""Inputs for the GDB stub on COM2: random bytes, framed random payloads,
bad checksums, truncated and huge packets, and well-formed packets with
wild arguments. Each input is an op (a dict the campaign logs and
replays); this module only builds them.

Kept out, because a real debugger would wreck the kernel with them too:
resuming at an address (`c ADDR`), register writes other than writing back
what was read, memory writes over anything but unmapped memory or what was
just read from text/rodata, software breakpoints anywhere but function
entries or unmapped memory, and `monitor poweroff|reboot`. Random bytes
pass through rsp_model.defuse, which spoils the checksum of any packet of
that kind they happen to contain.
"""
from __future__ import annotations

import random

import rsp_model
from address_book import AddressBook
from rsp_model import frame, hex_text

REGISTERS = 0x60          # a little past the stub's register count
X87_FIRST = 0x18          # st0: writes refused (gdbstub/registers.h)

QUERIES = ("qSupported", "qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
           "qfThreadInfo", "qsThreadInfo", "qAttached", "qOffsets", "qSymbol::", "qC", "qTStatus",
           "vMustReplyEmpty", "vCont?", "?", "g", "qExoNoSuch", "QStartNoAckMode", "Qbogus", "!",
           "D", "D;1", "k", "s", "vCont;s", "vCont;c", "c", "S05", "C05", "vCont;s:1;c", "vCont;S05",
           "vCont;", "vCont;x", "vCont;c:-1", "vCont;s:ffffffff", "Hg0", "Hc-1", "Hg1", "T1", "Hgz",
           "", "qXfer:features:read:target.xml:0,fff", "qXfer:threads:read::0,fff", "qXfer:threads:read::5,3",
           "qXfer:threads:read:x:0,10", "qXfer:memory-map:read::0,100", "qSearch:memory:0;1000;ab",
           "qSearch:memory:ffffffff80100000;100000;exo", "qSearch:memory:ffffffff80100000;", "qCRC:0,1000",
           # Malformed resumes with an address: refused, and rip must stay
           # (they used to move it; the next `c` jumped there).
           "c1234zz", "s1234,", "C05;1234zz", "S05;1234;", "cffffffff80107000z")


class RspInputs:
    def __init__(self, rng: random.Random, book: AddressBook, monitor_lines) -> None:
        self.rng = rng
        self.book = book
        self.monitor_lines = monitor_lines   # a callable giving a safe shell command line

    def _raw(self, why: str, data: bytes, *, defuse: bool = True) -> dict:
        return {"ch": "com2", "op": "bytes", "why": why,
                "hex": (rsp_model.defuse(data) if defuse else data).hex()}

    def _body(self, n: int) -> bytes:
        rng = self.rng
        alphabet = rng.choice((b"0123456789abcdef,:;=", b"$#}*+-\x03", bytes(range(256)),
                               b"mMXZzqQvpPgGHT?cCsSDk0123456789abcdef,:"))
        return bytes(rng.choice(alphabet) for _ in range(n))

    # -- malformed ------------------------------------------------------------

    def noise(self) -> dict:
        return self._raw("noise", self._body(self.rng.choice((1, 3, 16, 64, 256, 1024))))

    def framed_random(self) -> dict:
        rng = self.rng
        for _ in range(100):
            body = self._body(rng.choice((0, 1, 2, 5, 20, 100, 400)))
            if not rsp_model.is_dangerous(body):
                return self._raw("framed random", frame(body), defuse=False)
        return self._raw("framed random", frame(b"qRandom"), defuse=False)

    def bad_checksum(self) -> dict:
        rng = self.rng
        packet = frame(self._query_body(), sum_delta=rng.randrange(1, 256))
        if rng.random() < 0.3:   # digits that are not hex
            packet = packet[:-2] + rng.choice((b"zz", b"0g", b"#0", b"$$", b"\x00\xff"))
        return self._raw("bad checksum", packet)

    def truncated(self) -> dict:
        rng = self.rng
        packet = frame(self._query_body())
        cut = rng.randrange(1, len(packet))
        return self._raw("truncated", packet[:cut])

    def huge(self) -> dict:
        rng = self.rng
        n = rng.choice((0x7FF, 0x800, 0x801, 0x1000, 0x4000, 20000))
        head = rng.choice((b"m", b"qRcmd,", b"qXfer:features:read:", b"X", b"G", b"vCont;", b"q"))
        body = head + self._body(n)[: n - len(head)]
        if n <= rsp_model.PACKET_SIZE and rsp_model.is_dangerous(body):
            body = b"q" + body[1:]
        if rng.random() < 0.2:
            return self._raw("huge, bad checksum", frame(body, sum_delta=1))
        return self._raw("huge", frame(body), defuse=n <= rsp_model.PACKET_SIZE)

    def acks(self) -> dict:
        rng = self.rng
        data = bytes(rng.choice(b"+-\x03") for _ in range(rng.randrange(1, 12)))
        return self._raw("acks and interrupts", data)

    # -- well-formed, wild arguments ------------------------------------------

    def _query_body(self) -> str:
        rng = self.rng
        b = self.book
        a = b.address(rng)
        n = b.length(rng)
        pick = rng.randrange(20)
        if pick < 4:
            return f"m{a:x},{n:x}"
        if pick == 4:   # writes that cannot land: unmapped, or the length does not match
            target = b.unmapped(rng)
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 64)))
            return rng.choice((f"M{target:x},{len(data):x}:{data.hex()}",
                               f"M{a:x},{len(data) + 1:x}:{data.hex()}",
                               f"M{a:x},{len(data):x}:{data.hex()}z",
                               f"M{target:x},{n:x}:"))
        if pick == 5:
            return f"p{rng.randrange(REGISTERS):x}" if rng.random() < 0.8 else f"p{n:x}"
        if pick == 6:   # register writes the stub refuses: x87, out of range, odd digits
            reg = rng.choice((X87_FIRST + rng.randrange(8), REGISTERS + rng.randrange(100), n))
            value = rng.choice(("", "0", "123", "0" * 20, "zz"))
            return rng.choice((f"P{reg:x}={value}", f"P{rng.randrange(0x18):x}={value}",
                               f"P{rng.randrange(0x18):x}", "P", f"G{'0' * rng.randrange(0, 900, 7)}"))
        if pick == 7:
            kind = rng.choice("012345")
            if kind == "0":
                target = rng.choice((b.function(rng), b.unmapped(rng)))
            else:
                target = a
            return f"{rng.choice('Zz')}{kind},{target:x},{rng.choice((1, 2, 4, 8, 16, 32, 33, n)):x}"
        if pick == 8:
            return f"z0,{a:x},1"
        if pick == 9:
            annex = rng.choice(("target.xml", "i386-64bit.xml", "", "x" * 200, "../target.xml",
                                "target.xml\x00", "64bit-core.xml"))
            return f"qXfer:features:read:{annex}:{n:x},{b.length(rng):x}"
        if pick == 10:   # lengths kept to 1 MiB: a CRC or search of all RAM is slow, not stuck
            if rng.random() < 0.5:
                return f"qCRC:{a:x},{n % (1 << 20):x}"
            pattern = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 16, 300))))
            return f"qSearch:memory:{a:x};{n % (1 << 20):x};" + pattern.decode("latin-1")  # frame() escapes it
        if pick == 11:
            if rng.random() < 0.3:
                return f"qXfer:threads:read::{rng.choice((0, 1, 5, 99, n)):x},{b.length(rng):x}"
            return rng.choice(("T", "Hg", "Hc")) + f"{rng.choice((0, 1, 2, 5, 99, n)):x}"
        if pick == 12:
            return "qRcmd," + hex_text(self.monitor_lines())
        if pick == 13:
            text = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))).hex()
            return "qRcmd," + rng.choice((text, text + "0", "zz", text.upper()))
        return rng.choice(QUERIES)

    def query(self) -> dict:
        # Harmless by construction (see _query_body); only a random monitor
        # line could spell a machine-ender.
        body = self._query_body()
        if body.startswith("qRcmd,") and rsp_model.is_dangerous(body.encode("latin-1")):
            body = "qRcmd,"
        return self._raw("query", frame(body), defuse=False)

    # -- writes of what was read ------------------------------------------------

    def write_back(self) -> dict:
        rng = self.rng
        length = rng.choice((1, 2, 8, 16, 100, 0x300))
        return {"ch": "com2", "op": "write-back", "cmd": rng.choice("MX"),
                "addr": self.book.readonly_kernel(rng, length), "len": length}

    def register_write_back(self) -> dict:
        return {"ch": "com2", "op": "register-write-back",
                "reg": self.rng.choice(("G", self.rng.randrange(X87_FIRST), self.rng.randrange(0x18, 0x40)))}

    # -- running while attached -------------------------------------------------

    def run(self, shell_line: str) -> dict:
        """Breakpoints and watchpoints at legitimate places, resume, a shell
        command while gdb is attached, then Ctrl-C."""
        rng = self.rng
        b = self.book
        setup = []
        for _ in range(rng.randrange(0, 4)):
            kind = rng.choice("0124")
            target = b.function(rng) if kind in "01" else b.mapped(rng, "RW")
            setup.append(frame(f"Z{kind},{target:x},{rng.choice((1, 2, 4, 8)):x}").hex())
        return {"ch": "com2", "op": "run", "setup": setup,
                "resume": rng.choice(("c", "vCont;c", "C05", "vCont;C05:-1")),
                "line": shell_line, "wait_s": rng.choice((0.0, 0.5, 3.0))}

    def stop_busy(self, shell_line: str) -> dict:
        """A packet while the shell is in the middle of a command."""
        rng = self.rng
        return {"ch": "com2", "op": "stop-busy", "line": shell_line,
                "delay_ms": rng.choice((0, 1, 5, 20, 100)), "hex": frame(self._safe_query()).hex()}

    def typing_while_stopped(self, typed: bytes) -> dict:
        """Keys on COM1 while gdb holds the kernel: after 2^32 TSC cycles of
        gdb silence the stub reads them for the shell (or resumes on
        Ctrl-] x3, sometimes included)."""
        rng = self.rng
        if rng.random() < 0.3:
            typed += b"\x1d\x1d\x1d"
        return {"ch": "both", "op": "typing-while-stopped", "hex": typed.hex(),
                "silence_s": rng.choice((0.5, 3.0))}

    def _safe_query(self) -> str:
        for _ in range(100):
            body = self._query_body()
            if not rsp_model.is_dangerous(body.encode("latin-1")):
                return body
        return "?"

    def next(self) -> dict:
        pick = self.rng.random()
        for limit, make in ((0.12, self.noise), (0.24, self.framed_random), (0.32, self.bad_checksum),
                            (0.40, self.truncated), (0.44, self.huge), (0.48, self.acks),
                            (0.52, self.write_back), (0.56, self.register_write_back)):
            if pick < limit:
                return make()
        return self.query()
