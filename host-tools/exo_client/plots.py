"""The figures: boot timeline, memory over time, virtual address space.

Each `*_figure` function takes the kernel's JSON (already parsed) and returns
a matplotlib Figure; nothing here talks to the kernel, so the fixture tests
draw the same figures from recorded JSON. Figures are built on
matplotlib.figure.Figure (no pyplot state) unless a pyplot figure is passed
in for a live window.
"""
from __future__ import annotations

import dataclasses
import textwrap
from typing import Iterable, Optional, Sequence

import matplotlib

# Text stays text in SVGs (searchable, and the report's SVGs carry the task
# and phase names), and a font every Debian matplotlib has.
matplotlib.rcParams["svg.fonttype"] = "none"
matplotlib.rcParams["font.family"] = "DejaVu Sans"
matplotlib.rcParams["axes.titlesize"] = 10
matplotlib.rcParams["axes.labelsize"] = 9
matplotlib.rcParams["xtick.labelsize"] = 8
matplotlib.rcParams["ytick.labelsize"] = 8
matplotlib.rcParams["legend.fontsize"] = 8

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator  # noqa: E402

from .trace import boot_spans  # noqa: E402

PHASE_COLORS = {
    "critical": "#c0392b",
    "essential": "#2874a6",
    "optional": "#229954",
}
_EXTRA_COLORS = ["#8e44ad", "#d68910", "#17a589", "#7f8c8d", "#a04000"]
PHASE_ORDER = ["critical", "essential", "optional"]


def phase_color(phase: str, _cache: dict = {}) -> str:
    if phase in PHASE_COLORS:
        return PHASE_COLORS[phase]
    if phase not in _cache:
        _cache[phase] = _EXTRA_COLORS[len(_cache) % len(_EXTRA_COLORS)]
    return _cache[phase]


# --------------------------------------------------------------------------
# Formatting

def fmt_us(us: float) -> str:
    """A duration given in microseconds, for a label."""
    if us >= 1_000_000:
        return f"{us / 1e6:.3g} s" if us < 10e6 else f"{us / 1e6:.1f} s"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    if us >= 100:
        return f"{us:.0f} µs"
    return f"{us:.1f} µs"


def fmt_bytes(n: float, signed: bool = False) -> str:
    sign = ("+" if n > 0 else "-" if n < 0 else "±") if signed else ("-" if n < 0 else "")
    n = abs(n)
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{sign}{v:.0f} {unit}" if v == int(v) else f"{sign}{v:.1f} {unit}"
    return f"{sign}{n:.0f} B"


def byte_unit(max_value: float) -> tuple[str, int]:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if max_value >= 2 * scale:
            return unit, scale
    return "B", 1


# --------------------------------------------------------------------------
# Boot timeline

@dataclasses.dataclass
class BootTask:
    name: str
    phase: str
    start_us: float
    duration_us: float
    status: str
    deferred: bool
    frames: int
    heap_bytes: int

    @property
    def end_us(self) -> float:
        return self.start_us + self.duration_us

    @property
    def ran(self) -> bool:
        return self.status not in ("pending", "skipped") or self.duration_us > 0


def boot_tasks(boot: dict) -> list[BootTask]:
    tasks = []
    for t in boot.get("tasks", []):
        dur = t.get("duration_ns")
        dur_us = dur / 1000.0 if isinstance(dur, (int, float)) else float(t.get("duration_us", 0))
        tasks.append(BootTask(
            name=str(t.get("name", "?")), phase=str(t.get("phase", "?")),
            start_us=float(t.get("start_us", 0)), duration_us=dur_us,
            status=str(t.get("status", "?")), deferred=bool(t.get("deferred", False)),
            frames=int(t.get("frames", 0) or 0), heap_bytes=int(t.get("heap_bytes", 0) or 0)))
    return tasks


def boot_total_us(boot: dict) -> float:
    if isinstance(boot.get("total_ns"), (int, float)):
        return boot["total_ns"] / 1000.0
    return float(boot.get("total_us", 0))


def phase_totals_us(boot: dict, tasks: Sequence[BootTask]) -> dict[str, float]:
    """Per-phase time: the kernel's `phases` object when present."""
    totals: dict[str, float] = {}
    for t in tasks:
        if t.ran:
            totals[t.phase] = totals.get(t.phase, 0.0) + t.duration_us
    for key, v in (boot.get("phases") or {}).items():
        if key.endswith("_us") and isinstance(v, (int, float)):
            phase = key[:-3]
            # prefer the summed ns-precision durations unless the kernel's differs
            if abs(totals.get(phase, 0.0) - v) > 1.0:
                totals[phase] = float(v)
    return totals


def _ordered_phases(phases: Iterable[str]) -> list[str]:
    phases = list(dict.fromkeys(phases))
    return sorted(phases, key=lambda p: (PHASE_ORDER.index(p) if p in PHASE_ORDER else 99, p))


