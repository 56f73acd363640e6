"""``follow="optimizer"``: the torch scheduler counts the updates the optimizer applied.

``t`` is the number of optimizer updates already applied (DESIGN.md). With mixed
precision, ``torch.amp.GradScaler`` skips ``optimizer.step()`` when a gradient holds an
inf while the loop still calls ``scheduler.step()``; a loop may also leave a step out by
itself. Here a real ``GradScaler`` (device ``"cpu"``) is forced to skip by writing an inf
into a gradient at chosen iterations.

Oracle: the update itself. Each iteration starts from a zero float64 parameter whose
unscaled gradient is exactly 1 (the scale is a power of 2), so after an SGD update the
parameter holds ``-lr`` exactly: the rate the update used, read from the weights. An
untouched parameter is a skipped update. The n-th update applied must have used
``lrcore.evaluate(spec, n)`` (the reference, checked against independent oracles
elsewhere); the default (``follow="scheduler"``, torch's convention) is shown running
ahead in the same loop.
"""

from __future__ import annotations

import copy
import io
import re

import pytest

torch = pytest.importorskip("torch")
from rates import F64, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

SPEC = lrcore.sequence(phases=[lrcore.linear(start=0.01, end=0.1, duration=6),
                               lrcore.cosine(start=0.1, end=0.002, duration=30)])
SKIP = {2, 3, 7, 11, 12, 13, 20}  # iterations whose gradient gets an inf
ITERATIONS = 30
INF = float("inf")


def raises(message: str):
    """The whole message, nothing more."""
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


class Rig:
    """A float64 parameter, SGD, a GradScaler on the CPU and an lrcore scheduler."""

    def __init__(self, spec=SPEC, follow="optimizer", fused=False, momentum=0.0, **kw):
        self.param = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))
        self.opt = torch.optim.SGD([self.param], lr=0.0, momentum=momentum, fused=fused)
        self.sched = lrcore.to_torch(spec, self.opt, follow=follow, **kw)
        self.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12, growth_interval=4)
        self.applied, self.skipped = [], 0  # the rate each applied update used

    def iteration(self, inf: bool, metric=None) -> None:
        """One training iteration: the update (perhaps skipped by the scaler), then
        ``scheduler.step()`` as every loop calls it."""
        with torch.no_grad():
            self.param.zero_()
        self.opt.zero_grad()
        scale = self.scaler.get_scale()
        self.scaler.scale(self.param.sum()).backward()
        if inf:
            self.param.grad[0] = INF
        self.scaler.step(self.opt)
        self.scaler.update()
        self.sched.step() if metric is None else self.sched.step(metric)
        self.record(inf, scale)

    def record(self, inf: bool, scale: float | None = None) -> None:
        p = self.param.detach().tolist()
        if inf:  # the scaler skipped it: nothing moved, and the scale was halved
            assert p == [0.0, 0.0]
            assert scale is None or self.scaler.get_scale() == scale / 2
            self.skipped += 1
        else:
            assert p[0] == p[1] and p[0] < 0  # -lr * 1, exactly
            self.applied.append(-p[0])


def _run(rig, iterations=range(ITERATIONS), skip=SKIP):
    for i in iterations:
        rig.iteration(i in skip)
    return rig


@pytest.mark.parametrize("fused", [False, True], ids=["foreach", "fused"])
def test_each_applied_update_uses_the_rate_of_the_updates_before_it(fused):
    """GradScaler skips by not calling ``optimizer.step()``; with ``fused=True`` it calls
    it with ``found_inf`` set and the fused kernel skips: either way only applied
    updates move the schedule."""
    rig = _run(Rig(fused=fused))
    assert rig.skipped == len(SKIP) and len(rig.applied) == ITERATIONS - len(SKIP)
    n = len(rig.applied)
    assert_rates(rig.applied, lrcore.evaluate(SPEC, range(n)), **F64)
    assert rig.sched.last_epoch == n
    assert rig.sched.get_last_lr() == [rig.opt.param_groups[0]["lr"]]
    assert_rates([rig.opt.param_groups[0]["lr"]], lrcore.evaluate(SPEC, [n]), **F64)


