"""torch's decays of one base rate: StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, LinearLR, ConstantLR, PolynomialLR, MultiplicativeLR."""

from __future__ import annotations

import dis
import math
import numbers
import types
from fractions import Fraction
from typing import Any

from ..._args import as_number
from ...errors import SpecError
from ...fields import MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.cosine import Cosine
from ...nodes.exponential import Exponential
from ...nodes.linear import Linear
from ...nodes.multistep import MultiStep
from ...nodes.piecewise_constant import PiecewiseConstant
from ...nodes.polynomial import Polynomial, decaying_power
from ...nodes.step import Step
from ...presets.optax import chain
from .common import base, name, real, steps


def geometric(base: float, factor: float, every: int) -> Node:
    if factor == 0.0:  # the rate drops to 0 at the first multiple and stays there
        return PiecewiseConstant(values=[base, 0.0], boundaries=[every])
    return Step(start=base, factor=factor, every=every)


def step_lr(s, group, path, base):
    """torch's step() (its recursion) multiplies by gamma at every ``k > 0`` with
    ``k % step_size == 0``. Python's float ``%`` is exact, so for a step size ``p / q``
    (in lowest terms; every float is one) that holds exactly at the multiples of ``p``:
    ``step_size=2.5`` drops at 5, 10, ... Past 2**31 - 1 it never drops."""
    size = as_number(s.step_size, f"{path}.step_size")
    size = int(size) if isinstance(size, numbers.Integral) else real(size, f"{path}.step_size")
    if size == 0:
        raise SpecError(f"{path}.step_size", "must not be 0 (torch divides by it)", size)
    every = abs(Fraction(size).numerator)
    gamma = real(s.gamma, f"{path}.gamma")
    return geometric(base, gamma, every) if every <= MAX_STEP else Constant(value=base)


def multistep_lr(s, group, path, base, restarted=False):
    """torch's step() looks the step ``k >= 0`` up in its Counter of milestones: a
    fractional or negative milestone is never met. ``restarted``: a SequentialLR set
    the rate at its milestone by ``_update_lr(0)``, torch's closed form
    ``base * gamma ** bisect_right(milestones, 0)``, which counts the negative ones at
    step 0 (the recursion runs on from there)."""
    counts: dict[int, int] = {}  # torch keeps a Counter: a repeated milestone counts twice
    for m, c in s.milestones.items():
        if real(m, f"{path}.milestones") < 0:
            if restarted:
                counts[0] = counts.get(0, 0) + c
            continue
        if m != math.floor(m):
            continue  # torch looks the integer step up in its Counter: 2.5 is never hit
        step = steps(m, f"{path}.milestones")
        counts[step] = counts.get(step, 0) + c
    gamma = real(s.gamma, f"{path}.gamma")
    if not counts:
        return Constant(value=base)
    if all(c == 1 for c in counts.values()) and 0 not in counts and gamma != 0.0:
        return MultiStep(start=base, factor=gamma, milestones=sorted(counts))
    values, bounds, drops = [base], [], 0
    for m in sorted(counts):
        drops += counts[m]
        value = base * gamma**drops  # torch's closed form: base * gamma ** bisect_right
        if m == 0:
            values[0] = value
        else:
            bounds.append(m)
            values.append(value)
    return PiecewiseConstant(values=values, boundaries=bounds) if bounds else \
        Constant(value=values[0])


def exponential_lr(s, group, path, base):
    return Exponential(start=base, rate=real(s.gamma, f"{path}.gamma"))


def cosine_annealing_lr(s, group, path, base, first=None):
    """torch's closed form eta_min + (base - eta_min)(1 + cos(pi t / T_max)) / 2 for all
    t. ``first``: the rate its recursion starts from when that is not its base rate (the
    first scheduler of a SequentialLR after a OneCycleLR rewrote ``initial_lr``)."""
    eta = real(s.eta_min, f"{path}.eta_min")
    period = count(s.T_max, f"{path}.T_max")
    if first is None or first == base or isinstance(period, Fraction):
        # the ratios telescope to the periodic cosine through `first`: a fractional
        # T_max (2.5) never makes one divide by 0 at an integer step, and for `first ==
        # base` the extra step torch takes where one would lands on that cosine as well
        return Cosine(start=base if first is None else first, end=eta, duration=period,
                      periodic=True)
    d = period
    # torch multiplies the distance to eta_min by a ratio of cosines: from `first`, that
    # telescopes to eta + (first - eta)(1 + cos(pi t / T)) / 2 down to eta_min at t = T.
    # At t = T + 1 (mod 2 T) the ratio would divide by 0, and torch adds a step of the
    # wave that base_lrs spans instead: from T on, the wave of the base rate, which at
    # T + j is eta + (base - eta)(1 - cos(pi j / T)) / 2, a periodic cosine from eta up.
    return chain([(Cosine(start=first, end=eta, duration=d), d),
                  (Cosine(start=eta, end=base, duration=d, periodic=True), None)])


