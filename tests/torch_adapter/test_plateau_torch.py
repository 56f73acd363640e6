"""Reduce-on-plateau through the torch adapter.

* oracle tests: with a constant inner schedule, lrcore's ``plateau`` must cut the rate at
  the same epochs and to the same values as torch's own ``ReduceLROnPlateau`` (an
  independent implementation), for parameter sets covering mode max, threshold_mode
  abs, cooldown, min_lr reached and eps, compared per epoch at rtol 1e-12;
* adapter tests: the rate of every update against the float64 reference
  ``lrcore.evaluate(spec, steps, reports=...)`` over a warmup + cosine, resume from a
  ``state_dict`` checkpoint in the middle of a patience window, errors;
* the example ``examples/plateau_torch.py`` run in a subprocess: it cuts the rate, and
  the rates it prints are the reference's for the metrics it prints.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rates import assert_rates, check_plateau_example, warm_cos_spec  # noqa: E402 - tests/ is on sys.path (conftest)
from torch.optim.lr_scheduler import ReduceLROnPlateau  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

RTOL, ATOL = 1e-12, 1e-15  # float64 (DESIGN.md); atol is relative to the curve's peak




def _sgd(lr: float = 0.0):
    p = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
    return torch.optim.SGD([p], lr=lr, momentum=0.9)


# ---- against torch's ReduceLROnPlateau ---------------------------------------------------

TORCH_SETS = {
    # the issue's example: min, factor 0.1, patience 2
    "min-factor0.1-patience2": dict(mode="min", factor=0.1, patience=2),
    "max-rel": dict(mode="max", factor=0.5, patience=1, threshold=0.02),
    "min-abs": dict(mode="min", factor=0.3, patience=1, threshold=0.05,
                    threshold_mode="abs"),
    "max-abs-cooldown": dict(mode="max", factor=0.4, patience=0, threshold=0.01,
                             threshold_mode="abs", cooldown=2),
    "cooldown3-patience1": dict(factor=0.5, patience=1, threshold=1e-3, cooldown=3),
    "min_lr-reached": dict(factor=0.2, patience=0, threshold=1e-3, min_lr=0.003),
    "eps-stops-cuts": dict(factor=0.5, patience=0, threshold=1e-3, eps=0.01),
}
BASE = 0.1
EPOCHS, SPE = 24, 3


def _metric_sequences(mode: str) -> dict[str, list[float]]:
    rng = np.random.default_rng(7)
    sign = 1.0 if mode == "min" else -1.0  # a "loss" for min, an "accuracy" for max
    noisy = (0.5 + 0.05 * rng.standard_normal(EPOCHS)).tolist()
    improving_then_flat = [1.0 / (k + 1) for k in range(8)] + [1.0 / 8] * (EPOCHS - 8)
    return {
        "constant": [0.7] * EPOCHS,
        "noisy": [sign * m for m in noisy],
        "improving-then-flat": [sign * m for m in improving_then_flat],
    }


def _torch_native(params: dict, metrics: list[float]) -> list[float]:
    """torch's ReduceLROnPlateau: the lr of each epoch (stepped with the metric after it)."""
    opt = _sgd(BASE)
    rop = ReduceLROnPlateau(opt, **params)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        for _ in range(SPE):
            opt.step()
        rop.step(m)
    out.append(opt.param_groups[0]["lr"])
    return out


def _lrcore_per_batch(params: dict, metrics: list[float]) -> list[float]:
    """lrcore: scheduler.step() per batch, scheduler.report(metric) after each epoch."""
    opt = _sgd()
    sched = lrcore.to_torch(lrcore.plateau(schedule=lrcore.constant(value=BASE), **params),
                            opt)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        for _ in range(SPE):
            opt.step()
            sched.step()
        sched.report(m)
    out.append(opt.param_groups[0]["lr"])
    return out


def _lrcore_per_epoch(params: dict, metrics: list[float]) -> list[float]:
    """lrcore stepped per epoch like torch's: scheduler.step(metric) after each epoch."""
    opt = _sgd()
    spec = lrcore.plateau(schedule=lrcore.constant(value=BASE), **params)
    sched = lrcore.to_torch(spec, opt, step_unit="epoch", steps_per_epoch=SPE)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        for _ in range(SPE):
            opt.step()
        sched.step(m)
    out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("drive", [_lrcore_per_batch, _lrcore_per_epoch],
                         ids=["report-per-epoch", "step-metric-per-epoch"])
@pytest.mark.parametrize("name", sorted(TORCH_SETS))
def test_same_cuts_as_torch_reduce_lr_on_plateau(name, drive):
    """lrcore.plateau(constant) and torch's ReduceLROnPlateau, fed the same metrics,
    hold the same lr in every epoch (rtol 1e-12) on every sequence; each parameter set
    cuts at least once somewhere."""
    params = TORCH_SETS[name]
    cuts = 0
    for metrics in _metric_sequences(params.get("mode", "min")).values():
        want = _torch_native(params, metrics)
        assert_rates(drive(params, metrics), want)
        cuts += sum(b < a for a, b in zip(want, want[1:], strict=False))
    assert cuts > 0, "the parameter set never cut the rate: the test would prove nothing"


