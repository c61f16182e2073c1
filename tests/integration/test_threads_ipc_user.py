"""Threads, IPC and ring 3, seen from the shell (COM1) and from gdb (COM2).

What a user can check without reading the kernel:
  * `threads --json` lists the kernel threads (idle, ipc-echo, shell) in
    ring 0, the shell `running` while it answers;
  * `user sampler` runs a ring-3 thread that sends 5 messages to the
    `sampler` endpoint, then exits 0 and disappears from `threads`;
  * `bench --json` carries its five results, and its IPC round trips show
    up in the `echo` endpoint's counters;
  * `user badptr` gets -EFAULT (-14) for a kernel pointer, `user fault` is
    killed by its #PF at address 0: only that thread dies, three times in a
    row without leaking threads or frames, and the shell keeps answering;
  * gdb's `info threads` shows the kernel threads.

Log lines printed while the shell waits for input are redrawn above the
prompt (`\\r\\x1b[K<line>\\r\\nexo> `): every such line is waited for (with
the prompt that follows it) before the next command is typed, so replies
never interleave with it. Every wait is for a marker on COM1 or a reply to
a command; nothing sleeps. Each test boots its own machine (GRUB ISO, the
contract's wiring), stopped by the `machine` fixture.
"""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from exo_qemu import PROMPT, BootMode, Qemu

CMD_TIMEOUT_S = 10.0
# Upper bounds only: each loop ends at the first reply that satisfies it.
SAMPLER_TIMEOUT_S = 20.0   # 5 sends 100 ms apart, on TCG
REAP_TIMEOUT_S = 10.0      # a dead thread leaves `threads`
BENCH_TIMEOUT_S = 30.0
GDB_TIMEOUT_S = 60.0

KERNEL_THREADS = ("idle", "ipc-echo", "shell")
THREAD_STATES = {"running", "ready", "blocked", "sleeping"}
THREAD_KEYS = ("id", "name", "state", "ring", "priority", "cpu_us", "switches", "stack_used_bytes",
               "stack_size_bytes", "wait")
THREAD_WAITS = {"input", "send", "call", "receive", "reply", "sleep", "-"}
ENDPOINT_KEYS = ("name", "sent", "calls", "received", "replies", "timeouts", "max_depth",
                 "senders", "receivers")
BENCH_RESULTS = ("heap_alloc_free", "page_map_unmap", "ipc_round_trip",
                 "context_switch_pair", "null_syscall_mean")
USER_TOP = 0x0000800000000000   # end of the lower canonical half
LEAK_SLACK_KIB = 8               # two frames: less than one user space (code, stack, 6 tables)
FAULT_RUNS = 3

STARTED = re.compile(r"started thread (\d+) \((user:\w+)\) in ring 3")


# --------------------------------------------------------------------------
# Driving the shell

def cursor(q: Qemu) -> int:
    """Offset in COM1 where the next wait_for starts looking."""
    return q.wait_for(b"", 0, advance=False).start


def json_command(q: Qemu, cmd: str, timeout: float = CMD_TIMEOUT_S) -> dict:
    """`cmd --json`: exactly one line of JSON, an object with schema 1."""
    out = q.command(f"{cmd} --json", timeout)
    lines = [ln for ln in out.split("\n") if ln.strip()]
    assert len(lines) == 1, f"`{cmd} --json` printed {len(lines)} lines, not one:\n{out}"
    try:
        obj = json.loads(lines[0])
    except ValueError as e:
        raise AssertionError(f"`{cmd} --json` is not JSON ({e}):\n{out!r}") from None
    assert isinstance(obj, dict), f"`{cmd} --json` is not an object: {out}"
    assert obj.get("schema") == 1, f"`{cmd} --json` has no schema 1: {out}"
    return obj


def check_answers(q: Qemu) -> None:
    """The shell still answers: `uptime` and `mem --json`."""
    up = q.command("uptime")
    assert up.startswith("up "), f"`uptime` answered {up!r}"
    mem = json_command(q, "mem")
    assert mem["phys"]["used_kib"] > 0, mem


