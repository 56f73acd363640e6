"""The backend registry: built-in declarations, errors in a declaration, and a backend
added by a separately installed package through the ``lrcore.backends`` entry points."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lrcore
from lrcore import backends

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "optax", "mlx")


def test_builtin_backends_in_table_order():
    names = backends.names()
    assert names[:3] == ("reference", "python", "torch")
    assert {"keras-tensorflow", "keras-jax", "keras-torch", "optax", "optax-x64"} <= set(names)
    assert backends.get("optax-x64").dtype == "float64"
    assert backends.get("keras-jax").dtype == "float32"
    assert backends.get("keras-jax").env == (("KERAS_BACKEND", "jax"),)
    assert backends.exports()["to_torch"] == "lrcore.adapters.torch"


def test_listing_backends_imports_no_framework():
    code = ("import sys, json, lrcore; from lrcore import backends, cli; "
            "backends.names(); backends.available(); backends.exports(); dir(lrcore); "
            f"print(json.dumps([m for m in {FRAMEWORKS!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def test_unknown_backend_names_the_known_ones():
    with pytest.raises(lrcore.SpecError, match=r"^backends: must be among reference, python, "
                       r'torch, .*, got "tpu"$'):
        backends.get("tpu")


def _declare(tmp_path: Path, monkeypatch, text: str) -> None:
    (tmp_path / "lrcore_decl_test.py").write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(backends, "_modules", lambda: ["lrcore.parity", "lrcore_decl_test"])
    backends._read_registry.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_registry():
    backends._read_registry.cache_clear()
    yield
    backends._read_registry.cache_clear()


@pytest.mark.parametrize("text,match", [
    ('LRCORE_BACKEND = {"backends": {"x": {"dtype": "float16", "needs": []}}, "values": "v"}',
     r"^lrcore_decl_test\.LRCORE_BACKEND\.backends\.x\.dtype: must be float32 or float64, "
     r'got "float16"$'),
    ('LRCORE_BACKEND = {"backends": {}, "values": "v", "colour": 1}',
     r"^lrcore_decl_test\.LRCORE_BACKEND\.colour: is not a declaration key; use one of "
     r'backends, values, exports, env_defaults, here, order, got "colour"$'),
    ('LRCORE_BACKEND = {"backends": {}}',
     r"^lrcore_decl_test\.LRCORE_BACKEND\.values: is required$"),
    ('import os\nLRCORE_BACKEND = {"backends": {}, "values": os.sep}',
     r"^lrcore_decl_test\.LRCORE_BACKEND: must be a literal \(read without importing the "
     r'module\), got "\.\.\."$'),
    ('LRCORE_BACKEND = {"backends": {"python": {"dtype": "float64"}}, "values": "v"}',
     r"^lrcore_decl_test\.LRCORE_BACKEND\.backends: must not redeclare a backend of "
     r'lrcore\.parity, got "python"$'),
])
def test_a_bad_declaration_is_a_spec_error_naming_the_key(tmp_path, monkeypatch, text, match):
    _declare(tmp_path, monkeypatch, text)
    with pytest.raises(lrcore.SpecError, match=match):
        backends.names()


def test_a_declaration_is_read_without_running_its_module(tmp_path, monkeypatch):
    _declare(tmp_path, monkeypatch, '''
        LRCORE_BACKEND = {"backends": {"lazy": {"dtype": "float32", "needs": ["lrcore"]}},
                          "values": "v"}
        raise RuntimeError("imported")
    ''')
    assert backends.names() == ("reference", "python", "lazy")
    assert backends.available() == ["reference", "python", "lazy"]
    assert "lrcore_decl_test" not in sys.modules


TOY = '''
    import numpy as np

    import lrcore
    from lrcore.backends import segments
    from lrcore.ops import PythonOps

    LRCORE_BACKEND = {
        "backends": {"toy": {"dtype": "float64", "needs": ["numpy"]},
                     "toy-drift": {"dtype": "float64", "needs": ["numpy"]},
                     "toy-missing": {"dtype": "float64", "needs": ["no_such_framework_xyz"]}},
        "values": "parity_values",
        "exports": ["to_toy"],
        "order": 50,
    }


    def to_toy(spec):
        f = lrcore.compile_spec(spec, PythonOps())
        return lambda step: f(int(step))


    def parity_values(name, specs, steps, reports):
        out = []
        for spec, t in zip(specs, steps):
            f = to_toy(spec)
            v = np.array([f(k) for k in t.tolist()])
            out.append(v * (1 + 1e-9) if name == "toy-drift" else v)
        return out
'''


@pytest.fixture(scope="module")
def toy_site(tmp_path_factory) -> Path:
    """A tiny backend package, built and installed with pip into its own folder."""
    src = tmp_path_factory.mktemp("toy_src")
    (src / "lrcore_toy.py").write_text(textwrap.dedent(TOY))
    (src / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "lrcore-toy"
        version = "0.1"

        [project.entry-points."lrcore.backends"]
        toy = "lrcore_toy"

        [tool.setuptools]
        py-modules = ["lrcore_toy"]
    '''))
    site = tmp_path_factory.mktemp("toy_site")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-build-isolation", "--target", str(site), str(src)], check=True)
    return site


def _run(site: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, PYTHONPATH=str(site))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          check=False, cwd=cwd)


def test_an_installed_package_adds_a_backend(toy_site):
    code = ("import json, lrcore; from lrcore import backends, parity; "
            "s = lrcore.cosine(start=1e-3, duration=100); "
            "print(json.dumps([list(backends.names()), backends.available(), "
            "'to_toy' in dir(lrcore), lrcore.to_toy(s)(50), "
            "parity.check(s, ['toy']).ok, parity.check(s, ['toy-drift']).ok]))")
    out = _run(toy_site, "-c", code)
    assert out.returncode == 0, out.stderr
    names, available, exported, rate, ok, drift_ok = json.loads(out.stdout)
    assert names[-3:] == ["toy", "toy-drift", "toy-missing"]
    assert "toy" in available and "toy-missing" not in available
    assert exported and math.isclose(rate, 0.5e-3, rel_tol=1e-12) and ok and not drift_ok


def test_the_cli_and_pytest_plugin_know_an_installed_backend(toy_site, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("lrcore: 1\nschedule: {type: cosine, start: 0.001, duration: 100}\n")
    ok = _run(toy_site, "-m", "lrcore.cli", "parity", "--backends", "toy", str(spec))
    assert ok.returncode == 0 and "toy" in ok.stdout, ok.stdout + ok.stderr
    drift = _run(toy_site, "-m", "lrcore.cli", "parity", "--backends", "toy-drift", str(spec))
    assert drift.returncode == 1, drift.stdout + drift.stderr
    missing = _run(toy_site, "-m", "lrcore.cli", "parity", "--backends", "toy-missing",
                   str(spec))
    assert missing.returncode == 2
    assert "toy-missing needs a framework that is not installed here" in missing.stderr
    helped = _run(toy_site, "-m", "lrcore.cli", "parity", "--help")
    assert "toy-drift" in helped.stdout
    plugin = _run(toy_site, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lrcore-specs",
                  ".", "--lrcore-backends", "toy", cwd=tmp_path)
    assert plugin.returncode == 0 and "1 passed" in plugin.stdout, plugin.stdout
