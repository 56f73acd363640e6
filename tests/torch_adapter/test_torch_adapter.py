"""The torch adapter: ``to_torch(spec, optimizer)`` is a ``LambdaLR`` that follows the spec.

Two kinds of check, never confused:

* adapter tests: the rates torch's param groups hold against the float64 reference
  ``lrcore.evaluate`` (both float64: equal to 1 ulp), through resume, pickling, epochs,
  group scales and a training loop;
* oracle tests: the reference against torch's own schedulers (``StepLR``,
  ``OneCycleLR``, ``CyclicLR``, ...), an independent implementation, at rtol 1e-12.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import types
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rates import F64, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)
from torch.optim import lr_scheduler as sched  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402


def assert_ulp(actual, expected, ulps: int = 1) -> None:
    """Every rate within ``ulps`` float64 ulps of the reference (0 must be exactly 0)."""
    a = np.asarray(actual, dtype=np.float64)
    r = np.asarray(expected, dtype=np.float64)
    assert a.shape == r.shape, (a.shape, r.shape)
    err = np.abs(a - r)
    allowed = ulps * np.spacing(np.abs(r))
    bad = np.flatnonzero(err > allowed)
    assert bad.size == 0, (f"{bad.size} steps off by more than {ulps} ulp; first at index "
                           f"{bad[0]}: got {a[bad[0]]!r}, want {r[bad[0]]!r}")




def _optimizer(lr: float = 0.5, groups: int = 1, kind: str = "sgd"):
    params = [torch.nn.Parameter(torch.zeros(3, dtype=torch.float64)) for _ in range(groups)]
    param_groups = [{"params": [p]} for p in params]
    if kind == "adam":
        return torch.optim.Adam(param_groups, lr=lr)
    return torch.optim.SGD(param_groups, lr=lr, momentum=0.9)


def _run(optimizer, scheduler, n: int) -> list[list[float]]:
    """The documented loop; returns each group's lr as update k + 1 sees it, k < n."""
    out = []
    for _ in range(n):
        out.append([float(g["lr"]) for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


def _specs():
    """Specs for the adapter tests; every parameter non-zero somewhere."""
    return {
        "warmup-constant-cosine": lrcore.sequence(phases=[
            lrcore.linear(start=1e-5, end=0.1, duration=25),
            lrcore.constant(value=0.1, duration=10),
            lrcore.cosine(start=0.1, end=1e-3, duration=100, exponent=1.3),
        ]),
        "onecycle": lrcore.onecycle(peak=0.1, duration=150, pct_start=0.25, div_factor=20.0,
                                    final_div_factor=50.0),
        "multistep": lrcore.multistep(start=0.1, factor=0.2, milestones=[30, 70, 110]),
        "cyclic": lrcore.cyclic(low=1e-3, high=0.05, up=12, down=20, mode="triangular2"),
    }


SPECS = _specs()
N = 160

# Float64 ulps allowed between the adapter and the reference. Both run the same formula
# in float64, but the adapter calls Python's ``math`` and the reference numpy: they agree
# bit for bit on sin/exp/log1p/expm1 here, while ``math.pow`` and ``np.power`` differ by
# 1 ulp on about 5 % of arguments (measured on 200 000 random bases, exponents 1.3, 1.5,
# 3; math.pow was the correctly rounded one in the cases checked). A cosine with
# ``exponent != 1`` feeds that pow into both weights w and 1 - w, so its rate may end
# up 2 ulps apart (measured: 2 ulps at step 73 of "warmup-constant-cosine", exponent
# 1.3). Every spec without a pow is held to 1 ulp.
ULPS = {"warmup-constant-cosine": 2}


# ---- the protocol ---------------------------------------------------------------------

@pytest.mark.parametrize("lr0", [0.0, 0.5, 123.0])
@pytest.mark.parametrize("name", sorted(SPECS))
def test_follows_reference_whatever_the_initial_lr(name, lr0):
    """After k ``scheduler.step()`` calls every group's lr is ``evaluate(spec, k)`` to 1
    ulp, whatever lr the optimizer was built with."""
    spec = SPECS[name]
    opt = _optimizer(lr0, groups=2)
    scheduler = lrcore.to_torch(spec, opt)
    assert isinstance(scheduler, sched.LambdaLR)
    lrs = np.asarray(_run(opt, scheduler, N))
    ref = lrcore.evaluate(spec, np.arange(N))
    ulps = ULPS.get(name, 1)
    assert_ulp(lrs[:, 0], ref, ulps)
    assert_ulp(lrs[:, 1], ref, ulps)
    assert scheduler.last_epoch == N
    assert_ulp(scheduler.get_last_lr(), lrcore.evaluate(spec, [N, N]), ulps)


def test_adam_and_tensor_lr():
    """Adam with a float64 tensor lr (torch fills it in place) follows the curve too."""
    spec = SPECS["warmup-constant-cosine"]
    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=torch.tensor(0.0, dtype=torch.float64))
    scheduler = lrcore.to_torch(spec, opt)
    lrs = [row[0] for row in _run(opt, scheduler, N)]
    assert isinstance(opt.param_groups[0]["lr"], torch.Tensor)
    assert_ulp(lrs, lrcore.evaluate(spec, np.arange(N)), ULPS["warmup-constant-cosine"])


def test_group_scale():
    spec = SPECS["onecycle"]
    opt = _optimizer(3.0, groups=2)
    scheduler = lrcore.to_torch(spec, opt, group_scale=[1.0, 0.1])
    lrs = np.asarray(_run(opt, scheduler, N))
    ref = lrcore.evaluate(spec, np.arange(N))
    assert_ulp(lrs[:, 0], ref)
    # lr(k) * 0.1: two float64 roundings apart at most (lr(k) itself and the product)
    assert_ulp(lrs[:, 1], ref * 0.1, ulps=2)
    assert np.all(lrs[1:, 1] < lrs[1:, 0])


@pytest.mark.parametrize(("scale", "message"), [
    ([1.0], "group_scale: must have one entry per param group (2), got [1.0]"),
    ([1.0, 0.5, 0.1], "group_scale: must have one entry per param group (2), got [1.0, 0.5, "
                      "0.1]"),
    ([1.0, -0.1], "group_scale[1]: must be a finite number >= 0, got -0.1"),
    ([float("nan"), 1.0], "group_scale[0]: must be a finite number >= 0, got NaN"),
    ([1.0, float("inf")], "group_scale[1]: must be a finite number >= 0, got Infinity"),
    ([1.0, np.float64("-inf")], "group_scale[1]: must be a finite number >= 0, got -Infinity"),
    ([True, 1.0], "group_scale[0]: must be a finite number >= 0, got true"),
    ([1.0, np.bool_(True)], "group_scale[1]: must be a finite number >= 0, got np.True_"),
    (1.0, "group_scale: must be a list of numbers, one per param group (2), got 1.0"),
    ("1.0", 'group_scale: must be a list of numbers, one per param group (2), got "1.0"'),
    ([1.0, "0.1"], 'group_scale[1]: must be a finite number >= 0, got "0.1"'),
    ([1.0, None], "group_scale[1]: must be a finite number >= 0, got null"),
    ([-(10**400), 1.0], "group_scale[0]: must be a finite number >= 0 within float64's range, "
                        "got -~2**1328"),
])
def test_group_scale_errors(scale, message):
    opt = _optimizer(groups=2)
    with pytest.raises(SpecError, match="^" + re.escape(message) + "$"):
        lrcore.to_torch(SPECS["multistep"], opt, group_scale=scale)
    assert all("initial_lr" not in g for g in opt.param_groups)  # torch never saw it


def test_the_optimizer_applies_the_rate():
    """Plain SGD on a parameter reset to 0 before each update with gradient 1: the update
    leaves exactly ``-lr``, so the rate torch *applied* at update k + 1 is read off the
    parameter (not just off ``param_groups``), per group, and equals evaluate(spec, k)."""
    spec = SPECS["warmup-constant-cosine"]
    a = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    b = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([{"params": [a]}, {"params": [b]}], lr=7.0)
    scheduler = lrcore.to_torch(spec, opt, group_scale=[1.0, 0.25])
    applied = []
    for _ in range(N):
        with torch.no_grad():
            a.zero_()
            b.zero_()
        opt.zero_grad()
        (a.sum() + b.sum()).backward()
        opt.step()
        applied.append([-float(a.detach()), -float(b.detach())])
        scheduler.step()
    applied = np.asarray(applied)
    ref = lrcore.evaluate(spec, np.arange(N))
    ulps = ULPS["warmup-constant-cosine"]
    assert_ulp(applied[:, 0], ref, ulps)
    assert_ulp(applied[:, 1], ref * 0.25, ulps)  # * 0.25 is exact


def test_documented_order_warns_nothing():
    """optimizer.step() then scheduler.step() (as torch documents): no warning at all."""
    spec = SPECS["warmup-constant-cosine"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        opt = _optimizer(0.0)
        scheduler = lrcore.to_torch(spec, opt)
        _run(opt, scheduler, 40)
        scheduler.get_last_lr()
        scheduler.state_dict()
    assert [str(w.message) for w in caught] == []


def test_wrong_order_is_noticed_by_torch():
    """The recorder above can fail: torch warns when scheduler.step() comes first."""
    opt = _optimizer()
    scheduler = lrcore.to_torch(SPECS["multistep"], opt)
    with pytest.warns(UserWarning, match=r"lr_scheduler.step\(\)` before `optimizer.step\(\)"):
        scheduler.step()


def test_bad_arguments():
    opt = _optimizer()
    with pytest.raises(SpecError, match=r"step_unit: must be 'step' or 'epoch', got \"batch\""):
        lrcore.to_torch(SPECS["multistep"], opt, step_unit="batch")
    with pytest.raises(SpecError, match=r"phases\[1\]\.duration: epochs need steps_per_epoch"):
        lrcore.to_torch(lrcore.sequence(phases=[lrcore.constant(value=0.1, duration=5),
                                                lrcore.constant(value=0.2, duration="2ep")]),
                        opt)
    with pytest.raises(SpecError, match=r"a share of the run needs total_steps"):
        lrcore.to_torch(lrcore.cosine(start=0.1, duration="50%"), opt)


# ---- epochs ---------------------------------------------------------------------------

EPOCH_SPEC = lrcore.sequence(phases=[
    lrcore.linear(start=0.002, end=0.1, duration="1ep"),
    lrcore.cosine(start=0.1, end=0.001, duration="4ep"),
])


def test_step_unit_epoch():
    """One scheduler.step() per epoch: after k calls lr == evaluate(spec, k * spe)."""
    spe = 37
    opt = _optimizer(0.0)
    scheduler = lrcore.to_torch(EPOCH_SPEC, opt, step_unit="epoch", steps_per_epoch=spe)
    lrs = [row[0] for row in _run(opt, scheduler, 8)]
    k = np.arange(8)
    assert_ulp(lrs, lrcore.evaluate(EPOCH_SPEC, k * spe, steps_per_epoch=spe))
    # by hand: warmup ends at epoch 1 (0.1), cosine from 0.1 to 0.001 over epochs 1..5
    want = [0.002] + [0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * (e - 1) / 4)) / 2
                      for e in range(1, 5)] + [0.001] * 3
    assert_rates(lrs, want, **F64)


