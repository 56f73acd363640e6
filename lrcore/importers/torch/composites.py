"""torch's composites: SequentialLR (each scheduler on local time, switching at each
milestone, as torch steps nested ones) and ChainedScheduler (the product of
multiplicative schedulers, or a closed form times the ratios after it)."""

from __future__ import annotations

import math
from bisect import bisect_right
from fractions import Fraction
from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...fields import MAX_STEP
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.cosine import Cosine
from ...nodes.exponential import Exponential
from ...nodes.inverse_time import InverseTime
from ...nodes.linear import Linear
from ...nodes.piecewise_constant import PiecewiseConstant
from ...nodes.repeat import Repeat
from ...nodes.scale import Scale
from ...nodes.shift import Shift
from ...presets.optax import chain
from .common import (
    CHAINABLE,
    base,
    describe,
    is_torch_own,
    name,
    named,
    real,
    steps,
    torch_classes,
)
from .common import unsupported as refuse


def sequential_lr(s, group, path, base_rate, lead=0):
    return chain(phases(s, group, path, lead)[0])


def phases(s: Any, group: int, path: str, lead: int = 0, found: float | None = None,
           behind: int = 0) -> tuple[list, list]:
    """A SequentialLR's phases ``(node, length)``, and the flat list of the momentum
    phases ``(node or None, length)`` of the cyclers with ``cycle_momentum=True`` in it
    (``None``: a phase that leaves the momentum alone). ``lead``: how many steps its
    counter runs ahead of the outermost SequentialLR's (0 for that one).
    SequentialLR.__init__ steps the scheduler it starts once (``_initial_step``); a
    nested SequentialLR is that scheduler, and the step moves its counter, not its own
    schedulers', so at the outer step 0 it stands at ``lead``. Its milestones fall
    ``lead`` steps early, and at the outer step 0 it runs the scheduler its counter
    selects by a plain ``step()`` (or, when ``lead`` is a milestone, ``_update_lr(0)``),
    which torch's construction stepped before only to undo. ``found``: the rate it
    starts from when a plain ``step()`` at a fractional milestone starts it (else the
    reset ``initial_lr``); ``behind``: how many more undos than steps the SequentialLRs
    above have given its schedulers (0 but there)."""
    from .decays import literal_factor, multistep_lr, restarted_without_iters
    from .dispatch import curve

    children = list(s._schedulers)
    milestones = [milestone(m, f"{path}.milestones[{i}]") for i, m in enumerate(s._milestones)]
    for i, m in enumerate(milestones):
        if m < 0 or (i and m < milestones[i - 1]):
            raise SpecError(f"{path}.milestones[{i}]", "must be >= 0 and non-decreasing", m)
    # step() switches to scheduler i + 1 at the first integer step past milestones[i]:
    # by _update_lr(0) (a restart) when the milestone equals that step, else by a plain
    # step() (a fractional milestone, 2.5: at step 3, from the rate the group holds)
    switch = [math.ceil(m) for m in milestones]
    # SequentialLR.__init__ resets the rate to the group's initial_lr and restarts the
    # scheduler it starts from it (a OneCycleLR built later has rewritten initial_lr)
    first = real(s.optimizer.param_groups[group]["initial_lr"],
                 f"optimizer.param_groups[{group}].initial_lr") if found is None else found
    start = bisect_right(milestones, lead)  # the scheduler that runs at the outer step 0
    parts: list = []
    moms: list = []
    for i in range(start, len(children)):
        child, p = children[i], f"{path}.schedulers[{i}]"
        composite = name(child) in ("SequentialLR", "ChainedScheduler")
        # restarted at a milestone by _update_lr(0): its get_lr at step 0 from the rate
        # the group holds (the previous scheduler's last, or the reset rate at step 0)
        restarted = (i > start and switch[i - 1] == milestones[i - 1]) \
            or (lead > 0 and i > 0 and milestones[i - 1] == lead)
        m = switch[i - 1] - lead if i > start else 0
        if i > 0 and switch[i - 1] != milestones[i - 1] and (i > start or lead):
            # a plain step() at the step past a fractional milestone: every SequentialLR
            # above it has undone its counter once, the construction's steps (at the
            # counter's steps <= lead, each after an undo and a reset) moved it on, so it
            # first runs at last_epoch -min(c, lead) - behind, c = that step
            c = switch[i - 1]
            rate = first if c <= lead else rate_before(parts, m)
            if name(child) == "SequentialLR" and is_torch_own(child):
                # its counter stands at the count of those steps, as a nested one's at
                # construction; its schedulers stand min(c, lead) further behind
                inner, inner_moms = phases(child, group, p, max(1, lead - c + 1), rate,
                                           behind + min(c, lead))
                parts.append(phase(chain(inner), i, switch, lead, m))
                moms.extend(cut(inner_moms, parts[-1][1]))
                continue
            e0 = -min(c, lead) - behind
            node = stepped_from(child, group, p, rate, e0, max(1, lead - c + 1))
            parts.append(phase(node, i, switch, lead, m))
            moms.append((cycled_momentum(child, group, node, p, e0), parts[-1][1]))
            continue
        if restarted and composite:
            raise refuse(child, p, "torch restarts it at its milestone by calling its "
                         "get_lr, which a composite does not have")
        if restarted and name(child) in ("MultiplicativeLR", "SWALR") and is_torch_own(child):
            # both run on from the rate the group holds (MultiplicativeLR multiplies it at
            # once)
            rate = first if m == 0 else rate_before(parts, m)
            if name(child) == "MultiplicativeLR":
                factor = literal_factor(child.lr_lambdas[group])
                rate *= 1.0 if factor is None else factor  # None: refused
            node = curve(child, group, p, base=rate)
        elif restarted and name(child) in ("ConstantLR", "LinearLR") \
                and is_torch_own(child) and real(child.total_iters, f"{p}.total_iters") < 1:
            node = restarted_without_iters(child, group, p)
        elif restarted and name(child) == "MultiStepLR" and is_torch_own(child):
            with named(child, p):  # torch's closed form at its step 0
                node = multistep_lr(child, group, p, base(child, group, p),
                                    restarted=True)
        elif restarted:
            node = curve(child, group, p)
        elif name(child) == "SequentialLR" and is_torch_own(child):  # else refused below
            inner, inner_moms = phases(child, group, p, lead + 1, found, behind)
            parts.append(phase(chain(inner), i, switch, lead, m))
            moms.extend(cut(inner_moms, parts[-1][1]))
            continue
        elif lead == 0:
            node = first_phase(child, group, p, first)
        else:  # restarted at a milestone below lead it stands at 0, else `behind` back
            again = 0 < start and 0 < milestones[start - 1] == switch[start - 1] < lead
            node = stepped_from(child, group, p, first, 0 if again else -behind, lead)
        parts.append(phase(node, i, switch, lead, m))
        moms.append((cycled_momentum(child, group, node, p), parts[-1][1]))
    return parts, moms


