"""torch's cycles and anneals: CyclicLR, OneCycleLR (with its momentum cycle),
CosineAnnealingWarmRestarts and SWALR."""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

from ...errors import SpecError
from ...fields import MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.cosine import Cosine
from ...nodes.cosine_restarts import CosineRestarts
from ...nodes.cyclic import Cyclic
from ...nodes.linear import Linear
from ...nodes.onecycle import OneCycle
from ...nodes.onecycle_momentum import OneCycleMomentum
from ...nodes.repeat import Repeat
from ...presets.optax import chain
from .common import name, real, steps


def cyclic_lr(s, group, path, base):
    if s._scale_fn_custom is not None:
        raise SpecError(f"{path}.scale_fn", "a custom scale_fn is Python code lrcore cannot "
                        "read; use mode='triangular', 'triangular2' or 'exp_range'",
                        getattr(s._scale_fn_custom, "__name__", "callable"))
    # torch keeps only total_size = up + down and step_ratio = up / total_size (floats):
    # recover the shortest decimals up and down that reproduce both bit for bit, then
    # draw its cycle exactly (lrcore's cyclic takes real up and down)
    total, ratio = float(s.total_size), float(s.step_ratio)

    def fits(u: float, d: float) -> bool:
        return u + d == total and u / total == ratio

    up = shortest(ratio * total, lambda u: fits(u, total - u))
    down = shortest(total - up, lambda d: fits(up, d))
    if not (up > 0 and down >= 0 and fits(up, down)):
        raise SpecError(f"{path}.step_size_up", "step_size_up must be a number of steps > 0 "
                        "and step_size_down >= 0", {"total_size": total, "ratio": ratio})
    # as the simplest fractions giving torch the same floats (1000/3, not the decimal
    # 333.3333333333333): the fewest 1/q steps a cycle, its position found in int32
    # while (up + down) q fits (else in limbs)
    up = simplest_fitting(up, lambda u: fits(u, total - u))
    down = simplest_fitting(down, lambda d: fits(float(up), d))
    up, down = (int(x) if x == int(x) else x for x in (up, down))
    kwargs = {"gamma": real(s.gamma, f"{path}.gamma")} if s.mode == "exp_range" else {}
    return Cyclic(low=base, high=real(s.max_lrs[group], f"{path}.max_lr"), up=up,
                  down=None if down == up else down, mode=s.mode, **kwargs)


def simplest_fitting(x: float, exact) -> int | Fraction:
    """The first convergent ``c`` of the continued fraction of ``x`` with
    ``exact(float(c))`` true (the simplest ratio torch cannot tell from ``x``), else
    ``x``'s decimal text."""
    if x == int(x):
        return int(x)
    for c in convergents(Fraction(x)):
        if c > 0 and exact(float(c)):
            return c
    return Fraction(repr(x))


def convergents(x: Fraction) -> Iterator[Fraction]:
    """The convergents of the continued fraction of ``x >= 0``, simplest first."""
    p0, q0, p1, q1 = 0, 1, 1, 0
    n, d = x.numerator, x.denominator
    while d:
        a, (n, d) = n // d, (d, n % d)
        p0, q0, p1, q1 = p1, q1, a * p1 + p0, a * q1 + q0
        yield Fraction(p1, q1)


def shortest(approx: float, exact) -> float:
    """The shortest decimal ``x`` with ``exact(x)`` true (the number the user wrote,
    recovered from torch's derived values), else ``approx``."""
    for digits in range(1, 18):
        x = float(f"{approx:.{digits}g}")
        if exact(x):
            return x
    return approx


def one_cycle_anneal(s: Any, path: str) -> str:
    """``"cos"`` or ``"linear"``: ``_anneal_func_type``, or in a scheduler restored from a
    legacy state dict (torch's own fallback) the function its ``anneal_func`` holds."""
    if hasattr(s, "_anneal_func_type") or not hasattr(s, "anneal_func"):
        kind = getattr(s, "_anneal_func_type", None)
        if kind not in ("cos", "linear"):
            raise SpecError(f"{path}.anneal_strategy", "must be 'cos' or 'linear'", kind)
        return kind
    fn = getattr(s.anneal_func, "__func__", s.anneal_func)  # bound in older torch
    cls = type(s)
    kinds = {cls._annealing_cos: "cos", cls._annealing_linear: "linear"}
    try:
        return kinds[fn]
    except (KeyError, TypeError):
        raise SpecError(f"{path}.anneal_func", "must be OneCycleLR._annealing_cos or "
                        "_annealing_linear (a legacy state dict's); lrcore cannot read "
                        "another function", getattr(fn, "__qualname__", repr(fn))) from None


