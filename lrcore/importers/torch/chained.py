"""torch's ChainedScheduler: the product of multiplying schedulers, a closed form
times the ratios after it, or torch's steps written out up to a curve lrcore has."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...fields import FLOAT32_MAX, MAX_LIST, MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.cosine import Cosine
from ...nodes.exponential import Exponential
from ...nodes.inverse_time import InverseTime
from ...nodes.linear import Linear
from ...nodes.offset import Offset
from ...nodes.piecewise_constant import PiecewiseConstant
from ...nodes.polynomial import Polynomial
from ...nodes.repeat import Repeat
from ...nodes.scale import Scale
from ...nodes.shift import Shift
from ...presets.optax import chain
from .common import (
    base,
    is_torch_own,
    name,
    named,
    real,
)
from .common import unsupported as refuse
from .recursion import negative, plain_step, restart_factor, step_map


def chained_scheduler(s, group, path, base_rate):
    # each child multiplies the current rate by its own ratio: the rate is the first
    # child's curve times every other child's multiplier curve (its curve from 1.0)
    from .dispatch import curve

    if path == "scheduler" and any(setter(c) for c, _ in flat(s, path)):
        return set_then_multiplied(s, group, path)
    if path == "scheduler" and any(name(c) == "SWALR" and is_torch_own(c)
                                   for c, _ in flat(s, path)):
        return chain_with_swalr(s, group, path)
    if path == "scheduler" and any(name(c) == "CosineAnnealingLR" and is_torch_own(c)
                                   for c, _ in flat(s, path)):
        return chain_with_cosine(s, group, path)
    node = None
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        start = base_rate if i == 0 else 1.0
        if name(child) == "ChainedScheduler":
            factor = chained_scheduler(child, group, p, start)
        else:
            factor = curve(child, group, p, base=start, chained=True)
        node = factor if node is None else Scale(schedule=node, by=factor)
    return node


def restarted_chain(s: Any, group: int, path: str, start: float, calls: int = 1) -> Node:
    """A ChainedScheduler that SequentialLR restarts: it steps the chain's schedulers
    again at step 0 but outside their initial mode, where ExponentialLR,
    MultiplicativeLR and PolynomialLR apply one step of their recursion. ``calls``: a
    SWALR's count of calls before that step, which the restart does not rewind."""
    from .dispatch import curve

    if any(setter(c) for c, _ in flat(s, path)):
        return set_then_multiplied(s, group, path, restarted=True)
    if any(name(c) == "SWALR" and is_torch_own(c) for c, _ in flat(s, path)):
        return chain_with_swalr(s, group, path, first=start, calls=calls)
    if any(name(c) == "CosineAnnealingLR" and is_torch_own(c) for c, _ in flat(s, path)):
        return chain_with_cosine(s, group, path, first=start)
    node = None
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        at = start if i == 0 else 1.0
        if name(child) == "ChainedScheduler":
            factor = restarted_chain(child, group, p, at)
        else:
            factor = curve(child, group, p, base=at * restart_factor(child, group, p),
                           chained=True)
        node = factor if node is None else Scale(schedule=node, by=factor)
    return node


#: the closed forms that set the rate outright at every step, whatever the group holds
#: (LambdaLR: base_lrs times its function of the step)
SETTERS = ("CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts", "LambdaLR")


def setter(s: Any) -> bool:
    return name(s) in SETTERS and is_torch_own(s)


def flat(s: Any, path: str) -> list[tuple[Any, str]]:
    """A ChainedScheduler's schedulers in the order its step() steps them (a nested
    chain steps its own in turn), with their paths."""
    out = []
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        out.extend(flat(child, p) if name(child) == "ChainedScheduler" else [(child, p)])
    return out


def set_then_multiplied(s: Any, group: int, path: str, restarted: bool = False,
                        shift: int = 0) -> Node:
    """A ChainedScheduler holding a closed form that sets the rate outright (CyclicLR,
    OneCycleLR, CosineAnnealingWarmRestarts, LambdaLR): at every step the last of them
    sets its closed form c(k), the schedulers before it are overwritten, and each one
    after it multiplies that by its own ratio of the step, f(k). At step 0 its
    constructor set c(0) and those after it applied their initial factor (built in the
    list's order); ``restarted``: a SequentialLR restarted the chain there, by a plain
    step at last_epoch 0, where ExponentialLR, MultiplicativeLR and PolynomialLR apply a
    step of their recursion too; ``shift``: the closed form runs that many steps ahead
    of the others (a CosineAnnealingWarmRestarts first stepped at last_epoch -shift)."""
    from .dispatch import curve

    members = flat(s, path)
    j = max(i for i, (c, _) in enumerate(members) if setter(c))
    closed = node = curve(members[j][0], group, members[j][1])
    if shift:
        closed = node = Shift(schedule=closed, offset=shift)
    start = float(evaluate(Schedule(schedule=closed), [0])[0])
    node, initial = multiplied(closed, members[j + 1:], group, restarted)
    start *= initial
    if node is closed and start == float(evaluate(Schedule(schedule=closed), [0])[0]):
        return closed
    return chain([(Constant(value=start), 1), (Shift(schedule=node, offset=1), None)])