def cycled_momentum(s: Any, group: int, node: Node | None, path: str = "", e0: int = 0
                    ) -> Node | None:
    """The momentum curve of a OneCycleLR or CyclicLR with ``cycle_momentum=True`` whose
    rate is ``node`` (both in its own steps: its get_lr sets both; first run at
    ``last_epoch`` ``e0``), else ``None``."""
    from .cycles import momentum
    from .dispatch import curve

    if name(s) == "ChainedScheduler":  # the last cycler in it sets it at every step
        cyclers = [(c, p) for c, p in flat(s, path)
                   if cycled_momentum(c, group, None) is not None]
        if not cyclers:
            return None
        c, p = cyclers[-1]
        return cycled_momentum(c, group, None if node is None else curve(c, group, p), p, e0)
    if name(s) not in ("OneCycleLR", "CyclicLR") or not is_torch_own(s) \
            or not getattr(s, "cycle_momentum", False):
        return None
    if node is None:  # only whether it cycles one
        return Constant(value=0.0)
    if e0 == 0:
        return momentum(s, group, node).get("momentum")
    prefix = [(Constant(value=closed_form(s, group, path, e)[1]), 1) for e in range(e0, 0)]
    return chain([*prefix, (momentum(s, group, curve(s, group, path))["momentum"], None)])


