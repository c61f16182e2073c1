"""The gdb helpers (host-tools/gdb/exo.py: exo-threads, exo-dmesg, exo-boot,
exo-mem, exo-pages, exo-ipc, exo-drivers, the pretty-printers) against the
shell: each helper reads kernel memory and must print what the shell
command of the same name printed for the same state.

Four machines: a live kernel over our stub (gdb started by `exo gdb`, which
loads the helpers itself), a kernel stopped in a panic (`gdb=panic`, the
shell gone; helpers sourced by hand), QEMU's own stub, and a stop in ring 3
(user code, a user address space in CR3). The shell's
answers are taken first, then gdb stops the kernel and the helpers run;
fields that move in between (the running thread's CPU time, switch counts,
log lines added later) are compared where they cannot have moved. gdb
sessions are split by `echo @@name@@` markers as in test_gdb_batch.py;
every wait is for a marker, and every QEMU and gdb is killed at teardown
(the gdb that `exo gdb` runs ends by itself once its QEMU is gone).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import exo_qemu
from exo_qemu import BootMode

from test_gdb_batch import GDB, MARK, REMOTE_TIMEOUT_S, Gdb, script, shell_answers
from test_gdb_rsp import CMD_TIMEOUT_S, com2_chardev, kernel_symbols  # noqa: F401 (fixture)

REPO_DIR = Path(__file__).resolve().parents[2]
HELPERS = REPO_DIR / "host-tools" / "gdb" / "exo.py"
EXO = REPO_DIR / "host-tools" / "exo"
LOADED = "exo: gdb helpers loaded: exo-threads, exo-dmesg, exo-boot, exo-mem, exo-pages, exo-ipc, exo-drivers"

# One frame of a backtrace, gdb's or exo-threads --bt's: its function.
FRAME = re.compile(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(.+?) \(", re.M)
# `thread apply all bt` over our stub: 'Thread 3 (Thread 3 "ipc-echo" (blocked, ring 0)):'
GDB_THREAD = re.compile(r'^Thread \d+ \(Thread (\d+) "([^"]*)" \((\w+)', re.M)
# exo-threads --bt: 'Thread 2 "ipc-echo" (blocked), switched out at rsp 0x...:'
EXO_THREAD = re.compile(r'^Thread (\d+) "([^"]*)" \((\w+)\)', re.M)
SOURCE_LINE = re.compile(r" at /\S+\.(?:cc|h|S):\d+$")


@pytest.fixture
def gdb_start(build_dir, tmp_path):
    """Factory: gdb_start(argv_head, steps) starts `argv_head` plus the
    marked steps; every gdb is killed at teardown."""
    started: list[Gdb] = []
    elf = build_dir / "exo-kernel.elf"
    if not elf.is_file():
        pytest.fail(f"{elf} is missing: build the kernel first (or set EXO_BUILD_DIR)", pytrace=False)

    def start(argv_head: list, *steps: tuple[str, str]) -> Gdb:
        g = Gdb([*argv_head, *script(*steps)], tmp_path / "remote.log")
        started.append(g)
        return g

    yield start
    for g in started:
        g.kill()


@pytest.fixture
def gdb_run(gdb_start):
    """Factory: gdb_run(argv_head, steps) runs them to the end (one gdb)."""
    def run(argv_head: list, *steps: tuple[str, str]) -> Gdb:
        g = gdb_start(argv_head, *steps)
        g.finish()
        return g
    return run


def raw_gdb(build_dir: Path, tmp_path: Path, where: str) -> list:
    """Stock gdb with the helpers sourced by hand, as the README says."""
    return [GDB, "-nx", "-batch", str(build_dir / "exo-kernel.elf"),
            "-ex", f"set remotetimeout {REMOTE_TIMEOUT_S}", "-ex", f"set remotelogfile {tmp_path / 'remote.log'}",
            "-ex", f"source {HELPERS}", "-ex", f"target remote {where}"]


def section(out: str, name: str) -> str:
    """What gdb printed between the line `@@name@@` and the next marker
    line (`exo gdb` echoes its command line, markers included, first)."""
    start = re.search(rf"^{re.escape(MARK.format(name))}$", out, re.M)
    assert start, f"no {MARK.format(name)} line in gdb's output:\n{out}"
    end = re.compile(r"^@@[\w-]+@@$", re.M).search(out, start.end())
    return out[start.end():end.start() if end else len(out)]


def lines(text: str) -> list:
    return text.strip("\n").split("\n")


def block(g: Gdb, name: str) -> list:
    """One marked step's output, as lines."""
    return lines(section(g.text, name))


def shell(q, command: str) -> list:
    return lines(q.command(command, CMD_TIMEOUT_S))


