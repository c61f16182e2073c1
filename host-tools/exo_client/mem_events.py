"""Commands the memory recording runs at given times (`exo plot mem --at
2:user sampler --at 4:bench`): parsing the option and summing up what each
printed, for the mark on the plot. Pure."""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence

INIT_DEFERRED = "init deferred"
# They would never hand the prompt back, or would end the kernel, in the middle of a recording.
REFUSED = ("watch", "poweroff", "reboot", "fault")
DETAIL_LINES = 3
DETAIL_CHARS = 70


def parse_at(spec: str) -> tuple:
    """`T:COMMAND` -> (T seconds, command); ValueError saying what is wrong."""
    when, sep, command = spec.partition(":")
    command = " ".join(command.split())
    if not sep or not command:
        raise ValueError(f"{spec!r}: expected TIME:COMMAND, e.g. 2:user sampler")
    try:
        t = float(when)
    except ValueError:
        raise ValueError(f"{spec!r}: {when!r} is not a time in seconds") from None
    if not t >= 0:
        raise ValueError(f"{spec!r}: the time must be >= 0 s")
    if command.split()[0] in REFUSED:
        raise ValueError(f"{spec!r}: `{command.split()[0]}` cannot run inside a recording")
    return t, command


def schedule(at: Iterable[tuple], deferred_at: Optional[float] = None) -> list:
    """The events in time order; --trigger-deferred-at T is `--at T:init deferred`."""
    events = list(at)
    if deferred_at is not None:
        events.append((float(deferred_at), INIT_DEFERRED))
    return sorted(events, key=lambda e: e[0])


def check_inside(events: Sequence[tuple], duration: Optional[float]) -> Optional[str]:
    """A problem with the schedule against the recording length, or None."""
    if duration is None:
        return None
    late = [f"{t:g}:{c}" for t, c in events if t >= duration]
    return f"--at {', '.join(late)}: not inside --duration {duration:g}" if late else None


def summarize_init(output: str) -> str:
    """`init deferred`'s lines, whitespace collapsed, for a plot label:
    `init acpi  ok  1385.2 us, ...` -> `acpi ok 1385.2 us, ...`."""
    lines = []
    for ln in output.splitlines():
        ln = re.sub(r"\s+", " ", ln).strip()
        if ln.startswith("init "):
            ln = ln[5:]
        if ln:
            lines.append(ln)
    return "; ".join(lines) or "(no output)"


def summarize(command: str, output: str) -> str:
    """What a command printed, short enough for a mark: an error line if
    there is one, else its first lines ("; "-separated)."""
    if command == INIT_DEFERRED:
        return summarize_init(output)
    lines = [re.sub(r"\s+", " ", ln).strip() for ln in output.splitlines()]
    lines = [ln for ln in lines if ln]
    errors = [ln for ln in lines if ln.startswith("error:")]
    if errors:
        return errors[0][:DETAIL_CHARS]
    shown = [ln if len(ln) <= DETAIL_CHARS else ln[:DETAIL_CHARS - 1] + "…" for ln in lines[:DETAIL_LINES]]
    if len(lines) > DETAIL_LINES:
        shown.append(f"(+{len(lines) - DETAIL_LINES} more lines)")
    return "; ".join(shown) or "(no output)"
