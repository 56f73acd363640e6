"""Every replica gets the same rate: lrcore's compiled schedules inside the frameworks'
own multi-device machinery, on CPU.

lrcore needs nothing of its own to scale: a schedule is a pure function of the step,
compiled into each engine, so every replica computes the same rate from the same step
count (and the plateau scale, when every replica reports the same averaged metric).
Each engine runs in its own process (``scripts/dist_*.py``):

* torch ``DistributedDataParallel``, gloo backend, two ranks (``torch.multiprocessing``
  spawn, MASTER_ADDR 127.0.0.1, a free port); plateau spec, all-reduced loss reported;
* JAX over two host devices (``--xla_force_host_platform_device_count=2``): ``jax.jit``
  with a sharded batch and replicated state (plateau spec, reports under jit), and a
  ``shard_map`` step with ``lax.pmean``;
* Keras ``tf.distribute.MirroredStrategy`` over two logical CPU devices (plateau spec),
  and the Keras distribution API (``keras.distribution.DataParallel``) on the jax backend.

Oracles: the replicas against each other (exactly equal at every step), and each
replica against the float64 reference ``lrcore.evaluate`` fed the same reports, at the
engine's dtype tolerance (float64 rtol 1e-12, float32 rtol 1e-6; atol 1e-15 / 1e-9 of
the peak).
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hardening_helpers import count

import lrcore
from lrcore.parity import DEFAULT_TOL

SCRIPTS = Path(__file__).resolve().parent / "scripts"
TIMEOUT_S = 300
TOL = DEFAULT_TOL


def _specs():
    spec = importlib.util.spec_from_file_location("dist_specs", SCRIPTS / "dist_specs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SPECS = _specs()


def _run(args: list[str], **env: str) -> None:
    full = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path), TF_CPP_MIN_LOG_LEVEL="3",
                OMP_NUM_THREADS="1", **env)
    proc = subprocess.run([sys.executable, *args], env=full, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]


def _host_devices(n: int) -> dict:
    flags = os.environ.get("XLA_FLAGS", "")
    return {"XLA_FLAGS": f"{flags} --xla_force_host_platform_device_count={n}".strip(),
            "JAX_PLATFORMS": "cpu"}


def _check(rates: list[list[float]], spec: dict, reports, dtype: str) -> None:
    """Replicas equal each other exactly; each equals the reference at the tolerance."""
    got = np.asarray(rates, dtype=np.float64)
    assert got.ndim == 2 and got.shape[1] == 2, got.shape
    for k, row in enumerate(got):
        assert row[0] == row[1], f"step {k}: replicas disagree: {row.tolist()}"
    steps = np.arange(got.shape[0])
    ref = lrcore.evaluate(spec, steps, reports=reports)
    rtol, atol = TOL[dtype]
    bound = rtol * np.abs(ref) + atol * np.max(np.abs(ref))
    err = np.abs(got[:, 0] - ref)
    bad = ~(err <= bound)
    assert not bad.any(), (f"step {int(steps[bad][0])}: replica rate {got[bad][0][0]!r}, "
                           f"reference {ref[bad][0]!r} ({dtype})")
    if reports:  # the plateau really cut the rate: the reports mattered
        assert np.any(ref < lrcore.evaluate(spec, steps) * (1 - 1e-9))
    count("distributed-steps", got.size)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torch_ddp_gloo_ranks_get_the_same_rates(tmp_path) -> None:
    """Two DDP ranks (gloo) stepping ``lrcore.to_torch`` of a plateau spec and reporting
    the all-reduced loss: identical rates, reports and weights on both ranks, and the
    float64 reference at every step."""
    torch = pytest.importorskip("torch")
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch built without gloo")
    _run([str(SCRIPTS / "dist_torch.py"), str(tmp_path), str(_free_port())])
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["reports"] == ranks[1]["reports"] and ranks[0]["reports"]
    assert ranks[0]["params"] == ranks[1]["params"]  # DDP kept the replicas in sync
    rates = [list(pair) for pair in zip(ranks[0]["rates"], ranks[1]["rates"])]
    assert len(rates) == SPECS.STEPS
    _check(rates, SPECS.PLATEAU, [tuple(r) for r in ranks[0]["reports"]], "float64")


def test_jax_jit_sharded_and_shard_map_devices_get_the_same_rates(tmp_path) -> None:
    """Two host devices: a jitted step over a sharded batch (plateau spec, reports under
    jit) and a shard_map step; the rate each device applied is the same on both and
    matches the reference at float32 tolerance."""
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    out = tmp_path / "jax.json"
    _run([str(SCRIPTS / "dist_jax.py"), str(out)], **_host_devices(2))
    data = json.loads(out.read_text())
    assert data["n_devices"] == 2 and not data["x64"]
    jit = data["jit"]
    assert jit["devices"] == ["cpu:0", "cpu:1"] and jit["input_shards"] == 2
    _check(jit["rates"], SPECS.PLATEAU, [tuple(r) for r in jit["reports"]], "float32")
    _check(data["shard_map"]["rates"], SPECS.PLAIN, None, "float32")


def test_keras_mirrored_strategy_replicas_get_the_same_rates(tmp_path) -> None:
    """``tf.distribute.MirroredStrategy`` over two logical CPUs: each replica reads the
    same rate from the optimizer at every step of a custom loop (plateau spec, the
    replica-averaged loss reported), equal to the reference at float32 tolerance."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("keras")
    out = tmp_path / "mirrored.json"
    _run([str(SCRIPTS / "dist_keras.py"), "mirrored", str(out)], KERAS_BACKEND="tensorflow")
    data = json.loads(out.read_text())
    assert data["replicas"] == 2 and len(set(data["devices"])) == 2
    assert data["iterations"] == SPECS.KERAS_STEPS
    _check(data["rates"], SPECS.PLATEAU, [tuple(r) for r in data["reports"]], "float32")


def test_keras_jax_data_parallel_replicas_get_the_same_rates(tmp_path) -> None:
    """``keras.distribution.DataParallel`` on the jax backend over two host devices:
    ``model.fit``'s jitted step applies the same rate on both devices (read from a
    weight whose gradient is exactly 1), equal to the reference at float32 tolerance."""
    pytest.importorskip("keras")
    pytest.importorskip("jax")
    out = tmp_path / "keras_jax.json"
    _run([str(SCRIPTS / "dist_keras.py"), "jax-data-parallel", str(out)], KERAS_BACKEND="jax",
         **_host_devices(2))
    data = json.loads(out.read_text())
    assert data["replicas"] == 2 and data["devices"] == ["cpu:0", "cpu:1"]
    assert data["iterations"] == SPECS.KERAS_STEPS
    _check(data["rates"], SPECS.PLAIN, None, "float32")
