"""`log grep WORD` and `log level [LEVEL]`: the Zephyr shell's runtime log
filter and console level, on the real kernel (PVH boots in a fraction of a
second). The ring keeps every record whatever the console level; only the
echo on COM1 changes. Every wait is for a marker on COM1.
"""
from __future__ import annotations

import re

from exo_qemu import BootMode

from test_shell import CMD_TIMEOUT_S, json_command

EXIT_0 = "user: thread {} (user:sampler) exited with 0"
STARTED = re.compile(r"started thread (\d+) \(user:sampler\)")


def test_log_grep_shows_only_matching_records(booted):
    q = booted(BootMode.PVH)
    everything = json_command(q, "log")["records"]
    assert any("cmdline" in r["text"] for r in everything), everything
    only = json_command(q, "log grep cmdline")["records"]
    assert only and all("cmdline" in r["text"] for r in only), only
    assert [r["seq"] for r in only] == [r["seq"] for r in everything if "cmdline" in r["text"]]
    assert json_command(q, "log grep no-such-word-zz")["records"] == []
    text = q.command("log grep cmdline")
    assert "cmdline" in text and "boot:" not in text, text
    assert q.command("log grep").startswith("error: usage"), "a grep without a word is accepted"


def test_log_level_changes_what_the_console_echoes(booted):
    q = booted(BootMode.PVH)
    assert q.command("log level") == "console: info and up"
    # A sampler's clean exit is a debug record: shown once the level is debug.
    assert q.command("log level debug") == "console: debug and up"
    tid = STARTED.search(q.command("user sampler")).group(1)
    q.wait_for(EXIT_0.format(tid).encode(), CMD_TIMEOUT_S)
    # At warn, its result line (info) stays in the ring only.
    assert q.command("log level warn") == "console: warn and up"
    start = len(q.output)
    tid = STARTED.search(q.command("user sampler")).group(1)
    # `watch log 100` sleeps between samples, so the sampler (of lower
    # priority than the shell) runs; polling `log` back to back starves it.
    q.send("watch log 100\r")
    deadline_samples = 200
    for _ in range(deadline_samples):
        line = q.wait_for(re.compile(rb'\{"schema".*\}\r\n'), CMD_TIMEOUT_S).text
        if EXIT_0.format(tid).encode() in line:
            break
    else:
        raise AssertionError("the second sampler never exited")
    q.send("\x03")
    q.wait_prompt(CMD_TIMEOUT_S)
    seen = q.output[start:].decode(errors="replace")
    echoed = re.compile(r'(?<!"text":")(user:sampler: 5 samples|' + re.escape(EXIT_0.format(tid)) + ")")
    assert not echoed.search(seen), f"echoed at level warn:\n{seen}"
    assert q.command("log level info") == "console: info and up"
    assert q.command("log level loud").startswith("error: usage"), "a bad level is accepted"
    assert q.command("log level --json").startswith("error"), "`log level` has no JSON form"
