"""Arguments of host-tools/exo (and exo_qemu.py) that cannot work end the
command at once with status 2 and a message naming the argument, before any
QEMU starts: QEMU is a stand-in that leaves a mark if it is ever run. The
smallest machines the refusal names are then booted for real.

The build directory is $EXO_BUILD_DIR (default <repo>/build), as for the
other integration tests.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
HOST_TOOLS = REPO_DIR / "host-tools"
PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(HOST_TOOLS))

import exo_qemu  # noqa: E402

EXIT_USAGE = 2


@pytest.fixture
def no_qemu(tmp_path):
    """(env, mark): EXO_QEMU is a script that creates `mark` and fails."""
    mark = tmp_path / "qemu-was-run"
    fake = tmp_path / "qemu-stand-in"
    fake.write_text(f"#!/bin/sh\ntouch '{mark}'\nexit 1\n")
    fake.chmod(0o755)
    env = dict(os.environ, EXO_QEMU=str(fake), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env, mark


def run(argv: list[str], env: dict, build_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=dict(env, EXO_BUILD_DIR=str(build_dir)), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=60)


def exo(*args: str) -> list[str]:
    return [PYTHON, str(HOST_TOOLS / "exo"), *args]


def unused_x_display() -> str:
    """A display number no X server listens on (socket file or abstract)."""
    sockets = Path("/proc/net/unix").read_text()
    for n in range(90, 200):
        if f"/tmp/.X11-unix/X{n}" not in sockets and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return f":{n}"
    pytest.fail("no free X display number in 90..199")


# (arguments, words the message must have); FILE is an existing file, DIR a directory.
REFUSED = [
    (["report", "-o", "FILE"], "exists and is not a directory"),
    (["report", "-o", "FILE/sub"], "is not a directory"),
    (["report", "-o", "DIR", "--duration", "2", "--trigger-deferred-at", "2"], "--trigger-deferred-at 2"),
    (["report", "-o", "DIR", "--interval", "70000"], "--interval 70000"),
    (["--mem", "1", "query", "mem"], "--mem 1 is too small: Exo-OS needs 2 MiB or more with PVH"),
    (["query", "mem", "--microvm", "--mem", "1"], "2 MiB or more with PVH on microvm"),
    (["query", "mem", "--iso", "--mem", "3"], "4 MiB or more through GRUB"),
    (["run", "--mem", "0"], "--mem 0 is too small"),
    (["run", "--gdb-port", "70000"], "--gdb-port 70000"),
    (["query", "mem", "--timeout", "0"], "--timeout 0"),
    (["query", "mem", "--transcript", "DIR"], "is a directory"),
    (["plot", "mem", "-o", "DIR/m.png", "--duration", "0"], "--duration 0"),
    (["plot", "mem", "-o", "DIR/m.png", "--duration", "-1"], "--duration -1"),
    (["plot", "mem", "-o", "DIR/m.png", "--interval", "5"], "--interval 5"),
    (["plot", "mem", "-o", "DIR/m.png", "--trigger-deferred-at", "5"], "below --duration 5"),
    (["plot", "mem", "-o", "DIR/m.png", "--csv", "DIR/no/such/m.csv"], "--csv"),
    (["plot", "mem"], "no display"),
    (["plot", "boot"], "no display"),
    (["plot", "boot", "-o", "DIR/b.bogus"], "cannot write .bogus"),
    (["plot", "pages", "-o", "DIR"], "is a directory"),
    (["plot", "boot", "--from-json", "DIR/none.json", "-o", "DIR/b.png"], "--from-json"),
    (["trace", "-o", "DIR/t.json", "--duration", "0"], "--duration 0"),
    (["trace", "-o", "DIR/t.json", "--interval", "9"], "--interval 9"),
    (["trace", "-o", "DIR/t.json", "--duration", "2", "--trigger-deferred-at", "3"], "--trigger-deferred-at 3"),
    (["trace", "-o", "DIR/t.json", "--trigger-deferred-at", "-1"], "--trigger-deferred-at -1"),
    (["trace", "-o", "DIR"], "is a directory"),
    (["trace", "-o", "DIR/t.json", "--from-replies", "DIR/none.json"], "--from-replies"),
    (["gdb", "--iso", "--append", "log=verbose"], "--append with --iso"),
]


@pytest.mark.parametrize("args,words", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_refused_before_qemu(args, words, no_qemu, tmp_path, build_dir):
    env, mark = no_qemu
    (tmp_path / "file").write_text("not a directory\n")
    args = [a.replace("FILE", str(tmp_path / "file")).replace("DIR", str(tmp_path)) for a in args]
    p = run(exo(*args), env, build_dir)
    assert p.returncode == EXIT_USAGE, p.stderr
    assert words in p.stderr and "Traceback" not in p.stderr, p.stderr
    assert not mark.exists(), "QEMU was started"


def test_unreachable_display_names_the_display(no_qemu, build_dir):
    """$DISPLAY set, nothing there: matplotlib falls back to agg; the
    message is about the display, not a package (python3-tk is installed)."""
    env, mark = no_qemu
    env = dict(env, DISPLAY=unused_x_display())
    env.pop("MPLBACKEND")
    p = run(exo("plot", "boot"), env, build_dir)
    assert p.returncode == EXIT_USAGE, p.stderr
    assert f"cannot open display '{env['DISPLAY']}'" in p.stderr and "apt-get" not in p.stderr, p.stderr
    assert not mark.exists()


@pytest.mark.parametrize("args,words", [
    (["--mem", "3"], "--mem 3 is too small: Exo-OS needs 4 MiB or more through GRUB"),
    (["--pvh", "--mem", "1"], "2 MiB or more with PVH"),
    (["--gdb-port", "-1"], "--gdb-port -1"),
])
def test_launcher_refuses(args, words, no_qemu, build_dir):
    """run.sh's launcher: the same limits, status 2, QEMU never started."""
    env, mark = no_qemu
    p = run([PYTHON, str(HOST_TOOLS / "exo_qemu.py"), *args], env, build_dir)
    assert p.returncode == EXIT_USAGE and words in p.stderr, p.stderr
    assert not mark.exists()


@pytest.mark.parametrize("mode", ["pvh", "microvm", "iso"])
def test_smallest_machine_boots(mode, build_dir):
    """The refusal's limits are the real ones: the smallest allowed -m
    boots to the prompt and answers."""
    for name in ("exo-kernel", "exo.iso"):
        if not (build_dir / name).is_file():
            pytest.fail(f"{build_dir / name} is missing: build first (host-tools/build.sh)", pytrace=False)
    least = exo_qemu.MIN_MEM_MIB[exo_qemu.BootMode(mode)]
    flags = {"pvh": [], "microvm": ["--microvm"], "iso": ["--iso"]}[mode]
    env = dict(os.environ, MPLBACKEND="Agg")
    p = run(exo("query", "mem", "--mem", str(least), *flags), env, build_dir)
    assert p.returncode == 0, p.stderr
    assert 0 < json.loads(p.stdout)["phys"]["total_kib"] <= least * 1024
