"""torch's SequentialLR: each scheduler on local time, switching at each milestone,
as torch steps nested ones."""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.shift import Shift
from ...presets.optax import chain
from .chained import chain_with_swalr, flat, restarted_chain, set_then_multiplied, setter
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
from .composite_momentum import cut, cycled_momentum
from .recursion import RECURSIVE, plain_step, restart_factor


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
            # a chain's schedulers count one call more than a lone one: the _initial_step
            # that reset a lone one's count reset the chain's, not theirs (a SWALR's)
            node = stepped_from(child, group, p, first, 0 if again else -behind,
                                lead + (name(child) == "ChainedScheduler"))
        parts.append(phase(node, i, switch, lead, m))
        moms.append((cycled_momentum(child, group, node, p), parts[-1][1]))
    return parts, moms


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
        return restarted_chain(s, group, path, first, lead)
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
        return set_chain_from(s, group, path, rate, e0)
    if kind == "ChainedScheduler" and any(name(c) == "SWALR" and is_torch_own(c)
                                          for c, _ in flat(s, path)):
        return chain_with_swalr(s, group, path, first=rate, e0=e0, calls=calls)
    if not own or kind not in (*RECURSIVE, "ChainedScheduler"):
        return curve(s, group, path)  # refused there
    values = []
    for e in range(e0, 0):
        rate = plain_step(s, group, path, e, rate)
        values.append((Constant(value=rate), 1))
    return chain([*values, (stepped_phase(s, group, path, rate, 1), None)])


def set_chain_from(s: Any, group: int, path: str, rate: float, e0: int) -> Node:
    """A ChainedScheduler over a closed form that sets the rate outright, first stepped at
    ``last_epoch`` ``e0 < 0``: at each ``e0 <= e < 0`` its schedulers step in turn (torch's
    code, written out): CyclicLR, OneCycleLR and transformers' LambdaLR set their closed
    form at ``e``, a CosineAnnealingWarmRestarts its wave from its own first step (its
    step() starts at epoch 0 from any last_epoch < 0), the others multiply; from
    ``last_epoch`` 0 on, the chain as a SequentialLR restarts it."""
    from .dispatch import curve

    members = flat(s, path)
    j = max(i for i, (c, _) in enumerate(members) if setter(c))
    values = []
    for e in range(e0, 0):
        for c, p in members:
            if not setter(c):
                rate = plain_step(c, group, p, e, rate)
            elif name(c) in ("CyclicLR", "OneCycleLR"):
                curve(c, group, p)  # refuses a custom scale_fn first
                rate = closed_form(c, group, p, e)[0]
            elif name(c) == "LambdaLR":
                curve(c, group, p)  # refuses what is not transformers'
                rate = base(c, group, p) * c.lr_lambdas[group](e)
            else:
                rate = float(evaluate(Schedule(schedule=curve(c, group, p)), [e - e0])[0])
        values.append(before_start(s, path, e, rate))
    warm = name(members[j][0]) == "CosineAnnealingWarmRestarts"
    return chain([*values, (set_then_multiplied(s, group, path, restarted=True,
                                                shift=-e0 if warm else 0), None)])


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