def settled(q) -> None:
    """Until the threads started after the prompt wait on their endpoints
    (sampler-sink starts right after it): the shell and gdb then see the
    same state. Bounded: each round is one `ipc --json` round trip."""
    import json
    for _ in range(200):
        eps = json.loads(q.command("ipc --json", CMD_TIMEOUT_S).strip().splitlines()[-1])["endpoints"]
        if all(e["receivers"] == 1 for e in eps):
            return
    raise AssertionError(f"the IPC service threads never waited on their endpoints: {eps}")


def same(g: Gdb, name: str, want: list) -> None:
    got = block(g, name)
    assert got == want, g.describe(f"{name}: the helper printed\n" + "\n".join(got)
                                   + "\nthe shell printed\n" + "\n".join(want))


def thread_rows(text_lines: list) -> dict:
    """`threads` rows by id: [id, name, state, ring, prio, cpu_us, switches, stack_B, of_B, wait]."""
    rows = [ln.split() for ln in text_lines if re.match(r"^\s*\d+ \S", ln)]
    return {int(r[0]): r for r in rows if len(r) == 10}


def check_threads(g: Gdb, name: str, shell_lines: list) -> dict:
    """Every thread the shell listed, with the same name, ring and priority;
    a thread blocked in both views cannot have run in between, so its whole
    row (CPU time, switches, stack high-water mark) must be the same."""
    got = block(g, name)
    assert got[0] == shell_lines[0], g.describe(f"{name}: header {got[0]!r}")
    mine, theirs = thread_rows(got), thread_rows(shell_lines)
    assert mine.keys() == theirs.keys(), g.describe(f"{name}: threads {sorted(mine)} vs the shell's {sorted(theirs)}")
    for tid, row in theirs.items():
        assert [mine[tid][i] for i in (1, 3, 4, 8)] == [row[i] for i in (1, 3, 4, 8)], g.describe(f"{name}: thread {tid}")
        if row[2] == mine[tid][2] == "blocked":
            assert mine[tid] == row, g.describe(f"{name}: blocked thread {tid} differs from the shell's {row}")
    slice_line = re.compile(r"context switches, time slice \d+ ticks$")
    assert slice_line.search(got[len(mine) + 1]) and \
        got[len(mine) + 1].split(",")[1] == shell_lines[len(theirs) + 1].split(",")[1], g.describe(f"{name}: footer")
    return mine


def backtraces(text: str, header: re.Pattern) -> dict:
    """Per thread: (id, name, state) -> the functions of its frames, in order."""
    out, heads = {}, list(header.finditer(text))
    for i, m in enumerate(heads):
        body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        frames = [ln for ln in body.split("\n") if ln.startswith("#")]
        out[(int(m.group(1)), m.group(2), m.group(3))] = (frames, [FRAME.match(f).group(1) if FRAME.match(f)
                                                                   else f for f in frames])
    return out


def check_blocked_backtraces(g: Gdb, name: str) -> dict:
    """Each blocked thread's backtrace, unwound from its saved context: every
    frame named, the outer ones at a file:line, down to thread_trampoline."""
    traces = backtraces(section(g.text, name), EXO_THREAD)
    blocked = {k: v for k, v in traces.items() if k[2] == "blocked"}
    assert blocked, g.describe(f"{name}: no blocked thread's backtrace")
    for (tid, tname, _), (frames, funcs) in blocked.items():
        assert funcs[0].endswith("do_switch") and funcs[-1] == "thread_trampoline", \
            g.describe(f"{name}: {tname}'s backtrace does not run from do_switch to thread_trampoline")
        for f in frames:
            assert "(inlined)" in f or SOURCE_LINE.search(f), g.describe(f"{name}: {tname}: frame without a line: {f}")
    return traces


# --------------------------------------------------------------------------