def multiplied(node: Node, after: list, group: int, restarted: bool = False,
               written: bool = False) -> tuple[Node, float]:
    """``node`` times the ratio curve of each scheduler in ``after``, and the product of
    their factors at step 0 (``restarted``: times a restart's, see
    :func:`set_then_multiplied`). A falling ratio's closed form bounds its inverse line
    by float32's range, not the product: where that passes it (a large rate times a
    large power), the falling ratios are ``written`` out instead."""
    initial = 1.0
    out = node
    for child, p in after:
        first, factor = step_ratio(child, group, p, written)
        initial *= first * (restart_factor(child, group, p) if restarted else 1.0)
        if factor is not None:
            out = Scale(schedule=out, by=factor)
    if not written and out.rate_ceiling() > FLOAT32_MAX:
        return multiplied(node, after, group, restarted, written=True)
    return out, initial


def step_ratio(s: Any, group: int, path: str,
               written: bool = False) -> tuple[float, Node | None]:
    """What scheduler ``s`` multiplies the rate by at its construction (step 0) and, as
    a curve of the step k >= 1 (``None``: 1 throughout), at each plain step() (torch's
    get_lr, written out; ``written``: a falling ratio as a table, see
    :func:`multiplied`)."""
    from .decays import literal_factor, multiplicative_lr, step_lr
    from .dispatch import curve

    kind = name(s)
    if not is_torch_own(s):
        curve(s, group, path)  # refuses it
    if kind == "LinearLR":
        return linear_ratio(s, group, path, written)
    if kind == "PolynomialLR":
        curve(s, group, path, base=1.0, chained=True)  # refuses bad parameters first
        return 1.0, falling_ratio(s, group, path, written)
    if kind not in ("ExponentialLR", "MultiplicativeLR", "StepLR", "MultiStepLR",
                    "ConstantLR"):
        raise refuse(s, path, "after a scheduler that sets the rate outright in a "
                     "ChainedScheduler only ExponentialLR, MultiplicativeLR, StepLR, "
                     "MultiStepLR, ConstantLR and a rising LinearLR are read (their ratio "
                     "of each step is a curve lrcore has)")
    if kind == "ExponentialLR":
        return 1.0, Constant(value=real(s.gamma, f"{path}.gamma"))
    if kind == "MultiplicativeLR":
        factor = literal_factor(s.lr_lambdas[group])
        if factor is None:
            multiplicative_lr(s, group, path, 1.0)  # raises: not a literal
        return 1.0, Constant(value=factor)
    gamma = real(getattr(s, "gamma", 1.0), f"{path}.gamma") if kind != "ConstantLR" else 1.0
    if kind == "StepLR":  # k % step_size == 0: at the multiples of its numerator
        step_lr(s, group, path, 1.0)  # refuses a step_size of 0
        every = abs(Fraction(real(s.step_size, f"{path}.step_size")).numerator)
        if every > MAX_STEP:  # never within the step domain
            return 1.0, None
        if every == 1:
            return 1.0, Constant(value=gamma)
        return 1.0, Repeat(schedule=PiecewiseConstant(values=[gamma, 1.0], boundaries=[1]),
                           period=every)
    if kind == "MultiStepLR":
        counts: dict[int, int] = {}
        for m, c in s.milestones.items():
            if real(m, f"{path}.milestones") >= 0 and m == math.floor(m):
                counts[int(m)] = counts.get(int(m), 0) + c
        initial = gamma ** counts.pop(0, 0)
        values, bounds = [1.0], []
        for m in sorted(counts):
            if bounds and bounds[-1] == m:
                values[-1] = gamma ** counts[m]
            else:
                bounds.append(m)
                values.append(gamma ** counts[m])
            bounds.append(m + 1)
            values.append(1.0)
        return initial, PiecewiseConstant(values=values, boundaries=bounds) if bounds \
            else None
    factor = real(s.factor, f"{path}.factor")
    total = real(s.total_iters, f"{path}.total_iters")
    if total < 1 or total != math.floor(total):
        return factor, None
    if factor == 0:
        raise SpecError(f"{path}.factor", "must not be 0 in a ConstantLR after a "
                        "scheduler that sets the rate (torch divides by it at total_iters: "
                        "ZeroDivisionError)", factor)
    return factor, PiecewiseConstant(values=[1.0, 1.0 / factor, 1.0],
                                     boundaries=[int(total), int(total) + 1])


