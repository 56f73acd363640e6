"""A torch ChainedScheduler holding CosineAnnealingLRs among multiplying schedulers:
their product where it telescopes, else the periodic curve torch's steps turn into."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...fields import MAX_LIST, MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.cosine import Cosine
from ...nodes.exponential import Exponential
from ...nodes.offset import Offset
from ...nodes.piecewise_constant import PiecewiseConstant
from ...nodes.repeat import Repeat
from ...nodes.scale import Scale
from ...nodes.shift import Shift
from ...presets.optax import chain
from .chained import after, flat, table
from .common import (
    base,
    is_torch_own,
    name,
    named,
    real,
)
from .common import unsupported as refuse
from .recursion import negative, plain_step, restart_factor, step_map


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
            for i in range(1, period):  # the maps repeat: those of the period after it
                a, b = maps[(trough + i) % period]
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


def repeated(s: Any, rates: list, at: int) -> Node:
    """One period of the rate, from step ``at``, repeated."""
    for j, v in enumerate(rates):
        if v < 0:
            raise negative(s, float(v), at + j)
    return Repeat(schedule=table(rates), period=len(rates))
