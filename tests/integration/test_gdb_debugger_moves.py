"""Ordinary debugging moves that used to break the stub (issue 13): a
breakpoint on code the stub itself runs, stepping instructions that read or
write IF and TF, resuming from a hardware breakpoint, `monitor` commands that
block or fault, a gdb that vanishes without detaching, and the packets gdb
only sends now and then. Each test fails on the stub before these fixes.

Raw RSP where the exact bytes matter (test_gdb_rsp.py's client), stock gdb
where the move is gdb's (test_gdb_batch.py's runner). Addresses come from
the kernel ELF (`nm`, `objdump`), never hard-coded; every wait is for a
marker or a reply.
"""
from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest

from exo_qemu import BootMode, Qmp
from test_gdb_batch import MARK, Gdb, detached, section, shell_answers  # noqa: F401
from test_gdb_batch import gdb, target  # noqa: F401 (fixtures)
from test_gdb_rsp import (CMD_TIMEOUT_S, RIP, RSP, SIGTRAP, Rsp, attach, com2_chardev, connect,  # noqa: F401
                          continue_and_stop, detach_and_check, kernel, kernel_symbols, type_on_com1)

EFLAGS, CR0 = 0x11, 0x2A
IF, TF = 1 << 9, 1 << 8
SIGILL = 4


def _le(hexdigits: str) -> int:
    return int.from_bytes(bytes.fromhex(hexdigits), "little")


def register(rsp: Rsp, number: int) -> int:
    return _le(rsp.request(f"p{number:x}"))


@lru_cache(maxsize=None)
def disassembly(elf: Path) -> list[tuple[int, str, str]]:
    """(address, instruction text, function) for every instruction of the kernel."""
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", "-C", str(elf)], check=True,
                         capture_output=True, text=True).stdout
    rows, func = [], ""
    for line in out.splitlines():
        m = re.match(r"^([0-9a-f]+) <(.*)>:$", line)
        if m:
            func = m.group(2)
            continue
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if m:
            rows.append((int(m.group(1), 16), m.group(2).strip(), func))
    return rows


def pushf_then_cli(elf: Path) -> list[tuple[int, str]]:
    """The instructions of the first function that runs `pushf` and, a few
    instructions on, `cli` (what InterruptGuard compiles to), up to its ret."""
    rows = disassembly(elf)
    for i, (addr, text, func) in enumerate(rows):
        if not text.startswith("pushf"):
            continue
        window = [r for r in rows[i:i + 8] if r[2] == func]
        if any(t.startswith("cli") for _, t, _ in window):
            body = []
            for a, t, f in rows[i:]:
                if f != func:
                    break
                body.append((a, t))
                if t.startswith("ret"):
                    break
            return body
    pytest.fail("no pushf ... cli sequence in the kernel (InterruptGuard)", pytrace=False)


def elf_of(kernel_symbols) -> Path:
    return kernel_symbols.elf


# --------------------------------------------------------------------------
# Breakpoints on the code the stub runs


def test_gdb_breakpoints_on_functions_the_stub_calls(target, gdb):
    """`break strlen` (and memcmp, PageTable::translate), continue: gdb sees
    ordinary stops and the stub never trips over its own breakpoints while
    it parses gdb's packets (gdb 13 used to abort, the kernel froze)."""
    q, where = target()
    g = gdb(where,
            ("break", "break strlen"),
            ("break2", "break memcmp"),
            ("break3", "break exo::PageTable::translate"),
            ("continue", "continue"),
            ("where", "info registers rip"),
            ("x", "x/8xb $pc"),
            ("regs", "info registers rsp rbp eflags"),
            ("delete", "delete"),
            ("detach", "detach"))
    g.wait_for(MARK.format("continue"))
    q.send_line("x 0xffffffff80100000 16")   # parsing it calls strlen and friends
    out = g.finish()
    hit = section(out, "continue")
    assert re.search(r"Breakpoint [123], .*(strlen|memcmp|translate)", hit), g.describe("no breakpoint hit")
    assert re.search(r"^rip\s+0xffffffff8", section(out, "where"), re.M), g.describe("info registers rip")
    assert re.search(r"0xffffffff8[0-9a-f]+.*:\s+0x", section(out, "x")), g.describe("x/8xb $pc")
    detached(section(out, "detach"))
    q.wait_prompt(CMD_TIMEOUT_S)
    shell_answers(q, "breakpoints on strlen, memcmp and PageTable::translate")


