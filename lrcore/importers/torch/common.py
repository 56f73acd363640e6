"""What every torch scheduler mapping shares: the class names, the numbers it reads and
the errors it raises."""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Iterator
from typing import Any

from ..._args import as_int
from ..._args import as_real as real
from ...errors import SpecError

__all__ = ["CHAINABLE", "SUPPORTED", "base", "describe", "name", "named", "real", "steps",
           "torch_classes", "unsupported"]

SUPPORTED = ("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
             "ConstantLR", "PolynomialLR", "CyclicLR", "OneCycleLR",
             "CosineAnnealingWarmRestarts", "MultiplicativeLR", "SWALR", "SequentialLR",
             "ChainedScheduler", "LrcoreScheduler", "LambdaLR (transformers)")
#: the schedulers whose get_lr multiplies the current rate by a ratio (ChainedScheduler)
CHAINABLE = ("StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR",
             "PolynomialLR", "MultiplicativeLR")


@functools.lru_cache(maxsize=1)
def torch_classes() -> tuple[dict[str, type], type]:
    """torch's scheduler classes by name (``SWALR`` included) and lrcore's scheduler
    class, imported on first use: nothing under lrcore/ imports a framework when loaded."""
    from torch.optim import lr_scheduler, swa_utils

    from ...adapters.torch import LrcoreScheduler

    classes = {k: v for k, v in vars(lr_scheduler).items() if isinstance(v, type)}
    classes["SWALR"] = swa_utils.SWALR
    return classes, LrcoreScheduler


def name(s: Any) -> str:
    return type(s).__name__


def is_torch_own(s: Any) -> bool:
    """``s`` is an instance of torch's own class of its name (not a subclass)."""
    return type(s) is torch_classes()[0].get(name(s))


def describe(s: Any) -> str:
    """``Class(arg=value, ...)`` from the constructor arguments the scheduler keeps."""
    try:
        names = list(inspect.signature(type(s).__init__).parameters)[1:]
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        names = []
    params = [f"{k}={getattr(s, k)!r}" for k in names
              if k not in ("optimizer", "last_epoch", "verbose", "cycle_momentum")
              and isinstance(getattr(s, k, None), (int, float, str, bool))]
    return f"{name(s)}({', '.join(params)})"


def unsupported(s: Any, path: str, reason: str) -> SpecError:
    return SpecError(path, f"{name(s)} is not supported: {reason}; from_torch reads "
                     + ", ".join(SUPPORTED), describe(s))


@contextlib.contextmanager
def named(s: Any, path: str) -> Iterator[None]:
    """Errors from building a node name the torch scheduler they came from."""
    try:
        yield
    except SpecError as err:
        if err.path.startswith((f"{path}.", "optimizer.")):  # already names its source
            raise
        raise SpecError(f"{path} ({name(s)})", f"cannot be expressed: {err}") from None


def steps(x: Any, path: str) -> int:
    """A scheduler attribute that must be a whole number of steps (an integral float is
    one: torch's recursion and closed form agree on it, unlike on ``2.5``)."""
    return as_int(x, path, "must be a whole number of steps (torch's recursive and "
                  "closed forms disagree on a fractional one)")


def base(s: Any, group: int, path: str) -> float:
    return real(s.base_lrs[group], f"{path}.base_lrs[{group}]")
