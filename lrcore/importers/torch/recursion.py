"""torch's plain ``step()`` of a recursive scheduler, written out: what a composite
runs where a closed form does not apply."""

from __future__ import annotations

import math
from typing import Any

from ...errors import SpecError
from .common import (
    CHAINABLE,
    base,
    describe,
    is_torch_own,
    name,
    real,
)

#: the schedulers whose plain step() multiplies (or moves) the rate the group holds
RECURSIVE = (*CHAINABLE, "CosineAnnealingLR")


def plain_step(s: Any, group: int, path: str, e: int, r: float) -> float:
    """The rate torch's get_lr sets at ``last_epoch`` ``e < 0`` from the rate ``r``,
    outside the initial mode (torch's code, written out)."""
    from .decays import literal_factor

    kind = name(s)
    if kind == "ChainedScheduler":  # each of its schedulers steps in turn
        for i, child in enumerate(s._schedulers):
            r = plain_step(child, group, f"{path}.schedulers[{i}]", e, r)
        return r
    try:
        if kind == "ExponentialLR":
            return r * real(s.gamma, f"{path}.gamma")
        if kind == "MultiplicativeLR":
            factor = literal_factor(s.lr_lambdas[group])
            return r * (1.0 if factor is None else factor)  # None: refused later
        if kind == "StepLR":
            size = real(s.step_size, f"{path}.step_size")
            return r if e % size != 0 else r * real(s.gamma, f"{path}.gamma")
        if kind == "MultiStepLR":
            n = s.milestones.get(e, 0)
            return r * real(s.gamma, f"{path}.gamma") ** n if n else r
        if kind == "ConstantLR":
            total = real(s.total_iters, f"{path}.total_iters")
            return r if e != total else r * (1.0 / real(s.factor, f"{path}.factor"))
        if kind == "LinearLR":
            t = real(s.total_iters, f"{path}.total_iters")
            a, b = real(s.start_factor, f"{path}.start_factor"), real(s.end_factor,
                                                                      f"{path}.end_factor")
            return r if e > t else r * (1.0 + (b - a) / (t * a + (e - 1) * (b - a)))
        if kind == "PolynomialLR":
            t, power = real(s.total_iters, f"{path}.total_iters"), real(s.power,
                                                                         f"{path}.power")
            return r if e > t else r * ((1.0 - e / t) / (1.0 - (e - 1) / t)) ** power
        if kind != "CosineAnnealingLR":
            return r  # refused when its phase is read
        eta, t = real(s.eta_min, f"{path}.eta_min"), real(s.T_max, f"{path}.T_max")
        if (e - 1 - t) % (2 * t) == 0:
            return r + (base(s, group, path) - eta) * (1 - math.cos(math.pi / t)) / 2
        return (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)) \
            * (r - eta) + eta
    except ZeroDivisionError:
        raise SpecError(path, f"makes torch divide by zero at last_epoch {e}, where a "
                        "nested SequentialLR first steps it; give it whole milestones",
                        describe(s)) from None


def step_map(s: Any, group: int, path: str, e: int) -> tuple[float, float, float]:
    """torch's plain step at ``last_epoch`` ``e`` as ``r -> a (r - m) + m + d``, with the
    floats ``(a, m, d)`` its get_lr computes: a multiplying scheduler's ratio ``(g, 0,
    0)``; a CosineAnnealingLR's ratio of cosines around eta_min ``(c, eta_min, 0)``, or at
    its restart the step of its base_lrs' wave it adds ``(1, 0, d)``."""
    if name(s) != "CosineAnnealingLR":
        return plain_step(s, group, path, e, 1.0), 0.0, 0.0
    eta, t = real(s.eta_min, f"{path}.eta_min"), real(s.T_max, f"{path}.T_max")
    if (e - 1 - t) % (2 * t) == 0:
        return 1.0, 0.0, (base(s, group, path) - eta) * (1 - math.cos(math.pi / t)) / 2
    return (1 + math.cos(math.pi * e / t)) / (1 + math.cos(math.pi * (e - 1) / t)), eta, 0.0


def restart_factor(s: Any, group: int, path: str) -> float:
    """What one step of its recursion at step 0, outside its initial mode, multiplies the
    rate by: ExponentialLR, MultiplicativeLR and PolynomialLR apply a step there."""
    from .decays import literal_factor

    kind = name(s)
    if is_torch_own(s) and kind == "ExponentialLR":
        return real(s.gamma, f"{path}.gamma")
    if is_torch_own(s) and kind == "MultiplicativeLR":
        factor = literal_factor(s.lr_lambdas[group])
        return 1.0 if factor is None else factor  # None: refused
    if is_torch_own(s) and kind == "PolynomialLR":
        t, power = real(s.total_iters, f"{path}.total_iters"), real(s.power, f"{path}.power")
        return ((1.0 - 0 / t) / (1.0 - -1 / t)) ** power if t else 0.0 ** power
    return 1.0


def negative(s: Any, rate: float, k: Any) -> SpecError:
    return SpecError("scheduler", f"sets a negative rate ({rate!r}) at step {k}, and a "
                     "spec's rates are >= 0; give its schedulers ratios that keep the rate "
                     ">= 0", describe(s))
