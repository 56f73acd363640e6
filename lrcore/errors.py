"""The one exception type lrcore raises for bad input."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SpecError"]

_MAX_VALUE_CHARS = 80


def _show(value: Any) -> str:
    """Render a received value the way it was most likely written (JSON-ish)."""
    try:
        text = json.dumps(value, allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    if len(text) > _MAX_VALUE_CHARS:
        text = text[: _MAX_VALUE_CHARS - 3] + "..."
    return text


class SpecError(ValueError):
    """Bad input: names the field path, the rule it breaks and the value received.

    ``str(err)`` reads ``schedule.phases[1].duration: must be > 0, got 0``. The parts are
    kept as attributes (``path``, ``rule``, ``value``) for tools that want them.
    """

    _NO_VALUE = object()

    def __init__(self, path: str, rule: str, value: Any = _NO_VALUE) -> None:
        self.path = path
        self.rule = rule
        self.value = None if value is SpecError._NO_VALUE else value
        message = f"{path}: {rule}" if path else rule
        if value is not SpecError._NO_VALUE:
            message += f", got {_show(value)}"
        super().__init__(message)

    def __reduce__(self):  # keep the three parts through pickling (multiprocessing)
        return (_rebuild, (self.path, self.rule, self.value, self.args[0]))


def _rebuild(path: str, rule: str, value: Any, message: str) -> SpecError:
    err = SpecError.__new__(SpecError)
    err.path, err.rule, err.value = path, rule, value
    ValueError.__init__(err, message)
    return err