def last_ratio(s: Any, group: int, path: str) -> int | None:
    """The last step k >= 1 at which a multiplying scheduler's plain step() multiplies the
    rate by a ratio other than 1 (0: none; ``None``: it does so forever)."""
    from .decays import literal_factor

    kind = name(s)
    if kind in ("ExponentialLR", "StepLR"):
        return 0 if real(s.gamma, f"{path}.gamma") == 1.0 else None
    if kind == "MultiplicativeLR":
        return 0 if literal_factor(s.lr_lambdas[group]) == 1.0 else None
    if kind == "MultiStepLR":
        if real(s.gamma, f"{path}.gamma") == 1.0:
            return 0
        return max((int(m) for m in s.milestones if m >= 1 and m == math.floor(m)), default=0)
    total = real(s.total_iters, f"{path}.total_iters")
    if kind == "ConstantLR":
        return int(total) if total >= 1 and total == math.floor(total) else 0
    return max(0, math.floor(total))  # LinearLR, PolynomialLR: at each 1 <= k <= total


def chain_with_cosine(s: Any, group: int, path: str, first: float | None = None) -> Node:
    """A ChainedScheduler holding a CosineAnnealingLR among multiplying schedulers. Its
    step multiplies the distance to eta_min by (1 + cos(pi k / T)) / (1 + cos(pi (k - 1)
    / T)) (at k = T + 1 mod 2 T, where that divides by 0, it adds a step of its base_lrs'
    wave instead). While the others' ratios are not all 1 (up to their last one, K)
    torch's steps are written out, rate by rate; from K on only the cosine moves the rate:
    a periodic cosine through the rate at K, down to eta_min, then the wave of base_lrs
    from the step torch restarts it. With eta_min 0 and a fractional T_max (no restart)
    the ratios telescope for ever: the cosine times the others' multiplier curves. Where
    no such curve follows (eta_min > 0 among ratios that never end, two cosines, ratios
    out of step with torch's restarts), the rate turns periodic: :func:`periodic_chain`.
    ``first``: a SequentialLR restarted the chain from that rate by a plain step at
    last_epoch 0, where each of them applies a step of its recursion too."""
    from .decays import count
    from .dispatch import curve

    members = flat(s, path)
    cosines = [(c, p) for c, p in members if name(c) == "CosineAnnealingLR"]
    others = [(c, p) for c, p in members if name(c) != "CosineAnnealingLR"]
    initial = base(members[0][0], group, members[0][1]) if first is None else first
    start = initial  # the first one's start, the cosines' step at 0 aside
    # a growth is bounded by the troughs of a cosine with a whole T_max, which erase the
    # rate's history; with none its curve is refused as unbounded, as on its own
    bounded = [c for c, p in others if growth(c, group, p)] if any(
        real(c.T_max, f"{p}.T_max") == math.floor(real(c.T_max, f"{p}.T_max"))
        for c, p in cosines) else []
    for c, p in members:  # refuses what is not a multiplying scheduler of torch's own
        if name(c) != "CosineAnnealingLR" or not is_torch_own(c):
            again = 1.0 if first is None else restart_factor(c, group, p)
            start *= again
            if c in bounded:  # it leaves the rate at step 0
                continue
            initial *= again * float(evaluate(Schedule(schedule=curve(
                c, group, p, base=1.0, chained=True)), [0])[0])
        elif first is not None:  # its get_lr at last_epoch 0, outside its initial mode
            initial = plain_step(c, group, p, 0, initial)
            t = real(c.T_max, f"{p}.T_max")
            # a ratio where eta_min is 0, unless T_max 1 adds a step of its wave at once
            start *= plain_step(c, group, p, 0, 1.0) \
                if real(c.eta_min, f"{p}.eta_min") == 0 and (-1 - t) % (2 * t) else math.nan
    ends = [last_ratio(c, group, p) for c, p in others]
    params = [(real(c.eta_min, f"{p}.eta_min"), count(c.T_max, f"{p}.T_max"))
              for c, p in cosines]
    if all(eta == 0 and isinstance(t, Fraction) for eta, t in params):
        # no restart, no eta_min: every step multiplies the rate by its ratios
        return telescoped(members, group, start)
    cos, cp = cosines[0] if len(cosines) == 1 else (None, None)
    if cos is not None and None in ends and params[0][0] == 0 and not bounded:
        head = telescoped(members, group, start) if not math.isnan(start) else \
            chain([(Constant(value=initial), 1), (Constant(value=0.0), None)])  # T_max 1
        node = restarted_products(members, others, ends, group, cos, cp, params[0][1], head)
        if node is not None:
            return node
    if cos is None or None in ends:  # a sum of secants, restarts out of step
        return periodic_chain(s, members, ends, group, initial, cosines[0])
    eta, t = params[0]
    wave = base(cos, group, cp)
    last = max(ends, default=0)
    rates, r = [initial], initial
    for k in range(1, last + 1):  # torch's steps, written out (its own arithmetic)
        for c, p in members:
            r = plain_step(c, group, p, k, r)
        if r < 0:
            raise negative(s, r, k)
        rates.append(r)
    prefix = [(Constant(value=v), 1) for v in rates[:-1]]
    restart = None
    if not isinstance(t, Fraction):  # the first k > K with (k - 1 - T) % 2T == 0
        restart = last + 1 + (t - last) % (2 * t)
    with named(cos, cp):
        base_wave = Cosine(start=wave, end=eta, duration=t, periodic=True)
        if restart == last + 1:  # the rate at K is eta_min: the wave of base_lrs next
            return chain([*prefix, (Constant(value=r), 1),
                          (Shift(schedule=base_wave, offset=restart), None)])
        w = 1 + math.cos(math.pi * last / t)
        if eta + 2 * (r - eta) / w < 0:  # its wave through r at K dips below 0
            raise negative(s, eta + 2 * (r - eta) / w, last + (-last) % (2 * t))
        through = Shift(schedule=Cosine(start=eta + 2 * (r - eta) / w, end=eta, duration=t,
                                        periodic=True), offset=last)
        if restart is None:
            return chain([*prefix, (through, None)])
        return chain([*prefix, (through, restart - last),
                      (Shift(schedule=base_wave, offset=restart), None)])


