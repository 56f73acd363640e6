"""From a torch scheduler to the node of its curve: which mapping reads which class."""

from __future__ import annotations

from typing import Any

from ...node import Node
from . import chained, cycles, decays, lambdas, sequential
from .common import CHAINABLE, is_torch_own, name, named, torch_classes, unsupported
from .common import base as recorded_base

BUILDERS = {
    "StepLR": decays.step_lr,
    "MultiStepLR": decays.multistep_lr,
    "ExponentialLR": decays.exponential_lr,
    "CosineAnnealingLR": decays.cosine_annealing_lr,
    "LinearLR": decays.linear_lr,
    "ConstantLR": decays.constant_lr,
    "PolynomialLR": decays.polynomial_lr,
    "MultiplicativeLR": decays.multiplicative_lr,
    "CyclicLR": cycles.cyclic_lr,
    "OneCycleLR": cycles.one_cycle_lr,
    "CosineAnnealingWarmRestarts": cycles.warm_restarts,
    "SWALR": cycles.swalr,
    "SequentialLR": sequential.sequential_lr,
    "ChainedScheduler": chained.chained_scheduler,
    "LambdaLR": lambdas.lambda_lr,
}

REFUSED = {
    "ReduceLROnPlateau": "it reacts to reported metrics, not to the step; use lrcore.plateau",
    "LambdaLR": lambdas.REFUSED,
}


def curve(s: Any, group: int, path: str, base: float | None = None,
          chained: bool = False) -> Node:
    """The node for scheduler ``s``; ``base`` overrides the base rate (1.0 gives the
    multiplier curve a ChainedScheduler multiplies in); ``chained``: it sits in a
    ChainedScheduler."""
    kind = name(s)
    if isinstance(s, torch_classes()[1]):
        if chained:
            raise unsupported(s, path, "in a ChainedScheduler it sets the rate outright "
                              "instead of multiplying it")
        spec, _ = lambdas.own_spec(s, group, nested=True)
        if spec.hyperparams:
            raise unsupported(s, path, "its hyperparameter curves cannot be placed inside "
                              "a composite scheduler; import it on its own")
        return spec.resolve().schedule
    if not is_torch_own(s):
        raise unsupported(s, path, "lrcore reads torch's own scheduler classes only (a "
                          "subclass may compute its rate differently)")
    builder = BUILDERS.get(kind)
    if builder is None:
        raise unsupported(s, path, REFUSED.get(kind, "lrcore has no mapping for it"))
    if chained and kind not in CHAINABLE:
        raise unsupported(s, path, "in a ChainedScheduler only schedulers that multiply "
                          "the current rate by a ratio compose: " + ", ".join(CHAINABLE))
    if kind in ("SequentialLR", "ChainedScheduler"):  # they name their own parts
        return builder(s, group, path, base)
    start = recorded_base(s, group, path) if base is None else base
    if kind == "LambdaLR":
        return builder(s, group, path, start)
    with named(s, path):
        return builder(s, group, path, start)

