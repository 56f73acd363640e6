"""torch adapter: a ``LambdaLR`` whose every param group follows the spec exactly.

The multiplier is a picklable callable object (no lambdas) evaluated with
:class:`lrcore.ops.PythonOps` (float64 scalars, torch keeps learning rates as Python
floats). The scheduler's only state is torch's own step counter (``last_epoch``), plus
the plateau state for a reduce-on-plateau spec. With ``follow="optimizer"`` that counter
counts the updates the optimizer applied (a step hook), not ``scheduler.step()`` calls.
The spec's domain is integer steps in ``[0, 2**31 - 1]``: a step outside it is a
``SpecError``, raised before anything changes.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import re
import warnings
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.optim.lr_scheduler import LambdaLR

from lrcore._args import plain_number
from lrcore.backends import segments
from lrcore.document import Schedule, as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec
from lrcore.fields import MAX_STEP
from lrcore.hyperparams import assign
from lrcore.node import FLOAT32_MAX
from lrcore.nodes.plateau import PlateauState, check_metric, initial_state, report
from lrcore.ops import PythonOps

#: Read by lrcore.backends without importing this module (a literal).
LRCORE_BACKEND = {
    "backends": {"torch": {"dtype": "float64", "needs": ["torch"]}},
    "values": "parity_values",
    "exports": ["to_torch"],
    "order": 10,
}

__all__ = ["LrcoreFollowPlateauScheduler", "LrcoreFollowScheduler", "LrcoreLambda",
           "LrcorePlateauScheduler", "LrcoreScheduler", "to_torch"]

PYTHON = PythonOps()


def _count(value: Any) -> int:
    """``last_epoch`` as the int it holds (a numpy integer too): a float, a bool or a
    string would make torch ask for the rate at a step that does not exist."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise SpecError("last_epoch", "must be an integer (the number of scheduler.step() "
                        "calls)", value)
    return int(value)


def _check_step(k: int, per: int) -> None:
    """After ``k`` calls of ``scheduler.step()`` the step is ``k * per``: it must lie in
    the spec's domain ``[0, 2**31 - 1]`` (torch can raise, so nothing saturates)."""
    t = k * per
    if not 0 <= t <= MAX_STEP:
        hint = "" if per == 1 else f" (epoch {k} of {per} steps)"
        raise SpecError("step", f"must be in [0, 2**31 - 1]{hint}", t)


def _compile(document: Schedule) -> tuple[Callable[[int], float], float]:
    """A document's formula (Python floats, from lrcore's one formula cache) and the
    bound of its rate on the whole domain. ``document`` carries its context."""
    return compile_spec(document, PYTHON), _ceiling(document)


@functools.lru_cache(maxsize=256)
def _ceiling(document: Schedule) -> float:
    return document.resolve().schedule.rate_ceiling()


def _scale(value: Any, i: int, ceiling: float, path: str | None = None) -> float:
    """``group_scale[i]`` as a float: a number >= 0 that keeps the spec's highest rate
    (``ceiling``) within float32's range, as every rate of a spec must stay."""
    path = path or f"group_scale[{i}]"
    x = plain_number(value)
    if x is None:
        raise SpecError(path, "must be a finite number >= 0", value)

    def past() -> SpecError:
        return SpecError(path, f"times the spec's highest rate ({ceiling:.6g}) must stay "
                         f"within float32's range ({FLOAT32_MAX:.4g})", value)

    try:
        s = float(x)
    except OverflowError:  # an int past float64, such as 10**400
        if x > 0 and ceiling > 0:
            raise past() from None
        raise SpecError(path, "must be a finite number >= 0 within float64's range",
                        value) from None
    if not (math.isfinite(s) and s >= 0):
        raise SpecError(path, "must be a finite number >= 0", value)
    if s * ceiling > FLOAT32_MAX:
        raise past()
    return s


#: Where each canonical hyperparameter lives in a torch param group: (key, index or None)
#: in order of preference ("momentum or betas[0], whichever the optimizer has", as
#: torch's OneCycleLR and CyclicLR cycle it).
_PLACES = {"momentum": (("momentum", None), ("betas", 0)), "beta1": (("betas", 0),),
           "beta2": (("betas", 1),), "weight_decay": (("weight_decay", None),)}