def test_breakpoints_on_the_trap_path_are_refused(kernel, kernel_symbols):
    """The trap path (interrupt entry, trap_dispatch, the stub's hooks) runs
    before the stub can lift its breakpoints: Z0/Z1 there are refused with
    an error instead of recursing into a #DF."""
    q, rsp = kernel()
    attach(rsp)
    for name in ("trap_dispatch", "on_breakpoint", "on_debug", "on_com2", "stop_loop"):
        addr = kernel_symbols.address(name, "tT")
        for kind in "01":
            reply = rsp.request(f"Z{kind},{addr:x},1")
            assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"Z{kind} at {name} answered {reply!r}")
    detach_and_check(q, rsp, "refused breakpoints on the trap path")


def test_every_stub_function_can_take_a_breakpoint_or_refuses_it(kernel, kernel_symbols):
    """A breakpoint on each of the stub's functions (40 or so, as the review
    planted): each is either refused or harmless. The kernel keeps running,
    Ctrl-C still stops it, and the stub answers normally."""
    q, rsp = kernel()
    attach(rsp)
    names = re.compile(r"GdbStub::|RspCodec::|gdb_server::|safe_memory::|KernelTarget::")
    funcs = sorted({a for a, s, k, n in kernel_symbols.entries if k in "tT" and s and names.search(n)})
    assert len(funcs) >= 30, f"only {len(funcs)} stub functions in the ELF"
    planted = []
    for addr in funcs:
        reply = rsp.request(f"Z0,{addr:x},1")
        assert reply == "OK" or re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"Z0 {addr:#x}: {reply!r}")
        if reply == "OK":
            planted.append(addr)
        if len(planted) == 32:
            break
    assert len(planted) >= 20, rsp.why(f"only {len(planted)} of the stub's functions took a breakpoint")
    rsp.send("c")
    rsp.send_raw(b"\x03")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] in (2, SIGTRAP), rsp.why(f"stop after Ctrl-C: {stop}")
    for _ in range(3):   # the stub parses and answers with every breakpoint recorded
        assert len(rsp.request("g")) > 100, rsp.why("g with breakpoints across the stub")
        rsp.stop_reply(rsp.request("?"))
    detach_and_check(q, rsp, "breakpoints across the stub's code")


def test_breakpoint_hit_inside_the_stub_is_removed_and_reported(kernel, kernel_symbols):
    """A breakpoint on code the stub reaches before it can lift breakpoints
    (the UART read in the COM2 interrupt) must not re-enter it: the stub
    drops that breakpoint, says so on COM1, and goes on with the packet."""
    q, rsp = kernel()
    attach(rsp)
    addr = kernel_symbols.address("Uart16550<exo::X86PortIo>::try_get", "tT")
    rsp.ok(f"Z0,{addr:x},1")
    rsp.send("c")
    rsp.send_raw(b"\x03")      # COM2 interrupt -> try_get -> the int3, inside the stub
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] == 2, rsp.why(f"Ctrl-C through a breakpoint in the UART read: {stop}")
    q.wait_for("trap inside the debugger; breakpoint removed", CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)      # the shell redraws its prompt after a log line
    reply = rsp.request(f"z0,{addr:x},1")
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"the dropped breakpoint is still listed: {reply!r}")
    detach_and_check(q, rsp, "a breakpoint hit inside the stub")


# --------------------------------------------------------------------------
# Stepping leaves no trace