def cut(moms: list, length: int | None) -> list:
    """The momentum phases ``moms`` up to ``length`` steps (``None``: all of them)."""
    out, at = [], 0
    for node, n in moms:
        if length is not None and (n is None or at + n >= length):
            return [*out, (node, length - at)]
        out.append((node, n))
        if n is None:
            return out
        at += n
    return out


def sequential_momentum(s: Any, group: int) -> dict[str, Node]:
    """The ``momentum`` curve of a SequentialLR holding cyclers with
    ``cycle_momentum=True``: each one's cycle while it runs; elsewhere the momentum the
    group holds, which the last cycler set (before the first one runs: the momentum at
    the step 0 of the last one built, which its constructor sets; lrcore takes the list's
    order for the order they were built in and checks the rate held now)."""
    from .checks import members
    from .dispatch import curve

    _, moms = phases(s, group, "scheduler")
    moms = [(node, n) for node, n in moms if n != 0]
    if all(node is None for node, _ in moms):
        return {}
    last = [c for c in members(s) if cycled_momentum(c, group, None) is not None][-1]
    held = float(evaluate(Schedule(schedule=cycled_momentum(
        last, group, curve(last, group, "scheduler"))), [0])[0])
    built: list = []
    at = 0
    for node, n in moms:
        if node is None:
            node = Constant(value=held if at == 0 else rate_before(built, at))
        built.append((node, n))
        at += n if n is not None else 0
    tree = chain(built)
    check_momentum(s, group, tree)
    return {"momentum": tree}


def check_momentum(s: Any, group: int, tree: Node) -> None:
    """The momentum curve must give, at the scheduler's current step, the momentum (or
    ``betas[0]``) the group holds, up to :func:`rounding_tolerance`."""
    from .checks import position, rounding_tolerance

    pg = s.optimizer.param_groups[group]
    key = "momentum" if "momentum" in pg else "betas"
    held = real(pg["momentum"] if key == "momentum" else pg["betas"][0],
                f"optimizer.param_groups[{group}].{key}")
    k = position(s)
    expected = float(evaluate(Schedule(schedule=tree), [k])[0])
    if abs(held - expected) <= rounding_tolerance(s, group, k, [abs(held), abs(expected)],
                                                  None):
        return
    where = "momentum" if key == "momentum" else "betas[0]"
    raise SpecError(f"optimizer.param_groups[{group}].{where}", f"is not the momentum the "
                    f"cyclers of the SequentialLR give at step {k} ({expected!r}): it was "
                    "set by hand or by a cycler built out of the list's order; set it to "
                    "that value, or build the cyclers in the order of the list", held)


def milestone(m: Any, path: str) -> int | float:
    """A SequentialLR milestone: a whole number of steps, or a real one that step()
    compares with its integer counter."""
    value = real(m, path)
    return steps(m, path) if value == math.floor(value) else value


def phase(node: Node, i: int, switch: list[int], lead: int, start: int) -> tuple:
    """Scheduler ``i``'s phase: from ``start`` (outer steps) to its switch step."""
    if i < len(switch):
        return (node, max(switch[i] - lead, 0) - start)
    return (node, None)


def rate_before(parts: list, milestone: int) -> float:
    """The rate the phases ``parts`` set at step ``milestone - 1``."""
    prefix = Schedule(schedule=chain([*parts, (Constant(value=0.0), None)]))
    return float(evaluate(prefix, [milestone - 1])[0])


