"""host-tools/run.sh as a newcomer meets it: on a terminal (a pty), the
first lines say how to get help and how to leave, QEMU's escape key leaves
the shell's keys alone (Ctrl-A is Home), and the build asks only for what
booting needs (checked with a stand-in cmake, and against ninja's graph).

The build directory is $EXO_BUILD_DIR (default <repo>/build), as for the
other integration tests; run.sh's build step finds it up to date.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
HOST_TOOLS = REPO_DIR / "host-tools"
PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(HOST_TOOLS))

import exo_qemu  # noqa: E402
from exo_client import cli  # noqa: E402

COLS, ROWS = 80, 24
# Upper bounds only: every wait returns when its marker arrives. The first
# one covers run.sh's build step if the tree is not built yet.
BUILD_AND_BOOT_TIMEOUT_S = 600.0
COMMAND_TIMEOUT_S = 20.0
CTRL_A, CTRL_C = b"\x01", b"\x03"
ESCAPE = b"\x1c"  # Ctrl-\: QEMU's escape under run.sh
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")


class PtyProcess:
    """A command on a fresh 80x24 pty in its own session; what it prints is
    read as it comes. kill() ends that session's process group (ours only)."""

    def __init__(self, argv: list[str], env: dict):
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.modes_before = termios.tcgetattr(self.slave)
        self.proc = subprocess.Popen(argv, stdin=self.slave, stdout=self.slave, stderr=self.slave,
                                     env=env, start_new_session=True)
        self.out = b""
        self.cursor = 0

    def wait_for(self, marker: bytes, timeout: float) -> int:
        """Offset just past `marker`'s first arrival after the last match."""
        deadline = time.monotonic() + timeout
        while (i := self.out.find(marker, self.cursor)) < 0:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} within {timeout:.0f} s; the terminal shows:\n" + \
                self.out[-1500:].decode(errors="replace")
            if select.select([self.master], [], [], left)[0]:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:  # EIO: every writer of the pty is gone
                    chunk = b""
                assert chunk, f"the terminal closed before {marker!r}:\n" + \
                    self.out[-1500:].decode(errors="replace")
                self.out += chunk
        self.cursor = i + len(marker)
        return self.cursor

    def type(self, data: bytes) -> None:
        os.write(self.master, data)

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def close(self) -> None:
        self.kill()
        os.close(self.master)
        os.close(self.slave)


def screen_at(text: str) -> list[str]:
    """The rows an 80x24 terminal shows when `text` has just been written
    (lines wrapped at 80 columns; a clear-screen drops what came before)."""
    for clear in ("\x1b[2J", "\x1bc"):
        text = text.rsplit(clear, 1)[-1]
    rows: list[str] = []
    for line in _ANSI.sub("", text).replace("\r", "").split("\n"):
        rows += [line[i:i + COLS] for i in range(0, max(len(line), 1), COLS)]
    return rows[-ROWS:]


def env_for(build_dir: Path, **extra: str) -> dict:
    return dict(os.environ, EXO_BUILD_DIR=str(build_dir), **extra)


# --------------------------------------------------------------------------
# On a terminal

def test_run_sh_on_a_terminal(build_dir):
    """Item 5 and the hint of item 11: the first screen at the prompt says
    `help` and how to leave; Ctrl-A and Ctrl-C reach the shell; QEMU's own
    key (Ctrl-\\) then x ends QEMU with 0 and the terminal's modes come back."""
    for name in ("exo.iso", "exo-kernel"):
        if not (build_dir / name).is_file():
            pytest.fail(f"{build_dir / name} is missing: build first (host-tools/build.sh)", pytrace=False)
    t = PtyProcess(["sh", str(HOST_TOOLS / "run.sh")], env_for(build_dir))
    try:
        prompt_at = t.wait_for(b"exo> ", BUILD_AND_BOOT_TIMEOUT_S)
        before_prompt = t.out[:prompt_at].decode(errors="replace")
        screen = screen_at(before_prompt)
        assert any("`help` lists the commands; leave with `poweroff` or Ctrl-\\ x." in row for row in screen), \
            "\n".join(screen)
        hint = exo_qemu.session_hint(escape=True)
        assert "Ctrl-A" in hint[2] and all(line in screen for line in hint)  # whole rows: none wraps
        assert before_prompt.index(hint[-1]) < before_prompt.index("Exo-OS"), "hint, then the boot log"
        argv_line = next(ln for ln in before_prompt.splitlines() if ln.startswith(exo_qemu.QEMU_BINARY))
        assert "-serial mon:stdio" in argv_line and "-echr 0x1c" in argv_line

        # Ctrl-A is the line editor's Home: `ptime`, Home, `u` runs `uptime`.
        t.type(b"ptime" + CTRL_A + b"u\r")
        t.wait_for(b"timer ticks", COMMAND_TIMEOUT_S)
        t.wait_for(b"exo> ", COMMAND_TIMEOUT_S)
        assert b"unknown command" not in t.out[prompt_at:]
        # Ctrl-C cancels the line in the shell, QEMU goes on.
        t.type(b"bogus" + CTRL_C)
        t.wait_for(b"^C", COMMAND_TIMEOUT_S)
        t.type(b"\r")
        t.wait_for(b"exo> ", COMMAND_TIMEOUT_S)

        t.type(ESCAPE + b"x")
        t.wait_for(b"QEMU: Terminated", COMMAND_TIMEOUT_S)
        assert t.proc.wait(timeout=COMMAND_TIMEOUT_S) == 0
        assert termios.tcgetattr(t.slave) == t.modes_before
    finally:
        t.close()