def test_issue_example_constant_metric():
    """min, factor 0.1, patience 2, a constant metric: torch cuts after epochs 4, 7, 10
    (written out: 1 good + 3 bad > 2), and so does lrcore."""
    metrics = [3.0] * 10
    want = _torch_native(dict(factor=0.1, patience=2), metrics)
    assert_rates(want, [0.1] * 4 + [0.01] * 3 + [0.001] * 3 + [1e-4])
    assert_rates(_lrcore_per_batch(dict(factor=0.1, patience=2), metrics), want)


def test_min_lr_and_eps_stop_the_cuts_like_torch():
    """At min_lr torch stops (old - new = 0 is not > eps) and so does lrcore; with a
    large eps torch keeps the lr once a cut would be smaller than eps."""
    metrics = [1.0] * 12
    for params, floor in [(dict(factor=0.2, patience=0, min_lr=0.003), 0.003),
                          (dict(factor=0.5, patience=0, eps=0.01), 0.0125)]:
        want = _torch_native(params, metrics)
        assert want[-1] == pytest.approx(floor, rel=1e-12)
        assert_rates(_lrcore_per_batch(params, metrics), want)


# ---- against the reference, over a warmup + cosine ---------------------------------------



def test_rate_of_every_update_is_the_reference():
    """Per batch stepping, a report after every 4 updates: the lr of every update is
    ``evaluate(spec, k, reports=...)`` at rtol 1e-12, and the reports did cut it."""
    spec = warm_cos_spec()
    rng = np.random.default_rng(3)
    metrics = (0.4 + 0.01 * rng.standard_normal(30)).tolist()
    opt = _sgd(5.0)
    sched = lrcore.to_torch(spec, opt)
    lrs, reports = [], []
    for m in metrics:
        for _ in range(4):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        sched.report(m)
        reports.append((sched.last_epoch, m))
    steps = np.arange(len(lrs))
    ref = lrcore.evaluate(spec, steps, reports=reports)
    assert_rates(lrs, ref)
    assert np.any(ref < lrcore.evaluate(spec, steps) * 0.9)
    assert sched.plateau["reports"] == len(metrics)


@pytest.mark.parametrize("unit", ["epoch", "step"])
def test_step_with_metric_reports_after_the_updates(unit):
    """``scheduler.step(val_loss)`` after epoch e has applied e * spe updates, so it is
    the report ``(e * spe, val_loss)``: the same rates as the reference and as
    ``report()``, and min_lr holds (a cut never takes the rate below min_lr).

    A decaying inner schedule makes the report's step matter: inner(t) = 1 - t/100,
    factor 0.5, patience 0, min_lr 0.3, 10 steps per epoch. After epoch 3 (step 30,
    inner 0.7) the cut is to max(0.25, 0.3/0.7) = 3/7, i.e. the rate 0.3 exactly."""
    spe = 10
    spec = lrcore.plateau(schedule=lrcore.linear(start=1.0, end=0.0, duration=100),
                          factor=0.5, patience=0, min_lr=0.3, eps=0.0)
    metrics = [1.0] * 6
    opt = _sgd()
    if unit == "epoch":
        sched = lrcore.to_torch(spec, opt, step_unit="epoch", steps_per_epoch=spe)
    else:
        sched = lrcore.to_torch(spec, opt)
    lrs = []
    for m in metrics:
        lrs.append(opt.param_groups[0]["lr"])
        for b in range(spe):
            opt.step()
            if unit == "step":
                sched.step(m if b == spe - 1 else None)
        if unit == "epoch":
            sched.step(m)
    lrs.append(opt.param_groups[0]["lr"])
    steps = [spe * e for e in range(len(metrics) + 1)]
    reports = [(spe * (e + 1), m) for e, m in enumerate(metrics)]
    ref = lrcore.evaluate(spec, steps, reports=reports)
    assert ref[3] == pytest.approx(0.3, rel=1e-12)  # the hand value above
    assert_rates(lrs, ref)


# ---- resume -----------------------------------------------------------------------------------

def _data():
    g = torch.Generator().manual_seed(11)
    x = torch.randn(96, 4, generator=g, dtype=torch.float64)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.4 * torch.randn(96, 1, generator=g,
                                                                   dtype=torch.float64)
    return x[:64], y[:64], x[64:], y[64:]


def _fresh(spec):
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 1)).double()
    opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    return model, opt, lrcore.to_torch(spec, opt)


def _train(model, opt, sched, epochs: range, log: dict) -> None:
    x, y, xv, yv = _data()
    loss_fn = torch.nn.MSELoss()
    for _ in epochs:
        for b in range(4):
            log["lrs"].append(opt.param_groups[0]["lr"])
            opt.zero_grad()
            loss_fn(model(x[16 * b:16 * (b + 1)]), y[16 * b:16 * (b + 1)]).backward()
            opt.step()
            sched.step()
        with torch.no_grad():
            val = float(loss_fn(model(xv), yv))
        sched.report(val)
        log["reports"].append((sched.last_epoch, val))
        log["states"].append(dict(sched.plateau))


