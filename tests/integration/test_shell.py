"""The COM1 shell, driven like a person and like a program would drive it.

Every command in its human and `--json` form (checked against the keys the
contract promises, and for plausibility against the kernel ELF and the QEMU
`-m` size), the line editor (Tab completion, history, Ctrl-C and the other
editing keys, the 256-byte limit, binary noise), a 500-command burst, the
deferred driver inits, `x`, `pages VADDR` and `watch`.

Most tests share one PVH machine on `-M pc` per module (it boots in a fraction
of a second); each test first re-synchronises with it through a unique
unknown command, and a machine that died or stopped answering is replaced.
Tests that change kernel state (`init`) or need another boot path (ISO,
`-append`) start their own machines through the conftest fixtures. Every wait
is for a marker on COM1; nothing sleeps or measures speed (bench/ does).

The helpers at the top (check_telemetry and friends) are reused by
test_faults.py for the smallest machines.
"""
from __future__ import annotations

import json
import random
import re
import time
import struct
from pathlib import Path
from typing import Optional

import pytest

import exo_qemu
from exo_qemu import BootMode, Qemu

BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S  # generous: TCG on a busy machine
CMD_TIMEOUT_S = 20.0
BURST_TIMEOUT_S = 120.0
DEFAULT_MEM_MIB = exo_qemu.DEFAULT_MEM_MIB
LINE_LIMIT = 256          # bytes; longer lines answer `error: line too long`
HISTORY_ENTRIES = 32

# The commands the kernel has today (the contract's threads/ipc/bench will
# join them; the `help`-driven tests pick those up by themselves).
COMMANDS = ("help", "boot", "mem", "pages", "drivers", "init", "cpu", "uptime",
            "log", "watch", "x", "fault", "poweroff", "reboot")
JSON_COMMANDS = ("boot", "mem", "pages", "drivers", "cpu", "uptime", "log")
# Listed in help with `--json` but not run by the generic JSON sweep: the
# micro-benchmarks take long and bench/ drives them.
SLOW_JSON_COMMANDS = ("bench",)

DRIVER_STATES = {"active", "pending", "absent", "failed"}
BOOT_PHASES = {"critical", "essential", "optional"}
CORE_BOOT_TASKS = ("gdt", "idt", "paging", "heap")

HEX = re.compile(r"0x[0-9a-fA-F]+")
JSON_LINE = re.compile(rb"(\{[^\r\n]*\})\r?\n")
ESC_UP, ESC_DOWN, ESC_LEFT = b"\x1b[A", b"\x1b[B", b"\x1b[D"
ESC_END, ESC_DELETE = b"\x1b[F", b"\x1b[3~"
CTRL = {c: bytes([ord(c) - ord("A") + 1]) for c in "ABCDEFKNPUW"}
CTRL_C = b"\x03"


# --------------------------------------------------------------------------
# The kernel ELF: what `pages` and `x` are checked against

PT_LOAD, PF_X, PF_W = 1, 1, 2
HIGHER_HALF = 0xFFFF800000000000
PAGE = 4096


class Segment:
    def __init__(self, flags: int, offset: int, vaddr: int, paddr: int, filesz: int, memsz: int):
        self.flags, self.offset, self.vaddr, self.paddr = flags, offset, vaddr, paddr
        self.filesz, self.memsz = filesz, memsz

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)

    @property
    def writable(self) -> bool:
        return bool(self.flags & PF_W)

    def pages(self):
        start = self.vaddr & ~(PAGE - 1)
        return range(start, self.vaddr + self.memsz, PAGE)

    def __repr__(self) -> str:
        return (f"Segment({'R' + ('W' if self.writable else '-') + ('X' if self.executable else '-')} "
                f"{self.vaddr:#x}+{self.memsz:#x})")


def kernel_segments(kernel: Path) -> tuple[bytes, list[Segment]]:
    """The file and its higher-half PT_LOAD segments (ELF64 little-endian)."""
    data = Path(kernel).read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, f"{kernel}: not an ELF64 LE file"
    phoff, = struct.unpack_from("<Q", data, 0x20)
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    segments = []
    for i in range(phnum):
        p_type, flags, offset, vaddr, paddr, filesz, memsz, _align = \
            struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize)
        if p_type == PT_LOAD and vaddr >= HIGHER_HALF and memsz:
            segments.append(Segment(flags, offset, vaddr, paddr, filesz, memsz))
    return data, segments


def text_segment(segments: list[Segment]) -> Segment:
    text = [s for s in segments if s.executable]
    assert text, f"no executable higher-half PT_LOAD segment in the kernel: {segments}"
    return max(text, key=lambda s: s.memsz)


@pytest.fixture(scope="session")
def kernel_elf(build_dir) -> tuple[bytes, list[Segment]]:
    path = build_dir / "exo-kernel"
    if not path.is_file():
        pytest.fail(f"{path} is missing: build the kernel first (or set EXO_BUILD_DIR)", pytrace=False)
    return kernel_segments(path)


# --------------------------------------------------------------------------
# Talking to the shell

def cursor(q: Qemu) -> int:
    """Offset in COM1 where the next wait_for starts looking (the empty
    pattern matches right there)."""
    return q.wait_for(b"", 0, advance=False).start