def threads_json(q: Qemu) -> list[dict]:
    obj = json_command(q, "threads")
    assert isinstance(obj.get("switches"), int) and obj["switches"] >= 0, obj
    threads = obj.get("threads")
    assert isinstance(threads, list) and threads, f"no threads: {obj}"
    for t in threads:
        missing = [k for k in THREAD_KEYS if k not in t]
        assert not missing, f"thread {t} lacks {missing}"
        for k in THREAD_KEYS:
            if k not in ("name", "state", "wait"):
                assert isinstance(t[k], int) and t[k] >= 0, f"thread {t}: {k} is not a count"
        assert t["ring"] in (0, 3), f"thread {t}: ring {t['ring']}"
        assert t["state"] in THREAD_STATES, f"thread {t}: state {t['state']!r} is not one of {THREAD_STATES}"
        # kdb's wait channel: what a blocked or sleeping thread waits for, `-` otherwise.
        assert t["wait"] in THREAD_WAITS, f"thread {t}: wait {t['wait']!r}"
        assert (t["wait"] == "-") == (t["state"] not in ("blocked", "sleeping")), t
        assert t["stack_used_bytes"] <= t["stack_size_bytes"] or t["name"] == "idle", t
    ids = [t["id"] for t in threads]
    assert len(ids) == len(set(ids)), f"duplicate thread ids: {threads}"
    return threads


def endpoints(q: Qemu) -> dict[str, dict]:
    obj = json_command(q, "ipc")
    eps = obj.get("endpoints")
    assert isinstance(eps, list), f"`ipc --json` has no endpoints list: {obj}"
    for ep in eps:
        missing = [k for k in ENDPOINT_KEYS if k not in ep]
        assert not missing, f"endpoint {ep} lacks {missing}"
    by_name = {ep["name"]: ep for ep in eps}
    for name in ("echo", "sampler"):
        assert name in by_name, f"no `{name}` endpoint in {eps}"
    return by_name


def log_records(q: Qemu) -> list[dict]:
    obj = json_command(q, "log")
    records = obj.get("records")
    assert isinstance(records, list), f"`log --json` has no records list: {obj}"
    return records


def wait_thread_gone(q: Qemu, tid: int, timeout: float = REAP_TIMEOUT_S) -> list[dict]:
    """Poll `threads --json` until thread `tid` is no longer listed."""
    deadline = time.monotonic() + timeout
    while True:
        threads = threads_json(q)
        if all(t["id"] != tid for t in threads):
            return threads
        assert time.monotonic() < deadline, \
            f"thread {tid} is still listed {timeout:.0f} s after it ended: {threads}"


def run_until_exit(q: Qemu, program: str, timeout: float = CMD_TIMEOUT_S) -> tuple[int, int, str]:
    """`user PROGRAM` for a program whose exit shows on the console: wait
    for `started thread N` and `user: thread N (user:PROGRAM) exited with
    CODE` (in either order: the exit may come before the shell's reply)
    and for the prompt after both. Returns (N, CODE, the COM1 text)."""
    name = re.escape(f"user:{program}").encode()
    started = rb"started thread %s \(" + name + rb"\) in ring 3"
    exited = rb"user: thread %s \(" + name + rb"\) exited with (-?\d+)\r?\n"
    both = re.compile(
        rb"(?s)" + (started % rb"(\d+)") + rb".*?" + (exited % rb"\1")    # groups 1, 2
        + rb"|" + (exited % rb"(\d+)") + rb".*?" + (started % rb"\3"))   # groups 3, 4
    start = cursor(q)
    q.send_line(f"user {program}")
    m = q.wait_for(both, timeout)
    q.wait_for(PROMPT, timeout)
    g = m.groups
    tid, code = (int(g[0]), int(g[1])) if g[0] is not None else (int(g[2]), int(g[3]))
    text = q.output[start:cursor(q)].decode(errors="replace")
    return tid, code, text


# --------------------------------------------------------------------------
# Tests

