"""Lightning (``lightning.pytorch``): an lrcore scheduler inside ``Trainer.fit``.

:func:`scheduler_config` is what ``configure_optimizers`` returns for a scheduler from
``lrcore.to_torch``: the interval that matches the scheduler's step unit (``"step"``:
Lightning steps it once per optimizer update, after accumulation, so its ``t`` is
lrcore's). :class:`PlateauReporter` reports the monitored metric to a reduce-on-plateau
scheduler that steps per update, after each validation, and refuses (``SpecError``) any
lrcore scheduler configured so that Lightning would step or report it wrongly. Resume
needs nothing: the scheduler's ``state_dict`` (plateau state included) is in every
Lightning checkpoint.
"""

from __future__ import annotations

import math
from typing import Any

from lightning.pytorch.callbacks import Callback
from lightning.pytorch.trainer.states import TrainerFn

from lrcore.adapters.torch import LrcoreScheduler
from lrcore.errors import SpecError

__all__ = ["PlateauReporter", "scheduler_config"]

_FIX = "return lrcore.integrations.lightning.scheduler_config(scheduler) from configure_optimizers"


def _is_plateau(scheduler: LrcoreScheduler) -> bool:
    return scheduler.plateau is not None


def _interval(scheduler: LrcoreScheduler) -> str:
    return "step" if scheduler.lr_lambdas[0].per == 1 else "epoch"


def scheduler_config(scheduler: Any, *, monitor: str | None = None,
                     name: str | None = None) -> dict[str, Any]:
    """The ``lr_scheduler`` entry for ``configure_optimizers``: ``interval`` from the step
    unit (``"step"``, or ``"epoch"`` for ``step_unit="epoch"``), ``frequency`` 1.

    A reduce-on-plateau spec needs ``monitor`` (a metric your validation logs). Stepping
    per update, it is reported by :class:`PlateauReporter` after each validation;
    stepping per epoch (``step_unit="epoch"``), Lightning itself calls
    ``step(metric)`` once per epoch, as it does for torch's ``ReduceLROnPlateau``.
    """
    if not isinstance(scheduler, LrcoreScheduler):
        raise SpecError("scheduler", "must be an lrcore scheduler (lrcore.to_torch(spec, "
                        "optimizer))", type(scheduler).__name__)
    interval = _interval(scheduler)
    plateau = _is_plateau(scheduler)
    if plateau and monitor is None:
        raise SpecError("monitor", "is needed for a reduce-on-plateau spec: pass the logged "
                        "metric, e.g. scheduler_config(scheduler, monitor='val_loss')"
                        + (", and add PlateauReporter() to Trainer(callbacks=...)"
                           if interval == "step" else ""))
    if not plateau and monitor is not None:
        raise SpecError("monitor", "is only for a reduce-on-plateau spec (this one's outermost "
                        f'node is "{scheduler.spec.schedule.type}"); leave it out', monitor)
    config: dict[str, Any] = {"scheduler": scheduler, "interval": interval, "frequency": 1,
                              "name": name}
    if plateau:
        # per epoch: Lightning's own plateau path (step(metric) once per epoch) is right;
        # per update: Lightning would report on every step, so PlateauReporter reports
        config.update(monitor=monitor, reduce_on_plateau=interval == "epoch")
    return config


def _check(trainer: Any, i: int, config: Any) -> None:
    """Refuse an lrcore scheduler that Lightning would step or report wrongly."""
    scheduler = config.scheduler
    path = f"lr_scheduler_configs[{i}]"
    interval = _interval(scheduler)
    if config.interval != interval:
        unit = ("one optimizer update" if interval == "step"
                else f"one epoch ({scheduler.lr_lambdas[0].per} updates)")
        raise SpecError(f"{path}.interval", f'must be "{interval}": each step() of this '
                        f"scheduler is {unit}; {_FIX}", config.interval)
    if config.frequency != 1:
        raise SpecError(f"{path}.frequency", f"must be 1 (lrcore counts every update); {_FIX}",
                        config.frequency)
    if interval == "epoch":
        per = scheduler.lr_lambdas[0].per
        acc = trainer.accumulate_grad_batches
        batches = trainer.num_training_batches  # inf for a loader without len(): unknown
        updates = math.ceil(batches / acc) if math.isfinite(batches) else per
        if updates != per:
            raise SpecError(f"{path}.scheduler", f"steps_per_epoch must be the updates "
                            f"Lightning makes per epoch ({trainer.num_training_batches} "
                            f"batches / accumulate_grad_batches {acc} = {updates}); set it "
                            "in the spec or in to_torch", per)
    if not _is_plateau(scheduler):
        return
    if config.monitor is None:
        raise SpecError(f"{path}.monitor", "is needed for a reduce-on-plateau spec; "
                        "return scheduler_config(scheduler, monitor='val_loss')")
    if interval == "step" and config.reduce_on_plateau:
        raise SpecError(f"{path}.reduce_on_plateau", 'must be False with interval "step" '
                        "(Lightning would report the metric on every update); "
                        "return scheduler_config(scheduler, monitor=...)", True)


class PlateauReporter(Callback):
    """Reports each lrcore reduce-on-plateau scheduler's ``monitor`` metric (from
    :func:`scheduler_config`) after every validation of ``fit`` (not the sanity check),
    at the step the validation ran after: ``scheduler.report(metric)``.

    At the start of training it checks every lrcore scheduler of the run: ``interval``
    matching the step unit, ``frequency`` 1, a plateau spec with a ``monitor``, and no
    ``reduce_on_plateau`` on a per-update scheduler; anything else is a ``SpecError``.
    """

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        if not pl_module.automatic_optimization:
            return  # the training step steps (and reports) its schedulers itself
        for i, config in enumerate(trainer.lr_scheduler_configs):
            if isinstance(config.scheduler, LrcoreScheduler):
                _check(trainer, i, config)

    def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
        if trainer.sanity_checking or trainer.state.fn != TrainerFn.FITTING:
            return
        for config in trainer.lr_scheduler_configs:
            scheduler = config.scheduler
            if (not isinstance(scheduler, LrcoreScheduler) or not _is_plateau(scheduler)
                    or config.reduce_on_plateau or config.monitor is None):
                continue
            value = trainer.callback_metrics.get(config.monitor)
            if value is None:
                raise SpecError("monitor", "must be a metric the validation logs (self.log); "
                                f"logged: {sorted(trainer.callback_metrics)}", config.monitor)
            scheduler.report(float(value))