def exchange(q: Qemu, data: bytes, timeout: float = CMD_TIMEOUT_S) -> str:
    """Send raw bytes, wait for the next prompt, return what COM1 said in
    between (CR LF folded to LF). Call after the previous prompt."""
    start = cursor(q)
    q.send(data)
    m = q.wait_prompt(timeout)
    return q.output[start:m.start].decode(errors="replace").replace("\r\n", "\n")


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def json_command(q: Qemu, cmd: str, timeout: float = CMD_TIMEOUT_S) -> dict:
    """`cmd --json`: exactly one line, a JSON object with a "schema" key."""
    out = q.command(f"{cmd} --json", timeout)
    lines = out.split("\n")
    assert len(lines) == 1, f"`{cmd} --json` printed {len(lines)} lines, not one:\n{out}"
    try:
        obj = json.loads(lines[0])
    except ValueError as e:
        raise AssertionError(f"`{cmd} --json` is not JSON ({e}):\n{out!r}") from None
    assert isinstance(obj, dict) and "schema" in obj, f"`{cmd} --json` has no schema key: {out}"
    return obj


def human_command(q: Qemu, cmd: str) -> str:
    out = q.command(cmd, CMD_TIMEOUT_S)
    assert out.strip(), f"`{cmd}` printed nothing"
    assert "error:" not in out, f"`{cmd}` failed:\n{out}"
    return out


def sync(q: Qemu, tag: str, timeout: float = CMD_TIMEOUT_S) -> None:
    """Ctrl-U (ends a `watch`, clears a half line), then an unknown command
    only this call uses; returns once its error and the prompt came back."""
    q.send(CTRL["U"] + tag.encode() + b"\r")
    q.wait_for(re.compile(rb"error:[^\r\n]*" + re.escape(tag.encode())), timeout)
    q.wait_prompt(timeout)


def uptime_us(obj: dict) -> int:
    if "uptime_us" in obj:
        return obj["uptime_us"]
    us = [v for k, v in obj.items() if k.endswith("_us") and isinstance(v, int)]
    assert us, f"no microsecond field in uptime --json: {obj}"
    return us[0]


def help_commands(help_text: str) -> list[str]:
    return [line.split()[0] for line in help_text.splitlines() if line.strip()]


# --------------------------------------------------------------------------
# Contract checks of each --json form (shared with test_faults.py)

def _int(obj: dict, key: str, where: str) -> int:
    assert key in obj, f"{where}: no {key!r} in {obj}"
    v = obj[key]
    assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, f"{where}.{key} = {v!r}"
    return v


def check_boot_json(obj: dict) -> dict:
    tsc_hz = _int(obj, "tsc_hz", "boot")
    assert 10**8 <= tsc_hz <= 10**10, f"implausible tsc_hz {tsc_hz}"
    total = _int(obj, "total_us", "boot")
    assert 0 < total < 10**7, f"implausible total_us {total}"
    tasks = obj.get("tasks")
    assert isinstance(tasks, list) and tasks, f"boot: no tasks: {obj}"
    by_name = {}
    for t in tasks:
        for k in ("name", "phase", "status"):
            assert isinstance(t.get(k), str) and t[k], f"boot task {t}: bad {k}"
        for k in ("start_us", "duration_us"):
            _int(t, k, f"boot task {t['name']}")
        assert t["phase"] in BOOT_PHASES, f"boot task {t['name']}: phase {t['phase']!r}"
        assert t["name"] not in by_name, f"boot task {t['name']} listed twice"
        by_name[t["name"]] = t
    for name in CORE_BOOT_TASKS:
        assert name in by_name, f"boot tasks have no {name!r}: {sorted(by_name)}"
        t = by_name[name]
        assert t["status"] == "ok", f"boot task {name}: status {t['status']!r}"
        assert t["start_us"] + t["duration_us"] <= total + 1, \
            f"boot task {name} ends after the prompt ({t} vs total_us {total})"
    return by_name


def check_mem_json(obj: dict, mem_mib: int) -> None:
    phys, heap = obj.get("phys"), obj.get("heap")
    assert isinstance(phys, dict) and isinstance(heap, dict), f"mem: {obj}"
    total = _int(phys, "total_kib", "phys")
    used = _int(phys, "used_kib", "phys")
    free = _int(phys, "free_kib", "phys")
    # Within the -m size; at most the legacy hole below 1 MiB plus firmware
    # tables at the top may be missing.
    assert mem_mib * 1024 - 1024 <= total <= mem_mib * 1024, \
        f"phys total {total} KiB does not fit -m {mem_mib} ({mem_mib * 1024} KiB)"
    reserved = _int(phys, "reserved_kib", "phys")
    assert used + free + reserved == total, f"phys used {used} + free {free} + reserved {reserved} != total {total}"
    assert 0 < used < total, f"phys used {used} KiB of {total}"
    mapped = _int(heap, "mapped_bytes", "heap")
    hused = _int(heap, "used_bytes", "heap")
    peak = _int(heap, "peak_bytes", "heap")
    hfree = _int(heap, "free_bytes", "heap")
    allocs = _int(heap, "allocs", "heap")
    frees = _int(heap, "frees", "heap")
    largest = _int(heap, "largest_free_bytes", "heap")
    assert hused <= peak, f"heap used {hused} > peak {peak}"
    assert hused + hfree <= mapped, f"heap used {hused} + free {hfree} > mapped {mapped}"
    assert largest <= hfree, f"largest free block {largest} > free {hfree}"
    assert frees <= allocs, f"heap frees {frees} > allocs {allocs}"
    assert mapped <= used * 1024, f"heap maps {mapped} B but only {used} KiB are used"


