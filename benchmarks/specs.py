"""The curves the benchmarks compare: each lrcore spec next to its native equivalent.

Every pair draws the same curve (``run.py`` checks this on a few hundred steps before
timing, so a benchmark never compares two different schedules by mistake). Framework
imports happen inside the functions: this module imports only lrcore.
"""

from __future__ import annotations

from typing import Any

import lrcore

# ---- torch: per scheduler.step() ------------------------------------------------------

BASE_LR = 0.1
ETA_MIN = 1e-4


def torch_pairs(horizon: int) -> dict[str, tuple[Any, Any]]:
    """name -> (lrcore spec, f(optimizer) -> native torch scheduler), over ``horizon``
    steps; the optimizer's base lr is ``BASE_LR``."""
    from torch.optim import lr_scheduler as S

    h, w = horizon, max(horizon // 10, 2)
    milestones = [int(h * 0.3), int(h * 0.6), int(h * 0.9)]
    return {
        "CosineAnnealingLR": (
            lrcore.cosine(start=BASE_LR, end=ETA_MIN, duration=h),
            lambda opt: S.CosineAnnealingLR(opt, T_max=h, eta_min=ETA_MIN)),
        "OneCycleLR": (
            lrcore.onecycle(peak=BASE_LR, duration=h, pct_start=0.3, div_factor=25.0,
                            final_div_factor=1e4, anneal="cos"),
            # lrcore schedules the rate only: momentum cycling off on the torch side
            lambda opt: S.OneCycleLR(opt, max_lr=BASE_LR, total_steps=h, pct_start=0.3,
                                     div_factor=25.0, final_div_factor=1e4,
                                     anneal_strategy="cos", cycle_momentum=False)),
        "MultiStepLR": (
            lrcore.multistep(start=BASE_LR, factor=0.1, milestones=milestones),
            lambda opt: S.MultiStepLR(opt, milestones=milestones, gamma=0.1)),
        "warmup+cosine (SequentialLR)": (
            lrcore.sequence(phases=[
                lrcore.linear(start=BASE_LR * 0.01, end=BASE_LR, duration=w),
                lrcore.cosine(start=BASE_LR, end=ETA_MIN, duration=h - w)]),
            lambda opt: S.SequentialLR(opt, [
                S.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=w),
                S.CosineAnnealingLR(opt, T_max=h - w, eta_min=ETA_MIN)], milestones=[w])),
    }


# ---- optax: count -> lr ----------------------------------------------------------------