def _task_label(t: BootTask) -> str:
    parts = [fmt_us(t.duration_us)]
    if t.frames:
        parts.append(f"{t.frames:+d} frame{'s' if abs(t.frames) != 1 else ''}")
    if t.heap_bytes:
        parts.append(f"{fmt_bytes(t.heap_bytes, signed=True)} heap")
    if t.status not in ("ok",):
        parts.append(t.status.upper())
    return "  ".join(parts)


SPAN_COLOR = "#9e9e9e"
CHAIN_COLOR = "#6c3483"


def wrap_to_width(text: str, width_in: float, fontsize: float) -> str:
    """Wrap `text` (each of its lines) to what fits in `width_in` inches at
    `fontsize` points: a suptitle or footer wider than the figure is cut
    off on both sides, and constrained layout does not wrap."""
    chars = max(20, int(width_in * 72 / (fontsize * 0.6)))  # DejaVu Sans averages ~0.55 em
    return "\n".join(textwrap.fill(line, chars, break_on_hyphens=False) or line for line in text.split("\n"))


def _draw_tasks(ax, tasks: Sequence[BootTask], rows: dict[str, int], xmax_ms: float,
                xmin_ms: float = 0.0, chain: Sequence[str] = ()) -> None:
    span = max(xmax_ms - xmin_ms, 1e-9)
    for t in tasks:
        y = rows[t.name]
        left, width = t.start_us / 1000, t.duration_us / 1000
        failed = t.status not in ("ok", "pending")
        is_span = t.phase == "span"
        on_chain = t.name in chain
        ax.barh(y, max(width, span * 0.002), left=left, height=0.62,
                color=SPAN_COLOR if is_span else phase_color(t.phase), alpha=0.75 if t.deferred else 0.95,
                edgecolor=CHAIN_COLOR if on_chain else ("black" if failed else "white"),
                linewidth=1.6 if on_chain or failed else 0.5,
                hatch="//" if t.deferred else ("xx" if failed else None))
        label = fmt_us(t.duration_us) if is_span else _task_label(t)
        end = left + width
        if (end - xmin_ms) / span < 0.62:
            ax.text(end + span * 0.008, y, label, va="center", ha="left", fontsize=7.5)
        elif width / span > 0.3 and is_span:   # a long span: its label inside it
            ax.text(left + width / 2, y, label, va="center", ha="center", fontsize=7.5, color="white")
        else:
            ax.text(left - span * 0.008, y, label, va="center", ha="right", fontsize=7.5)


def _span_tasks(boot: dict) -> tuple[Optional[BootTask], Optional[BootTask]]:
    """The named spans before the first task and after the last (trace.py's),
    as rows of the Gantt, so that no boot time is unaccounted for."""
    spans = {s.name: s for s in boot_spans(boot)}
    make = lambda s: BootTask(s.name, "span", s.ts, s.dur, "ok", False, 0, 0) if s else None  # noqa: E731
    return make(spans.get("before the first task")), make(spans.get("after the last task"))


def _draw_chain(ax, by_name: dict, rows: dict, chain: Sequence[str]) -> None:
    """Arrows from each requirement's end to the start of the task after it,
    for the links whose both ends are on this panel (`by_name`)."""
    for a, b in zip(chain, chain[1:]):
        if a in by_name and b in by_name:
            ta, tb = by_name[a], by_name[b]
            ax.annotate("", xy=(tb.start_us / 1000, rows[b]), xytext=(ta.end_us / 1000, rows[a]),
                        arrowprops=dict(arrowstyle="-|>", color=CHAIN_COLOR, lw=1.3, shrinkA=0, shrinkB=1,
                                        connectionstyle="arc3,rad=0"), zorder=5)