def _mapping_ranges(obj: dict) -> list[tuple[int, int, int, int, str]]:
    """(virt, end, phys, page_size, flags) per mapping, checked for form."""
    maps = obj.get("mappings")
    assert isinstance(maps, list) and maps, f"pages: no mappings: {obj}"
    out = []
    for m in maps:
        for k in ("virt", "phys"):
            assert isinstance(m.get(k), str) and HEX.fullmatch(m[k]), \
                f"mapping {m}: {k} is not a hex string"
        size = _int(m, "page_size", "mapping")
        count = _int(m, "count", "mapping")
        assert size in (4096, 2 << 20, 1 << 30), f"mapping {m}: page size {size}"
        assert count > 0, f"mapping {m}: count 0"
        flags = m.get("flags")
        assert isinstance(flags, str) and set(flags) <= set("RWXUG-"), f"mapping {m}: flags {flags!r}"
        virt, phys = int(m["virt"], 16), int(m["phys"], 16)
        assert virt % size == 0 and phys % size == 0, f"mapping {m} is not page aligned"
        out.append((virt, virt + size * count, phys, size, flags))
    return out


def check_pages_json(obj: dict, segments: list[Segment]) -> list[tuple[int, int, int, int, str]]:
    ranges = _mapping_ranges(obj)
    wx = [r for r in ranges if "W" in r[4] and "X" in r[4]]
    assert not wx, "writable+executable mappings: " + ", ".join(f"{r[0]:#x}-{r[1]:#x} {r[4]}" for r in wx)
    ordered = sorted(ranges)
    for a, b in zip(ordered, ordered[1:]):
        assert a[1] <= b[0], f"mappings overlap: {a[0]:#x}-{a[1]:#x} and {b[0]:#x}-{b[1]:#x}"
        assert not (a[1] == b[0] and a[2] + (a[1] - a[0]) == b[2] and a[3] == b[3] and a[4] == b[4]), \
            f"mappings {a[0]:#x} and {b[0]:#x} are contiguous with equal flags: not coalesced"

    def at(addr: int):
        for r in ranges:
            if r[0] <= addr < r[1]:
                return r
        return None

    text = text_segment(segments)
    for page in text.pages():
        r = at(page)
        assert r is not None, f"kernel text page {page:#x} ({text}) is not mapped"
        assert "X" in r[4] and "W" not in r[4], f"kernel text page {page:#x} is mapped {r[4]}"
        assert r[2] + (page - r[0]) == (text.paddr & ~(PAGE - 1)) + (page - (text.vaddr & ~(PAGE - 1))), \
            f"kernel text page {page:#x} maps phys {r[2] + page - r[0]:#x}, the ELF says {text.paddr:#x}+"
    for seg in segments:
        for page in seg.pages():
            r = at(page)
            if r is None:
                continue  # e.g. stack guard pages inside .bss
            if not seg.executable:
                assert "X" not in r[4], f"{seg} page {page:#x} is executable ({r[4]})"
            if not seg.writable:
                assert "W" not in r[4], f"{seg} page {page:#x} is writable ({r[4]})"
    return ranges


def check_drivers_json(obj: dict) -> dict:
    drivers = obj.get("drivers")
    assert isinstance(drivers, list) and drivers, f"drivers: {obj}"
    by_name = {}
    for d in drivers:
        assert isinstance(d.get("name"), str) and d["name"], f"driver {d}: no name"
        assert isinstance(d.get("phase"), str) and d["phase"], f"driver {d}: no phase"
        assert d.get("state") in DRIVER_STATES, f"driver {d['name']}: state {d.get('state')!r}"
        _int(d, "init_us", f"driver {d['name']}")
        assert isinstance(d.get("detail"), str), f"driver {d['name']}: detail {d.get('detail')!r}"
        assert d["name"] not in by_name, f"driver {d['name']} listed twice"
        by_name[d["name"]] = d
    # We are talking to it.
    assert by_name.get("com1", {}).get("state") == "active", f"com1 is not active: {drivers}"
    return by_name


def check_telemetry(q: Qemu, mem_mib: int, segments: list[Segment]) -> dict:
    """Every telemetry command's --json form, checked; the parsed objects."""
    got = {cmd: json_command(q, cmd) for cmd in JSON_COMMANDS}
    check_boot_json(got["boot"])
    check_mem_json(got["mem"], mem_mib)
    check_pages_json(got["pages"], segments)
    check_drivers_json(got["drivers"])
    later = json_command(q, "uptime")
    assert uptime_us(later) > uptime_us(got["uptime"]), f"uptime did not advance: {got['uptime']} then {later}"
    return got


# --------------------------------------------------------------------------
# The shared PVH machine

class SharedMachine:
    """One PVH machine on -M pc for the tests that leave no state behind."""

    def __init__(self, build_dir: Path) -> None:
        self.build_dir = build_dir
        self.q: Optional[Qemu] = None
        self.syncs = 0

    def get(self) -> Qemu:
        q = self.q
        if q is not None and q.returncode is None:
            self.syncs += 1
            try:
                sync(q, f"sync-{self.syncs}")
                return q
            except exo_qemu.QemuError:
                pass  # stuck or dead: replace it
        self.close()
        kernel = self.build_dir / "exo-kernel"
        if not kernel.is_file():
            pytest.fail(f"{kernel} is missing: build the kernel first (or set EXO_BUILD_DIR)", pytrace=False)
        self.q = Qemu(BootMode.PVH, build_dir=self.build_dir)
        self.q.wait_prompt(BOOT_TIMEOUT_S)
        return self.q

    def close(self) -> None:
        if self.q is not None:
            self.q.kill()
            self.q = None


@pytest.fixture(scope="module")
def shared_pvh(build_dir):
    machine = SharedMachine(build_dir)
    try:
        yield machine
    finally:
        machine.close()


@pytest.fixture
def pvh(request, shared_pvh) -> Qemu:
    q = shared_pvh.get()
    request.node.exo_machines = [q]  # conftest puts its COM1 in failure reports
    return q


