"""`exo report -o DIR`: every plot, the raw JSON, CSV and an index.html."""
from __future__ import annotations

import datetime
import html
import json
from pathlib import Path
from typing import Callable, Optional

from . import __version__, boot_analysis, boot_graph, kernel_map, report_tables
from .connection import KernelError, Session
from .plots import (boot_figure, boot_tasks, boot_total_us, fmt_bytes, fmt_us, mappings, mem_figure,
                    pages_figure, phase_totals_us, save, _ordered_phases)
from .telemetry import (MemRecorder, write_boot_csv, write_drivers_csv, write_mappings_csv,
                        write_mem_csv)
from .trace import Recording, kernel_version
from .trace_record import ClockAnchors, mem_samples, write_trace

# Telemetry saved as-is when the kernel has it; a missing one is noted, not fatal.
# `pci` needs `init deferred` first (the recording runs it).
OPTIONAL_QUERIES = ("cpu", "uptime", "drivers", "log", "threads", "ipc", "pci", "gdb", "bench")


def _dump(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2) + "\n")


def write_report(session: Session, out_dir: Path, *, duration: float = 3.0, trigger_at: Optional[float] = 1.0,
                 interval_ms: int = 100, log: Callable[[str], None] = lambda m: None, events=(),
                 build_dir: Optional[Path] = None) -> Path:
    out_dir = Path(out_dir)
    json_dir = out_dir / "json"
    json_dir.mkdir(parents=True, exist_ok=True)
    shell = session.shell
    files: list[str] = []
    notes: list[str] = []

    def dump(name: str, obj) -> None:
        _dump(json_dir / f"{name}.json", obj)
        files.append(f"json/{name}.json")

    if session.boot_log:
        (out_dir / "boot_log.txt").write_text(session.boot_log.replace("\r\n", "\n"))
        files.append("boot_log.txt")

    log("boot --json (before init deferred)")
    boot_before = shell.query("boot")
    dump("boot_before_deferred", boot_before)
    mem_before = shell.query("mem")
    dump("mem", mem_before)

    log(f"recording `watch mem {interval_ms}` for {duration:g} s"
        + (f", `init deferred` at {trigger_at:g} s" if trigger_at is not None else ""))
    clock = ClockAnchors(shell)  # puts the recording on the kernel's clock, for trace.json
    clock.checkpoint()
    rec = MemRecorder(shell, interval_ms=interval_ms, duration=duration, trigger_at=trigger_at, events=events)
    rec.run()
    if rec.error is not None:
        raise rec.error
    clock.checkpoint()
    series, marks = rec.snapshot()
    with open(out_dir / "mem_watch.jsonl", "w") as f:
        for t, raw in zip(series.t, series.raw):
            f.write(json.dumps({"t_s": round(t, 4), **raw}) + "\n")
    files.append("mem_watch.jsonl")
    if rec.init_output is not None:
        (out_dir / "init_deferred.txt").write_text(rec.init_output + "\n")
        files.append("init_deferred.txt")

    log("boot, pages and the rest after init deferred")
    boot = shell.query("boot")
    dump("boot", boot)
    pages = shell.query("pages")
    dump("pages", pages)
    mem_after = shell.query("mem")
    dump("mem_after", mem_after)
    extra: dict[str, Optional[dict]] = {}
    for name in OPTIONAL_QUERIES:
        try:
            extra[name] = shell.query(name)
            dump(name, extra[name])
        except KernelError as e:
            extra[name] = None
            notes.append(f"`{name} --json`: {e.line}")

    log("CSV")
    write_boot_csv(out_dir / "boot_tasks.csv", boot)
    write_mem_csv(out_dir / "mem_samples.csv", series, marks)
    write_mappings_csv(out_dir / "mappings.csv", pages)
    files += ["boot_tasks.csv", "mem_samples.csv", "mappings.csv"]
    if extra.get("drivers"):
        write_drivers_csv(out_dir / "drivers.csv", extra["drivers"])
        files.append("drivers.csv")
    for name in report_tables.TABLES:
        if extra.get(name):
            report_tables.write_csv(out_dir / f"{name}.csv", name, extra[name])
            files.append(f"{name}.csv")

    log("boot blame and critical chain")
    analysis = _boot_analysis(boot, build_dir, notes)
    for name, text in analysis.items():
        if isinstance(text, str):
            (out_dir / f"boot_{name}.txt").write_text(text + "\n")
            files.append(f"boot_{name}.txt")

    log("naming the page map (kernel ELF, `x` reads)")
    regions, region_notes = kernel_map.for_plot(build_dir or "build", pages, shell, extra.get("threads"))
    dump("kernel_map", {"schema": 1, "regions": [r.to_json() for r in regions], "notes": region_notes})

    log("trace")
    write_trace(out_dir / "trace.json", Recording(
        boot=boot, anchors=clock.anchors, mem=mem_samples(rec), threads=clock.threads, drivers=extra.get("drivers"),
        cpu=extra.get("cpu"), log=extra.get("log"), banner=session.boot_log, interval_ms=interval_ms,
        source=session.where))
    files.append("trace.json")

    log("plots")
    figures = {
        "boot": boot_figure(boot, source=session.where, chain=analysis["chain_names"]),
        "mem": mem_figure(series, marks, interval_ms, source=session.where),
        "pages": pages_figure(pages, source=session.where, regions=regions, region_notes=region_notes),
    }
    for name, fig in figures.items():
        for ext in ("png", "svg"):
            save(fig, out_dir / f"{name}.{ext}")
            files.append(f"{name}.{ext}")

    index = out_dir / "index.html"
    index.write_text(_html(session, boot, boot_before, mem_after, pages, extra, series, marks,
                           rec.init_output, files, notes, interval_ms, analysis))
    return index