def count(x: Any, path: str) -> int | Fraction:
    """A count of steps torch's recursion compares with its integer counter: a whole
    number, or the exact value of a fractional float (2.5)."""
    value = real(x, path)
    return steps(x, path) if value == math.floor(value) else Fraction(value)


def held(node: Node, total: Fraction, last: float) -> Node:
    """A recursion that runs ``node`` up to ``total`` steps and then keeps its rate: for
    a fractional ``total`` (2.5) it keeps ``last``, the rate at the step below it (2), not
    the end of the span."""
    if total.denominator == 1:
        return node
    return chain([(node, math.floor(total) + 1), (Constant(value=last), None)])


def linear_lr(s, group, path, base):
    total = count(s.total_iters, f"{path}.total_iters")
    a = real(s.start_factor, f"{path}.start_factor")
    if total < 1:  # step() applies start_factor at step 0, then keeps the rate for good
        return Constant(value=base * a)
    b = real(s.end_factor, f"{path}.end_factor")
    last = base * (a + (b - a) * float(math.floor(total) / Fraction(total)))
    return held(Linear(start=base * a, end=base * b, duration=total), Fraction(total), last)


def constant_lr(s, group, path, base):
    total = count(s.total_iters, f"{path}.total_iters")
    factor = real(s.factor, f"{path}.factor")
    if total < 1 or Fraction(total).denominator != 1:
        # step() applies the factor at step 0 and never meets total_iters again
        return Constant(value=base * factor)
    if factor == 1.0:
        return Constant(value=base)
    return PiecewiseConstant(values=[base * factor, base], boundaries=[total])


def restarted_without_iters(s, group, path) -> Node:
    """ConstantLR/LinearLR with ``total_iters < 1`` that a SequentialLR restarts at its
    milestone: ``_update_lr(0)`` sets torch's closed form at step 0, which for these
    already counts the span as over, and step() keeps that rate from then on. LinearLR's
    closed form divides by ``total_iters``: with 0, torch itself fails there."""
    rate, total = base(s, group, path), count(s.total_iters, f"{path}.total_iters")
    if name(s) == "ConstantLR":
        factor = real(s.factor, f"{path}.factor")
        return Constant(value=rate * (factor + (0 >= total) * (1 - factor)))
    if total == 0:
        raise SpecError(f"{path}.total_iters", "must not be 0 in a LinearLR that a "
                        "SequentialLR restarts at a milestone (torch's closed form, which "
                        "it runs there, divides by it: ZeroDivisionError)", total)
    a, b = real(s.start_factor, f"{path}.start_factor"), real(s.end_factor,
                                                              f"{path}.end_factor")
    return Constant(value=rate * (a + (b - a) * float(min(total, 0) / Fraction(total))))


def polynomial_lr(s, group, path, base):
    power = decaying_power(real(s.power, f"{path}.power"), f"{path}.power", "PolynomialLR")
    total = count(s.total_iters, f"{path}.total_iters")
    if Fraction(total).denominator == 1 or total < 0:
        return Polynomial(start=base, end=0.0, power=power,
                          duration=steps(s.total_iters, f"{path}.total_iters"))
    if total < 1:  # every step after 0 is past total_iters: the rate stays
        return Constant(value=base)
    last = base * float(1 - math.floor(total) / Fraction(total)) ** power
    return held(Polynomial(start=base, end=0.0, power=power, duration=total),
                Fraction(total), last)


def literal_factor(fn: Any) -> float | None:
    """The number a function returns when its whole body is ``return <literal>``."""
    if not isinstance(fn, types.FunctionType) or fn.__code__.co_freevars:
        return None
    ops = [i for i in dis.get_instructions(fn) if i.opname not in ("RESUME", "NOP", "CACHE")]
    if len(ops) == 1 and ops[0].opname == "RETURN_CONST":
        value = ops[0].argval
    elif len(ops) == 2 and ops[0].opname == "LOAD_CONST" and ops[1].opname == "RETURN_VALUE":
        value = ops[0].argval
    else:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def multiplicative_lr(s, group, path, base):
    fn = s.lr_lambdas[group]
    factor = literal_factor(fn)
    if factor is None:
        raise SpecError(f"{path}.lr_lambda", "must return a numeric literal "
                        "(lambda epoch: 0.95): lrcore cannot prove that any other function "
                        "returns the same factor at every step", getattr(
                            fn, "__qualname__", type(fn).__name__))
    # t = 0: the base rate (the initial step leaves it); every step after multiplies
    return geometric(base, factor, 1)
