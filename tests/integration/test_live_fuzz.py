"""Smoke tests of the two campaign scripts: tests/fuzz/live_fuzz.py (a short
fuzzing run with a fixed seed, then a replay of its log) and bench/soak.py
(a fraction of a minute). Each script boots and stops its own QEMU (also if
killed: PR_SET_PDEATHSIG), on free ports; these tests wait for the script
to exit, bounded by a timeout.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
LIVE_FUZZ = REPO_DIR / "tests" / "fuzz" / "live_fuzz.py"
SOAK = REPO_DIR / "bench" / "soak.py"
SCRIPT_TIMEOUT_S = 300   # an upper bound: a run takes ~20 s here
CHECKS = re.compile(r"liveness checks: (\d+) passed, (\d+) failed")


def run(build_dir: Path, *argv) -> subprocess.CompletedProcess:
    env = dict(os.environ, EXO_BUILD_DIR=str(build_dir))
    return subprocess.run(["/usr/bin/python3", *map(str, argv)], env=env, capture_output=True,
                          text=True, timeout=SCRIPT_TIMEOUT_S)


def test_live_fuzz_runs_checks_and_replays_its_log(build_dir, tmp_path):
    out = tmp_path / "fuzz"
    done = run(build_dir, LIVE_FUZZ, "--inputs", 80, "--seed", 1, "--check-every", 10,
               "--out", out, "--quiet")
    assert done.returncode == 0, f"live_fuzz.py failed:\n{done.stdout}\n{done.stderr}"
    m = CHECKS.search(done.stdout)
    assert m and int(m.group(1)) > 0 and m.group(2) == "0", done.stdout
    assert "seed: 1" in done.stdout and re.search(r"inputs: com1 \d+, com2 \d+", done.stdout), done.stdout
    log = out / "inputs.jsonl"
    assert log.is_file() and (out / "com1.bin").is_file() and (out / "com2.bin").is_file()

    replayed = run(build_dir, LIVE_FUZZ, "--replay", log, "--quiet")
    assert replayed.returncode == 0, f"the replay failed:\n{replayed.stdout}\n{replayed.stderr}"
    again = CHECKS.search(replayed.stdout)
    assert again and again.group(1) == m.group(1), f"{done.stdout}\n---\n{replayed.stdout}"


def test_soak_watches_runs_programs_and_finds_no_leak(build_dir):
    done = run(build_dir, SOAK, "--minutes", 0.3, "--cycle-seconds", 5, "--mode", "pvh", "--quiet")
    assert done.returncode == 0, f"soak.py failed:\n{done.stdout}\n{done.stderr}"
    assert "no leak, no hang" in done.stdout, done.stdout
    samples = re.search(r"samples: (\d+) collected", done.stdout)
    assert samples and int(samples.group(1)) > 0, done.stdout
    assert re.search(r"programs run: sampler [1-9]", done.stdout), done.stdout