def boot_figure(boot: dict, fig: Optional[Figure] = None, source: str = "",
                chain: Sequence[str] = ()) -> Figure:
    """Gantt chart of the boot tasks (and deferred inits) from `boot --json`,
    with the spans before the first task and after the last as rows, and the
    critical chain (task names, first to run first; boot_analysis.py) drawn
    as arrows."""
    tasks = boot_tasks(boot)
    ran = sorted((t for t in tasks if t.ran), key=lambda t: (t.deferred, t.start_us))
    pending = [t for t in tasks if not t.ran]
    in_boot = [t for t in ran if not t.deferred]
    deferred = [t for t in ran if t.deferred]
    total_us = boot_total_us(boot)
    totals = phase_totals_us(boot, tasks)
    before, after = _span_tasks(boot) if in_boot else (None, None)
    left_rows = ([before] if before else []) + in_boot + ([after] if after else [])
    order = left_rows + deferred

    n_rows = max(len(order), 1)
    height = 2.6 + 0.36 * n_rows
    width_in = 11
    if fig is None:
        fig = Figure(figsize=(width_in, height), layout="constrained")
    else:
        fig.set_size_inches(width_in, height)
        fig.set_layout_engine("constrained")

    boot_end_us = max([total_us] + [t.end_us for t in in_boot])
    # Deferred inits run after the prompt, maybe seconds later: their own
    # panel at their own scale, after a broken axis.
    split = bool(deferred)
    if split:
        axes = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3.2, 1], "wspace": 0.02})
        ax, axd = axes
    else:
        ax = fig.subplots()
        axd = None

    rows = {t.name: i for i, t in enumerate(order)}

    # Left (or only) panel: the boot up to the prompt.
    left_tasks = left_rows if split else left_rows + deferred
    xmax_ms = max([boot_end_us / 1000] + [t.end_us / 1000 for t in left_tasks]) * 1.02
    for phase in _ordered_phases(t.phase for t in in_boot):
        members = [t for t in in_boot if t.phase == phase]
        lo = min(t.start_us for t in members) / 1000
        hi = max(t.end_us for t in members) / 1000
        ax.axvspan(lo, hi, color=phase_color(phase), alpha=0.07, lw=0)
    _draw_tasks(ax, left_tasks, rows, xmax_ms, chain=chain)
    full_chain = list(chain)
    if chain and before and after and chain[-1] == max(in_boot, key=lambda t: t.end_us).name:
        full_chain = [before.name, *chain, after.name]   # the prompt's chain: framed by the spans
    _draw_chain(ax, {t.name: t for t in left_tasks}, rows, full_chain)
    if total_us:
        ax.axvline(total_us / 1000, color="black", ls="--", lw=1)
        ax.text(total_us / 1000, -0.45, f"shell prompt at {fmt_us(total_us)} ",
                rotation=90, ha="right", va="top", fontsize=8)
    ax.set_xlim(0, xmax_ms)
    ax.set_ylim(n_rows - 0.4, -0.6)
    ax.set_yticks(range(len(order)), [f"({t.name})" if t.phase == "span" else t.name for t in order])
    ax.set_xlabel("time since the kernel's first instruction (ms)")
    ax.grid(axis="x", alpha=0.3)
    ax.ticklabel_format(axis="x", useOffset=False, style="plain")

    if axd is not None:
        lo = min(t.start_us for t in deferred) / 1000
        hi = max(t.end_us for t in deferred) / 1000
        pad = max((hi - lo) * 0.25, 0.05)
        _draw_tasks(axd, deferred, rows, hi + pad, lo - pad, chain=chain)
        _draw_chain(axd, {t.name: t for t in deferred}, rows, chain)   # a chain among deferred inits
        axd.set_xlim(lo - pad, hi + pad)
        axd.set_title("deferred init (run after the prompt)", fontsize=8.5)
        axd.set_xlabel("time (ms, same clock)")
        axd.grid(axis="x", alpha=0.3)
        axd.ticklabel_format(axis="x", useOffset=False, style="plain")
        axd.xaxis.set_major_locator(MaxNLocator(3))
        axd.tick_params(axis="y", left=False)
        ax.spines["right"].set_visible(False)
        axd.spines["left"].set_visible(False)
        # the "//" of a broken axis
        kw = dict(marker=[(-1, -1.6), (1, 1.6)], markersize=9, linestyle="none",
                  color="k", mec="k", mew=1, clip_on=False)
        ax.plot([1, 1], [0, 1], transform=ax.transAxes, **kw)
        axd.plot([0, 0], [0, 1], transform=axd.transAxes, **kw)

    # Title and notes, wrapped to the figure's width.
    phase_bits = [f"{p} {fmt_us(totals[p])}" for p in _ordered_phases(totals) if totals.get(p)]
    frames = sum(t.frames for t in ran)
    heap = sum(t.heap_bytes for t in ran)
    title = f"Exo-OS boot: {fmt_us(total_us)} from first instruction to the shell prompt"
    if boot.get("degraded"):
        title += "  (DEGRADED boot)"
    bits = list(phase_bits)
    if before and after:
        bits.append(f"before the first task {fmt_us(before.duration_us)}, after the last "
                    f"{fmt_us(after.duration_us)}")
    if deferred:
        bits.append(f"deferred: {', '.join(t.name for t in deferred)}")
    if boot.get("tsc_hz"):
        bits.append(f"TSC {boot['tsc_hz'] / 1e9:.2f} GHz"
                    + (f" ({boot['tsc_source']})" if boot.get("tsc_source") else ""))
    bits.append(f"tasks allocated {frames} frames, {fmt_bytes(heap)} heap")
    fig.suptitle(title + "\n" + wrap_to_width(" · ".join(bits), width_in, 9), fontsize=10)

    handles = [Patch(color=phase_color(p), label=f"{p} {fmt_us(totals[p])}" if totals.get(p) else f"{p} (not run)")
               for p in _ordered_phases(t.phase for t in tasks)]
    handles.append(Patch(color=SPAN_COLOR, label="named span (no task running)"))
    if deferred:
        handles.append(Patch(facecolor="white", edgecolor="gray", hatch="//", label="deferred (init deferred)"))
    if chain:
        handles.append(Line2D([0], [0], color=CHAIN_COLOR, lw=1.3, marker=">", markersize=5,
                              label="critical chain (declared dependencies)"))
    ax.legend(handles=handles, loc="lower left", framealpha=0.9)

    notes = []
    if pending:
        notes.append("not run yet: " + ", ".join(f"{t.name} ({t.phase})" for t in pending)
                     + " (run `init deferred`: exo plot boot --deferred)")
    notes.append("bar labels: duration, frames and heap bytes the task allocated (net)")
    if source:
        notes.append(source)
    fig.supxlabel(wrap_to_width("   ".join(notes), width_in, 7), fontsize=7, color="#444")
    return fig