def swalr_step(s: Any, group: int, path: str, k: int, r: float) -> float:
    """The rate SWALR's get_lr sets after ``k`` calls from the rate ``r`` the group holds:
    it undoes the share of swa_lr of call k - 1 (``_get_initial_lr``) and applies that of
    call k (torch's code, written out; its own anneal function)."""
    from .cycles import swalr_parameters, swalr_share

    swa, _, epochs = swalr_parameters(s, group, path)
    step = k if epochs else max(1, k)
    prev = type(s)._get_initial_lr(r, swa, swalr_share(s, step - 1) if step >= 1 else
                                   s.anneal_func(0))
    alpha = swalr_share(s, step)
    return swa * alpha + prev * (1 - alpha)


def chain_with_swalr(s: Any, group: int, path: str, first: float | None = None,
                     e0: int = 0, calls: int = 0) -> Node:
    """A ChainedScheduler holding a SWALR among multiplying schedulers. While it anneals,
    each call inverts its last share of swa_lr on the rate the others have multiplied,
    an affine recursion with no closed form: torch's steps are written out, rate by rate,
    up to the call whose share is 1. From there it sets swa_lr outright, and the
    schedulers after it multiply that by their ratio of each step. ``first``: a
    SequentialLR restarted the chain from that rate, by plain steps from last_epoch
    ``e0 <= 0`` (at 0 outside the initial mode), its SWALRs called ``calls`` times
    before: their count runs on, unlike last_epoch."""
    from .cycles import swalr_parameters, swalr_share
    from .dispatch import curve

    members = flat(s, path)
    j = max(i for i, (c, _) in enumerate(members) if name(c) == "SWALR")
    swalr, sp = members[j]
    swa, _, _ = swalr_parameters(swalr, group, sp)
    # the rate it sets once annealed; refuses what has no ratio curve
    node, _ = multiplied(Constant(value=swa), members[j + 1:], group)

    def step(c: Any, p: str, e: int, r: float) -> float:
        """Scheduler c's plain step at last_epoch e >= 1, or e < 0, from the rate r."""
        own = is_torch_own(c)
        if name(c) == "SWALR" and own:
            return swalr_step(c, group, p, e - e0 + calls, r)
        if e != 0 or (name(c) == "CosineAnnealingLR" and own):
            return plain_step(c, group, p, e, r)
        # the restart at last_epoch 0: its initial factor and a step of its recursion
        return r * restart_factor(c, group, p) * float(evaluate(Schedule(
            schedule=curve(c, group, p, base=1.0, chained=True)), [0])[0])

    if first is None:  # the construction, in the list's order
        r = base(members[0][0], group, members[0][1])
        for i, (c, p) in enumerate(members):
            if name(c) == "SWALR" and is_torch_own(c):
                r = swalr_step(c, group, p, 0, r)
            elif name(c) == "CosineAnnealingLR" and is_torch_own(c) and i < j:
                continue  # it keeps the rate at its construction; overwritten once annealed
            else:
                r *= float(evaluate(Schedule(schedule=curve(c, group, p, base=1.0,
                                                            chained=True)), [0])[0])
        rates, e = [r], 1
    else:
        rates, e, r = [], e0, first
    # torch's steps, up to the call whose share is 1, and through last_epoch 0
    while e <= 0 or swalr_share(swalr, max(1, e - e0 + calls) if not swalr.anneal_epochs
                                else e - e0 + calls) != 1:
        for c, p in members:
            r = step(c, p, e, r)
        if r < 0:
            raise negative(s, r, e - e0)
        rates.append(r)
        e += 1
    return chain([*((Constant(value=v), 1) for v in rates), (Shift(schedule=node, offset=e),
                                                              None)])


