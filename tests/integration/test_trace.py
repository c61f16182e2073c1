"""`exo trace`: the trace-event file (Perfetto, chrome://tracing) built from
recorded replies (no QEMU), then once end to end against the kernel.

`trace_problems` is the format check both use: what the Trace Event Format
requires of each phase we write, and what Perfetto needs to draw it (named
processes and threads, slices on one track nested or disjoint).
"""
from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
HOST_TOOLS = REPO_DIR / "host-tools"
EXO = HOST_TOOLS / "exo"
RECORDING = REPO_DIR / "tests" / "fixtures" / "trace" / "recording.json"
PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(HOST_TOOLS))

from exo_client import trace  # noqa: E402

EPS_US = 0.002          # ts and dur are rounded to the nanosecond
METADATA_ARG = {"process_name": "name", "thread_name": "name", "process_labels": "labels",
                "process_sort_index": "sort_index", "thread_sort_index": "sort_index"}


# --------------------------------------------------------------------------
# The format check

def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _event_problems(i: int, e: dict) -> list[str]:
    where = f"event {i} ({e.get('ph')!r} {e.get('name')!r})"
    out = []
    if not isinstance(e.get("name"), str) or not e["name"]:
        out.append(f"{where}: no name")
    if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
        out.append(f"{where}: pid and tid must be integers")
    ph = e.get("ph")
    if ph not in ("X", "C", "i", "M"):
        return out + [f"{where}: phase {ph!r} is not one exo writes"]
    if ph == "M":
        key = METADATA_ARG.get(e.get("name"))
        if key is None or key not in (e.get("args") or {}):
            out.append(f"{where}: metadata without its args.{key or '?'}")
        elif key == "sort_index" and not isinstance(e["args"][key], int):
            out.append(f"{where}: sort_index is not an integer")
        return out
    if not _number(e.get("ts")) or e["ts"] < 0:
        out.append(f"{where}: ts must be a number >= 0 (microseconds)")
    if ph == "X" and (not _number(e.get("dur")) or e["dur"] < 0):
        out.append(f"{where}: an X event needs dur >= 0")
    if ph == "C":
        args = e.get("args")
        if not isinstance(args, dict) or not args or not all(_number(v) for v in args.values()):
            out.append(f"{where}: counter args must be numbers: {args!r}")
    if ph == "i" and e.get("s") not in ("g", "p", "t"):
        out.append(f"{where}: instant scope must be g, p or t")
    return out


def _naming_problems(events: list) -> list[str]:
    out = []
    processes = {e["pid"] for e in events if e.get("ph") == "M" and e.get("name") == "process_name"}
    threads: dict = {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            if (e["pid"], e["tid"]) in threads:
                out.append(f"thread {e['pid']}/{e['tid']} named twice")
            threads[(e["pid"], e["tid"])] = e["args"]["name"]
    used = {(e.get("pid"), e.get("tid")) for e in events if e.get("ph") != "M"}
    out += [f"pid {p} has no process_name" for p in sorted({p for p, _ in used} - processes)]
    out += [f"thread {p}/{t} has no thread_name" for p, t in sorted(used - threads.keys())]
    tids = [t for _, t in threads]
    if len(tids) != len(set(tids)):
        out.append("a tid is used in two processes (Perfetto keys threads by tid)")
    return out


def _track_problems(events: list) -> list[str]:
    """Per track, in file order: slices start in order and nest or are
    disjoint; counters move forward in time."""
    out = []
    slices: dict = {}
    counters: dict = {}
    for e in events:
        if e.get("ph") == "X":
            slices.setdefault((e["pid"], e["tid"]), []).append(e)
        elif e.get("ph") == "C":
            counters.setdefault((e["pid"], e["name"]), []).append(e["ts"])
    for track, ts in counters.items():
        if ts != sorted(ts):
            out.append(f"counter {track}: timestamps go back")
    for track, group in slices.items():
        if [e["ts"] for e in group] != sorted(e["ts"] for e in group):
            out.append(f"track {track}: slices out of order")
        open_ends: list = []   # ends of the slices enclosing the current one
        for e in sorted(group, key=lambda e: (e["ts"], -e["dur"])):
            while open_ends and open_ends[-1] <= e["ts"] + EPS_US:
                open_ends.pop()
            end = e["ts"] + e["dur"]
            if open_ends and end > open_ends[-1] + EPS_US:
                out.append(f"track {track}: {e['name']!r} at {e['ts']} overlaps an enclosing slice "
                           "without nesting in it")
            open_ends.append(end)
    return out


def trace_problems(doc) -> list[str]:
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not a JSON object with a traceEvents array"]
    out = []
    if doc.get("displayTimeUnit") not in (None, "ms", "ns"):
        out.append("displayTimeUnit must be ms or ns")
    if not isinstance(doc.get("otherData", {}), dict):
        out.append("otherData must be an object")
    events = doc["traceEvents"]
    for i, e in enumerate(events):
        out += _event_problems(i, e) if isinstance(e, dict) else [f"event {i} is not an object"]
    if out:
        return out
    return _naming_problems(events) + _track_problems(events)


def assert_valid(doc) -> None:
    problems = trace_problems(doc)
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------
# Helpers

def recording() -> trace.Recording:
    return trace.Recording.from_json(json.loads(RECORDING.read_text()))


def thread_names(doc) -> dict:
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
            if e["ph"] == "M" and e["name"] == "thread_name"}


