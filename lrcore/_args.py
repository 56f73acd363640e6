"""Numeric arguments read by the importers and presets: one rule for all of them.

A framework stores constructor arguments as given and only uses them later (torch's
``ExponentialLR(opt, gamma="0.9")`` builds; Keras and transformers fail or compare text
at the first call), so a number must already be a number here: an int, a float, a numpy
scalar or a 0-d array or tensor holding one. A bool is not a number, and neither is a
string, even ``"1e-3"`` (``float()`` would read it and hide the mistake).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import SpecError

_RULE = ("must be a real number (int, float, a numpy scalar or a 0-d array; not a bool "
         "or a string)")


def plain_number(value: Any) -> int | float | None:
    """``value`` as the Python or numpy number it holds, or ``None`` when it is not a
    real number."""
    x = value
    if getattr(x, "ndim", None) == 0 and not isinstance(x, numbers.Number):
        try:  # a 0-d array or tensor (numpy, jax, torch: .item(); tensorflow: numpy)
            item = getattr(x, "item", None)
            x = item() if callable(item) else np.asarray(x).item()
        except (TypeError, ValueError):
            return None
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return x


def as_number(value: Any, path: str) -> int | float:
    """A real number (see :func:`plain_number`); SpecError naming ``path`` otherwise."""
    x = plain_number(value)
    if x is None:
        raise SpecError(path, _RULE, value if isinstance(value, (bool, str)) else repr(value))
    return x


def as_real(value: Any, path: str) -> float:
    """A finite real number, as a float."""
    x = float(as_number(value, path))
    if not math.isfinite(x):
        raise SpecError(path, "must be a finite number", x)
    return x


def as_int(value: Any, path: str,
           rule: str = "must be an integer number of steps") -> int:
    """A whole number: an int (numpy ints too) or an integral float; ``rule`` says why a
    fraction is refused."""
    n = as_number(value, path)
    if isinstance(n, numbers.Integral):
        return int(n)
    x = as_real(n, path)
    if x != int(x):
        raise SpecError(path, rule, x)
    return int(x)
