"""systemd-analyze for Exo-OS: `exo boot blame` and `exo boot chain`.

Pure: `boot --json` (and the declared dependency graph, boot_graph.py) in,
rows and text out; the tests run them over recorded replies. Time before
the first task and after the last is named with trace.py's spans (the split
bench/boot_trace.py counts), so blame leaves no time unattributed.
"""
from __future__ import annotations

import dataclasses
from typing import Optional, Sequence

from .trace import RAN, boot_spans

BEFORE, AFTER = "before the first task", "after the last task"
BETWEEN = "runner between tasks"
PROMPT = "shell prompt"


@dataclasses.dataclass
class Item:
    name: str
    kind: str            # "task", "deferred" (ran after the prompt), "span" or "prompt"
    phase: str
    start_us: float
    duration_us: float
    status: str = "ok"

    @property
    def end_us(self) -> float:
        return self.start_us + self.duration_us

    @property
    def label(self) -> str:
        return f"({self.name})" if self.kind == "span" else self.name


def fmt_us(us: float) -> str:
    """systemd-analyze's style: 1.204ms, 35.8us; µs for our µs clock."""
    if us == 0:
        return "0"
    if abs(us) >= 1e6:
        return f"{us / 1e6:.3f}s"
    if abs(us) >= 1000:
        return f"{us / 1000:.3f}ms"
    return f"{us:.1f}µs" if abs(us) < 100 else f"{us:.0f}µs"


def _duration_us(t: dict) -> float:
    ns = t.get("duration_ns")
    return ns / 1000.0 if isinstance(ns, (int, float)) else float(t.get("duration_us", 0))


def tasks(boot: dict) -> list:
    """Every task that ran, in start order: boot tasks, then deferred inits."""
    out = [Item(str(t.get("name", "?")), "deferred" if t.get("deferred") else "task", str(t.get("phase", "?")),
                float(t.get("start_us", 0)), _duration_us(t), str(t.get("status", "?")))
           for t in boot.get("tasks", []) if t.get("status") in RAN]
    return sorted(out, key=lambda i: (i.kind == "deferred", i.start_us))


def not_run(boot: dict) -> list:
    return [(str(t.get("name", "?")), str(t.get("status", "?"))) for t in boot.get("tasks", [])
            if t.get("status") not in RAN]


@dataclasses.dataclass
class Accounting:
    """First instruction -> prompt, split with nothing left over."""
    total_us: float
    before_us: float
    tasks_us: float
    between_us: float   # the runner's own time between task bodies
    after_us: float
    first_us: float     # first task's start
    last_us: float      # last task's end


def accounting(boot: dict) -> Accounting:
    spans = {s.name: s for s in boot_spans(boot)}
    in_boot = [i for i in tasks(boot) if i.kind == "task"]
    total = spans["entry → prompt"].dur if "entry → prompt" in spans else 0.0
    if BEFORE not in spans:   # no task ran: it is all one span
        return Accounting(total, total, 0.0, 0.0, 0.0, total, total)
    window = spans["boot tasks"].dur
    busy = sum(i.duration_us for i in in_boot)
    # start_us is truncated to whole µs: the bodies may appear to overlap by
    # a fraction of one; the runner's share never goes negative.
    between = max(0.0, window - busy)
    return Accounting(total, spans[BEFORE].dur, window - between, between, spans[AFTER].dur,
                      spans[BEFORE].end, spans[AFTER].ts)


def span_items(boot: dict) -> list:
    """The named spans as Items: before the first task, after the last."""
    a = accounting(boot)
    out = [Item(BEFORE, "span", "", 0.0, a.before_us)]
    if a.after_us > 0 or a.tasks_us > 0:
        out.append(Item(AFTER, "span", "", a.last_us, a.after_us))
    return out


def blame(boot: dict, include_deferred: bool = True) -> list:
    """Tasks and named spans, longest first (systemd-analyze blame)."""
    a = accounting(boot)
    items = [i for i in tasks(boot) if include_deferred or i.kind == "task"] + span_items(boot)
    if a.between_us > 0:
        items.append(Item(BETWEEN, "span", "", a.first_us, a.between_us))
    return sorted(items, key=lambda i: (-i.duration_us, i.name))


