"""The host client, host-tools/exo: parser over recorded shell output, error
paths against a fake shell, and every command end to end against the real
kernel in QEMU (PVH boot: the fastest; one query boots the ISO).

The build directory is $EXO_BUILD_DIR (default <repo>/build), as for the
other integration tests.
"""
from __future__ import annotations

import csv
import json
import os
import pty
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
HOST_TOOLS = REPO_DIR / "host-tools"
EXO = HOST_TOOLS / "exo"
TRANSCRIPTS = REPO_DIR / "tests" / "fixtures" / "shell_transcripts"
PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(HOST_TOOLS))

import exo_qemu  # noqa: E402
from exo_client import connection as conn  # noqa: E402
from exo_client import plots  # noqa: E402

EXIT_KERNEL, EXIT_UNREACHABLE, EXIT_TIMEOUT, EXIT_PROTOCOL = 1, 3, 4, 5
PHASES = ("critical", "essential", "optional")


# --------------------------------------------------------------------------
# Helpers

def _require_kernel(build_dir: Path) -> None:
    for name in ("exo-kernel", "exo.iso"):
        if not (build_dir / name).is_file():
            pytest.fail(f"{build_dir / name} is missing: build first "
                        "(cmake -S . -B build -G Ninja && cmake --build build; or set EXO_BUILD_DIR)",
                        pytrace=False)


