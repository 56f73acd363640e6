"""mypy on the public API as a user's code sees it: ``tests/typing/public_api.py``
checked with ``--strict`` against the lrcore installed in this environment (a wheel:
tox's ``types`` env installs one), which type checkers read only because it ships
``py.typed``."""

from __future__ import annotations

import shutil
import sys
import sysconfig
from pathlib import Path

from packaging_helpers import ROOT, run

import lrcore


def test_the_public_api_type_checks_against_the_installed_wheel(tmp_path):
    site = Path(sysconfig.get_paths()["purelib"])
    assert Path(lrcore.__file__).is_relative_to(site), (
        f"lrcore is imported from {lrcore.__file__}, not from an installed wheel in {site}")
    shutil.copy(ROOT / "tests" / "typing" / "public_api.py", tmp_path)
    proc = run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10",
                "--no-incremental", "public_api.py"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("Success: no issues found in 1 source file")
