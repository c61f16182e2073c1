"""The Optional-phase drivers (acpi, pci, ps2kbd, rtc, vga), from outside.

On `-M pc` (PVH and the GRUB ISO): they wait for `init deferred` / `init
NAME`, then come up `active` with a detail line; `pci` lists QEMU's devices
(checked against what QEMU 7.x puts on `-M pc`); the RTC's wall clock is the
host's UTC time; keys typed through QEMU's monitor reach the shell through
the PS/2 keyboard; the VGA text buffer mirrors COM1; the boot record marks
the deferred runs. On `-M microvm` (no PCI, no i8042, no VGA) those drivers
end `absent`, never `failed`, and the kernel goes on. With `deferred=auto`
nothing is left pending.

Each test starts its own machine (they change kernel state; a PVH boot takes
a fraction of a second). The keyboard and VGA tests add a QMP socket
(`-qmp unix:...`) next to the launcher's `-monitor none`. Every wait is for a
marker on COM1 or a QMP answer; nothing sleeps.
"""
from __future__ import annotations

import datetime
import re
import shutil
import tempfile
import time
from pathlib import Path

import pytest

import exo_qemu
from exo_qemu import BootMode, Qemu, Qmp

BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S
CMD_TIMEOUT_S = 20.0
QMP_TIMEOUT_S = 20.0
AUTO_TIMEOUT_S = 20.0      # deferred=auto: upper bound for the inits to finish
RTC_TOLERANCE_S = 90       # the RTC is read at init, to the second

OPTIONAL = ("acpi", "lapic-timer", "pci", "ps2kbd", "rtc", "vga")
STATES = {"active", "pending", "absent", "failed"}
# `init NAME  ok  123.4 us, ...` (one line per driver run).
INIT_LINE = re.compile(r"^init (\S+)\s+(\S+)\s+([0-9]+(?:\.[0-9]+)?) us\b", re.M)
ALREADY = re.compile(r"nothing|already|no pending", re.I)
RTC_READ = re.compile(r"read (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC")
PCI_ADDRESS = re.compile(r"^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$")
PCI_ID = re.compile(r"^[0-9a-f]{4}:[0-9a-f]{4}$")

# What QEMU's `-M pc` (i440FX + PIIX3, default NIC and VGA) puts on bus 0.
PC_DEVICES = {
    "00:00.0": ("8086:1237", 0x06, 0x00),  # i440FX host bridge
    "00:01.0": ("8086:7000", 0x06, 0x01),  # PIIX3 ISA bridge
    "00:01.1": ("8086:7010", 0x01, 0x01),  # PIIX3 IDE
    "00:02.0": ("1234:1111", 0x03, 0x00),  # Bochs/std VGA
    "00:03.0": ("8086:100e", 0x02, 0x00),  # e1000
}


# --------------------------------------------------------------------------
# COM1 helpers

# The shell tests' helper: one JSON line with a "schema" key, or a clear failure.
from test_shell import json_command  # noqa: E402


def human(q: Qemu, cmd: str) -> str:
    out = q.command(cmd, CMD_TIMEOUT_S)
    assert out.strip(), f"`{cmd}` printed nothing"
    assert "error:" not in out, f"`{cmd}` failed:\n{out}"
    return out


def drivers(q: Qemu) -> dict:
    """`drivers --json`, checked against the contract; by name."""
    obj = json_command(q, "drivers")
    lst = obj.get("drivers")
    assert isinstance(lst, list) and lst, f"drivers --json: {obj}"
    by_name = {}
    for d in lst:
        name = d.get("name")
        assert isinstance(name, str) and name, f"driver without a name: {d}"
        assert name not in by_name, f"driver {name} listed twice"
        assert isinstance(d.get("phase"), str) and d["phase"], f"{name}: phase {d.get('phase')!r}"
        assert d.get("state") in STATES, f"{name}: state {d.get('state')!r}"
        us = d.get("init_us")
        assert isinstance(us, int) and not isinstance(us, bool) and us >= 0, f"{name}: init_us {us!r}"
        assert isinstance(d.get("detail"), str), f"{name}: detail {d.get('detail')!r}"
        by_name[name] = d
    assert by_name.get("com1", {}).get("state") == "active", f"com1 not active: {lst}"
    missing = [n for n in OPTIONAL if n not in by_name]
    assert not missing, f"drivers --json lacks {missing}: {sorted(by_name)}"
    for n in OPTIONAL:
        assert by_name[n]["phase"] == "optional", f"{n}: {by_name[n]}"
    return by_name