def run_exo(*args: str, build_dir: Path, timeout: float = 60, input: bytes | None = None,
            env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, EXO_BUILD_DIR=str(build_dir), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    env.update(env_extra or {})
    return subprocess.run([PYTHON, str(EXO), *args], capture_output=True, timeout=timeout, env=env,
                          input=input, text=False)


def out(p: subprocess.CompletedProcess) -> str:
    return p.stdout.decode(errors="replace")


def err(p: subprocess.CompletedProcess) -> str:
    return p.stderr.decode(errors="replace")


def is_png(path: Path, min_bytes: int = 10_000) -> bool:
    data = path.read_bytes()
    return data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= min_bytes


def transcript(name: str) -> str:
    with open(TRANSCRIPTS / name, newline="") as f:
        return f.read()


def recorded_json(name: str, command: str) -> dict:
    _, entries = conn.parse_transcript(transcript(name))
    for e in entries:
        if e.command == command:
            return conn.parse_json_output(command, e.output)
    raise KeyError(command)


class FakeShell:
    """A TCP server that answers like the shell, from a transcript (or
    never, with silent=True): for the error paths a real kernel cannot
    produce on demand."""

    def __init__(self, responses: dict[str, str], silent: bool = False):
        self.responses = responses
        self.silent = silent
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @classmethod
    def from_transcript(cls, name: str, **kw) -> "FakeShell":
        _, entries = conn.parse_transcript(transcript(name))
        return cls({e.command: e.output for e in entries}, **kw)

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.server.accept()
            except OSError:
                return
            self.conns.append(c)
            threading.Thread(target=self._talk, args=(c,), daemon=True).start()

    def _talk(self, c: socket.socket) -> None:
        buf = b""
        while True:
            try:
                data = c.recv(4096)
            except OSError:
                return
            if not data:
                return
            buf += data.replace(b"\x15", b"")
            while (m := re.search(rb"[\r\n]", buf)):
                line, buf = buf[:m.start()].decode().strip(), buf[m.end():]
                if self.silent:
                    continue
                if not line:
                    reply = "\r\nexo> "
                else:
                    body = self.responses.get(line, f"error: unknown command '{line}' (try help)")
                    reply = line + "\r\n" + (body.replace("\n", "\r\n") + "\r\n" if body else "") + "exo> "
                c.sendall(reply.encode())

    def close(self) -> None:
        self.server.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def fake_shell():
    made: list[FakeShell] = []

    def make(name: str | None = None, **kw) -> FakeShell:
        f = FakeShell.from_transcript(name, **kw) if name else FakeShell({}, **kw)
        made.append(f)
        return f
    yield make
    for f in made:
        f.close()


@pytest.fixture
def tcp_kernel(build_dir, request):
    """Factory: a QEMU (PVH) started here with COM1 on a loopback TCP
    server, for --connect; stopped at teardown."""
    _require_kernel(build_dir)
    procs: list[subprocess.Popen] = []

    def start() -> tuple[subprocess.Popen, int]:
        port = exo_qemu.free_tcp_port()
        spec = exo_qemu.LaunchSpec(mode=exo_qemu.BootMode.PVH, build_dir=build_dir,
                                   com1=exo_qemu.tcp_chardev(port, wait=False), com2="null")
        p = subprocess.Popen(exo_qemu.build_argv(spec), stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        deadline = time.monotonic() + 20
        while True:  # QEMU creates the listener before the guest runs
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if p.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"QEMU did not listen on {port}: {p.stderr.read().decode(errors='replace')}")
                time.sleep(0.05)
        return p, port

    yield start
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
        p.stderr.close()


# --------------------------------------------------------------------------
# Parser over recorded shell output (no QEMU)

@pytest.mark.parametrize("name", ["pvh_session.txt", "iso_session.txt"])
def test_recorded_sessions_parse(name):
    boot_log, entries = conn.parse_transcript(transcript(name))
    assert "Exo-OS" in boot_log
    parsed = 0
    for e in entries:
        if e.command.endswith("--json") and not e.command.startswith("bogus"):
            obj = conn.parse_json_output(e.command, e.output)
            assert obj["schema"] == 1
            parsed += 1
    assert parsed >= 3
    boot = recorded_json(name, "boot --json")
    for t in boot["tasks"]:
        assert {"name", "phase", "start_us", "duration_us", "status"} <= t.keys()
    assert {"phys", "heap"} <= recorded_json(name, "mem --json").keys()
    assert all(m["virt"].startswith("0x") for m in recorded_json(name, "pages --json")["mappings"])


def test_recorded_errors_and_deferred():
    _, entries = conn.parse_transcript(transcript("pvh_session.txt"))
    by_cmd = {}
    for e in entries:
        by_cmd.setdefault(e.command, []).append(e.output)
    with pytest.raises(conn.KernelError, match="unknown command 'bogus'"):
        conn.parse_json_output("bogus --json", by_cmd["bogus --json"][0])
    assert by_cmd["mem --bogus"][0].startswith("error:")
    # boot --json before and after `init deferred`
    before, after = (conn.parse_json_output("boot --json", o) for o in by_cmd["boot --json"])
    assert not any(t["deferred"] for t in before["tasks"])
    deferred = [t for t in after["tasks"] if t["deferred"]]
    assert deferred and all(t["status"] == "ok" for t in deferred)
    assert "already done" in by_cmd["init deferred"][1]
    # the watch in the transcript: every line is a mem sample
    watch_out = by_cmd["watch mem 100"][0]
    samples = [conn.parse_json_line("mem --json", ln) for ln in watch_out.splitlines() if ln.startswith("{")]
    assert len(samples) >= 3 and all("heap" in s for s in samples)


def test_bad_json_shows_the_line():
    _, entries = conn.parse_transcript(transcript("bad_json.txt"))
    for e in entries:
        with pytest.raises(conn.BadJson) as ei:
            conn.parse_json_output(e.command, e.output)
        msg = str(ei.value)
        assert e.command in msg and "not valid JSON" in msg
        assert "^" in msg  # caret under the offending column
        assert ei.value.line.startswith("{")


def test_schema_newer_and_missing():
    _, entries = conn.parse_transcript(transcript("schema_v2.txt"))
    mem = next(e for e in entries if e.command == "mem --json")
    with pytest.raises(conn.SchemaTooNew, match="schema 2.*only knows schema 1"):
        conn.parse_json_output(mem.command, mem.output)
    up = next(e for e in entries if e.command == "uptime --json")
    with pytest.raises(conn.ProtocolError, match="without a \"schema\" key"):
        conn.parse_json_output(up.command, up.output)


def test_no_json_line():
    _, entries = conn.parse_transcript(transcript("no_json.txt"))
    for e in entries:
        with pytest.raises(conn.ProtocolError, match="printed no JSON line"):
            conn.parse_json_output(e.command, e.output)


def test_connect_urls():
    assert conn.resolve_url("tcp:127.0.0.1:4555") == "socket://127.0.0.1:4555"
    assert conn.resolve_url("tcp:4555") == "socket://127.0.0.1:4555"
    assert conn.resolve_url("localhost:4555") == "socket://localhost:4555"
    assert conn.resolve_url("socket://h:1") == "socket://h:1"
    assert conn.resolve_url("/dev/pts/7") == "/dev/pts/7"


def test_plots_from_recorded_json(tmp_path):
    boot = recorded_json("pvh_session.txt", "boot --json")
    _, entries = conn.parse_transcript(transcript("pvh_session.txt"))
    boot_after = [conn.parse_json_output(e.command, e.output) for e in entries if e.command == "boot --json"][-1]
    for name, fig in (("boot", plots.boot_figure(boot)), ("boot_deferred", plots.boot_figure(boot_after)),
                      ("pages", plots.pages_figure(recorded_json("pvh_session.txt", "pages --json")))):
        plots.save(fig, tmp_path / f"{name}.svg")
    plots.save(fig, tmp_path / "pages.png")
    assert is_png(tmp_path / "pages.png")
    svg = (tmp_path / "boot_deferred.svg").read_text()
    for t in boot_after["tasks"]:
        assert f">{t['name']}<" in svg
    assert "deferred init" in svg
    assert "not run yet: acpi" in (tmp_path / "boot.svg").read_text()


def test_wx_warning(tmp_path, build_dir):
    pages_json = tmp_path / "pages.json"
    pages_json.write_text(json.dumps(recorded_json("wx_pages.txt", "pages --json")))
    p = run_exo("plot", "pages", "--from-json", str(pages_json), "-o", str(tmp_path / "wx.svg"),
                "-o", str(tmp_path / "wx.png"), build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert "WARNING" in err(p) and "0xffffffff80140000" in err(p)
    assert "writable AND executable (W+X)" in (tmp_path / "wx.svg").read_text()
    assert is_png(tmp_path / "wx.png")


# --------------------------------------------------------------------------
# Error paths against a fake shell (TCP) and nothing at all

def test_connect_closed_port(build_dir):
    port = exo_qemu.free_tcp_port()
    p = run_exo("query", "mem", "--connect", f"tcp:127.0.0.1:{port}", build_dir=build_dir)
    assert p.returncode == EXIT_UNREACHABLE
    assert "cannot connect to tcp:127.0.0.1" in err(p) and "Connection refused" in err(p)
    assert out(p) == ""


def test_fake_shell_errors(fake_shell, build_dir):
    f = fake_shell("schema_v2.txt")
    p = run_exo("query", "mem", "--connect", f"tcp:127.0.0.1:{f.port}", build_dir=build_dir)
    assert p.returncode == EXIT_PROTOCOL and "schema 2" in err(p) and "update" in err(p)

    f = fake_shell("bad_json.txt")
    p = run_exo("query", "mem", "--connect", f"tcp:127.0.0.1:{f.port}", build_dir=build_dir)
    assert p.returncode == EXIT_PROTOCOL
    assert "not valid JSON" in err(p) and '"used_kib":852 "free_kib"' in err(p)

    f = fake_shell(silent=True)
    t0 = time.monotonic()
    p = run_exo("query", "mem", "--connect", f"tcp:127.0.0.1:{f.port}", "--timeout", "1",
                build_dir=build_dir)
    assert p.returncode == EXIT_TIMEOUT and "timed out after 1.0 s" in err(p) and "prompt" in err(p)
    assert time.monotonic() - t0 < 15


def test_gdb_command_line(build_dir):
    p = run_exo("gdb", "--connect", "tcp:127.0.0.1:4444", "--dry-run", build_dir=build_dir)
    assert p.returncode == 0, err(p)
    helpers = REPO_DIR / "host-tools" / "gdb" / "exo.py"
    assert out(p).strip() == (f"gdb {build_dir / 'exo-kernel.elf'} -ex 'source {helpers}' "
                              "-ex 'target remote 127.0.0.1:4444'")
    p = run_exo("gdb", "--dry-run", build_dir=build_dir)  # own QEMU: its command, then gdb's
    qemu_line, gdb_line = out(p).strip().splitlines()
    port = re.search(r"target remote 127\.0\.0\.1:(\d+)'$", gdb_line).group(1)
    assert f"-serial tcp:127.0.0.1:{port},server=on,wait=off" in qemu_line


# --------------------------------------------------------------------------
# End to end against the kernel

def test_query(build_dir, tmp_path):
    _require_kernel(build_dir)
    p = run_exo("query", "mem", "--transcript", str(tmp_path / "com1.txt"), build_dir=build_dir)
    assert p.returncode == 0, err(p)
    mem = json.loads(out(p))
    assert mem["schema"] == 1 and mem["phys"]["total_kib"] > 0 and "used_bytes" in mem["heap"]
    # the transcript is COM1 as it came: boot log, prompt, the command, its JSON
    boot_log, entries = conn.parse_transcript((tmp_path / "com1.txt").read_text())
    assert "Exo-OS" in boot_log and entries[0].command == "mem --json"
    assert conn.parse_json_output("mem --json", entries[0].output)["phys"] == mem["phys"]
    p = run_exo("query", "bogus", build_dir=build_dir)
    assert p.returncode == EXIT_KERNEL and "error: unknown command 'bogus'" in err(p)


def test_query_iso_pretty(build_dir):
    _require_kernel(build_dir)
    p = run_exo("query", "boot", "--pretty", "--iso", build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert out(p).startswith("{\n  ")
    assert json.loads(out(p))["tasks"]


def test_plot_boot_and_pages(build_dir, tmp_path):
    _require_kernel(build_dir)
    p = run_exo("plot", "boot", "--deferred", "-o", str(tmp_path / "boot.png"), "-o", str(tmp_path / "boot.svg"),
                build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert "init deferred:" in err(p)
    assert is_png(tmp_path / "boot.png")
    svg = (tmp_path / "boot.svg").read_text()
    assert "deferred (init deferred)" in svg and ">acpi<" in svg and ">paging<" in svg
    p = run_exo("plot", "pages", "-o", str(tmp_path / "pages.png"), build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert "WARNING" not in err(p)
    assert is_png(tmp_path / "pages.png")


def test_plot_mem_with_deferred(build_dir, tmp_path):
    _require_kernel(build_dir)
    p = run_exo("plot", "mem", "--duration", "1.6", "--trigger-deferred-at", "0.6", "-o", str(tmp_path / "mem.png"),
                "--csv", str(tmp_path / "mem.csv"), build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert is_png(tmp_path / "mem.png")
    rows = list(csv.DictReader(open(tmp_path / "mem.csv")))
    assert len(rows) >= 8
    assert sum(1 for r in rows if r["event"].startswith("init deferred")) == 1
    assert all(int(r["phys_used_kib"]) > 0 for r in rows)
    times = [float(r["t_s"]) for r in rows]
    assert times == sorted(times) and times[-1] >= 1.0


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory, build_dir):
    _require_kernel(build_dir)
    d = tmp_path_factory.mktemp("report")
    p = run_exo("report", "-o", str(d), "--duration", "1.6", "--trigger-deferred-at", "0.6", build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert out(p).strip() == str(d / "index.html")
    return d


def test_report_files(report_dir):
    d = report_dir
    for name in ("boot", "mem", "pages"):
        assert is_png(d / f"{name}.png"), name
        assert (d / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    for name in ("boot", "boot_before_deferred", "mem", "pages", "drivers", "cpu", "uptime", "log"):
        assert json.loads((d / "json" / f"{name}.json").read_text())["schema"] == 1
    boot = json.loads((d / "json" / "boot.json").read_text())
    tasks = list(csv.DictReader(open(d / "boot_tasks.csv")))
    assert {t["name"] for t in tasks} == {t["name"] for t in boot["tasks"]}
    assert any(t["deferred"] == "1" for t in tasks)
    maps = list(csv.DictReader(open(d / "mappings.csv")))
    assert maps and all(m["virt"].startswith("0xffff") for m in maps)
    mem_rows = list(csv.DictReader(open(d / "mem_samples.csv")))
    assert len(mem_rows) >= 8 and any(r["event"] for r in mem_rows)
    assert (d / "mem_watch.jsonl").read_text().count("\n") == len(mem_rows)


def test_report_svgs_name_tasks_and_phases(report_dir):
    boot = json.loads((report_dir / "json" / "boot.json").read_text())
    svg = (report_dir / "boot.svg").read_text()
    for t in boot["tasks"]:
        assert f">{t['name']}<" in svg, t["name"]
    for phase in {t["phase"] for t in boot["tasks"]}:
        assert phase in svg
    assert "init deferred" in (report_dir / "mem.svg").read_text()
    assert "kernel image" in (report_dir / "pages.svg").read_text()


def test_report_index(report_dir):
    html = (report_dir / "index.html").read_text()
    for ref in ("boot.png", "mem.png", "pages.png", "boot.svg", "boot_tasks.csv", "mem_samples.csv",
                "mappings.csv", "json/boot.json", "trace.json"):
        assert f"'{ref}'" in html, ref
        assert (report_dir / ref).is_file()
    assert "W+X audit: none" in html and "Boot work" in html and "Deferred inits" in html
    assert "ui.perfetto.dev" in html and "chrome://tracing" in html
    from test_trace import assert_valid  # the trace-event format check
    doc = json.loads((report_dir / "trace.json").read_text())
    assert_valid(doc)
    assert any(e["ph"] == "X" and e["name"] == "acpi" for e in doc["traceEvents"])


def test_connect_and_lose_the_kernel(tcp_kernel, build_dir, tmp_path):
    qemu, port = tcp_kernel()
    url = f"tcp:127.0.0.1:{port}"
    p = run_exo("query", "uptime", "--connect", url, build_dir=build_dir)
    assert p.returncode == 0, err(p)
    assert json.loads(out(p))["uptime_us"] > 0
    # a recording that loses its kernel half-way: a clear error, promptly
    env = dict(os.environ, EXO_BUILD_DIR=str(build_dir), MPLBACKEND="Agg")
    rec = subprocess.Popen([PYTHON, str(EXO), "plot", "mem", "--connect", url, "--duration", "30",
                            "-o", str(tmp_path / "never.png")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env)
    try:
        deadline = time.monotonic() + 20
        buf = b""
        while b"recording" not in buf and time.monotonic() < deadline:
            if select.select([rec.stderr], [], [], 0.5)[0]:
                buf += os.read(rec.stderr.fileno(), 4096)
        assert b"recording" in buf, buf
        time.sleep(0.4)
        qemu.kill()
        t0 = time.monotonic()
        rest = rec.communicate(timeout=20)[1]
    finally:
        if rec.poll() is None:
            rec.kill()
            rec.wait()
    message = (buf + rest).decode(errors="replace")
    assert rec.returncode == EXIT_UNREACHABLE, message
    assert "lost the connection" in message
    assert time.monotonic() - t0 < 10
    assert not (tmp_path / "never.png").exists()


def test_shell_in_a_pty(build_dir):
    """`exo shell` on a terminal: raw mode, keys reach the kernel, Ctrl-]
    leaves, the terminal's modes are restored."""
    _require_kernel(build_dir)
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    env = dict(os.environ, EXO_BUILD_DIR=str(build_dir))
    p = subprocess.Popen([PYTHON, str(EXO), "shell"], stdin=slave, stdout=slave, stderr=slave, env=env,
                         start_new_session=True)
    got = b""

    def read_until(marker: bytes, timeout: float = 30) -> None:
        nonlocal got
        deadline = time.monotonic() + timeout
        while marker not in got:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} in {got[-500:]!r}"
            if select.select([master], [], [], min(left, 0.5))[0]:
                try:
                    got += os.read(master, 4096)
                except OSError:
                    break
    try:
        read_until(b"exo> ")
        assert b"Ctrl-] leaves" in got
        os.write(master, b"uptime\r")
        read_until(b"timer ticks")
        os.write(master, b"\x1d")
        assert p.wait(timeout=15) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    after = termios.tcgetattr(slave)
    os.close(master)
    os.close(slave)
    assert after == before


def test_shell_piped_and_run_poweroff(build_dir):
    _require_kernel(build_dir)
    p = run_exo("shell", input=b"uptime --json\n", build_dir=build_dir, timeout=40)
    assert p.returncode == 0, err(p)
    assert '"uptime_us"' in out(p)
    # exo run: the shell on stdio, COM2 on a free port; `poweroff` ends it with 0
    p = run_exo("run", "--no-build", input=b"poweroff\n", build_dir=build_dir, timeout=40)
    assert p.returncode == 0, err(p)
    assert re.search(r"GDB stub \(COM2\) on tcp 127\.0\.0\.1:\d+", err(p))
    assert "exo> " in out(p)


def test_plot_mem_live_window(build_dir, tmp_path):
    """`plot mem --live` in a real window (Xvfb, when installed): the
    window's figure is written when the recording ends; SIGTERM closes
    everything, QEMU included."""
    import shutil
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb): no display for the live window")
    _require_kernel(build_dir)
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
                            pass_fds=(wfd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(wfd)
    exo = None
    try:
        with os.fdopen(rfd) as f:
            display = f.readline().strip()
        assert display, "Xvfb gave no display number"
        env = dict(os.environ, EXO_BUILD_DIR=str(build_dir), DISPLAY=f":{display}")
        env.pop("MPLBACKEND", None)
        png = tmp_path / "live.png"
        exo = subprocess.Popen([PYTHON, str(EXO), "plot", "mem", "--live", "--duration", "1.2",
                                "--trigger-deferred-at", "0.5", "-o", str(png)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        deadline = time.monotonic() + 40
        while not (png.is_file() and is_png(png)) and time.monotonic() < deadline and exo.poll() is None:
            time.sleep(0.2)
        assert exo.poll() is None, exo.communicate()[1].decode(errors="replace")
        assert is_png(png)
        children = Path(f"/proc/{exo.pid}/task/{exo.pid}/children").read_text().split()
        exo.send_signal(signal.SIGTERM)
        assert exo.wait(timeout=15) == 128 + signal.SIGTERM
        time.sleep(0.3)
        for pid in children:  # QEMU went with it
            assert not Path(f"/proc/{pid}").exists() or \
                Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    finally:
        if exo is not None and exo.poll() is None:
            exo.kill()
            exo.wait()
        xvfb.terminate()
        xvfb.wait(timeout=10)