# --------------------------------------------------------------------------
# Memory over time

@dataclasses.dataclass
class Mark:
    t: float                 # seconds on the plot's time axis
    label: str
    detail: str = ""
    t_end: Optional[float] = None   # when sampling resumed


@dataclasses.dataclass
class MemSeries:
    t: list = dataclasses.field(default_factory=list)
    heap_used: list = dataclasses.field(default_factory=list)
    heap_mapped: list = dataclasses.field(default_factory=list)
    heap_peak: list = dataclasses.field(default_factory=list)
    phys_used_kib: list = dataclasses.field(default_factory=list)
    phys_total_kib: int = 0
    raw: list = dataclasses.field(default_factory=list)

    def add(self, t: float, mem: dict) -> None:
        phys = mem.get("phys", {})
        heap = mem.get("heap", {})
        self.t.append(t)
        self.heap_used.append(heap.get("used_bytes", 0))
        self.heap_mapped.append(heap.get("mapped_bytes", 0))
        self.heap_peak.append(heap.get("peak_bytes", 0))
        self.phys_used_kib.append(phys.get("used_kib", 0))
        self.phys_total_kib = phys.get("total_kib", self.phys_total_kib)
        self.raw.append(mem)

    @property
    def frames(self) -> list:
        return [k / 4 for k in self.phys_used_kib]

    def __len__(self) -> int:
        return len(self.t)


MARK_DETAIL_LINES = 3
MARK_LEVELS = (1.0, 0.66, 0.33)   # axes fraction of a mark label's top


def mark_levels(times: Sequence[float], tmax: float, width: float = 0.35) -> list:
    """A height for each mark's label (times sorted): the highest one whose
    last label is over `width` of the axis earlier, so that labels of marks
    close in time stack instead of overlapping."""
    last = {lv: None for lv in MARK_LEVELS}
    out = []
    for t in times:
        free = [lv for lv in MARK_LEVELS if last[lv] is None or t - last[lv] > width * tmax]
        lv = free[0] if free else min(MARK_LEVELS, key=lambda lv: last[lv])
        last[lv] = t
        out.append(lv)
    return out


def _value_at(ts: Sequence[float], vs: Sequence[float], t: float, after: bool):
    if after:
        for ti, vi in zip(ts, vs):
            if ti >= t:
                return vi
        return None
    best = None
    for ti, vi in zip(ts, vs):
        if ti <= t:
            best = vi
    return best


