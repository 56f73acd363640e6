"""Flax NNX takes lrcore through optax: the README's recipe, with the real ``flax.nnx``.

* ``examples/flax_nnx.py`` (``nnx.Optimizer`` around ``to_optax_optimizer(spec,
  optax.adamw)``, an ``nnx.jit`` train step) run in subprocesses: the learning rate,
  weight decay and b1 that every update used, read from ``optimizer.opt_state.hyperparams``
  inside the step, are the float64 reference's at t = updates already applied (float32
  tolerance); a run checkpointed with orbax after 25 updates and resumed in a new process
  (a freshly built model and optimizer) gives exactly the rates and parameters of the
  uninterrupted run;
* a plain ``to_optax(spec)`` schedule in ``optax.sgd``: the rate each update applied
  (read off a probe parameter whose gradient is exactly 1) and ``schedule(optimizer.step)``;
* reduce on plateau: ``scale_by_plateau_schedule`` in an ``nnx.Optimizer``, metrics
  reported between updates (``report`` on ``nnx.as_pure(optimizer.opt_state)``) or with
  ``optimizer.update(..., value=m)`` under ``nnx.jit``; an orbax checkpoint in the middle
  of a patience window resumes exactly.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
optax = pytest.importorskip("optax")
nnx = pytest.importorskip("flax.nnx")
ocp = pytest.importorskip("orbax.checkpoint")

import lrcore  # noqa: E402
from lrcore.adapters.optax import (  # noqa: E402
    PlateauScheduleState,
    report,
    scale_by_plateau_schedule,
)
from lrcore.parity import compare  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flax_nnx.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("flax_nnx_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ex = _load_example()


def _assert_f32(got, ref, t) -> None:
    """The float32 backends' parity tolerance (rtol 1e-6, atol 1e-9 x peak)."""
    result = compare("optax", np.asarray(t), np.asarray(ref, np.float64),
                     np.asarray(got, np.float64))
    assert result.ok, result


# ---- the example, in subprocesses -------------------------------------------------------