def test_the_default_counts_scheduler_steps_and_runs_ahead():
    """torch's convention (``follow="scheduler"``): the i-th loop iteration uses
    ``evaluate(spec, i)``, skipped iterations included."""
    rig = _run(Rig(follow="scheduler"))
    used = [i for i in range(ITERATIONS) if i not in SKIP]
    assert_rates(rig.applied, lrcore.evaluate(SPEC, used), **F64)
    ahead = lrcore.evaluate(SPEC, range(len(rig.applied)))
    assert abs(rig.applied[-1] - ahead[-1]) > 1e-3  # the two conventions differ here
    assert rig.sched.follow == "scheduler" and _run(Rig()).sched.follow == "optimizer"


def test_a_loop_that_skips_a_step_itself():
    """No scaler: the loop leaves ``optimizer.step()`` out (a NaN loss, say) and still
    calls ``scheduler.step()`` (once, twice, or not at all): the schedule moves with the
    updates only."""
    rig = Rig()
    for i in range(ITERATIONS):
        with torch.no_grad():
            rig.param.zero_()
        rig.opt.zero_grad()
        rig.param.sum().backward()
        if i not in SKIP:
            rig.opt.step()
        for _ in range(i % 3):
            rig.sched.step()
        rig.record(i in SKIP)
    n = ITERATIONS - len(SKIP)
    assert_rates(rig.applied, lrcore.evaluate(SPEC, range(n)), **F64)


def test_resume_from_state_dicts():
    """Stop mid-run, save the scheduler, optimizer and scaler; build everything anew,
    load, go on: the applied rates continue the one curve."""
    first = _run(Rig(), range(16))
    saved = {"sched": first.sched.state_dict(), "opt": first.opt.state_dict(),
             "scaler": first.scaler.state_dict()}
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=False)
    assert "_follows" not in saved["sched"] and "_follow_handle" not in saved["sched"]

    second = Rig(spec=lrcore.constant(value=0.5))  # built from another spec: the
    second.opt.load_state_dict(saved["opt"])        # checkpoint's wins (and warns)
    second.scaler.load_state_dict(saved["scaler"])
    with pytest.warns(UserWarning, match="the checkpoint's schedule"):
        second.sched.load_state_dict(saved["sched"])
    _run(second, range(16, ITERATIONS))
    applied = first.applied + second.applied
    assert len(applied) == ITERATIONS - len(SKIP)
    assert_rates(applied, lrcore.evaluate(SPEC, range(len(applied))), **F64)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_pickled_scheduler_keeps_following(how):
    """``torch.save(scheduler)`` (or a deepcopy) carries its optimizer, whose step hooks
    torch does not save: the copy registers its hook again."""
    first = _run(Rig(), range(10))
    if how == "pickle":
        buffer = io.BytesIO()
        torch.save(first.sched, buffer)
        buffer.seek(0)
        sched = torch.load(buffer, weights_only=False)
    else:
        sched = copy.deepcopy(first.sched)
    second = Rig()
    second.opt, second.sched = sched.optimizer, sched
    second.param = sched.optimizer.param_groups[0]["params"][0]
    second.scaler.load_state_dict(first.scaler.state_dict())
    _run(second, range(10, ITERATIONS))
    applied = first.applied + second.applied
    assert_rates(applied, lrcore.evaluate(SPEC, range(len(applied))), **F64)
    # the original keeps following its own optimizer, untouched by the copy's updates
    assert first.sched.last_epoch == len(first.applied)