def slices_on(doc, track_name: str) -> list:
    names = thread_names(doc)
    return [e for e in doc["traceEvents"] if e["ph"] == "X" and names[(e["pid"], e["tid"])] == track_name]


def run_exo(*args: str, build_dir: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    if build_dir is not None:
        env["EXO_BUILD_DIR"] = str(build_dir)
    return subprocess.run([PYTHON, str(EXO), *args], capture_output=True, text=True, timeout=timeout, env=env)


def check_against_replies(doc, rec: trace.Recording) -> None:
    """What the kernel said is what the trace shows."""
    ran = [t for t in rec.boot["tasks"] if t["status"] in trace.RAN]
    boot_slices = slices_on(doc, "critical phase") + slices_on(doc, "essential phase")
    deferred = slices_on(doc, "deferred inits")
    assert sorted(s["name"] for s in boot_slices) == sorted(t["name"] for t in ran if not t["deferred"])
    assert sorted(s["name"] for s in deferred) == sorted(t["name"] for t in ran if t["deferred"])
    for s in boot_slices + deferred:
        assert {"phase", "status"} <= s["args"].keys()
    spans = {s["name"]: s for s in slices_on(doc, "boot (first instruction → prompt)")}
    first = min(t["start_us"] for t in ran if not t["deferred"])
    assert spans["before the first task"]["ts"] == 0 and spans["before the first task"]["dur"] == first
    after = spans["after the last task"]
    assert after["ts"] + after["dur"] == pytest.approx(rec.boot["total_ns"] / 1000, abs=EPS_US)
    counters = [e for e in doc["traceEvents"] if e["ph"] == "C"]
    for name in ("heap used", "heap mapped", "frames used"):
        assert sum(1 for e in counters if e["name"] == name) == len(rec.mem), name
    for t in rec.threads[-1][1]["threads"]:
        assert any(e["name"] == t["name"] and "cpu_ms" in e["args"] for e in counters), t["name"]
    labels = [e["args"]["labels"] for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == "process_labels"]
    assert labels and "Exo-OS 0.1" in labels[0] and "GHz" in labels[0]
    assert doc["otherData"]["kernel"].startswith("Exo-OS 0.1") and doc["otherData"]["tsc_hz"] == rec.boot["tsc_hz"]


# --------------------------------------------------------------------------
# From recorded replies (no QEMU)

def test_recorded_trace_is_valid_and_complete():
    rec = recording()
    doc = json.loads(json.dumps(trace.build_trace(rec)))   # as written to the file
    assert_valid(doc)
    check_against_replies(doc, rec)
    # the deferred inits ran half-way through the watch: between the first and last sample
    samples = [e["ts"] for e in doc["traceEvents"] if e["name"] == "heap used"]
    assert samples[0] < slices_on(doc, "deferred inits")[0]["ts"] < samples[-1]
    assert len(slices_on(doc, "kernel log")) == 0  # log lines are instants, not slices
    assert any(e["ph"] == "i" and e["name"] == "Exo-OS 0.1 x86_64" for e in doc["traceEvents"])


def test_cpu_field_selects_the_track():
    rec = recording()
    for i, t in enumerate(rec.boot["tasks"]):
        t["cpu"] = i % 2
    doc = trace.build_trace(rec)
    assert_valid(doc)
    names = set(thread_names(doc).values())
    assert {"cpu 0: critical phase", "cpu 1: critical phase", "cpu 0: essential phase"} <= names
    assert "critical phase" not in names
    for s in slices_on(doc, "cpu 1: critical phase"):
        assert s["args"]["cpu"] == 1


def _task(name, start_us, dur_ns, phase="critical", **kw):
    return {"name": name, "phase": phase, "start_us": start_us, "duration_ns": dur_ns, "status": "ok",
            "deferred": False, **kw}


def test_truncated_starts_are_cut_and_real_overlaps_get_a_lane():
    # b starts inside a by less than a microsecond (its start_us is truncated): a is cut.
    # c overlaps b by 50 us: that is concurrency, so c goes to a second track.
    boot = {"total_ns": 400_000, "tasks": [_task("a", 10, 20_600), _task("b", 30, 100_000),
                                            _task("c", 80, 10_000), _task("d", 300, 1_000, status="failed")]}
    doc = trace.build_trace(trace.Recording(boot=boot))
    assert_valid(doc)
    first = {s["name"]: s for s in slices_on(doc, "critical phase")}
    assert first["a"]["dur"] == 20 and first["b"]["dur"] == 100 and first["d"]["args"]["status"] == "failed"
    assert [s["name"] for s in slices_on(doc, "critical phase (2)")] == ["c"]


def test_not_run_tasks_are_listed_not_drawn():
    boot = {"total_us": 50, "tasks": [_task("a", 10, 1000), _task("p", 0, 0, phase="optional", status="pending")]}
    doc = trace.build_trace(trace.Recording(boot=boot))
    assert_valid(doc)
    assert doc["otherData"]["not_run"] == {"p": "pending"}
    assert all(e["name"] != "p" for e in doc["traceEvents"])


def test_kernel_clock():
    clock = trace.KernelClock([(10.0, 1000.0), (12.0, 2_001_000.0)])
    assert clock.us(10.0) == 1000.0 and clock.us(11.0) == pytest.approx(1_001_000.0)
    assert clock.us(13.0) == pytest.approx(3_001_000.0)      # extrapolated at the last rate
    assert trace.KernelClock([(5.0, 70.0)]).us(5.5) == pytest.approx(500_070.0)
    with pytest.raises(ValueError):
        trace.KernelClock([])
    with pytest.raises(ValueError, match="anchor"):
        trace.build_trace(trace.Recording(boot={"tasks": []}, mem=[(1.0, {})]))


def test_the_check_catches_broken_traces():
    good = trace.build_trace(recording())
    assert_valid(good)

    def broken(change) -> list[str]:
        doc = copy.deepcopy(good)
        change(doc["traceEvents"])
        return trace_problems(doc)

    def first(events, ph, name=None):
        return next(e for e in events if e["ph"] == ph and (name is None or e["name"] == name))

    assert broken(lambda ev: first(ev, "X").update(dur=-1))
    assert broken(lambda ev: first(ev, "C").update(args={"bytes": "576"}))
    assert broken(lambda ev: first(ev, "X").pop("ts"))
    assert broken(lambda ev: ev.remove(first(ev, "M", "thread_name")))
    assert broken(lambda ev: ev.remove(first(ev, "M", "process_name")))
    def straddle(ev):  # the second task starts inside the first and ends after it
        a, b = [e for e in ev if e["ph"] == "X" and e["cat"] == "critical"][:2]
        b.update(ts=a["ts"] + a["dur"] / 2, dur=a["dur"])

    assert broken(straddle)
    # counters back in time
    assert broken(lambda ev: [e for e in ev if e["name"] == "heap used"][-1].update(ts=0))


def test_from_replies_writes_the_same_trace(tmp_path):
    out = tmp_path / "boot.json"
    p = run_exo("trace", "--from-replies", str(RECORDING), "-o", str(out))
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(trace.build_trace(recording())))
    (tmp_path / "bad.json").write_text('{"boot": {}}')
    p = run_exo("trace", "--from-replies", str(tmp_path / "bad.json"), "-o", str(out))
    assert p.returncode == 2 and "not a trace recording" in p.stderr  # bad usage: the wrong file
    assert "ui.perfetto.dev" in run_exo("trace", "--help").stdout


# --------------------------------------------------------------------------
# End to end

def test_trace_against_the_kernel(build_dir, tmp_path):
    if not (build_dir / "exo-kernel").is_file():
        pytest.fail(f"{build_dir / 'exo-kernel'} is missing: build first", pytrace=False)
    out, replies = tmp_path / "boot.json", tmp_path / "replies.json"
    p = run_exo("trace", "-o", str(out), "--duration", "1.2", "--save-replies", str(replies), build_dir=build_dir)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == str(out) and "init deferred" in p.stderr
    doc = json.loads(out.read_text())
    assert_valid(doc)
    rec = trace.Recording.from_json(json.loads(replies.read_text()))
    assert len(rec.mem) >= 8 and len(rec.anchors) == 2
    check_against_replies(doc, rec)
    assert {"acpi", "pci"} <= {s["name"] for s in slices_on(doc, "deferred inits")}
