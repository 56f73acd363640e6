"""Reduce-on-plateau in MLX: reports, the float64 rule, and state that travels with
``optimizer.state``.

The oracle is the float64 reference with the same reports
(``lrcore.evaluate(spec, t, reports=...)``); a save/restore round trip (``tree_flatten``
+ ``mx.save_safetensors``, then ``optimizer.state = ...``) and a restore in a new process
continue with the identical rates and weights of the run that was never interrupted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

mx = pytest.importorskip("mlx.core")
nn = pytest.importorskip("mlx.nn")
optim = pytest.importorskip("mlx.optimizers")
from mlx.utils import tree_flatten, tree_unflatten  # noqa: E402
from mlx_helpers import train_step  # noqa: E402
from rates import F32, assert_rates, warm_cos_spec  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.mlx import plateau_state, report, to_mlx, to_mlx_optimizer  # noqa: E402

SPEC = warm_cos_spec()
EPOCH = 10  # updates per epoch; a metric is reported after each epoch
# a validation loss per epoch: improves, stalls (a cut), improves, stalls again
LOSSES = [3.0, 2.0, 1.9, 1.95, 1.97, 1.96, 1.5, 1.49, 1.5, 1.52, 1.51, 1.53]


def _setup(seed: int = 0):
    mx.random.seed(seed)
    model = nn.Linear(4, 1)
    x = mx.random.normal((32, 4))
    y = x @ mx.array([[1.0], [-2.0], [0.5], [3.0]]) + 0.25
    return model, x, y


def _loop(model, opt, x, y, epochs, losses, *, compiled=False):
    """Train ``epochs`` epochs, reporting ``losses[e]`` after epoch ``e``; returns the
    rate of every update and the ``(step, metric)`` reports made."""
    step = train_step(model, opt, compiled=compiled)
    rates, reports = [], []
    for e in range(epochs):
        for _ in range(EPOCH):
            step(x, y)
            mx.eval(model.parameters(), opt.state)
            rates.append(opt.learning_rate.item())
        reports.append((int(opt.step.item()), losses[e]))
        report(opt, losses[e])
    return rates, reports


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
def test_reported_metrics_cut_the_rate_as_the_reference_does(compiled):
    model, x, y = _setup()
    opt = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
    rates, reports = _loop(model, opt, x, y, 12, LOSSES, compiled=compiled)
    t = np.arange(len(rates))
    ref = lrcore.evaluate(SPEC, t, reports=reports)
    assert_rates(rates, ref, **F32)
    assert plateau_state(opt).scale < 1.0  # the losses did cut the rate
    assert ref[-1] < lrcore.evaluate(SPEC, t[-1])


def test_the_rule_compares_in_float64():
    """``(0, 1.0)`` then ``(0, 0.99989999)``: not 1e-4 better than 1.0 in float64 (no
    improvement: a cut with patience 0), though float32 rounds the threshold so that
    it is. The reference's decision, whatever MLX computes in."""
    spec = lrcore.plateau(schedule=lrcore.constant(value=1.0), patience=0, factor=0.5)
    opt = to_mlx_optimizer(spec, optim.SGD)
    report(opt, 1.0)
    changed = report(opt, 0.99989999)
    ref = lrcore.evaluate(spec, [0], reports=[(0, 1.0), (0, 0.99989999)])
    assert changed is False and ref[0] == 1.0  # float32 would have cut
    assert opt._schedulers["learning_rate"](0).item() == ref[0]


def test_an_mx_metric_is_its_float32_value():
    spec = lrcore.plateau(schedule=lrcore.constant(value=1.0), patience=0, factor=0.5)
    opt = to_mlx_optimizer(spec, optim.SGD)
    report(opt, mx.array(2.0))
    report(opt, mx.array([1.5], mx.float32))
    state = plateau_state(opt)
    assert (state.best, state.bad, state.reports) == (1.5, 0, 2)


def _snapshot(opt):
    return dict(tree_flatten(opt.state))


