"""Hypothesis strategies: random valid spec trees of every family and combinator.

Valid by construction (no ``assume``): each strategy draws parameters inside the rules
its node enforces (end <= start for restarts, a bound on the right side of start, sorted
boundaries, phases long enough for onecycle, growth that stays inside float32, ...), and
builds the node with the public builders. Durations are drawn both small (curves with
many breaks inside a short grid) and up to 2**31 - 1, and real (hundredths of a step,
counts past the domain) where a field takes them. The parity suite can reuse these
(``families()``, ``spec_trees()``) to feed every backend the same trees.
"""

from __future__ import annotations

from hypothesis import strategies as st

import lrcore

MAX_STEP = 2**31 - 1

#: Rates: zero, ordinary magnitudes, and tiny / large ones.
rates = st.one_of(st.just(0.0), st.floats(1e-8, 10.0, allow_nan=False, allow_infinity=False))
#: Rates strictly above zero (for starts of growth, peaks).
positive_rates = st.floats(1e-8, 10.0, allow_nan=False, allow_infinity=False)
#: Step counts (durations, periods): mostly short, sometimes up to the end of the domain.
lengths = st.one_of(st.integers(1, 200), st.integers(1, MAX_STEP))
#: Real numbers of steps (hundredths up to 5000, and counts past the step domain), for
#: the fields that take them: linear and cosine durations, restart periods, milestones.
real_lengths = st.one_of(st.integers(1, 500_000).map(lambda n: n / 100),
                         st.integers(MAX_STEP + 1, 2**40))
#: Step offsets >= 0 (warmup, begin).
offsets = st.one_of(st.integers(0, 200), st.integers(0, MAX_STEP))
#: Multipliers in (0, 1].
shrink = st.floats(1e-3, 1.0, allow_nan=False)


def _sorted_steps(min_size, max_size, low=1):
    return st.lists(st.one_of(st.integers(low, 500), st.integers(low, MAX_STEP)),
                    min_size=min_size, max_size=max_size, unique=True).map(sorted)


def _sorted_reals(min_size, max_size):
    """Sorted distinct milestones in hundredths of a step (between steps)."""
    return st.lists(st.integers(1, 100_000), min_size=min_size, max_size=max_size,
                    unique=True).map(lambda xs: [x / 100 for x in sorted(xs)])


@st.composite
def constant(draw):
    return lrcore.constant(value=draw(rates))


@st.composite
def linear(draw):
    return lrcore.linear(start=draw(rates), end=draw(rates),
                         duration=draw(st.one_of(lengths, real_lengths)))


@st.composite
def cosine(draw):
    exponent = draw(st.one_of(st.just(1.0), st.floats(0.1, 3.0)))
    periodic = draw(st.booleans())
    # a real D: exponent 1; periodic with a simple ratio (its wave is integer arithmetic)
    real = real_lengths if not periodic else st.integers(1, 20_000).map(lambda n: n / 10)
    return lrcore.cosine(start=draw(rates), end=draw(rates), exponent=exponent,
                         periodic=periodic, duration=draw(
                             st.one_of(lengths, real) if exponent == 1.0 else lengths))


@st.composite
def exponential(draw):
    start = draw(positive_rates)
    if draw(st.booleans()):  # decay, maybe with a floor
        rate = draw(st.floats(1e-3, 1.0, exclude_max=True))
        bound = draw(st.one_of(st.none(), st.floats(0.0, start)))
    else:  # growth: needs a ceiling to stay finite
        rate = draw(st.floats(1.0, 100.0, exclude_min=True))
        bound = draw(st.floats(start, 1e3))
    return lrcore.exponential(start=start, rate=rate, every=draw(lengths),
                              staircase=draw(st.booleans()), begin=draw(offsets), bound=bound)


@st.composite
def inverse_time(draw):
    return lrcore.inverse_time(start=draw(rates), rate=draw(st.floats(1e-3, 100.0)),
                               every=draw(lengths), staircase=draw(st.booleans()))


@st.composite
def step(draw):
    return lrcore.step(start=draw(rates), factor=draw(shrink), every=draw(lengths))


@st.composite
def multistep(draw):
    return lrcore.multistep(start=draw(rates), factor=draw(st.floats(1e-3, 2.0)),
                            milestones=draw(st.one_of(_sorted_steps(1, 8),
                                                      _sorted_reals(1, 8))))