def _boot_analysis(boot: dict, build_dir: Optional[Path], notes: list) -> dict:
    """blame (text), chain (text, or None) and the chain's task names."""
    out = {"blame": boot_analysis.blame_text(boot), "chain": None, "chain_names": []}
    try:
        graph = boot_graph.read(Path(build_dir) if build_dir else Path("build"), boot)
    except boot_graph.GraphError as e:
        notes.append(f"no critical chain: {e}")
        return out
    chain = boot_analysis.critical_chain(boot, graph.requires)
    out["chain"] = boot_analysis.chain_text(chain)
    out["chain_names"] = boot_analysis.chain_names(chain)
    return out


# --------------------------------------------------------------------------

_CSS = """
body { font-family: system-ui, 'DejaVu Sans', sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.1em; } .sub { color: #666; margin-top: 0; }
table.summary { border-collapse: collapse; margin: 1em 0; }
table.summary th, table.summary td { text-align: left; padding: 0.25em 0.9em; border-bottom: 1px solid #ddd;
  vertical-align: top; }
table.summary th { color: #555; font-weight: 600; white-space: nowrap; }
.warn { color: #fff; background: #e31a1c; padding: 0.1em 0.4em; border-radius: 3px; font-weight: bold; }
.ok { color: #1e8449; font-weight: 600; }
figure { margin: 1.5em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.25em; }
ul.files { columns: 3; font-size: 0.9em; }
table.data { border-collapse: collapse; font-size: 0.9em; } .what { color: #555; font-size: 0.9em; }
table.data th, table.data td { text-align: left; padding: 0.15em 0.7em; border-bottom: 1px solid #e4e4e4; }
pre { background: #f7f7f7; padding: 0.6em; font-size: 0.85em; overflow-x: auto; }
"""