# --------------------------------------------------------------------------
# Each command, human and --json

def test_help_lists_every_command_with_usage(pvh):
    listed = help_commands(human_command(pvh, "help"))
    missing = [c for c in COMMANDS if c not in listed]
    assert not missing, f"help does not list {missing}; it lists {listed}"
    for cmd in listed:
        usage = human_command(pvh, f"help {cmd}")
        assert re.match(rf"usage: {re.escape(cmd)}\b", usage), f"`help {cmd}`:\n{usage}"
    mem = human_command(pvh, "help mem")
    assert mem.startswith("usage: mem") and "--json" in mem, mem


def test_every_json_command_in_help_prints_one_json_line(pvh):
    for cmd in help_commands(human_command(pvh, "help")):
        if cmd in SLOW_JSON_COMMANDS:
            continue
        if "--json" in human_command(pvh, f"help {cmd}").splitlines()[0]:
            json_command(pvh, cmd)


def test_boot(pvh):
    tasks = check_boot_json(json_command(pvh, "boot"))
    text = human_command(pvh, "boot")
    for name, t in tasks.items():
        line = [ln for ln in text.splitlines() if ln.split()[:1] == [name]]
        assert line, f"`boot` has no line for task {name}:\n{text}"
        assert t["status"] in line[0] and t["phase"] in line[0], f"`boot` line {line[0]!r} vs {t}"


def test_boot_lists_tasks_in_boot_order(pvh):
    """Contract: `boot` shows the boot tasks in order."""
    tasks = json_command(pvh, "boot")["tasks"]
    ran = [t for t in tasks if t["status"] == "ok" and not t.get("deferred")]
    starts = [(t["name"], t["start_us"]) for t in ran]
    assert starts == sorted(starts, key=lambda s: s[1]), \
        f"boot tasks are not listed in the order they ran: {starts}"


def test_mem(pvh):
    obj = json_command(pvh, "mem")
    check_mem_json(obj, DEFAULT_MEM_MIB)
    text = human_command(pvh, "mem")
    for word in ("total", "used", "free", "heap", "peak", "free slots (size:count)"):
        assert word in text, f"`mem` does not mention {word!r}:\n{text}"
    assert str(obj["phys"]["total_kib"]) in text, f"`mem` and `mem --json` disagree on the total:\n{text}"


HEAP_CLASSES = (16, 32, 48, 64, 96, 128, 192, 256, 384, 576, 1008, 1344, 2016)


def test_mem_free_slots_per_class_and_what_a_request_gets(pvh):
    """`mem` lists free slots per size class, and `mem N` says what a
    request of N bytes gets now: its block, how many like it are free, how
    many new pages it takes. (It used to print only the largest class with
    a free slot, which said nothing about a request in another class.)"""
    obj = json_command(pvh, "mem")
    classes = obj.get("classes")
    assert isinstance(classes, list) and classes, f"mem --json: no free slots listed: {obj}"
    sizes = [c["size"] for c in classes]
    assert sizes == sorted(sizes) and set(sizes) <= set(HEAP_CLASSES), f"classes: {classes}"
    assert all(c["free_slots"] > 0 for c in classes), f"classes with nothing free listed: {classes}"
    # A request that fits a class with free slots: that class, no new page.
    have = classes[0]
    got = json_command(pvh, f"mem {have['size']}")["request"]
    assert got == {"bytes": have["size"], "block_bytes": have["size"], "free_slots": have["free_slots"],
                   "new_pages": 0}, f"mem {have['size']}: {got}"
    # A class with nothing free: one new page (or the spare one).
    empty = next(c for c in HEAP_CLASSES if c not in sizes)
    got = json_command(pvh, f"mem {empty}")["request"]
    assert got["block_bytes"] == empty and got["free_slots"] == 0 and got["new_pages"] in (0, 1), got
    # Beyond the biggest class: a run of whole pages, header included.
    got = json_command(pvh, "mem 5000")["request"]
    assert got["block_bytes"] == 8192 and got["free_slots"] == 0 and got["new_pages"] == 2, got
    text = human_command(pvh, "mem 5000")
    assert "5000 B would get a 8192 B block (0 free), 2 new pages" in text, text
    assert "free slots (size:count)" in text, text
    bad = pvh.command("mem lots", CMD_TIMEOUT_S)
    assert bad.startswith("error: mem: bad size"), bad


def test_pages(pvh, kernel_elf):
    _, segments = kernel_elf
    ranges = check_pages_json(json_command(pvh, "pages"), segments)
    text = human_command(pvh, "pages")
    shown = {int(h, 16) for h in HEX.findall(text)}
    for virt, *_ in ranges:
        assert virt in shown, f"`pages` does not show the range at {virt:#x}:\n{text}"


def test_drivers(pvh):
    drivers = check_drivers_json(json_command(pvh, "drivers"))
    text = human_command(pvh, "drivers")
    for name, d in drivers.items():
        line = [ln for ln in text.splitlines() if ln.split()[:1] == [name]]
        assert line and d["state"] in line[0], f"`drivers` line for {name} vs {d}:\n{text}"


def test_cpu(pvh):
    json_command(pvh, "cpu")
    human_command(pvh, "cpu")


def test_uptime_advances(pvh):
    first = uptime_us(json_command(pvh, "uptime"))
    human_command(pvh, "uptime")
    assert uptime_us(json_command(pvh, "uptime")) > first


def test_log(pvh):
    obj = json_command(pvh, "log")
    assert exo_qemu.BANNER.decode() in json.dumps(obj), f"the log ring lacks the banner: {obj}"
    assert exo_qemu.BANNER.decode() in human_command(pvh, "log")


