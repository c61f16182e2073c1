"""The gdb helpers' pure parts (host-tools/gdb/exo_gdb/), without gdb or a
kernel: the enum names still match the kernel's packed name strings, the
page-table walker agrees with kernel/mm/page_table.cc on hand-built tables,
the log-ring walk, and the TSC arithmetic."""
from __future__ import annotations

import re
import struct
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "host-tools" / "gdb"))

from exo_gdb import logring, names, pagewalk, tsc  # noqa: E402

# -------------------------------------------------------------------------
# names.py against the C++ source


def packed_names(path: str, function: str) -> tuple:
    """The names in `function`'s name_at("a\\0b\\0...") in a source file."""
    text = (REPO / path).read_text()
    body = re.search(rf"\b{function}\([^)]*\)\s*\{{(.*?)\n\}}", text, re.S)
    assert body, f"{function} not found in {path}"
    call = re.search(r"name_at\(((?:\s*\"(?:[^\"\\]|\\.)*\")+)", body.group(1))
    assert call, f"{function} in {path} no longer uses name_at(\"...\")"
    literal = "".join(re.findall(r"\"((?:[^\"\\]|\\.)*)\"", call.group(1)))
    return tuple(n for n in literal.split("\\0") if n)


@pytest.mark.parametrize("ours, path, function", [
    (names.THREAD_STATES, "kernel/sched/thread.h", "thread_state_name"),
    (names.ERRORS, "kernel/lib/result.h", "error_name"),
    (names.BOOT_PHASES, "kernel/boot/boot_task.h", "boot_phase_name"),
    (names.TASK_STATUSES, "kernel/boot/boot_task.h", "task_status_name"),
    (names.LOG_LEVELS, "kernel/debug/log_ring.h", "log_level_name"),
    (names.TSC_SOURCES, "kernel/drivers/pit8254/timer_hw.cc", "tsc_source_name"),
    (names.WALK_STOPS, "kernel/mm/page_table.h", "walk_stop_name"),
    (names.WALK_LEVELS, "kernel/mm/page_table.h", "walk_level_name"),
])
def test_names_match_the_kernel(ours, path, function):
    assert ours == packed_names(path, function)


@pytest.mark.parametrize("ours, path, enum", [
    (names.TASK_STATUS, "kernel/boot/boot_task.h", "TaskStatus"),
    (names.THREAD_STATE, "kernel/sched/thread.h", "ThreadState"),
    (names.ERROR, "kernel/lib/result.h", "Error"),
])
def test_enumerator_order_matches_the_kernel(ours, path, enum):
    body = re.search(rf"enum class {enum} : \w+ \{{(.*?)\}};", (REPO / path).read_text(), re.S).group(1)
    enumerators = re.findall(r"^\s*(\w+)(?:\s*=\s*\d+)?,", body, re.M)
    assert list(ours) == enumerators


def test_name_at_past_the_end_is_a_question_mark():
    assert names.name_at(names.LOG_LEVELS, 3) == "debug"
    assert names.name_at(names.LOG_LEVELS, 4) == "?"


# -------------------------------------------------------------------------
# Page tables: a PML4 at 0x1000 with the high half's last slot and slot 0.

P, W, U, PS, NX = 1, 2, 4, 1 << 7, 1 << 63
G = 1 << 8


def tables(nx: bool = True) -> pagewalk.PageTables:
    mem = {phys: [0] * 512 for phys in (0x1000, 0x2000, 0x3000, 0x4000, 0x5000)}
    mem[0x1000][511] = 0x2000 | P | W               # PML4[511] -> PDPT
    mem[0x2000][510] = 0x3000 | P | W               # PDPT[510] -> PD (0xffffffff80000000)
    mem[0x3000][0] = 0x4000 | P | W                 # PD[0] -> PT
    for i in range(3):                              # three text pages R-X-G, contiguous
        mem[0x4000][7 + i] = (0x107000 + i * 0x1000) | P | G
    mem[0x4000][10] = 0x10A000 | P | W | G | NX     # then data, RW--G
    mem[0x4000][11] = 0x200000 | P | W | G          # W+X, and not contiguous in phys
    mem[0x3000][1] = 0x400000 | P | W | PS | NX     # a 2 MiB page
    mem[0x1000][0] = 0x5000 | P | W | U             # low half: user
    mem[0x5000][0] = 0x9000 | P                     # PDPT[0] -> a table nobody can read
    return pagewalk.PageTables(0x1000 | 0x18, mem.get, nx)  # low CR3 bits (PWT/PCD) ignored