def test_step_unit_epoch_from_the_document():
    doc = lrcore.Schedule(schedule=EPOCH_SPEC, steps_per_epoch=20)
    opt = _optimizer(0.0)
    scheduler = lrcore.to_torch(doc, opt, step_unit="epoch")
    lrs = [row[0] for row in _run(opt, scheduler, 7)]
    assert_ulp(lrs, lrcore.evaluate(doc, np.arange(7) * 20))


def test_step_unit_epoch_needs_steps_per_epoch():
    opt = _optimizer()
    with pytest.raises(SpecError, match=r"step_unit: 'epoch' needs steps_per_epoch"):
        lrcore.to_torch(SPECS["multistep"], opt, step_unit="epoch")


# ---- pickling and resume --------------------------------------------------------------

def test_multiplier_is_plain_data():
    """The per-group multipliers are objects (no lambdas, no closures) whose saved state
    is plain JSON-able data, so ``torch.load(weights_only=True)`` reads it back."""
    opt = _optimizer(groups=2)
    scheduler = lrcore.to_torch(SPECS["onecycle"], opt, group_scale=[1.0, 0.5])
    _run(opt, scheduler, 10)
    for fn in scheduler.lr_lambdas:
        assert not isinstance(fn, (types.FunctionType, types.LambdaType, types.MethodType))
        clone = pickle.loads(pickle.dumps(fn))
        assert [clone(k) for k in (0, 5, 37, 149)] == [fn(k) for k in (0, 5, 37, 149)]
    state = scheduler.state_dict()
    json.dumps(state["lr_lambdas"])  # plain data only
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=True)
    assert loaded["last_epoch"] == 10
    assert loaded["lr_lambdas"] == state["lr_lambdas"]