def test_threads_json_lists_kernel_threads_in_ring0(booted):
    q = booted(BootMode.ISO)
    threads = threads_json(q)
    by_name = {t["name"]: t for t in threads}
    for name in KERNEL_THREADS:
        assert name in by_name, f"`threads --json` lacks the {name} thread: {threads}"
        assert by_name[name]["ring"] == 0, f"{name} is not in ring 0: {by_name[name]}"
    assert all(t["ring"] == 0 for t in threads), f"a ring-3 thread before any `user`: {threads}"
    assert by_name["shell"]["state"] == "running", \
        f"the shell answers `threads` but is not `running`: {by_name['shell']}"
    running = [t["name"] for t in threads if t["state"] == "running"]
    assert running == ["shell"], f"one CPU, yet running: {running}"
    # ipc-echo waits for calls: blocked on its endpoint, not spinning.
    assert by_name["ipc-echo"]["state"] == "blocked", by_name["ipc-echo"]
    assert by_name["ipc-echo"]["wait"] == "receive", by_name["ipc-echo"]
    assert by_name["shell"]["stack_used_bytes"] > 0, by_name["shell"]
    assert by_name["shell"]["stack_size_bytes"] == 8192, by_name["shell"]  # kKernelStackPages


SAMPLER_RESULT = re.compile(r"user:sampler: (\d+) samples over (\d+) ms: heap (\d+) -> (\d+) B, "
                            r"frames (\d+) -> (\d+)")


def test_user_sampler_runs_in_ring3_and_sends_five_messages(booted):
    q = booted(BootMode.ISO)
    before = endpoints(q)["sampler"]
    kernel_ids = {t["id"] for t in threads_json(q)}

    out = q.command("user sampler")
    m = STARTED.search(out)
    assert m and m.group(2) == "user:sampler", f"`user sampler` answered {out!r}"
    tid = int(m.group(1))
    assert tid not in kernel_ids, f"thread id {tid} reused while its owner lives: {kernel_ids}"

    # The thread is listed in ring 3 while it runs (it lives ~0.5 s: the
    # first reply normally shows it). If it has already gone, its exit must
    # be in the log.
    seen = None
    deadline = time.monotonic() + SAMPLER_TIMEOUT_S
    while seen is None:
        threads = threads_json(q)
        mine = [t for t in threads if t["id"] == tid]
        if mine:
            seen = mine[0]
            break
        if any(f"user: thread {tid} (user:sampler) exited with 0" in r.get("text", "")
               for r in log_records(q)):
            break
        assert time.monotonic() < deadline, \
            f"thread {tid} is neither in `threads` nor logged as exited: {threads}"
    if seen is not None:
        assert seen["ring"] == 3, f"the sampler thread is not in ring 3: {seen}"
        # Between samples it sleeps; while a sample is on its way, it sends.
        assert seen["wait"] in ("sleep", "send", "-"), seen
        assert seen["name"] == "user:sampler", seen
        assert seen["state"] != "running", f"the shell is running, not {seen}"
        ring3 = [t for t in threads if t["ring"] == 3]
        assert ring3 == [seen], f"ring-3 threads: {ring3}"
        by_name = {t["name"]: t for t in threads}
        for name in KERNEL_THREADS:
            assert by_name[name]["ring"] == 0, by_name[name]

    # Five messages reach the `sampler` endpoint.
    deadline = time.monotonic() + SAMPLER_TIMEOUT_S
    while True:
        ep = endpoints(q)["sampler"]
        if ep["received"] - before["received"] >= 5:
            break
        assert time.monotonic() < deadline, \
            f"the sampler endpoint received {ep['received'] - before['received']} of 5 " \
            f"messages in {SAMPLER_TIMEOUT_S:.0f} s: {ep}"

    # Then the thread exits 0 (a debug log record) and leaves `threads`.
    threads = wait_thread_gone(q, tid, SAMPLER_TIMEOUT_S)
    assert not [t for t in threads if t["ring"] == 3], f"a ring-3 thread is left: {threads}"
    assert {t["id"] for t in threads} == kernel_ids, f"threads after the sampler: {threads}"
    exits = [r for r in log_records(q) if f"user: thread {tid} (user:sampler) exited" in r.get("text", "")]
    assert len(exits) == 1, f"log records of thread {tid}'s exit: {exits}"
    assert exits[0]["text"].endswith("exited with 0"), exits[0]
    ep = endpoints(q)["sampler"]
    assert ep["received"] - before["received"] == 5, f"not exactly 5 messages: {before} -> {ep}"
    assert ep["sent"] - before["sent"] == 5, f"not exactly 5 sends: {before} -> {ep}"
    # What it sampled is shown as it ends: on the console and in the log.
    results = [SAMPLER_RESULT.search(r.get("text", "")) for r in log_records(q)]
    results = [m for m in results if m]
    assert len(results) == 1, f"no (or several) result lines for the sampler: {log_records(q)}"
    samples, span_ms, heap0, heap1, frames0, frames1 = map(int, results[0].groups())
    assert samples == 5, results[0].group(0)
    assert 300 <= span_ms <= 5000, f"5 samples 100 ms apart span {span_ms} ms: {results[0].group(0)}"
    assert heap0 > 0 and heap1 > 0 and frames0 > 0 and frames1 > 0, results[0].group(0)
    assert results[0].group(0) in q.text, "the sampler's result was not printed on the console"
    check_answers(q)