def test_unknown_command_and_bad_arguments_answer_error(pvh):
    for line in ("no-such-command", "mem --bogus", "pages zz", "x", "watch", "watch mem",
                 "watch no-such-command 100", "init", "init no-such-task", "help no-such-command",
                 "fault", "fault zz", "uptime extra"):
        out = pvh.command(line, CMD_TIMEOUT_S)
        lines = out.split("\n")
        assert len(lines) == 1 and lines[0].startswith("error:"), f"`{line}` answered:\n{out}"


def test_telemetry_on_the_iso(booted, kernel_elf):
    q = booted(BootMode.ISO)
    check_telemetry(q, DEFAULT_MEM_MIB, kernel_elf[1])


# --------------------------------------------------------------------------
# pages VADDR, x

def unmapped_edge(ranges, near: int) -> int:
    """The first address at or above `near` where a mapping ends and no
    other begins: an unmapped page right after mapped memory."""
    starts = {r[0] for r in ranges}
    edges = sorted(r[1] for r in ranges if r[1] not in starts and r[1] >= near)
    assert edges, f"no unmapped page above {near:#x}"
    return edges[0]


def test_pages_walks_an_address_level_by_level(pvh, kernel_elf):
    text = text_segment(kernel_elf[1])
    walk = human_command(pvh, f"pages {text.vaddr:#x}")
    for level in ("PML4", "PDPT", "PD", "PT"):
        assert re.search(rf"^\s*{level}E?\b", walk, re.M), f"walk of {text.vaddr:#x} lacks {level}:\n{walk}"
    shown = {int(h, 16) for h in HEX.findall(walk)}
    assert text.paddr in shown, f"walk of {text.vaddr:#x} does not reach phys {text.paddr:#x}:\n{walk}"
    # Next to the kernel image: the tables exist, the page does not.
    hole = unmapped_edge(_mapping_ranges(json_command(pvh, "pages")), text.vaddr)
    walk = human_command(pvh, f"pages {hole:#x}")
    assert re.search(r"^\s*PML4E?\b", walk, re.M), f"walk of {hole:#x}:\n{walk}"
    assert "not present" in walk, f"walk of {hole:#x}:\n{walk}"


def test_x_dumps_kernel_text(pvh, kernel_elf):
    data, segments = kernel_elf
    text = text_segment(segments)
    out = human_command(pvh, f"x {text.vaddr:#x} 32")
    dumped = bytes(int(b, 16) for line in out.splitlines()
                   for b in line.split(":", 1)[1].split())
    assert dumped == data[text.offset:text.offset + 32], f"`x` of kernel text:\n{out}"
    # Every line of kernel text names the function it is in, as gdb's `x` does.
    lines = out.splitlines()
    assert re.match(rf"{text.vaddr:#018x} <\w[^>]*\+0x0>:", lines[0]), f"`x` of the first function:\n{out}"
    assert all(re.match(r"0x[0-9a-f]{16} <\w[^>]*\+0x[0-9a-f]+>:", line) for line in lines), out


def test_x_and_pages_take_a_function_name_for_an_address(pvh, kernel_elf, build_dir):
    # kdb's `x cmd_mem 32`: the name resolves through the kernel's own table
    # to the address nm gives, and the dump is that function's bytes.
    from test_gdb_rsp import Symbols
    addr, _ = Symbols(build_dir / "exo-kernel.elf").find("cmd_mem")
    out = human_command(pvh, "x cmd_mem 32")
    lines = out.splitlines()
    assert lines[0].startswith(f"{addr:#018x} <cmd_mem+0x0>:"), out
    assert out == human_command(pvh, f"x {addr:#x} 32"), "the name and the address dump differently"
    walk = human_command(pvh, "pages cmd_mem")
    assert walk.startswith(f"walk of {addr:#018x}") and "R-X" in walk, walk
    out = pvh.command("x no_such_function_zz", CMD_TIMEOUT_S)
    assert out == "error: x: bad address 'no_such_function_zz'", out


def test_x_of_unmapped_memory_is_an_error_and_the_kernel_goes_on(pvh, kernel_elf):
    text = text_segment(kernel_elf[1])
    edge = unmapped_edge(_mapping_ranges(json_command(pvh, "pages")), text.vaddr)
    # Null, low memory, a hole next to the kernel, non-canonical, a range
    # that wraps, and one that starts mapped and runs into the hole.
    for args in ("0", "0x1000 16", f"{edge:#x}", "0x0000800000000000",
                 "0xfffffffffffffff0 64"):
        out = pvh.command(f"x {args}", CMD_TIMEOUT_S)
        assert out.startswith("error:") and len(out.split("\n")) == 1, f"`x {args}` answered:\n{out}"
    # Starting mapped and running into the hole: the readable part, then where it stopped.
    out = pvh.command(f"x {edge - 8:#x} 16", CMD_TIMEOUT_S).splitlines()
    assert len(out) == 2 and len(out[0].split(":", 1)[1].split()) == 8, out
    assert out[1].strip() == f"x: stopped at {edge:#018x}: not mapped", out
    check_mem_json(json_command(pvh, "mem"), DEFAULT_MEM_MIB)
    human_command(pvh, "uptime")


# --------------------------------------------------------------------------
# The line editor

def test_tab_completes_a_unique_command(pvh):
    pvh.send(b"me\t")
    pvh.wait_for(b"mem ", CMD_TIMEOUT_S)
    out = exchange(pvh, b"--json\r")
    mems = [o for o in json_lines(out) if "phys" in o]
    assert len(mems) == 1, f"`me<Tab>--json` did not run `mem --json`:\n{out}"


