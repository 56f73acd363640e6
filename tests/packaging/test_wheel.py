"""The sdist and the wheel hold lrcore whole (adapters, py.typed, the license), and the
wheel installed into a fresh virtualenv runs ``lrcore parity examples/`` from
site-packages, not from this checkout."""

from __future__ import annotations

import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging_helpers import ROOT, run

import lrcore

VERSION = lrcore.__version__
#: every module of the checkout (lrcore/ and adapters/, which installs as lrcore.adapters),
#: so a subpackage missing from pyproject's package list fails here
MODULES = {"lrcore/py.typed",
           *(p.relative_to(ROOT).as_posix() for p in (ROOT / "lrcore").rglob("*.py")),
           *(f"lrcore/adapters/{p.name}" for p in (ROOT / "adapters").glob("*.py"))}


def test_the_wheel_holds_the_package_the_adapters_and_the_license(dist):
    assert dist["wheel"].name == f"lrcore-{VERSION}-py3-none-any.whl"
    names = set(zipfile.ZipFile(dist["wheel"]).namelist())
    assert MODULES <= names, sorted(MODULES - names)
    assert not any(n.startswith(("adapters/", "tests/", "docs/")) for n in names)
    info = f"lrcore-{VERSION}.dist-info"
    assert f"{info}/licenses/LICENSE" in names
    wheel = zipfile.ZipFile(dist["wheel"])
    assert "Apache License" in wheel.read(f"{info}/licenses/LICENSE").decode()
    entry_points = wheel.read(f"{info}/entry_points.txt").decode()
    assert "lrcore = lrcore.cli:main" in entry_points
    assert "lrcore = lrcore.pytest_plugin" in entry_points


def test_the_sdist_holds_the_sources_and_the_license(dist):
    assert dist["sdist"].name == f"lrcore-{VERSION}.tar.gz"
    with tarfile.open(dist["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    expected = {"pyproject.toml", "README.md", "LICENSE", "lrcore/py.typed",
                "adapters/torch.py", "adapters/keras.py", "adapters/optax.py",
                "adapters/mlx.py", "lrcore/nodes/cosine.py"}
    assert expected <= names, sorted(expected - names)


@pytest.fixture(scope="module")
def venv(tmp_path_factory, dist) -> Path:
    """A fresh virtualenv with the wheel and its jax extra (optax's backends)."""
    where = tmp_path_factory.mktemp("venv")
    proc = run([sys.executable, "-m", "venv", str(where / "env")], cwd=where)
    assert proc.returncode == 0, proc.stderr
    pip = [str(where / "env" / "bin" / "python"), "-m", "pip", "install", "-q",
           "-c", str(ROOT / "constraints.txt"), f"{dist['wheel']}[jax]"]
    proc = run(pip, cwd=where)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return where / "env"


def test_the_installed_wheel_runs_parity_on_the_examples(venv, tmp_path):
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    python = str(venv / "bin" / "python")
    where = run([python, "-c", "import lrcore, lrcore.adapters.optax as o; "
                 "print(lrcore.__file__); print(o.__file__)"], cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    site = str(venv / "lib")
    for line in where.stdout.splitlines():
        assert line.startswith(site) and "site-packages" in line, line
        assert not line.startswith(str(ROOT)), line
    assert (Path(where.stdout.splitlines()[0]).parent / "py.typed").is_file()

    proc = run([str(venv / "bin" / "lrcore"), "parity", "examples/"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    specs = len([p for p in (ROOT / "examples").iterdir()
                 if p.suffix in (".yaml", ".yml", ".json")])
    assert proc.stdout.rstrip().endswith(f"{specs} spec(s) on 4 backend(s): all passed"), \
        proc.stdout[-2000:]
    for backend in ("reference", "python", "optax", "optax-x64"):
        assert f"\n{backend} " in proc.stdout

    version = run([python, "-m", "lrcore", "-V"], cwd=tmp_path)
    assert (version.returncode, version.stdout) == (0, f"lrcore, version {VERSION}\n")
