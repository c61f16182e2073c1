"""The edges of the SYSCALL path that a user (or a debugger) can reach
(issue 14, hole 6): a return to a non-canonical RIP, and a watchpoint that
fires at syscall entry before the kernel stack is loaded.

Raw RSP (test_gdb_rsp.py's client); addresses come from the kernel ELF.
"""
from __future__ import annotations

import re
import subprocess

from exo_qemu import BootMode  # noqa: F401
from test_gdb_rsp import (CMD_TIMEOUT_S, RIP, RSP, SIGTRAP, attach, continue_and_stop,  # noqa: F401
                          kernel, kernel_symbols)

USER_TOP = 0x0000800000000000   # first address above the lower canonical half


def asm_symbol(elf, name: str) -> int:
    """The address of a symbol defined in assembly (nm -S skips it: no size)."""
    out = subprocess.run(["nm", str(elf)], check=True, capture_output=True, text=True).stdout
    hits = [int(a, 16) for a, _, n in (ln.split(None, 2) for ln in out.splitlines() if ln.count(" ") == 2)
            if n == name]
    assert len(hits) == 1, f"{name} in {elf}: {hits}"
    return hits[0]


def _le64(value: int) -> str:
    return value.to_bytes(8, "little").hex()


def test_sysret_to_a_non_canonical_rip_kills_the_thread(kernel, kernel_symbols):
    """SYSRET with RCX >= 2^47 faults in ring 0 on the user's stack on Intel
    CPUs (CVE-2012-0217). The return path checks RCX and ends the thread
    instead. The bad RIP is planted the way only a debugger can here: stop
    at syscall_dispatch and rewrite the user RIP syscall_entry saved.
    (TCG's SYSRET faults in ring 3 like AMD's, so the kernel's own line,
    not survival alone, is what shows the check ran.)"""
    q, rsp = kernel()
    dispatch = kernel_symbols.address("syscall_dispatch")
    attach(rsp)
    rsp.ok(f"Z0,{dispatch:x},1")
    stop = continue_and_stop(q, rsp, "user sampler")
    assert stop["signal"] == SIGTRAP and stop[RIP] == dispatch, rsp.why(f"stop: {stop}")
    # syscall_entry pushed user RSP, RCX (user RIP), R11, a pad, then called.
    saved_rip = stop[RSP] + 24
    assert 0 < int.from_bytes(rsp.memory(saved_rip, 8), "little") < USER_TOP, \
        rsp.why("the saved user RIP is not where syscall_entry puts it")
    rsp.ok(f"M{saved_rip:x},8:{_le64(USER_TOP)}")
    rsp.ok(f"z0,{dispatch:x},1")
    reply = rsp.request("D")
    assert reply == "OK", rsp.why(f"D answered {reply!r}")
    q.wait_for(re.compile(rb"user: sysret to 0x0000800000000000 refused"), CMD_TIMEOUT_S)
    q.wait_for(re.compile(rb"user: thread \d+ \(user:sampler\) exited with -1013"), CMD_TIMEOUT_S)
    out = q.command("threads", CMD_TIMEOUT_S)
    assert "user:sampler" not in out, f"the sampler still runs:\n{out}"


def test_watchpoint_at_syscall_entry_runs_on_the_debug_stack(kernel, kernel_symbols):
    """A write watchpoint on syscall_user_rsp fires after syscall_entry's
    first instruction, while RSP is still the user's. #DB has its own IST
    stack, so the trap is delivered on it: the stop reaches gdb and the
    program runs on. Without it the CPU pushes the trap frame on the user
    stack, which SMAP (-cpu max) turns into a double fault."""
    q, rsp = kernel(extra_args=("-cpu", "max"), append="log=verbose")
    assert "SMAP on" in q.text, "no SMAP with -cpu max (the verbose boot log's cpu line)"
    watched = asm_symbol(kernel_symbols.elf, "syscall_user_rsp")
    entry = asm_symbol(kernel_symbols.elf, "syscall_entry")
    attach(rsp)
    rsp.ok(f"Z2,{watched:x},8")
    stop = continue_and_stop(q, rsp, "user sampler")
    assert stop["signal"] == SIGTRAP and "watch" in stop, rsp.why(f"stop: {stop}")
    assert entry < stop[RIP] < entry + 16, rsp.why(f"stopped at {stop[RIP]:#x}, not in syscall_entry")
    assert stop[RSP] < USER_TOP, rsp.why(f"rsp {stop[RSP]:#x}: the trap did not come with the user's stack")
    rsp.ok(f"z2,{watched:x},8")
    reply = rsp.request("D")
    assert reply == "OK", rsp.why(f"D answered {reply!r}")
    q.wait_prompt(CMD_TIMEOUT_S)   # the one `user sampler` printed once resumed
    # log=verbose: the program's clean exit (a debug line) shows on COM1.
    q.wait_for(re.compile(rb"user: thread \d+ \(user:sampler\) exited with 0"), CMD_TIMEOUT_S)
    q.wait_prompt(CMD_TIMEOUT_S)   # redrawn after the log line
    out = q.command("uptime", CMD_TIMEOUT_S)
    assert re.search(r"\bup\b", out), f"`uptime` after the watchpoint answered {out!r}"