def test_ranges_coalesce_like_the_kernel():
    r = tables().ranges()
    assert [(hex(x.virt), hex(x.phys), x.page_size, x.count, pagewalk.flags_text(x.flags)) for x in r] == [
        ("0xffffffff80007000", "0x107000", 0, 3, "R-X-G"),
        ("0xffffffff8000a000", "0x10a000", 0, 1, "RW--G"),
        ("0xffffffff8000b000", "0x200000", 0, 1, "RWX-G"),
        ("0xffffffff80200000", "0x400000", 1, 1, "RW---"),
    ]
    assert r.corrupt, "the unreadable table in the low half must be reported"
    assert [(hex(x.virt), x.bytes) for x in r.wx()] == [("0xffffffff8000b000", 4096)]


def test_without_nx_every_page_is_executable():
    flags = [pagewalk.flags_text(x.flags) for x in tables(nx=False).ranges()]
    assert flags == ["R-X-G", "RWX-G", "RWX-G", "RWX--"]


def test_walk_reports_each_level():
    w = tables().walk(0xFFFFFFFF80008123)
    assert w.stop == "leaf" and w.phys == 0x108123 and pagewalk.flags_text(w.flags) == "R-X-G"
    assert [(lv.index, hex(lv.entry_phys)) for lv in w.levels] == [
        (511, "0x1ff8"), (510, "0x2ff0"), (0, "0x3000"), (8, "0x4040")]
    assert pagewalk.flags_text(w.levels[0].flags) == "RWX--"

    large = tables().walk(0xFFFFFFFF80212345)
    assert large.stop == "large" and large.phys == 0x412345 and large.page_size == pagewalk.SIZE_2M

    assert tables().walk(0xFFFFFFFF90000000).stop == "not-present"
    assert tables().walk(0x0000800000000000).stop == "non-canonical"
    assert tables().walk(0x1234).stop == "unreadable"


def test_flag_names_beyond_rwxug():
    flags = pagewalk.WRITABLE | pagewalk.ACCESSED | pagewalk.DIRTY | pagewalk.CACHE_DISABLE
    assert pagewalk.flags_text(flags) == "RW---" and pagewalk.flag_names(flags) == ["CD", "A", "D"]


# -------------------------------------------------------------------------
# The log ring and the TSC


def record(timestamp: int, level: int, text: bytes, flags: int = 0) -> bytes:
    return struct.pack("<QIBBH", timestamp, len(text), level, flags, 0) + text


def test_log_ring_walk_skips_padding_and_wraps():
    # capacity 64: the oldest record at 32, padding from 52, then one at 0.
    buf = bytearray(64)
    buf[0:20] = record(30, 0, b"new!")
    buf[32:52] = record(10, 2, b"old1")
    # 12 bytes left before the end: fewer than a header, so implicit padding.
    assert list(logring.records(bytes(buf), 32, 2)) == [(10, 2, b"old1"), (30, 0, b"new!")]
    buf2 = bytearray(64)
    buf2[0:19] = record(30, 1, b"abc")
    buf2[20:40] = record(10, 3, b"xyzw")
    buf2[40:56] = record(0, 0, b"", flags=logring.FLAG_PAD)  # an explicit pad header
    assert list(logring.records(bytes(buf2), 20, 2)) == [(10, 3, b"xyzw"), (30, 1, b"abc")]


def test_tsc_math_floors_and_saturates():
    assert tsc.ticks_to_us(2_999, 1_000_000_000) == 2
    assert tsc.ticks_to_ns(5, 0) == 0
    assert tsc.mul_div_floor(2**63, 4, 1) == 2**64 - 1
    assert tsc.ticks_to_us(-1, 1) == 2**64 - 1  # a negative difference wraps like uint64


def test_boot_table_frames_matches_the_kernel():
    """exo-mem subtracts the kernel's own page tables from its image, as
    memory::footprint() does with kBootTableFrames."""
    kernel = re.search(r"kBootTableFrames = (\d+);", (REPO / "kernel/mm/memory_hw.cc").read_text())
    ours = re.search(r"^BOOT_TABLE_FRAMES = (\d+)", (REPO / "host-tools/gdb/exo_gdb/cmd_mem.py").read_text(), re.M)
    assert kernel and ours and kernel.group(1) == ours.group(1)