def _run(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict:
    ckpt = tmp_path_factory.mktemp("flax_ckpt")
    return {"whole": _run("--steps", "60"),
            "first": _run("--steps", "60", "--ckpt", str(ckpt), "--stop-at", "25"),
            "rest": _run("--steps", "60", "--ckpt", str(ckpt))}


@pytest.mark.parametrize("logged,hyperparam", [("learning_rate", None),
                                               ("weight_decay", "weight_decay"),
                                               ("b1", "momentum")])
def test_every_update_used_the_reference_values(runs, logged, hyperparam):
    got = runs["whole"][logged]
    t = np.arange(60)  # update u + 1 used the values at t = u
    assert len(got) == 60
    _assert_f32(got, lrcore.evaluate(ex.SPEC, t, hyperparam=hyperparam), t)


def test_the_first_update_used_the_documented_starts(runs):
    # onecycle starts at peak / 25 (torch's div_factor); b1 at `high`; weight decay at `start`
    # (float32 arithmetic: within the float32 tolerance, rtol 2e-6)
    whole = runs["whole"]
    assert whole["learning_rate"][0] == pytest.approx(0.05 / 25, rel=2e-6, abs=0)
    assert whole["b1"][0] == pytest.approx(0.95, rel=2e-6, abs=0)
    assert whole["weight_decay"][0] == pytest.approx(0.01, rel=2e-6, abs=0)


def test_a_new_process_resumes_from_the_orbax_checkpoint_exactly(runs):
    whole, first, rest = runs["whole"], runs["first"], runs["rest"]
    assert (first["start"], rest["start"]) == (0, 25)
    assert len(first["learning_rate"]) == 25 and len(rest["learning_rate"]) == 35
    for name in ("learning_rate", "weight_decay", "b1"):
        assert first[name] + rest[name] == whole[name], name
    assert (rest["kernel"], rest["bias"]) == (whole["kernel"], whole["bias"])
    assert first["kernel"] != whole["kernel"]  # the second process did train on


def test_the_state_holds_the_values_of_the_last_update_outside_jit():
    model, optimizer = ex.create()
    for u in range(1, 8):
        _, lr, _, _ = ex.train_step(model, optimizer, *ex.batch(u - 1))
        assert int(optimizer.step[...]) == u
        read = float(optimizer.opt_state.hyperparams["learning_rate"][...])
        assert read == float(lr)
        _assert_f32([read], lrcore.evaluate(ex.SPEC, [u - 1]), [u - 1])


# ---- a plain schedule, and plateau: a probe parameter shows the applied rate -----------

class Probe(nnx.Module):
    """A Linear model plus ``probe``, a parameter whose gradient is exactly 1 (the loss
    adds ``probe - stop_gradient(probe)``, which is 0): with plain SGD its update is
    exactly ``-rate``, the rate the update applied."""

    def __init__(self):
        self.linear = nnx.Linear(4, 1, rngs=nnx.Rngs(0))
        self.probe = nnx.Param(jnp.zeros(()))

    def __call__(self, x):
        return self.linear(x)


def _loss(model, x, y):
    p = model.probe[...]
    return jnp.mean((model(x) - y) ** 2) + p - jax.lax.stop_gradient(p)


@nnx.jit
def _probe_step(model, optimizer, x, y):
    updates = optimizer.update(model, nnx.grad(_loss)(model, x, y))
    return -updates["probe"][...]


WARMUP_COSINE = lrcore.load("""
lrcore: 1
total_steps: 40
schedule:
  type: sequence
  phases:
  - {type: linear, start: 0.0, end: 0.1, duration: 8}
  - {type: cosine, start: 0.1, end: 0.001}
""")


def test_a_plain_schedule_in_optax_sgd():
    schedule = lrcore.to_optax(WARMUP_COSINE)
    model = Probe()
    optimizer = nnx.Optimizer(model, optax.sgd(learning_rate=schedule), wrt=nnx.Param)
    upcoming, applied = [], []
    for u in range(40):
        upcoming.append(float(schedule(optimizer.step[...])))  # before update u + 1
        applied.append(float(_probe_step(model, optimizer, *ex.batch(u))))
    t = np.arange(40)
    ref = lrcore.evaluate(WARMUP_COSINE, t)
    _assert_f32(applied, ref, t)
    _assert_f32(upcoming, ref, t)  # eager, not the step's compiled formula: within tolerance
    assert applied[:3] == [0.0, float(np.float32(0.1 / 8)), float(np.float32(0.2 / 8))]


PLATEAU = lrcore.load("""
lrcore: 1
schedule:
  type: plateau
  factor: 0.5
  patience: 1
  threshold: 0.01
  schedule: {type: cosine, start: 0.1, end: 0.001, duration: 60}
""")
#: one report after every 5 updates; cuts at the 5th (two reports without a 1 %
#: improvement on 0.7), the 10th and the 12th (after the last update: the state only)
METRICS = [1.0, 0.8, 0.7, 0.7, 0.7, 0.69, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5]


def _plateau_create(adam: bool = False):
    """Plain SGD with the plateau rate (the probe's update is exactly -rate), or the
    README's chain: Adam's scaling, then the plateau link."""
    model = Probe()
    tx = scale_by_plateau_schedule(PLATEAU)
    if adam:
        tx = optax.chain(optax.scale_by_adam(), tx)
    return model, nnx.Optimizer(model, tx, wrt=nnx.Param)


def _plateau_state(optimizer) -> PlateauScheduleState:
    state = optimizer.opt_state  # the plateau state itself, or the last link of a chain
    return state if isinstance(state, PlateauScheduleState) else state[-1]


def _report(optimizer, metric: float) -> None:
    """The recipe: ``report`` on the plain arrays, written back into the optimizer."""
    new = report(nnx.as_pure(optimizer.opt_state), metric)
    nnx.update(optimizer.opt_state, nnx.state(new))


def _plateau_train(model, optimizer, stop: int):
    rates, read, reports = [], [], []
    for u in range(int(optimizer.step[...]), stop):
        plateau = _plateau_state(optimizer)  # the rate of the next update:
        read.append(float(plateau.spec(plateau.count[...]) * plateau.scale[...]))
        rates.append(float(_probe_step(model, optimizer, *ex.batch(u))))
        if (u + 1) % 5 == 0:
            metric = METRICS[u // 5]
            _report(optimizer, metric)
            reports.append((int(optimizer.step[...]), metric))
    return rates, read, reports


@pytest.mark.parametrize("adam", [False, True], ids=["sgd", "adam-chain"])
def test_plateau_in_an_nnx_optimizer(adam):
    model, optimizer = _plateau_create(adam)
    rates, read, reports = _plateau_train(model, optimizer, 60)
    assert reports == [(5 * (k + 1), m) for k, m in enumerate(METRICS)]
    t = np.arange(60)
    ref = lrcore.evaluate(PLATEAU, t, reports=reports)
    if not adam:  # with Adam the probe's update is normalised, not the rate
        _assert_f32(rates, ref, t)
    _assert_f32(read, ref, t)
    scale = ref / lrcore.evaluate(PLATEAU.schedule.schedule, t)
    assert np.unique(np.round(scale, 12)).tolist() == [0.25, 0.5, 1.0]
    assert np.flatnonzero(np.diff(scale) < -1e-9).tolist() == [24, 49]  # cut at 25, 50
    assert float(_plateau_state(optimizer).scale[...]) == 0.125


def _params(model) -> list:
    return [np.asarray(leaf).tolist() for leaf in jax.tree.leaves(nnx.state(model, nnx.Param))]


def test_plateau_resumes_from_an_orbax_checkpoint_mid_patience(tmp_path):
    model, optimizer = _plateau_create()
    whole = _plateau_train(model, optimizer, 60)
    whole_params = _params(model)

    model, optimizer = _plateau_create()
    first = _plateau_train(model, optimizer, 37)
    plateau = optimizer.opt_state
    assert (int(plateau.bad[...]), float(plateau.scale[...])) == (1, 0.5)  # mid-window
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(tmp_path / "state", nnx.state((model, optimizer)))
    del model, optimizer, plateau

    graphdef, abstract = nnx.split(nnx.eval_shape(_plateau_create))
    with ocp.StandardCheckpointer() as ckptr:
        model, optimizer = nnx.merge(graphdef, ckptr.restore(tmp_path / "state", abstract))
    assert int(optimizer.step[...]) == 37 and int(optimizer.opt_state.bad[...]) == 1
    rest = _plateau_train(model, optimizer, 60)
    for a, b, c in zip(first, rest, whole):
        assert a + b == c
    assert _params(model) == whole_params


@nnx.jit
def _value_step(model, optimizer, x, y, metric):
    updates = optimizer.update(model, nnx.grad(_loss)(model, x, y), value=metric)
    return -updates["probe"][...]


def test_plateau_metric_passed_to_update_under_jit():
    # optax.contrib's way: a report with every update, before its rate is computed
    model, optimizer = _plateau_create()
    metrics = [1.0 / (u + 1) for u in range(10)] + [0.1] * 20
    rates = [float(_value_step(model, optimizer, *ex.batch(u), jnp.float32(m)))
             for u, m in enumerate(metrics)]
    t = np.arange(30)
    reports = [(u, float(np.float32(m))) for u, m in enumerate(metrics)]
    _assert_f32(rates, lrcore.evaluate(PLATEAU, t, reports=reports), t)
    assert int(optimizer.opt_state.reports[...]) == 30
    assert float(optimizer.opt_state.scale[...]) < 1.0