def test_stepping_pushf_and_cli_is_invisible(kernel, kernel_symbols):
    """Step through an InterruptGuard (pushf ... cli): the stored flags have
    the kernel's IF and no TF, eflags never shows TF, `cli` really clears IF
    and it stays clear, and the guard later turns interrupts back on."""
    q, rsp = kernel()
    attach(rsp)
    body = pushf_then_cli(elf_of(kernel_symbols))
    start = body[0][0]
    rsp.ok(f"Z1,{start:x},1")
    # Some callers run with interrupts off (interrupt handlers): go on until
    # the shell's own call, with IF set, is the one stopped at.
    for attempt in range(40):
        stop = continue_and_stop(q, rsp, "uptime")
        assert stop.get(RIP) == start, rsp.why(f"stopped at {stop.get(RIP, 0):#x}, not {start:#x}")
        if register(rsp, EFLAGS) & IF:
            break
    else:
        raise rsp.fail("the guard never ran with interrupts on")
    rsp.ok(f"z1,{start:x},1")
    flags0 = register(rsp, EFLAGS)
    sp0 = register(rsp, RSP)
    for addr, text in body:
        assert register(rsp, RIP) == addr, rsp.why(f"expected to be at {addr:#x} ({text})")
        stop = rsp.stop_reply(rsp.request("s"))
        flags = register(rsp, EFLAGS)
        assert not flags & TF, rsp.why(f"TF shows in eflags {flags:#x} after stepping {text!r}")
        if text.startswith("pushf"):
            assert register(rsp, RSP) == sp0 - 8, rsp.why("pushf moved rsp by other than 8")
            word = _le(rsp.memory(sp0 - 8, 8).hex())
            assert word & (IF | TF) == IF, rsp.why(f"pushf stored {word:#x}: IF must be the kernel's (1), TF 0")
        if text.startswith("cli"):
            assert not flags & IF, rsp.why(f"IF still set ({flags:#x}) after stepping cli")
        elif text.startswith("ret"):
            assert not flags & IF, rsp.why(f"IF came back ({flags:#x}) after the step past cli")
        elif addr < next(a for a, t in body if t.startswith("cli")):
            assert flags & IF == flags0 & IF, rsp.why(f"IF changed to {flags:#x} stepping {text!r}")
    rsp.send("c")
    shell_answers(q, "stepping an InterruptGuard")   # the guard gave interrupts back
    detach_and_check(q, rsp, "stepping pushf and cli")


def test_continue_from_a_hardware_breakpoint_moves_on(kernel, kernel_symbols):
    """A raw `c` at a hardware breakpoint resumes past it (RF), instead of
    stopping on the same instruction forever."""
    q, rsp = kernel()
    attach(rsp)
    handler = kernel_symbols.address("cmd_uptime", "tT")
    rsp.ok(f"Z1,{handler:x},1")
    stop = continue_and_stop(q, rsp, "uptime")
    assert stop.get(RIP) == handler and "hwbreak" in stop, rsp.why(f"first hit: {stop}")
    rsp.send("c")                      # breakpoint still armed
    q.wait_for(re.compile(rb"up \d+:"), CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    rsp.no_pending_bytes()
    type_on_com1(q, "uptime")          # and it still fires the next time
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop.get(RIP) == handler, rsp.why(f"second hit: {stop}")
    rsp.ok(f"z1,{handler:x},1")
    rsp.send("c")
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, "continuing from a hardware breakpoint")


# --------------------------------------------------------------------------
# Packets


def test_monitor_refuses_commands_that_block_spawn_or_fault(kernel):
    q, rsp = kernel()
    attach(rsp)
    for line in ("fault ud", "bench", "watch mem 100", "user sampler", "init deferred"):
        rsp.send("qRcmd," + line.encode().hex())
        text = ""
        while (reply := rsp.read_packet()) != "OK":
            assert reply.startswith("O"), rsp.why(f"monitor {line}: {reply[:60]!r}")
            text += bytes.fromhex(reply[1:]).decode(errors="replace")
        assert "not from gdb" in text, rsp.why(f"monitor {line} printed {text!r}")
        stop = rsp.stop_reply(rsp.request("?"))
        assert stop["signal"] == SIGTRAP, rsp.why(f"after monitor {line}")
    rsp.send("qRcmd," + b"uptime".hex())
    text = ""
    while (reply := rsp.read_packet()) != "OK":
        text += bytes.fromhex(reply[1:]).decode(errors="replace")
    assert re.search(r"up \d+:", text), rsp.why(f"monitor uptime printed {text!r}")
    detach_and_check(q, rsp, "refused monitor commands")


