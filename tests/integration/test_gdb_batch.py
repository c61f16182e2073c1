"""Stock gdb against the kernel's stub on COM2, the way a person uses it:
`gdb -nx -batch build/exo-kernel.elf -ex 'target remote ...' -ex ...`, over
TCP and over a pty.

Each test boots its own PVH machine and runs one gdb session. The commands
are separated by `echo @@name@@` markers, so each command's output can be
checked on its own and the test can act at the right moment: when gdb is
about to `continue`, the test types a shell command on COM1 (the kernel is
stopped, so the bytes wait in the UART until gdb has resumed it with its
breakpoints in). Where the test must look at COM1 while gdb holds the kernel,
gdb runs `shell read` and waits for a line on its stdin. Every wait is for a
marker; nothing sleeps. gdb and QEMU are killed on every path.
"""
from __future__ import annotations

import functools
import os
import re
import shlex
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import pytest

import exo_qemu
from exo_qemu import BootMode, Qemu

from test_gdb_rsp import (CMD_TIMEOUT_S, com2_chardev, kernel_symbols,  # noqa: F401 (fixture)
                          mapped_then_unmapped, pages_ranges)

GDB = os.environ.get("EXO_GDB", "/usr/bin/gdb")
GDB_TIMEOUT_S = 20.0      # upper bound for one gdb step (TCG on a loaded machine)
REMOTE_TIMEOUT_S = 8      # gdb's own per-packet timeout (it retries 3 times)
REMOTE_LOG_LINES = 40     # of gdb's remote log, shown when a test fails
MARK = "@@{}@@"
SOURCE_LINE = re.compile(r" at (/\S+\.(?:cc|h|S|cpp)):(\d+)")
PTY_LINE = re.compile(rb"char device redirected to (/dev/pts/\d+) \(label serial1\)")
NO_ACCESS = re.compile(r"Cannot access memory at address 0x0\b")

G_FRAMES = "'exo::memory::(anonymous namespace)::g_frames'"


class Gdb:
    """A running `gdb -batch`: its output (stdout and stderr merged, in
    order) read by a thread, waited on by marker."""

    def __init__(self, argv: Sequence[str], remote_log: Optional[Path] = None) -> None:
        self.argv = list(argv)
        self.remote_log = remote_log
        self.out = exo_qemu.ByteStream()  # stdout and stderr, merged
        self.cursor = 0
        setter = getattr(exo_qemu, "_pdeathsig_setter", lambda: None)()
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, preexec_fn=setter, bufsize=0)
        read = functools.partial(os.read, self.proc.stdout.fileno(), 65536)
        threading.Thread(target=self.out.pump, args=(read,), daemon=True, name=f"gdb-{self.proc.pid}").start()

    @property
    def text(self) -> str:
        with self.out.cond:
            return self.out.data.decode(errors="replace")

    def describe(self, what: str) -> str:
        cmd = " ".join(shlex.quote(a) for a in self.argv)
        msg = f"{what}\n$ {cmd}\n--- gdb output ---\n{self.text}"
        if self.remote_log and self.remote_log.is_file():
            lines = self.remote_log.read_text(errors="replace").splitlines()
            shown = [ln if len(ln) < 300 else ln[:200] + f"...({len(ln)} chars)" for ln in lines[-REMOTE_LOG_LINES:]]
            msg += (f"\n--- packets (gdb remotelogfile, last {len(shown)} of {len(lines)} lines; "
                    f"w = gdb sent, r = gdb received) ---\n" + "\n".join(shown))
        return msg

    def wait_for(self, marker: str, timeout: float = GDB_TIMEOUT_S) -> None:
        pattern = re.compile(re.escape(marker.encode()))
        deadline = time.monotonic() + timeout
        with self.out.cond:
            while True:
                m = pattern.search(self.out.data, self.cursor)
                if m:
                    self.cursor = m.end()
                    return
                remaining = deadline - time.monotonic()
                if self.out.eof or remaining <= 0:
                    break
                self.out.cond.wait(remaining)
        state = "gdb exited" if self.out.eof else f"timed out after {timeout:.0f} s"
        raise AssertionError(self.describe(f"{state} before {marker!r} appeared"))

    def release(self) -> None:
        """Let a `shell read` barrier go."""
        self.proc.stdin.write(b"\n")
        self.proc.stdin.flush()

    def interrupt(self) -> None:
        """What Ctrl-C at gdb's terminal does."""
        self.proc.send_signal(signal.SIGINT)

    def finish(self, timeout: float = GDB_TIMEOUT_S) -> str:
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(self.describe(f"gdb still running after {timeout:.0f} s")) from None
        with self.out.cond:
            self.out.cond.wait_for(lambda: self.out.eof, timeout)
        assert rc == 0, self.describe(f"gdb exited with status {rc}")
        return self.text

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def section(out: str, name: str) -> str:
    """What gdb printed between `echo @@name@@` and the next marker."""
    start = out.find(MARK.format(name))
    assert start >= 0, f"no {MARK.format(name)} in gdb's output:\n{out}"
    start += len(MARK.format(name))
    end = out.find("@@", start)
    return out[start:end if end >= 0 else len(out)]