def test_save_and_restore_continue_identically(tmp_path: Path):
    # the uninterrupted run: 12 epochs
    model, x, y = _setup()
    opt = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
    full_rates, _ = _loop(model, opt, x, y, 12, LOSSES)
    full_w = np.array(model.weight)
    # the same run, saved after 6 epochs and restored into a new model and optimizer
    model, x, y = _setup()
    opt = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
    first, _ = _loop(model, opt, x, y, 6, LOSSES)
    model.save_weights(str(tmp_path / "model.safetensors"))
    mx.save_safetensors(str(tmp_path / "opt.safetensors"), _snapshot(opt))
    saved = plateau_state(opt)
    model2, _, _ = _setup(seed=1)  # other initial weights: the file must replace them
    model2.load_weights(str(tmp_path / "model.safetensors"))
    opt2 = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
    opt2.state = tree_unflatten(list(mx.load(str(tmp_path / "opt.safetensors")).items()))
    assert plateau_state(opt2) == saved
    rest, _ = _loop(model2, opt2, x, y, 6, LOSSES[6:])
    assert first + rest == full_rates  # bit for bit
    np.testing.assert_array_equal(np.array(model2.weight), full_w)


WORKER = r"""
import json, sys
import mlx.core as mx, mlx.nn as nn, mlx.optimizers as optim
from mlx.utils import tree_unflatten
sys.path.insert(0, sys.argv[2])
import lrcore
from lrcore.adapters.mlx import report, to_mlx_optimizer
from test_mlx_plateau import EPOCH, LOSSES, SPEC, _loop, _setup
_, x, y = _setup()
model, _, _ = _setup(seed=1)  # other initial weights: the file must replace them
model.load_weights(sys.argv[1] + "/model.safetensors")
opt = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
opt.state = tree_unflatten(list(mx.load(sys.argv[1] + "/opt.safetensors").items()))
rates, _ = _loop(model, opt, x, y, 6, LOSSES[6:])
print(json.dumps({"rates": rates, "weight": mx.array(model.weight).tolist()}))
"""


def test_a_new_process_reloads_and_continues_identically(tmp_path: Path):
    model, x, y = _setup()
    opt = to_mlx_optimizer(SPEC, optim.SGD, momentum=0.9)
    _loop(model, opt, x, y, 6, LOSSES)
    model.save_weights(str(tmp_path / "model.safetensors"))
    mx.save_safetensors(str(tmp_path / "opt.safetensors"), _snapshot(opt))
    here, _ = _loop(model, opt, x, y, 6, LOSSES[6:])  # this process goes on
    tests = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path),
                           str(Path(__file__).parent)], capture_output=True, text=True,
                          cwd=tests, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["rates"] == here
    np.testing.assert_array_equal(np.asarray(out["weight"], np.float32),
                                  np.array(model.weight))


def test_a_nan_metric_is_refused_and_changes_nothing():
    opt = to_mlx_optimizer(SPEC, optim.SGD)
    with pytest.raises(SpecError) as err:
        report(opt, float("nan"))
    assert str(err.value) == ("metric: must not be NaN (a NaN metric can never improve; "
                              "check the loss), got NaN")
    assert plateau_state(opt).reports == 0


def test_report_needs_a_plateau_optimizer_from_lrcore():
    with pytest.raises(SpecError) as err:
        report(optim.SGD(learning_rate=to_mlx(lrcore.constant(value=0.1))), 1.0)
    assert str(err.value) == ("optimizer: must be built by lrcore.to_mlx_optimizer, "
                              'got "SGD"')
    with pytest.raises(SpecError) as err:
        report(to_mlx_optimizer(lrcore.constant(value=0.1), optim.SGD), 1.0)
    assert str(err.value) == ("optimizer: needs a spec whose outermost node is plateau, "
                              'got "constant"')


def test_a_state_without_the_plateau_entry_is_refused():
    opt = to_mlx_optimizer(SPEC, optim.SGD)
    opt.state = {"step": mx.array(0, mx.uint64)}  # another optimizer's state
    with pytest.raises(SpecError) as err:
        opt._schedulers["learning_rate"](0)
    assert str(err.value) == ("optimizer.state.lrcore_plateau: must hold the plateau state "
                              "(restore the whole optimizer.state this optimizer saved), "
                              'got "NoneType"')