# --------------------------------------------------------------------------
# What gets built

def fake_tools(tmp_path: Path, names: tuple[str, ...]) -> tuple[dict, Path]:
    """Stand-ins for `names` on PATH that log their argv as JSON lines and
    succeed; returns (PATH addition env, the log)."""
    bin_dir, log = tmp_path / "bin", tmp_path / "calls.jsonl"
    bin_dir.mkdir()
    for name in names:
        tool = bin_dir / name
        tool.write_text(f"#!{PYTHON}\nimport json, os, sys\n"
                        f"with open({str(log)!r}, 'a') as f:\n"
                        f"    f.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + '\\n')\n")
        tool.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def calls(log: Path) -> list[list[str]]:
    return [json.loads(ln) for ln in log.read_text().splitlines()] if log.exists() else []


def test_run_sh_configures_then_builds_only_the_image(tmp_path):
    """Item 11: on a fresh clone run.sh configures, then builds exo-image
    (kernel and ISO) and nothing else; test.sh builds everything."""
    build = tmp_path / "fresh-build"
    path, log = fake_tools(tmp_path, ("cmake", "ctest"))
    p = subprocess.run(["sh", str(HOST_TOOLS / "run.sh"), "--dry-run"], env=env_for(build, **path),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert calls(log) == [["cmake", "-S", str(REPO_DIR), "-B", str(build), "-G", "Ninja"],
                          ["cmake", "--build", str(build), "--target", "exo-image"]]
    assert f"-cdrom {build / 'exo.iso'}" in p.stderr  # the launcher looks where the build went

    log.unlink()
    build.mkdir()
    (build / "CMakeCache.txt").write_text("")  # configured: no second configure
    p = subprocess.run(["sh", str(HOST_TOOLS / "test.sh")], env=env_for(build, **path),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert calls(log) == [["cmake", "--build", str(build)],
                          ["ctest", "--test-dir", str(build), "--output-on-failure", "-j2"]]


def test_exo_run_builds_only_the_image(tmp_path):
    """`exo run` builds the same target before booting (QEMU is a stand-in)."""
    build = tmp_path / "build"
    build.mkdir()
    for name in ("build.ninja", "exo-kernel", "exo-kernel.elf"):
        (build / name).write_text("")
    path, log = fake_tools(tmp_path, ("cmake", "qemu-stand-in"))
    env = env_for(build, **path, EXO_QEMU="qemu-stand-in")
    p = subprocess.run([PYTHON, str(HOST_TOOLS / "exo"), "run"], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    made = calls(log)
    assert made[0] == ["cmake", "--build", str(build), "--target", "exo-image"]
    assert made[1][0] == "qemu-stand-in" and len(made) == 2


def test_the_image_target_is_kernel_and_iso_only(build_dir):
    """exo-image, as ninja would build it: the kernel and the ISO, no unit
    test (which `all` does have)."""
    if not (build_dir / "build.ninja").is_file():
        pytest.fail(f"{build_dir} is not a Ninja build directory (cmake -S . -B build -G Ninja)", pytrace=False)

    def commands(*targets: str) -> str:
        return subprocess.run(["ninja", "-C", str(build_dir), "-t", "commands", *targets], check=True,
                              capture_output=True, text=True, timeout=60).stdout

    image = commands(cli.BOOT_TARGET)
    assert "grub-mkrescue" in image and "exo-kernel.elf" in image
    assert "exo_unit_tests" not in image and "gtest" not in image
    assert "exo_unit_tests" in commands("all")
