"""Kernel exception reports, and the smallest machines Exo-OS runs on.

`fault pagefault` / `fault ud` deliberately crash the kernel: each gets a
machine of its own (PVH, it boots in a fraction of a second). The report must
say what happened and where, in words and symbols a person can act on.

goals.md: the smallest machine boots to the prompt and passes the shell
tests with `-m 4` through GRUB and `-m 2` with PVH. Each of those runs the
telemetry checks of test_shell.py (every --json command against the
contract, sized against its own -m), the deferred inits, `x` and a burst.

Every wait is for a marker on COM1; nothing sleeps.
"""
from __future__ import annotations

import re

import pytest

from exo_qemu import BootMode

from test_shell import (CMD_TIMEOUT_S, HIGHER_HALF, _mapping_ranges, check_drivers_json,
                        check_mem_json, check_telemetry, cursor, json_command, json_lines,
                        text_segment, unmapped_edge)
from test_shell import kernel_elf  # noqa: F401 (a fixture, used by name)

REPORT_TIMEOUT_S = 20.0
REGISTERS = ("rip", "rsp", "rbp", "rax", "rbx", "rcx", "rdx", "rsi", "rdi",
             "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rflags", "cr2", "cr3")
# `#N  0xADDR symbol+0xOFF` (the number and the offset are optional).
SYMBOL_FRAME = re.compile(r"0x[0-9a-f]{8,16}\s+([A-Za-z_][\w:~<>]*)(?:\+0x[0-9a-f]+)?", re.I)


def _crash(q, which: str) -> tuple[str, list[str]]:
    """Run `fault WHICH`; return the report up to `backtrace:` and the
    symbol of each frame up to and including cmd_fault's."""
    start = cursor(q)
    q.send_line(f"fault {which}")
    q.wait_for(b"backtrace:", REPORT_TIMEOUT_S)
    # The frame of the command that faulted: the rest of the report is
    # checked up to there (what follows it may still be arriving).
    q.wait_for(re.compile(rb"cmd_fault[^\r\n]*\r?\n"), REPORT_TIMEOUT_S)
    text = q.output[start:cursor(q)].decode(errors="replace")
    head, _, trace = text.partition("backtrace:")
    frames = [m.group(1) for m in (SYMBOL_FRAME.search(ln) for ln in trace.splitlines()) if m]
    return head, frames


def _registers(report: str) -> dict[str, int]:
    regs = {}
    for name, value in re.findall(r"\b(r\w{1,5}|cr\d|[re]flags)\s*[=:]?\s*(0x[0-9a-f]+)", report, re.I):
        regs.setdefault(name.lower(), int(value, 16))
    return regs


def _check_registers(report: str) -> dict[str, int]:
    regs = _registers(report)
    missing = [r for r in REGISTERS if r not in regs]
    assert not missing, f"the register dump lacks {missing}:\n{report}"
    assert regs["rip"] >= HIGHER_HALF, f"rip {regs['rip']:#x} is not kernel text:\n{report}"
    return regs


def test_pagefault_report(booted):
    q = booted(BootMode.PVH)
    ranges = _mapping_ranges(json_command(q, "pages"))
    head, frames = _crash(q, "pagefault")
    assert re.search(r"page fault", head, re.I), f"no `page fault` in the report:\n{head}"
    assert re.search(r"not present", head, re.I), f"the report does not say `not present`:\n{head}"
    assert re.search(r"\bwrite\b", head, re.I), f"the report does not say `write`:\n{head}"
    regs = _check_registers(head)
    cr2 = regs["cr2"]
    assert cr2 != 0, f"CR2 is 0:\n{head}"
    assert not any(r[0] <= cr2 < r[1] for r in ranges), f"CR2 {cr2:#x} is mapped; pages: {ranges}"
    assert "cmd_fault" in frames, f"no symbolized cmd_fault frame in the backtrace: {frames}\n{q.tail()}"
    assert re.search(r"rip[^\n]*cmd_fault", head), f"rip is not symbolized as cmd_fault:\n{head}"


