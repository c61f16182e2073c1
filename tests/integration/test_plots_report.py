"""Issue 15 item 10: the memory plot's `--at` events and frames against the
total, the page map's named regions, the report's kernel version and its
threads / IPC / PCI / bench / gdb tables. Pure tests over the recordings in
tests/fixtures/plots/, then `plot mem --at`, `plot pages` and `report`
once each against a booted kernel."""
from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import pytest

from plot_fixtures import EXIT_USAGE, FIXTURES, HOST_TOOLS, PYTHON, REPO_DIR, fixture, run_exo  # noqa: F401,E402

from exo_client import elf_layout, kernel_map, mem_events, plots, report_tables  # noqa: E402
from exo_client.trace import Recording, kernel_version  # noqa: E402
import figure_checks as fc  # noqa: E402




def _require_build(build_dir: Path) -> None:
    for name in ("exo-kernel", "exo-kernel.elf"):
        if not (build_dir / name).is_file():
            pytest.fail(f"{build_dir / name} is missing: build first (cmake --build build)", pytrace=False)


# --------------------------------------------------------------------------
# --at T:CMD

def test_at_option_parsing():
    assert mem_events.parse_at("2:user sampler") == (2.0, "user sampler")
    assert mem_events.parse_at("0.5:  bench  ") == (0.5, "bench")
    for bad, why in (("user sampler", "expected TIME:COMMAND"), ("2:", "expected TIME:COMMAND"),
                     ("x:bench", "not a time"), ("-1:bench", ">= 0"), ("1:watch mem 100", "cannot run inside"),
                     ("1:poweroff", "cannot run inside")):
        with pytest.raises(ValueError, match=why):
            mem_events.parse_at(bad)
    events = mem_events.schedule([(4.0, "bench"), (2.0, "user sampler")], deferred_at=3.0)
    assert events == [(2.0, "user sampler"), (3.0, "init deferred"), (4.0, "bench")]
    assert mem_events.check_inside(events, 5.0) is None
    assert mem_events.check_inside(events, 4.0) == "--at 4:bench: not inside --duration 4"
    assert mem_events.check_inside(events, None) is None


def test_event_output_summaries():
    init = "init acpi       ok       58.0 us, 0 frames\ninit pci        ok       6269.7 us, 0 frames"
    assert mem_events.summarize("init deferred", init) == "acpi ok 58.0 us, 0 frames; pci ok 6269.7 us, 0 frames"
    bench = "\n".join(f"line {i}" for i in range(6))
    assert mem_events.summarize("bench", bench) == "line 0; line 1; line 2; (+3 more lines)"
    assert mem_events.summarize("user bogus", "usage\nerror: no program 'bogus'") == "error: no program 'bogus'"
    assert mem_events.summarize("x 0 1", "") == "(no output)"
    assert len(mem_events.summarize("cmd", "y" * 200)) == mem_events.DETAIL_CHARS


def test_mark_levels_stack_close_marks():
    assert plots.mark_levels([0.5, 1.0, 1.5], tmax=3.0) == [1.0, 0.66, 0.33]
    assert plots.mark_levels([0.5, 1.2, 2.0], tmax=3.0) == [1.0, 0.66, 1.0]   # the first is far enough by then
    assert plots.mark_levels([0.1, 0.2, 0.3, 0.4], tmax=3.0)[3] == 1.0       # all taken: the oldest height


# --------------------------------------------------------------------------
# The memory figure: events marked, frames against the total

def recorded_mem() -> tuple:
    rec = fixture("mem_events.json")
    series = plots.MemSeries()
    for t, raw in rec["samples"]:
        series.add(t, raw)
    marks = [plots.Mark(t, label, detail, t_end) for t, label, detail, t_end in rec["marks"]]
    return series, marks, rec["interval_ms"]