def blame_text(boot: dict, include_deferred: bool = True) -> str:
    rows = blame(boot, include_deferred)
    width = max([len(i.label) for i in rows] + [4])
    lines = [f"{'time':>10}  {'task':<{width}}  {'phase':<9}  {'start':>10}  status"]
    for i in rows:
        phase = "deferred" if i.kind == "deferred" else (i.phase or "-")
        lines.append(f"{fmt_us(i.duration_us):>10}  {i.label:<{width}}  {phase:<9}  "
                     f"{'@' + fmt_us(i.start_us):>10}  {i.status if i.kind != 'span' else '-'}")
    a = accounting(boot)
    lines.append("")
    lines.append(f"first instruction to the shell prompt: {fmt_us(a.total_us)} = before the first task "
                 f"{fmt_us(a.before_us)} + tasks {fmt_us(a.tasks_us)} + runner between tasks "
                 f"{fmt_us(a.between_us)} + after the last task {fmt_us(a.after_us)}")
    deferred = [i for i in tasks(boot) if i.kind == "deferred"]
    if deferred and include_deferred:
        lines.append(f"deferred inits (after the prompt, not in that total): "
                     f"{fmt_us(sum(i.duration_us for i in deferred))} in {len(deferred)} tasks")
    pending = not_run(boot)
    if pending:
        lines.append("not run: " + ", ".join(f"{n} ({s})" for n, s in pending)
                     + " (`init deferred` runs them; exo boot blame --deferred)")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Critical chain

@dataclasses.dataclass
class Link:
    item: Item
    waited_us: float = 0.0   # from the requirement's end to this start: other tasks ran


def critical_chain(boot: dict, requires: dict, target: Optional[str] = None) -> list:
    """The chain that ends at `target` (default: the shell prompt), target
    first: from each task to the requirement that finished last, as
    systemd-analyze critical-chain does. For the prompt the chain starts at
    the task that ended last and is framed by the two named spans."""
    ran = {i.name: i for i in tasks(boot)}
    if target is None or target == PROMPT:
        in_boot = [i for i in ran.values() if i.kind == "task"]
        if not in_boot:
            return []
        a = accounting(boot)
        head = [Link(Item(PROMPT, "prompt", "", a.total_us, 0.0)), Link(span_items(boot)[-1])]
        current = max(in_boot, key=lambda i: (i.end_us, i.start_us))
    else:
        if target not in requires and target not in ran:
            raise KeyError(f"no boot task is called '{target}' (tasks: {', '.join(sorted(requires))})")
        if target not in ran:
            raise KeyError(f"'{target}' has not run: run `init deferred` first (--deferred)")
        head, current = [], ran[target]
    chain = head + [Link(current)]
    seen = {current.name}
    while True:
        deps = [ran[d] for d in requires.get(current.name, []) if d in ran and d not in seen]
        if not deps:
            break
        dep = max(deps, key=lambda i: (i.end_us, i.start_us))
        chain[-1].waited_us = max(0.0, current.start_us - dep.end_us)
        chain.append(Link(dep))
        seen.add(dep.name)
        current = dep
    if target is None or target == PROMPT:
        chain.append(Link(span_items(boot)[0]))
    return chain


def chain_names(chain: Sequence[Link]) -> list:
    """The tasks of a chain, first to run first (spans and the prompt left out)."""
    return [link.item.name for link in reversed(chain) if link.item.kind in ("task", "deferred")]


def chain_text(chain: Sequence[Link]) -> str:
    lines = ['The time when a task started is after "@", how long it ran after "+";',
             '"waited" is time spent on tasks off the chain after its requirement ended.', ""]
    for depth, link in enumerate(chain):
        i = link.item
        text = f"{i.label} @{fmt_us(i.start_us)}"
        if i.kind != "prompt":
            text += f" +{fmt_us(i.duration_us)}"
        if link.waited_us >= 1.0:
            text += f" (waited {fmt_us(link.waited_us)})"
        lines.append(text if depth == 0 else "  " * (depth - 1) + "└─" + text)
    return "\n".join(lines)


def chain_json(chain: Sequence[Link]) -> list:
    return [{"name": link.item.name, "kind": link.item.kind, "start_us": round(link.item.start_us, 3),
             "duration_us": round(link.item.duration_us, 3), "waited_us": round(link.waited_us, 3)}
            for link in chain]


def blame_json(boot: dict, include_deferred: bool = True) -> dict:
    a = accounting(boot)
    return {"items": [{"name": i.name, "kind": i.kind, "phase": i.phase, "start_us": round(i.start_us, 3),
                       "duration_us": round(i.duration_us, 3), "status": i.status}
                      for i in blame(boot, include_deferred)],
            "accounting": {k: round(v, 3) for k, v in dataclasses.asdict(a).items()},
            "not_run": [n for n, _ in not_run(boot)]}