class MemFigure:
    """Heap (top) and physical frames (bottom) against time; `update` it
    with a growing MemSeries for a live window, or once for a file."""

    def __init__(self, fig: Optional[Figure] = None, interval_ms: int = 100, source: str = ""):
        if fig is None:
            fig = Figure(figsize=(11, 6.2), layout="constrained")
        else:
            fig.set_size_inches(11, 6.2)
            fig.set_layout_engine("constrained")
        self.fig = fig
        self.interval_ms = interval_ms
        self.source = source
        self.ax_heap, self.ax_phys = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
        a = self.ax_heap
        (self.l_mapped,) = a.plot([], [], drawstyle="steps-post", color="#7f8c8d", lw=1.6, label="heap mapped")
        (self.l_peak,) = a.plot([], [], drawstyle="steps-post", color="#c0392b", lw=1.3, ls="--", label="heap peak")
        (self.l_used,) = a.plot([], [], drawstyle="steps-post", color="#2874a6", lw=2, label="heap in use")
        a.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncol=3, frameon=False, borderaxespad=0.2)
        a.grid(alpha=0.3)
        b = self.ax_phys
        (self.l_frames,) = b.plot([], [], drawstyle="steps-post", color="#229954", lw=2,
                                  label="physical frames in use (4 KiB)")
        b.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, borderaxespad=0.2)
        b.grid(alpha=0.3)
        b.set_ylabel("frames in use")
        b.set_xlabel("time (s)")
        b.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        # Frames against the machine's total: the right axis is the share of
        # all frames (a line at the total would flatten every change).
        self._total_frames = 0.0
        self._pct_axis = b.secondary_yaxis("right", functions=(self._to_pct, self._from_pct))
        self._pct_axis.set_ylabel("% of all frames")
        self._mark_artists: list = []
        self._fill = None

    def _to_pct(self, frames):
        return frames * 100.0 / self._total_frames if self._total_frames else frames * 0.0

    def _from_pct(self, pct):
        return pct * self._total_frames / 100.0

    def update(self, s: MemSeries, marks: Sequence[Mark] = ()) -> None:
        self._total_frames = s.phys_total_kib / 4   # 4 KiB frames
        if self._total_frames:
            self.l_frames.set_label(f"physical frames in use (4 KiB) of {self._total_frames:.0f} "
                                    f"({fmt_bytes(s.phys_total_kib * 1024)})")
            self.ax_phys.legend(loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, borderaxespad=0.2)
        for art in self._mark_artists:
            art.remove()
        self._mark_artists = []
        if self._fill is not None:
            self._fill.remove()
            self._fill = None
        t = s.t
        top = max(s.heap_mapped + s.heap_peak + s.heap_used + [1])
        unit, scale = byte_unit(top)
        sc = lambda vs: [v / scale for v in vs]  # noqa: E731
        self.l_mapped.set_data(t, sc(s.heap_mapped))
        self.l_peak.set_data(t, sc(s.heap_peak))
        self.l_used.set_data(t, sc(s.heap_used))
        self._fill = self.ax_heap.fill_between(t, sc(s.heap_used), step="post", color="#2874a6", alpha=0.12, lw=0)
        self.ax_heap.set_ylabel(f"heap ({unit})")
        self.ax_heap.set_ylim(0, top / scale * 1.3)
        if t:
            # end-of-line value labels, nudged apart so they never overlap
            ends = sorted(((vals[-1], color) for vals, color in
                           ((s.heap_mapped, "#7f8c8d"), (s.heap_peak, "#c0392b"), (s.heap_used, "#2874a6"))),
                          key=lambda e: e[0])
            min_gap = top / scale * 1.3 * 0.055
            y_prev = min_gap * 0.2 - min_gap
            for value, color in ends:
                y = max(value / scale, y_prev + min_gap)
                y_prev = y
                self._mark_artists.append(self.ax_heap.annotate(
                    fmt_bytes(value), xy=(t[-1], y), xytext=(3, 0), textcoords="offset points",
                    fontsize=7.5, color=color, va="center", ha="left"))
        frames = s.frames
        self.l_frames.set_data(t, frames)
        if t:
            self._mark_artists.append(self.ax_phys.annotate(
                f"{frames[-1]:.0f}", xy=(t[-1], frames[-1]), xytext=(3, 2), textcoords="offset points",
                fontsize=7.5, color="#229954", va="bottom", ha="left"))
        if frames:
            lo, hi = min(frames), max(frames)
            pad = max((hi - lo) * 0.25, 8)
            self.ax_phys.set_ylim(max(0, lo - pad), hi + pad * 1.6)
        tmax = max(t[-1] if t else 0, max([m.t_end or m.t for m in marks] + [0]), 1.0)
        self.ax_heap.set_xlim(0, tmax * 1.06)

        marks = sorted(marks, key=lambda m: m.t)
        levels = mark_levels([m.t for m in marks], tmax)
        for n, m in enumerate(marks):
            for ax in (self.ax_heap, self.ax_phys):
                self._mark_artists.append(ax.axvline(m.t, color="#8e44ad", lw=1.3, ls="-."))
                if m.t_end and m.t_end > m.t:
                    self._mark_artists.append(ax.axvspan(m.t, m.t_end, color="#8e44ad", alpha=0.08, lw=0))
            # deltas across the mark
            deltas = []
            b_used = _value_at(t, s.heap_used, m.t, after=False)
            a_used = _value_at(t, s.heap_used, m.t_end or m.t, after=True)
            b_map = _value_at(t, s.heap_mapped, m.t, after=False)
            a_map = _value_at(t, s.heap_mapped, m.t_end or m.t, after=True)
            b_fr = _value_at(t, frames, m.t, after=False)
            a_fr = _value_at(t, frames, m.t_end or m.t, after=True)
            if None not in (b_used, a_used):
                deltas.append(f"Δ heap in use {fmt_bytes(a_used - b_used, signed=True)}")
            if None not in (b_map, a_map):
                deltas.append(f"Δ mapped {fmt_bytes(a_map - b_map, signed=True)}")
            # One line per `init` result ("; "-separated in the detail), so a
            # long detail wraps instead of squeezing the axes.
            parts = [part.strip() for part in m.detail.split(";")] if m.detail else []
            if len(parts) > MARK_DETAIL_LINES:
                parts = parts[:MARK_DETAIL_LINES] + [f"(+{len(parts) - MARK_DETAIL_LINES} more)"]
            detail = "\n".join(parts)
            text = m.label + (f"\n{detail}" if detail else "") + ("\n" + ", ".join(deltas) if deltas else "")
            right_side = m.t > 0.6 * tmax  # keep the label inside the axes
            ha, dx = ("right", -4) if right_side else ("left", 4)
            level = levels[n]
            self._mark_artists.append(self.ax_heap.annotate(
                text, xy=(m.t, level), xycoords=("data", "axes fraction"), xytext=(dx, -4),
                textcoords="offset points", va="top", ha=ha, fontsize=7.5, color="#6c3483",
                bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="#d2b4de", alpha=0.9)))
            if None not in (b_fr, a_fr):
                self._mark_artists.append(self.ax_phys.annotate(
                    f"Δ frames {a_fr - b_fr:+.0f}", xy=(m.t, level), xycoords=("data", "axes fraction"),
                    xytext=(dx, -4), textcoords="offset points", va="top", ha=ha, fontsize=7.5,
                    color="#6c3483"))

        dur = (t[-1] - t[0]) if len(t) > 1 else 0
        title = f"Exo-OS memory: `watch mem {self.interval_ms}`, {len(s)} samples over {dur:.1f} s"
        if s.raw:
            last = s.raw[-1]
            h, p = last.get("heap", {}), last.get("phys", {})
            title += (f"\nnow: heap {fmt_bytes(h.get('used_bytes', 0))} in use of "
                      f"{fmt_bytes(h.get('mapped_bytes', 0))} mapped (peak {fmt_bytes(h.get('peak_bytes', 0))}, "
                      f"{h.get('allocs', 0)} allocs / {h.get('frees', 0)} frees) · physical "
                      f"{fmt_bytes(p.get('used_kib', 0) * 1024)} used of {fmt_bytes(p.get('total_kib', 0) * 1024)}")
        if self.source:
            title += f" · {self.source}"
        self.fig.suptitle(wrap_to_width(title, 11, 10), fontsize=10)


