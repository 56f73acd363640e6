"""torch adapter: a ``LambdaLR`` whose every param group follows the spec exactly.

The multiplier is a picklable callable object (no lambdas) evaluated with
:class:`lrcore.ops.PythonOps` (float64 scalars, torch keeps learning rates as Python
floats). The scheduler's only state is torch's own step counter (``last_epoch``).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch.optim.lr_scheduler import LambdaLR

from lrcore.document import Schedule, as_schedule
from lrcore.errors import SpecError
from lrcore.evaluate import compile_spec
from lrcore.nodes.plateau import check_metric, initial_state, report
from lrcore.ops import PythonOps

__all__ = ["LrcoreLambda", "LrcorePlateauScheduler", "LrcoreScheduler", "to_torch"]

PYTHON = PythonOps()


class LrcoreLambda:
    """``k -> scale * lr(k)`` (or ``lr(k * steps_per_epoch)`` when stepping per epoch).

    Its ``__dict__`` (what torch's ``LambdaLR.state_dict`` saves) holds only plain data:
    the spec document, the context, the scale and the unit. The compiled formula is a
    cache rebuilt on demand and never saved.
    """

    def __init__(self, document: dict, scale: float = 1.0, per: int = 1) -> None:
        self.document = document
        self.scale = scale
        self.per = per  # steps per call of scheduler.step(): 1, or steps_per_epoch

    def _formula(self):
        cached = self.__dict__.get("_compiled")
        if cached is None or cached[0] is not self.document:
            fn = compile_spec(Schedule.from_dict(self.document), PYTHON)
            cached = (self.document, fn)
            self.__dict__["_compiled"] = cached
        return cached[1]

    def __call__(self, k: int) -> float:
        return float(self._formula()(k * self.per)) * self.scale

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_compiled"}


class LrcoreScheduler(LambdaLR):
    """A ``LambdaLR`` that sets each group's lr to ``group_scale[i] * lr(last_epoch)``,
    independent of the lr the optimizer was built with (0 included).

    Adds nothing to torch's protocol but two conveniences: ``load_state_dict`` puts the
    restored step's rate into the optimizer at once (so a resume continues the identical
    curve even if only the scheduler was restored), and ``spec`` returns the document.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, spec: Any, *,
                 group_scale: list[float] | None = None, step_unit: str = "step",
                 steps_per_epoch: int | None = None, total_steps: int | str | None = None,
                 last_epoch: int = -1) -> None:
        schedule = as_schedule(spec)
        ctx = schedule.context(steps_per_epoch, total_steps)
        # validate the whole spec now (resolution errors surface here, not at step 1)
        compile_spec(schedule, PYTHON, steps_per_epoch=ctx.steps_per_epoch,
                     total_steps=ctx.total_steps)
        import dataclasses

        document = dataclasses.replace(schedule, steps_per_epoch=ctx.steps_per_epoch,
                                       total_steps=ctx.total_steps).to_dict()
        if step_unit not in ("step", "epoch"):
            raise SpecError("step_unit", "must be 'step' or 'epoch'", step_unit)
        per = 1
        if step_unit == "epoch":
            if ctx.steps_per_epoch is None:
                raise SpecError("step_unit", "'epoch' needs steps_per_epoch (in the spec or "
                                "as an argument)", step_unit)
            per = ctx.steps_per_epoch
        n = len(optimizer.param_groups)
        if group_scale is not None and not isinstance(group_scale, (list, tuple)):
            raise SpecError("group_scale", f"must be a list of numbers, one per param group "
                            f"({n})", group_scale)
        scales = [1.0] * n if group_scale is None else list(group_scale)
        if len(scales) != n:
            raise SpecError("group_scale", f"must have one entry per param group ({n})", scales)
        for i, s in enumerate(scales):
            if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s) \
                    or s < 0:
                raise SpecError(f"group_scale[{i}]", "must be a finite number >= 0", s)
        lambdas = [LrcoreLambda(document, float(s), per) for s in scales]
        # reduce-on-plateau state (a plain dict, so it travels in state_dict): only for
        # a spec whose root is a plateau node; the scale multiplies every group's rate
        self.plateau = (initial_state(schedule.schedule).to_dict()
                        if schedule.schedule.type == "plateau" else None)
        super().__init__(optimizer, lambdas, last_epoch)

    @property
    def spec(self) -> Schedule:
        return Schedule.from_dict(self.lr_lambdas[0].document)

    def get_lr(self) -> list[float]:
        # every multiplier holds the same spec: evaluate it once, scale per group
        first = self.lr_lambdas[0]
        lr = float(first._formula()(self.last_epoch * first.per))  # a plain float for torch
        if self.plateau is not None:
            lr = lr * self.plateau["scale"]
        return [lr * fn.scale if fn.scale != 1.0 else lr for fn in self.lr_lambdas]

    def report(self, metric: Any) -> None:
        """Report a monitored metric (reduce-on-plateau specs): the rule runs at the
        current step and a reduction applies at once, to the rate of the next update."""
        if self.plateau is None:
            raise SpecError("report", "needs a spec whose outermost node is plateau",
                            self.spec.schedule.type)
        value = check_metric(metric)
        fn = self.lr_lambdas[0]
        inner_now = fn._formula()(self.last_epoch * fn.per)
        state = self.plateau
        best, bad, cool, scale = report(self.spec.schedule, PYTHON, state["best"], state["bad"],
                                        state["cool"], state["scale"], value, inner_now)
        self.plateau = {"best": float(best), "bad": int(bad), "cool": int(cool),
                        "scale": float(scale), "reports": state["reports"] + 1}
        self._apply(self.get_lr())

    def step(self, metrics: Any = None) -> None:  # type: ignore[override]
        """Advance one step (or epoch). A metric is only for plateau specs (see
        :class:`LrcorePlateauScheduler`); it is never taken as torch's deprecated
        ``epoch`` argument."""
        if metrics is not None:
            raise SpecError("metrics", "need a spec whose outermost node is plateau",
                            self.spec.schedule.type)
        LambdaLR.step(self)

    def _apply(self, values: list[float]) -> None:
        for group, lr in zip(self.optimizer.param_groups, values):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["lr_lambdas"] = [
            {k: v for k, v in d.items() if k != "_compiled"} if d is not None else None
            for d in state["lr_lambdas"]
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a checkpoint, its spec included, as torch's own schedulers restore
        their parameters (a ``CosineAnnealingLR`` takes the checkpoint's ``T_max``): the
        run continues on the checkpoint's curve. When that spec differs from the one
        this scheduler was built with (an edited spec file), a ``UserWarning`` names both
        fingerprints."""
        before = self.spec.fingerprint()
        super().load_state_dict(state_dict)
        for fn in self.lr_lambdas:
            fn.__dict__.pop("_compiled", None)
        after = self.spec.fingerprint()
        if after != before:
            warnings.warn(f"load_state_dict: the checkpoint's schedule (fingerprint {after}) "
                          f"replaces the one this scheduler was built with ({before}); the "
                          "run continues on the checkpoint's curve", UserWarning, stacklevel=2)
        self._apply(self.get_lr())


class LrcorePlateauScheduler(LrcoreScheduler):
    """:class:`LrcoreScheduler` for a spec whose root is ``plateau``: ``step(metrics)``
    reports, as torch's ``ReduceLROnPlateau.step(metrics)`` does. (A separate class so
    plain schedules keep torch's own, cheaper ``step``.)"""

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
        LambdaLR.step(self)
        if metrics is not None:
            self.report(metrics)


def to_torch(spec: Any, optimizer: torch.optim.Optimizer, *,
             group_scale: list[float] | None = None, step_unit: str = "step",
             steps_per_epoch: int | None = None, total_steps: int | str | None = None,
             last_epoch: int = -1) -> LrcoreScheduler:
    """Compile ``spec`` into a ``LambdaLR`` subclass for ``optimizer``.

    After ``k`` calls of ``scheduler.step()`` every param group's lr equals
    ``lrcore.evaluate(spec, k) * group_scale[i]`` (with ``step_unit="epoch"``:
    ``evaluate(spec, k * steps_per_epoch)``). Call ``optimizer.step()`` then
    ``scheduler.step()``, as torch documents.
    """
    schedule = as_schedule(spec)
    cls = LrcorePlateauScheduler if schedule.schedule.type == "plateau" else LrcoreScheduler
    return cls(optimizer, schedule, group_scale=group_scale, step_unit=step_unit,
               steps_per_epoch=steps_per_epoch, total_steps=total_steps,
               last_epoch=last_epoch)