@st.composite
def piecewise_constant(draw):
    bounds = draw(_sorted_steps(0, 8))
    vals = draw(st.lists(rates, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return lrcore.piecewise_constant(values=vals, boundaries=bounds)


@st.composite
def piecewise_linear(draw):
    steps = draw(_sorted_steps(2, 8, low=0))
    return lrcore.piecewise_linear(points=[[s, draw(rates)] for s in steps])


@st.composite
def polynomial(draw):
    return lrcore.polynomial(start=draw(rates), end=draw(rates), power=draw(st.floats(0.1, 5)),
                             cycle=draw(st.booleans()), duration=draw(lengths))


@st.composite
def cosine_restarts(draw):
    start = draw(rates)
    mult = draw(st.one_of(st.just(1.0), st.floats(1.05, 4.0)))
    return lrcore.cosine_restarts(start=start, end=draw(st.floats(0.0, start)),
                                  period=draw(st.one_of(lengths, real_lengths if mult > 1
                                                        else st.integers(1, 20_000).map(
                                                            lambda n: n / 10))),
                                  period_mult=mult,
                                  peak_mult=draw(shrink))


@st.composite
def cyclic(draw):
    low = draw(rates)
    high = draw(st.floats(max(low, 1e-8), low + 10.0))  # not a whole curve below 1e-28
    return lrcore.cyclic(low=low, high=high, up=draw(lengths),
                         down=draw(st.one_of(st.none(), lengths)),
                         mode=draw(st.sampled_from(["triangular", "triangular2",
                                                    "exp_range"])),
                         gamma=draw(shrink))


@st.composite
def onecycle(draw):
    # every phase spans more than one step: pct * D > 2 and (1 - 2 pct) D > 2
    d = draw(st.one_of(st.integers(20, 500), st.integers(20, MAX_STEP)))
    return lrcore.onecycle(peak=draw(rates), duration=d, pct_start=draw(st.floats(0.1, 0.45)),
                           div_factor=draw(st.floats(1.0, 1e3)),
                           final_div_factor=draw(st.floats(1.0, 1e5)),
                           anneal=draw(st.sampled_from(["cos", "linear"])),
                           three_phase=draw(st.booleans()))


@st.composite
def inverse_sqrt(draw):
    return lrcore.inverse_sqrt(peak=draw(rates), warmup=draw(offsets),
                               timescale=draw(st.one_of(st.none(), lengths)))


@st.composite
def warmup_stable_decay(draw):
    w, s = draw(st.integers(0, 300)), draw(st.integers(0, 300))
    return lrcore.warmup_stable_decay(
        peak=draw(rates), warmup=w, stable=s, decay=draw(st.integers(1, MAX_STEP - w - s)),
        decay_shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
        start=draw(rates), end=draw(rates))


#: Every family of the spec format, by type name.
FAMILIES = {
    "constant": constant, "linear": linear, "cosine": cosine, "exponential": exponential,
    "inverse_time": inverse_time, "step": step, "multistep": multistep,
    "piecewise_constant": piecewise_constant, "piecewise_linear": piecewise_linear,
    "polynomial": polynomial, "cosine_restarts": cosine_restarts, "cyclic": cyclic,
    "onecycle": onecycle, "inverse_sqrt": inverse_sqrt,
    "warmup_stable_decay": warmup_stable_decay,
}
#: The combinators spec_trees() composes.
COMBINATORS = ("sequence", "clip", "scale", "shift", "every", "repeat")


def families():
    """One node of any family."""
    return st.one_of(*(f() for f in FAMILIES.values()))


def _phase(child, d):
    """``child`` as a phase of length ``d``, its own curve untouched (a bounded family's
    duration is its formula's D, so the length goes on a neutral wrapper)."""
    return lrcore.scale(schedule=child, by=1.0, duration=d)


def _combine(children):
    def sequence(draw):
        # every phase has a length, the last one too: a last phase without one takes the
        # rest of the enclosing span, which a random span may have used up already
        phases = draw(st.lists(st.builds(_phase, children, lengths), min_size=1, max_size=4))
        return lrcore.sequence(phases=phases)

    def clip(draw):
        # a bound is 0 or at least 1e-8, as rates are: a curve held below 1e-28 (a clip
        # at 1e-111) is refused when resolved, since float32 cannot draw it
        lo = draw(st.one_of(st.none(), rates))
        hi = draw(st.one_of(st.none(), st.floats(max(lo or 0.0, 1e-8), 20.0))) \
            if lo is not None else draw(rates)
        return lrcore.clip(schedule=draw(children), min=lo, max=hi)

    def scale(draw):
        by = draw(st.one_of(st.just(0.0), st.floats(1e-3, 10.0), children))
        return lrcore.scale(schedule=draw(children), by=by)

    def shift(draw):
        offset = draw(st.one_of(st.integers(-500, 500), st.integers(-MAX_STEP, MAX_STEP)))
        return lrcore.shift(schedule=draw(children), offset=offset)

    def every(draw):
        return lrcore.every(schedule=draw(children), every=draw(lengths))

    def repeat(draw):
        return lrcore.repeat(schedule=draw(children), period=draw(lengths),
                             decay=draw(shrink))

    builders = {"sequence": sequence, "clip": clip, "scale": scale, "shift": shift,
                "every": every, "repeat": repeat}
    return st.one_of(*(st.composite(builders[name])() for name in COMBINATORS))


def _drawable(node) -> bool:
    """False for a tree whose curve stays below 1e-28 without being 0 (a product of
    several tiny rates): lrcore refuses it when resolving, as float32 cannot draw it."""
    try:
        lrcore.Schedule(schedule=node).resolve(total_steps=10**6)
    except lrcore.SpecError as err:
        return "stays below 1e-28" not in err.rule
    return True


def spec_trees(max_leaves=6):
    """A tree of combinators over families (every bounded family has its duration)."""
    return st.recursive(families(), _combine, max_leaves=max_leaves).filter(_drawable)
