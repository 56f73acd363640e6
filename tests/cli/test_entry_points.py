"""The command's other doors: ``lrcore -V``/``--version`` and ``python -m lrcore``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import lrcore

LRCORE = str(Path(sys.executable).with_name("lrcore"))


def _run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120,
                          check=False)


def test_version_short_and_long():
    for flag in ("-V", "--version"):
        proc = _run(LRCORE, flag)
        assert (proc.returncode, proc.stdout, proc.stderr) == (
            0, f"lrcore, version {lrcore.__version__}\n", "")


def test_python_dash_m_runs_the_command():
    proc = _run(sys.executable, "-m", "lrcore", "--version")
    assert (proc.returncode, proc.stdout) == (0, f"lrcore, version {lrcore.__version__}\n")
    proc = _run(sys.executable, "-m", "lrcore", "--help")
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: lrcore [OPTIONS] COMMAND [ARGS]...\n")
    assert "  -V, --version  Show the version and exit.\n" in proc.stdout