def linear_ratio(s: Any, group: int, path: str,
                 written: bool = False) -> tuple[float, Node | None]:
    """LinearLR's ratio of step k, 1 + (b - a) / (T a + (k - 1)(b - a)), is L(k) / L(k -
    1) for its line L(k) = a + (b - a) k / T, up to k = T: the line times the inverse-time
    decay 1 / L(k - 1), which lrcore has for a rising line (b > a)."""
    from .decays import count
    from .dispatch import curve

    curve(s, group, path, base=1.0, chained=True)  # refuses bad parameters first
    total = count(s.total_iters, f"{path}.total_iters")
    a = real(s.start_factor, f"{path}.start_factor")
    b = real(s.end_factor, f"{path}.end_factor")
    if total < 1 or a == b:  # no ratio but 1 after step 0
        return a, None
    if b < a:  # 1 / L(k - 1) for a falling line: a polynomial of power -1
        return a, falling_ratio(s, group, path, written)
    with named(s, path):
        ratio = Scale(schedule=Shift(schedule=Linear(start=a, end=b, duration=total),
                                     offset=1),
                      by=InverseTime(start=1.0 / a, rate=(b - a) / a, every=total))
    return a, chain([(Constant(value=1.0), 1), (ratio, math.floor(total)),
                     (Constant(value=1.0), None)])


def falling_ratio(s: Any, group: int, path: str, written: bool = False) -> Node | None:
    """PolynomialLR's or a falling LinearLR's ratio of each step 1 <= k <= T, 1 from T on
    (``None``: no step k <= T): a falling line at k over the same line at k - 1. The
    numerator is the curve itself (polynomial, linear); the inverse of the denominator a
    polynomial of negative power, finite on the steps before its pole, where it is
    used: 1 / (1 - j / T)**power = polynomial(1, 0, T, -power) and 1 / M(j), M(j) = a +
    (b - a) j / T, = polynomial(1 / a, 0, D, -1) with D = T a / (a - b) >= T (where M
    reaches 0). Where that polynomial passes float32's range (a large power), or
    ``written``, the ratio of each step is written out instead (:func:`ratio_table`)."""
    from .decays import count

    total = count(s.total_iters, f"{path}.total_iters")
    last = math.floor(total)
    if last < 1:
        return None
    t = Fraction(total)
    if written:
        return ratio_table(s, group, path)
    try:
        if name(s) == "PolynomialLR":
            p = real(s.power, f"{path}.power")
            top: Node = Polynomial(start=1.0, end=0.0, power=p, duration=total)
            inverse = Polynomial(start=1.0, end=0.0, power=-p, duration=total)
        else:
            a = Fraction(real(s.start_factor, f"{path}.start_factor"))
            b = Fraction(real(s.end_factor, f"{path}.end_factor"))
            top = Linear(start=float(a), end=float(b), duration=total)
            pole = t * a / (a - b)
            inverse = Polynomial(start=float(1 / a), end=0.0, power=-1.0,
                                 duration=int(pole) if pole.denominator == 1 else pole)
    except SpecError:  # the inverse passes float32's range, or its pole 2**31 - 1
        return ratio_table(s, group, path)
    ratio = Scale(schedule=Shift(schedule=top, offset=1), by=inverse)
    return chain([(Constant(value=1.0), 1), (ratio, last), (Constant(value=1.0), None)])


def ratio_table(s: Any, group: int, path: str) -> Node:
    """:func:`falling_ratio` where its closed form passes float32's range (alone, or
    times the rate it multiplies): the ratio of each step 1 <= k <= T, one table entry
    a step, then 1."""
    last = math.floor(real(s.total_iters, f"{path}.total_iters"))
    if last > MAX_LIST:
        raise SpecError(f"{path}.total_iters", f"must be <= {MAX_LIST} after a scheduler "
                        "that sets the rate outright in a ChainedScheduler where its "
                        "ratio's closed form passes float32's range (lrcore writes its "
                        "ratio of each step out, one entry a step); use a smaller power",
                        s.total_iters)
    ratios = [exact_ratio(s, path, k) for k in range(1, last + 1)]
    with named(s, path):
        table = PiecewiseConstant(values=ratios, boundaries=list(range(1, last)))
    return chain([(Constant(value=1.0), 1), (table, last), (Constant(value=1.0), None)])


def exact_ratio(s: Any, path: str, k: int) -> float:
    """LinearLR's L(k) / L(k - 1), L(k) = a + (b - a) k / T, or PolynomialLR's ((T - k) /
    (T - k + 1))**power, for 1 <= k <= T, from the exact values of its parameters, rounded
    once (torch's own get_lr rounds each operation: within a few ulp of this, and a
    little below 0 where the line reaches 0, LinearLR(0.8, 0.0, 4) at k = 4)."""
    t = Fraction(real(s.total_iters, f"{path}.total_iters"))
    if name(s) == "PolynomialLR":
        return float((t - k) / (t - k + 1)) ** real(s.power, f"{path}.power")
    a = Fraction(real(s.start_factor, f"{path}.start_factor"))
    b = Fraction(real(s.end_factor, f"{path}.end_factor"))
    return float((a + (b - a) * k / t) / (a + (b - a) * (k - 1) / t))