def states(ds: dict) -> dict:
    return {n: d["state"] for n, d in ds.items()}


def init_lines(out: str) -> dict:
    """{name: (result, microseconds)} from `init ...` output."""
    return {m.group(1): (m.group(2), float(m.group(3))) for m in INIT_LINE.finditer(out)}


def boot_tasks(q: Qemu) -> dict:
    obj = json_command(q, "boot")
    tasks = obj.get("tasks")
    assert isinstance(tasks, list) and tasks, f"boot --json: {obj}"
    return {t["name"]: t for t in tasks}


def rtc_time(detail: str) -> datetime.datetime:
    m = RTC_READ.search(detail)
    assert m, f"rtc detail has no `read YYYY-MM-DD HH:MM:SS UTC`: {detail!r}"
    try:
        return datetime.datetime(*map(int, m.groups()), tzinfo=datetime.timezone.utc)
    except ValueError as e:
        raise AssertionError(f"rtc detail is not a valid date ({e}): {detail!r}") from None


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def check_optional_active(after: dict) -> None:
    for n in OPTIONAL:
        d = after[n]
        assert d["state"] == "active", f"{n} after init on -M pc: {d}"
        assert d["detail"].strip(), f"{n} is active with an empty detail: {d}"
    assert re.search(r"\b\d+ devices?\b", after["pci"]["detail"]), after["pci"]
    assert "0xb8000" in after["vga"]["detail"], after["vga"]
    rtc_time(after["rtc"]["detail"])


# --------------------------------------------------------------------------
# QMP (a second monitor next to the launcher's `-monitor none`)

@pytest.fixture
def qmp_machine(booted):
    """Factory: a PVH `-M pc` machine at the prompt with a QMP socket, and
    the connected client. Socket in a short /tmp dir (sun_path is 108 bytes)."""
    tmp = Path(tempfile.mkdtemp(prefix="exo-qmp-"))
    clients: list[Qmp] = []

    def start(**kwargs) -> tuple[Qemu, Qmp]:
        path = tmp / f"qmp{len(clients)}.sock"
        q = booted(BootMode.PVH, extra_args=["-qmp", f"unix:{path},server=on,wait=off"], **kwargs)
        # The listener exists before the guest runs: at the prompt it is there.
        client = Qmp(path, QMP_TIMEOUT_S)
        clients.append(client)
        return q, client

    yield start, tmp
    for c in clients:
        c.close()
    shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# -M pc: init deferred

@pytest.mark.parametrize("mode", [BootMode.PVH, BootMode.ISO], ids=lambda m: m.value)
def test_init_deferred_brings_up_every_optional_driver_once(booted, mode):
    q = booted(mode)
    before = drivers(q)
    for n in OPTIONAL:
        assert before[n]["state"] == "pending", f"{n} before `init deferred` (deferred=manual): {before[n]}"
    not_optional = {n: d["state"] for n, d in before.items() if n not in OPTIONAL}

    out = human(q, "init deferred")
    ran = init_lines(out)
    for n in OPTIONAL:
        assert n in ran, f"`init deferred` does not report {n} with its time:\n{out}"
        assert ran[n][0] == "ok", f"`init deferred`: {n} -> {ran[n][0]}:\n{out}"

    after = drivers(q)
    check_optional_active(after)
    assert set(after) == set(before), f"drivers changed: {sorted(before)} -> {sorted(after)}"
    assert {n: after[n]["state"] for n in not_optional} == not_optional

    again = q.command("init deferred", CMD_TIMEOUT_S)
    assert ALREADY.search(again), f"second `init deferred`:\n{again}"
    assert not init_lines(again), f"second `init deferred` ran something again:\n{again}"
    assert states(drivers(q)) == states(after)

    # The human table says the same.
    table = human(q, "drivers")
    for n in OPTIONAL:
        row = re.search(rf"^{n}\s+optional\s+active\s+[0-9.]+\s+\S", table, re.M)
        assert row, f"`drivers` has no active row with a detail for {n}:\n{table}"


