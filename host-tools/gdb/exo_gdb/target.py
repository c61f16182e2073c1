"""Reading the stopped kernel through gdb: globals by their qualified names,
raw memory, registers, the TSC rate. The only module that knows how names
are spelled in the ELF; every command reads the kernel through here, never
through the shell (which may be dead or stopped)."""
from __future__ import annotations

import struct
from typing import List, Optional

import gdb

MASK64 = (1 << 64) - 1
DIRECT_MAP_BASE = 0xFFFF800000000000  # kernel/mm/memory_hw.h: every physical page seen here
KERNEL_SPACE = 0xFFFF800000000000     # lowest kernel address (higher half)
PAGE = 4096

# Globals the commands read (anonymous namespaces as gdb spells them).
ANON = "(anonymous namespace)"
G_SCHED = f"exo::threads::{ANON}::g_sched"
G_TSC_HZ = f"exo::timer::{ANON}::g_hz"
G_TSC_SOURCE = f"exo::timer::{ANON}::g_source"
G_TICKS = f"exo::timer::{ANON}::g_ticks"
G_TSC_ENTRY = f"exo::{ANON}::g_tsc_entry"
G_TSC_PROMPT = f"exo::boot_sequence::{ANON}::g_tsc_prompt"
G_RUNNER = f"exo::boot_sequence::{ANON}::g_runner"
G_LOG_RING = f"exo::{ANON}::g_ring"
G_FRAMES = f"exo::memory::{ANON}::g_allocator"
G_HEAP = f"exo::memory::{ANON}::g_heap"
G_KERNEL_PT = f"exo::memory::{ANON}::g_kernel_pt"
G_METADATA_BYTES = f"exo::memory::{ANON}::g_metadata_bytes"
G_TABLE_FRAMES = f"exo::memory::{ANON}::g_table_frames"
G_RELEASED_BYTES = f"exo::memory::{ANON}::g_released_bytes"
G_ENDPOINTS = f"exo::ipc::{ANON}::g_endpoints"


class NotReady(gdb.GdbError):
    """The kernel has not built this yet (too early in boot): said plainly."""


def _located(name: str) -> Optional[gdb.Symbol]:
    """The variable's symbol that has a location. LTO leaves copies of a
    static's symbol in other compilation units, some "optimized out";
    which one a plain lookup finds depends on where the CPU stopped."""
    many = getattr(gdb, "lookup_static_symbols", None)  # gdb >= 10
    candidates = list(many(name)) if many else [gdb.lookup_static_symbol(name)]
    candidates.append(gdb.lookup_global_symbol(name))
    for sym in candidates:
        if sym is not None and sym.addr_class != gdb.SYMBOL_LOC_OPTIMIZED_OUT:
            return sym
    return None


def symbol(name: str) -> gdb.Value:
    """The value of a global or file-static variable, by qualified name."""
    sym = _located(name)
    if sym is not None:
        return sym.value()
    try:
        return gdb.parse_and_eval(f"'{name}'")
    except gdb.error:
        raise gdb.GdbError(f"no symbol {name} in the loaded ELF: is it build/exo-kernel.elf?") from None


def address_of(name: str) -> int:
    """A symbol's address, linker-script symbols included (no debug info)."""
    try:
        return int(gdb.parse_and_eval(f"(unsigned long)&'{name}'")) & MASK64
    except gdb.error:
        raise gdb.GdbError(f"no symbol {name} in the loaded ELF: is it build/exo-kernel.elf?") from None


def u64(value: gdb.Value) -> int:
    return int(value) & MASK64


def ptr(value: gdb.Value) -> int:
    """A pointer's address as an int (0 for null)."""
    return int(value.cast(gdb.lookup_type("unsigned long"))) & MASK64


def deref(address: int, type_name: str) -> gdb.Value:
    """The object of type `type_name` at `address` (read lazily)."""
    t = gdb.lookup_type(type_name)
    return gdb.Value(address).cast(t.pointer()).dereference()


def read(address: int, length: int) -> bytes:
    """Raw bytes; gdb.MemoryError if any of them is unreadable."""
    if length <= 0:
        return b""
    return bytes(gdb.selected_inferior().read_memory(address, length))


def read_u64s(address: int, count: int) -> List[int]:
    return list(struct.unpack(f"<{count}Q", read(address, 8 * count)))


def cstring(address: int, max_len: int) -> Optional[str]:
    """A NUL-terminated string of at most max_len bytes; None for null, as
    the kernel's %s prints "(null)" for it."""
    if address == 0:
        return None
    out = bytearray()
    while len(out) < max_len:
        at = address + len(out)
        # Never past the page the string ends in: the next may be unmapped.
        chunk = read(at, min(64, max_len - len(out), PAGE - at % PAGE))
        end = chunk.find(b"\0")
        if end >= 0:
            out += chunk[:end]
            break
        out += chunk
    return out.decode("utf-8", errors="replace")


def char_array(value: gdb.Value) -> str:
    """A char[N] member: up to its first NUL or its size (a bounded %s)."""
    raw = bytes(int(value[i]) & 0xFF for i in range(value.type.range()[1] + 1))
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def register(name: str) -> Optional[int]:
    """A register of the selected frame, or None where the stub has none."""
    try:
        return int(gdb.selected_frame().read_register(name)) & MASK64
    except (ValueError, gdb.error):
        return None


def array(value: gdb.Value) -> List[gdb.Value]:
    """The elements of a fixed-size array value."""
    low, high = value.type.range()
    return [value[i] for i in range(low, high + 1)]


def tsc_hz() -> int:
    """The TSC rate the kernel uses; 0 until it has been measured (the
    kernel measures on first use, which gdb cannot trigger)."""
    return u64(symbol(G_TSC_HZ))


def tsc_note(hz: int) -> Optional[str]:
    if hz:
        return None
    return "(TSC rate not measured yet, so times show as 0: any shell command that shows a time measures it)"