def test_mem_figure_marks_each_event():
    series, marks, interval = recorded_mem()
    assert [m.label for m in marks] == ["user sampler", "init deferred", "bench"]
    mf = plots.MemFigure(interval_ms=interval, source="QEMU (pvh boot of exo-kernel, pid 4242)")
    mf.update(series, marks)
    fig = mf.fig
    assert fc.texts_outside(fig) == []
    labels = [a.get_text() for a in fc.annotations(fig)]
    for m in marks:
        box = next(t for t in labels if t.startswith(m.label + "\n"))
        assert "Δ heap in use" in box
    assert "(+3 more)" in next(t for t in labels if t.startswith("init deferred"))  # 6 results, 3 shown
    assert sum(t.startswith("Δ frames") for t in labels) == len(marks)
    # the user program's stack and tables: frames go up at its mark
    up = next(t for t in labels if t.startswith("Δ frames") and t != "Δ frames +0")
    assert int(up.split()[-1]) > 0
    assert mf.ax_heap.get_ylabel() == "heap (KiB)" and mf.ax_phys.get_xlabel() == "time (s)"
    assert fc.has_unit(mf.ax_phys.get_ylabel()) is False and mf.ax_phys.get_ylabel() == "frames in use"
    assert mf._pct_axis.get_ylabel() == "% of all frames"
    total = series.phys_total_kib // 4
    legend = [t.get_text() for t in mf.ax_phys.get_legend().get_texts()]
    assert legend == [f"physical frames in use (4 KiB) of {total} ({plots.fmt_bytes(series.phys_total_kib * 1024)})"]
    assert mf._to_pct(total) == pytest.approx(100.0)


# --------------------------------------------------------------------------
# The page map's named regions

@pytest.fixture(scope="module")
def kmap():
    d = fixture("kernel_map.json")
    return (elf_layout.Layout.from_json(d["layout"]), d["pages"], d["threads"],
            kernel_map.Live.from_json(d["live"]))


def test_regions_name_sections_stacks_and_heap(kmap):
    layout, pages, threads, live = kmap
    regions, notes = kernel_map.regions(layout, pages, threads, live)
    labels = [r.label for r in regions]
    for want in (".text (code)", ".rodata", ".data", ".bss", "kernel image (direct-map alias)",
                 "idle stack", "shell stack", "ist-fault (IST)", "ist-nmi (IST)", "ist-debug (IST)",
                 "ipc-echo stack", "sampler-sink stack", "user:sampler stack", "heap"):
        assert want in labels, want
    text = next(r for r in regions if r.label == ".text (code)")
    assert text.start == layout.section(".text").addr
    bss = layout.section(".bss")
    for r in regions:
        if r.kind in ("ist",) or r.label in ("idle stack", "shell stack"):
            assert bss.addr <= r.start < r.end <= bss.end, r.label
            assert r.end - r.start == 2 * kernel_map.PAGE
    slots = [r for r in regions if r.start >= kernel_map.STACKS_BASE]
    assert [r.label for r in slots] == ["ipc-echo stack", "sampler-sink stack", "user:sampler stack"]
    heap = [r for r in regions if r.kind == "heap"]
    assert all(kernel_map.HHDM_BASE <= r.start and r.end - r.start >= kernel_map.PAGE for r in heap)
    assert any("heap" in n for n in notes)


def test_regions_without_live_reads_or_the_right_elf(kmap):
    layout, pages, threads, _ = kmap
    regions, notes = kernel_map.regions(layout, pages, None, None)
    labels = [r.label for r in regions]
    assert "IST stacks" in labels and "heap" not in labels
    assert [r.label for r in regions if r.start >= kernel_map.STACKS_BASE] == ["slot 0", "slot 1", "slot 2"]
    assert any("no `threads --json`" in n for n in notes) and any("no live reads" in n for n in notes)
    moved = elf_layout.Layout([elf_layout.Section(s.name, s.addr + 0x10000, s.size, s.flags)
                               for s in layout.sections], layout.symbols, "other.elf")
    assert kernel_map.regions(moved, pages, threads) == ([], [
        "other.elf is not the booted kernel (.text is not mapped there): regions not named"])
    assert kernel_map.regions(None, pages)[0] == []


def test_stack_slot_names_get_a_question_mark_after_an_exit(kmap):
    layout, pages, threads, live = kmap
    fewer = dict(threads, threads=[t for t in threads["threads"] if t["name"] != "sampler-sink"])
    # one thread fewer than mapped slots: the names are not guessed
    slots = kernel_map.slot_regions(pages, fewer)
    assert all(r.label.startswith("slot ") for r in slots)
    # no thread exited below the newest: slots in id order, named for sure
    assert not any(r.label.endswith(" ?") for r in kernel_map.slot_regions(pages, threads))
    # an exited thread below a live one: a later thread may have taken its slot
    gap = dict(threads, threads=[dict(t, id=7) if t["name"] == "sampler-sink" else t for t in threads["threads"]])
    assert all(r.label.endswith(" ?") for r in kernel_map.slot_regions(pages, gap))