def mem_figure(series: MemSeries, marks: Sequence[Mark] = (), interval_ms: int = 100,
               source: str = "") -> Figure:
    mf = MemFigure(interval_ms=interval_ms, source=source)
    mf.update(series, marks)
    return mf.fig


# --------------------------------------------------------------------------
# Virtual address space

HHDM_BASE = 0xFFFF800000000000
KERNEL_BASE = 0xFFFFFFFF80000000
KERNEL_STACKS_BASE = 0xFFFFFFFFC0000000  # kernel/mm/kernel_stack_hw.cc
KNOWN_PHYS = {0xFEE00000: "local APIC", 0xFEC00000: "I/O APIC", 0xB8000: "VGA text"}


@dataclasses.dataclass
class Mapping:
    virt: int
    phys: int
    page_size: int
    count: int
    flags: str

    @property
    def size(self) -> int:
        return self.page_size * self.count

    @property
    def end(self) -> int:
        return self.virt + self.size

    @property
    def writable(self) -> bool:
        return len(self.flags) > 1 and self.flags[1] == "W"

    @property
    def executable(self) -> bool:
        return len(self.flags) > 2 and self.flags[2] == "X"

    @property
    def wx(self) -> bool:
        return self.writable and self.executable


def _int(v) -> int:
    return int(v, 0) if isinstance(v, str) else int(v)


def mappings(pages: dict) -> list[Mapping]:
    out = [Mapping(_int(m["virt"]), _int(m.get("phys", 0)), int(m.get("page_size", 4096)),
                   int(m.get("count", 1)), str(m.get("flags", "")))
           for m in pages.get("mappings", [])]
    return sorted(out, key=lambda m: m.virt)


def clusters(maps: Sequence[Mapping], gap: int = 256 << 10) -> list[list[Mapping]]:
    """Group ranges closer than `gap`: one panel each, so that a sparse
    64-bit space shows every region at a readable scale."""
    groups: list[list[Mapping]] = []
    for m in maps:
        if groups and m.virt - max(x.end for x in groups[-1]) <= gap:
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def region_name(group: Sequence[Mapping]) -> str:
    lo = group[0].virt
    if lo >= KERNEL_STACKS_BASE:
        return "kernel thread stacks (guard page below each)"
    if lo >= KERNEL_BASE and all(m.phys in KNOWN_PHYS for m in group):
        return "device windows (" + ", ".join(KNOWN_PHYS[m.phys] for m in group) + ")"
    if lo >= KERNEL_BASE:
        return "kernel image (higher half, top 2 GiB)"
    if lo >= HHDM_BASE and all(m.virt - m.phys == HHDM_BASE for m in group):
        known = {KNOWN_PHYS[m.phys] for m in group if m.phys in KNOWN_PHYS}
        p_lo, p_hi = group[0].phys, max(m.phys + m.size for m in group)
        what = f"direct map of physical 0x{p_lo:x}–0x{p_hi:x}"
        return what + (f" ({', '.join(sorted(known))})" if known else "")
    if lo < (1 << 47):
        return "lower half (user space)"
    return "kernel space"


