"""`exo boot-stats`: the same boot N times, each task's median and spread.

Pure: a list of runs (each `boot --json` plus the host's QEMU-start-to-prompt
time) in, a table and a figure out; `runs_json`/`load_runs` save and reload
the runs, so the tests and `--from-json` need no kernel. Each run is split
as `exo boot blame` splits it (boot_analysis.py), spans included.
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Optional, Sequence

from .boot_analysis import accounting, fmt_us, tasks

RUNS_FORMAT = 1
TOTAL = "first instruction → prompt"
HOST = "QEMU start → prompt (host clock)"


@dataclasses.dataclass
class Run:
    boot: dict
    prompt_after_s: Optional[float] = None   # host clock, when exo launched QEMU


@dataclasses.dataclass
class Stat:
    name: str
    kind: str          # "total", "host", "span" or a phase
    values: list       # µs, one per run that had it

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def pct(self, p: float) -> float:
        return percentile(self.values, p)

    @property
    def lo(self) -> float:
        return min(self.values)

    @property
    def hi(self) -> float:
        return max(self.values)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    v = sorted(values)
    if not v:
        raise ValueError("no values")
    k = (len(v) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(v) - 1)
    return v[f] + (v[c] - v[f]) * (k - f)


def run_durations(run: Run) -> dict:
    """name -> (kind, µs) for one boot: the total, the named spans and
    every task that ran before the prompt."""
    a = accounting(run.boot)
    out = {TOTAL: ("total", a.total_us), "(before the first task)": ("span", a.before_us),
           "(runner between tasks)": ("span", a.between_us), "(after the last task)": ("span", a.after_us)}
    for t in tasks(run.boot):
        if t.kind == "task":
            out[t.name] = (t.phase, t.duration_us)
    if run.prompt_after_s is not None:
        out[HOST] = ("host", run.prompt_after_s * 1e6)
    return out


def summarize(runs: Sequence[Run]) -> list:
    """One Stat per name; the total and host time first, then the rest by
    median, longest first."""
    stats: dict = {}
    for run in runs:
        for name, (kind, us) in run_durations(run).items():
            stats.setdefault(name, Stat(name, kind, [])).values.append(us)
    head = [stats.pop(k) for k in (HOST, TOTAL) if k in stats]
    return head + sorted(stats.values(), key=lambda s: (-s.median, s.name))


def table_text(stats: Sequence[Stat], runs: int) -> str:
    width = max([len(s.name) for s in stats] + [4])
    cols = ("median", "p10", "p90", "min", "max", "spread")
    lines = [f"{runs} boots; spread = (max - min) / median",
             f"{'task':<{width}}  {'phase':<9}  {'n':>2}  " + "  ".join(f"{c:>9}" for c in cols)]
    for s in stats:
        spread = (s.hi - s.lo) / s.median * 100 if s.median else 0.0
        cells = [fmt_us(s.median), fmt_us(s.pct(10)), fmt_us(s.pct(90)), fmt_us(s.lo), fmt_us(s.hi),
                 f"{spread:.0f}%"]
        lines.append(f"{s.name:<{width}}  {s.kind:<9}  {s.n:>2}  " + "  ".join(f"{c:>9}" for c in cells))
    return "\n".join(lines)


def stats_json(stats: Sequence[Stat]) -> list:
    return [{"name": s.name, "kind": s.kind, "n": s.n, "median_us": round(s.median, 3),
             "p10_us": round(s.pct(10), 3), "p90_us": round(s.pct(90), 3), "min_us": round(s.lo, 3),
             "max_us": round(s.hi, 3), "values_us": [round(v, 3) for v in s.values]} for s in stats]


def runs_json(runs: Sequence[Run]) -> dict:
    return {"exo_boot_runs": RUNS_FORMAT, "runs": [dataclasses.asdict(r) for r in runs]}


def load_runs(obj: dict) -> list:
    if obj.get("exo_boot_runs") != RUNS_FORMAT:
        raise ValueError(f"not saved boot runs (format {RUNS_FORMAT}): exo_boot_runs is {obj.get('exo_boot_runs')!r}")
    return [Run(r["boot"], r.get("prompt_after_s")) for r in obj["runs"]]


# --------------------------------------------------------------------------
# The figure

def stats_figure(stats: Sequence[Stat], runs: int, source: str = ""):
    """Per row: every run as a dot, p10-p90 as a bar, min-max as whiskers,
    the median as a tick; a log time axis (spans of ms and tasks of µs)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter

    from .plots import PHASE_COLORS, SPAN_COLOR, fmt_us as plot_fmt_us, wrap_to_width

    colors = {**PHASE_COLORS, "span": SPAN_COLOR, "total": "#222222", "host": "#555555"}
    rows = list(stats)
    fig = Figure(figsize=(11, 2.2 + 0.32 * len(rows)), layout="constrained")
    ax = fig.subplots()
    for y, s in enumerate(rows):
        c = colors.get(s.kind, "#8e44ad")
        ms = [v / 1000 for v in s.values]
        ax.plot([s.lo / 1000, s.hi / 1000], [y, y], color=c, lw=1, alpha=0.7)
        ax.plot([s.pct(10) / 1000, s.pct(90) / 1000], [y, y], color=c, lw=6, alpha=0.35, solid_capstyle="butt")
        ax.plot(ms, [y] * len(ms), "o", color=c, ms=3.5, alpha=0.8)
        ax.plot([s.median / 1000], [y], "|", color="black", ms=12, mew=2)
        ax.annotate(f"{plot_fmt_us(s.median)}  ({plot_fmt_us(s.lo)}–{plot_fmt_us(s.hi)})",
                    xy=(1.0, y), xycoords=("axes fraction", "data"), xytext=(4, 0), textcoords="offset points",
                    va="center", ha="left", fontsize=7.5, annotation_clip=False)
    ax.set_yticks(range(len(rows)), [s.name for s in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))   # 0.01 .. 100, not 10^-2
    ax.set_xlabel("duration (ms, log scale)")
    ax.grid(axis="x", which="both", alpha=0.25)
    handles = [Line2D([0], [0], marker="o", ls="none", color="#555", ms=4, label="one boot"),
               Line2D([0], [0], color="#555", lw=6, alpha=0.35, label="p10–p90"),
               Line2D([0], [0], color="#555", lw=1, label="min–max"),
               Line2D([0], [0], marker="|", ls="none", color="black", ms=10, mew=2, label="median")]
    ax.legend(handles=handles, loc="lower right", fontsize=7.5, framealpha=0.9)
    total = next((s for s in rows if s.kind == "total"), None)
    title = f"Exo-OS boot over {runs} boots: median and spread of each task and span"
    if total:
        title += (f"\nfirst instruction to prompt: median {plot_fmt_us(total.median)}, "
                  f"{plot_fmt_us(total.lo)} to {plot_fmt_us(total.hi)}")
    fig.suptitle(wrap_to_width(title, 11, 10), fontsize=10)
    if source:
        fig.supxlabel(wrap_to_width(source, 11, 7), fontsize=7, color="#444")
    return fig