def test_packets_gdb_sends_rarely(kernel):
    """vCont;s for a thread not on the CPU, G writing a read-only register,
    packets that merely start with k or D, qThreadExtraInfo (not offered)."""
    q, rsp = kernel()
    stop = attach(rsp)
    me = int(stop["thread"], 16)
    doc = rsp.request("qXfer:threads:read::0,ffb")
    ids = [int(t, 16) for t in re.findall(r'<thread id="([0-9a-f]+)"', doc)]
    assert doc.startswith("l") and len(ids) >= 2, rsp.why(f"qXfer:threads:read answered {doc!r}")
    other = next(t for t in ids if t != me)
    rip = register(rsp, RIP)
    for packet in (f"vCont;s:{other:x};c", f"vCont;s:{max(ids) + 50:x}"):
        reply = rsp.request(packet)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"{packet} answered {reply!r}")
    assert register(rsp, RIP) == rip, rsp.why("a refused step moved the stopped thread")

    g = rsp.request("g")
    rax = g[:16]
    changed = "0123456789abcdef" + g[16:]
    cr0_at = 2 * (17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 2 * 8)
    cr0 = _le(g[cr0_at:cr0_at + 16])
    both = changed[:cr0_at] + (cr0 ^ 0x10000).to_bytes(8, "little").hex() + changed[cr0_at + 16:]
    reply = rsp.request("G" + both)
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"G changing cr0 answered {reply!r}")
    assert rsp.request("p0") == rax, rsp.why("a refused G wrote rax anyway")
    rsp.ok("G" + changed)              # cr0 given back unchanged: fine
    assert rsp.request("p0") == "0123456789abcdef", rsp.why("G did not write rax")
    rsp.ok("P0=" + rax)

    for packet in ("k0", "Dxyz", "D1"):
        assert rsp.request(packet) == "", rsp.why(f"{packet} is not a detach")
    rsp.stop_reply(rsp.request("?"))   # still attached and stopped
    # qXfer:threads:read carries each thread's state now: qThreadExtraInfo
    # is not offered (it used to answer "boot" for a thread that is not).
    reply = rsp.request(f"qThreadExtraInfo,{max(ids) + 50:x}")
    assert reply == "", rsp.why(f"qThreadExtraInfo of no thread answered {reply!r}")
    detach_and_check(q, rsp, "rare packets")


def test_panic_reports_the_exception_as_its_signal(machine):
    """gdb=panic: `fault ud` reaches gdb as SIGILL, not SIGABRT."""
    import exo_qemu
    port = exo_qemu.free_tcp_port()
    q = machine(BootMode.PVH, append="gdb=panic", com2=com2_chardev(port))
    q.wait_prompt(CMD_TIMEOUT_S)
    q.send_line("fault ud")
    q.wait_for("handing the CPU to gdb", CMD_TIMEOUT_S)
    rsp = connect(port)
    try:
        stop = attach(rsp)
        assert stop["signal"] == SIGILL, rsp.why(f"panic on #UD reported signal {stop['signal']}")
    finally:
        rsp.close()


def test_watch_of_an_unaligned_range_takes_several_debug_registers(kernel, kernel_symbols):
    """Watch 3 bytes at an odd address (QEMU's stub takes it; ours used to
    refuse): two debug registers, and a write to any byte stops the kernel
    with the range's start in the stop reply."""
    q, rsp = kernel()
    attach(rsp)
    counter = kernel_symbols.address("g_received", "bB")
    rsp.ok(f"Z2,{counter + 1:x},3")
    stop = continue_and_stop(q, rsp, "uptime")
    assert int(stop.get("watch", "0"), 16) == counter + 1, rsp.why(f"watch stop: {stop}")
    rsp.ok(f"z2,{counter + 1:x},3")
    reply = rsp.request(f"Z2,{counter:x},21")        # 33 bytes: more than the four registers cover
    assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"a 33-byte watch answered {reply!r}")
    rsp.send("c")
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, "a split watchpoint")


