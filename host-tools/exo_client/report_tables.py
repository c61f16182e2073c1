"""The report's tables: threads, IPC endpoints, PCI devices, benchmarks and
the GDB stub's counters, from their `--json` replies. Pure: each kind gives
columns and rows once, and both the CSV file and the HTML table are made
from them."""
from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import Callable, Optional


def _threads(obj: dict) -> tuple:
    cols = ["id", "name", "state", "wait", "ring", "priority", "cpu_us", "switches", "stack_used_bytes",
            "stack_size_bytes"]
    return cols, [[t.get(c, "") for c in cols] for t in obj.get("threads", [])]


def _ipc(obj: dict) -> tuple:
    cols = ["name", "sent", "calls", "received", "replies", "timeouts", "max_depth", "senders", "receivers"]
    return cols, [[e.get(c, "") for c in cols] for e in obj.get("endpoints", [])]


def _pci(obj: dict) -> tuple:
    cols = ["address", "id", "kind", "class", "subclass", "irq", "bars"]

    def bars(d: dict) -> str:
        return "; ".join(f"{b.get('base')} {b.get('size')} B {'I/O' if b.get('io') else 'mem'}"
                         + (" prefetchable" if b.get("prefetchable") else "") for b in d.get("bars", []))
    return cols, [[d.get(c, "") for c in cols[:-1]] + [bars(d)] for d in obj.get("devices", [])]


def _bench(obj: dict) -> tuple:
    cols = ["name", "median_ns", "min_ns"]
    return cols, [[r.get(c, "") for c in cols] for r in obj.get("results", [])]


def _gdb(obj: dict) -> tuple:
    return ["counter", "value"], [[k, v] for k, v in obj.items() if k != "schema"]


TABLES: dict = {   # name -> (title, what it shows, rows from the reply)
    "threads": ("Threads", "`threads --json` at the end of the run: CPU time, switches, stack high-water mark",
                _threads),
    "ipc": ("IPC endpoints", "`ipc --json`: messages, calls, replies and the deepest queue per endpoint", _ipc),
    "pci": ("PCI devices", "`pci --json` after `init deferred`", _pci),
    "bench": ("Benchmarks", "`bench --json`: in-kernel micro-benchmarks (TSC; under TCG, not hardware "
              "figures)", _bench),
    "gdb": ("GDB stub", "`gdb --json`: the COM2 stub's state and packet counters", _gdb),
}


def rows(name: str, obj: dict) -> tuple:
    return TABLES[name][2](obj)


def write_csv(path: Path, name: str, obj: dict) -> None:
    cols, body = rows(name, obj)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        w.writerows(body)


def html_table(name: str, obj: Optional[dict], link: Callable[[str], str] = lambda n: "") -> str:
    """A section with the table, or a line saying the kernel had no reply."""
    title, what, _ = TABLES[name]
    e = html.escape
    head = f"<h2 id='{name}'>{e(title)}</h2>\n<p class='what'>{e(what)}{link(name)}</p>\n"
    if not obj:
        return head + "<p><i>no reply (see the notes above)</i></p>\n"
    cols, body = rows(name, obj)
    if not body:
        return head + "<p><i>none</i></p>\n"
    th = "".join(f"<th>{e(str(c))}</th>" for c in cols)
    tr = "\n".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>" for r in body)
    return head + f"<table class='data'>\n<tr>{th}</tr>\n{tr}\n</table>\n"