def one_cycle_lr(s, group, path, base):
    anneal = one_cycle_anneal(s, path)
    pg = s.optimizer.param_groups[group]
    where = f"optimizer.param_groups[{group}]"
    peak, initial, floor = (real(pg[k], f"{where}.{k}") for k in ("max_lr", "initial_lr",
                                                                  "min_lr"))
    total = steps(s.total_steps, f"{path}.total_steps")
    ends = [float(p["end_step"]) for p in s._schedule_phases]
    three = len(ends) == 3
    # torch keeps pct_start, div_factor and final_div_factor only through what it derived
    # from them: recover the numbers that reproduce those derived values bit for bit.
    pct = shortest((ends[0] + 1) / total,
                   lambda p: float(p * total) - 1 == ends[0]
                   and (not three or float(2 * p * total) - 2 == ends[1]))
    div = shortest(peak / initial, lambda d: peak / d == initial)
    final_div = shortest(initial / floor, lambda f: (peak / div) / f == floor) \
        if floor > 0 else math.inf
    if not math.isfinite(final_div):
        raise SpecError(f"{path}.final_div_factor", "must give a positive final rate", floor)
    node = OneCycle(peak=peak, pct_start=pct, div_factor=div, final_div_factor=final_div,
                    anneal=anneal, three_phase=three, duration=total)
    _, node_ends, _ = node._phases()
    if node_ends != ends:  # pragma: no cover - the search above makes them equal
        raise SpecError(f"{path}.pct_start", f"phase ends {node_ends} differ from torch's "
                        f"{ends}", pct)
    return node


def warm_restarts(s, group, path, base):
    eta_min, t0 = real(s.eta_min, f"{path}.eta_min"), steps(s.T_0, f"{path}.T_0")
    mult = steps(s.T_mult, f"{path}.T_mult")
    if eta_min <= base:
        return CosineRestarts(start=base, end=eta_min, period=t0, period_mult=float(mult))
    if mult == 1:
        return Repeat(schedule=Cosine(start=base, end=eta_min, duration=t0), period=t0)
    # a rising cosine per cycle: step() restarts after T_0 T_mult^i steps, and fewer than
    # 32 cycles start inside [0, 2**31 - 1]
    parts, length, begin = [], t0, 0
    while begin + length <= MAX_STEP:
        parts.append((Cosine(start=base, end=eta_min, duration=length), length))
        begin, length = begin + length, length * mult
    parts.append((Cosine(start=base, end=eta_min, duration=length), None))
    return chain(parts)


def swalr(s, group, path, base):
    """torch's recursion undoes its last anneal and applies the next one, which
    telescopes to a cosine (or line) from the rate it started from to ``swa_lr`` over
    ``anneal_epochs`` steps, then ``swa_lr`` held (from step 0 when ``anneal_epochs``
    is 0). It anneals by its count of ``step()`` calls (``_step_count - 1``), not by
    ``last_epoch``, which ``step(epoch)`` moves alone. ``base``: the rate it started
    from; read on its own (``path == "scheduler"``), that rate is recovered from its
    state by :func:`swalr_start`."""
    swa, strategy, epochs = swalr_parameters(s, group, path)
    if epochs == 0:
        return Constant(value=swa)
    if path == "scheduler":
        base = swalr_start(s, group, path, base)
    if base == swa:
        return Constant(value=swa)
    curve = Cosine if strategy == "cos" else Linear
    return curve(start=base, end=swa, duration=epochs)