def test_gdb_shows_flag_registers_by_name(target, gdb):
    """target.xml gives eflags, cr0, cr4 and efer flag types: gdb prints
    `[ IF ... ]`, `[ PG ... PE ]`, not bare numbers."""
    q, where = target()
    g = gdb(where, ("regs", "info registers eflags cr0 cr4 efer"), ("detach", "detach"))
    out = g.finish()
    regs = section(out, "regs")
    for name, bits in (("eflags", ("IF",)), ("cr0", ("PG", "PE", "WP")), ("cr4", ("PAE",)), ("efer", ("LME", "LMA"))):
        m = re.search(rf"^{name}\s+0x[0-9a-f]+\s+\[([^\]]*)\]", regs, re.M)
        assert m, g.describe(f"{name} is not shown as flags")
        for bit in bits:
            assert bit in m.group(1).split(), g.describe(f"{name} lacks {bit}")
    detached(section(out, "detach"))
    shell_answers(q, "info registers of the flag registers")


def test_ctrl_c_stops_a_kernel_spinning_with_interrupts_off(kernel, kernel_symbols):
    """`fault spin` hangs the shell's thread with interrupts off, as a bug
    would: COM2's interrupt cannot come, but its NMI does, so Ctrl-C stops
    the kernel there, gdb sees where, and releasing the flag resumes it."""
    q, rsp = kernel()
    attach(rsp)
    rsp.send("c")
    q.send_line("fault spin")
    q.wait_for("spinning with interrupts off", CMD_TIMEOUT_S)
    rsp.send_raw(b"\x03")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] == 2, rsp.why(f"Ctrl-C during the spin: {stop}")
    start, size = kernel_symbols.find("cmd_fault", "tT")
    assert start <= stop[RIP] < start + size, rsp.why(f"stopped at {stop[RIP]:#x}, not in cmd_fault")
    assert not register(rsp, EFLAGS) & IF, rsp.why("the spin runs with interrupts off")
    flag = kernel_symbols.address("g_spinning", "bBdD")
    rsp.ok(f"M{flag:x},1:00")
    rsp.send("c")
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, "stopping a kernel spinning with interrupts off")


def test_compare_sections_finds_the_running_text_unchanged(target, gdb):
    """qCRC: gdb's compare-sections checks the kernel's text and rodata in
    memory against the ELF; with a breakpoint set the text still matches
    (the int3 bytes are lifted while the kernel is stopped)."""
    q, where = target()
    g = gdb(where, ("break", "break cmd_uptime"), ("text", "compare-sections .text"),
            ("rodata", "compare-sections .rodata"), ("detach", "detach"))
    out = g.finish()
    cmp = section(out, "text") + section(out, "rodata")
    for name in (".text", ".rodata"):
        assert re.search(rf"Section {re.escape(name)}, range 0x[0-9a-f]+ -- 0x[0-9a-f]+: matched", cmp), \
            g.describe(f"compare-sections: {name} did not match")
    assert "MIS-MATCHED" not in cmp, g.describe("compare-sections found a difference")
    detached(section(out, "detach"))
    shell_answers(q, "compare-sections")


