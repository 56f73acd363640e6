"""Read a live torch learning-rate scheduler back into an lrcore spec:
``lrcore.from_torch(scheduler)``. The mappings live in :mod:`.decays`, :mod:`.cycles`,
:mod:`.sequential`, :mod:`.chained` and :mod:`.chained_cosine` (with :mod:`.recursion`,
torch's steps written out, and :mod:`.composite_momentum`) and :mod:`.lambdas`;
:mod:`.checks` checks that the scheduler runs the curve read from it. The importers
page of the docs (docs/importers.md) lists the mappings and explains the choices."""

from __future__ import annotations

from typing import Any

from ...document import Schedule
from ...errors import SpecError
from ...nodes.constant import Constant
from ...nodes.shift import Shift
from .checks import check_curve, check_rate_held, position
from .common import SUPPORTED, describe, is_torch_own, name, torch_classes
from .cycles import momentum, swalr_done
from .dispatch import curve
from .lambdas import own_spec, plateau_now

__all__ = ["SUPPORTED", "from_torch"]


def from_torch(scheduler: Any, *, group: int = 0, origin: str = "start") -> Schedule:
    """The spec of a torch scheduler's learning-rate curve for param group ``group``.

    ``origin="start"`` (default): the curve from the scheduler's step 0, so
    ``evaluate(spec, k)`` is the rate after ``k`` calls of ``scheduler.step()``.
    ``origin="now"``: the curve from where the scheduler stands (``last_epoch``; for a
    SWALR, which anneals by it, its count of ``step()`` calls).

    >>> import torch, lrcore  # doctest: +SKIP
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1)  # doctest: +SKIP
    >>> spec = lrcore.from_torch(torch.optim.lr_scheduler.StepLR(opt, 30))  # doctest: +SKIP
    >>> lrcore.to_optax(spec)  # the same curve in optax  # doctest: +SKIP
    """
    classes, LrcoreScheduler = torch_classes()
    if not isinstance(scheduler, classes["LRScheduler"]):
        raise SpecError("scheduler", "must be a torch learning-rate scheduler "
                        "(torch.optim.lr_scheduler.*)", type(scheduler).__name__)
    if origin not in ("start", "now"):
        raise SpecError("origin", "must be 'start' or 'now'", origin)
    n = len(scheduler.optimizer.param_groups)
    if isinstance(group, bool) or not isinstance(group, int) or not 0 <= group < n:
        raise SpecError("group", f"must be a param group index in [0, {n - 1}]", group)
    own = isinstance(scheduler, LrcoreScheduler)  # incl. its plateau subclass
    if own and group >= len(scheduler.lr_lambdas):
        raise SpecError(f"optimizer.param_groups[{group}]", "joined after the scheduler's "
                        "last step(), which has not set its rate yet; read it after the "
                        "next step()", group)
    check_rate_held(scheduler, group)
    if own:
        spec, per = own_spec(scheduler, group, nested=False)
        node, extra = spec.schedule, {k: getattr(spec, k) for k in
                                      ("steps_per_epoch", "total_steps", "name")}
        hyper = dict(spec.hyperparams)
        description = spec.description
    elif origin == "now" and name(scheduler) == "SWALR" and is_torch_own(scheduler) \
            and swalr_done(scheduler, group) is not None:
        # annealed: it holds swa_lr from here on, whichever rate it annealed from
        node, per, extra, hyper = Constant(value=swalr_done(scheduler, group)), 1, {}, {}
        description = (f"torch {describe(scheduler)}, param group {group}, annealed, "
                       f"from step {position(scheduler)}")
        origin = "held"
    else:
        node, per, extra = curve(scheduler, group, "scheduler"), 1, {}
        hyper = momentum(scheduler, group, node)
        description = f"torch {describe(scheduler)}, param group {group}"
    # a plateau scheduler's rate is its spec's (the curve before any cut) times the scale
    # its reports have left
    state = scheduler.plateau if own else None
    check_curve(scheduler, group, Schedule(schedule=node, **extra), per,
                1.0 if state is None else float(state["scale"]))
    if origin == "now":
        k = position(scheduler) * per
        if state is not None:
            node = plateau_now(node, k, state)
        elif k > 0:
            node = Shift(schedule=node, offset=k)
        if k > 0:
            hyper = {name: Shift(schedule=tree, offset=k) for name, tree in hyper.items()}
        description = f"{description or 'lrcore spec'}, from step {k}"
    return Schedule(schedule=node, description=description, hyperparams=hyper, **extra)
