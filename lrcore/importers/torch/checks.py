"""The checks that a torch scheduler runs the curve read from it: the optimizer holds the
rate the scheduler set, and that rate is the spec's at the current step up to
:func:`rounding_tolerance`."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from ..._args import plain_number
from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from .common import name

__all__ = ["check_curve", "check_rate_held", "position", "rounding_tolerance"]


def position(s: Any) -> int:
    """How many times ``step()`` has been called since construction."""
    if name(s) == "ChainedScheduler":
        counts = {position(c) for c in s._schedulers}
        if len(counts) != 1:
            raise SpecError("scheduler", "its schedulers stand at different steps",
                            sorted(counts))
        return counts.pop()
    if name(s) == "SWALR":  # it anneals by its count of calls; step(epoch) moves last_epoch
        return int(s._step_count) - 1
    return int(s.last_epoch)


def check_rate_held(s: Any, group: int) -> None:
    """The optimizer must hold the rate the scheduler set last (``get_last_lr()``)."""
    try:
        last = s.get_last_lr()[group]
    except (AttributeError, IndexError):  # pragma: no cover - every scheduler sets it
        return
    held = s.optimizer.param_groups[group]["lr"]
    h, lst = plain_number(held), plain_number(last)
    if h is None or lst is None or float(h) == float(lst):
        return
    raise SpecError(f"optimizer.param_groups[{group}].lr", f"was changed outside the "
                    f"scheduler ({name(s)} last set {float(lst)!r}), so no spec is its curve; "
                    f"restore it (param_groups[{group}]['lr'] = scheduler.get_last_lr()"
                    f"[{group}]) or read a freshly built scheduler", float(h))


def rounding_tolerance(s: Any, group: int, k: int, rates: list[float], dtype: Any) -> float:
    """The most torch's own rounding moves scheduler ``s``'s rate (param group ``group``)
    off its closed form after ``k`` steps: ``u R (16 w (k + 1) + F)``, at least
    ``1e-12 R``. ``u`` is the unit roundoff of the rate's dtype (``dtype``: a tensor lr's,
    or ``None`` for a Python float), ``R`` the largest of ``rates``, the scheduler's and
    the group's rates, ``w`` the number of schedulers in ``s`` (a ``PolynomialLR``
    counts ``max(1, power)``), ``F`` the sum of ``2 T_max**2`` over each
    ``CosineAnnealingLR`` past its ``T_max``."""
    u = 2.0 ** -53
    if dtype is not None and getattr(dtype, "is_floating_point", False):
        import torch

        u = torch.finfo(dtype).eps / 2
    weight, far, rates = 0.0, 0.0, list(rates)
    for m in members(s):
        power = plain_number(getattr(m, "power", 1.0)) if name(m) == "PolynomialLR" else 1.0
        weight += max(1.0, abs(float(power or 1.0)))
        rates.extend(scheduler_rates(m, group))
        t_max = plain_number(getattr(m, "T_max", None)) \
            if name(m) == "CosineAnnealingLR" else 0
        if t_max and m.last_epoch > t_max:
            far += 2.0 * float(t_max) ** 2
    rates.extend(scheduler_rates(s.optimizer.param_groups[group], None))
    big = max((r for r in rates if math.isfinite(r)), default=0.0)
    return max(u * big * (16.0 * weight * (k + 1) + far), 1e-12 * big)


def check_curve(s: Any, group: int, spec: Schedule, per: int, scale: float = 1.0) -> None:
    """The spec must give, at the scheduler's current step, the rate torch set there
    (``get_last_lr()[group]``), up to :func:`rounding_tolerance`."""
    try:
        held = s.get_last_lr()[group]
    except (AttributeError, IndexError):  # pragma: no cover - every scheduler sets it
        return
    h = plain_number(held)
    k = position(s) * per
    if h is None or k < 0:
        return
    h = float(h)
    expected = float(evaluate(spec, [k])[0]) * scale
    if h == expected:
        return
    tol = rounding_tolerance(s, group, k, [abs(h), abs(expected)],
                             getattr(held, "dtype", None))
    if abs(h - expected) <= tol:
        return
    raise SpecError(f"scheduler.get_last_lr()[{group}]", f"{name(s)} set {h!r} at step {k}, "
                    f"where the curve its parameters describe gives {expected!r} (it was built "
                    "or stepped after another scheduler, or a rate was set by hand); build it "
                    "first on the optimizer, or read one ChainedScheduler or SequentialLR of "
                    "them all",
                    h)


def members(s: Any) -> Iterator[Any]:
    """``s`` and every scheduler nested in it (SequentialLR, ChainedScheduler)."""
    yield s
    for child in getattr(s, "_schedulers", ()):
        yield from members(child)


def scheduler_rates(x: Any, group: int | None) -> list[float]:
    """The magnitudes of the rates a scheduler (``group``) or a param group (``None``)
    holds: base rates, bounds, ``eta_min``, ``initial_lr``/``max_lr``/``min_lr``,
    ``swa_lr``."""
    if group is None:
        values = [x.get(k) for k in ("lr", "initial_lr", "max_lr", "min_lr", "swa_lr")]
    else:
        values = [getattr(x, "eta_min", None)]
        for key in ("base_lrs", "max_lrs"):
            seq = getattr(x, key, None)
            if isinstance(seq, (list, tuple)) and group < len(seq):
                values.append(seq[group])
    out = []
    for v in values:
        n = plain_number(v)
        if n is not None:
            out.append(abs(float(n)))
    return out