def test_save_whole_scheduler(tmp_path):
    """torch.save(scheduler) (the object, its optimizer with it) and load: the loaded pair
    continues the uninterrupted curve exactly."""
    spec = SPECS["warmup-constant-cosine"]
    opt = _optimizer(0.5)
    scheduler = lrcore.to_torch(spec, opt)
    full = _run(opt, scheduler, N)

    opt = _optimizer(0.5)
    scheduler = lrcore.to_torch(spec, opt)
    head = _run(opt, scheduler, 30)
    torch.save(scheduler, tmp_path / "scheduler.pt")
    restored = torch.load(tmp_path / "scheduler.pt", weights_only=False)
    assert isinstance(restored, sched.LambdaLR)
    assert restored.last_epoch == 30
    tail = _run(restored.optimizer, restored, N - 30)
    assert head + tail == full


@pytest.mark.parametrize("restore_optimizer", [True, False])
@pytest.mark.parametrize("at", [1, 12, 25, 26, 35, 77, 135, 150])
def test_resume_from_state_dict(at, restore_optimizer):
    """Save at step ``at`` (1: the start; 12: mid-warmup; 25, 35, 135: phase boundaries;
    150: past the end), load into a freshly built optimizer (another initial lr) and
    scheduler, continue: every lr equals the uninterrupted run's exactly. With
    ``restore_optimizer=False`` only the scheduler's state is restored."""
    spec = SPECS["warmup-constant-cosine"]
    opt = _optimizer(0.5)
    full = _run(opt, lrcore.to_torch(spec, opt), N)

    opt = _optimizer(0.5)
    scheduler = lrcore.to_torch(spec, opt)
    head = _run(opt, scheduler, at)
    buf = io.BytesIO()
    torch.save({"optimizer": opt.state_dict(), "scheduler": scheduler.state_dict()}, buf)
    buf.seek(0)
    checkpoint = torch.load(buf, weights_only=True)

    opt2 = _optimizer(9.0)
    scheduler2 = lrcore.to_torch(spec, opt2)
    if restore_optimizer:
        opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert scheduler2.last_epoch == at
    tail = _run(opt2, scheduler2, N - at)
    assert head + tail == full