def telescoped(members: list, group: int, start: float) -> Node:
    """The product of a chain's curves: the first's from its base, the others' ratios
    (a CosineAnnealingLR with eta_min 0: its wave, through the rate it finds); the
    first from ``start``."""
    from .decays import cosine_annealing_lr
    from .dispatch import curve

    node = None
    for i, (c, p) in enumerate(members):
        at = start if i == 0 else 1.0
        if name(c) == "CosineAnnealingLR":
            with named(c, p):
                factor = cosine_annealing_lr(c, group, p, at)
        else:
            factor = curve(c, group, p, base=at, chained=True)
        node = factor if node is None else Scale(schedule=node, by=factor)
    return node


def constant_ratio(s: Any, group: int, path: str) -> float | None:
    """The ratio a multiplying scheduler applies at every step k >= 1, if one number."""
    from .decays import literal_factor

    kind = name(s)
    if kind == "ExponentialLR":
        return real(s.gamma, f"{path}.gamma")
    if kind == "MultiplicativeLR":
        return literal_factor(s.lr_lambdas[group])
    if kind == "StepLR" and abs(Fraction(real(s.step_size, f"{path}.step_size"))
                                .numerator) == 1:  # k % step_size == 0 at every k
        return real(s.gamma, f"{path}.gamma")
    return None


def restarted_products(members: list, others: list, ends: list, group: int, cos: Any,
                       cp: str, t: Any, head: Node) -> Node | None:
    """A CosineAnnealingLR with eta_min 0 and a whole T_max among ratios ``g`` that are
    one number at every step (the others ending by T_max): the ratios telescope up to
    T_max, where the wave reaches 0; at each restart k = T_max + 1 (mod 2 T_max) torch
    adds a step of base_lrs' wave to that 0, and the schedulers after it multiply it by
    theirs (``a``): base_lrs' wave times a g**j, j steps into each period of 2 T_max.
    ``head``: the curve up to T_max. ``None`` where the ratios are not of that kind."""
    ratios = {}
    for (c, p), e in zip(others, ends):
        if e is None:
            g = constant_ratio(c, group, p)
            if g is None or g <= 0:
                return None
            ratios[p] = g
        elif e > t:
            return None
    j = [p for _, p in members].index(cp)
    after = math.prod(ratios.get(p, 1.0) for _, p in members[j + 1:])
    every = math.prod(ratios.values())
    with named(cos, cp):
        wave = Shift(schedule=Cosine(start=base(cos, group, cp), end=0.0, duration=t,
                                     periodic=True), offset=t + 1)
        period: Node = Scale(schedule=wave, by=Exponential(start=after, rate=every))
    return chain([(head, t + 1),
                  (Repeat(schedule=period, period=2 * t), None)])


def table(values: list) -> Node:
    """The rates ``values[j]`` at steps ``j = 0, 1, ...``, the last one held."""
    return PiecewiseConstant(values=[float(v) for v in values],
                             boundaries=list(range(1, len(values))))


def chain_period(members: list, ends: list, group: int) -> int:
    """The steps after which every step map of the chain repeats once the ratios that end
    have ended: the lcm of each CosineAnnealingLR's 2 p (T_max = p / q: cos(pi k / T_max)
    repeats every 2 p steps) and of each StepLR's step_size numerator (its multiples)."""
    period, others = 1, iter(ends)
    for c, p in members:
        if name(c) == "CosineAnnealingLR":
            t = Fraction(real(c.T_max, f"{p}.T_max"))
            period = math.lcm(period, 2 * abs(t.numerator))
        elif next(others) is None and name(c) == "StepLR":
            every = abs(Fraction(real(c.step_size, f"{p}.step_size")).numerator)
            period = math.lcm(period, every if every <= MAX_STEP else 1)
    return period