def first_phase(s: Any, group: int, path: str, first: float) -> Node:
    """The first scheduler of a SequentialLR, whose run starts from the rate ``first``."""
    from .decays import cosine_annealing_lr
    from .dispatch import curve

    kind = name(s)
    if kind == "ChainedScheduler":  # its schedulers run on from the reset rate
        return restarted_chain(s, group, path, first)
    if isinstance(s, torch_classes()[1]) or not is_torch_own(s) \
            or base(s, group, path) == first:
        return curve(s, group, path)
    if kind in CHAINABLE or kind == "SWALR":  # recursive: from the rate it finds
        return curve(s, group, path, base=first)
    if kind == "CosineAnnealingLR":  # recursive from `first`, then base_lrs' wave
        with named(s, path):
            return cosine_annealing_lr(s, group, path, base(s, group, path), first)
    # LambdaLR, CyclicLR, CosineAnnealingWarmRestarts: closed forms in base_lrs;
    # OneCycleLR: the group's initial_lr/max_lr/min_lr, read as they are now
    return curve(s, group, path)


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


def stepped_phase(s: Any, group: int, path: str, first: float, lead: int) -> Node:
    """The scheduler a nested SequentialLR runs at the outer step 0: stepped by a plain
    ``step()`` from the rate ``first``, outside its initial mode, as the first step after
    a ``last_epoch`` of -1. The recursive forms apply one step of their recursion there;
    a SWALR, which anneals by its count of calls, has been called ``lead`` times more
    than its ``last_epoch`` says."""
    from .cycles import swalr_parameters, swalr_share
    from .decays import cosine_annealing_lr, count
    from .dispatch import curve

    kind = name(s)
    if kind == "ChainedScheduler":
        return restarted_chain(s, group, path, first)
    if isinstance(s, torch_classes()[1]) or not is_torch_own(s):
        return curve(s, group, path)
    if kind in CHAINABLE:
        return curve(s, group, path, base=first * restart_factor(s, group, path))
    if kind == "SWALR":
        # called `lead` times: its last call read the reset rate `first` as the anneal at
        # call lead - 1 and inverted it (torch's _get_initial_lr) into the rate it runs from
        swa, _, _ = swalr_parameters(s, group, path)
        start = type(s)._get_initial_lr(first, swa, swalr_share(s, lead - 1))
        return Shift(schedule=curve(s, group, path, base=start), offset=lead)
    if kind == "CosineAnnealingLR":
        with named(s, path):
            eta, t = real(s.eta_min, f"{path}.eta_min"), count(s.T_max, f"{path}.T_max")
            rate = base(s, group, path)
            if (-1 - t) % (2 * t) == 0:  # t == 1: torch adds a step of the base rate's wave
                r0 = first + (rate - eta) * (1 - math.cos(math.pi / t)) / 2
            else:  # its ratio of cosines from step -1 to 0, applied to `first`
                r0 = (1 + math.cos(math.pi * 0 / t)) / (1 + math.cos(math.pi * -1 / t)) \
                    * (first - eta) + eta
            return cosine_annealing_lr(s, group, path, rate, r0)
    # LambdaLR, CyclicLR, OneCycleLR, CosineAnnealingWarmRestarts: closed forms
    return curve(s, group, path)


def stepped_from(s: Any, group: int, path: str, rate: float, e0: int, calls: int) -> Node:
    """A scheduler that a plain ``step()`` first runs at ``last_epoch`` ``e0 <= 0`` from
    ``rate``: the recursive forms apply torch's step at each ``e0 <= e < 0`` (written
    out below), then :func:`stepped_phase`; a SWALR anneals by its ``calls``."""
    from .dispatch import curve

    kind = name(s)
    own = is_torch_own(s)
    # SWALR anneals by its calls; CosineAnnealingWarmRestarts's step() starts at epoch 0
    # from any last_epoch < 0
    if e0 == 0 or (own and kind in ("SWALR", "CosineAnnealingWarmRestarts")):
        return stepped_phase(s, group, path, rate, calls)
    if own and kind in ("CyclicLR", "OneCycleLR"):  # closed forms, defined there too
        node = curve(s, group, path)  # refuses a custom scale_fn first
        prefix = [before_start(s, path, e, closed_form(s, group, path, e)[0])
                  for e in range(e0, 0)]
        return chain([*prefix, (node, None)])
    if own and kind == "LambdaLR":  # transformers' (else refused): base x its lambda
        node = curve(s, group, path)
        fn, rate = s.lr_lambdas[group], base(s, group, path)
        return chain([*(before_start(s, path, e, rate * fn(e)) for e in range(e0, 0)),
                      (node, None)])
    if isinstance(s, torch_classes()[1]):
        raise refuse(s, path, f"torch steps it at last_epoch {e0} there, where it raises "
                     "(its steps start at 0); give the nested SequentialLR whole milestones")
    if kind == "ChainedScheduler" and any(setter(c) for c, _ in flat(s, path)):
        raise refuse(s, path, f"a nested SequentialLR first steps it at last_epoch {e0}, "
                     "before the start of the scheduler in it that sets the rate outright, "
                     "and lrcore reads such a chain from its step 0 only; give the nested "
                     "SequentialLR whole milestones")
    if not own or kind not in (*RECURSIVE, "ChainedScheduler"):
        return curve(s, group, path)  # refused there
    values = []
    for e in range(e0, 0):
        rate = plain_step(s, group, path, e, rate)
        values.append((Constant(value=rate), 1))
    return chain([*values, (stepped_phase(s, group, path, rate, 1), None)])