def test_tab_lists_several_candidates(pvh):
    listed = help_commands(human_command(pvh, "help"))
    expected = sorted(c for c in listed if c.startswith("p"))
    assert {"pages", "poweroff"} <= set(expected)
    pvh.send(b"p\t")
    m = pvh.wait_for(re.compile(rb"\n([^\r\n]*)\r?\n" + re.escape(exo_qemu.PROMPT) + b"p"), CMD_TIMEOUT_S)
    shown = sorted(m.groups[0].decode(errors="replace").split())
    assert shown == expected, f"`p<Tab>` listed {shown}, expected {expected}"
    # The half line is still there after the listing: `p` alone is no command.
    out = exchange(pvh, b"\r")
    assert out.strip().startswith("error:"), f"`p` after the listing answered:\n{out}"


def test_history_up_arrow_reruns_the_last_command(pvh):
    first = json_command(pvh, "uptime")
    for up in (ESC_UP, b"\x1bOA", CTRL["P"]):
        out = exchange(pvh, up + b"\r")
        got = json_lines(out)
        assert len(got) == 1 and set(got[0]) == set(first), f"{up!r} Enter did not re-run `uptime --json`:\n{out}"


def test_history_keeps_the_last_32_lines(pvh):
    total = HISTORY_ENTRIES + 8
    for i in range(total):
        pvh.command(f"hist-{i:02d}", CMD_TIMEOUT_S)
    oldest = f"hist-{total - HISTORY_ENTRIES:02d}"
    out = exchange(pvh, ESC_UP * (total + 5) + b"\r")
    assert re.search(rf"error:[^\n]*'{oldest}'", out), f"Up past the oldest entry did not give {oldest}:\n{out!r}"
    # Running `oldest` made it the newest entry: Up Up Up Down is the one
    # before it, the last of the 40.
    out = exchange(pvh, ESC_UP * 3 + ESC_DOWN + b"\r")
    want = f"hist-{total - 1:02d}"
    assert re.search(rf"error:[^\n]*'{want}'", out), f"Up Up Up Down did not give {want}:\n{out!r}"


def test_ctrl_c_cancels_a_half_line(pvh):
    out = exchange(pvh, b"mem --json" + CTRL_C)
    assert "^C" in out and not json_lines(out) and "error:" not in out, f"Ctrl-C:\n{out!r}"
    out = exchange(pvh, CTRL_C)
    assert "^C" in out and "error:" not in out, f"Ctrl-C on an empty line:\n{out!r}"
    json_command(pvh, "mem")


@pytest.mark.parametrize("keys", [
    b"garbage" + CTRL["U"] + b"uptime --json",                       # kill to start
    b"uptime --json junk" + CTRL["W"],                               # kill word
    b"ptime --json" + CTRL["A"] + b"u",                              # home
    b"uptime" + CTRL["A"] + CTRL["E"] + b" --json",                  # home, end
    b"uptime --jsonXYZ" + CTRL["A"] + CTRL["F"] * 13 + CTRL["K"],    # right, kill to end
    b"uptme --json" + ESC_LEFT * 9 + b"i" + ESC_END,                 # left, insert, End
    b"uptimex --json" + ESC_LEFT * 7 + b"\x7f",                      # backspace (DEL)
    b"uptimex --json" + CTRL["B"] * 7 + b"\x08",                     # Ctrl-B, backspace (BS)
    b"uptimex --json" + ESC_LEFT * 8 + ESC_DELETE,                   # Delete key
    b"uptimex --json" + ESC_LEFT * 8 + CTRL["D"],                    # Ctrl-D
], ids=["ctrl-u", "ctrl-w", "ctrl-a", "ctrl-e", "ctrl-k", "arrows", "del", "bs", "delete", "ctrl-d"])
def test_editing_keys(pvh, keys):
    reference = set(json_command(pvh, "uptime"))
    out = exchange(pvh, keys + b"\r")
    got = json_lines(out)
    assert "error:" not in out and len(got) == 1 and set(got[0]) == reference, \
        f"{keys!r} Enter did not run `uptime --json`:\n{out!r}"


def test_line_limit(pvh):
    reference = set(json_command(pvh, "uptime"))
    exact = b"uptime --json".ljust(LINE_LIMIT, b" ")
    out = exchange(pvh, exact + b"\r")
    assert "too long" not in out and [set(o) for o in json_lines(out)] == [reference], \
        f"a {LINE_LIMIT}-byte line was refused:\n{out!r}"
    for line in (exact + b" ", b"a" * 10240):
        out = exchange(pvh, line + b"\r")
        assert re.search(r"^error: line too long$", out, re.M), f"a {len(line)}-byte line answered:\n{out!r}"
        assert not json_lines(out)
        json_command(pvh, "uptime")


def _noise_then_command(q: Qemu, noise: bytes, tag: str) -> None:
    reference = set(json_command(q, "uptime"))
    q.send(noise + CTRL["U"] + b"\r\nuptime --json\r" + tag.encode() + b"\r")
    m = q.wait_for(re.compile(rb"exo> uptime --json\r\n(\{[^\r\n]*\})\r\nexo> " + re.escape(tag.encode())
                              + rb"\r\nerror:[^\r\n]*" + re.escape(tag.encode())), CMD_TIMEOUT_S)
    assert set(json.loads(m.groups[0])) == reference
    q.wait_prompt(CMD_TIMEOUT_S)
    json_command(q, "mem")


def test_binary_noise_then_a_command(pvh):
    rng = random.Random(0xE10)
    # No CR/LF inside: one line of garbage (0x80-0xFF and control bytes, ESC,
    # Ctrl-C, Ctrl-L, Ctrl-P... included).
    alphabet = [b for b in range(256) if b >= 0x80 or (b < 0x20 and b not in (0x0A, 0x0D))]
    _noise_then_command(pvh, bytes(rng.choice(alphabet) for _ in range(4096)), "after-noise-1")