def periodic_chain(s: Any, members: list, ends: list, group: int, initial: float,
                   where: tuple[Any, str]) -> Node:
    """A ChainedScheduler holding CosineAnnealingLRs that no telescoped curve draws
    (eta_min > 0 among ratios that never end, two cosines, a StepLR out of step with a
    restart). Past the others' last ending ratio K each step is an affine map ``r -> a_k r
    + b_k`` whose coefficients repeat every L steps (:func:`chain_period`). Where a
    cosine's trough (k = T_max mod 2 T_max) multiplies the rate by 0, torch's steps are
    written out up to it, then one period of the rate repeats (with eta_min 0, a closed
    form: :func:`restarted_wave`). With none, the rate is
    P(k) + C h(k): P the periodic solution (the fixed point of one period's map r -> A r +
    B, B / (1 - A), then one period of its steps; A is the product of the ratios, as each
    cosine's telescope to 1), h the product of the multipliers (A per period), both in 60
    digits from the floats torch computes: P (1 + C h / P), a table times 1 + a table that
    decays by A each period."""
    cos, cp = where
    for c, p in members:
        if name(c) == "CosineAnnealingLR" and real(c.T_max, f"{p}.T_max") <= 0:
            raise SpecError(f"{p}.T_max", "must be > 0, as for a CosineAnnealingLR on its "
                            "own (at 0 torch's step divides by zero)", c.T_max)
    last = max((e for e in ends if e is not None), default=0)
    period = chain_period(members, ends, group)
    if period > MAX_LIST:
        raise refuse(cos, cp, f"in this ChainedScheduler torch's steps repeat every {period} "
                     "steps (the lcm of each 2 T_max numerator and StepLR step_size), and "
                     f"their periodic curve is a table longer than the {MAX_LIST} rates a "
                     "spec's list holds; give T_max and step_size a shorter common period")

    def step_maps(k: int) -> tuple[Decimal, Decimal]:
        a, b = Decimal(1), Decimal(0)
        for c, p in members:
            ratio, mid, add = (Decimal(x) for x in step_map(c, group, p, k))
            a, b = ratio * a, ratio * (b - mid) + mid + add
        return a, b

    rates, r = [initial], initial

    def written_out(upto: int) -> None:  # torch's steps (its own arithmetic)
        nonlocal r
        if upto > MAX_LIST:
            raise refuse(cos, cp, f"in this ChainedScheduler the rate turns periodic only "
                         f"from step {upto} on, and torch's steps up to there are a table "
                         f"longer than the {MAX_LIST} rates a spec's list holds; end its "
                         "other schedulers' ratios earlier")
        for k in range(len(rates), upto):
            for c, p in members:
                r = plain_step(c, group, p, k, r)
            if r < 0:
                raise negative(s, r, k)
            rates.append(r)

    with localcontext() as ctx:
        ctx.prec = 60
        maps = [step_maps(k) for k in range(last + 1, last + period + 1)]
        trough = next((j for j, (a, _) in enumerate(maps) if a == 0), None)
        if trough is not None:  # from there on the rate repeats
            first = last + 1 + trough
            written_out(first)
            rate = maps[trough][1]
            ps = [rate]
            for k in range(first + 1, first + period):
                a, b = step_maps(k)
                rate = a * rate + b
                ps.append(rate)
            wave = restarted_wave(members, ends, group, first, period, where)
            return after(rates, wave if wave is not None else repeated(s, ps, first))
        written_out(last + 1)
        # one period's map r -> A r + B: each cosine's ratios telescope to exactly 1 over
        # it, so A is the product of the others' ratios (torch's floats, exact)
        big_a = math.prod(ratio_product(members, group, k)
                          for k in range(last + 1, last + period + 1))
        big_b = scale = Decimal(0)
        for a, b in maps:
            big_b, scale = a * big_b + b, abs(a) * scale + abs(b)
        if big_a == 1:  # then B is 0 too, up to the rounding of torch's cosines
            if abs(big_b) > scale * Decimal("1e-9"):  # pragma: no cover - none found
                raise refuse(cos, cp, "in this ChainedScheduler one period of its steps "
                             "adds to the rate and multiplies it by 1: the rate drifts by a "
                             "line, which no curve of lrcore's is")
            big_b = Decimal(0)
        ps, hs = [big_b / (1 - big_a) if big_a != 1 else Decimal(r)], [Decimal(1)]
        for a, b in maps[:-1]:
            ps.append(a * ps[-1] + b)
            hs.append(a * hs[-1])
        c = Decimal(r) - ps[0] if big_a != 1 else Decimal(0)
        below = first_negative(ps, hs, c, big_a)
        if below is not None and last + below[0] <= MAX_STEP:
            raise negative(s, float(below[1]), last + below[0])
        if c == 0:
            return after(rates[:-1], repeated(s, ps, last))
        if float(big_a) == 0:  # C h is 0 in float64 from the second period on
            written_out(last + period)
            return after(rates, repeated(s, ps, last + period))
        if all(p == 0 for p in ps) and 0 < big_a < 1:  # no eta_min moves it: C h
            return after(rates[:-1], Repeat(schedule=table([c * h for h in hs]),
                                            period=period, decay=float(big_a)))
        if c < 0 or big_a > 1 or not all(p > 0 for p in ps):  # pragma: no cover
            # no torch chain found that reaches it: each one tried falls below 0 first
            raise refuse(cos, cp, "in this ChainedScheduler the rate approaches its "
                         "periodic curve from below or grows away from it, a difference of "
                         "curves, which no curve of lrcore's is")
        return after(rates[:-1], Scale(schedule=repeated(s, ps, last), by=Offset(
            schedule=Repeat(schedule=table([c * h / p for h, p in zip(hs, ps)]),
                            period=period, decay=float(big_a)), by=1.0)))


