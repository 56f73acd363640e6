"""The parity runner's worker processes: run concurrently they give the same reports
as one at a time; a worker that dies is one error line (exit 2 from the command, no
traceback); the frameworks' log lines stay out of `lrcore parity` unless ``-v``.

Oracles: the sequential run (``concurrent=False``, one worker per Keras backend,
started and waited for in turn, as before the runner was concurrent), and the text
the command prints.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lrcore
from lrcore import parity

# found, not imported: Keras imported here would run its backend in this process
pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("keras", "jax", "torch", "optax")),
    reason="needs keras, jax, torch and optax installed")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
CATALOG = Path(__file__).parent / "catalog"
#: a plateau spec (metric reports), a hyperparameter curve, two plain ones
SPECS = [EXAMPLES / "plateau.yaml", CATALOG / "onecycle_recipe.yaml",
         EXAMPLES / "torch_steplr_demo.yaml", EXAMPLES / "time_based_decay.yaml"]
BACKENDS = ["python", "torch", "optax", "optax-x64", "keras-jax", "keras-torch"]


def _as_json(reports) -> list[str]:
    """Reports as text (a 0/0 relative error is NaN, which == would call unequal)."""
    return [json.dumps(r.to_dict(), sort_keys=True) for r in reports]


def test_concurrent_run_gives_the_sequential_reports():
    docs = [lrcore.load(p) for p in SPECS]
    # validation losses every epoch (8 steps): better, then flat, so the plateau cuts
    plateau = [(8 * k, m) for k, m in enumerate([1.0, 0.8, 0.7, 0.7, 0.7, 0.7, 0.7], 1)]
    reports = [plateau, None, None, None]
    concurrent = parity.check_many(docs, BACKENDS, reports=reports)
    sequential = parity.check_many(docs, BACKENDS, reports=reports, concurrent=False)
    assert _as_json(concurrent) == _as_json(sequential)
    assert [r.backend for r in concurrent[0].results] == BACKENDS
    assert concurrent[1].curves  # the hyperparameter curves went through the workers too
    assert all(r.ok for r in concurrent)


def test_keras_backends_run_in_workers_started_at_once():
    with parity.Workers(["python", "keras-jax", "keras-torch"]) as pool:
        assert "keras-jax" in pool and "keras-torch" in pool and "python" not in pool
        assert len({id(w) for w in pool.workers.values()}) == 2
        assert all(w.proc.poll() is None for w in pool.workers.values())  # importing
    assert all(w.proc.returncode is not None for w in pool.workers.values())


def test_a_keras_backend_this_process_would_run_stays_here():
    """KERAS_BACKEND=tensorflow and Keras not imported yet (a fresh interpreter): the
    library runs keras-tensorflow in that process (as a call per test example expects,
    without a TensorFlow worker each time); the command line (isolate) sends it to a
    worker."""
    code = ("from lrcore import parity\n"
            "a = parity.Workers(['keras-tensorflow', 'keras-jax'], concurrent=False)\n"
            "b = parity.Workers(['keras-tensorflow'], concurrent=False, isolate=True)\n"
            "print('keras-tensorflow' in a, 'keras-jax' in a, 'keras-tensorflow' in b)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=dict(os.environ, KERAS_BACKEND="tensorflow"), timeout=120,
                       check=False)
    assert (r.returncode, r.stdout, r.stderr) == (0, "False True True\n", "")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERAS_BACKEND")}
    return subprocess.run([sys.executable, "-m", "lrcore.cli", "parity", *args],
                          capture_output=True, text=True, env=dict(base, **env),
                          timeout=300, check=False)


def test_a_dying_worker_is_one_error_line_exit_2(tmp_path):
    """A worker killed while it imports (a sitecustomize that exits in the keras-jax
    process only): exit 2, one line naming the backend, the status and the worker's
    last words; no traceback, no table."""
    (tmp_path / "sitecustomize.py").write_text(textwrap.dedent("""\
        import os, sys
        if os.environ.get("KERAS_BACKEND") == "jax":
            sys.stderr.write("worker stopped by the test\\n")
            sys.stderr.flush()
            os._exit(7)
        """))
    path = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    r = _run(str(EXAMPLES / "time_based_decay.yaml"), "--backends", "python,keras-jax",
             PYTHONPATH=path)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stdout == ""
    assert r.stderr == ("error: the parity worker for keras-jax exited with status 7: "
                        "worker stopped by the test\n")


#: lines TensorFlow's C++ runtime writes to stderr when it loads (absl logging)
TF_LOG = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard")


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                    reason="needs tensorflow installed")
def test_tensorflow_log_lines_are_silenced_unless_verbose():
    spec = str(EXAMPLES / "time_based_decay.yaml")
    quiet = _run(spec, "--backends", "keras-tensorflow")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert not any(s in quiet.stdout for s in TF_LOG)
    assert quiet.stdout.rstrip().endswith("1 spec(s) on 1 backend(s): all passed")

    loud = _run(spec, "--backends", "keras-tensorflow", "-v")
    assert loud.returncode == 0, loud.stderr
    assert any(s in loud.stderr for s in TF_LOG), loud.stderr  # the worker's, let through
    assert loud.stdout == quiet.stdout
