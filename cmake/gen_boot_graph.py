#!/usr/bin/env python3
"""Check the boot task graph at build time and resolve it for the kernel.

Reads the .boot_tasks array (kernel/boot/boot_task.h: name, phase,
depends_on, run; 32 bytes each) and the requirement lists (.boot_needs,
in the ELF but never loaded: linker.ld) from the first-stage kernel, applies the
checks of BootRunner::validate() (names, phases, duplicates, unknown
requirements, phase inversions, cycles) and fails the build on the first
problem. Otherwise it writes the blob the final link embeds (.boot_graph,
kernel/boot/boot_sequence_hw.cc reads it), u32 words: the task count, the
sum of the run addresses' low 32 bits (so a blob that does not describe the
linked table is ignored), then per task its requirement set as a bit mask
(bit d: requires task d). The kernel then skips resolving names at boot
(under TCG the name checks cost about 0.3 ms of translation and block
executions). More than 32 tasks (the kernel's mask width) fails the build.
The kernel does not check the names again (BootRunner::validate is not
linked into it): a blob that does not describe its table is a build bug,
and the kernel panics saying so.

    gen_boot_graph.py NM STAGE1_ELF OUT_BIN
"""
import struct
import subprocess
import sys

TASK_BYTES = 32
MAX_TASKS = 32  # the kernel's requirement masks are 32 bits (BootRunner::adopt)
PHASES = ("critical", "essential", "optional")


def fail(msg: str) -> None:
    sys.exit(f"gen_boot_graph: boot task table invalid: {msg}")


class Elf:
    def __init__(self, path: str):
        self.data = open(path, "rb").read()
        d = self.data
        if d[:4] != b"\x7fELF" or d[4] != 2:
            fail(f"{path} is not an ELF64 file")
        shoff, = struct.unpack_from("<Q", d, 0x28)
        shentsize, shnum = struct.unpack_from("<HH", d, 0x3A)
        self.sections = []
        for i in range(shnum):
            (_name, sh_type, _flags, addr, offset, size) = struct.unpack_from(
                "<IIQQQQ", d, shoff + i * shentsize)
            if sh_type != 8 and addr and size:  # SHT_NOBITS has no file bytes
                self.sections.append((addr, offset, size))

    def read(self, addr: int, n: int) -> bytes:
        for base, offset, size in self.sections:
            if base <= addr and addr + n <= base + size:
                return self.data[offset + addr - base: offset + addr - base + n]
        fail(f"address {addr:#x} is not in a loaded section")

    def u64(self, addr: int) -> int:
        return struct.unpack("<Q", self.read(addr, 8))[0]

    def cstr(self, addr: int) -> str:
        out = bytearray()
        while True:
            b = self.read(addr + len(out), 1)
            if b == b"\0":
                return out.decode()
            out += b


def resolve(names: list[str], phases: list[int], requirements: list[list[str]]) -> list[int]:
    """The checks of BootRunner::validate() on the table's names, phases and
    requirements; fails (SystemExit) on the first problem, else returns each
    task's requirement mask (bit d: requires task d)."""
    if len(names) > MAX_TASKS:
        fail(f"{len(names)} tasks: the kernel's requirement masks hold {MAX_TASKS} (widen them in "
             "BootRunner::adopt and here)")
    for i, name in enumerate(names):
        if name in names[:i]:
            fail(f"task '{name}': duplicate name")
    count = len(names)
    needs = []
    for i, reqs in enumerate(requirements):
        mask = 0
        for req in reqs:
            if req not in names:
                fail(f"task '{names[i]}' requires '{req}', which no task is called")
            d = names.index(req)
            if d == i:
                fail(f"task '{names[i]}': dependency cycle (requires itself)")
            if phases[d] > phases[i]:
                fail(f"task '{names[i]}' ({PHASES[phases[i]]}) requires '{req}' ({PHASES[phases[d]]}), a later phase")
            mask |= 1 << d
        needs.append(mask)

    ordered = 0
    progress = True
    while progress:
        progress = False
        for i in range(count):
            if not ordered >> i & 1 and needs[i] & ~ordered == 0:
                ordered |= 1 << i
                progress = True
    stuck = [names[i] for i in range(count) if not ordered >> i & 1]
    if stuck:
        fail(f"dependency cycle among {', '.join(stuck)}")
    return needs


def read_task(elf: Elf, addr: int) -> tuple[int, int, int, int]:
    """One BootTask (kernel/boot/boot_task.h): name pointer, phase,
    requirement-list pointer, run function."""
    return struct.unpack("<QB7xQQ", elf.read(addr, TASK_BYTES))


def read_table(elf: Elf, start: int, end: int) -> tuple[list[str], list[int], list[int], list[list[str]]]:
    """The BootTask array between `start` and `end` (the __boot_tasks_start
    and __boot_tasks_end symbols): names, phases, run addresses and each
    task's requirement names, in table order. The host client
    (host-tools/exo_client/boot_graph.py) reads the graph through this too."""
    if (end - start) % TASK_BYTES:
        fail(f".boot_tasks is {end - start} bytes, not a multiple of {TASK_BYTES}")
    names, phases, runs, requirements = [], [], [], []
    for i in range((end - start) // TASK_BYTES):
        name_ptr, phase, deps_ptr, run = read_task(elf, start + i * TASK_BYTES)
        name = elf.cstr(name_ptr) if name_ptr else ""
        if not name or not run:
            fail(f"task {i} ('{name}'): missing name or function")
        if phase >= len(PHASES):
            fail(f"task '{name}': bad phase {phase}")
        reqs = []
        if deps_ptr:
            while (p := elf.u64(deps_ptr + 8 * len(reqs))) != 0:
                reqs.append(elf.cstr(p))
                if len(reqs) > MAX_TASKS:
                    fail(f"task '{name}': requirement list has no terminator")
        names.append(name)
        phases.append(phase)
        runs.append(run)
        requirements.append(reqs)
    return names, phases, runs, requirements


def main() -> None:
    nm, elf_path, out_path = sys.argv[1:4]
    symbols = {}
    for line in subprocess.run([nm, elf_path], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2]] = int(parts[0], 16)
    start, end = symbols["__boot_tasks_start"], symbols["__boot_tasks_end"]
    elf = Elf(elf_path)
    names, phases, runs, requirements = read_table(elf, start, end)
    needs = resolve(names, phases, requirements)
    blob = struct.pack("<II", len(names), sum(runs) & 0xFFFFFFFF)
    blob += b"".join(struct.pack("<I", mask) for mask in needs)
    with open(out_path, "wb") as f:
        f.write(blob)


if __name__ == "__main__":
    main()
