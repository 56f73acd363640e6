"""torch's composites: SequentialLR (each scheduler on local time, switching at each
milestone) and ChainedScheduler (the product of multiplicative schedulers)."""

from __future__ import annotations

from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...node import Node
from ...nodes.constant import Constant
from ...nodes.scale import Scale
from ...presets.optax import chain
from .common import CHAINABLE, base, is_torch_own, name, named, real, steps, torch_classes
from .common import unsupported as refuse


def sequential_lr(s, group, path, base_rate):
    from .decays import literal_factor
    from .dispatch import curve

    children = list(s._schedulers)
    milestones = [steps(m, f"{path}.milestones[{i}]") for i, m in enumerate(s._milestones)]
    for i, m in enumerate(milestones):
        if m < 0 or (i and m < milestones[i - 1]):
            raise SpecError(f"{path}.milestones[{i}]", "must be >= 0 and non-decreasing", m)
    # SequentialLR.__init__ resets the rate to the group's initial_lr and restarts the
    # first scheduler from it (a OneCycleLR built later has rewritten initial_lr)
    first = real(s.optimizer.param_groups[group]["initial_lr"],
                 f"optimizer.param_groups[{group}].initial_lr")
    parts, prev = [], 0
    for i, child in enumerate(children):
        p = f"{path}.schedulers[{i}]"
        if name(child) == "SequentialLR" or (i and name(child) == "ChainedScheduler"):
            raise refuse(child, p, "torch restarts it at its milestone by calling its "
                         "get_lr, which a composite does not have" if i else
                         "torch runs a nested SequentialLR's counter one step ahead of its "
                         "schedulers")
        if i and name(child) in ("MultiplicativeLR", "SWALR") and is_torch_own(child):
            # restarted by get_lr, both run on from the rate the group holds: the
            # previous scheduler's last one (MultiplicativeLR multiplies it at once)
            m = milestones[i - 1]
            start = first if m == 0 else rate_before(parts, m)
            if m and name(child) == "MultiplicativeLR":
                start *= literal_factor(child.lr_lambdas[group]) or 1.0  # else refused
            node = curve(child, group, p, base=start)
        else:
            node = curve(child, group, p) if i else first_phase(child, group, p, first)
        if i < len(milestones):
            parts.append((node, milestones[i] - prev))
            prev = milestones[i]
        else:
            parts.append((node, None))
    return chain(parts)


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


def restarted_chain(s: Any, group: int, path: str, start: float) -> Node:
    """A ChainedScheduler that SequentialLR restarts: it steps the chain's schedulers
    again at step 0 but outside their initial mode, where ExponentialLR,
    MultiplicativeLR and PolynomialLR apply one step of their recursion."""
    from .decays import literal_factor
    from .dispatch import curve

    node = None
    for i, child in enumerate(s._schedulers):
        p = f"{path}.schedulers[{i}]"
        at = start if i == 0 else 1.0
        if name(child) == "ChainedScheduler":
            factor = restarted_chain(child, group, p, at)
        else:
            kind, extra = name(child), 1.0
            if is_torch_own(child) and kind == "ExponentialLR":
                extra = real(child.gamma, f"{p}.gamma")
            elif is_torch_own(child) and kind == "MultiplicativeLR":
                extra = literal_factor(child.lr_lambdas[group]) or 1.0  # else refused
            elif is_torch_own(child) and kind == "PolynomialLR":
                t = steps(child.total_iters, f"{p}.total_iters")
                extra = (t / (t + 1)) ** real(child.power, f"{p}.power")
            factor = curve(child, group, p, base=at * extra, chained=True)
        node = factor if node is None else Scale(schedule=node, by=factor)
    return node
