"""cmake/gen_boot_graph.py: the build-time check of the boot task graph
(the kernel no longer checks the names itself, so this is the only check)."""
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("gen_boot_graph", ROOT / "cmake" / "gen_boot_graph.py")
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

CRITICAL, ESSENTIAL, OPTIONAL = 0, 1, 2


def test_requirements_become_bit_masks():
    names = ["frames", "paging", "heap", "pci"]
    phases = [CRITICAL, CRITICAL, CRITICAL, OPTIONAL]
    reqs = [[], ["frames"], ["paging", "frames"], ["heap"]]
    assert gen.resolve(names, phases, reqs) == [0, 0b1, 0b11, 0b100]


@pytest.mark.parametrize("names, phases, reqs, message", [
    (["a", "a"], [CRITICAL, CRITICAL], [[], []], "duplicate name"),
    (["a"], [CRITICAL], [["ghost"]], "which no task is called"),
    (["a"], [CRITICAL], [["a"]], "requires itself"),
    (["a", "b"], [CRITICAL, ESSENTIAL], [["b"], []], "a later phase"),
    (["a", "b", "c"], [CRITICAL] * 3, [["c"], ["a"], ["b"]], "dependency cycle among a, b, c"),
    ([f"t{i}" for i in range(33)], [CRITICAL] * 33, [[] for _ in range(33)], "masks hold 32"),
])
def test_a_bad_table_fails_the_build_naming_the_problem(names, phases, reqs, message):
    with pytest.raises(SystemExit) as exit_info:
        gen.resolve(names, phases, reqs)
    assert message in str(exit_info.value)