def test_helpers_match_the_shell(booted, gdb_run, build_dir, kernel_symbols):  # noqa: F811
    """A live kernel, gdb started by `exo gdb` (which must load the helpers):
    each helper against its shell command, exo-threads --bt against gdb's
    own unwind of each thread (our stub knows the threads), the printers."""
    port = exo_qemu.free_tcp_port()
    q = booted(BootMode.PVH, com2=com2_chardev(port))
    text = kernel_symbols.address("kernel_main", "tT")
    shell(q, "init deferred")  # drivers with details, deferred boot records, the TSC rate measured
    settled(q)
    want = {c: shell(q, c) for c in ("boot", "drivers", "ipc", "mem", "pages", f"pages {text:#x}", "threads", "log")}

    g = gdb_run([sys.executable, str(EXO), "--build-dir", str(build_dir), "gdb", "--connect", f"tcp:{port}",
                 "--gdb", GDB, "--", "-nx", "-batch", "-iex", f"set remotetimeout {REMOTE_TIMEOUT_S}"],
                ("boot", "exo-boot"), ("drivers", "exo-drivers"), ("ipc", "exo-ipc"), ("mem", "exo-mem"),
                ("pages", "exo-pages"), ("walk", f"exo-pages {text:#x}"), ("threads", "exo-threads"),
                ("dmesg", "exo-dmesg"), ("bt", "exo-threads --bt"), ("gdb-bt", "thread apply all bt"),
                ("p-endpoint", "print 'exo::ipc::(anonymous namespace)::g_echo'"),
                ("p-thread", "print *'exo::threads::(anonymous namespace)::g_sched'->m_all_head"),
                ("p-void", "print 'exo::threads::(anonymous namespace)::g_sched'->m_all_head->wait_result"),
                ("p-record", "print 'exo::boot_sequence::(anonymous namespace)::g_runner'->m_records[0]"),
                ("p-task", "print 'exo::boot_sequence::(anonymous namespace)::g_runner'->m_tasks[0].name"),
                ("p-flags", "print (exo::PageFlags)0x4b"),
                ("p-result", "python t = gdb.lookup_type('exo::Result<unsigned long>'); "
                             "print(gdb.Value((42).to_bytes(8, 'little') + bytes([0]) + bytes(t.sizeof - 9), t)); "
                             "print(gdb.Value(bytes(8) + bytes([2]) + bytes(t.sizeof - 9), t))"))
    assert LOADED in g.text, g.describe("`exo gdb` did not load the helpers")

    for name in ("boot", "drivers", "ipc", "pages"):
        same(g, name, want[name])
    same(g, "walk", want[f"pages {text:#x}"])
    mem = block(g, "mem")
    assert mem[:5] == want["mem"], g.describe("exo-mem: the first five lines are not the shell's `mem`")
    in_use = int(re.search(r"(\d+) B in use", mem[2]).group(1))
    classes = [ln.split() for ln in mem if re.match(r"^\s+\d+( +\d+){5}$", ln)]
    assert classes and sum(int(c[5]) for c in classes) <= in_use and "add up to" not in "\n".join(mem), \
        g.describe("exo-mem: the size classes do not account for the heap's bytes in use")

    check_threads(g, "threads", want["threads"])
    dmesg = block(g, "dmesg")
    assert dmesg[:len(want["log"])] == want["log"], g.describe("exo-dmesg does not start with the shell's `log`")
    assert re.fullmatch(r"\(0 older records dropped: the ring holds \d+ bytes\)", dmesg[-1]), g.describe("dmesg")

    # Ours against gdb's: the same functions, frame by frame, for each thread
    # that sat blocked (gdb unwinds it with the CFI from the registers our
    # stub reconstructs; exo-threads follows the frame pointers).
    mine = check_blocked_backtraces(g, "bt")
    gdbs = {(tid - 1, name): funcs for (tid, name, state), (_, funcs) in
            backtraces(section(g.text, "gdb-bt"), GDB_THREAD).items() if state == "blocked"}
    for (tid, name, state), (_, funcs) in mine.items():
        if state == "blocked":
            assert funcs == gdbs[(tid, name)], g.describe(f"{name}: exo-threads --bt {funcs} vs gdb's bt {gdbs[(tid, name)]}")

    assert re.search(r'= "echo": \d+ sent, \d+ calls', section(g.text, "p-endpoint")), g.describe("Endpoint printer")
    assert re.search(r'= #0 "idle" \w+, prio 3, ring 0', section(g.text, "p-thread")), g.describe("Thread printer")
    assert re.search(r"= ok$", section(g.text, "p-void"), re.M), g.describe("Result<void> printer")
    task = re.search(r'"([^"]+)"', section(g.text, "p-task")).group(1)
    row = next(r.split() for r in want["boot"] if r.split()[:1] == [task])  # name phase start dur status frames heap
    ran = f"{row[4]}, {row[3]} us" if row[4] in ("ok", "failed", "absent") else row[4]
    assert f"= {ran}" in section(g.text, "p-record") and f"{row[5]} frames, {row[6]} heap B" in \
        section(g.text, "p-record"), g.describe(f"BootRecord printer vs the shell's row {row}")
    assert re.search(r"= RW-UG \(A\)$", section(g.text, "p-flags"), re.M), g.describe("PageFlags printer")
    assert re.search(r"^ok = \{value = 42\}\nerror: not found$", section(g.text, "p-result"), re.M), \
        g.describe("Result<unsigned long> printer")
    shell_answers(q, "the helpers and gdb's detach")


