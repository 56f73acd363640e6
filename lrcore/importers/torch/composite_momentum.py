"""The momentum that cyclers with ``cycle_momentum=True`` set inside torch's
composites."""

from __future__ import annotations

from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...evaluate import evaluate
from ...node import Node
from ...nodes.constant import Constant
from ...presets.optax import chain
from .chained import flat
from .common import is_torch_own, name, real


def cycled_momentum(s: Any, group: int, node: Node | None, path: str = "", e0: int = 0
                    ) -> Node | None:
    """The momentum curve of a OneCycleLR or CyclicLR with ``cycle_momentum=True`` whose
    rate is ``node`` (both in its own steps: its get_lr sets both; first run at
    ``last_epoch`` ``e0``), else ``None``."""
    from .cycles import momentum
    from .dispatch import curve
    from .sequential import closed_form

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
    from .sequential import phases, rate_before

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