def test_hexdump_and_live_reads():
    dump = ("0xffffffff80136780: 00 d0 11 80 ff ff ff ff 00 00 12 80 ff ff ff ff\n"
            "0xffffffff80136790 <g_thing+0x10>: 74 71\n")
    assert kernel_map.parse_hexdump(dump) == bytes.fromhex("00d01180ffffffff00001280ffffffff7471")
    with pytest.raises(ValueError, match="address not mapped"):
        kernel_map.parse_hexdump("error: address not mapped: 0x10")
    with pytest.raises(ValueError, match="no hex dump"):
        kernel_map.parse_hexdump("exo> ")
    # a fake kernel memory: the IST table (guard, top, name) and a heap object
    name_at, heap_at, info_at = 0xFFFFFFFF80117000, 0xFFFFFFFF80130000, 0xFFFFFFFF80136780
    memory = {
        info_at: struct.pack("<3Q", 0xFFFFFFFF8011D000, 0xFFFFFFFF80120000, name_at),
        name_at: b"ist-fault\0garbage",
        heap_at: struct.pack("<4Q", 0xFFFFFFFF80101234, 0xFFFF80000011D010, 0, 0xFFFF800000120FF8),
    }
    layout = elf_layout.Layout([], {"_ZN3exo3gdt12_GLOBAL__N_112g_stack_infoE": (info_at, 24),
                                    "_ZN3exo6memory12_GLOBAL__N_114g_heap_storageE": (heap_at, 32)})
    live = kernel_map.read_live(lambda addr, n: memory[addr][:n], layout)
    assert live.stack_info == [(0xFFFFFFFF8011D000, 0xFFFFFFFF80120000, "ist-fault")]
    assert live.heap_pages == [0xFFFF80000011D000, 0xFFFF800000120000]   # direct-map pointers only, page-aligned
    assert kernel_map.Live.from_json(live.to_json()) == live


def test_pages_figure_labels_every_region_inside_the_figure(kmap):
    layout, pages, threads, live = kmap
    regions, notes = kernel_map.regions(layout, pages, threads, live)
    fig = plots.pages_figure(pages, source="QEMU (pvh boot of exo-kernel, pid 4242)", regions=regions,
                             region_notes=notes)
    assert fc.texts_outside(fig) == []
    text = fc.all_text(fig)
    for label in {r.label for r in regions}:
        assert label in text, label     # neighbours may share a label: "heap ×2"
    assert "device windows (local APIC, I/O APIC)" in text and "kernel thread stacks" in text
    assert "heap: the pages its object points at" in fig._supxlabel.get_text().replace("\n", " ")


def test_region_labels_never_overlap():
    R = kernel_map.Region
    regs = [R(0, 4096, "a long label here", "stack"), R(4096, 8192, "another long label", "stack"),
            R(8192, 12288, "heap", "heap"), R(12288, 16384, "heap", "heap")]
    labels = plots.region_labels(regs, lo=0, span=1 << 20, axes_w_in=10)
    assert [lab.text for lab in labels] == ["a long label here", "another long label", "heap ×2"]
    assert len({lab.row for lab in labels}) == 3          # all three overlap at this scale
    assert all(lab.x >= 0 for lab in labels)              # kept inside the panel


# --------------------------------------------------------------------------
# The report's kernel version and tables

def test_report_tables_from_recorded_replies(tmp_path):
    replies = fixture("replies.json")
    for name in report_tables.TABLES:
        cols, rows = report_tables.rows(name, replies[name])
        assert rows and all(len(r) == len(cols) for r in rows), name
        report_tables.write_csv(tmp_path / f"{name}.csv", name, replies[name])
        assert list(csv.reader(open(tmp_path / f"{name}.csv")))[0] == cols
        html = report_tables.html_table(name, replies[name])
        assert f"<h2 id='{name}'>" in html and html.count("<tr>") == len(rows) + 1
    assert [r[1] for r in report_tables.rows("threads", replies["threads"])[1]][:2] == ["idle", "shell"]
    pci = report_tables.rows("pci", replies["pci"])[1]
    assert any("prefetchable" in r[-1] for r in pci)
    assert "no reply" in report_tables.html_table("gdb", None)
    assert kernel_version(Recording(boot={}, log=replies["log"])) == "Exo-OS 0.1 x86_64"
    assert kernel_version(Recording(boot={}, banner=replies["banner"])) == "Exo-OS 0.1 x86_64"