def before_start(s: Any, path: str, e: int, value: float) -> tuple[Node, int]:
    """The one-step phase of the rate a closed form gives at ``last_epoch`` ``e < 0``
    (a warmup line extended below its start may be negative there)."""
    if value < 0:
        raise SpecError(path, f"sets a negative rate ({value!r}) at last_epoch {e}, where "
                        "a nested SequentialLR first steps it, and a spec's rates are >= 0; "
                        "give the nested SequentialLR whole milestones", describe(s))
    return (Constant(value=value), 1)


def closed_form(s: Any, group: int, path: str, e: int) -> tuple[float, float | None]:
    """The rate and momentum torch's CyclicLR or OneCycleLR get_lr gives at ``last_epoch``
    ``e < 0`` (torch's code, written out; its own anneal and scale functions)."""
    from .cycles import one_cycle_anneal

    momentum = None
    if name(s) == "CyclicLR":
        cycle = math.floor(1 + e / s.total_size)
        x = 1.0 + e / s.total_size - cycle
        factor = x / s.step_ratio if x <= s.step_ratio else (x - 1) / (s.step_ratio - 1)
        scale = s.scale_fn(cycle if s.scale_mode == "cycle" else e)
        low, high = base(s, group, path), real(s.max_lrs[group], f"{path}.max_lr")
        if getattr(s, "cycle_momentum", False):
            momentum = s.max_momentums[group] - (s.max_momentums[group]
                                                 - s.base_momentums[group]) * factor * scale
        return low + (high - low) * factor * scale, momentum
    pg = s.optimizer.param_groups[group]
    anneal = {"cos": type(s)._annealing_cos,
              "linear": type(s)._annealing_linear}[one_cycle_anneal(s, path)]
    p = s._schedule_phases[0]  # e < 0 <= its end: the first phase
    pct = e / p["end_step"]
    if getattr(s, "cycle_momentum", False):
        momentum = anneal(pg[p["start_momentum"]], pg[p["end_momentum"]], pct)
    return anneal(pg[p["start_lr"]], pg[p["end_lr"]], pct), momentum


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


def restarted_chain(s: Any, group: int, path: str, start: float) -> Node:
    """A ChainedScheduler that SequentialLR restarts: it steps the chain's schedulers
    again at step 0 but outside their initial mode, where ExponentialLR,
    MultiplicativeLR and PolynomialLR apply one step of their recursion."""
    from .dispatch import curve

    if any(setter(c) for c, _ in flat(s, path)):
        return set_then_multiplied(s, group, path, restarted=True)
    if any(name(c) == "CosineAnnealingLR" and is_torch_own(c) for c, _ in flat(s, path)):
        return chain_with_cosine(s, group, path, first=start)
    for c, p in flat(s, path):
        if name(c) == "SWALR" and is_torch_own(c):
            raise refuse(c, p, "in a ChainedScheduler that a SequentialLR restarts, it "
                         "anneals by its count of calls, which the restart does not rewind "
                         "(not mapped yet); read the ChainedScheduler on its own")
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


