"""Schedules for hyperparameters beside the learning rate: their names and valid ranges.

A document's ``hyperparams`` maps a name to a schedule tree (the same grammar, context
and durations as ``schedule``). Four names are canonical and mean the same thing in
every framework (``docs``/README: "Whole recipes"); any other identifier passes through
to frameworks that take arbitrary scalars (optax ``inject_hyperparams``, torch
param-group keys).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from .errors import SpecError

__all__ = ["CANONICAL", "Range", "assign", "check_name", "check_range"]


@dataclasses.dataclass(frozen=True)
class Range:
    """Where a hyperparameter's curve must stay: ``[low, high]``, or ``[low, high)``."""

    low: float = 0.0
    high: float | None = None
    open_high: bool = False
    doc: str = ""

    def text(self) -> str:
        if self.high is None:
            return f">= {self.low:g}"
        return f"in [{self.low:g}, {self.high:g}{')' if self.open_high else ']'}"


#: The canonical names: what each drives, and its valid range.
CANONICAL: dict[str, Range] = {
    "momentum": Range(0.0, 1.0, doc="SGD momentum; on Adam-style optimizers the first "
                      "moment's decay (torch: 'momentum' or betas[0], whichever the "
                      "optimizer has; optax: momentum or b1; Keras: momentum or beta_1)"),
    "beta1": Range(0.0, 1.0, open_high=True, doc="Adam's first-moment decay (torch "
                   "betas[0], optax b1, Keras beta_1)"),
    "beta2": Range(0.0, 1.0, open_high=True, doc="Adam's second-moment decay (torch "
                   "betas[1], optax b2, Keras beta_2)"),
    "weight_decay": Range(0.0, doc="decoupled or L2 weight decay, as the optimizer "
                          "applies it (torch 'weight_decay', optax weight_decay, Keras "
                          "weight_decay)"),
}

_NAME = re.compile(r"[a-z_][a-z0-9_]{0,63}")
#: Names that are the learning rate itself: that curve is the document's ``schedule``.
_RATE_NAMES = ("lr", "learning_rate")


def check_name(name: Any, path: str) -> str:
    """A hyperparameter name: a canonical one or a lower-case identifier."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SpecError(path, "must be a hyperparameter name (a lower-case identifier such "
                        "as momentum, beta1, beta2, weight_decay)", name)
    if name in _RATE_NAMES:
        raise SpecError(path, "is the learning rate: write its curve under 'schedule'", name)
    return name


def check_range(name: str, high: float, path: str) -> None:
    """Raise unless a curve whose values lie in ``[0, high]`` fits ``name``'s range
    (curves are never negative; ``high`` is the tree's upper bound)."""
    rule = CANONICAL.get(name)
    if rule is None or rule.high is None:
        return
    if high > rule.high or (rule.open_high and high >= rule.high):
        raise SpecError(path, f"must stay {rule.text()} on every step ({name}); the curve "
                        "can reach", high)


def assign(names: Any, places: Any, accepted: list, owner: str,
           show: Any = str) -> dict[str, Any]:
    """Where each hyperparameter goes in one framework's optimizer: for every name, the
    first of ``places(name)`` (in order of preference) that ``accepted`` holds. A name
    with no place there, or two names in one place, is a SpecError naming ``owner``
    and what it has. ``show`` writes a place for a message."""
    out: dict[str, Any] = {}
    taken: dict[Any, str] = {}
    for name in names:
        path = f"hyperparams.{name}"
        wanted = places(name)
        place = next((p for p in wanted if p in accepted), None)
        if place is None:
            raise SpecError(path, f"{owner} has no {' or '.join(map(show, wanted))}; it has: "
                            + ", ".join(map(show, accepted)), name)
        if place in taken:
            raise SpecError(path, f"is the same {show(place)} as {taken[place]} in {owner}; "
                            "keep one of them", name)
        taken[place] = name
        out[name] = place
    return out
