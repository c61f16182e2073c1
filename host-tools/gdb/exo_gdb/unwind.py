"""Backtraces of threads that are off the CPU, from what context_switch saved
(RSP, then RBP and the return address on the stack), following the frame
pointers (the kernel is built with -fno-omit-frame-pointer), and the frames
named with the ELF's debug info. Works the same over QEMU's stub, which
knows nothing of kernel threads."""
from __future__ import annotations

import dataclasses
from typing import Iterator, List, Optional, Tuple

import gdb

from . import target

MAX_FRAMES = 32


@dataclasses.dataclass
class Frame:
    pc: int
    is_return: bool       # a return address: its call is the byte before
    note: str = ""        # instead of a function: an interrupt's entry


TRAP_FRAME_WORDS = 22     # kernel/arch/x86_64/trap_frame.h, in stack order:
TF_RBP, TF_VECTOR, TF_RIP, TF_CS, TF_RFLAGS = 8, 15, 17, 18, 19
RFLAGS_RESERVED = 1 << 1  # always 1 in a real RFLAGS image


def _trap_frame(rbp: int, caller_rbp: int) -> Optional[List[int]]:
    """The TrapFrame below a frame that returns into trap_common. It
    called trap_dispatch with rsp rounded down to 16 bytes, so the frame is
    at the return slot + 8 or + 16; the one whose saved rbp is the caller's
    rbp (trap_common pushes rbp unchanged) and whose RFLAGS looks real wins."""
    for at in (rbp + 16, rbp + 24):
        try:
            tf = target.read_u64s(at, TRAP_FRAME_WORDS)
        except gdb.MemoryError:
            continue
        if tf[TF_RBP] == caller_rbp and tf[TF_VECTOR] < 256 and tf[TF_RFLAGS] & RFLAGS_RESERVED:
            return tf
    return None


def _address(name: str) -> Optional[int]:
    try:
        return target.address_of(name)
    except gdb.error:
        return None


def frame_pointer_chain(pc: int, rbp: int, stack_lo: int, stack_hi: int,
                        first_is_return: bool = True) -> List[Frame]:
    """pc, then each caller found through [rbp] = caller's rbp, [rbp+8] =
    return address, and through an interrupt's TrapFrame to the code it
    interrupted. Stops at the top of the stack (thread_trampoline zeroes
    rbp), when rbp leaves [stack_lo, stack_hi) or stops growing upwards, or
    when a return address is not kernel code."""
    # trap_common's call of trap_dispatch returns just before trap_return.
    trap_common, trap_return = _address("trap_common"), _address("trap_return")
    frames = [Frame(pc, first_is_return)]
    while len(frames) < MAX_FRAMES and rbp % 8 == 0 and stack_lo <= rbp and rbp + 16 <= stack_hi:
        try:
            caller_rbp, ret = target.read_u64s(rbp, 2)
        except gdb.MemoryError:
            break
        if trap_common is not None and trap_return is not None and trap_common < ret <= trap_return:
            tf = _trap_frame(rbp, caller_rbp)
            if tf is None:
                break
            frames.append(Frame(ret, True, f"<interrupt: vector {tf[TF_VECTOR]}>"))
            if tf[TF_CS] & 3:
                frames.append(Frame(tf[TF_RIP], False, "<user mode (ring 3)>"))
                break
            frames.append(Frame(tf[TF_RIP], False))
            rbp = tf[TF_RBP]
            continue
        if ret < target.KERNEL_SPACE:
            break
        frames.append(Frame(ret, True))
        if caller_rbp <= rbp:
            break
        rbp = caller_rbp
    return frames


def _short(name: str) -> str:
    """A C++ function's name without its parameter list, as bt prints it."""
    if not name.endswith(")"):
        return name
    depth = 0
    for i in range(len(name) - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(name[i], 0)
        if depth == 0:
            return name[:i]
    return name


def functions_at(pc: int) -> List[str]:
    """The functions containing pc, innermost (maybe inlined) first."""
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        block = None
    out: List[str] = []
    while block is not None:
        if block.function is not None:
            out.append(_short(block.function.print_name))
        block = block.superblock
    return out


def _elf_symbol(pc: int) -> str:
    """The ELF symbol holding pc, for code without debug info (assembly)."""
    try:
        text = gdb.execute(f"info symbol {pc:#x}", to_string=True)  # "NAME + OFF in section .text"
    except gdb.error:
        return "??"
    return text.split(" in section")[0].split(" + ")[0].strip() if " in section" in text else "??"


def describe(frame: Frame) -> Tuple[List[str], Optional[str]]:
    """The functions at one frame, innermost (maybe inlined) first, and its
    "file:line" (None without line info)."""
    lookup = frame.pc - 1 if frame.is_return else frame.pc
    funcs = functions_at(lookup)
    if not funcs:
        funcs = [_elf_symbol(lookup)]
    sal = gdb.find_pc_line(lookup)
    where = f"{sal.symtab.filename}:{sal.line}" if sal.symtab is not None and sal.line else None
    return funcs, where


def format_frames(frames: List[Frame]) -> Iterator[str]:
    """Numbered like gdb's bt: a function inlined at a call site is a frame
    of its own; its caller's line is not in gdb's Python API, so only the
    innermost function of each address gets one."""
    n = 0
    for f in frames:
        if f.note:
            yield f"#{n:<2} 0x{f.pc:016x} {f.note}"
            n += 1
            continue
        funcs, where = describe(f)
        yield f"#{n:<2} 0x{f.pc:016x} in {funcs[0]} ()" + (f" at {where}" if where else "")
        n += 1
        for caller in funcs[1:]:
            yield f"#{n:<2} {caller} () (inlined)"
            n += 1


def gdb_frames(thread: gdb.InferiorThread) -> List[str]:
    """gdb's own backtrace of the thread on the CPU (its unwinder has the
    registers and the CFI, which a frame-pointer walk cannot match)."""
    old = gdb.selected_thread()
    lines: List[str] = []
    try:
        thread.switch()
        frame = gdb.newest_frame()
        previous_pc = None
        while frame is not None and len(lines) < MAX_FRAMES:
            name = _short(frame.name() or "??")
            sal = frame.find_sal()
            where = f" at {sal.symtab.filename}:{sal.line}" if sal.symtab is not None and sal.line else ""
            # As bt: the address once per pc, and on frame 0 only mid-line.
            shown = frame.name() is None or (frame.pc() != previous_pc if lines else sal.pc != frame.pc())
            address = f"0x{frame.pc():016x} in " if shown else ""
            lines.append(f"#{len(lines):<2} {address}{name} (){where}")
            previous_pc = frame.pc()
            try:
                frame = frame.older()
            except gdb.error:
                break
    finally:
        if old is not None and old.is_valid():
            old.switch()
    return lines
