"""Packaging tests (``tox -e types``): the sdist and the wheel as built from this
checkout, a fresh virtualenv with the wheel installed, mypy against the installed
wheel, and the pre-commit hook through ``pre-commit try-repo``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from packaging_helpers import ROOT, run


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``python -m build``: the sdist, then the wheel built from that sdist (in an
    isolated build environment, as pip builds it)."""
    out = tmp_path_factory.mktemp("dist")
    proc = run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sdists, wheels = sorted(out.glob("*.tar.gz")), sorted(out.glob("*.whl"))
    assert len(sdists) == 1 and len(wheels) == 1, sorted(out.iterdir())
    return {"sdist": sdists[0], "wheel": wheels[0]}