def test_user_bench_shows_its_figures_when_it_ends(booted):
    q = booted(BootMode.PVH)
    out = q.command("user bench")
    assert STARTED.search(out), f"`user bench` answered {out!r}"
    m = q.wait_for(re.compile(rb"user:bench: (\d+) null syscalls: min (\d+) ns, mean (\d+) ns"), SAMPLER_TIMEOUT_S)
    calls, min_ns, mean_ns = map(int, m.groups)
    assert calls == 1000 and 0 < min_ns <= mean_ns, m.text
    check_answers(q)


def test_bench_json_and_echo_round_trips(booted):
    q = booted(BootMode.ISO)
    before = endpoints(q)["echo"]
    obj = json_command(q, "bench", BENCH_TIMEOUT_S)
    assert obj.get("samples") == 128, obj
    assert isinstance(obj.get("tsc_hz"), int) and obj["tsc_hz"] > 0, obj
    results = obj.get("results")
    assert isinstance(results, list), obj
    by_name = {r.get("name"): r for r in results}
    assert sorted(by_name) == sorted(BENCH_RESULTS), f"bench results: {list(by_name)}"
    for name, r in by_name.items():
        for k in ("median_ns", "min_ns"):
            assert isinstance(r.get(k), int) and r[k] >= 0, f"{name}: {k} {r.get(k)!r}"
        assert r["min_ns"] <= r["median_ns"], f"{name}: min {r['min_ns']} > median {r['median_ns']}"
    assert by_name["ipc_round_trip"]["median_ns"] > 0, by_name["ipc_round_trip"]
    assert by_name["ipc_round_trip"]["min_ns"] > 0, by_name["ipc_round_trip"]
    after = endpoints(q)["echo"]
    assert after["calls"] - before["calls"] >= 128, f"echo calls: {before} -> {after}"
    assert after["replies"] - before["replies"] >= 128, f"echo replies: {before} -> {after}"
    # Helper threads the bench started are gone again.
    threads = threads_json(q)
    assert all(t["ring"] == 0 for t in threads), f"threads after the bench: {threads}"
    check_answers(q)


def test_user_badptr_gets_efault(booted):
    q = booted(BootMode.ISO)
    tid, code, text = run_until_exit(q, "badptr")
    assert code == -14, f"badptr exited with {code}, not -14 (EFAULT):\n{text}"
    check_answers(q)
    wait_thread_gone(q, tid)
    exits = [r for r in log_records(q) if f"user: thread {tid} (user:badptr) exited with -14" in r.get("text", "")]
    assert len(exits) == 1, f"log records of thread {tid}'s exit: {exits}"


KILLED = re.compile(
    r"user: thread (\d+) \(user:fault\) killed: #PF page fault at rip (0x[0-9a-f]+), "
    r"error (0x[0-9a-f]+), cr2 (0x[0-9a-f]+)")