def test_boot_record_marks_the_deferred_runs(booted):
    q = booted(BootMode.PVH)
    human(q, "init deferred")
    tasks = boot_tasks(q)
    for n in OPTIONAL:
        assert n in tasks, f"boot --json lacks the deferred task {n}: {sorted(tasks)}"
        t = tasks[n]
        assert t.get("deferred") is True, f"boot task {n} not marked \"deferred\": true: {t}"
        assert t.get("phase") == "optional", t
        assert t.get("status") == "ok", t
    early = [t for n, t in tasks.items() if n not in OPTIONAL]
    assert early, f"boot --json has only the deferred tasks: {sorted(tasks)}"
    for t in early:
        assert t.get("deferred") is False, f"boot-time task marked deferred: {t}"
    last_boot = max(t["start_us"] + t["duration_us"] for t in early)
    for n in OPTIONAL:
        assert tasks[n]["start_us"] >= last_boot, \
            f"deferred {n} starts at {tasks[n]['start_us']} us, before boot ended ({last_boot} us)"


def test_init_pci_alone(booted):
    q = booted(BootMode.PVH)
    out = human(q, "init pci")
    ran = init_lines(out)
    assert list(ran) == ["pci"], f"`init pci` should run pci alone:\n{out}"
    assert ran["pci"][0] == "ok" and ran["pci"][1] > 0, f"`init pci`:\n{out}"
    after = drivers(q)
    assert after["pci"]["state"] == "active" and after["pci"]["detail"].strip(), after["pci"]
    assert after["pci"]["init_us"] > 0, after["pci"]
    for n in OPTIONAL:
        if n != "pci":
            assert after[n]["state"] == "pending", f"`init pci` touched {n}: {after[n]}"

    again = q.command("init pci", CMD_TIMEOUT_S)
    assert ALREADY.search(again) and not init_lines(again), f"second `init pci`:\n{again}"

    rest = init_lines(human(q, "init deferred"))
    assert sorted(rest) == sorted(n for n in OPTIONAL if n != "pci"), \
        f"`init deferred` after `init pci` ran {sorted(rest)}"
    check_optional_active(drivers(q))


# --------------------------------------------------------------------------
# -M pc: PCI

def _pci_devices(q: Qemu) -> dict:
    obj = json_command(q, "pci")
    devs = obj.get("devices")
    assert isinstance(devs, list), f"pci --json: {obj}"
    by_addr = {}
    for d in devs:
        addr = d.get("address")
        assert isinstance(addr, str) and PCI_ADDRESS.match(addr), f"device address {addr!r}: {d}"
        assert addr not in by_addr, f"{addr} listed twice"
        assert isinstance(d.get("id"), str) and PCI_ID.match(d["id"]), f"{addr}: id {d.get('id')!r}"
        assert isinstance(d.get("kind"), str) and d["kind"], f"{addr}: kind {d.get('kind')!r}"
        assert isinstance(d.get("irq"), int), f"{addr}: irq {d.get('irq')!r}"
        assert isinstance(d.get("bars"), list), f"{addr}: bars {d.get('bars')!r}"
        for b in d["bars"]:
            assert isinstance(b.get("io"), bool), f"{addr}: BAR {b}"
            base = int(b["base"], 16)
            size = b["size"]
            assert isinstance(size, int) and size > 0 and size & (size - 1) == 0, f"{addr}: BAR size {b}"
            assert base and base % size == 0, f"{addr}: BAR base not aligned to its size: {b}"
        by_addr[addr] = d
    return by_addr


@pytest.fixture
def pc_with_pci(booted) -> Qemu:
    q = booted(BootMode.PVH)
    human(q, "init pci")
    return q