def _html(session, boot, boot_before, mem, pages, extra, series, marks, init_output, files, notes,
          interval_ms, analysis) -> str:
    e = html.escape
    tasks = boot_tasks(boot)
    totals = phase_totals_us(boot, tasks)
    deferred = [t for t in tasks if t.deferred]
    maps = mappings(pages)
    wx = [m for m in maps if m.wx]
    phys, heap = mem.get("phys", {}), mem.get("heap", {})
    cpu = extra.get("cpu") or {}
    drivers = (extra.get("drivers") or {}).get("drivers", [])
    uptime = extra.get("uptime") or {}

    rows: list[tuple[str, str]] = []
    if cpu:
        rows.append(("CPU", e(f"{cpu.get('brand', '').strip() or cpu.get('vendor', '?')} "
                              f"(family {cpu.get('family', '?')} model {cpu.get('model', '?')}), "
                              f"TSC {cpu.get('tsc_hz', 0) / 1e9:.3f} GHz from {cpu.get('tsc_source', '?')}")))
    version = kernel_version(Recording(boot=boot, log=extra.get("log"), banner=session.boot_log))
    rows.append(("Kernel", e(version or "unknown (no banner in `log --json` or the boot log)")))
    rows.append(("Connection", e(session.where)))
    if session.prompt_after_s is not None:
        rows.append(("QEMU start → prompt", e(f"{session.prompt_after_s * 1000:.0f} ms (host clock, includes QEMU start-up)")))
    rows.append(("Boot work → prompt", e(f"{fmt_us(boot_total_us(boot))} (kernel clock, {sum(1 for t in tasks if t.ran and not t.deferred)} tasks)")
                 + (" <span class='warn'>degraded</span>" if boot.get("degraded") else "")))
    rows.append(("Phase totals", e(" · ".join(f"{p} {fmt_us(totals[p])}" for p in _ordered_phases(totals)))))
    if deferred:
        rows.append(("Deferred inits", e(", ".join(f"{t.name} {t.status} {fmt_us(t.duration_us)}" for t in deferred))))
    elif init_output:
        rows.append(("init deferred", e(init_output.strip())))
    if drivers:
        by_state: dict[str, list[str]] = {}
        for d in drivers:
            by_state.setdefault(d.get("state", "?"), []).append(d.get("name", "?"))
        rows.append(("Drivers", e("; ".join(f"{k}: {', '.join(v)}" for k, v in by_state.items()))))
    rows.append(("Physical memory", e(f"{fmt_bytes(phys.get('used_kib', 0) * 1024)} used of "
                                      f"{fmt_bytes(phys.get('total_kib', 0) * 1024)} "
                                      f"({phys.get('free_kib', 0) * 1024 / max(1, phys.get('total_kib', 1) * 1024):.1%} free)")))
    rows.append(("Heap", e(f"{fmt_bytes(heap.get('used_bytes', 0))} in use of {fmt_bytes(heap.get('mapped_bytes', 0))} "
                           f"mapped, peak {fmt_bytes(heap.get('peak_bytes', 0))}, {heap.get('allocs', 0)} allocs / "
                           f"{heap.get('frees', 0)} frees")))
    if series.t:
        rows.append(("Memory recording", e(f"{len(series)} samples of `watch mem {interval_ms}` over "
                                           f"{series.t[-1] - series.t[0]:.1f} s"
                                           + "".join(f", `{m.label}` at {m.t:.2f} s" for m in marks))))
    rows.append(("Mappings", e(f"{len(maps)} ranges, {fmt_bytes(sum(m.size for m in maps))} mapped; ")
                 + (f"<span class='warn'>W+X: {len(wx)} writable+executable</span>" if wx
                    else "<span class='ok'>W+X audit: none</span>")))
    if uptime:
        rows.append(("Uptime at report", e(f"{uptime.get('uptime_us', 0) / 1e6:.2f} s")))
    for n in notes:
        rows.append(("Note", e(n)))

    table = "\n".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)

    def fig(name: str, title: str, caption: str) -> str:
        return (f"<figure id='{name}'><h2>{e(title)}</h2><a href='{name}.svg'><img src='{name}.png' "
                f"alt='{e(title)}'></a><figcaption>{caption} — <a href='{name}.svg'>SVG</a></figcaption></figure>")

    links = "\n".join(f"<li><a href='{e(f)}'>{e(f)}</a></li>" for f in files)
    chain = analysis.get("chain")
    boot_text = (f"<h2 id='blame'>Boot blame</h2>\n<p class='what'>tasks and named spans by duration "
                 f"(<code>exo boot blame</code>)</p>\n<pre>{e(analysis['blame'])}</pre>\n"
                 + (f"<h2 id='chain'>Critical chain</h2>\n<p class='what'>through the declared dependencies "
                    f"(<code>exo boot chain</code>), drawn as arrows on the boot timeline</p>\n<pre>{e(chain)}</pre>\n"
                    if chain else ""))

    def csv_link(name: str) -> str:
        return f" — <a href='{name}.csv'>{name}.csv</a>, <a href='json/{name}.json'>{name}.json</a>" \
            if f"{name}.csv" in files else ""
    tables = "".join(report_tables.html_table(name, extra.get(name), csv_link) for name in report_tables.TABLES)
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Exo-OS report</title>
<style>{_CSS}</style></head>
<body>
<h1>Exo-OS report</h1>
<p class="sub">{e(when)} · exo client {e(__version__)} · {e(session.where)}</p>
<table class="summary">
{table}
</table>
{fig("boot", "Boot timeline", "every boot task and deferred init, coloured by phase; bar labels give the duration and the frames / heap bytes the task allocated. Data: <a href='boot_tasks.csv'>boot_tasks.csv</a>, <a href='json/boot.json'>boot.json</a>")}
{boot_text}
{fig("mem", "Memory over time", f"heap and physical frames from <code>watch mem {interval_ms}</code>, with the commands run during it marked. Data: <a href='mem_samples.csv'>mem_samples.csv</a>, <a href='mem_watch.jsonl'>mem_watch.jsonl</a>")}
{fig("pages", "Kernel virtual address space", "mapped ranges from <code>pages --json</code>, one panel per region, coloured by permissions; sections, stacks and heap pages named from the kernel ELF and <code>x</code> reads. Data: <a href='mappings.csv'>mappings.csv</a>, <a href='json/pages.json'>pages.json</a>, <a href='json/kernel_map.json'>kernel_map.json</a>")}
{tables}
<h2 id="trace">Timeline (Perfetto)</h2>
<p><a href='trace.json'>trace.json</a> holds the same run as a trace-event timeline: boot tasks by phase, deferred
inits, the kernel log, each thread's CPU time, heap and frames. Open <a href='https://ui.perfetto.dev'>ui.perfetto.dev</a>
and drag the file onto it (or <i>Open trace file</i>), or load it in <code>chrome://tracing</code>.</p>
<h2>Files</h2>
<ul class="files">
{links}
</ul>
</body></html>
"""