def test_debug_cr8_and_kernel_gs_base_registers(kernel, kernel_symbols):
    """dr0-dr3/dr7 show the watchpoints the kernel runs with (the CPU's
    are off while stopped), dr6 what the last #DB said; cr8 and k_gs_base
    are there as QEMU's stub gives them."""
    q, rsp = kernel()
    attach(rsp)
    counter = kernel_symbols.address("g_received", "bB")
    rsp.ok(f"Z2,{counter:x},8")
    assert register(rsp, 0x31) == counter, rsp.why("dr0 is not the watched address")
    dr7 = register(rsp, 0x36)
    assert dr7 & 0b10 and (dr7 >> 16) & 0xF == 0b1001, rsp.why(f"dr7 {dr7:#x}: G0, 8-byte write watch")
    stop = continue_and_stop(q, rsp, "uptime")
    assert "watch" in stop, rsp.why(f"watch stop: {stop}")
    assert register(rsp, 0x35) & 0b1, rsp.why("dr6 does not say slot 0 fired")
    assert register(rsp, 0x2F) <= 15, rsp.why("cr8 is a priority (0-15)")
    assert re.fullmatch(r"[0-9a-f]{16}", rsp.request("p30")), rsp.why("k_gs_base")
    rsp.ok(f"z2,{counter:x},8")
    assert register(rsp, 0x36) & 0xFF == 0, rsp.why("dr7 still enables a slot after z2")
    rsp.send("c")
    q.wait_prompt(CMD_TIMEOUT_S)
    detach_and_check(q, rsp, "debug registers")


def test_user_int3_with_gdb_attached_is_a_stop(kernel):
    """With gdb attached, a ring-3 int3 is a stop gdb sees (in user space);
    continuing lets the program run on and exit normally."""
    q, rsp = kernel()
    attach(rsp)
    stop = continue_and_stop(q, rsp, "user trap")
    assert stop["signal"] == SIGTRAP, rsp.why(f"user int3: {stop}")
    assert stop[RIP] < 0x0000800000000000, rsp.why(f"stopped at {stop[RIP]:#x}, not in user space")
    assert register(rsp, 0x12) & 3 == 3, rsp.why("cs is not ring 3")
    rsp.send("c")
    # A clean exit is a debug line: in the log ring, not on the console.
    q.wait_prompt(CMD_TIMEOUT_S)
    for _ in range(50):
        log = q.command("log", CMD_TIMEOUT_S)
        if re.search(r"user: thread \d+ \(user:trap\) exited with 0", log):
            break
    else:
        raise AssertionError(f"user:trap never exited cleanly after continue:\n{log}")
    detach_and_check(q, rsp, "a user int3 under gdb")


def test_device_memory_is_refused_like_unmapped(kernel):
    """The local APIC and I/O APIC registers are mapped (cache-disabled) but
    a read there can have side effects: `x` and gdb's `m` refuse them like
    unmapped memory."""
    q, rsp = kernel()
    out = q.command("pages --json", CMD_TIMEOUT_S)
    mappings = json.loads(out.strip().splitlines()[-1])["mappings"]
    devices = [int(m["virt"], 16) for m in mappings if int(m["phys"], 16) in (0xFEE00000, 0xFEC00000)]
    assert len(devices) == 2, f"no LAPIC/IOAPIC mapping in pages --json: {mappings}"
    for virt in devices:
        text = q.command(f"x {virt:#x} 16", CMD_TIMEOUT_S)
        assert text.startswith("error: x:"), f"x {virt:#x} read device memory: {text!r}"
    attach(rsp)
    for virt in devices:
        reply = rsp.read_memory(virt, 4)
        assert re.fullmatch(r"E[0-9a-f]{2}", reply), rsp.why(f"m{virt:x},4 answered {reply!r}")
    detach_and_check(q, rsp, "reads of device memory")


def test_gdb_off_leaves_com2_alone(machine):
    """gdb=off: no stub at all. `drivers` says it is absent, and a packet on
    COM2 neither stops the kernel nor gets an answer."""
    import exo_qemu
    port = exo_qemu.free_tcp_port()
    q = machine(BootMode.PVH, append="gdb=off", com2=com2_chardev(port))
    q.wait_prompt(CMD_TIMEOUT_S)
    drivers = q.command("drivers", CMD_TIMEOUT_S)
    assert re.search(r"^gdbstub\s+critical\s+absent", drivers, re.M), f"drivers with gdb=off:\n{drivers}"
    state = json.loads(q.command("gdb --json", CMD_TIMEOUT_S).strip().splitlines()[-1])
    assert state["listening"] is False and state["attached"] is False, f"gdb --json with gdb=off: {state}"
    assert "off (gdb=off)" in q.command("gdb", CMD_TIMEOUT_S)
    rsp = connect(port)
    try:
        rsp.send_raw(b"+$?#3f")
        shell_answers(q, "a packet on COM2 with gdb=off")   # a round trip: any answer would be here
        rsp.sock.setblocking(False)
        try:
            answer = rsp.sock.recv(100)
        except BlockingIOError:
            answer = b""
        assert answer == b"", f"COM2 answered with gdb=off: {answer!r}"
    finally:
        rsp.close()