def test_random_bytes_then_a_command(pvh):
    rng = random.Random(0x5EED)
    # Anything but Tab: random lines with completion could turn `r<Tab>`
    # into `reboot`.
    alphabet = [b for b in range(256) if b != 0x09]
    _noise_then_command(pvh, bytes(rng.choice(alphabet) for _ in range(4096)), "after-noise-2")


def test_500_commands_in_one_burst_are_answered_in_order(pvh):
    n = 500
    cmds = ["uptime --json" if i % 2 == 0 else "mem --json" for i in range(n)]
    start = cursor(pvh)
    pvh.send("".join(c + "\n" for c in cmds))
    for _ in range(n):
        m = pvh.wait_prompt(BURST_TIMEOUT_S)
    out = pvh.output[start:m.start].decode(errors="replace").replace("\r\n", "\n")
    assert "error:" not in out, "the burst lost or garbled bytes:\n" + \
        "\n".join(ln for ln in out.splitlines() if "error:" in ln)[:2000]
    got = json_lines(out)
    assert len(got) == n, f"{len(got)} JSON lines for {n} commands"
    kinds = ["mem --json" if "phys" in o else "uptime --json" for o in got]
    assert kinds == cmds, "answers out of order: first mismatch at #" + \
        str(next(i for i, (a, b) in enumerate(zip(kinds, cmds)) if a != b))
    ups = [uptime_us(o) for o in got[::2]]
    assert ups == sorted(ups), "uptime went backwards during the burst"


# --------------------------------------------------------------------------
# watch

def _watch(q: Qemu, cmd: str, lines: int) -> list[dict]:
    q.send_line(f"watch {cmd} 100")
    got = [json.loads(q.wait_for(JSON_LINE, CMD_TIMEOUT_S).groups[0]) for _ in range(lines)]
    q.send(b"q")
    q.wait_prompt(CMD_TIMEOUT_S)
    return got


def test_watch_streams_until_a_key(pvh):
    reference = set(json_command(pvh, "mem"))
    got = _watch(pvh, "mem", 4)
    assert all(set(o) == reference for o in got), got
    # The key only stopped the watch: it is not left on the next line.
    check_mem_json(json_command(pvh, "mem"), DEFAULT_MEM_MIB)


def test_watch_keeps_its_interval(pvh):
    ups = [uptime_us(o) for o in _watch(pvh, "uptime", 4)]
    gaps = [b - a for a, b in zip(ups, ups[1:])]
    assert all(g >= 90_000 for g in gaps), f"`watch uptime 100` readings {gaps} us apart"
    json_command(pvh, "uptime")


# --------------------------------------------------------------------------
# Deferred inits (own machines: they change kernel state)

def _pending(drivers: dict) -> list[str]:
    return sorted(n for n, d in drivers.items() if d["state"] == "pending")


def test_init_deferred_runs_the_pending_drivers_once(booted):
    q = booted(BootMode.PVH)
    before = check_drivers_json(json_command(q, "drivers"))
    pending = _pending(before)
    assert pending, f"deferred=manual but no driver is pending: {before}"
    out = human_command(q, "init deferred")
    for name in pending:
        assert re.search(rf"\b{re.escape(name)}\b", out), f"`init deferred` does not report {name}:\n{out}"
    after = check_drivers_json(json_command(q, "drivers"))
    assert set(after) == set(before), f"drivers changed: {sorted(before)} -> {sorted(after)}"
    for name in pending:
        assert after[name]["state"] in ("active", "absent"), f"{name} after init deferred: {after[name]}"
    for name in set(before) - set(pending):
        assert after[name]["state"] == before[name]["state"], f"{name}: {before[name]} -> {after[name]}"
    tasks = check_boot_json(json_command(q, "boot"))
    for name in pending:
        if name in tasks:
            assert tasks[name]["status"] != "pending", f"boot task {name} after init deferred: {tasks[name]}"
    again = q.command("init deferred", CMD_TIMEOUT_S)
    assert re.search(r"nothing|already|no pending", again, re.I), f"second `init deferred`:\n{again}"
    # (init_us may move a little: the TSC rate is refined while running.)
    final = check_drivers_json(json_command(q, "drivers"))
    assert {n: d["state"] for n, d in final.items()} == {n: d["state"] for n, d in after.items()}


def test_init_name_runs_one_driver(booted):
    q = booted(BootMode.PVH)
    pending = _pending(check_drivers_json(json_command(q, "drivers")))
    assert pending
    name = pending[0]
    out = human_command(q, f"init {name}")
    assert name in out, out
    after = check_drivers_json(json_command(q, "drivers"))
    assert after[name]["state"] in ("active", "absent"), after[name]
    again = q.command(f"init {name}", CMD_TIMEOUT_S)
    assert re.search(r"already|nothing", again, re.I), f"second `init {name}`:\n{again}"


def test_deferred_auto_leaves_nothing_pending(booted):
    q = booted(BootMode.PVH, append="deferred=auto")
    # The optional inits run right after the prompt and may log above it:
    # re-synchronise before reading anything.
    sync(q, "sync-auto")
    # They run in a background thread below the shell's priority, so ask
    # until it has finished (each ask waits for the reply, nothing sleeps).
    deadline = time.monotonic() + 20
    drivers = check_drivers_json(json_command(q, "drivers"))
    while _pending(drivers) and time.monotonic() < deadline:
        drivers = check_drivers_json(json_command(q, "drivers"))
    assert not _pending(drivers), f"deferred=auto left {_pending(drivers)} pending"
    assert not [n for n, d in drivers.items() if d["state"] == "failed"], drivers