# --------------------------------------------------------------------------
# Against a booted kernel

def test_plot_mem_runs_commands_at_their_times(build_dir, tmp_path):
    _require_build(build_dir)
    p = run_exo("plot", "mem", "--duration", "2", "--interval", "50", "--at", "0.4:user sampler", "--at", "1.2:bench",
                "-o", str(tmp_path / "mem.svg"), "--csv", str(tmp_path / "mem.csv"), build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    events = [r["event"] for r in csv.DictReader(open(tmp_path / "mem.csv")) if r["event"]]
    assert [e.split(" at ")[0] for e in events] == ["user sampler", "bench"]
    assert "started thread" in events[0]
    svg = (tmp_path / "mem.svg").read_text()
    assert "user sampler" in svg and "bench" in svg and "% of all frames" in svg
    # bad schedules are refused before anything boots
    p = run_exo("plot", "mem", "--at", "soon:bench", "-o", str(tmp_path / "x.png"), build_dir=build_dir)
    assert p.returncode == EXIT_USAGE and "not a time" in p.stderr
    p = run_exo("plot", "mem", "--duration", "1", "--at", "3:bench", "-o", str(tmp_path / "x.png"), build_dir=build_dir)
    assert p.returncode != 0 and "not inside --duration 1" in p.stderr and not (tmp_path / "x.png").exists()


def test_plot_pages_names_regions(build_dir, tmp_path):
    _require_build(build_dir)
    p = run_exo("plot", "pages", "-o", str(tmp_path / "pages.svg"), build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    svg = (tmp_path / "pages.svg").read_text()
    for label in (".text (code)", ".rodata", ".data", ".bss", "ist-nmi (IST)", "idle stack", "shell stack",
                  "ipc-echo stack", "heap"):
        assert label in svg, label


@pytest.fixture(scope="module")
def report(tmp_path_factory, build_dir):
    _require_build(build_dir)
    d = tmp_path_factory.mktemp("report15")
    p = run_exo("report", "-o", str(d), "--duration", "1.5", "--trigger-deferred-at", "0.5",
                "--at", "0.2:user sampler", build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    return d


def test_report_has_the_kernel_version_and_every_table(report):
    html = (report / "index.html").read_text()
    assert "<tr><th>Kernel</th><td>Exo-OS 0.1 x86_64</td></tr>" in html
    assert "<tr><th>Connection</th><td>QEMU (" in html
    for name in report_tables.TABLES:
        assert f"<h2 id='{name}'>" in html, name
        assert json.loads((report / "json" / f"{name}.json").read_text())["schema"] == 1
        assert (report / f"{name}.csv").is_file() and f"'{name}.csv'" in html
    pci = list(csv.DictReader(open(report / "pci.csv")))
    assert any(d["kind"] == "VGA controller" for d in pci)       # `init deferred` ran before `pci --json`
    threads = {t["name"] for t in csv.DictReader(open(report / "threads.csv"))}
    assert {"idle", "shell"} <= threads
    # The sampler (started at 0.2 s) ran during the watch: it may have
    # finished by the time threads are listed, but its messages arrived.
    ipc = {e["name"]: e for e in csv.DictReader(open(report / "ipc.csv"))}
    assert int(ipc["sampler"]["received"]) >= 1, ipc["sampler"]
    assert "<h2 id='blame'>" in html and "<h2 id='chain'>" in html and "shell prompt @" in html
    assert "`user sampler` at 0.2" in html


def test_report_plots_carry_the_new_marks(report):
    assert "critical chain (declared dependencies)" in (report / "boot.svg").read_text()
    assert "(before the first task)" in (report / "boot.svg").read_text()
    assert "user sampler" in (report / "mem.svg").read_text()
    pages = (report / "pages.svg").read_text()
    assert ".text (code)" in pages and "ist-debug (IST)" in pages
    regions = json.loads((report / "json" / "kernel_map.json").read_text())["regions"]
    assert {"shell stack", ".bss"} <= {r["label"] for r in regions}
    assert (report / "boot_blame.txt").read_text().startswith("      time  task")