def test_pci_json_lists_qemu_pc_devices(pc_with_pci):
    devs = _pci_devices(pc_with_pci)
    for addr, (ident, cls, sub) in PC_DEVICES.items():
        assert addr in devs, f"pci --json lacks {addr} ({ident}): {sorted(devs)}"
        d = devs[addr]
        assert d["id"] == ident, f"{addr}: {d}"
        assert (d.get("class"), d.get("subclass")) == (cls, sub), f"{addr}: {d}"

    assert devs["00:00.0"]["kind"].lower() == "host bridge", devs["00:00.0"]
    assert devs["00:01.1"]["kind"].lower().startswith("ide"), devs["00:01.1"]
    assert any(b["io"] for b in devs["00:01.1"]["bars"]), f"IDE has no IO BAR: {devs['00:01.1']}"

    vga = devs["00:02.0"]
    assert "vga" in vga["kind"].lower(), vga
    fb = [b for b in vga["bars"] if not b["io"] and b["size"] >= 1 << 20]
    assert fb, f"VGA has no framebuffer memory BAR: {vga}"

    nic = devs["00:03.0"]
    assert "ethernet" in nic["kind"].lower(), nic
    assert any(b["io"] for b in nic["bars"]) and any(not b["io"] for b in nic["bars"]), \
        f"e1000 needs an IO and a MEM BAR: {nic}"
    assert 1 <= nic["irq"] <= 15, f"e1000 has no legacy IRQ line: {nic}"


def test_pci_json_marks_the_vga_framebuffer_prefetchable(pc_with_pci):
    vga = _pci_devices(pc_with_pci)["00:02.0"]
    pref = [b for b in vga["bars"] if b.get("prefetchable") is True]
    assert pref, f"no BAR of the VGA (1234:1111) carries \"prefetchable\": true in pci --json: {vga}"
    assert all(not b["io"] and b["size"] >= 1 << 20 for b in pref), vga
    nonpref = [b for b in vga["bars"] if b.get("prefetchable") is False]
    assert nonpref, f"the VGA's MMIO BAR should say \"prefetchable\": false: {vga}"


def test_pci_human_output_matches_the_json(pc_with_pci):
    q = pc_with_pci
    devs = _pci_devices(q)
    out = human(q, "pci")
    for addr, d in devs.items():
        row = re.search(rf"^{re.escape(addr)}\s+{re.escape(d['id'])}\b[^\n]*", out, re.M)
        assert row, f"`pci` has no row `{addr} {d['id']}`:\n{out}"
        assert d["kind"] in row.group(0), f"`pci` row for {addr} lacks {d['kind']!r}: {row.group(0)}"
        for b in d["bars"]:
            assert re.search(rf"\b0x0*{int(b['base'], 16):x}\b", out), \
                f"`pci` does not show {addr}'s BAR at {b['base']}:\n{out}"
    assert re.search(r"^\s+mem\s+0x0*fd000000\b.*prefetchable", out, re.M | re.I), \
        f"`pci` does not show the VGA framebuffer as a prefetchable memory BAR:\n{out}"
    assert re.search(r"^\s+io\s+0x[0-9a-f]+", out, re.M), f"`pci` shows no IO BAR:\n{out}"


# --------------------------------------------------------------------------
# -M pc: RTC

def test_rtc_reads_the_hosts_utc_time(booted):
    q = booted(BootMode.PVH)
    t0 = utcnow()
    out = human(q, "init rtc")
    t1 = utcnow()
    assert list(init_lines(out)) == ["rtc"], f"`init rtc`:\n{out}"
    d = drivers(q)["rtc"]
    assert d["state"] == "active", d
    rtc = rtc_time(d["detail"])
    assert rtc.year == datetime.datetime.utcnow().year, f"RTC year {rtc.year}: {d['detail']!r}"
    lo = t0 - datetime.timedelta(seconds=RTC_TOLERANCE_S)
    hi = t1 + datetime.timedelta(seconds=RTC_TOLERANCE_S)
    assert lo <= rtc <= hi, f"RTC says {rtc:%F %T} UTC, host said {t0:%F %T}..{t1:%F %T} UTC"
    table = human(q, "drivers")
    assert rtc.strftime("%Y-%m-%d %H:%M:%S") in table, f"`drivers` does not show the RTC time:\n{table}"


