"""Fixtures for the QEMU boot tests: machines started through
host-tools/exo_qemu.py, driven over COM1 like a user would.

The build directory is $EXO_BUILD_DIR (default <repo>/build). Missing
artifacts fail the test with a message saying what to build; they never
skip it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_DIR = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_DIR / "host-tools"))

import exo_qemu  # noqa: E402
from exo_qemu import BootMode, Qemu  # noqa: E402

# Generous: TCG on a loaded CI machine. Only ever an upper bound; every wait
# returns as soon as the marker arrives.
BOOT_TIMEOUT_S = exo_qemu.DEFAULT_BOOT_TIMEOUT_S
BUILD_HINT = "build it first: cmake -S . -B build -G Ninja && cmake --build build"


@pytest.fixture(scope="session")
def build_dir() -> Path:
    return Path(os.environ.get("EXO_BUILD_DIR", REPO_DIR / "build")).resolve()


def _require(path: Path) -> None:
    if not path.is_file():
        pytest.fail(f"{path} is missing ({BUILD_HINT}; or set EXO_BUILD_DIR)", pytrace=False)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # A failing test's report carries each of its machines' full COM1 output
    # and QEMU stderr (the exception only shows the last 2 KB of COM1).
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when == "call":
        for i, q in enumerate(getattr(item, "exo_machines", ())):
            report.sections.append((
                f"COM1 of machine {i} ({q.spec.mode.value})",
                f"$ {exo_qemu.format_argv(q.argv)}\n{q.text}\n"
                f"--- QEMU stderr ---\n{q.stderr_text}"))


@pytest.fixture
def machine(request, build_dir):
    """Factory: machine(mode, **Qemu kwargs) starts QEMU; every machine is
    stopped at teardown, and a failing test gets each machine's full COM1
    output and QEMU stderr in its report."""
    started: list[Qemu] = []
    request.node.exo_machines = started

    def start(mode: BootMode | str = BootMode.ISO, **kwargs) -> Qemu:
        mode = BootMode(mode)
        if "iso" not in kwargs and "kernel" not in kwargs:
            _require(build_dir / ("exo-kernel" if mode.is_direct else "exo.iso"))
        q = Qemu(mode, build_dir=build_dir, **kwargs)
        started.append(q)
        return q

    yield start

    for q in started:
        q.kill()


@pytest.fixture
def booted(machine):
    """Factory: boot to the `exo> ` prompt and return the machine."""
    def boot(mode: BootMode | str = BootMode.ISO, **kwargs) -> Qemu:
        q = machine(mode, **kwargs)
        q.wait_prompt(BOOT_TIMEOUT_S)
        return q
    return boot