def set_then_multiplied(s: Any, group: int, path: str, restarted: bool = False) -> Node:
    """A ChainedScheduler holding a closed form that sets the rate outright (CyclicLR,
    OneCycleLR, CosineAnnealingWarmRestarts, LambdaLR): at every step the last of them
    sets its closed form c(k), the schedulers before it are overwritten, and each one
    after it multiplies that by its own ratio of the step, f(k). At step 0 its
    constructor set c(0) and those after it applied their initial factor (built in the
    list's order); ``restarted``: a SequentialLR restarted the chain there, by a plain
    step at last_epoch 0, where ExponentialLR, MultiplicativeLR and PolynomialLR apply a
    step of their recursion too."""
    from .dispatch import curve

    members = flat(s, path)
    j = max(i for i, (c, _) in enumerate(members) if setter(c))
    closed = node = curve(members[j][0], group, members[j][1])
    start = float(evaluate(Schedule(schedule=closed), [0])[0])
    for child, p in members[j + 1:]:
        initial, factor = step_ratio(child, group, p)
        start *= initial * (restart_factor(child, group, p) if restarted else 1.0)
        if factor is not None:
            node = Scale(schedule=node, by=factor)
    if node is closed and start == float(evaluate(Schedule(schedule=closed), [0])[0]):
        return closed
    return chain([(Constant(value=start), 1), (Shift(schedule=node, offset=1), None)])


def step_ratio(s: Any, group: int, path: str) -> tuple[float, Node | None]:
    """What scheduler ``s`` multiplies the rate by at its construction (step 0) and, as
    a curve of the step k >= 1 (``None``: 1 throughout), at each plain step() (torch's
    get_lr, written out)."""
    from .decays import literal_factor, multiplicative_lr, step_lr
    from .dispatch import curve

    kind = name(s)
    if not is_torch_own(s):
        curve(s, group, path)  # refuses it
    if kind == "LinearLR":
        return linear_ratio(s, group, path)
    if kind == "PolynomialLR":
        curve(s, group, path, base=1.0, chained=True)  # refuses bad parameters first
        raise refuse(s, path, "after a scheduler that sets the rate outright in a "
                     "ChainedScheduler its ratio of step k, ((T - k) / (T - k + 1))**power, "
                     "divides by a line falling to 0, a curve lrcore has no node for")
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


