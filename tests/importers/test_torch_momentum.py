"""``from_torch`` carries the momentum cycle of ``OneCycleLR`` and ``CyclicLR``
(``cycle_momentum=True``, torch's default) as the spec's ``momentum`` curve: equal to the
momentum (SGD) or ``betas[0]`` (Adam) torch's own scheduler puts in the param group,
step by step, at rtol 1e-12; and the same sequence in optax and through lrcore's torch
scheduler. ``cycle_momentum=False`` gives no momentum curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
L = torch.optim.lr_scheduler

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

FLOAT64 = {"rtol": 1e-12, "atol": 0.0}


def _opt(kind, lrs=(0.1,)):
    params = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in lrs]
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lrs[0], momentum=0.9)
    return torch.optim.AdamW(params, lr=lrs[0])


def _momenta(scheduler, n, group=0):
    opt = scheduler.optimizer
    out = []
    for _ in range(n):
        g = opt.param_groups[group]
        out.append(g["momentum"] if "momentum" in g else g["betas"][0])
        opt.step()
        scheduler.step()
    return np.asarray(out)


CYCLERS = {
    "OneCycleLR-cos": (lambda o: L.OneCycleLR(o, max_lr=[0.5, 0.8], total_steps=300,
                                              pct_start=0.3, base_momentum=0.8,
                                              max_momentum=0.93), 299),
    "OneCycleLR-linear-3": (lambda o: L.OneCycleLR(o, max_lr=0.4, total_steps=211,
                                                   pct_start=0.2, anneal_strategy="linear",
                                                   three_phase=True), 210),
    "CyclicLR-triangular2": (lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=11,
                                                  step_size_down=7, mode="triangular2",
                                                  base_momentum=0.7, max_momentum=0.95), 300),
    "CyclicLR-exp_range": (lambda o: L.CyclicLR(o, [0.01, 0.02], [0.1, 0.3], step_size_up=9,
                                                mode="exp_range", gamma=0.995,
                                                base_momentum=[0.8, 0.85],
                                                max_momentum=[0.9, 0.92]), 300),
}


@pytest.mark.parametrize("kind", ["sgd", "adamw"])
@pytest.mark.parametrize("name", sorted(CYCLERS))
def test_momentum_cycle_equals_torchs(name, kind):
    make, n = CYCLERS[name]
    groups = 2 if name in ("OneCycleLR-cos", "CyclicLR-exp_range") else 1
    for group in range(groups):
        lrs = (0.1, 0.2)[:groups]
        native = _momenta(make(_opt(kind, lrs)), n, group)
        spec = lrcore.from_torch(make(_opt(kind, lrs)), group=group)
        assert [name for name, _ in spec.hyperparams] == ["momentum"]
        got = lrcore.evaluate(spec, np.arange(n), hyperparam="momentum")
        np.testing.assert_allclose(got, native, **FLOAT64)


@pytest.mark.parametrize("name", sorted(CYCLERS))
def test_the_imported_recipe_runs_the_same_momentum_in_optax_and_torch(name):
    jax = pytest.importorskip("jax")
    make, n = CYCLERS[name]
    native = _momenta(make(_opt("sgd", (0.1, 0.2))), n)
    spec = lrcore.from_torch(make(_opt("sgd", (0.1, 0.2))))
    t = np.arange(n)
    got32 = np.asarray(jax.jit(jax.vmap(lrcore.to_optax(spec, hyperparam="momentum")))(t),
                       dtype=np.float64)
    np.testing.assert_allclose(got32, native, rtol=2e-6, atol=1e-9)
    # and lrcore's own torch scheduler, driving a fresh optimizer from the spec
    opt = _opt("adamw")
    ours = _momenta(lrcore.to_torch(spec, opt), n)
    np.testing.assert_allclose(ours, native, **FLOAT64)


@pytest.mark.parametrize("make", [
    lambda o: L.OneCycleLR(o, max_lr=0.5, total_steps=100, cycle_momentum=False),
    lambda o: L.CyclicLR(o, 0.01, 0.2, step_size_up=5, cycle_momentum=False),
    lambda o: L.StepLR(o, 5),
])
def test_no_momentum_cycle_no_curve(make):
    assert lrcore.from_torch(make(_opt("sgd"))).hyperparams == ()


def test_origin_now_shifts_the_momentum_too():
    make, n = CYCLERS["OneCycleLR-cos"]
    native = _momenta(make(_opt("sgd", (0.1, 0.2))), n)
    s = make(_opt("sgd", (0.1, 0.2)))
    _momenta(s, 40)
    spec = lrcore.from_torch(s, origin="now")
    np.testing.assert_allclose(lrcore.evaluate(spec, np.arange(n - 40), hyperparam="momentum"),
                               native[40:], **FLOAT64)


def test_a_momentum_cycle_inside_a_sequential_lr_written_out():
    """ConstantLR for 10 steps, then OneCycleLR (defaults: momentum 0.95 down to 0.85 by
    step 26 of its own, back to 0.95 at 89): before step 10 the group holds the 0.95 the
    OneCycleLR's constructor set; from 10 on its cycle (torch's _annealing_cos written
    out)."""
    def make():
        o = _opt("sgd")
        return L.SequentialLR(o, [L.ConstantLR(o, factor=0.1, total_iters=10),
                                  L.OneCycleLR(o, max_lr=0.5, total_steps=90)],
                              milestones=[10])

    def cos(start, end, pct):
        return end + (start - end) / 2 * (math.cos(math.pi * pct) + 1)

    hand = [0.95] * 10 + [cos(0.95, 0.85, j / 26) for j in range(27)] \
        + [cos(0.85, 0.95, (j - 26) / 63) for j in range(27, 90)]
    spec = lrcore.from_torch(make())
    np.testing.assert_allclose(lrcore.evaluate(spec, np.arange(100), hyperparam="momentum"),
                               hand, **FLOAT64)
    np.testing.assert_allclose(_momenta(make(), 100), hand, **FLOAT64)


def test_a_momentum_set_by_hand_in_a_sequential_lr_is_refused():
    o = _opt("sgd")
    s = L.SequentialLR(o, [L.ConstantLR(o, factor=0.1, total_iters=10),
                           L.OneCycleLR(o, max_lr=0.5, total_steps=90)], milestones=[10])
    o.param_groups[0]["momentum"] = 0.5
    with pytest.raises(SpecError, match=r"^optimizer\.param_groups\[0\]\.momentum: is not "
                                        r"the momentum the cyclers of the SequentialLR give at "
                                        r"step 0 \(0\.95\): it was set by hand or by a cycler "
                                        r"built out of the list's order; set it to that value, "
                                        r"or build the cyclers in the order of the list, got "
                                        r"0\.5$"):
        lrcore.from_torch(s)


def test_lrcores_own_scheduler_keeps_its_hyperparams():
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        "weight_decay": lrcore.linear(start=0.0, end=0.1, duration=10)})
    opt = _opt("adamw")
    back = lrcore.from_torch(lrcore.to_torch(spec, opt))
    assert dict(back.hyperparams) == dict(spec.hyperparams)


@pytest.mark.parametrize("name", ["OneCycleLR-cos", "CyclicLR-triangular2"])
def test_the_imported_recipe_runs_the_same_momentum_in_keras(name):
    keras = pytest.importorskip("keras")
    from lrcore.adapters.keras import to_keras_optimizer

    make, n = CYCLERS[name]
    native = _momenta(make(_opt("sgd", (0.1, 0.2))), n)
    spec = lrcore.from_torch(make(_opt("sgd", (0.1, 0.2))))
    opt = to_keras_optimizer(spec, keras.optimizers.SGD)
    got = []
    for k in range(n):  # the value the update step reads at iterations k
        opt.iterations.assign(k)
        got.append(float(keras.ops.convert_to_numpy(opt.momentum)))
    np.testing.assert_allclose(got, native, rtol=2e-6, atol=1e-9)