def restarted_wave(members: list, ends: list, group: int, first: int, period: int,
                   where: tuple[Any, str]) -> Node | None:
    """The rate from ``first``, a trough of the one CosineAnnealingLR with eta_min 0 (and
    a whole T_max), as a closed form: 0 there; at each restart torch adds a step of
    base_lrs' wave W, the schedulers after it multiply it by theirs, and from there every
    ratio multiplies the rate and the cosine moves it along W, so the rate is W(k) times
    the product of the ratios since the restart: the constant ones G**(j - 1), j steps
    into each period of 2 T_max, times a staircase of the StepLRs (a table of its
    stairs over the period). ``None`` where that is no shorter than the rates (or G >
    1, or another cosine or a ratio of 0 is the trough)."""
    cos, cp = where
    cosines = [c for c, _ in members if name(c) == "CosineAnnealingLR"]
    t = real(cos.T_max, f"{cp}.T_max")
    if len(cosines) > 1 or real(cos.eta_min, f"{cp}.eta_min") != 0 or t != math.floor(t) \
            or (first - t) % (2 * t) != 0:
        return None
    t = int(t)
    j = [p for _, p in members].index(cp)
    constant = Decimal(1)
    for (c, p), e in zip([m for m in members if m[0] is not cos], ends):
        g = constant_ratio(c, group, p) if e is None else 1.0
        constant *= Decimal(g) if g is not None else 1
    if not 0 < constant <= 1:
        return None
    stairs, m = [], Decimal(1)
    for i in range(period):  # the product since the restart over G**(i - 1)
        k, phase = first + i, i % (2 * t)
        if phase == 1:
            m = math.prod((Decimal(plain_step(c, group, p, k, 1.0)) for c, p in members[j + 1:]
                           if c is not cos), start=Decimal(1))
        elif phase > 1:
            m *= ratio_product(members, group, k) / constant
        stairs.append(float(m) if phase else None)
    stairs[0] = stairs[1]
    for i in range(2, period):  # each trough keeps the stair before it
        stairs[i] = stairs[i - 1] if stairs[i] is None else stairs[i]
    values, bounds = [stairs[0]], []
    for i, v in enumerate(stairs):
        if v != values[-1]:
            values.append(v)
            bounds.append(i)
    if 2 * len(values) > period:
        return None
    with named(cos, cp):
        wave = Shift(schedule=Cosine(start=base(cos, group, cp), end=0.0, duration=t,
                                     periodic=True), offset=t)
        factors: list[Node] = []
        if bounds:
            factors.append(Repeat(schedule=PiecewiseConstant(values=values, boundaries=bounds),
                                  period=period))
        if constant != 1:  # restarted with each period, from the restart step on
            g0 = 1.0 if bounds else values[0]
            # a growth's ceiling past the period's last step, so that it is a valid,
            # bounded curve and never binds
            factors.append(Repeat(schedule=Exponential(
                start=g0, rate=float(constant), begin=1,
                bound=g0 * float(constant) ** (2 * t) if constant > 1 else None),
                period=2 * t))
        elif not bounds and values[0] != 1.0:
            factors.append(Constant(value=values[0]))
        node: Node = wave
        for f in factors:
            node = Scale(schedule=node, by=f)
        return node


def growth(s: Any, group: int, path: str) -> bool:
    """Whether torch's own ExponentialLR, StepLR or literal MultiplicativeLR ``s``
    multiplies the rate by more than 1."""
    from .decays import literal_factor

    if not is_torch_own(s):
        return False
    if name(s) in ("ExponentialLR", "StepLR"):
        return real(s.gamma, f"{path}.gamma") > 1
    if name(s) == "MultiplicativeLR":
        return (literal_factor(s.lr_lambdas[group]) or 0.0) > 1
    return False


def ratio_product(members: list, group: int, k: int) -> Decimal:
    """The product of the multiplying schedulers' ratios at step ``k`` (torch's floats)."""
    out = Decimal(1)
    for c, p in members:
        if name(c) != "CosineAnnealingLR":
            out *= Decimal(plain_step(c, group, p, k, 1.0))
    return out


def first_negative(ps: list, hs: list, c: Decimal, big_a: Decimal) -> tuple[int, Decimal] | None:
    """The first step past K (and the rate there) where P_j + C h_j A**m, the rate m
    periods and j steps past K, falls below 0; ``None``: never."""
    found = None
    for j, (p, h) in enumerate(zip(ps, hs)):
        m = 0
        if p + c * h < 0:
            pass
        elif c * h == 0 or (p >= 0 if big_a < 1 else c * h > 0):
            continue
        else:  # p + c h A**m < 0 where A**m crosses -p / (c h)
            m = max(0, int((-p / (c * h)).ln() / big_a.ln()) - 1)
            while p + c * h * big_a ** m >= 0:
                m += 1
        step = m * len(ps) + j
        if found is None or step < found[0]:
            found = (step, p + c * h * big_a ** m)
    return found


def after(head: list, node: Node) -> Node:
    """The rates ``head`` written out, then ``node`` from the step after them."""
    return chain([(table(head), len(head)), (node, None)]) if head else node


def repeated(s: Any, rates: list, at: int) -> Node:
    """One period of the rate, from step ``at``, repeated."""
    for j, v in enumerate(rates):
        if v < 0:
            raise negative(s, float(v), at + j)
    return Repeat(schedule=table(rates), period=len(rates))