def script(*steps: tuple[str, str]) -> list[str]:
    """-ex arguments: for each (name, command) an echo marker, then the command."""
    args: list[str] = []
    for name, command in steps:
        args += ["-ex", f"echo {MARK.format(name)}\\n"]
        if command:
            args += ["-ex", command]
    args += ["-ex", f"echo {MARK.format('end')}\\n"]
    return args


# --------------------------------------------------------------------------
# Fixtures

@pytest.fixture
def gdb(build_dir, tmp_path):
    """Factory: gdb(target, steps) starts `gdb -nx -batch exo-kernel.elf
    -ex 'target remote TARGET'` and the steps; every gdb is killed at teardown."""
    started: list[Gdb] = []
    elf = build_dir / "exo-kernel.elf"
    if not elf.is_file():
        pytest.fail(f"{elf} is missing: build the kernel first (or set EXO_BUILD_DIR)", pytrace=False)

    def start(target: str, *steps: tuple[str, str]) -> Gdb:
        log = tmp_path / f"gdb-remote-{len(started)}.log"
        argv = [GDB, "-nx", "-batch", str(elf),
                "-ex", f"set remotetimeout {REMOTE_TIMEOUT_S}",
                "-ex", f"set remotelogfile {log}",
                "-ex", f"target remote {target}", *script(*steps)]
        g = Gdb(argv, log)
        started.append(g)
        return g

    yield start
    for g in started:
        g.kill()


def _pty_of(q: Qemu) -> str:
    """The pty QEMU made for COM2, from its line `char device redirected to
    /dev/pts/N (label serial1)`. QEMU 7.2 prints it on stdout (which is
    COM1's pipe here), before the guest runs: by the prompt it is there.
    (Other versions print it on stderr, which QEMU wrote before starting
    the guest as well.)"""
    m = PTY_LINE.search(q.output) or PTY_LINE.search(q.stderr_text.encode())
    assert m, f"QEMU did not say which pty COM2 is on:\n{q.text}\nstderr:\n{q.stderr_text}"
    return m.group(1).decode()


@pytest.fixture
def target(booted):
    """Factory: target(transport) boots a PVH machine to the prompt with COM2
    on `tcp` (loopback) or a `pty`; returns (machine, what gdb's `target
    remote` takes)."""
    def start(transport: str = "tcp", **kwargs) -> tuple[Qemu, str]:
        if transport == "pty":
            q = booted(BootMode.PVH, com2="pty", **kwargs)
            return q, _pty_of(q)
        port = exo_qemu.free_tcp_port()
        q = booted(BootMode.PVH, com2=com2_chardev(port), **kwargs)
        return q, f"{exo_qemu.LOOPBACK}:{port}"
    return start


def shell_answers(q: Qemu, what: str) -> None:
    out = q.command("uptime", CMD_TIMEOUT_S)
    assert re.search(r"\bup\b", out), f"after {what}, `uptime` on COM1 answered {out!r}"


def detached(out: str) -> None:
    assert "[Inferior 1 (Remote target) detached]" in out, f"gdb did not detach:\n{out}"


# --------------------------------------------------------------------------
# Tests