@pytest.mark.parametrize("program, trap", [("trap", "#BP breakpoint"), ("step", "#DB debug")])
def test_user_debug_trap_without_gdb_kills_only_that_thread(booted, program, trap):
    """A ring-3 int3 (`trap`), or a program that sets TF itself (`step`),
    with no debugger attached: the #BP or #DB is a fault like any other,
    the thread is killed, the kernel and its shell go on. Both used to enter
    the GDB stub's stop loop and freeze the machine."""
    q = booted(BootMode.PVH)
    tid, code, text = run_until_exit(q, program)
    line = re.compile(rf"user: thread (\d+) \(user:{program}\) killed: {trap} at rip (0x[0-9a-f]+)")
    killed = [m for m in line.finditer(text) if int(m.group(1)) == tid]
    assert killed, f"no `killed: {trap}` line for thread {tid}:\n{text}"
    assert int(killed[0].group(2), 16) < USER_TOP, f"rip is not a user address: {killed[0].group(0)}"
    assert code != 0, f"a killed thread exited with 0:\n{text}"
    check_answers(q)


def test_user_fuzz_syscalls_leave_the_kernel_as_it_was(booted):
    """`user fuzz`: 4096 syscalls with random numbers and raw 64-bit
    arguments (bad pointers, huge lengths, sleeps of centuries). Every one
    returns (a huge sleep used to wrap or sleep for ever: now -EINVAL), the
    program exits with how many succeeded, and what the kernel holds
    (threads, heap, frames, IPC endpoints) is as before."""
    q = booted(BootMode.PVH)
    base_threads = {t["id"] for t in threads_json(q)}
    base_mem = json_command(q, "mem")
    base_eps = endpoints(q)
    tid, code, text = run_until_exit(q, "fuzz", timeout=60)
    assert 0 < code < 4096, f"user:fuzz exited with {code}: some calls must succeed, not all:\n{text}"
    assert "killed" not in text, f"the fuzzer was killed:\n{text}"
    # What it read and reported is one line each as it ends, however many
    # calls it made (hundreds of them read the counters).
    mine = [r["text"] for r in log_records(q) if r.get("text", "").startswith("user:fuzz: ")]
    assert len([t for t in mine if " samples over " in t]) == 1, mine
    assert len([t for t in mine if " null syscalls" in t]) <= 1, mine
    threads = wait_thread_gone(q, tid)
    assert {t["id"] for t in threads} == base_threads, f"threads before {base_threads}, after {threads}"
    mem = json_command(q, "mem")
    assert mem["heap"]["used_bytes"] == base_mem["heap"]["used_bytes"], (base_mem["heap"], mem["heap"])
    assert mem["phys"]["used_kib"] - base_mem["phys"]["used_kib"] <= LEAK_SLACK_KIB, (base_mem["phys"], mem["phys"])
    eps = endpoints(q)
    for name in ("echo", "sampler"):
        for k in ("sent", "received", "replies"):
            assert eps[name][k] == base_eps[name][k], f"{name}.{k}: {base_eps[name]} -> {eps[name]}"
    check_answers(q)


def test_user_fault_kills_only_that_thread_three_times(booted):
    q = booted(BootMode.ISO)
    base_threads = threads_json(q)
    base_ids = {t["id"] for t in base_threads}
    base_used = json_command(q, "mem")["phys"]["used_kib"]
    used = []
    for run in range(FAULT_RUNS):
        tid, code, text = run_until_exit(q, "fault")
        killed = [m for m in KILLED.finditer(text) if int(m.group(1)) == tid]
        assert len(killed) == 1, f"run {run}: no `killed: #PF` line for thread {tid}:\n{text}"
        line = killed[0]
        assert line.group(4) == "0x0000000000000000", f"run {run}: cr2 is not 0: {line.group(0)}"
        assert int(line.group(3), 16) == 0x6, f"run {run}: error code: {line.group(0)}"
        assert int(line.group(2), 16) < USER_TOP, f"run {run}: rip is not a user address: {line.group(0)}"
        assert code != 0, f"run {run}: a killed thread exited with 0:\n{text}"
        check_answers(q)
        threads = wait_thread_gone(q, tid)
        assert {t["id"] for t in threads} == base_ids, \
            f"run {run}: threads before {base_threads}, after {threads}"
        assert all(t["ring"] == 0 for t in threads), f"run {run}: {threads}"
        used.append(json_command(q, "mem")["phys"]["used_kib"])
    grown = [u - base_used for u in used]
    assert max(grown) <= LEAK_SLACK_KIB, \
        f"physical memory used after each of {FAULT_RUNS} killed threads, vs {base_used} KiB " \
        f"before: {grown} KiB more"
    assert used[-1] - used[0] <= 4, f"used_kib keeps growing run after run: {used}"