def swalr_parameters(s: Any, path_group: int, path: str) -> tuple[float, str, int]:
    """``swa_lr`` of the group, the anneal strategy and ``anneal_epochs``."""
    swa = real(s.optimizer.param_groups[path_group]["swa_lr"],
               f"optimizer.param_groups[{path_group}].swa_lr")
    strategy = getattr(s, "_anneal_strategy", None)
    funcs = {"cos": type(s)._cosine_anneal, "linear": type(s)._linear_anneal}
    if strategy not in funcs or getattr(s, "anneal_func", None) is not funcs[strategy]:
        raise SpecError(f"{path}.anneal_func", "must be SWALR's own cos or linear anneal "
                        "(anneal_strategy='cos' or 'linear')", strategy)
    epochs = steps(s.anneal_epochs, f"{path}.anneal_epochs")
    if epochs < 0:
        raise SpecError(f"{path}.anneal_epochs", "must be >= 0", epochs)
    return swa, strategy, epochs


def swalr_share(s: Any, k: int) -> float:
    """The share of ``swa_lr`` in SWALR's rate after ``k`` calls, as torch computes it."""
    t = max(0, min(1, k / max(1, s.anneal_epochs)))
    return s.anneal_func(t)


def swalr_start(s: Any, group: int, path: str, base: float) -> float:
    """The rate a SWALR read on its own anneals from. Its base rate when the curve from
    there gives the rate it set last (built first on the optimizer); else, while it
    anneals, torch's own inversion of that rate (``SWALR._get_initial_lr``, which its
    next ``step()`` applies too): it was stepped after another scheduler, from the rate
    that one left."""
    k = s._step_count - 1
    last = real(s.get_last_lr()[group], f"scheduler.get_last_lr()[{group}]")
    if k <= 0:  # it has set the rate it was built with, and anneals from the group's rate
        return last
    swa = real(s.optimizer.param_groups[group]["swa_lr"],
               f"optimizer.param_groups[{group}].swa_lr")
    share = swalr_share(s, k)
    if share == 1:
        raise SpecError(f"{path}._step_count", f"SWALR has annealed ({k} step() calls, "
                        f"anneal_epochs={s.anneal_epochs}) and holds swa_lr alone, so its "
                        "state no longer says which rate it annealed from; read "
                        "from_torch(scheduler, origin='now'), or read it before its "
                        "anneal ends", s._step_count)
    from .checks import rounding_tolerance

    tol = rounding_tolerance(s, group, k, [abs(last)], getattr(
        s.get_last_lr()[group], "dtype", None))
    if abs(base + (swa - base) * share - last) <= tol:
        return base
    return type(s)._get_initial_lr(last, swa, share)


def swalr_done(s: Any, group: int) -> float | None:
    """``swa_lr`` when a SWALR read on its own has annealed (it holds it from now on),
    else ``None``."""
    swa, _, _ = swalr_parameters(s, group, "scheduler")
    k = s._step_count - 1  # torch's get_lr: its count of calls, at least 1 without anneal
    return swa if swalr_share(s, k if s.anneal_epochs else max(1, k)) == 1 else None


def momentum(s: Any, group: int, node: Node) -> dict[str, Node]:
    """The momentum curve a top-level ``OneCycleLR``/``CyclicLR`` cycles
    (``cycle_momentum=True``) in param group ``group`` ("momentum" or ``betas[0]``,
    whichever the optimizer has: lrcore's ``momentum`` means the same), as the spec's
    ``hyperparams``; ``node`` is the rate's node, whose phases it shares."""
    kind = name(s)
    if kind == "SequentialLR":  # the cycles of the cyclers in it, held in between
        from .composite_momentum import sequential_momentum

        return sequential_momentum(s, group)
    if kind == "ChainedScheduler":  # the last cycler in it sets it at every step
        from .composite_momentum import chained_momentum

        return chained_momentum(s, group)
    if kind not in ("OneCycleLR", "CyclicLR") or not getattr(s, "cycle_momentum", False):
        return {}
    path = "scheduler"
    if kind == "OneCycleLR":
        pg = s.optimizer.param_groups[group]
        where = f"optimizer.param_groups[{group}]"
        low, high = (real(pg[k], f"{where}.{k}") for k in ("base_momentum", "max_momentum"))
        return {"momentum": OneCycleMomentum(
            low=low, high=high, pct_start=node.pct_start, anneal=node.anneal,
            three_phase=node.three_phase, duration=node.duration)}
    low = real(s.base_momentums[group], f"{path}.base_momentum")
    high = real(s.max_momentums[group], f"{path}.max_momentum")
    return {"momentum": Cyclic(low=low, high=high, up=node.up, down=node.down, mode=node.mode,
                               gamma=node.gamma, invert=True)}