@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_attach_inspect_detach(target, gdb, transport):
    q, where = target(transport)
    g = gdb(where,
            ("bt", "bt"),
            ("threads", "info threads"),
            ("regs", "info registers rip rsp eflags cs cr0 cr3 cr4 efer fs_base gs_base"),
            ("monitor", "monitor mem"),
            ("x0", "x/4x 0"),
            ("text", "x/2i $pc"),
            ("detach", "detach"))
    out = g.finish()

    frames = [ln for ln in section(out, "bt").splitlines() if ln.startswith("#")]
    assert frames and frames[0].startswith("#0 "), g.describe("bt printed no frame #0")
    upto = next((i for i, f in enumerate(frames) if "kernel_main" in f), None)
    assert upto is not None, g.describe("the idle thread's bt does not reach kernel_main")
    assert all(SOURCE_LINE.search(f) for f in frames[:upto + 1]), g.describe("a bt frame without file:line")
    # (What lies beyond kernel_main is test_backtraces_are_clean's business.)

    threads = section(out, "threads")
    # Names and states from qXfer:threads:read: * 1    Thread 1 "idle" (running, ring 0) ...
    assert re.search(r'^\*\s+1\s+Thread 1 "idle" \(\w+, ring 0\)', threads, re.M), \
        g.describe("info threads: no idle thread 1")
    assert re.search(r'Thread \d+ "shell" \(\w+, ring 0\)', threads), g.describe("info threads: no shell thread")

    regs = section(out, "regs")
    for name in ("rip", "rsp", "eflags", "cs", "cr0", "cr3", "cr4", "efer", "fs_base", "gs_base"):
        assert re.search(rf"^{name}\s+0x[0-9a-f]+", regs, re.M), g.describe(f"info registers: no {name}")
    cr0 = int(re.search(r"^cr0\s+(0x[0-9a-f]+)", regs, re.M).group(1), 16)
    assert cr0 & 0x80000001 == 0x80000001, g.describe(f"cr0 {cr0:#x} lacks PG|PE")

    mon = section(out, "monitor")
    assert re.search(r"physical: \d+ KiB total", mon) and "heap:" in mon, g.describe("monitor mem output")

    assert NO_ACCESS.search(section(out, "x0")), g.describe("x/4x 0 did not say `Cannot access memory`")
    assert re.search(r"=> 0xffffffff8[0-9a-f]+", section(out, "text")), g.describe("x/2i $pc")
    detached(section(out, "detach"))
    shell_answers(q, f"a gdb session over {transport}")


@pytest.mark.parametrize("transport", ["tcp", "pty"])
def test_break_on_shell_command(target, gdb, transport):
    q, where = target(transport)
    g = gdb(where,
            ("break", "break cmd_uptime"),
            ("continue", "continue"),
            ("where", "frame"),
            ("delete", "delete"),
            ("detach", "detach"))
    g.wait_for(MARK.format("continue"))
    q.send_line("uptime")               # stopped: the line waits in the UART
    out = g.finish()
    assert re.search(r"Breakpoint 1 at 0xffffffff8[0-9a-f]+: file \S+timer_commands\.cc, line \d+",
                     section(out, "break")), g.describe("break cmd_uptime")
    hit = section(out, "continue")
    assert re.search(r"hit Breakpoint 1, .*cmd_uptime .* at \S+timer_commands\.cc:\d+", hit), \
        g.describe("continue did not report the breakpoint in cmd_uptime")
    assert "cmd_uptime" in section(out, "where"), g.describe("frame after the hit")
    detached(section(out, "detach"))
    q.wait_for(re.compile(rb"up \d+:"), CMD_TIMEOUT_S)   # the command ran on after the detach
    q.wait_prompt(CMD_TIMEOUT_S)
    shell_answers(q, f"a breakpoint over {transport}")