def chained_momentum(s: Any, group: int) -> dict[str, Node]:
    """The ``momentum`` curve of a ChainedScheduler: the cycle of the last OneCycleLR or
    CyclicLR with ``cycle_momentum=True`` in it, which sets it at every step."""
    from .dispatch import curve

    cyclers = [(c, p) for c, p in flat(s, "scheduler")
               if cycled_momentum(c, group, None) is not None]
    if not cyclers:
        return {}
    c, p = cyclers[-1]
    return {"momentum": cycled_momentum(c, group, curve(c, group, p))}


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
    the ratios telescope for ever: the cosine times the others' multiplier curves.
    ``first``: a SequentialLR restarted the chain from that rate by a plain step at
    last_epoch 0, where each of them applies a step of its recursion too."""
    from .decays import count
    from .dispatch import curve

    members = flat(s, path)
    cosines = [(c, p) for c, p in members if name(c) == "CosineAnnealingLR"]
    others = [(c, p) for c, p in members if name(c) != "CosineAnnealingLR"]
    initial = base(members[0][0], group, members[0][1]) if first is None else first
    start = initial  # the first one's start, the cosines' step at 0 aside
    for c, p in members:  # refuses what is not a multiplying scheduler of torch's own
        if name(c) != "CosineAnnealingLR" or not is_torch_own(c):
            again = 1.0 if first is None else restart_factor(c, group, p)
            start *= again
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
    if cos is not None and None in ends and params[0][0] == 0:
        head = telescoped(members, group, start) if not math.isnan(start) else \
            chain([(Constant(value=initial), 1), (Constant(value=0.0), None)])  # T_max 1
        node = restarted_products(members, others, ends, group, cos, cp, params[0][1], head)
        if node is not None:
            return node
    if cos is None or None in ends:
        what = "two CosineAnnealingLRs, each multiplying" if cos is None else \
            "a ratio that never ends ({}), which the cosine's recursion multiplies".format(
                ", ".join(name(c) for (c, _), e in zip(others, ends) if e is None))
        raise refuse(cosines[0][0], cosines[0][1], f"in a ChainedScheduler with {what} "
                     "into the distance to eta_min, each step adds eta_min (ratio - 1) / "
                     "(1 + cos(pi (k - 1) / T_max)), and at each torch restart (T_max + 1 "
                     "mod 2 T_max) the product of the ratios begins anew: a sum of secants "
                     "and, unless each ratio is one number at every step and the others end "
                     "by T_max, a product restarted out of step with them, which no curve "
                     "of lrcore's is (eta_min 0 with a fractional T_max, or with such "
                     "ratios, or ratios that end, are read)")
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


def negative(s: Any, rate: float, k: Any) -> SpecError:
    return SpecError("scheduler", f"sets a negative rate ({rate!r}) at step {k}, and a "
                     "spec's rates are >= 0; give its schedulers ratios that keep the rate "
                     ">= 0", describe(s))


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


def chain_with_swalr(s: Any, group: int, path: str) -> Node:
    """A ChainedScheduler holding a SWALR among multiplying schedulers. While it anneals,
    each call inverts its last share of swa_lr on the rate the others have multiplied,
    an affine recursion with no closed form: torch's steps are written out, rate by rate,
    up to the call whose share is 1. From there it sets swa_lr outright, and the
    schedulers after it multiply that by their ratio of each step."""
    from .cycles import swalr_parameters, swalr_share
    from .dispatch import curve

    members = flat(s, path)
    j = max(i for i, (c, _) in enumerate(members) if name(c) == "SWALR")
    swalr, sp = members[j]
    swa, _, _ = swalr_parameters(swalr, group, sp)
    node: Node = Constant(value=swa)  # the rate it sets once annealed
    for c, p in members[j + 1:]:
        _, factor = step_ratio(c, group, p)  # refuses what has no ratio curve
        if factor is not None:
            node = Scale(schedule=node, by=factor)
    r = base(members[0][0], group, members[0][1])
    for i, (c, p) in enumerate(members):  # the construction, in the list's order
        if name(c) == "SWALR" and is_torch_own(c):
            r = swalr_step(c, group, p, 0, r)
        elif name(c) == "CosineAnnealingLR" and is_torch_own(c) and i < j:
            continue  # it keeps the rate at its construction; overwritten once annealed
        else:
            r *= float(evaluate(Schedule(schedule=curve(c, group, p, base=1.0,
                                                        chained=True)), [0])[0])
    rates, k = [r], 1
    step = (lambda c, p, k, r: swalr_step(c, group, p, k, r) if name(c) == "SWALR"
            else plain_step(c, group, p, k, r))
    while swalr_share(swalr, k if swalr.anneal_epochs else max(1, k)) != 1:
        for c, p in members:
            r = step(c, p, k, r)
        if r < 0:
            raise negative(s, r, k)
        rates.append(r)
        k += 1
    return chain([*((Constant(value=v), 1) for v in rates), (Shift(schedule=node, offset=k),
                                                              None)])


def linear_ratio(s: Any, group: int, path: str) -> tuple[float, Node | None]:
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
    if b < a:
        raise refuse(s, path, "after a scheduler that sets the rate outright in a "
                     "ChainedScheduler its ratio of step k, L(k) / L(k - 1), divides by a "
                     "falling line L(k) = a + (b - a) k / T, a curve lrcore has no node for "
                     "(a rising one, end_factor > start_factor, is read)")
    with named(s, path):
        ratio = Scale(schedule=Shift(schedule=Linear(start=a, end=b, duration=total),
                                     offset=1),
                      by=InverseTime(start=1.0 / a, rate=(b - a) / a, every=total))
    return a, chain([(Constant(value=1.0), 1), (ratio, math.floor(total)),
                     (Constant(value=1.0), None)])


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
