"""What the plot and boot-analysis tests share: where the host client and
the recorded replies are, and how to run the client without a display."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
HOST_TOOLS = REPO_DIR / "host-tools"
FIXTURES = REPO_DIR / "tests" / "fixtures" / "plots"
PYTHON = "/usr/bin/python3"
EXIT_USAGE = 2
if str(HOST_TOOLS) not in sys.path:
    sys.path.insert(0, str(HOST_TOOLS))


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text())


def run_exo(*args: str, build_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """`host-tools/exo ARGS` with figures written by Agg, never a window."""
    env = dict(os.environ, EXO_BUILD_DIR=str(build_dir), MPLBACKEND="Agg")
    env.pop("DISPLAY", None)
    return subprocess.run([PYTHON, str(HOST_TOOLS / "exo"), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)