def test_backtraces_are_clean(target, gdb):
    """From a shell command, bt walks up through the dispatcher to the shell
    thread's entry; the idle thread's ends at the boot entry. Every frame
    has a function and file:line, and none is junk read past the outermost
    frame (`?? ()`, data symbols)."""
    q, where = target()
    g = gdb(where,
            ("idle", "bt"),
            ("hbreak", "hbreak cmd_uptime"),
            ("continue", "continue"),
            ("bt", "bt"),
            ("delete", "delete"),
            ("detach", "detach"))
    g.wait_for(MARK.format("continue"))
    q.send_line("uptime")
    out = g.finish()
    assert "cmd_uptime" in section(out, "continue"), g.describe("the hardware breakpoint was not hit")
    for name, first, last in (("bt", "cmd_uptime", "shell_main"), ("idle", "", "kernel_main")):
        frames = [ln for ln in section(out, name).splitlines() if ln.startswith("#")]
        assert frames and first in frames[0], g.describe(f"{name}: bt does not start in {first}")
        bad = [f for f in frames if "?? ()" in f or not SOURCE_LINE.search(f)]
        assert not bad, g.describe(f"{name}: bt has frames without a function or a source line: {bad}")
        assert any(last in f for f in frames), g.describe(f"{name}: bt does not reach {last}")
    detached(section(out, "detach"))
    q.wait_prompt(CMD_TIMEOUT_S)
    shell_answers(q, "a backtrace")


def test_finish_out_of_command(target, gdb):
    q, where = target()
    g = gdb(where,
            ("break", "break cmd_uptime"),
            ("continue", "continue"),
            ("finish", "finish"),
            ("delete", "delete"),
            ("detach", "detach"))
    g.wait_for(MARK.format("continue"))
    q.send_line("uptime")
    out = g.finish()
    assert "cmd_uptime" in section(out, "continue"), g.describe("the breakpoint was not hit")
    fin = section(out, "finish")
    # finish stops in the caller, at the source line after the call.
    assert re.search(r"0xffffffff8[0-9a-f]+ in \S*dispatch.* at \S+\.cc:\d+", fin), \
        g.describe("finish did not stop in the command's caller")
    detached(section(out, "detach"))
    q.wait_prompt(CMD_TIMEOUT_S)
    shell_answers(q, "finish")


def test_print_and_set_var(target, gdb):
    q, where = target()
    g = gdb(where,
            ("frames", f"print {G_FRAMES}"),
            ("ptype", f"ptype {G_FRAMES}"),
            ("field", f"print {G_FRAMES}.m_total"),
            ("setfield", f"set var {G_FRAMES}.m_peak_used = {G_FRAMES}.m_peak_used + 1"),
            ("newfield", f"print {G_FRAMES}.m_peak_used"),
            ("restore", f"set var {G_FRAMES}.m_peak_used = {G_FRAMES}.m_peak_used - 1"),
            ("cr", "print/x $cr3"),
            ("detach", "detach"))
    out = g.finish()
    frames = section(out, "frames")
    for field in ("m_total", "m_free_count", "m_frame_count"):
        assert re.search(rf"\b{field} = \d+", frames), g.describe(f"print g_frames: no {field}")
    assert re.search(r"type = (class|struct) exo::FrameAllocator", section(out, "ptype")), g.describe("ptype g_frames")
    total = int(re.search(r"\$\d+ = (\d+)", section(out, "field")).group(1))
    assert re.search(rf"\bm_total = {total}\b", frames), g.describe("g_frames.m_total differs from print g_frames")
    peak = int(re.search(r"\bm_peak_used = (\d+)", frames).group(1))
    assert not section(out, "setfield").strip(), g.describe("set var printed an error")
    assert re.search(rf"\$\d+ = {peak + 1}\b", section(out, "newfield")), g.describe("set var on a global did not stick")
    assert re.search(r"\$\d+ = 0x[0-9a-f]+000\b", section(out, "cr")), g.describe("print $cr3")
    detached(section(out, "detach"))
    mem = q.command("mem", CMD_TIMEOUT_S)
    assert "physical" in mem, f"mem after set var: {mem!r}"
    shell_answers(q, "set var")