FLAG_CLASSES = [  # (predicate, colour, legend)
    (lambda m: m.wx, "#e31a1c", "W+X  writable and executable!"),
    (lambda m: m.executable, "#e67e22", "R-X  code"),
    (lambda m: m.writable, "#2874a6", "RW-  data"),
    (lambda m: True, "#27ae60", "R--  read-only"),
]


def flag_class(m: Mapping) -> tuple[str, str]:
    for pred, color, legend in FLAG_CLASSES:
        if pred(m):
            return color, legend
    return "#999999", "?"


def fmt_page(n: int) -> str:
    return fmt_bytes(n).replace(" KiB", "K").replace(" MiB", "M").replace(" GiB", "G")


def _pow2_step(span: float, max_ticks: int = 9) -> int:
    step = 1
    while span / step > max_ticks - 1:
        step *= 2
    return step


REGION_COLORS = {"section": "#222222", "stack": "#6c3483", "ist": "#a93226", "heap": "#b9770e",
                 "alias": "#666666"}
REGION_FONT = 7.0
REGION_ROW = 0.34      # label row height, in units of a mapping bar's height


BRACKET_KINDS = ("section", "alias")   # the rest (stacks, heap) sit inside sections: a strip in the bar


@dataclasses.dataclass
class RegionLabel:
    text: str
    kind: str
    regions: list
    x: float       # the label's centre, offset from the panel start
    row: int = 0


def region_labels(regs: Sequence, lo: int, span: int, axes_w_in: float) -> list:
    """One label per named range (neighbours with the same name share one,
    "×N"), kept inside the panel, each on the first row where it overlaps
    no other label."""
    per_in = span / axes_w_in
    half = lambda text: len(text) * REGION_FONT * 0.6 / 72 / 2 * per_in  # noqa: E731
    centre = lambda r: (max(r.start, lo) + min(r.end, lo + span)) / 2 - lo  # noqa: E731
    labels: list = []
    for r in sorted(regs, key=lambda r: r.start):
        last = labels[-1] if labels else None
        if last and last.text == r.label and centre(r) - centre(last.regions[0]) < 2 * half(r.label):
            last.regions.append(r)
        else:
            labels.append(RegionLabel(r.label, r.kind, [r], 0.0))
    ends: list = []
    for lab in labels:
        if len(lab.regions) > 1:
            lab.text = f"{lab.text} ×{len(lab.regions)}"
        h = half(lab.text)
        c = sum(centre(r) for r in lab.regions) / len(lab.regions)
        lab.x = min(max(c, h), span - h)
        lab.row = next((i for i, e in enumerate(ends) if e < lab.x - h), len(ends))
        if lab.row == len(ends):
            ends.append(0.0)
        ends[lab.row] = lab.x + h + per_in * 0.08
    return labels


def _draw_regions(ax, labels: Sequence[RegionLabel], lo: int, span: int) -> None:
    """Sections get a bracket under the bar, stacks and heap pages a strip
    along its bottom edge; each label hangs below on its row."""
    for lab in labels:
        color = REGION_COLORS.get(lab.kind, "#222222")
        y = -0.12 - lab.row * REGION_ROW
        for r in lab.regions:
            a, b = max(r.start, lo) - lo, min(r.end, lo + span) - lo
            b = max(b, a + span * 0.003)   # a page in a 32 MiB panel still shows
            if lab.kind in BRACKET_KINDS:
                ax.plot([a, a, b, b], [-0.02, -0.08, -0.08, -0.02], color=color, lw=1.0, clip_on=False)
                top = -0.08
            else:
                ax.add_patch(Rectangle((a, 0), b - a, 0.14, facecolor=color, edgecolor="white", lw=0.5, zorder=3))
                top = 0.0
            ax.plot([(a + b) / 2, lab.x], [top, y], color=color, lw=0.5, ls=":", clip_on=False)
        ax.text(lab.x, y, lab.text, ha="center", va="top", fontsize=REGION_FONT, color=color, clip_on=False)