def test_deferred_auto_first_command_at_the_prompt_gets_its_json(booted):
    """A program that waits for the prompt and sends a command gets the
    command's one JSON line before the next prompt, with deferred=auto too."""
    q = booted(BootMode.PVH, append="deferred=auto")
    check_drivers_json(json_command(q, "drivers"))


DIRECT_MAP_BASE = 0xFFFF800000000000


def test_kernel_code_has_no_writable_alias(pvh, kernel_elf):
    """The direct map used to alias the kernel image read-write, so any
    write primitive could patch kernel text through it. Its text and rodata
    are read-only there now, and the W+X audit counts executable memory
    mapped writable anywhere (0 here)."""
    obj = json_command(pvh, "pages")
    assert obj.get("wx_ranges") == 0 and obj.get("wx_alias_ranges") == 0, \
        f"W+X audit: {obj.get('wx_ranges')} ranges, {obj.get('wx_alias_ranges')} aliases"
    text = text_segment(kernel_elf[1])
    walk = human_command(pvh, f"pages {DIRECT_MAP_BASE + text.paddr:#x}")
    m = re.search(r"-> phys (0x[0-9a-f]+) \(4 KiB page, effective (\S+)\)", walk)
    assert m and int(m.group(1), 16) == text.paddr, f"direct-map alias of text:\n{walk}"
    assert "W" not in m.group(2), f"the direct-map alias of kernel text is writable:\n{walk}"
    assert "no writable+executable mappings, no writable alias of code" in human_command(pvh, "pages")


def test_every_json_form_is_one_line_with_a_schema(pvh, kernel_elf):
    """Every command whose usage offers --json, and the forms that take an
    argument too (`help NAME`, `pages VADDR`, `mem N`), print exactly one
    JSON line with "schema". `pages VADDR --json` used to print the text
    walk (so `exo query pages ADDR` exited 5), `help --json` had no schema."""
    text = text_segment(kernel_elf[1])
    helps = json_command(pvh, "help")["commands"]
    forms = [c["name"] for c in helps if "--json" in c["usage"] and c["name"] not in ("watch", "bench")]
    assert {"mem", "pages", "boot", "threads", "drivers", "log"} <= set(forms), forms
    forms += ["help mem", f"pages {text.vaddr:#x}", "pages 0", "mem 100"]
    for form in forms:
        json_command(pvh, form)
    walk = json_command(pvh, f"pages {text.vaddr:#x}")
    assert [lv["level"] for lv in walk["levels"]] == ["PML4E", "PDPTE", "PDE", "PTE"], walk
    assert walk["stop"] == "leaf" and int(walk["phys"], 16) == text.paddr, walk
    assert "X" in walk["flags"] and "W" not in walk["flags"], walk
    hole = json_command(pvh, "pages 0")
    assert hole["stop"] == "not present" and all(lv["flags"] == "-----" for lv in hole["levels"]
                                                 if int(lv["raw"], 16) & 1 == 0), hole


LINE = re.compile(rb"([^\r\n]*)\r?\n")


def test_a_log_line_waits_until_the_command_has_printed(booted):
    """A log line that comes while a command prints (here the ring-3
    fuzzer's exit line, during `watch threads 10`) waits until the command
    ends: every line of the command's output stays whole JSON, and the log
    line follows it, before the prompt. It used to land inside the output
    (a TSC warning split `drivers --json` on microvm)."""
    q = booted(BootMode.PVH)
    q.command("user fuzz", CMD_TIMEOUT_S)
    q.send_line("watch threads 10")
    q.wait_for(b"watch threads 10\r\n", CMD_TIMEOUT_S)
    lines, gone = [], 0
    while gone < 3:   # the fuzzer's exit is logged before its thread leaves the list
        assert len(lines) < 3000, f"the fuzzer never ended during `watch` (it used to starve it): {lines[-1]!r}"
        text = q.wait_for(LINE, CMD_TIMEOUT_S).groups[0].decode(errors="replace")
        lines.append(text)
        try:
            names = [t["name"] for t in json.loads(text)["threads"]]
        except (ValueError, KeyError, TypeError):
            raise AssertionError(f"a line of `watch threads` is not whole JSON: {text!r}\nall: {lines}")
        gone = gone + 1 if "user:fuzz" not in names else 0
    q.send(b"q")
    # The command's output ends at the prompt; the held line comes above the
    # prompt, redrawn after it, like any log line at the prompt.
    q.wait_prompt(CMD_TIMEOUT_S)
    q.wait_for(re.compile(rb"\r\x1b\[Juser: thread \d+ \(user:fuzz\) exited with \d+\r\nexo> "), CMD_TIMEOUT_S)


def test_commands_without_a_json_form_refuse_json_and_watch(pvh):
    """`watch` takes only commands with a --json form, refused before the
    first sample (it used to print a usage error every period), and a
    command without one refuses --json instead of printing text."""
    for line in ("watch user 100", "watch x 100", "watch watch 100", "watch fault 100"):
        out = pvh.command(line, CMD_TIMEOUT_S)
        assert out.startswith("error: watch:") and len(out.split("\n")) == 1, f"`{line}` answered:\n{out}"
        assert "--json form" in out, out
    for line in ("user sampler --json", "x 0 16 --json", "init deferred --json"):
        out = pvh.command(line, CMD_TIMEOUT_S)
        assert out == f"error: {line.split()[0]}: no --json form", f"`{line}` answered:\n{out}"
    json_command(pvh, "mem")   # the shell goes on