def optax_pairs(horizon: int) -> dict[str, tuple[Any, Any]]:
    """name -> (lrcore spec, native optax schedule), over ``horizon`` steps."""
    import optax

    h = horizon
    w = h // 10
    init, peak, end = 1e-5, 1e-3, 1e-5
    # sgdr: three warmup+cosine cycles, each half as high as the last
    cycles = [(h // 2, 1.0), (h // 3, 0.5), (h - h // 2 - h // 3, 0.25)]
    sgdr_kwargs = [dict(init_value=init * k, peak_value=peak * k, warmup_steps=d // 10,
                        decay_steps=d, end_value=end * k) for d, k in cycles]
    sgdr_spec = lrcore.sequence(phases=[
        lrcore.sequence(phases=[
            lrcore.linear(start=init * k, end=peak * k, duration=d // 10),
            lrcore.cosine(start=peak * k, end=end * k, duration=d - d // 10)],
            duration=d)
        for d, k in cycles])
    b = [int(h * 0.3), int(h * 0.6), int(h * 0.9)]
    every = max(h // 20, 1)
    return {
        "warmup_cosine_decay": (
            lrcore.sequence(phases=[lrcore.linear(start=init, end=peak, duration=w),
                                    lrcore.cosine(start=peak, end=end, duration=h - w)]),
            optax.warmup_cosine_decay_schedule(init_value=init, peak_value=peak,
                                               warmup_steps=w, decay_steps=h, end_value=end)),
        "sgdr (3 cycles)": (sgdr_spec, optax.sgdr_schedule(sgdr_kwargs)),
        "piecewise_constant": (
            lrcore.piecewise_constant(values=[0.1, 0.01, 0.001, 0.0001], boundaries=b),
            optax.piecewise_constant_schedule(0.1, {b[0]: 0.1, b[1]: 0.1, b[2]: 0.1})),
        "exponential_decay staircase": (
            lrcore.exponential(start=0.1, rate=0.5, every=every, staircase=True),
            optax.exponential_decay(init_value=0.1, transition_steps=every, decay_rate=0.5,
                                    staircase=True)),
    }


def three_phase(horizon: int) -> tuple[Any, Any, Any]:
    """The reference-evaluator curve: warmup / hold / cosine over ``horizon`` steps.

    Returns (lrcore spec, the same three phases in optax via ``join_schedules``,
    ``optax.warmup_cosine_decay_schedule`` with the same warmup and end, no hold)."""
    import optax

    w, hold = horizon // 20, horizon // 10
    peak, end = 1e-3, 1e-5
    spec = lrcore.sequence(phases=[
        lrcore.linear(start=0.0, end=peak, duration=w),
        lrcore.constant(value=peak, duration=hold),
        lrcore.cosine(start=peak, end=end, duration=horizon - w - hold)])
    joined = optax.join_schedules(
        [optax.linear_schedule(0.0, peak, w), optax.constant_schedule(peak),
         optax.cosine_decay_schedule(peak, horizon - w - hold, alpha=end / peak)],
        [w, w + hold])
    wcd = optax.warmup_cosine_decay_schedule(0.0, peak, w, horizon, end)
    return spec, joined, wcd


def warmup_cosine(horizon: int) -> Any:
    """The evaluator-against-its-floor curve: linear warmup 0 -> 1e-3 over 5 % of
    ``horizon``, then a cosine to 1e-5 (one sine per step)."""
    w = horizon // 20
    return lrcore.sequence(phases=[lrcore.linear(start=0.0, end=1e-3, duration=w),
                                   lrcore.cosine(start=1e-3, end=1e-5, duration=horizon - w)])


# ---- Keras ------------------------------------------------------------------------------

def keras_pairs(horizon: int) -> dict[str, tuple[Any, Any]]:
    """name -> (lrcore spec, f() -> native Keras schedule)."""
    import keras

    h, w = horizon, horizon // 10
    init, peak, alpha = 1e-5, 1e-3, 0.01
    b = [int(h * 0.3), int(h * 0.6), int(h * 0.9)]
    values = [1e-3, 5e-4, 2.5e-4, 1e-4]
    return {
        "CosineDecay+warmup": (
            lrcore.sequence(phases=[lrcore.linear(start=init, end=peak, duration=w),
                                    lrcore.cosine(start=peak, end=alpha * peak, duration=h)]),
            lambda: keras.optimizers.schedules.CosineDecay(
                initial_learning_rate=init, decay_steps=h, alpha=alpha, warmup_target=peak,
                warmup_steps=w)),
        "PiecewiseConstantDecay": (
            # Keras changes value one step after each boundary (t > b)
            lrcore.piecewise_constant(values=values, boundaries=[x + 1 for x in b]),
            lambda: keras.optimizers.schedules.PiecewiseConstantDecay(boundaries=b,
                                                                      values=values)),
    }


# ---- start-up: a 5-phase spec -------------------------------------------------------------

def five_phase(i: int = 0) -> Any:
    """A 5-phase spec; ``i`` perturbs the peak so every call gives a distinct spec (no
    cache anywhere can hold it)."""
    peak = 1e-3 * (1.0 + i * 1e-9)
    return lrcore.sequence(phases=[
        lrcore.linear(start=1e-6, end=peak, duration=1000),
        lrcore.constant(value=peak, duration=2000),
        lrcore.cosine(start=peak, end=1e-4, duration=5000),
        lrcore.linear(start=1e-4, end=1e-5, duration=1000),
        lrcore.constant(value=1e-5)])


def five_phase_torch_native(opt: Any) -> Any:
    """The same five phases as a native torch SequentialLR (base lr 1e-3), for the
    construction-time reference only."""
    from torch.optim import lr_scheduler as S

    return S.SequentialLR(opt, [
        S.LinearLR(opt, start_factor=1e-3, end_factor=1.0, total_iters=1000),
        S.ConstantLR(opt, factor=1.0, total_iters=2000),
        S.CosineAnnealingLR(opt, T_max=5000, eta_min=1e-4),
        S.LinearLR(opt, start_factor=0.1, end_factor=0.01, total_iters=1000),
        # ConstantLR restores the base rate after total_iters: hold 1e-5 to the domain's end
        S.ConstantLR(opt, factor=0.01, total_iters=2**31 - 1)],
        milestones=[1000, 3000, 8000, 9000])


def five_phase_optax_native(i: int = 0) -> Any:
    import optax

    peak = 1e-3 * (1.0 + i * 1e-9)
    return optax.join_schedules([
        optax.linear_schedule(1e-6, peak, 1000), optax.constant_schedule(peak),
        optax.cosine_decay_schedule(peak, 5000, alpha=1e-4 / peak),
        optax.linear_schedule(1e-4, 1e-5, 1000), optax.constant_schedule(1e-5)],
        [1000, 3000, 8000, 9000])
