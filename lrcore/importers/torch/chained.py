"""torch's ChainedScheduler: the product of multiplying schedulers, a closed form
times the ratios after it, or torch's steps written out up to a curve lrcore has."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...fields import FLOAT32_MAX, MAX_LIST, MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.inverse_time import InverseTime
from ...nodes.linear import Linear
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
from .recursion import negative, plain_step, restart_factor


def chained_scheduler(s, group, path, base_rate):
    # each child multiplies the current rate by its own ratio: the rate is the first
    # child's curve times every other child's multiplier curve (its curve from 1.0)

    if path == "scheduler" and any(setter(c) for c, _ in flat(s, path)):
        return set_then_multiplied(s, group, path)
    if path == "scheduler" and any(name(c) == "SWALR" and is_torch_own(c)
                                   for c, _ in flat(s, path)):
        return chain_with_swalr(s, group, path)
    if path == "scheduler" and any(name(c) == "CosineAnnealingLR" and is_torch_own(c)
                                   for c, _ in flat(s, path)):
        from .chained_cosine import chain_with_cosine

        return chain_with_cosine(s, group, path)
    return product(s, group, path, base_rate, restarted=False)


def restarted_chain(s: Any, group: int, path: str, start: float, calls: int = 1) -> Node:
    """A ChainedScheduler that SequentialLR restarts: it steps the chain's schedulers
    again at step 0 but outside their initial mode, where ExponentialLR,
    MultiplicativeLR and PolynomialLR apply one step of their recursion. ``calls``: a
    SWALR's count of calls before that step, which the restart does not rewind."""

    if any(setter(c) for c, _ in flat(s, path)):
        return set_then_multiplied(s, group, path, restarted=True)
    if any(name(c) == "SWALR" and is_torch_own(c) for c, _ in flat(s, path)):
        return chain_with_swalr(s, group, path, first=start, calls=calls)
    if any(name(c) == "CosineAnnealingLR" and is_torch_own(c) for c, _ in flat(s, path)):
        from .chained_cosine import chain_with_cosine

        return chain_with_cosine(s, group, path, first=start)
    return product(s, group, path, start, restarted=True)


def product(s: Any, group: int, path: str, start: float | None, restarted: bool) -> Node:
    """A chain of multiplying schedulers: the first one's curve from ``start`` times
    each other one's curve from 1 (a nested chain's the same way); ``restarted``: a
    SequentialLR restarted the chain, where each applies a step of its recursion."""
    from .dispatch import curve

    node = None
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        at = start if i == 0 else 1.0
        if name(child) == "ChainedScheduler":
            factor = (restarted_chain if restarted else chained_scheduler)(child, group, p, at)
        else:
            # (start None: the first one's own base rate)
            factor = curve(child, group, p, chained=True, base=at * restart_factor(
                child, group, p) if restarted else at)
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
        written = table(ratios)
    return chain([(Constant(value=1.0), 1), (written, last), (Constant(value=1.0), None)])


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


def table(values: list) -> Node:
    """The rates ``values[j]`` at steps ``j = 0, 1, ...``, the last one held."""
    return PiecewiseConstant(values=[float(v) for v in values],
                             boundaries=list(range(1, len(values))))


def after(head: list, node: Node) -> Node:
    """The rates ``head`` written out, then ``node`` from the step after them."""
    return chain([(table(head), len(head)), (node, None)]) if head else node