# --------------------------------------------------------------------------
# -M pc: PS/2 keyboard and VGA, through QEMU's monitor

def test_keys_sent_through_the_monitor_run_a_shell_command(qmp_machine):
    start, _ = qmp_machine
    q, mon = start()
    out = human(q, "init ps2kbd")
    assert init_lines(out).get("ps2kbd", ("?",))[0] == "ok", out
    # QMP send-key for some keys, HMP `sendkey` (via human-monitor-command)
    # for the others: both paths end in the same i8042.
    for key in "upt":
        mon.send_key(key)
    for key in ("i", "m", "e", "ret"):
        assert mon.hmp(f"sendkey {key}") == "", f"sendkey {key} failed"
    m = q.wait_for(re.compile(rb"uptime\r?\n(up [^\r\n]+)\r?\n"), CMD_TIMEOUT_S)
    assert re.match(rb"up \d+:\d\d:\d\d", m.groups[0]), m.text
    q.wait_prompt(CMD_TIMEOUT_S)
    # The shell still takes COM1 afterwards, and the keyboard said so.
    assert drivers(q)["ps2kbd"]["state"] == "active"


def test_vga_text_buffer_mirrors_com1(qmp_machine):
    start, tmp = qmp_machine
    q, mon = start()
    human(q, "init vga")
    # The mirror is written right after COM1, by the same thread: once the
    # second command's answer is on COM1, everything up to its echo (and so
    # the first command, its error and the prompt after it) is on the VGA.
    tags = ("vga-mirror-check-7315", "vga-mirror-check-7316")
    for tag in tags:
        err = q.command(tag, CMD_TIMEOUT_S)
        assert err.startswith("error:") and tag in err, err
    dump = tmp / "vga.bin"
    mon.execute("pmemsave", val=0xB8000, size=80 * 25 * 2, filename=str(dump))
    cells = dump.read_bytes()
    assert len(cells) == 80 * 25 * 2, f"pmemsave wrote {len(cells)} bytes"
    rows = [bytes(cells[i:i + 160:2]).decode("latin-1").rstrip() for i in range(0, len(cells), 160)]
    screen = "\n".join(rows)
    typed = [i for i, r in enumerate(rows) if r == f"exo> {tags[0]}"]
    assert typed, f"VGA text buffer does not show the typed line `exo> {tags[0]}`:\n{screen}"
    below = rows[typed[-1] + 1:typed[-1] + 3]
    assert len(below) == 2 and below[0].startswith("error:") and tags[0] in below[0], \
        f"VGA text buffer does not show the error line under the typed one:\n{screen}"
    assert below[1] == f"exo> {tags[1]}", \
        f"VGA text buffer lacks the prompt and next line after the error:\n{screen}"


# --------------------------------------------------------------------------
# -M microvm: no PCI, no i8042, no VGA

def test_microvm_missing_hardware_is_absent_not_failed(booted):
    q = booted(BootMode.MICROVM)
    before = drivers(q)
    for n in OPTIONAL:
        assert before[n]["state"] == "pending", f"{n} before `init deferred`: {before[n]}"
    out = human(q, "init deferred")
    after = drivers(q)
    failed = {n: d for n, d in after.items() if d["state"] == "failed"}
    assert not failed, f"failed on microvm: {failed}\n`init deferred` said:\n{out}"
    for n in ("pci", "ps2kbd", "vga"):
        assert after[n]["state"] == "absent", f"{n} on microvm: {after[n]}\n{out}"
    for n in ("acpi", "rtc"):
        assert after[n]["state"] in ("active", "absent"), f"{n} on microvm: {after[n]}"
        if after[n]["state"] == "active":
            assert after[n]["detail"].strip(), after[n]
    assert not re.search(r"\bfail", out, re.I), f"`init deferred` on microvm:\n{out}"

    listing = q.command("pci", CMD_TIMEOUT_S)
    assert re.search(r"\bno\b.*\bdevices?\b", listing, re.I), f"`pci` on microvm:\n{listing}"
    assert json_command(q, "pci").get("devices") == [], "pci --json on microvm lists devices"

    again = q.command("init deferred", CMD_TIMEOUT_S)
    assert ALREADY.search(again), f"second `init deferred` on microvm:\n{again}"
    # Still running and answering.
    up = human(q, "uptime")
    assert re.search(r"up \d+:\d\d:\d\d", up), up
    assert states(drivers(q)) == states(after)


