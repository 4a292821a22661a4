#!/usr/bin/env python3
"""Set up and run Smart Port Academy with nothing but Python 3.11+.

    python3 dev.py run     # create .venv, install, upgrade the database, load content/, start everything
    python3 dev.py test    # create .venv, install with the test extras, run the test suite with coverage
    python3 dev.py test tests/auth -x   # the same, but pytest with these arguments (and no coverage)

Only the standard library is used here: this script is what a fresh machine runs first.
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
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
# Measured on a run of the whole suite only: a single file or test stays quick and would fail the threshold.
COVERAGE = ["--cov=learning", "--cov-branch", "--cov-report=term-missing:skip-covered", "--cov-fail-under=90"]


def ensure_environment(extras: str) -> None:
    """Create the virtual environment and install the project, unless nothing changed since last time."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script is what an older Python runs first
        sys.exit("Smart Port Academy needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV} ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    spec = f".[{extras}]" if extras else "."
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing Smart Port Academy ({spec}) ...", flush=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", spec], check=True, cwd=ROOT)
    stamp.write_text(digest)


def main() -> int:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    rest = sys.argv[2:]
    os.chdir(ROOT)
    if command == "run":
        ensure_environment("")
        os.environ.setdefault("ACADEMY_ENV", "development")
        return subprocess.call([str(BIN / "academy"), "serve", *rest])
    if command == "test":
        ensure_environment("test")
        return subprocess.call([str(PYTHON), "-m", "pytest", *(rest or COVERAGE)])
    print(__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
