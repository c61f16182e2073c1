"""The boot tasks' declared dependencies, read the way the build reads them.

Each boot task names what it requires (`depends_on`, kernel/boot/boot_task.h).
cmake/gen_boot_graph.py reads those names from the first-stage kernel
(build/exo-kernel-stage1.elf) and writes build/boot_graph.bin, one
requirement bit mask per task. Here: the stage-1 ELF through that script's
own reader, else boot_graph.bin, whose masks are named through `boot --json`
(the table is sorted by task name: linker.ld's SORT(.boot_tasks.*)). The
final ELF is not read: it may stop carrying the name arrays.
"""
from __future__ import annotations

import dataclasses
import importlib.util
import struct
from pathlib import Path
from typing import Optional

from . import elf_layout
from .connection import ExoError

STAGE1_ELF = "exo-kernel-stage1.elf"
GRAPH_BIN = "boot_graph.bin"
PHASES = ("critical", "essential", "optional")   # BootPhase's order (gen_boot_graph.PHASES)
_GEN_SCRIPT = Path(__file__).resolve().parents[2] / "cmake" / "gen_boot_graph.py"


class GraphError(ExoError):
    """No readable boot graph, or one that is not the booted kernel's."""


@dataclasses.dataclass
class BootGraph:
    names: list          # table order
    requires: dict       # name -> [names it requires]
    phases: dict         # name -> phase name
    source: str = ""     # where it was read from

    def check_matches(self, boot: dict) -> None:
        """The graph must describe the kernel that produced `boot`."""
        booted = {str(t.get("name")) for t in boot.get("tasks", [])}
        if booted and booted != set(self.names):
            missing, extra = sorted(booted - set(self.names)), sorted(set(self.names) - booted)
            raise GraphError(f"{self.source} does not describe the booted kernel (tasks only in the kernel: "
                             f"{', '.join(missing) or '-'}; only in the graph: {', '.join(extra) or '-'}): "
                             "rebuild, or pass the kernel's --build-dir")


def _gen_boot_graph():
    """cmake/gen_boot_graph.py as a module (it is a script, not a package)."""
    if not _GEN_SCRIPT.is_file():
        raise GraphError(f"{_GEN_SCRIPT} is missing (a pip-installed client reads {GRAPH_BIN} only)")
    spec = importlib.util.spec_from_file_location("gen_boot_graph", _GEN_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def from_stage1_elf(path: Path) -> BootGraph:
    gen = _gen_boot_graph()
    layout = elf_layout.read(path)
    start, end = layout.symbol("__boot_tasks_start"), layout.symbol("__boot_tasks_end")
    if start is None or end is None:
        raise GraphError(f"{path} has no __boot_tasks_start/__boot_tasks_end symbols")
    try:  # the script reports a bad table with sys.exit(message)
        names, phases, _runs, requirements = gen.read_table(gen.Elf(str(path)), start[0], end[0])
    except SystemExit as e:
        raise GraphError(f"{path}: {e}") from None
    return BootGraph(names, dict(zip(names, requirements)),
                     {n: PHASES[p] for n, p in zip(names, phases)}, str(path))


def parse_graph_bin(data: bytes, boot: dict, source: str = GRAPH_BIN) -> BootGraph:
    """boot_graph.bin (u32 count, u32 run-address checksum, u32 mask per
    task) named by the sorted task names of `boot --json`."""
    if len(data) < 8:
        raise GraphError(f"{source}: {len(data)} bytes, too short for a boot graph")
    count, _checksum = struct.unpack_from("<II", data, 0)
    if len(data) != 8 + 4 * count:
        raise GraphError(f"{source}: {len(data)} bytes do not hold {count} task masks")
    tasks = {str(t.get("name")): str(t.get("phase", "?")) for t in boot.get("tasks", [])}
    if len(tasks) != count:
        raise GraphError(f"{source} describes {count} tasks, the booted kernel reports {len(tasks)}: rebuild, "
                         "or pass the kernel's --build-dir")
    names = sorted(tasks)
    masks = struct.unpack_from(f"<{count}I", data, 8)
    requires = {n: [names[d] for d in range(count) if m >> d & 1] for n, m in zip(names, masks)}
    return BootGraph(names, requires, {n: tasks[n] for n in names}, source)


def read(build_dir: Path, boot: dict) -> BootGraph:
    """The graph for the kernel in `build_dir` that produced `boot`."""
    build_dir = Path(build_dir)
    problems = []
    elf, blob = build_dir / STAGE1_ELF, build_dir / GRAPH_BIN
    graph: Optional[BootGraph] = None
    if elf.is_file():
        try:
            graph = from_stage1_elf(elf)
        except (GraphError, elf_layout.ElfError) as e:
            problems.append(str(e))
    else:
        problems.append(f"{elf} does not exist")
    if graph is None and blob.is_file():
        graph = parse_graph_bin(blob.read_bytes(), boot, str(blob))
    elif graph is None:
        problems.append(f"{blob} does not exist")
    if graph is None:
        raise GraphError("no boot dependency graph: " + "; ".join(problems)
                         + " (build the kernel: cmake --build build, or pass --build-dir)")
    graph.check_matches(boot)
    return graph
