"""Hugging Face: an lrcore scheduler inside ``transformers.Trainer`` and ``accelerate``.

lrcore's ``t`` counts optimizer updates applied. ``Trainer`` already steps the scheduler
it is given once per applied update (not per micro-batch under gradient accumulation,
not after a skipped mixed-precision step) and saves it with each checkpoint, so a plain
``lrcore.to_torch`` scheduler needs nothing; :class:`LrcoreCallback` checks how it is
wired and reports the monitored metric to a plateau spec. ``Accelerator.prepare`` steps
a prepared scheduler ``num_processes`` times per update; :func:`prepare` steps an lrcore
scheduler once per applied update. Importing this module imports neither package.
"""

from __future__ import annotations

import weakref
from typing import Any

from lrcore.errors import SpecError

# LrcoreCallback is built on first access (module __getattr__): only then is transformers
# imported
__all__ = ["LrcoreCallback", "prepare"]  # noqa: F822

#: lrcore schedulers already wrapped by :func:`prepare` (by identity, never kept alive)
_PREPARED: weakref.WeakSet = weakref.WeakSet()

_TWICE = ("is already prepared; a second wrapper steps it again on every update: prepare "
          "it once, with lrcore.integrations.huggingface.prepare")


def _lrcore_scheduler(obj: Any) -> bool:
    from lrcore.adapters.torch import LrcoreScheduler

    return isinstance(obj, LrcoreScheduler)


def _check_unit(path: str, scheduler: Any) -> None:
    """A trainer steps once per update: a ``step_unit="epoch"`` scheduler would move a
    whole epoch each time."""
    if scheduler.lr_lambdas[0].per != 1:
        raise SpecError(f"{path}.step_unit", 'must be "step" in a trainer, which calls step() '
                        'after every optimizer update; build the scheduler with '
                        'step_unit="step"', "epoch")


def prepare(accelerator: Any, *objects: Any) -> Any:
    """``accelerator.prepare(*objects)``, with every lrcore scheduler among them stepped
    once per optimizer update applied: not ``num_processes`` times (Accelerate's
    convention when batches are not split), not on a micro-batch that only accumulates
    gradients, not after an update the mixed-precision scaler skipped. Everything else
    is prepared exactly as ``accelerator.prepare`` does it; the result is the same.

    A scheduler already prepared (by this function or ``accelerator.prepare``) is a
    ``SpecError``: a second wrapper would step it twice per update.
    """
    from accelerate.scheduler import AcceleratedScheduler

    known = [getattr(s, "scheduler", None) for s in getattr(accelerator, "_schedulers", ())]
    for i, obj in enumerate(objects):
        path = f"prepare(objects[{i}])"
        if isinstance(obj, AcceleratedScheduler) and _lrcore_scheduler(obj.scheduler):
            raise SpecError(path, _TWICE, "AcceleratedScheduler")
        if _lrcore_scheduler(obj):
            if obj in _PREPARED or any(s is obj for s in known):
                raise SpecError(path, _TWICE, type(obj).__name__)
            _check_unit(path, obj)
            known.append(obj)  # the same scheduler twice in this call: prepared twice too
    out = accelerator.prepare(*objects)
    for obj in out if len(objects) > 1 else (out,):
        if isinstance(obj, AcceleratedScheduler) and _lrcore_scheduler(obj.scheduler):
            obj.split_batches = True  # one scheduler.step() per update, whatever the processes
            obj.step_with_optimizer = True  # and only when the optimizer really stepped
            _PREPARED.add(obj.scheduler)
    return out


def _callback_class() -> type:
    from transformers import TrainerCallback

    class LrcoreCallback(TrainerCallback):
        """Checks, when training begins, that the Trainer's scheduler is an lrcore
        scheduler wired to follow optimizer updates; for a plateau spec, reports the
        evaluation metric ``monitor`` (default: ``"eval_"`` + ``metric_for_best_model``,
        the metric Trainer gives torch's ``ReduceLROnPlateau``) after each evaluation.
        A plateau spec needs this callback: without it nothing reports and no cut
        ever happens."""

        def __init__(self, monitor: str | None = None) -> None:
            if monitor is not None and not (isinstance(monitor, str) and monitor):
                raise SpecError("monitor", "must be the name of an evaluation metric such "
                                'as "eval_loss"', monitor)
            self.monitor = monitor

        def _metric(self, args: Any) -> str | None:
            if self.monitor is not None:
                return self.monitor
            name = args.metric_for_best_model
            if name is None:
                return None
            return name if name.startswith("eval_") else f"eval_{name}"

        def on_train_begin(self, args, state, control, lr_scheduler=None, optimizer=None,
                           **kwargs) -> None:
            if not _lrcore_scheduler(lr_scheduler):
                raise SpecError("lr_scheduler", "must be an lrcore scheduler (lrcore.to_torch"
                                "(spec, optimizer), passed as Trainer(optimizers=(optimizer, "
                                "scheduler)))", type(lr_scheduler).__name__)
            _check_unit("lr_scheduler", lr_scheduler)
            raw = getattr(optimizer, "optimizer", optimizer)  # Accelerate's wrapper
            if lr_scheduler.optimizer is not raw:
                raise SpecError("lr_scheduler.optimizer", "must be the Trainer's optimizer; "
                                "build the scheduler on the optimizer passed in "
                                "optimizers=(optimizer, scheduler)")
            plateau = lr_scheduler.plateau is not None
            if not plateau:
                if self.monitor is not None:
                    raise SpecError("monitor", "needs a spec whose outermost node is "
                                    "plateau; drop monitor", self.monitor)
                return
            name = self._metric(args)
            if name is None:
                raise SpecError("monitor", "a plateau spec needs the metric it watches: "
                                'LrcoreCallback(monitor="eval_loss") or TrainingArguments'
                                "(metric_for_best_model=...)", None)
            mode = lr_scheduler.spec.schedule.mode
            higher = args.greater_is_better
            if self.monitor is None and higher is not None and higher != (mode == "max"):
                better = ("higher", "lower") if higher else ("lower", "higher")
                raise SpecError("monitor", f'the plateau spec\'s mode "{mode}" counts '
                                f"{better[1]} as better, but TrainingArguments(greater_is_"
                                f"better={higher}) counts {better[0]} as better; set the "
                                f'plateau\'s mode to "{"max" if higher else "min"}"', name)
            strategy = str(getattr(args.eval_strategy, "value", args.eval_strategy))
            if strategy == "no":
                raise SpecError("eval_strategy", 'must evaluate ("steps" or "epoch") for a '
                                "plateau spec: without evaluations nothing reports", strategy)

        def on_evaluate(self, args, state, control, metrics=None, lr_scheduler=None,
                        **kwargs) -> None:
            if not _lrcore_scheduler(lr_scheduler) or lr_scheduler.plateau is None:
                return
            name = self._metric(args)
            if name not in (metrics or {}):
                raise SpecError("monitor", "is not among the evaluation metrics ("
                                + ", ".join(sorted(metrics or {})) + ")", name)
            lr_scheduler.report(metrics[name])  # reduces from the next update on

    LrcoreCallback.__module__ = __name__
    LrcoreCallback.__qualname__ = "LrcoreCallback"
    return LrcoreCallback


def __getattr__(name: str) -> Any:
    if name == "LrcoreCallback":  # built on first use: only then is transformers imported
        cls = _callback_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