def _targets(optimizer: torch.optim.Optimizer, schedule: Schedule) -> tuple:
    """``(name, key, index)`` for every hyperparameter curve of ``schedule``: the
    param-group entry it drives in every group of ``optimizer``."""
    group = optimizer.param_groups[0]
    have = [p for k in sorted(group) if k != "params"
            for p in (((k, 0), (k, 1)) if k == "betas" else ((k, None),))]
    places = assign([name for name, _ in schedule.hyperparams],
                    lambda name: _PLACES.get(name, ((name, None),)), have,
                    f"torch.optim.{type(optimizer).__name__}",
                    lambda p: p[0] if p[1] is None else f"{p[0]}[{p[1]}]")
    out = tuple((name, *place) for name, place in places.items())
    for i, g in enumerate(optimizer.param_groups):
        missing = [k for _, k, _ in out if k not in g]
        if missing:
            raise SpecError(f"optimizer.param_groups[{i}]", "lacks " + ", ".join(missing)
                            + " (every group must hold each scheduled hyperparameter)")
    return out


def _compile_curves(document: Schedule) -> tuple:
    """Each hyperparameter's formula (Python floats), from lrcore's one formula cache."""
    return tuple((name, compile_spec(document, PYTHON, hyperparam=name))
                 for name, _ in document.hyperparams)


def _set(group: dict, key: str, index: int | None, value: float) -> None:
    old = group[key] if index is None else group[key][index]
    if isinstance(old, torch.Tensor):
        old.fill_(value)
    elif index is None:
        group[key] = value
    else:  # betas: a tuple, replaced whole
        entries = list(group[key])
        entries[index] = value
        group[key] = type(group[key])(entries) if isinstance(group[key], tuple) else entries


def _document(data: dict, signed: bool) -> Schedule:
    """A multiplier's document; ``signed``: a pass-through hyperparameter's curve (which
    may go below 0; the parity suite drives it as a rate)."""
    from lrcore.document import SignedCurve

    return (SignedCurve if signed else Schedule).from_dict(data)


def _unit(per: int) -> str:
    return '"step"' if per == 1 else f'"epoch", {per} steps per call'


FOLLOW = ("scheduler", "optimizer")


