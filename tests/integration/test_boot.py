"""Boot Exo-OS every supported way and check what COM1 says.

Every wait is for a marker on COM1 (woken by the reader thread), bounded by
a generous timeout; nothing here sleeps or measures speed (bench/ does).
"""
from __future__ import annotations

import json
import re

import pytest

import exo_qemu
from exo_qemu import BANNER, BootMode

BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S  # generous: TCG on a busy machine
COMMAND_TIMEOUT_S = 20.0

ALL_MODES = [BootMode.ISO, BootMode.PVH, BootMode.MICROVM]
MODE_IDS = [m.value for m in ALL_MODES]
# Two options the kernel knows, at their default values: a harmless append.
KNOWN_OPTIONS = "deferred=manual log=normal"
# The kernel logs its command line on a line whose message starts `cmdline:`.
CMDLINE_LINE = re.compile(rb"cmdline:([^\r\n]*)\r?\n")


@pytest.mark.parametrize("mode", ALL_MODES, ids=MODE_IDS)
def test_boots_to_banner_then_prompt(machine, mode):
    q = machine(mode)
    banner = q.wait_for(BANNER, BOOT_TIMEOUT_S)
    prompt = q.wait_prompt(BOOT_TIMEOUT_S)
    assert banner.end <= prompt.start
    # The prompt starts a line of its own (after the line editor's width
    # query, which ends back at column 0).
    assert q.output[:prompt.start].endswith((b"\n", b"\n\x1b[999C\x1b[6n\r")), q.tail()


@pytest.mark.parametrize("mode", ALL_MODES, ids=MODE_IDS)
def test_shell_answers_on_every_boot_path(booted, mode):
    q = booted(mode)
    assert "poweroff" in q.command("help", COMMAND_TIMEOUT_S)
    reply = q.command("no-such-command", COMMAND_TIMEOUT_S)
    assert reply.startswith("error:"), reply


@pytest.mark.parametrize("mode", [BootMode.ISO, BootMode.MICROVM], ids=["iso", "microvm"])
def test_poweroff_exits_qemu_with_status_0(booted, mode):
    """ACPI S5: PM1a_CNT on -M pc; on -M microvm (hardware-reduced ACPI,
    no PM1 blocks) the FADT's sleep control register. microvm used to fall
    through to isa-debug-exit, whose status is odd (1)."""
    q = booted(mode)
    q.send_line("poweroff")
    assert q.wait_exit(BOOT_TIMEOUT_S) == 0


def _cmdline_lines(q) -> list[str]:
    """The text after `cmdline:` on every line that has it."""
    return [m.group(1).decode(errors="replace").strip()
            for m in CMDLINE_LINE.finditer(q.output)]


@pytest.mark.parametrize("mode", ALL_MODES, ids=MODE_IDS)
def test_append_reaches_the_kernel(booted, mode):
    q = booted(mode, append=KNOWN_OPTIONS)
    lines = _cmdline_lines(q)
    assert any(KNOWN_OPTIONS in line for line in lines), \
        f"no `cmdline:` line carrying {KNOWN_OPTIONS!r}; got {lines}\n{q.text}"
    assert b"unknown option" not in q.output, q.text


@pytest.mark.parametrize("mode", ALL_MODES, ids=MODE_IDS)
def test_unknown_option_is_reported_and_boot_goes_on(machine, mode):
    q = machine(mode, append="bogus=1")
    # Up to the line's end: a match on a half-arrived line would miss `bogus`.
    report = q.wait_for(re.compile(rb"[^\r\n]*unknown option[^\r\n]*\r?\n"), BOOT_TIMEOUT_S)
    assert b"bogus" in report.text, f"unknown-option line does not name it: {report.text!r}"
    q.wait_prompt(BOOT_TIMEOUT_S)


def test_unknown_option_does_not_hide_known_ones(booted):
    q = booted(BootMode.PVH, append=f"bogus=1 {KNOWN_OPTIONS}")
    unknown = [line for line in q.text.splitlines() if "unknown option" in line]
    assert unknown and all("bogus" in line for line in unknown), q.text


# --- the launcher itself (no QEMU needed) ---------------------------------