def test_plateau_reports_at_the_updates_applied():
    """A plateau spec: ``step(metric)`` reports at the current count of applied updates
    and does not advance; the rates follow ``evaluate(..., reports=...)``."""
    spec = lrcore.plateau(schedule=SPEC, factor=0.5, patience=0, threshold=0.0)
    rig = Rig(spec=spec)
    reports = []
    for i in range(ITERATIONS):
        metric = 1.0 if i % 5 == 4 else None  # a flat metric every 5 iterations: cuts
        rig.iteration(i in SKIP, metric)
        if metric is not None:
            reports.append((len(rig.applied), metric))
    n = len(rig.applied)
    assert rig.sched.plateau["scale"] < 0.2
    assert_rates(rig.applied, lrcore.evaluate(spec, range(n), reports=reports), **F64)


def test_hyperparameter_curves_follow_the_updates_applied():
    spec = lrcore.load("""
    lrcore: 1
    schedule: {type: cosine, start: 0.1, end: 0.01, duration: 30}
    hyperparams:
      momentum: {type: linear, start: 0.5, end: 0.95, duration: 20}
    """)
    rig = Rig(spec=spec, momentum=0.9)
    momenta = []
    for i in range(ITERATIONS):
        if i not in SKIP:  # what the coming update reads
            momenta.append(rig.opt.param_groups[0]["momentum"])
        rig.iteration(i in SKIP)
    n = len(momenta)
    assert_rates(momenta, lrcore.evaluate(spec, range(n), hyperparam="momentum"), **F64)


# ---- what follow="optimizer" refuses ----------------------------------------------------------

def _sgd():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)


def test_follow_is_scheduler_or_optimizer():
    with raises("follow: must be 'scheduler' or 'optimizer', got \"updates\""):
        lrcore.to_torch(SPEC, _sgd(), follow="updates")


def test_follow_optimizer_counts_updates_not_epochs():
    with raises("step_unit: must be 'step' with follow='optimizer' (it counts optimizer "
                "updates, not epochs), got \"epoch\""):
        lrcore.to_torch(SPEC, _sgd(), follow="optimizer", step_unit="epoch",
                        steps_per_epoch=10)


class Wrapper(torch.optim.Optimizer):
    """A wrapper that never ran ``Optimizer.__init__`` (as some trainers' wrappers do):
    its ``step()`` runs no torch step hooks."""

    def __init__(self, inner):
        self.inner = inner
        self.defaults = inner.defaults

    @property
    def param_groups(self):
        return self.inner.param_groups

    @property
    def state(self):
        return self.inner.state

    def step(self, closure=None):
        return self.inner.step(closure)


def test_an_optimizer_without_step_hooks_is_refused():
    wrapper = Wrapper(_sgd())
    with raises("optimizer: must run torch's step hooks for follow='optimizer' (this one "
                "never ran torch.optim.Optimizer.__init__); pass the optimizer that applies "
                "the updates (the one GradScaler.step receives), got \"Wrapper\""):
        lrcore.to_torch(SPEC, wrapper, follow="optimizer")
    sched = lrcore.to_torch(SPEC, wrapper.inner, follow="optimizer")  # the fix it names
    wrapper.step()
    assert sched.last_epoch == 1


class ScalerArgumentSGD(torch.optim.SGD):
    """An optimizer that takes the scaler as a ``step()`` argument and skips inf updates
    inside: GradScaler's older protocol."""

    _step_supports_amp_scaling = True

    def step(self, closure=None, grad_scaler=None):
        return super().step(closure)


def test_an_optimizer_that_skips_inside_step_is_refused():
    opt = ScalerArgumentSGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    with raises("optimizer: skips inf updates inside step(grad_scaler=...), where "
                "follow='optimizer' cannot see it; use follow='scheduler' and call "
                "scheduler.step() after applied updates only, got \"ScalerArgumentSGD\""):
        lrcore.to_torch(SPEC, opt, follow="optimizer")


def test_a_metric_needs_a_plateau_spec_here_too():
    sched = lrcore.to_torch(SPEC, _sgd(), follow="optimizer")
    with raises('step: takes no argument for a "sequence" spec (torch\'s deprecated '
                "step(epoch) is not supported); to jump to an epoch, set scheduler.last_epoch "
                "= epoch - 1 and call step(), got 0.5"):
        sched.step(0.5)
    assert sched.last_epoch == 0