def _check_observable(optimizer: torch.optim.Optimizer) -> None:
    """``follow="optimizer"`` counts updates through torch's step post-hooks: refuse an
    optimizer whose ``step()`` runs none (a wrapper that never ran ``Optimizer.__init__``)
    or one that skips inf updates inside a ``step(grad_scaler=...)`` call."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        return  # torch's constructor refuses it ("... is not an Optimizer")
    name = type(optimizer).__name__
    if not (getattr(type(optimizer).step, "hooked", False)
            and isinstance(optimizer.__dict__.get("_optimizer_step_post_hooks"), dict)):
        raise SpecError("optimizer", "must run torch's step hooks for follow='optimizer' "
                        "(this one never ran torch.optim.Optimizer.__init__); pass the "
                        "optimizer that applies the updates (the one GradScaler.step "
                        "receives)", name)
    if getattr(optimizer, "_step_supports_amp_scaling", False) and \
            "grad_scaler" in inspect.signature(optimizer.step).parameters:
        raise SpecError("optimizer", "skips inf updates inside step(grad_scaler=...), where "
                        "follow='optimizer' cannot see it; use follow='scheduler' and call "
                        "scheduler.step() after applied updates only", name)


class _Follow:
    """An optimizer step post-hook: each update the optimizer applied advances the
    scheduler. Holds the scheduler weakly (a dropped scheduler stops following)."""

    def __init__(self, scheduler: LrcoreScheduler) -> None:
        self.scheduler = weakref.ref(scheduler)

    def __call__(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        sched = self.scheduler()
        if sched is None:
            return
        # GradScaler calls a fused optimizer (fused=True: _step_supports_amp_scaling) on
        # every step with found_inf set; the kernel then skips the update when it is > 0
        found_inf = optimizer.__dict__.get("found_inf")
        if found_inf is not None and getattr(optimizer, "_step_supports_amp_scaling", False) \
                and bool(found_inf):
            return
        sched._advance()


class LrcoreLambda:
    """``k -> scale * lr(k)`` (or ``lr(k * steps_per_epoch)`` when stepping per epoch).

    Its ``__dict__`` (what torch's ``LambdaLR.state_dict`` saves) holds only plain data:
    the spec document, the context, the scale, the unit and (``written``) the fingerprint
    of the spec as given, before any context argument (what ``lrcore show`` prints). The
    compiled formula is a cache rebuilt on demand and never saved.
    """

    def __init__(self, document: dict, scale: float = 1.0, per: int = 1) -> None:
        self.document = document
        self.scale = scale
        self.per = per  # steps per call of scheduler.step(): 1, or steps_per_epoch

    def _formula(self):
        cached = self.__dict__.get("_compiled")
        if cached is None or cached[0] is not self.document:
            fn = _compile(_document(self.document, self.__dict__.get("signed", False)))[0]
            cached = (self.document, fn)
            self.__dict__["_compiled"] = cached
        return cached[1]

    def __call__(self, k: int) -> float:
        k = _count(k)
        _check_step(k, self.per)
        return float(self._formula()(k * self.per)) * self.scale

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_compiled"}


class LrcoreScheduler(LambdaLR):
    """A ``LambdaLR`` that sets each group's lr to ``group_scale[i] * lr(last_epoch)``,
    independent of the lr the optimizer was built with (0 included).

    Adds nothing to torch's protocol but two conveniences: ``load_state_dict`` puts the
    restored step's rate into the optimizer at once (so a resume continues the identical
    curve even if only the scheduler was restored), and ``spec`` returns the document.
    A step outside ``[0, 2**31 - 1]`` is a ``SpecError`` raised before anything changes.
    """

    # the largest last_epoch whose next step() stays in the domain: MAX_STEP // per - 1,
    # set by the first step(); the class default sends that step down the checked path
    _next_limit = -2

    def __init__(self, optimizer: torch.optim.Optimizer, spec: Any, *,
                 group_scale: list[float] | None = None, step_unit: str = "step",
                 steps_per_epoch: int | None = None, total_steps: int | str | None = None,
                 last_epoch: int = -1) -> None:
        schedule = as_schedule(spec)
        if schedule.schedule.type == "plateau" and not isinstance(self, LrcorePlateauScheduler):
            raise SpecError("spec", f"{type(self).__name__} cannot take metrics; use "
                            "LrcorePlateauScheduler (lrcore.to_torch picks the class)",
                            schedule.schedule.type)
        written = schedule.fingerprint()  # the spec as given: what `lrcore show` prints
        schedule = schedule.bind(steps_per_epoch, total_steps)
        # validate the whole spec now (resolution errors surface here, not at step 1)
        ceiling = _compile(schedule)[1]
        document = schedule.to_dict()
        if step_unit not in ("step", "epoch"):
            raise SpecError("step_unit", "must be 'step' or 'epoch'", step_unit)
        per = 1
        if step_unit == "epoch":
            if schedule.steps_per_epoch is None:
                raise SpecError("step_unit", "'epoch' needs steps_per_epoch (in the spec or "
                                "as an argument)", step_unit)
            per = schedule.steps_per_epoch
        n = len(optimizer.param_groups)
        if group_scale is not None and not isinstance(group_scale, (list, tuple)):
            raise SpecError("group_scale", f"must be a list of numbers, one per param group "
                            f"({n})", group_scale)
        scales = [1.0] * n if group_scale is None else list(group_scale)
        if len(scales) != n:
            raise SpecError("group_scale", f"must have one entry per param group ({n})", scales)
        scales = [_scale(s, i, ceiling) for i, s in enumerate(scales)]
        # torch's constructor takes one step from last_epoch: check it before torch
        # touches the optimizer
        last_epoch = _count(last_epoch)
        _check_step(last_epoch + 1, per)
        lambdas = [LrcoreLambda(document, s, per) for s in scales]
        for fn in lambdas:
            fn.written = written
        if schedule.signed:
            for fn in lambdas:
                fn.signed = True
        # hyperparameter curves: the param-group entries they drive, checked now
        self._targets = _targets(optimizer, schedule)
        # reduce-on-plateau state (a plain dict, so it travels in state_dict): only for
        # a spec whose root is a plateau node; the scale multiplies every group's rate
        self.plateau = (initial_state(schedule.schedule).to_dict()
                        if schedule.schedule.type == "plateau" else None)
        super().__init__(optimizer, lambdas, last_epoch)

    #: what the step counter counts: scheduler.step() calls (torch's convention) or, in
    #: the classes to_torch(..., follow="optimizer") builds, the updates applied
    follow = "scheduler"

    @property
    def spec(self) -> Schedule:
        first = self.lr_lambdas[0]
        return _document(first.document, first.__dict__.get("signed", False))

    def get_lr(self) -> list[float]:
        # every multiplier holds the same spec: evaluate it once, scale per group
        first = self.lr_lambdas[0]
        cached = first.__dict__.get("_compiled")  # _formula(), inlined: once per step
        f = cached[1] if cached is not None and cached[0] is first.document else \
            first._formula()
        lr = float(f(self.last_epoch * first.per))  # a plain float for torch
        return [lr * fn.scale for fn in self.lr_lambdas]  # x * 1.0 is x, bit for bit

    def _check_next(self) -> None:
        """The checked path of :meth:`step`: raise unless ``last_epoch + 1`` calls stay
        in the domain (a numpy integer ``last_epoch`` becomes the int it holds)."""
        per = self.lr_lambdas[0].per
        k = _count(self.last_epoch)
        _check_step(k + 1, per)
        self.last_epoch = k
        self._next_limit = MAX_STEP // per - 1

    def _current_step(self) -> int:
        """``last_epoch``, checked: the step the rate and a report belong to."""
        k = _count(self.last_epoch)
        _check_step(k, self.lr_lambdas[0].per)
        self.last_epoch = k
        return k

    def _check_groups(self) -> None:
        """No param group may have gone: each multiplier belongs to one."""
        n, m = len(self.optimizer.param_groups), len(self.lr_lambdas)
        if n < m:
            raise SpecError("optimizer.param_groups", f"has {n} group{'s' if n != 1 else ''}"
                            f", this scheduler follows {m}; build a new scheduler after "
                            "removing a group")

    def _join_groups(self, scales: list[float] | None = None) -> None:
        """Param groups added since the last step (``optimizer.add_param_group``) join
        the schedule: each follows the spec times its ``"group_scale"`` entry (1.0
        without one, as a group the scheduler was built with), or ``scales[i]`` (a
        checkpoint's). All are checked before any joins."""
        self._check_groups()
        groups = self.optimizer.param_groups
        m = len(self.lr_lambdas)
        if len(groups) == m:
            return
        first = self.lr_lambdas[0]
        ceiling = _ceiling(self.spec)
        joining = []
        for i in range(m, len(groups)):
            missing = [k for _, k, _ in self._targets if k not in groups[i]]
            if missing:
                raise SpecError(f"optimizer.param_groups[{i}]", "lacks " + ", ".join(missing)
                                + " (every group must hold each scheduled hyperparameter)")
            scale = scales[i] if scales is not None else _scale(
                groups[i].get("group_scale", 1.0), i, ceiling,
                f"optimizer.param_groups[{i}].group_scale")
            fn = LrcoreLambda(first.document, scale, first.per)
            if first.__dict__.get("signed", False):
                fn.signed = True
            joining.append(fn)
        for group, fn in zip(groups[m:], joining):
            lr = group["lr"]  # its initial_lr, as torch records it for the groups it is built with
            group.setdefault("initial_lr", lr.clone() if isinstance(lr, torch.Tensor) else lr)
            self.base_lrs.append(group["initial_lr"])
            self.lr_lambdas.append(fn)

    def report(self, metric: Any) -> None:
        """Report a monitored metric (reduce-on-plateau specs): the rule runs at the
        current step and a reduction applies at once, to the rate of the next update."""
        if self.plateau is None:
            raise SpecError("report", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)
        value = check_metric(metric)
        self._join_groups()
        fn = self.lr_lambdas[0]
        inner_now = fn._formula()(self._current_step() * fn.per)
        state = self.plateau
        best, bad, cool, scale = report(self.spec.schedule, PYTHON, state["best"], state["bad"],
                                        state["cool"], state["scale"], value, inner_now)
        self.plateau = {"best": float(best), "bad": int(bad), "cool": int(cool),
                        "scale": float(scale), "reports": state["reports"] + 1}
        self._apply(self.get_lr())

    def step(self, metrics: Any = None) -> None:  # type: ignore[override]
        """Advance one step (or epoch). An argument is refused: torch's deprecated
        ``step(epoch)`` is not supported, and a metric is only for plateau specs (see
        :class:`LrcorePlateauScheduler`)."""
        if metrics is not None:
            raise SpecError("step", f'takes no argument for a "{self.spec.schedule.type}" '
                            "spec (torch's deprecated step(epoch) is not supported); to jump "
                            "to an epoch, set scheduler.last_epoch = epoch - 1 and call "
                            "step()", metrics)
        if len(self.lr_lambdas) != len(self.optimizer.param_groups):
            self._join_groups()
        last = self.last_epoch
        if type(last) is not int or not -1 <= last <= self._next_limit:
            self._check_next()
        LambdaLR.step(self)
        if self._targets:
            self._apply_hyperparams()

    def _apply_hyperparams(self) -> None:
        """Every hyperparameter curve at the current step, into every param group."""
        first = self.lr_lambdas[0]
        t = self.last_epoch * first.per
        cached = self.__dict__.get("_curves")  # a cache, rebuilt after load_state_dict
        if cached is None or cached[0] is not first.document:
            cached = (first.document, dict(_compile_curves(Schedule.from_dict(first.document))))
            self.__dict__["_curves"] = cached
        fns = cached[1]
        for name, key, index in self._targets:
            value = float(fns[name](t))
            for group in self.optimizer.param_groups:
                _set(group, key, index, value)

    def _apply(self, values: list[float]) -> None:
        groups = self.optimizer.param_groups
        for group, lr in zip(groups, values, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        # copies, as torch keeps them: a caller must not see (or change) the live tensor
        self._last_lr = [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                         for g in groups]
        if self._targets:
            self._apply_hyperparams()

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.pop("_next_limit", None)  # derived from the unit: recomputed on load
        state.pop("_targets", None)  # derived from the optimizer: recomputed on load
        state.pop("_curves", None)  # compiled hyperparameter curves: a cache
        state.pop("_follow_handle", None)  # follow="optimizer": the hook on the optimizer
        state["lr_lambdas"] = [
            {k: v for k, v in d.items() if k != "_compiled"} if d is not None else None
            for d in state["lr_lambdas"]
        ]
        return state

    def _read_checkpoint(self, state_dict: dict[str, Any]) -> tuple:
        """Check a checkpoint whole before any of it is loaded: what it would give each
        multiplier, the plateau state and the step. Returns ``(schedule, scales, per,
        last_epoch, plateau)``."""
        self._check_groups()
        entries = state_dict.get("lr_lambdas")
        n = len(self.optimizer.param_groups)  # groups added since the last step included
        if not isinstance(entries, (list, tuple)):
            raise SpecError("load_state_dict", "the checkpoint has no lr_lambdas list (not a "
                            "LambdaLR's state_dict)")
        if len(entries) != n:
            m = len(entries)
            raise SpecError("load_state_dict", f"the checkpoint has {m} param group"
                            f"{'s' if m != 1 else ''}, this optimizer {n}; build the "
                            "optimizer as the checkpoint's was")
        # torch's own loader keeps the live multiplier where the checkpoint holds None
        # (a function it could not save): so does this one
        merged = []
        for i, entry in enumerate(entries):
            if entry is None and i < len(self.lr_lambdas):
                entry = self.lr_lambdas[i].__getstate__()
            if not isinstance(entry, dict) or not {"document", "scale", "per"} <= set(entry):
                raise SpecError("load_state_dict", f"lr_lambdas[{i}] is not an lrcore "
                                "multiplier's state (document, scale, per)")
            merged.append(entry)
        for i, entry in enumerate(merged[1:], 1):
            if entry["document"] != merged[0]["document"]:
                raise SpecError("load_state_dict", f"lr_lambdas[{i}] holds another spec than "
                                "lr_lambdas[0]; every param group follows one spec")
        schedule = Schedule.from_dict(merged[0]["document"])
        mine, theirs = self.spec.schedule.type, schedule.schedule.type
        if (mine == "plateau") != (theirs == "plateau"):
            raise SpecError("load_state_dict", f'a checkpoint of a "{theirs}" schedule cannot '
                            f'be loaded into a scheduler built from a "{mine}" spec (only a '
                            "plateau spec takes metrics); build the scheduler from the "
                            "checkpoint's spec")
        spe = schedule.steps_per_epoch
        per = merged[0]["per"]
        for i, entry in enumerate(merged):
            p = entry["per"]
            if isinstance(p, bool) or not isinstance(p, int) or p not in (1, spe):
                raise SpecError("load_state_dict", f"lr_lambdas[{i}].per must be 1 or the "
                                f"spec's steps_per_epoch ({spe})", p)
            if p != per:
                raise SpecError("load_state_dict", f"lr_lambdas[{i}].per must equal "
                                f"lr_lambdas[0].per ({per})", p)
        ceiling = _compile(schedule)[1]
        scales = [_scale(entry["scale"], i, ceiling) for i, entry in enumerate(merged)]
        plateau = None
        if theirs == "plateau":
            try:
                plateau = PlateauState.from_dict(state_dict.get("plateau", self.plateau))
            except (TypeError, KeyError, ValueError, OverflowError):
                raise SpecError("load_state_dict", "plateau must be a plateau state (best, "
                                "bad, cool, scale, reports)") from None
            if not 0.0 <= plateau.scale <= 1.0:  # NaN too: the rate would be NaN
                raise SpecError("load_state_dict", "plateau.scale must be in [0, 1]",
                                plateau.scale)
        last_epoch = _count(state_dict.get("last_epoch", self.last_epoch))
        _check_step(last_epoch, per)
        return schedule, scales, per, last_epoch, plateau

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a checkpoint, its spec included, as torch's own schedulers restore
        their parameters (a ``CosineAnnealingLR`` takes the checkpoint's ``T_max``): the
        run continues on the checkpoint's curve, group scales and step unit. Where they
        differ from what this scheduler was built with (an edited spec file, another
        ``group_scale`` or ``step_unit``), a ``UserWarning`` names the old and the new.
        A checkpoint that cannot be loaded whole is a ``SpecError`` and changes nothing."""
        schedule, scales, per, last_epoch, plateau = self._read_checkpoint(state_dict)
        before, after = self.spec.fingerprint(), schedule.fingerprint()
        # the fingerprints of the specs as given (their files'); a checkpoint from before
        # lrcore kept it has its document's
        first = (state_dict.get("lr_lambdas") or [None])[0]
        mine = self.lr_lambdas[0].__dict__.get("written", before)
        theirs = first.get("written") if isinstance(first, dict) else mine
        if not (isinstance(theirs, str) and re.fullmatch("[0-9a-f]{16}", theirs)):
            theirs = after
        if after != before:
            old, new = mine, theirs
            if theirs == mine:  # one file, another context
                old, new = (f"{w}, steps_per_epoch {d.steps_per_epoch}, total_steps "
                            f"{d.total_steps}" for w, d in ((mine, self.spec),
                                                            (theirs, schedule)))
            warnings.warn(f"load_state_dict: the checkpoint's schedule (fingerprint {new}) "
                          f"replaces the one this scheduler was built with ({old}); the "
                          "run continues on the checkpoint's curve", UserWarning, stacklevel=2)
        old_scales = [fn.scale for fn in self.lr_lambdas] + [  # and of groups joining now
            g.get("group_scale", 1.0) for g in self.optimizer.param_groups[len(self.lr_lambdas):]]
        if scales != old_scales:
            warnings.warn(f"load_state_dict: the checkpoint's group_scale {scales} replaces "
                          f"the one this scheduler was built with ({old_scales}); the run "
                          "continues with the checkpoint's", UserWarning, stacklevel=2)
        old_per = self.lr_lambdas[0].per
        if per != old_per:
            warnings.warn(f"load_state_dict: the checkpoint's step_unit ({_unit(per)}) "
                          f"replaces the one this scheduler was built with ({_unit(old_per)})"
                          "; the run continues with the checkpoint's", UserWarning,
                          stacklevel=2)
        targets = _targets(self.optimizer, schedule)  # before anything changes
        self._join_groups(scales)  # torch's loader updates one multiplier per group
        super().load_state_dict(state_dict)
        self._targets = targets
        for fn, s in zip(self.lr_lambdas, scales):
            fn.__dict__.pop("_compiled", None)
            fn.scale, fn.per, fn.written = s, per, theirs
        self.last_epoch = last_epoch
        self.plateau = None if plateau is None else plateau.to_dict()
        self._next_limit = MAX_STEP // per - 1
        self._apply(self.get_lr())


class LrcorePlateauScheduler(LrcoreScheduler):
    """:class:`LrcoreScheduler` for a spec whose root is ``plateau``: ``step(metrics)``
    reports, as torch's ``ReduceLROnPlateau.step(metrics)`` does, and the reported
    metrics' scale multiplies the rate. (A separate class so plain schedules keep a
    ``step`` that pays for neither.)"""

    def get_lr(self) -> list[float]:
        first = self.lr_lambdas[0]
        lr = float(first._formula()(self.last_epoch * first.per))
        if self.plateau is not None:
            lr = lr * self.plateau["scale"]  # the spec's rate first, then the group's scale
        return [lr * fn.scale for fn in self.lr_lambdas]

    def step(self, metrics: Any = None) -> None:  # type: ignore[override]
        """Advance one step (or epoch). ``step(metrics)`` then reports ``metrics`` at the
        new step, as torch's ``ReduceLROnPlateau.step(metrics)`` does once per epoch: the
        rule sees the step the metric was measured after. A loop that steps per batch
        reports with :meth:`report` instead."""
        if metrics is not None:
            if self.plateau is None:
                raise SpecError("metrics", "need a spec whose outermost node is plateau",
                                self.spec.schedule.type)
            check_metric(metrics)  # fail before moving, so a NaN changes nothing
        if len(self.lr_lambdas) != len(self.optimizer.param_groups):
            self._join_groups()
        last = self.last_epoch
        if type(last) is not int or not -1 <= last <= self._next_limit:
            self._check_next()
        LambdaLR.step(self)
        if self._targets:
            self._apply_hyperparams()
        if metrics is not None:
            self.report(metrics)


class _FollowsOptimizer:
    """``follow="optimizer"`` (mixed into both scheduler classes): a torch step post-hook
    on the optimizer advances ``last_epoch`` after each update applied and sets the next
    update's rate at once; ``step()`` moves nothing (``step(metrics)`` reports)."""

    follow = "optimizer"
    _follow_handle: Any = None  # set once torch's constructor has taken its initial step

    def __init__(self, optimizer: torch.optim.Optimizer, spec: Any, **kwargs: Any) -> None:
        unit = kwargs.get("step_unit", "step")
        if unit != "step":
            raise SpecError("step_unit", "must be 'step' with follow='optimizer' (it counts "
                            "optimizer updates, not epochs)", unit)
        _check_observable(optimizer)
        super().__init__(optimizer, spec, **kwargs)
        self._observe()

    def _observe(self) -> None:
        self._follow_handle = self.optimizer.register_step_post_hook(_Follow(self))

    def _advance(self) -> None:
        """One update applied: the next update's rate, now."""
        if len(self.lr_lambdas) != len(self.optimizer.param_groups):
            self._join_groups()
        last = self.last_epoch
        if type(last) is not int or not -1 <= last <= self._next_limit:
            self._check_next()
        self.last_epoch += 1
        self._apply(self.get_lr())

    def step(self, metrics: Any = None) -> None:
        """Moves nothing: the optimizer's updates advance the scheduler. ``step(metrics)``
        (a plateau spec) reports at the current count of updates applied."""
        if self._follow_handle is None or (metrics is not None and self.plateau is None):
            super().step(metrics)  # torch's initial step, or the plain class's refusal
        elif metrics is not None:
            self.report(metrics)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_follow_handle", None)  # the hook lives in the optimizer: registered anew
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._observe()  # pickle and deepcopy restore the optimizer without its hooks


class LrcoreFollowScheduler(_FollowsOptimizer, LrcoreScheduler):
    """:class:`LrcoreScheduler` whose ``last_epoch`` counts the updates the optimizer
    applied (``lrcore.to_torch(..., follow="optimizer")``)."""


class LrcoreFollowPlateauScheduler(_FollowsOptimizer, LrcorePlateauScheduler):
    """:class:`LrcorePlateauScheduler` whose ``last_epoch`` counts the updates the
    optimizer applied (``lrcore.to_torch(..., follow="optimizer")``)."""


def to_torch(spec: Any, optimizer: torch.optim.Optimizer, *,
             group_scale: list[float] | None = None, step_unit: str = "step",
             steps_per_epoch: int | None = None, total_steps: int | str | None = None,
             last_epoch: int = -1, follow: str = "scheduler") -> LrcoreScheduler:
    """Compile ``spec`` into a ``LambdaLR`` subclass for ``optimizer``.

    After ``k`` calls of ``scheduler.step()`` every param group's lr equals
    ``lrcore.evaluate(spec, k) * group_scale[i]`` (with ``step_unit="epoch"``:
    ``evaluate(spec, k * steps_per_epoch)``), and every hyperparameter curve of the spec
    is in every group: ``momentum`` (or ``betas[0]``), ``beta1``/``beta2`` (``betas``),
    ``weight_decay``, other names as the group key of that name (``group_scale`` scales
    the rate only). Call ``optimizer.step()`` then ``scheduler.step()``, as torch
    documents.

    ``follow="optimizer"``: ``k`` is the number of updates the optimizer applied (a step
    post-hook counts them and sets the next rate at once), so an update that
    ``torch.amp.GradScaler`` skips, or a loop leaves out, does not move the schedule;
    ``scheduler.step()`` is then harmless and moves nothing (``step(metrics)`` reports).
    """
    if not isinstance(follow, str) or follow not in FOLLOW:
        raise SpecError("follow", "must be 'scheduler' or 'optimizer'", follow)
    schedule = as_schedule(spec)
    plateau = schedule.schedule.type == "plateau"
    cls = {(False, "scheduler"): LrcoreScheduler, (True, "scheduler"): LrcorePlateauScheduler,
           (False, "optimizer"): LrcoreFollowScheduler,
           (True, "optimizer"): LrcoreFollowPlateauScheduler}[plateau, follow]
    return cls(optimizer, schedule, group_scale=group_scale, step_unit=step_unit,
               steps_per_epoch=steps_per_epoch, total_steps=total_steps,
               last_epoch=last_epoch)


def parity_values(name: str, specs: list, steps: list, reports: list) -> list:
    """The ``torch`` backend for :mod:`lrcore.parity`: a real optimizer and scheduler."""
    return [_values(s, t, r) for s, t, r in zip(specs, steps, reports)]


def _values(spec: Schedule, t: np.ndarray, reports: Any) -> np.ndarray:
    """Drive a real optimizer and scheduler: the lr torch puts in the param group."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=0.0)
    sched = to_torch(spec, opt)
    opt.step()  # the documented order: optimizer.step() before scheduler.step()

    def goto(k: int) -> None:
        if k != sched.last_epoch:
            sched.last_epoch = k - 1  # jump: torch's own counter, then one step()
            sched.step()

    out = np.empty(t.shape, dtype=np.float64)
    i = 0
    for due, seg in segments(t, reports):
        for s, m in due:
            goto(int(s))
            sched.report(m)
        for k in seg.tolist():
            goto(k)
            out[i] = opt.param_groups[0]["lr"]
            i += 1
    return out
