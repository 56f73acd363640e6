"""What a parity run spends its CPU time on (issue 17: `lrcore parity examples/` within
1.5x of importing its frameworks): a Keras worker imports no framework it does not run
(Keras imports JAX whatever its backend, and pyplot, when they are installed), values
cross the pipe as exact float64 bytes, JAX compiles each of Keras's eager ops once per
run (not once per grid length) and optax compiles every spec of a run at once.

Oracles: the modules the worker process holds when it exits, the float64
reference rounded to float32 (Keras on torch rounds it once), literal bit patterns, and
JAX's count of backend compilations.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lrcore
from lrcore import parity

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("keras", "jax", "torch", "optax")),
    reason="needs keras, jax, torch and optax installed")

SPEC = lrcore.Schedule(schedule=lrcore.sequence(phases=[
    lrcore.linear(start=0.0, end=0.1, duration=40),
    lrcore.cosine(start=0.1, end=0.001, duration=200)]), name="warmup-cosine")


#: the worker (``python -m lrcore.parity NAME...``), listing on stderr at exit the
#: top-level modules it imported
WORKER = """\
import atexit, runpy, sys
atexit.register(lambda: print(*sorted({m.split(".")[0] for m in sys.modules}),
                              file=sys.stderr))
sys.argv = ["lrcore.parity", *sys.argv[1:]]
runpy.run_module("lrcore.parity", run_name="__main__", alter_sys=True)
"""


def test_a_keras_torch_worker_imports_neither_jax_nor_pyplot():
    steps = np.arange(300)
    job = json.dumps({"jobs": [{"spec": SPEC.to_dict(), "signed": False,
                                "steps": steps.tolist(), "reports": None}]})
    env = dict(os.environ, KERAS_BACKEND="torch", TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", WORKER, "keras-torch", "torch"], input=job,
                       capture_output=True, text=True, env=env, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    modules = set(r.stderr.splitlines()[-1].split())
    assert {"keras", "torch", "ml_dtypes"} <= modules
    assert not modules & {"jax", "jaxlib", "matplotlib", "tensorflow", "optax"}
    values = {name: [parity._decode(v) for v in vs]
              for name, vs in json.loads(r.stdout.splitlines()[-1])["values"].items()}
    ref = lrcore.evaluate(SPEC, steps)
    # Keras on torch computes in float64 and rounds once; torch is a float64 LambdaLR
    np.testing.assert_array_equal(values["keras-torch"][0], ref.astype(np.float32))
    np.testing.assert_allclose(values["torch"][0], ref, rtol=1e-12, atol=0)


def test_values_cross_the_pipe_bit_for_bit():
    bits = np.array([0x0000000000000000, 0x8000000000000000, 0x0000000000000001,
                     0x3FD5555555555555, 0x7FEFFFFFFFFFFFFF, 0x7FF0000000000000,
                     0x7FF8000000000001, 0x3F1A36E2EB1C432D], dtype=np.uint64)
    text = parity._encode(bits.view(np.float64))
    assert isinstance(text, str) and text.isascii()
    back = parity._decode(text)
    assert back.dtype == np.float64 and back.flags.writeable
    np.testing.assert_array_equal(back.view(np.uint64), bits)


def _run_jax(code: str, backend: str = "jax") -> str:
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                       text=True, env=env, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout


COUNT_COMPILES = textwrap.dedent("""\
    import jax, numpy as np, lrcore
    from jax._src import dispatch
    compiles = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda event, secs, **kw: compiles.append(1)
        if event == dispatch.BACKEND_COMPILE_EVENT else None)
    spec = lrcore.load('''{spec}''')
    """)


def test_keras_jax_compiles_its_ops_once_for_grids_of_any_length():
    """JAX compiles an eager op for each new input shape: a spec on a grid of another
    length must reuse the first one's ops, not compile them again."""
    out = _run_jax(COUNT_COMPILES.format(spec=json.dumps(SPEC.to_dict())) + textwrap.dedent("""\
        from lrcore.adapters import keras as ka
        first = ka.parity_values("keras-jax", [spec], [np.arange(300)], [None])
        n = len(compiles)
        second = ka.parity_values("keras-jax", [spec], [np.arange(5000)], [None])
        ref = lrcore.evaluate(spec, np.arange(5000))
        print(n, len(compiles) - n, first[0].shape[0], second[0].shape[0],
              bool(np.all(np.abs(second[0] - ref) <= 1e-6 * np.abs(ref) + 1e-10)))
        """))
    first_compiles, more, n1, n2, close = out.split()
    assert int(first_compiles) > 0
    assert (int(more), int(n1), int(n2), close) == (0, 300, 5000, "True")


def test_optax_compiles_every_spec_of_a_run_at_once():
    other = lrcore.Schedule(schedule=lrcore.exponential(start=0.1, rate=0.99), name="exp")
    out = _run_jax(COUNT_COMPILES.format(spec=json.dumps(SPEC.to_dict())) + textwrap.dedent(f"""\
        from lrcore.adapters import optax as oa
        other = lrcore.load('''{json.dumps(other.to_dict())}''')
        grids = [np.arange(300), np.arange(1000), np.arange(70)]
        n = len(compiles)
        got = oa.parity_values("optax", [spec, other, spec], grids, [None] * 3)
        refs = [lrcore.evaluate(s, t) for s, t in zip([spec, other, spec], grids)]
        print(len(compiles) - n, all(np.allclose(g, r, rtol=1e-6, atol=0)
                                      for g, r in zip(got, refs)))
        """))
    assert out.split() == ["1", "True"]