def pages_figure(pages: dict, fig: Optional[Figure] = None, source: str = "",
                 regions: Sequence = (), region_notes: Sequence[str] = ()) -> Figure:
    """The mapped ranges, one panel per region of the address space; named
    ranges (kernel_map.Region: sections, stacks, heap) bracketed below."""
    maps = mappings(pages)
    groups = clusters(maps) or [[]]
    n = len(groups)
    axes_w_in = 11 * 0.92
    panel_labels = []
    for group in groups:
        lo = group[0].virt if group else 0
        hi = max((m.end for m in group), default=0)
        regs = [r for r in regions if r.start < hi and r.end > lo]
        panel_labels.append(region_labels(regs, lo, max(hi - lo, 1), axes_w_in))
    rows_of = [max((lab.row for lab in labels), default=-1) + 1 for labels in panel_labels]
    depth = [1 + rows * REGION_ROW + 0.1 if rows else 1 for rows in rows_of]
    size = (11, 1.75 + 1.25 * sum(depth))
    if fig is None:
        fig = Figure(figsize=size, layout="constrained")
    else:
        fig.set_size_inches(*size)
        fig.set_layout_engine("constrained")
    axes = fig.subplots(n, 1, squeeze=False, gridspec_kw={"height_ratios": depth})[:, 0]
    used_classes = {}
    wx = [m for m in maps if m.wx]
    for ax, group in zip(axes, groups):
        if not group:
            ax.text(0.5, 0.5, "no mappings", ha="center", va="center", transform=ax.transAxes)
            continue
        lo = group[0].virt
        hi = max(m.end for m in group)
        span = hi - lo
        for m in group:
            color, legend = flag_class(m)
            used_classes[legend] = color
            x, w = m.virt - lo, max(m.size, span * 0.004)
            ax.add_patch(Rectangle((x, 0), w, 1, facecolor=color, alpha=0.9,
                                   edgecolor="#e31a1c" if m.wx else "white",
                                   linewidth=2.5 if m.wx else 0.8,
                                   hatch="xx" if m.wx else None))
            width_in = w / span * axes_w_in
            label = f"{m.flags}\n{m.count}×{fmt_page(m.page_size)}"
            if width_in >= 1.3:
                label += f"\nphys 0x{m.phys:x}"
            if width_in >= 0.55:
                ax.text(x + w / 2, 0.5, label, ha="center", va="center", fontsize=7.5, color="white",
                        fontweight="bold")
            elif width_in >= 0.16:
                ax.text(x + w / 2, 0.5, m.flags, ha="center", va="center", fontsize=6.5, color="white",
                        rotation=90, fontweight="bold")
        ax.set_xlim(0, span)
        ax.set_ylim(0, 1)
        labels, rows = panel_labels[groups.index(group)], rows_of[groups.index(group)]
        if labels:
            _draw_regions(ax, labels, lo, span)
            # the labels' band, below the bar; "unmapped" grey only behind the bar
            ax.set_ylim(-(0.12 + rows * REGION_ROW), 1)
            ax.add_patch(Rectangle((0, 0), span, 1, facecolor="#f2f2f2", edgecolor="#bbbbbb", lw=0.8, zorder=0))
        else:
            ax.set_facecolor("#f2f2f2")
        ax.set_yticks([])
        ax.xaxis.set_major_locator(MultipleLocator(_pow2_step(span)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "+0" if v == 0 else f"+{fmt_page(int(v))}"))
        total = sum(m.size for m in group)
        ax.set_title(f"0x{lo:016x} – 0x{hi:016x}   {region_name(group)}   "
                     f"({fmt_bytes(total)} mapped in {len(group)} range{'s' if len(group) != 1 else ''})",
                     loc="left", fontsize=8.5)
    wx_count = max(len(wx), int(pages.get("wx_ranges", 0) or 0))
    title = f"Exo-OS kernel virtual address space: {len(maps)} mapped ranges in {len(groups)} regions " \
            f"({fmt_bytes(sum(m.size for m in maps))} mapped)"
    fig.suptitle(wrap_to_width(title, 11, 10), fontsize=10)
    if wx_count:
        axes[0].annotate(
            f"WARNING: {wx_count} range{'s are' if wx_count != 1 else ' is'} writable AND executable (W+X): "
            + ", ".join(f"0x{m.virt:x} ({m.flags})" for m in wx[:4]),
            xy=(0.5, 1.0), xycoords="axes fraction", xytext=(0, 16), textcoords="offset points",
            ha="center", va="bottom", fontsize=9.5, color="white", fontweight="bold",
            bbox=dict(boxstyle="round,pad=0.35", fc="#e31a1c", ec="#e31a1c"), annotation_clip=False)
    handles = [Patch(color=c, label=l) for l, c in used_classes.items()]
    handles.append(Patch(facecolor="#f2f2f2", edgecolor="#cccccc", label="unmapped"))
    note = ("W+X audit: none · " if not wx_count else "") + \
        "flags R W X U G = read, write, execute, user, global · each panel is one region at its own scale, " \
        "ticks are offsets from its start address"
    for extra in region_notes:
        note += f" · {extra}"
    if source:
        note += f" · {source}"
    axes[-1].legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=len(handles),
                    frameon=False)
    fig.supxlabel(wrap_to_width(note, 11, 7.5), fontsize=7.5, color="#444")
    return fig


# --------------------------------------------------------------------------

def save(fig: Figure, path, dpi: int = 110) -> None:
    fig.savefig(path, dpi=dpi)