def test_an_nmi_that_is_not_com2s_still_gets_the_panic_report(booted, tmp_path):
    """The stub takes NMIs (COM2's line mirrored), but only those with a byte
    waiting on COM2: an NMI from elsewhere (QEMU's inject-nmi, as a watchdog
    would send) still gets the kernel's panic report, as before."""
    sock_path = tmp_path / "qmp.sock"
    q = booted(BootMode.PVH, extra_args=["-qmp", f"unix:{sock_path},server=on,wait=off"])
    assert "and NMI" in q.command("drivers", CMD_TIMEOUT_S), "the stub did not take COM2's NMI"
    with Qmp(sock_path, CMD_TIMEOUT_S) as qmp:
        qmp.execute("inject-nmi")
    q.wait_for("KERNEL PANIC: exception 2 (NMI)", CMD_TIMEOUT_S)


# --------------------------------------------------------------------------
# A gdb that vanished


def test_ctrl_bracket_three_times_on_com1_resumes_without_gdb(kernel):
    """gdb attached, then died without `D`: the kernel stays stopped, COM1
    says how to get out, and Ctrl-] three times there resumes it (the
    breakpoints gone, as after a detach)."""
    q, rsp = kernel()
    attach(rsp)
    rsp.send("c")                      # a while of ordinary debugging first
    rsp.send_raw(b"\x03")
    rsp.stop_reply(rsp.read_packet())
    rsp.ok("Z1,{:x},1".format(register(rsp, RIP)))
    rsp.close()                        # gdb is gone; nothing will resume us
    q.send(b" ")                       # someone types at the shell, which cannot answer
    q.wait_for("kernel stopped by gdb; Ctrl-] x3 on COM1 resumes", CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)       # redrawn after the log line
    q.send(b"\x15")                    # Ctrl-U: the space goes again once the shell runs
    q.send(b"\x1d\x1d\x1d")
    out = q.command("uptime", CMD_TIMEOUT_S)
    assert re.search(r"\bup\b", out), f"after Ctrl-] x3, uptime answered {out!r}"
    # Detached for good: a new gdb can attach as usual.
    rsp2 = connect(rsp.port)
    try:
        attach(rsp2)
        detach_and_check(q, rsp2, "reattaching after Ctrl-]")
    finally:
        rsp2.close()


def test_watchpoint_next_to_the_tss_fires_only_when_written(kernel, kernel_symbols):
    """The TSS's rsp0 is written at every thread switch. Packed at an
    8-aligned address it sat misaligned, and QEMU 7.2's TCG reports a
    misaligned store to a page holding a watchpoint as a hit on it: a watch
    on anything near the TSS stopped the kernel at every switch. Here the
    watch is on the TSS's own I/O-map field, which nothing writes after
    boot: switches happen (a command runs) and no stop comes."""
    q, rsp = kernel()
    tss = kernel_symbols.address("g_aligned_tss", "bB") + 4
    iomap = tss + 0x66
    attach(rsp)
    rsp.ok(f"Z2,{iomap:x},2")
    rsp.send("c")
    q.command("threads", CMD_TIMEOUT_S)      # several switches, each writing rsp0
    rsp.send_raw(b"\x03")
    stop = rsp.stop_reply(rsp.read_packet())
    assert stop["signal"] == 2 and "watch" not in stop, rsp.why(f"stop: {stop}")
    rsp.ok(f"z2,{iomap:x},2")
    detach_and_check(q, rsp, "a watchpoint next to the TSS")