def test_invalid_opcode_report(booted):
    q = booted(BootMode.PVH)
    head, frames = _crash(q, "ud")
    assert re.search(r"invalid opcode", head, re.I), f"the report does not say `invalid opcode`:\n{head}"
    _check_registers(head)
    assert "cmd_fault" in frames, f"no symbolized cmd_fault frame in the backtrace: {frames}\n{q.tail()}"
    assert re.search(r"rip[^\n]*cmd_fault", head), f"rip is not symbolized as cmd_fault:\n{head}"


def test_stack_overflow_hits_the_guard_page_and_is_reported(booted):
    # The shell thread recurses into the unmapped page under its stack: the
    # #PF cannot be delivered on that stack, so the CPU raises #DF, which runs
    # on its own IST stack. A report, never a silent triple fault (with
    # -no-reboot a triple fault would end QEMU).
    q = booted(BootMode.PVH)
    ranges = _mapping_ranges(json_command(q, "pages"))
    start = cursor(q)
    q.send_line("fault stack")
    q.wait_for(b"system halted", REPORT_TIMEOUT_S)
    report = q.output[start:cursor(q)].decode(errors="replace")
    assert re.search(r"#DF double fault", report), f"no double fault report:\n{report}"
    assert re.search(r"stack overflow", report), f"the report does not name the likely cause:\n{report}"
    regs = _check_registers(report)
    cr2 = regs["cr2"]
    assert not any(r[0] <= cr2 < r[1] for r in ranges), f"CR2 {cr2:#x} is mapped; pages: {ranges}"
    # The guard is the unmapped page just below a mapped stack page.
    assert any(r[0] == (cr2 & ~0xFFF) + 0x1000 for r in ranges), f"CR2 {cr2:#x} is not right under a stack:\n{ranges}"
    assert q.proc.poll() is None, "QEMU exited: the fault was not caught"
    # The report names the thread whose stack overflowed, and the recursion
    # is one line, so the frames below it (the command that recursed) show.
    assert re.search(r"in thread \d+ \(shell\)", report), f"the overflowing thread is not named:\n{report}"
    _, _, trace = report.partition("backtrace:")
    assert re.search(r"#(\d+)-#(\d+) same as #\d+", trace), f"the recursion is not collapsed:\n{trace}"
    frames = [m.group(1) for m in (SYMBOL_FRAME.search(ln) for ln in trace.splitlines()) if m]
    assert frames.count("overflow_stack") == 2, f"repeated frames are printed one by one:\n{trace}"
    assert "cmd_fault" in frames and "shell_main" in frames, f"the frames under the recursion are missing:\n{trace}"


# --------------------------------------------------------------------------
# The smallest machines (goals.md)

SMALLEST = [(BootMode.ISO, 4), (BootMode.PVH, 2)]


@pytest.mark.parametrize("mode,mem_mib", SMALLEST, ids=[f"{m.value}-m{n}" for m, n in SMALLEST])
def test_smallest_machine_runs_the_shell(booted, kernel_elf, mode, mem_mib):
    q = booted(mode, mem_mib=mem_mib)
    mem = q.command("mem", CMD_TIMEOUT_S)
    assert "error:" not in mem and "total" in mem, mem
    check_telemetry(q, mem_mib, kernel_elf[1])

    # Deferred inits fit too.
    before = check_drivers_json(json_command(q, "drivers"))
    pending = [n for n, d in before.items() if d["state"] == "pending"]
    out = q.command("init deferred", CMD_TIMEOUT_S)
    assert "error:" not in out, out
    after = check_drivers_json(json_command(q, "drivers"))
    assert all(after[n]["state"] in ("active", "absent") for n in pending), after

    # Checked memory access and a burst still work.
    edge = unmapped_edge(_mapping_ranges(json_command(q, "pages")), text_segment(kernel_elf[1]).vaddr)
    assert q.command(f"x {edge:#x}", CMD_TIMEOUT_S).startswith("error:")
    n = 100
    start = cursor(q)
    q.send("mem --json\n" * n)
    for _ in range(n):
        end = q.wait_prompt(CMD_TIMEOUT_S)
    got = json_lines(q.output[start:end.start].decode(errors="replace").replace("\r\n", "\n"))
    assert len(got) == n, f"{len(got)} answers to {n} `mem --json`"
    for obj in got:
        check_mem_json(obj, mem_mib)
    json_command(q, "uptime")
