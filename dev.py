#!/usr/bin/env python3
"""The quick start: `python3 dev.py demo` and `python3 dev.py test` on a machine with only Python.

Creates .venv/ on first use (and again whenever pyproject.toml or constraints.txt change),
installs the project with the pinned versions, then runs the command inside it. Any other
arguments are passed to the `crm-scoring` command line: `python3 dev.py run --date 2026-11-23`.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed-from"
# The inner loop: every pure rule, and one scored day end to end through dbt and Dagster.
FAST_LANE = ["tests/unit", "tests/integration/test_scoring_graph.py"]
# pytest-xdist workers, each with its own PostgreSQL server: the suite is mostly waiting on dbt
# and PostgreSQL, one worker per core. More than 4 gains little (the longest file takes 2-3 min).
WORKERS = min(4, max(2, os.cpu_count() or 2))


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs on whatever python3 the user has
        sys.exit("crm-scoring needs Python 3.11 or newer")
    ensure_virtualenv()
    command = argv or ["demo"]
    if command[0] == "test":
        lint = run([BIN / "ruff", "check", "crm_scoring", "tests", "dev.py"])
        arguments = command[1:]
        if "--fast" in arguments:
            arguments = [*(a for a in arguments if a != "--fast"), *FAST_LANE]
        if not any(a.startswith(("-n", "--numprocesses")) for a in arguments):
            arguments = ["-n", str(WORKERS), *arguments]  # `-n 0` runs in this process, in order
        tests = run([BIN / "python", "-m", "pytest", *arguments])
        return tests or lint
    return run([BIN / "crm-scoring", *command])


def ensure_virtualenv() -> None:
    inputs = hashlib.sha256(
        b"".join((ROOT / name).read_bytes() for name in ("pyproject.toml", "constraints.txt"))
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == inputs:
        return
    print("Installing crm-scoring into .venv (first run only)…", flush=True)
    if not (BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    pip = [BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if run([*pip, "-c", ROOT / "constraints.txt", "-e", f"{ROOT}[dev]"]):
        sys.exit("installation failed")
    STAMP.write_text(inputs)


def run(command: list) -> int:
    return subprocess.call([str(part) for part in command], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
