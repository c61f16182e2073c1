"""`exo boot blame`, `exo boot chain`, `exo boot-stats` and the boot Gantt's
spans and chain arrows: pure tests over the recordings in
tests/fixtures/plots/, then each command once against a booted kernel."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plot_fixtures import EXIT_USAGE, FIXTURES, HOST_TOOLS, PYTHON, REPO_DIR, fixture, run_exo  # noqa: F401,E402

from exo_client import boot_analysis as ba  # noqa: E402
from exo_client import boot_graph, boot_stats, plots  # noqa: E402
import figure_checks as fc  # noqa: E402



@pytest.fixture(scope="module")
def boot():
    return fixture("boot.json")


@pytest.fixture(scope="module")
def boot_deferred():
    return fixture("boot_deferred.json")


@pytest.fixture(scope="module")
def requires():
    return fixture("boot_graph.json")["requires"]



def _require_build(build_dir: Path, *names: str) -> None:
    for name in names:
        if not (build_dir / name).is_file():
            pytest.fail(f"{build_dir / name} is missing: build first (cmake --build build)", pytrace=False)


# --------------------------------------------------------------------------
# Blame: tasks and spans, nothing unattributed

def test_blame_accounts_for_the_whole_boot(boot):
    a = ba.accounting(boot)
    assert a.total_us == pytest.approx(boot["total_ns"] / 1000)
    assert a.before_us + a.tasks_us + a.between_us + a.after_us == pytest.approx(a.total_us, abs=0.01)
    first = min(t["start_us"] for t in boot["tasks"] if t["status"] == "ok")
    assert a.before_us == pytest.approx(first, abs=1.0)
    rows = ba.blame(boot)
    durations = [r.duration_us for r in rows]
    assert durations == sorted(durations, reverse=True)
    names = {r.name for r in rows}
    assert {ba.BEFORE, ba.AFTER, ba.BETWEEN} <= names
    assert {t["name"] for t in boot["tasks"] if t["status"] == "ok"} <= names
    text = ba.blame_text(boot)
    assert f"({ba.BEFORE})" in text and f"({ba.AFTER})" in text
    assert "not run: acpi (pending)" in text


def test_blame_lists_deferred_inits_apart(boot_deferred):
    rows = ba.blame(boot_deferred)
    deferred = {r.name for r in rows if r.kind == "deferred"}
    assert deferred == {t["name"] for t in boot_deferred["tasks"] if t["deferred"]} and deferred
    # deferred inits run after the prompt: they are not part of its total
    a = ba.accounting(boot_deferred)
    assert a.before_us + a.tasks_us + a.between_us + a.after_us == pytest.approx(a.total_us, abs=0.01)
    assert "deferred inits (after the prompt, not in that total)" in ba.blame_text(boot_deferred)
    assert {r.name for r in ba.blame(boot_deferred, include_deferred=False)}.isdisjoint(deferred)
    obj = ba.blame_json(boot_deferred)
    assert obj["not_run"] == [] and obj["items"][0]["duration_us"] >= obj["items"][-1]["duration_us"]


# --------------------------------------------------------------------------
# Critical chain through the declared dependencies

def test_chain_to_the_prompt_follows_the_latest_requirement(boot, requires):
    chain = ba.critical_chain(boot, requires)
    items = [link.item for link in chain]
    assert items[0].name == ba.PROMPT and items[1].name == ba.AFTER and items[-1].name == ba.BEFORE
    ran = {t.name: t for t in ba.tasks(boot)}
    last = max((t for t in ran.values() if t.kind == "task"), key=lambda t: t.end_us)
    assert items[2].name == last.name
    for task, dep in zip(items[2:-2], items[3:-1]):
        assert dep.name in requires[task.name]
        assert dep.end_us == max(ran[d].end_us for d in requires[task.name] if d in ran)
    assert requires[items[-2].name] == [] or not any(d in ran for d in requires[items[-2].name])
    names = ba.chain_names(chain)
    assert names[-1] == last.name and ba.PROMPT not in names and ba.BEFORE not in names
    text = ba.chain_text(chain)
    assert text.splitlines()[3].startswith("shell prompt @") and "└─(after the last task) @" in text


def test_chain_to_a_named_task_and_the_errors(boot, boot_deferred, requires):
    chain = ba.critical_chain(boot_deferred, requires, "vga")
    assert [link.item.name for link in chain] == ["vga", "pci"]
    assert ba.chain_json(chain)[0]["name"] == "vga"
    with pytest.raises(KeyError, match="has not run: run `init deferred` first"):
        ba.critical_chain(boot, requires, "vga")
    with pytest.raises(KeyError, match="no boot task is called 'nosuch'"):
        ba.critical_chain(boot, requires, "nosuch")


def test_graph_bin_names_its_masks_like_the_stage1_elf(boot):
    graph = boot_graph.parse_graph_bin((FIXTURES / "boot_graph.bin").read_bytes(), boot)
    expected = fixture("boot_graph.json")
    assert graph.names == sorted(expected["names"])
    assert {n: set(r) for n, r in graph.requires.items()} == {n: set(r) for n, r in expected["requires"].items()}
    assert graph.phases == expected["phases"]


def test_graph_problems_say_what_to_do(boot, tmp_path):
    with pytest.raises(boot_graph.GraphError, match="exo-kernel-stage1.elf does not exist.*boot_graph.bin does "
                                                    "not exist.*build the kernel"):
        boot_graph.read(tmp_path, boot)
    shutil.copy(FIXTURES / "boot_graph.bin", tmp_path / "boot_graph.bin")
    fewer = dict(boot, tasks=boot["tasks"][1:])
    with pytest.raises(boot_graph.GraphError, match="describes 20 tasks, the booted kernel reports 19"):
        boot_graph.read(tmp_path, fewer)
    g = boot_graph.read(tmp_path, boot)   # no stage-1 ELF: the blob, named by boot --json
    assert g.source.endswith("boot_graph.bin")
    renamed = boot_graph.BootGraph(g.names[:-1] + ["ghost"], g.requires, g.phases, "graph")
    with pytest.raises(boot_graph.GraphError, match="does not describe the booted kernel.*ghost"):
        renamed.check_matches(boot)


# --------------------------------------------------------------------------
# The Gantt: spans as rows, the chain as arrows, nothing clipped

@pytest.mark.parametrize("name", ["boot.json", "boot_deferred.json"])
def test_gantt_shows_spans_and_chain_inside_the_figure(name, requires):
    boot = fixture(name)
    chain = ba.chain_names(ba.critical_chain(boot, requires))
    fig = plots.boot_figure(boot, source="QEMU (pvh boot of exo-kernel, pid 12345) " + "x" * 80, chain=chain)
    assert fc.texts_outside(fig) == []
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[0] == f"({ba.BEFORE})" and f"({ba.AFTER})" in rows
    # one arrow per link, plus the two from and to the spans
    assert len(fc.arrows(fig)) == len(chain) + 1
    assert all(fc.has_unit(a.get_xlabel()) for a in fig.axes)
    text = fc.all_text(fig)
    assert "critical chain (declared dependencies)" in text and "Exo-OS boot:" in text
    if name == "boot.json":
        assert "not run yet: acpi (optional)" in text
    else:
        assert fig.axes[1].get_xlabel() == "time (ms, same clock)"


# --------------------------------------------------------------------------
# boot-stats over five recorded boots

def test_boot_stats_summary_and_table():
    runs = boot_stats.load_runs(fixture("runs.json"))
    assert len(runs) == 5
    stats = boot_stats.summarize(runs)
    assert [s.name for s in stats[:2]] == [boot_stats.HOST, boot_stats.TOTAL]
    by_name = {s.name: s for s in stats}
    assert {"paging", "(before the first task)", "(after the last task)"} <= by_name.keys()
    for s in stats:
        assert s.n == 5
        assert s.lo <= s.pct(10) <= s.median <= s.pct(90) <= s.hi
    totals = [ba.accounting(r.boot).total_us for r in runs]
    assert by_name[boot_stats.TOTAL].median == pytest.approx(sorted(totals)[2])
    table = boot_stats.table_text(stats, len(runs))
    assert table.splitlines()[1].split()[:3] == ["task", "phase", "n"] and "p10" in table and "max" in table
    assert len(table.splitlines()) == 2 + len(stats)
    assert boot_stats.stats_json(stats)[1]["values_us"] == [round(v, 3) for v in totals]


def test_percentile_interpolates():
    assert boot_stats.percentile([1, 2, 3, 4, 5], 50) == 3
    assert boot_stats.percentile([10, 20], 10) == pytest.approx(11)
    assert boot_stats.percentile([7], 90) == 7
    with pytest.raises(ValueError):
        boot_stats.percentile([], 50)
    with pytest.raises(ValueError, match="not saved boot runs"):
        boot_stats.load_runs({"runs": []})


def test_boot_stats_figure():
    runs = boot_stats.load_runs(fixture("runs.json"))
    stats = boot_stats.summarize(runs)
    fig = boot_stats.stats_figure(stats, len(runs), source="5 boots of build/exo-kernel (PVH)")
    assert fc.texts_outside(fig) == []
    ax = fig.axes[0]
    assert ax.get_xlabel() == "duration (ms, log scale)"
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.name for s in stats]
    assert "Exo-OS boot over 5 boots" in fig._suptitle.get_text()
    assert len(fc.annotations(fig)) == len(stats)   # median and range at the end of each row


# --------------------------------------------------------------------------
# Against the build and a booted kernel

def test_stage1_elf_and_graph_bin_agree(build_dir):
    _require_build(build_dir, boot_graph.STAGE1_ELF, boot_graph.GRAPH_BIN)
    g = boot_graph.from_stage1_elf(build_dir / boot_graph.STAGE1_ELF)
    fake_boot = {"tasks": [{"name": n, "phase": g.phases[n]} for n in g.names]}
    b = boot_graph.parse_graph_bin((build_dir / boot_graph.GRAPH_BIN).read_bytes(), fake_boot)
    assert g.names == b.names   # linker.ld sorts the table by name, as the blob's reader assumes
    assert {n: set(r) for n, r in g.requires.items()} == {n: set(r) for n, r in b.requires.items()}


def test_exo_boot_blame(build_dir):
    _require_build(build_dir, "exo-kernel")
    p = run_exo("boot", "blame", "--deferred", "--json", build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    obj = json.loads(p.stdout)
    kinds = {i["name"]: i["kind"] for i in obj["items"]}
    assert kinds[ba.BEFORE] == "span" and kinds["pci"] == "deferred" and kinds["paging"] == "task"
    a = obj["accounting"]
    assert a["before_us"] + a["tasks_us"] + a["between_us"] + a["after_us"] == pytest.approx(a["total_us"], abs=0.01)
    p = run_exo("boot", "blame", build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].split() == ["time", "task", "phase", "start", "status"]
    assert "first instruction to the shell prompt:" in p.stdout and "not run: acpi (pending)" in p.stdout


def test_exo_boot_chain(build_dir, tmp_path):
    _require_build(build_dir, "exo-kernel", boot_graph.STAGE1_ELF)
    p = run_exo("boot", "chain", "--deferred", "-o", str(tmp_path / "gantt.svg"), build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines.pop() == str(tmp_path / "gantt.svg")
    assert lines[3].startswith("shell prompt @") and lines[4].startswith("└─(after the last task) @")
    assert lines[-1].strip().startswith("└─(before the first task) @0 +")
    assert "critical chain (declared dependencies)" in (tmp_path / "gantt.svg").read_text()
    p = run_exo("boot", "chain", "vga", "--json", "--from-json", str(FIXTURES / "boot_deferred.json"),
                build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    assert [link["name"] for link in json.loads(p.stdout)["chain"]] == ["vga", "pci"]
    # no graph at all: a clear message, no traceback
    p = run_exo("boot", "chain", "--from-json", str(FIXTURES / "boot.json"), "--build-dir", str(tmp_path),
                build_dir=build_dir)
    assert p.returncode == 1 and "no boot dependency graph" in p.stderr and "Traceback" not in p.stderr


def test_exo_boot_stats(build_dir, tmp_path):
    _require_build(build_dir, "exo-kernel")
    p = run_exo("boot-stats", "--runs", "2", "-o", str(tmp_path / "stats.svg"), "--save", str(tmp_path / "runs.json"),
                build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1].startswith("2 boots;")
    assert "boot 2/2:" in p.stderr
    assert len(boot_stats.load_runs(json.loads((tmp_path / "runs.json").read_text()))) == 2
    svg = (tmp_path / "stats.svg").read_text()
    assert "duration (ms, log scale)" in svg and "paging" in svg
    p = run_exo("boot-stats", "--from-json", str(FIXTURES / "runs.json"), "--json", build_dir=build_dir)
    assert p.returncode == 0 and json.loads(p.stdout)["runs"] == 5
    p = run_exo("boot-stats", "--connect", "tcp:127.0.0.1:9", build_dir=build_dir)
    assert p.returncode == EXIT_USAGE and "cannot use --connect" in p.stderr
    p = run_exo("boot-stats", "--runs", "0", build_dir=build_dir)
    assert p.returncode == EXIT_USAGE and "--runs must be 1.." in p.stderr
