"""``plateau``: reduce-on-plateau, a pure schedule times a scale that reported metrics cut."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..errors import SpecError
from ..fields import RATE, Choice, Float, Int, NodeField, param
from ..node import Node

__all__ = ["Plateau", "PlateauState", "initial_state", "report"]

_TINY = 1e-30


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plateau(Node):
    r"""Reduce-on-plateau around any schedule: :math:`\eta(t) = \eta_{in}(t) \cdot s`.

    The scale :math:`s` starts at 1 and changes only when a metric is reported; the
    step-driven part stays the pure function :math:`\eta_{in}`. The rule follows torch's
    ``ReduceLROnPlateau`` (the most complete), step for step. On each report of a
    metric :math:`m` at step :math:`t`:

    1. *better* is ``m < best * (1 - threshold)`` (``min``/``rel``),
       ``m < best - threshold`` (``min``/``abs``), ``m > best * (1 + threshold)``
       (``max``/``rel``) or ``m > best + threshold`` (``max``/``abs``); ``best`` starts
       at :math:`+\infty` (``min``) or :math:`-\infty` (``max``). If better: ``best = m``
       and ``bad = 0``, else ``bad += 1``.
    2. If in cooldown (``cool > 0``): ``cool -= 1`` and ``bad = 0``.
    3. If ``bad > patience``: the scale becomes
       :math:`s' = \max(s \cdot \text{factor},\ \text{min\_scale},\ \text{min\_lr} / \eta_{in}(t))`,
       applied only if it lowers the rate by more than ``eps``
       (:math:`\eta_{in}(t)(s - s') > \text{eps}`); then ``cool = cooldown``, ``bad = 0``.

    The new scale applies from step :math:`t` on (a report made after :math:`t`
    updates changes the rate of update :math:`t + 1`). With a constant inner schedule
    this is torch's rule exactly (``min_lr`` bounds the rate at the reduction).

    A plateau node must be the outermost node of a spec (its scale multiplies the whole
    curve). Without reports, the curve is the inner schedule.

    >>> import lrcore
    >>> s = lrcore.plateau(schedule=lrcore.constant(value=1.0), factor=0.5, patience=1)
    >>> lrcore.evaluate(s, range(6), reports=[(1, 3.0), (2, 3.0), (3, 3.0)]).tolist()
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    """

    type = "plateau"
    schedule: Node = param(NodeField(), doc="the inner schedule")
    mode: str = param(Choice(("min", "max")), "min", doc="min: lower is better")
    factor: float = param(Float(gt=0.0, lt=1.0, what="a number in (0, 1)"), 0.1,
                          doc="multiplier at each reduction")
    patience: int = param(Int(ge=0), 10, doc="reports without improvement tolerated")
    threshold: float = param(Float(ge=0.0, what="a number >= 0"), 1e-4,
                             doc="how much better counts as better")
    threshold_mode: str = param(Choice(("rel", "abs")), "rel", doc="relative or absolute")
    cooldown: int = param(Int(ge=0), 0, doc="reports to wait after a reduction")
    min_lr: float = param(RATE, 0.0, doc="a reduction never takes the rate below this")
    min_scale: float = param(Float(ge=0.0, le=1.0, what="a number in [0, 1]"), 0.0,
                             doc="the scale never goes below this")
    eps: float = param(Float(ge=0.0, what="a number >= 0"), 1e-8,
                       doc="ignore reductions smaller than this (in rate)")

    def build(self, ops):
        return self.schedule.build(ops)


@dataclasses.dataclass(frozen=True)
class PlateauState:
    """The whole plateau state: small, explicit, serialisable (``to_dict``)."""

    best: float
    bad: int = 0
    cool: int = 0
    scale: float = 1.0
    reports: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> PlateauState:
        return cls(best=float(data["best"]), bad=int(data["bad"]), cool=int(data["cool"]),
                   scale=float(data["scale"]), reports=int(data["reports"]))


def initial_state(node: Plateau) -> PlateauState:
    return PlateauState(best=math.inf if node.mode == "min" else -math.inf)


def check_metric(metric: Any, path: str = "metric") -> float:
    """A reported metric as a float: a number, a numpy scalar or a one-element tensor.
    A string or a bool is an error (``float("0.3")`` would hide a logging bug), and so is
    NaN (it can never improve)."""
    if isinstance(metric, (str, bytes, bool, np.bool_)):
        raise SpecError(path, "must be a number", metric)
    try:
        value = float(metric)
    except OverflowError:  # an int such as 10**400
        raise SpecError(path, "must be a number within float range", metric) from None
    except (TypeError, ValueError):
        raise SpecError(path, "must be a number", repr(metric)) from None
    if math.isnan(value):
        raise SpecError(path, "must not be NaN (a NaN metric can never improve; "
                        "check the loss)", value)
    return value


def report(node: Plateau, ops: Any, best, bad, cool, scale, metric, inner_now):
    """One report, written once against ``ops`` (Python floats for torch and Keras,
    ``jax.numpy`` under jit for optax): returns ``(best, bad, cool, scale)``."""
    th = node.threshold
    if node.mode == "min":
        better = metric < (best * (1.0 - th) if node.threshold_mode == "rel" else best - th)
    else:
        better = metric > (best * (1.0 + th) if node.threshold_mode == "rel" else best + th)
    best = ops.where(better, metric, best)
    bad = ops.where(better, 0, bad + 1)
    in_cool = cool > 0
    cool = ops.where(in_cool, cool - 1, cool)
    bad = ops.where(in_cool, 0, bad)
    reduce = bad > node.patience
    new_scale = ops.maximum(scale * node.factor, node.min_scale)
    if node.min_lr > 0:
        floor = ops.where(inner_now > 0, node.min_lr / ops.maximum(inner_now, _TINY), 0.0)
        new_scale = ops.maximum(new_scale, floor)
    apply = reduce & (inner_now * (scale - new_scale) > node.eps)
    scale = ops.where(apply, new_scale, scale)
    cool = ops.where(reduce, node.cooldown, cool)
    bad = ops.where(reduce, 0, bad)
    return best, bad, cool, scale