@pytest.mark.parametrize("where", ["patience", "cooldown"])
def test_resume_mid_patience_window(where):
    """Save model, optimizer and scheduler ``state_dict`` (torch.save, weights_only
    load) in the middle of a patience window (or of a cooldown), load them into a fresh
    model, optimizer and scheduler, continue: the same rates, plateau state and
    weights as the uninterrupted run."""
    spec = warm_cos_spec(patience=3, cooldown=2, threshold=0.02)
    epochs = 24
    full = {"lrs": [], "reports": [], "states": []}
    model, opt, sched = _fresh(spec)
    _train(model, opt, sched, range(epochs), full)
    # the first epoch whose end is inside a patience window (or a cooldown)
    if where == "patience":
        cut = next(e for e, s in enumerate(full["states"][:-2])
                   if 0 < s["bad"] <= 3 and s["cool"] == 0 and s["scale"] < 1.0)
    else:
        cut = next(e for e, s in enumerate(full["states"][:-2]) if s["cool"] > 0)
    assert any(s["scale"] < 1.0 for s in full["states"]), "no cut: the test proves nothing"

    part = {"lrs": [], "reports": [], "states": []}
    model, opt, sched = _fresh(spec)
    _train(model, opt, sched, range(cut + 1), part)
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict()}, buf)
    buf.seek(0)
    del model, opt, sched
    checkpoint = torch.load(buf, weights_only=True)
    model, opt, sched = _fresh(spec)
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])
    sched.load_state_dict(checkpoint["scheduler"])
    assert sched.plateau == full["states"][cut]
    _train(model, opt, sched, range(cut + 1, epochs), part)

    assert part["lrs"] == full["lrs"]  # bit for bit: same arithmetic, same order
    assert part["reports"] == full["reports"]
    assert part["states"] == full["states"]
    ref = lrcore.evaluate(spec, np.arange(len(full["lrs"])), reports=full["reports"])
    assert_rates(part["lrs"], ref)


def test_plateau_state_in_state_dict_is_plain_data():
    """The plateau state travels in ``state_dict`` as plain data (JSON-able but for
    the infinite initial best)."""
    spec = warm_cos_spec()
    opt = _sgd()
    sched = lrcore.to_torch(spec, opt)
    state = sched.state_dict()["plateau"]
    assert state == {"best": math.inf, "bad": 0, "cool": 0, "scale": 1.0, "reports": 0}
    for m in (0.5, 0.5, 0.5, 0.5):
        opt.step()
        sched.step()
        sched.report(m)
    state = sched.state_dict()["plateau"]
    assert state == {"best": 0.5, "bad": 0, "cool": 1, "scale": 0.5, "reports": 4}
    json.dumps(state)


# ---- errors ---------------------------------------------------------------------------------

def test_report_needs_a_plateau_spec():
    opt = _sgd()
    sched = lrcore.to_torch(lrcore.constant(value=0.1), opt)
    with pytest.raises(SpecError, match="report: needs a spec whose outermost node is "
                                        "plateau, got \"constant\""):
        sched.report(0.5)
    with pytest.raises(SpecError, match="^step: takes no argument for a \"constant\" spec "):
        sched.step(0.5)


@pytest.mark.parametrize("call", ["report", "step"])
@pytest.mark.parametrize("bad", ["0.3", True], ids=["string", "bool"])
def test_a_metric_that_is_not_a_number_is_an_error(call, bad):
    """torch's ReduceLROnPlateau runs float(metrics), so "0.3" passes there; here a
    string (a logging bug) or a bool is a SpecError and changes nothing (``step(None)``
    is a plain step, as in torch)."""
    opt = _sgd()
    sched = lrcore.to_torch(warm_cos_spec(patience=0), opt)
    before = (dict(sched.plateau), sched.last_epoch, opt.param_groups[0]["lr"])
    with pytest.raises(SpecError, match="^metric: must be a number, got "):
        getattr(sched, call)(bad)
    assert (dict(sched.plateau), sched.last_epoch, opt.param_groups[0]["lr"]) == before


@pytest.mark.parametrize("call", ["report", "step"])
@pytest.mark.parametrize("nan", [float("nan"), torch.tensor(float("nan"))],
                         ids=["float", "tensor"])
def test_nan_metric_is_an_error_and_changes_nothing(call, nan):
    opt = _sgd()
    sched = lrcore.to_torch(warm_cos_spec(patience=0), opt)
    sched.report(torch.tensor(0.5, dtype=torch.float64))  # a 0-d tensor is a metric
    before = (dict(sched.plateau), sched.last_epoch, opt.param_groups[0]["lr"])
    with pytest.raises(SpecError, match="metric: must not be NaN"):
        getattr(sched, call)(nan)
    assert (dict(sched.plateau), sched.last_epoch, opt.param_groups[0]["lr"]) == before


# ---- the example -----------------------------------------------------------------------------

def test_example_cuts_and_matches_the_reference():
    """``python examples/plateau_torch.py --epochs 12``: at least one cut, and every rate
    it printed is ``evaluate(spec, step, reports=<the metrics it printed>)`` (float64)."""
    check_plateau_example("plateau_torch.py", 12)