# --------------------------------------------------------------------------
# deferred=auto

@pytest.mark.parametrize("mode", [BootMode.PVH, BootMode.MICROVM], ids=lambda m: m.value)
def test_deferred_auto_leaves_nothing_pending(booted, mode):
    q = booted(mode, append="deferred=auto")
    # Poll until every Optional driver has settled (active or absent); each
    # round trip is a command answered at a prompt. Every snapshot is kept:
    # a driver whose init is still running must not be shown as `failed`.
    deadline = time.monotonic() + AUTO_TIMEOUT_S
    snapshots = []
    while True:
        ds = drivers(q)
        snapshots.append(states(ds))
        unsettled = sorted(n for n in OPTIONAL if ds[n]["state"] not in ("active", "absent"))
        if not unsettled:
            break
        assert time.monotonic() < deadline, \
            f"deferred=auto: after {AUTO_TIMEOUT_S:.0f} s still {[(n, ds[n]) for n in unsettled]}"
    transient = sorted({n for snap in snapshots[:-1] for n, st in snap.items()
                        if st == "failed" and snapshots[-1][n] != "failed"})
    assert not transient, (
        f"deferred=auto: {transient} showed state `failed` in `drivers --json` while the init was "
        f"still running, then became {[snapshots[-1][n] for n in transient]}; snapshots in order:\n"
        + "\n".join(str({n: snap[n] for n in OPTIONAL}) for snap in snapshots))
    assert not {n for n, d in ds.items() if d["state"] == "failed"}, ds
    if mode is BootMode.PVH:
        check_optional_active(ds)
    else:
        for n in ("pci", "ps2kbd", "vga"):
            assert ds[n]["state"] == "absent", ds[n]
    again = q.command("init deferred", CMD_TIMEOUT_S)
    assert ALREADY.search(again) and not init_lines(again), f"`init deferred` after deferred=auto:\n{again}"


def test_microvm_says_why_and_agrees_everywhere(booted):
    """What a user of microvm reads (issue 15): `init` says `absent` where
    `drivers` does (vga needs the absent PCI, and both say so), `pci` says
    there is no bus instead of suggesting `init pci`, pending tasks are
    "deferred" in `boot --json`, the lapic-timer row keeps its columns, and
    `uptime` shows the wall clock as a date, its epoch seconds in JSON."""
    q = booted(BootMode.MICROVM)
    pending = {n: t for n, t in boot_tasks(q).items() if t["status"] == "pending"}
    assert pending and all(t["deferred"] is True for t in pending.values()), pending
    out = human(q, "init deferred")
    vga = [ln for ln in out.splitlines() if ln.split()[1:2] == ["vga"]]
    assert vga and re.search(r"\babsent\b.*\(needs pci\)", vga[0]), f"`init deferred`:\n{out}"
    ds = drivers(q)
    assert ds["vga"]["state"] == "absent" and ds["vga"]["detail"] == "needs pci", ds["vga"]
    assert "no host bridge" in ds["pci"]["detail"], ds["pci"]
    text = human(q, "drivers")
    header = text.splitlines()[0]
    for ln in text.splitlines()[1:]:
        assert ln[header.index("phase")] != " " and ln[header.index("phase") - 1] == " ", f"misaligned:\n{text}"
    listing = q.command("pci", CMD_TIMEOUT_S)
    assert "no PCI bus" in listing and "init pci" not in listing, listing
    up = human(q, "uptime")
    m = re.search(r"wall clock: (\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC", up)
    assert m, f"`uptime` wall clock:\n{up}"
    wall = datetime.datetime(*map(int, m.groups()), tzinfo=datetime.timezone.utc)
    unix = json_command(q, "uptime")["unix_time"]
    assert abs(wall.timestamp() - unix) <= 2, (up, unix)
    assert abs((wall - utcnow()).total_seconds()) < 120, f"RTC {wall} vs host clock {utcnow()}"