def test_gdb_info_threads_lists_kernel_threads(booted, build_dir):
    elf = build_dir / "exo-kernel.elf"
    if not elf.is_file():
        pytest.fail(f"{elf} is missing: build the kernel first", pytrace=False)
    q = booted(BootMode.ISO, com2="tcp")
    argv = ["gdb", "-batch", "-nx", str(elf),
            "-ex", f"target remote 127.0.0.1:{q.com2_port}",
            "-ex", "info threads", "-ex", "detach"]
    try:
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=GDB_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:   # subprocess.run has killed gdb
        raise AssertionError(f"gdb still running after {GDB_TIMEOUT_S:.0f} s:\n{e.output}") from None
    out = done.stdout
    assert done.returncode == 0, f"gdb exited with {done.returncode}:\n{out}"
    rows = [ln for ln in out.splitlines() if re.match(r"^\*?\s+\d+\s+Thread\b", ln)]
    assert rows, f"`info threads` listed no threads:\n{out}"
    for name in KERNEL_THREADS:
        assert any(re.search(rf"\b{re.escape(name)}\b", r) for r in rows), \
            f"`info threads` lacks {name}:\n{out}"
    assert "detached" in out.lower(), f"gdb did not detach:\n{out}"
    check_answers(q)


def test_user_says_when_every_kernel_stack_slot_is_taken(booted):
    # 70 programs typed in one burst: the shell (priority 1) starts them all
    # before any (priority 2) runs, so the 64 kernel-stack slots run out.
    # The refusal says why; out of memory would send the operator astray.
    q = booted(BootMode.PVH)
    q.send("user sampler\r" * 70)
    q.wait_for(re.compile(rb"error: user: [^\r\n]*\r\n"), CMD_TIMEOUT_S)
    for _ in range(70 - 1):   # the rest of the burst's prompts
        q.wait_prompt(CMD_TIMEOUT_S)
    burst = q.output.decode(errors="replace")
    errors = re.findall(r"error: user: ([^\r\n]*)", burst)
    started = STARTED.findall(burst)
    assert errors and set(errors) == {"no kernel stack slot free (64 threads live)"}, errors
    assert len(started) + len(errors) == 70, f"{len(started)} started, {len(errors)} refused"
    assert 55 <= len(started) <= 64, f"{len(started)} programs started of 64 slots"
    # They all end, and the slots come back.
    deadline = time.monotonic() + 60.0
    while [t for t in threads_json(q) if t["ring"] == 3]:
        assert time.monotonic() < deadline, "the samplers did not all end within 60 s"
    assert STARTED.search(q.command("user sampler")), "a slot did not come back"
    check_answers(q)


def test_bt_shows_any_threads_kernel_stack(booted):
    # kdb's `bt THREAD`: a blocked thread's stack from its saved context,
    # symbolized down to the trampoline every thread starts in.
    q = booted(BootMode.PVH)
    echo = next(t for t in threads_json(q) if t["name"] == "ipc-echo")
    out = q.command(f"bt {echo['id']}").splitlines()
    assert out[0] == f"thread {echo['id']} (ipc-echo), blocked:", out
    funcs = [re.search(r"0x[0-9a-f]{16} (\S+)\+0x", ln).group(1) for ln in out[1:]]
    assert "receive" in funcs and "echo_server" in funcs, out
    assert funcs[-1] == "thread_trampoline", out
    assert funcs.index("receive") < funcs.index("echo_server"), out
    mine = q.command("bt").splitlines()
    assert re.match(r"thread \d+ \(shell\), running:", mine[0]), mine
    assert "cmd_bt" in mine[1] and any("shell_main" in ln for ln in mine), mine
    assert q.command("bt 9999") == "error: bt: no such thread '9999'"
    assert q.command("bt zz") == "error: bt: no such thread 'zz'"
    check_answers(q)