def test_loading_a_checkpoint_of_another_spec_warns_and_follows_the_checkpoint():
    """As torch's own schedulers restore their parameters from a checkpoint, the
    checkpoint's spec wins; an edited spec file is not silently ignored: a UserWarning
    names both fingerprints. The same spec loads without a warning."""
    old, new = SPECS["multistep"], SPECS["warmup-constant-cosine"]
    opt = _optimizer(0.5)
    saved = lrcore.to_torch(old, opt)
    _run(opt, saved, 7)
    state = saved.state_dict()

    opt2 = _optimizer(0.5)
    resumed = lrcore.to_torch(new, opt2)
    want = (f"checkpoint's schedule \\(fingerprint {lrcore.load(old).fingerprint()}\\) "
            f"replaces the one this scheduler was built with "
            f"\\({lrcore.load(new).fingerprint()}\\)")
    with pytest.warns(UserWarning, match=want):
        resumed.load_state_dict(state)
    assert resumed.last_epoch == 7
    assert opt2.param_groups[0]["lr"] == lrcore.evaluate(old, [7])[0]

    opt3 = _optimizer(0.5)
    same = lrcore.to_torch(old, opt3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same.load_state_dict(state)


def _shown_fingerprint(path, *options: str) -> str:
    """The fingerprint ``lrcore show`` prints for a file (a fresh interpreter)."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "lrcore.cli", "show", *options, str(path)],
                         capture_output=True, text=True, timeout=120, check=True,
                         env=dict(os.environ, PYTHONWARNINGS="error"))
    return re.search(r"\(fingerprint ([0-9a-f]{16})\)", out.stdout).group(1)


def test_checkpoint_warning_names_the_fingerprints_of_the_files(tmp_path):
    """The warning names the fingerprints ``lrcore show`` prints for the two files (a
    total in epochs and shares kept as written); one file under two contexts is told
    apart by its context."""
    text = ("lrcore: 1\nsteps_per_epoch: 10\ntotal_steps: 5ep\nschedule:\n"
            "  {type: cosine, start: 0.1, end: END, duration: 60%}\n")
    old, new = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old.write_text(text.replace("END", "0.01"), encoding="utf-8")
    new.write_text(text.replace("END", "0.02"), encoding="utf-8")
    opt = _optimizer()
    saved = lrcore.to_torch(old, opt)
    _run(opt, saved, 3)
    resumed = lrcore.to_torch(new, _optimizer())
    with pytest.warns(UserWarning) as caught:
        resumed.load_state_dict(saved.state_dict())
    assert str(caught[0].message) == (
        f"load_state_dict: the checkpoint's schedule (fingerprint {_shown_fingerprint(old)}) "
        f"replaces the one this scheduler was built with ({_shown_fingerprint(new)}); the "
        "run continues on the checkpoint's curve")

    bare = tmp_path / "bare.yaml"
    bare.write_text(text.replace("END", "0.01").replace("steps_per_epoch: 10\n", ""), "utf-8")
    shown = _shown_fingerprint(bare, "--steps-per-epoch", "10")
    opt = _optimizer()
    saved = lrcore.to_torch(bare, opt, steps_per_epoch=10)
    _run(opt, saved, 3)
    resumed = lrcore.to_torch(bare, _optimizer(), steps_per_epoch=20)
    with pytest.warns(UserWarning) as caught:
        resumed.load_state_dict(saved.state_dict())
    assert str(caught[0].message) == (
        f"load_state_dict: the checkpoint's schedule (fingerprint {shown}, steps_per_epoch "
        f"10, total_steps 50) replaces the one this scheduler was built with ({shown}, "
        "steps_per_epoch 20, total_steps 100); the run continues on the checkpoint's curve")


# ---- a real training loop -------------------------------------------------------------

def test_training_loop():
    """A linear model on synthetic data, SGD with momentum, 300 full-batch updates: the
    lr read from param_groups before update k + 1 is evaluate(spec, k) (1 ulp), and the
    loss falls."""
    torch.manual_seed(0)
    x = torch.randn(256, 4, dtype=torch.float64)
    w = torch.tensor([[1.5], [-2.0], [0.5], [3.0]], dtype=torch.float64)
    y = x @ w + 0.7 + 0.01 * torch.randn(256, 1, dtype=torch.float64)
    model = torch.nn.Linear(4, 1).double()
    spec = lrcore.sequence(phases=[lrcore.linear(start=1e-3, end=0.05, duration=30),
                                   lrcore.cosine(start=0.05, end=5e-4, duration=270)])
    opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.9)
    scheduler = lrcore.to_torch(spec, opt)
    lrs, losses = [], []
    for _ in range(300):
        lrs.append(opt.param_groups[0]["lr"])
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        scheduler.step()
        losses.append(loss.item())
    assert_ulp(lrs, lrcore.evaluate(spec, np.arange(300)))
    assert losses[-1] < 1e-3 * losses[0], (losses[0], losses[-1])


# ---- oracle: torch's own schedulers ------------------------------------------------------
#
# torch's StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, PolynomialLR and LinearLR
# update recursively (each lr from the previous one). Over the horizons used here their
# drift stays below 6e-15 relative (measured on torch 2.13: ExponentialLR over 3000 steps
# 5.4e-15, CosineAnnealingLR over 3 T_max 2.2e-15), far inside rtol 1e-12; their closed
# form ``_get_closed_form_lr`` is checked against the reference as well.

BASE = 0.1


def _torch_lrs(factory, n: int, lr: float = BASE):
    """Rates torch's scheduler gives updates 1..n, and its closed form where it has one."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    s = factory(opt)
    lrs, closed = [], []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        if hasattr(s, "_get_closed_form_lr"):
            closed.append(s._get_closed_form_lr()[0])
        opt.step()
        s.step()
    return lrs, closed


def _oracles():
    cases = {
        "StepLR": (lambda o: sched.StepLR(o, step_size=7, gamma=0.6),
                   lrcore.step(start=BASE, factor=0.6, every=7), 200),
        "MultiStepLR": (lambda o: sched.MultiStepLR(o, milestones=[10, 35, 80], gamma=0.3),
                        lrcore.multistep(start=BASE, factor=0.3, milestones=[10, 35, 80]), 120),
        "ExponentialLR": (lambda o: sched.ExponentialLR(o, gamma=0.97),
                          lrcore.exponential(start=BASE, rate=0.97, every=1), 600),
        # past T_max torch's cosine goes on as a wave: 3 T_max steps
        "CosineAnnealingLR": (lambda o: sched.CosineAnnealingLR(o, T_max=50, eta_min=0.003),
                              lrcore.cosine(start=BASE, end=0.003, duration=50,
                                            periodic=True), 150),
        "LinearLR": (lambda o: sched.LinearLR(o, start_factor=0.1, end_factor=0.7,
                                              total_iters=40),
                     lrcore.linear(start=BASE * 0.1, end=BASE * 0.7, duration=40), 60),
        "ConstantLR": (lambda o: sched.ConstantLR(o, factor=0.25, total_iters=15),
                       lrcore.piecewise_constant(values=[BASE * 0.25, BASE], boundaries=[15]),
                       30),
        "CosineAnnealingWarmRestarts-1": (
            lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=13, T_mult=1, eta_min=0.004),
            lrcore.cosine_restarts(start=BASE, end=0.004, period=13), 100),
        "CosineAnnealingWarmRestarts-2": (
            lambda o: sched.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.002),
            lrcore.cosine_restarts(start=BASE, end=0.002, period=10, period_mult=2.0), 320),
        "SequentialLR-warmup-cosine": (
            lambda o: sched.SequentialLR(o, [
                sched.LinearLR(o, start_factor=0.05, end_factor=1.0, total_iters=20),
                sched.CosineAnnealingLR(o, T_max=80, eta_min=0.001)], milestones=[20]),
            lrcore.sequence(phases=[lrcore.linear(start=BASE * 0.05, end=BASE, duration=20),
                                    lrcore.cosine(start=BASE, end=0.001, duration=80,
                                                  periodic=True)]), 300),
    }
    for power in (1.0, 2.0):
        cases[f"PolynomialLR-{power}"] = (
            lambda o, power=power: sched.PolynomialLR(o, total_iters=60, power=power),
            lrcore.polynomial(start=BASE, end=0.0, power=power, duration=60), 90)
    for anneal in ("cos", "linear"):
        for three in (False, True):
            total = 173
            cases[f"OneCycleLR-{anneal}-{'three' if three else 'two'}"] = (
                lambda o, anneal=anneal, three=three, total=total: sched.OneCycleLR(
                    o, max_lr=0.3, total_steps=total, pct_start=0.27, anneal_strategy=anneal,
                    div_factor=12.0, final_div_factor=80.0, three_phase=three,
                    cycle_momentum=False),
                lrcore.onecycle(peak=0.3, duration=total, pct_start=0.27, anneal=anneal,
                                div_factor=12.0, final_div_factor=80.0, three_phase=three),
                total)  # every step torch allows: 0..total-1
    for mode, gamma in (("triangular", 1.0), ("triangular2", 1.0), ("exp_range", 0.993)):
        cases[f"CyclicLR-{mode}"] = (
            lambda o, mode=mode, gamma=gamma: sched.CyclicLR(
                o, base_lr=0.01, max_lr=0.2, step_size_up=9, step_size_down=14, mode=mode,
                gamma=gamma, cycle_momentum=False),
            lrcore.cyclic(low=0.01, high=0.2, up=9, down=14, mode=mode, gamma=gamma), 250)
    return cases


ORACLES = _oracles()


@pytest.mark.parametrize("name", sorted(ORACLES))
def test_oracle_torch_scheduler(name):
    """The reference, and to_torch, against torch's own scheduler at rtol 1e-12."""
    factory, spec, n = ORACLES[name]
    theirs, closed = _torch_lrs(factory, n)
    ref = lrcore.evaluate(spec, np.arange(n))
    assert_rates(theirs, ref, **F64)
    if closed:
        assert_rates(closed, ref, **F64)
    opt = _optimizer(0.0)
    ours = [row[0] for row in _run(opt, lrcore.to_torch(spec, opt), n)]
    assert_rates(ours, theirs, **F64)


def test_oracle_onecycle_rejects_what_torch_cannot_do():
    """A pct_start that leaves a phase under one step: torch divides by zero there,
    lrcore refuses the spec."""
    with pytest.raises(SpecError, match=r"pct_start: leaves phase 1 empty"):
        lrcore.onecycle(peak=0.1, duration=10, pct_start=0.1)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    with pytest.raises(ZeroDivisionError):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=0.1, cycle_momentum=False)