def test_watch_variable(target, gdb, kernel_symbols):
    """watch on the serial input's byte counter (by address: with LTO its
    DWARF location is gone), which the COM1 IRQ bumps per byte typed."""
    counter = kernel_symbols.address("g_received", "bB")
    q, where = target()
    g = gdb(where,
            ("watch", f"watch *(unsigned long *){counter:#x}"),
            ("continue", "continue"),
            ("delete", "delete"),
            ("detach", "detach"))
    g.wait_for(MARK.format("continue"))
    q.send_line("uptime")
    out = g.finish()
    assert re.search(r"Hardware watchpoint 1: ", section(out, "watch")), g.describe("watch was not a hardware watchpoint")
    hit = section(out, "continue")
    m = re.search(r"Hardware watchpoint 1: [^\n]*\s+Old value = (\d+)\s+New value = (\d+)", hit)
    assert m, g.describe("continue did not stop at the watchpoint")
    assert int(m.group(2)) == int(m.group(1)) + 1, g.describe("the watched counter moved by more than one")
    assert "drain_uart" in hit or "serial_input" in hit, g.describe("the watchpoint stop is not in the COM1 input path")
    detached(section(out, "detach"))
    q.wait_for(re.compile(rb"up \d+:"), CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)
    shell_answers(q, "a watchpoint")


def test_gdb_wait_holds_boot_until_gdb_continues(machine, gdb):
    """`gdb=wait`: the kernel stops before the Essential phase; no prompt
    while gdb holds it; `continue` lets it boot; Ctrl-C in gdb stops it
    again; detach leaves it running."""
    port = exo_qemu.free_tcp_port()
    q = machine(BootMode.PVH, append="gdb=wait", com2=com2_chardev(port))
    q.wait_for(b"waiting for gdb", CMD_TIMEOUT_S)
    g = gdb(f"{exo_qemu.LOOPBACK}:{port}",
            ("bt", "bt"),
            ("barrier", "shell read line"),
            ("continue", "continue"),
            ("threads", "info threads"),
            ("detach", "detach"))
    g.wait_for(MARK.format("barrier"))
    # gdb holds the kernel (it is stopped at `shell read`): no prompt yet.
    assert b"exo> " not in q.output, g.describe("the prompt appeared before gdb continued:\n" + q.text)
    # The stop is the stub's wait (wait_for_attach, perhaps inlined into
    # the boot sequence), before the Essential phase ran.
    top = [ln for ln in section(g.text, "bt").splitlines() if ln.startswith("#0 ")]
    assert top and re.search(r"wait_for_attach|run_to_prompt", top[0]), \
        g.describe("gdb=wait did not stop in the stub's wait in the boot sequence")
    g.release()
    g.wait_for(MARK.format("continue"))
    q.wait_prompt(CMD_TIMEOUT_S)      # continued: the boot finishes
    g.interrupt()                     # Ctrl-C in gdb
    g.wait_for(MARK.format("threads"))
    out = g.finish()
    assert "SIGINT" in section(out, "continue"), g.describe("Ctrl-C in gdb did not stop the kernel with SIGINT")
    assert re.search(r'Thread \d+ "shell"', section(out, "threads")), g.describe("no shell thread after the boot")
    detached(section(out, "detach"))
    shell_answers(q, "gdb=wait, continue, Ctrl-C and detach")


def test_find_searches_in_the_stub(target, gdb, kernel_symbols):
    """gdb's `find` through qSearch:memory: a string in the kernel's
    read-only data is found where it is, and a range that runs into an
    unmapped page stops the search (gdb says so) without hurting the kernel."""
    q, where = target()
    edge = mapped_then_unmapped(pages_ranges(q), kernel_symbols.address("kernel_main", "tT"))
    g = gdb(where,
            ("find", "find (char *) &__rodata_start, +0x8000, \"x3 on COM1 resumes\""),
            ("show", "x/s $_"),
            ("edge", f"find /b {edge - 0x100:#x}, +0x200, 0x12, 0x34, 0x56, 0x78, 0x9a"),
            ("detach", "detach"))
    out = g.finish()
    found = section(out, "find")
    assert re.search(r"^1 pattern found\.$", found, re.M), g.describe("find: the string was not found once")
    assert "x3 on COM1 resumes" in section(out, "show"), g.describe("find: $_ is not the string")
    assert re.search(r"Pattern not found|Unable to access", section(out, "edge")), \
        g.describe("find into an unmapped page")
    log = g.remote_log.read_text(errors="replace")
    assert "qSearch:memory:" in log, g.describe("gdb searched by reading memory, not with qSearch:memory")
    detached(out)
    shell_answers(q, "find")
