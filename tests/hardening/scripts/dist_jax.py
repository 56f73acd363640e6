"""JAX data parallelism over two host devices with lrcore's optax schedules.

``python dist_jax.py OUT.json`` with ``XLA_FLAGS=--xla_force_host_platform_device_count=2``
(set by the caller: the flag must be in place before jax is imported). Two engines:

* ``jit``: a ``jax.jit`` train step whose batch is sharded over the ``data`` axis and
  whose parameters and optax state are replicated; optimizer ``scale_by_plateau_schedule``
  (loss reported every third step, under jit). The step returns the rate it applied,
  replicated: each device's shard holds the value that device computed.
* ``shard_map``: the same step written per device with ``shard_map``; gradients and the
  loss are averaged with ``lax.pmean``; optimizer ``optax.sgd(lrcore.to_optax(spec))``.
  Each device returns its own rate (``out_specs=P("data")``), one entry per device.

The rate is read from the update of a parameter whose gradient is exactly 1 (plain SGD
on it: update = -lr). Writes, per engine and step, the rate on each device, and the
reported metrics.
"""

from __future__ import annotations

import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
from dist_specs import PLAIN, PLATEAU, REPORT_EVERY, STEPS
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import lrcore
from lrcore.adapters.optax import report, scale_by_plateau_schedule

try:
    from jax import shard_map
except ImportError:  # jax < 0.7
    from jax.experimental.shard_map import shard_map


def data():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x @ np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)
         + 0.3 * rng.normal(size=(32, 1)).astype(np.float32))
    return x, y


def params0():
    return {"w": jnp.zeros((4, 1)), "b": jnp.zeros((1,)), "probe": jnp.zeros(())}


def loss_fn(p, x, y):
    mse = jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
    return mse + p["probe"] - jax.lax.stop_gradient(p["probe"]), mse


def run_jit(mesh) -> dict:
    tx = scale_by_plateau_schedule(PLATEAU)
    replicated, sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
    params = jax.device_put(params0(), replicated)
    state = jax.device_put(tx.init(params), replicated)
    x, y = data()
    x, y = jax.device_put(x, sharded), jax.device_put(y, sharded)

    @jax.jit
    def step(p, s, x, y):
        (_, mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, x, y)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, mse, -updates["probe"]

    do_report = jax.jit(report)
    rates, reports = [], []
    for k in range(STEPS):
        params, state, mse, lr = step(params, state, x, y)
        assert lr.sharding.is_fully_replicated and len(lr.addressable_shards) == 2
        rates.append([float(np.asarray(s.data)) for s in lr.addressable_shards])
        if (k + 1) % REPORT_EVERY == 0:
            state = do_report(state, mse)
            reports.append([k + 1, float(mse)])
    devices = sorted(str(s.device) for s in lr.addressable_shards)
    return {"rates": rates, "reports": reports, "devices": devices,
            "input_shards": len(x.addressable_shards)}


def run_shard_map(mesh) -> dict:
    tx = optax.sgd(lrcore.to_optax(PLAIN))
    x, y = data()

    def per_device(p, s, x, y):
        (_, mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(p, x, y)
        grads = jax.lax.pmean(grads, "data")
        grads["probe"] = jnp.ones_like(grads["probe"])  # exactly 1 on every device
        updates, s = tx.update(grads, s, p)
        lr = -updates["probe"]
        return optax.apply_updates(p, updates), s, jax.lax.pmean(mse, "data"), lr[None]

    step = jax.jit(shard_map(per_device, mesh=mesh,
                             in_specs=(P(), P(), P("data"), P("data")),
                             out_specs=(P(), P(), P(), P("data"))))
    params = params0()
    state = tx.init(params)
    rates = []
    for _ in range(STEPS):
        params, state, _, lr = step(params, state, x, y)
        rates.append([float(v) for v in np.asarray(lr)])
    return {"rates": rates, "reports": None}


def main() -> None:
    devices = jax.devices()
    assert len(devices) == 2, devices
    mesh = jax.sharding.Mesh(np.array(devices), ("data",))
    out = {"jit": run_jit(mesh), "shard_map": run_shard_map(mesh),
           "x64": bool(jax.config.jax_enable_x64), "n_devices": len(devices)}
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
