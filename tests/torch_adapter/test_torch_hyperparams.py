"""Hyperparameter curves through the torch scheduler: every param group holds, when
``optimizer.step()`` runs, the value ``lrcore.evaluate(spec, k, hyperparam=...)`` gives.

Oracles: the float64 reference, and torch's own ``OneCycleLR``/``CyclicLR`` with
``cycle_momentum=True`` (an independent implementation of the momentum cycle).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rates import F64, assert_rates, onecycle_recipe  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

N = 120
RECIPE = onecycle_recipe(N)


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def _train(opt, sched, steps, read):
    """A real loop; ``read(group)`` records what the optimizer is about to apply."""
    model_params = [p for g in opt.param_groups for p in g["params"]]
    x = torch.randn(32, 4, generator=torch.Generator().manual_seed(1))
    seen = []
    for _ in range(steps):
        loss = sum((p.sum() for p in model_params), torch.zeros(())) ** 2 + x.sum() * 0
        loss.backward()
        seen.append([read(g) for g in opt.param_groups])
        opt.step()
        opt.zero_grad()
        sched.step()
    return np.asarray(seen)


@pytest.mark.parametrize("make,read", [
    (lambda p: torch.optim.SGD(p, lr=0.0, momentum=0.5, weight_decay=0.0),
     lambda g: (g["lr"], g["momentum"], g["weight_decay"])),
    (lambda p: torch.optim.AdamW(p, lr=0.0),
     lambda g: (g["lr"], g["betas"][0], g["weight_decay"])),
], ids=["SGD", "AdamW"])
def test_every_group_applies_every_curve(make, read):
    model = _model()
    opt = make([{"params": model[0].parameters()}, {"params": model[2].parameters()}])
    sched = lrcore.to_torch(RECIPE, opt, group_scale=[1.0, 0.5])
    seen = _train(opt, sched, N, read)
    t = np.arange(N)
    assert_rates(seen[:, 0, 0], lrcore.evaluate(RECIPE, t), **F64)
    assert_rates(seen[:, 1, 0], 0.5 * lrcore.evaluate(RECIPE, t), **F64)
    for g in range(2):  # group_scale scales the rate only
        assert_rates(seen[:, g, 1], lrcore.evaluate(RECIPE, t, hyperparam="momentum"), **F64)
        assert_rates(seen[:, g, 2], lrcore.evaluate(RECIPE, t, hyperparam="weight_decay"),
                     **F64)


@pytest.mark.parametrize("opt_cls,key", [(torch.optim.SGD, "momentum"),
                                         (torch.optim.Adam, "betas")])
@pytest.mark.parametrize("three_phase", [False, True])
def test_onecycle_momentum_equals_torchs_own_cycle(opt_cls, key, three_phase):
    kw = {"momentum": 0.9} if opt_cls is torch.optim.SGD else {}
    p1, p2 = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    theirs = opt_cls([p1], lr=0.1, **kw)
    native = torch.optim.lr_scheduler.OneCycleLR(
        theirs, max_lr=0.3, total_steps=N, pct_start=0.3, anneal_strategy="cos",
        three_phase=three_phase, base_momentum=0.8, max_momentum=0.92, div_factor=20.0,
        final_div_factor=50.0)
    ours = opt_cls([p2], lr=0.1, **kw)
    spec = lrcore.Schedule(
        schedule=lrcore.onecycle(peak=0.3, pct_start=0.3, three_phase=three_phase,
                                 div_factor=20.0, final_div_factor=50.0, duration=N),
        hyperparams={"momentum": lrcore.onecycle_momentum(
            low=0.8, high=0.92, pct_start=0.3, three_phase=three_phase, duration=N)})
    sched = lrcore.to_torch(spec, ours)

    def value(opt):
        g = opt.param_groups[0]
        return g["momentum"] if key == "momentum" else g["betas"][0]

    for k in range(N - 1):  # torch's OneCycleLR raises past its total_steps
        assert value(ours) == pytest.approx(value(theirs), rel=1e-12, abs=0), k
        assert ours.param_groups[0]["lr"] == pytest.approx(theirs.param_groups[0]["lr"],
                                                           rel=1e-12, abs=0), k
        theirs.step()
        ours.step()
        native.step()
        sched.step()


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_inverted_cyclic_equals_cycliclrs_momentum(mode):
    p1, p2 = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(3))
    theirs = torch.optim.SGD([p1], lr=0.1, momentum=0.9)
    native = torch.optim.lr_scheduler.CyclicLR(
        theirs, base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=4, mode=mode,
        gamma=0.99, base_momentum=0.75, max_momentum=0.9)
    ours = torch.optim.SGD([p2], lr=0.1, momentum=0.9)
    gamma = 0.99 if mode == "exp_range" else 1.0
    spec = lrcore.Schedule(
        schedule=lrcore.cyclic(low=0.01, high=0.1, up=7, down=4, mode=mode, gamma=gamma),
        hyperparams={"momentum": lrcore.cyclic(low=0.75, high=0.9, up=7, down=4, mode=mode,
                                               gamma=gamma, invert=True)})
    sched = lrcore.to_torch(spec, ours)
    for k in range(80):
        assert ours.param_groups[0]["momentum"] == pytest.approx(
            theirs.param_groups[0]["momentum"], rel=1e-12, abs=0), k
        theirs.step()
        ours.step()
        native.step()
        sched.step()


def test_resume_continues_every_curve():
    def build():
        model = _model()
        opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.5, weight_decay=0.0)
        return opt, lrcore.to_torch(RECIPE, opt)

    opt, sched = build()
    read = lambda g: (g["lr"], g["momentum"], g["weight_decay"])  # noqa: E731
    first = _train(opt, sched, 50, read)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    opt2, sched2 = build()  # a fresh process would build these the same way
    buf.seek(0)
    state = torch.load(buf, weights_only=False)
    opt2.load_state_dict(state["opt"])
    sched2.load_state_dict(state["sched"])
    rest = _train(opt2, sched2, N - 50, read)
    seen = np.concatenate([first, rest])[:, 0]
    t = np.arange(N)
    assert_rates(seen[:, 0], lrcore.evaluate(RECIPE, t), **F64)
    assert_rates(seen[:, 1], lrcore.evaluate(RECIPE, t, hyperparam="momentum"), **F64)
    assert_rates(seen[:, 2], lrcore.evaluate(RECIPE, t, hyperparam="weight_decay"), **F64)


def test_pass_through_names_drive_group_keys():
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        "eps": lrcore.linear(start=1e-6, end=1e-8, duration=10),
        "dampening": lrcore.constant(value=0.25)})
    adam = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    with pytest.raises(SpecError, match=r"^hyperparams\.dampening: torch\.optim\.Adam has no "
                                        r"dampening; it has: amsgrad, betas\[0\], betas\[1\], "
                                        r'.*eps.*, got "dampening"$'):
        lrcore.to_torch(spec, adam)
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        "eps": lrcore.linear(start=1e-6, end=1e-8, duration=10)})
    sched = lrcore.to_torch(spec, adam)
    for _ in range(5):
        adam.step()
        sched.step()
    assert adam.param_groups[0]["eps"] == lrcore.evaluate(spec, [5], hyperparam="eps")[0]


@pytest.mark.parametrize("opt,hyper,match", [
    (lambda p: torch.optim.SGD(p, lr=0.1), {"beta1": 0.9},
     r"^hyperparams\.beta1: torch\.optim\.SGD has no betas\[0\]; it has: dampening, "
     r"differentiable, foreach, fused, lr, maximize, momentum, nesterov, weight_decay, "
     r'got "beta1"$'),
    (lambda p: torch.optim.RMSprop(p, lr=0.1), {"beta2": 0.9},
     r"^hyperparams\.beta2: torch\.optim\.RMSprop has no betas\[1\]; it has: "),
    (lambda p: torch.optim.Adagrad(p, lr=0.1), {"momentum": 0.9},
     r"^hyperparams\.momentum: torch\.optim\.Adagrad has no momentum or betas\[0\]; "),
    (lambda p: torch.optim.Adam(p, lr=0.1), {"momentum": 0.9, "beta1": 0.8},
     r"^hyperparams\.momentum: is the same betas\[0\] as beta1 in torch\.optim\.Adam; "
     r'keep one of them, got "momentum"$'),
])
def test_a_hyperparameter_the_optimizer_lacks_is_a_spec_error(opt, hyper, match):
    spec = lrcore.Schedule(schedule=lrcore.constant(value=0.1), hyperparams={
        k: lrcore.constant(value=v) for k, v in hyper.items()})
    with pytest.raises(SpecError, match=match):
        lrcore.to_torch(spec, opt([torch.nn.Parameter(torch.zeros(1))]))


def test_plain_specs_leave_other_entries_alone():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0, momentum=0.7,
                          weight_decay=0.1)
    sched = lrcore.to_torch(lrcore.constant(value=0.1), opt)
    opt.step()
    sched.step()
    assert (opt.param_groups[0]["momentum"], opt.param_groups[0]["weight_decay"]) == (0.7, 0.1)