def test_launcher_argv_follows_the_contract(tmp_path):
    spec = exo_qemu.LaunchSpec(build_dir=tmp_path)
    assert exo_qemu.build_argv(spec)[:15] == [
        exo_qemu.QEMU_BINARY, "-cdrom", str(tmp_path / "exo.iso"), "-m", "32",
        "-display", "none", "-no-reboot", "-serial", "stdio", "-serial", "null",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-monitor"]
    argv = exo_qemu.build_argv(spec)
    assert argv[argv.index("-accel") + 1] == "tcg"


def test_launcher_direct_boot_argv(tmp_path):
    spec = exo_qemu.LaunchSpec(mode=BootMode.MICROVM, build_dir=tmp_path,
                               append="log=quiet", accel=exo_qemu.Accel.KVM, mem_mib=4)
    argv = exo_qemu.build_argv(spec)
    assert argv[1:3] == ["-M", "microvm"]
    assert argv[argv.index("-kernel") + 1] == str(tmp_path / "exo-kernel")
    assert argv[argv.index("-append") + 1] == "log=quiet"
    assert argv[argv.index("-m") + 1] == "4"
    assert argv[argv.index("-accel") + 1] == "kvm"
    assert "-cdrom" not in argv
    # microvm has one isa-serial: COM2 is added back explicitly.
    assert exo_qemu.MICROVM_COM2_DEVICE in argv


def test_launcher_tcp_binds_loopback_only():
    assert exo_qemu.normalize_chardev("tcp:4444", wait=True) == \
        "tcp:127.0.0.1:4444,server=on,wait=on,nodelay=on"
    with pytest.raises(ValueError):
        exo_qemu.normalize_chardev("tcp:0.0.0.0:4444,server=on", wait=False)
    with pytest.raises(ValueError):
        exo_qemu.normalize_chardev("telnet::4444,server=on", wait=False)


def test_launcher_rewrites_the_multiboot2_line():
    cfg = "set timeout=0\nmenuentry \"Exo-OS\" {\n    multiboot2 /boot/exo-kernel log=quiet\n}\n"
    out = exo_qemu.rewrite_grub_cfg(cfg, append="bogus=1")
    assert "    multiboot2 /boot/exo-kernel log=quiet bogus=1\n" in out
    out = exo_qemu.rewrite_grub_cfg(cfg, kernel="/boot/nothing", replace_args=True)
    assert "    multiboot2 /boot/nothing\n" in out
    with pytest.raises(ValueError):
        exo_qemu.rewrite_grub_cfg("set timeout=0\n", append="x")


@pytest.mark.parametrize("mode", ALL_MODES, ids=MODE_IDS)
def test_boot_allocates_no_frame_and_the_allocator_comes_up_after(booted, mode):
    # Boot work is kept small by design: boot.S builds the page tables, the
    # local APIC goes through a fixmap slot, the shell's stack is static, so
    # no Critical or Essential task takes a frame; the frame bitmap is built
    # on first use, right after the prompt. A task that starts allocating
    # again (or an allocator that never comes up) shows here.
    q = booted(mode)
    boot = json.loads(q.command("boot --json", COMMAND_TIMEOUT_S))
    ran = [t for t in boot["tasks"] if t["phase"] in ("critical", "essential")]
    assert ran and all(t["status"] == "ok" for t in ran), boot
    assert [t["name"] for t in ran if t["frames"] != 0] == [], f"boot tasks took frames: {ran}"
    phys = json.loads(q.command("mem --json", COMMAND_TIMEOUT_S))["phys"]
    assert phys["total_kib"] > 16 * 1024 and phys["free_kib"] > 0, phys
    assert phys["page_tables_kib"] >= 24, f"boot.S's six tables are not counted: {phys}"
    assert phys["used_kib"] >= phys["kernel_image_kib"] + phys["page_tables_kib"], phys


def _nobits_sections(elf) -> dict[str, tuple[int, int]]:
    """Physical (load) address and size of the kernel's .bss and .boot.bss."""
    import subprocess
    out = subprocess.run(["readelf", "-SW", str(elf)], check=True, capture_output=True, text=True).stdout
    found = {}
    for m in re.finditer(r"\]\s+(\.boot\.bss|\.bss)\s+NOBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", out):
        addr = int(m.group(2), 16)
        found[m.group(1)] = (addr - 0xFFFFFFFF80000000 if addr >= 0xFFFFFFFF80000000 else addr, int(m.group(3), 16))
    assert set(found) == {".bss", ".boot.bss"}, f"readelf -SW {elf}:\n{out}"
    return found


def test_boots_when_the_loader_leaves_bss_dirty(booted, build_dir, tmp_path):
    """A loader that does not zero .bss (QEMU's generic loader writes 0xA5
    over it after the ELF is in place): the kernel zeroes it itself and
    boots to a working shell. It used to triple-fault before its first line."""
    extra = []
    for name, (phys, size) in _nobits_sections(build_dir / "exo-kernel.elf").items():
        dirt = tmp_path / f"{name.strip('.')}.bin"
        dirt.write_bytes(b"\xa5" * size)
        extra += ["-device", f"loader,file={dirt},addr={phys:#x},force-raw=on"]
    q = booted(BootMode.PVH, extra_args=tuple(extra))
    mem = json.loads(q.command("mem --json", COMMAND_TIMEOUT_S).strip().splitlines()[-1])
    assert mem["heap"]["faults"] == 0 and mem["heap"]["used_bytes"] <= mem["heap"]["mapped_bytes"], mem
    assert mem["phys"]["used_kib"] + mem["phys"]["free_kib"] <= mem["phys"]["total_kib"], mem
    threads = q.command("threads", COMMAND_TIMEOUT_S)
    assert re.search(r"^\s+1 shell\s+running", threads, re.M), threads