def test_helpers_on_a_panicked_kernel(machine, gdb_run, build_dir, tmp_path):
    """`gdb=panic` and a kernel page fault: the shell is gone, the kernel
    waits for gdb; the helpers still print, the same records as before."""
    port = exo_qemu.free_tcp_port()
    q = machine(BootMode.PVH, append="gdb=panic", com2=com2_chardev(port))
    q.wait_prompt(CMD_TIMEOUT_S)
    settled(q)
    want = {c: shell(q, c) for c in ("boot", "drivers", "ipc", "mem", "pages")}
    q.send_line("fault pagefault")
    q.wait_for("handing the CPU to gdb", CMD_TIMEOUT_S)

    g = gdb_run(raw_gdb(build_dir, tmp_path, f"{exo_qemu.LOOPBACK}:{port}"),
                ("boot", "exo-boot"), ("drivers", "exo-drivers"), ("ipc", "exo-ipc"), ("mem", "exo-mem"),
                ("pages", "exo-pages"), ("bt", "exo-threads --bt"), ("dmesg", "exo-dmesg"), ("stop", "info program"))
    assert "SIGSEGV" in section(g.text, "stop"), g.describe("gdb did not see the page fault's stop")
    for name in ("boot", "drivers", "ipc", "pages"):
        same(g, name, want[name])
    assert block(g, "mem")[:5] == want["mem"], g.describe("exo-mem after the panic")

    traces = check_blocked_backtraces(g, "bt")
    running = [funcs for (_, name, state), (_, funcs) in traces.items() if state == "running"]
    assert len(running) == 1 and any("cmd_fault" in f for f in running[0]), \
        g.describe("the running thread's backtrace does not show the faulting command")
    dmesg = block(g, "dmesg")
    assert "Exo-OS" in dmesg[0] and any(re.search(r"\] error panic: handing the CPU to gdb", ln) for ln in dmesg), \
        g.describe("exo-dmesg after the panic")


def test_helpers_over_qemus_stub(booted, gdb_run, build_dir, tmp_path):
    """QEMU's built-in stub (`-gdb`), which knows no kernel threads and whose
    registers are the CPU's: the helpers read the same kernel memory."""
    port = exo_qemu.free_tcp_port()
    q = booted(BootMode.PVH, extra_args=["-gdb", f"tcp:{exo_qemu.LOOPBACK}:{port}"])
    settled(q)
    want = {c: shell(q, c) for c in ("boot", "ipc", "pages", "threads")}

    g = gdb_run(raw_gdb(build_dir, tmp_path, f"{exo_qemu.LOOPBACK}:{port}"),
                ("regs", "info registers cr3"), ("boot", "exo-boot"), ("ipc", "exo-ipc"), ("pages", "exo-pages"),
                ("threads", "exo-threads --bt"))
    assert re.search(r"^cr3\s+0x[0-9a-f]+", section(g.text, "regs"), re.M), g.describe("QEMU's stub has no cr3")
    for name in ("boot", "ipc", "pages"):
        same(g, name, want[name])
    check_threads(g, "threads", want["threads"])
    traces = check_blocked_backtraces(g, "threads")
    running = [frames for (_, _, state), (frames, _) in traces.items() if state == "running"]
    assert len(running) == 1 and running[0], g.describe("no backtrace of the thread on the CPU from QEMU's registers")


def test_helpers_in_a_user_mode_stop(booted, gdb_start, build_dir, tmp_path):
    """Stopped in ring 3 (`user trap`: an int3 that gdb takes): no symbols
    at the pc, CR3 a user address space. The helpers still find the
    kernel's globals (LTO leaves "optimized out" copies that a lookup from
    such a pc would find first) and walk the user's tables."""
    port = exo_qemu.free_tcp_port()
    q = booted(BootMode.PVH, com2=com2_chardev(port))
    g = gdb_start(raw_gdb(build_dir, tmp_path, f"{exo_qemu.LOOPBACK}:{port}"),
                  ("continue", "continue"), ("threads", "exo-threads --bt"), ("pages", "exo-pages"),
                  ("walk", "exo-pages $pc"), ("ipc", "exo-ipc"))
    g.wait_for(MARK.format("continue"))
    q.send_line("user trap")            # runs once gdb has resumed the kernel
    g.finish()
    assert "SIGTRAP" in section(g.text, "continue"), g.describe("the user program's int3 did not stop gdb")
    user = [r for r in thread_rows(block(g, "threads")).values() if r[3] == "3"]
    assert len(user) == 1 and user[0][2] == "running", g.describe("exo-threads: no running ring-3 thread")
    check_blocked_backtraces(g, "threads")
    pages = block(g, "pages")
    assert re.fullmatch(r"\(CR3 0x[0-9a-f]{16} is a user address space, not the kernel's 0x[0-9a-f]{16}\)", pages[0]) \
        and any(re.fullmatch(r"0x0{10}400000 .* R-XU-", ln) for ln in pages), g.describe("exo-pages from a user CR3")
    assert block(g, "walk")[-1].endswith("effective R-XU-)"), g.describe("exo-pages $pc in user code")
    assert block(g, "ipc")[0].startswith("endpoint "), g.describe("exo-ipc in a user-mode stop")
