"""The one exception type lrcore raises for bad input."""

from __future__ import annotations

import json
import pickle
import re
from typing import Any

__all__ = ["SpecError"]

_MAX_VALUE_CHARS = 80


def _show(value: Any) -> str:
    """Render a received value the way it was most likely written (JSON-ish), bounded in
    size and depth: a rejected value may be a YAML alias bomb or nested 10**4 deep."""
    parts: list[str] = []
    budget = [_MAX_VALUE_CHARS]

    def emit(text: str) -> bool:
        parts.append(text)
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(v: Any, depth: int) -> bool:
        if depth > 3:
            return emit("...")
        if isinstance(v, dict):
            if not emit("{"):
                return False
            for i, (k, item) in enumerate(v.items()):
                if (i and not emit(", ")) or not walk(k, depth + 1) or not emit(": ") \
                        or not walk(item, depth + 1):
                    return False
            return emit("}")
        if isinstance(v, (list, tuple)):
            if not emit("["):
                return False
            for i, item in enumerate(v):
                if (i and not emit(", ")) or not walk(item, depth + 1):
                    return False
            return emit("]")
        if isinstance(v, (str, bool, int, float)) or v is None:
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 10**30:
                return emit(f"{'-' if v < 0 else ''}~2**{abs(v).bit_length() - 1}")
            try:
                return emit(json.dumps(v, allow_nan=True)[: _MAX_VALUE_CHARS + 1])
            except (TypeError, ValueError):  # pragma: no cover - json handles these types
                return emit(repr(v)[: _MAX_VALUE_CHARS + 1])
        return emit(repr(v)[: _MAX_VALUE_CHARS + 1])

    walk(value, 0)
    text = "".join(parts)
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

    def __reduce__(self):
        # keep the three parts through pickling (multiprocessing); a value that does not
        # pickle (a lambda, a live object) travels as its repr, so the error always does
        value = self.value
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - any failure to pickle means: send the repr
            value = repr(value)
        return (_rebuild, (self.path, self.rule, value, self.args[0]))


def _rebuild(path: str, rule: str, value: Any, message: str) -> SpecError:
    err = SpecError.__new__(SpecError)
    err.path, err.rule, err.value = path, rule, value
    ValueError.__init__(err, message)
    return err


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def key_path(parent: str, key: Any) -> str:
    """The path of mapping key ``key`` under ``parent``: ``parent.key`` for a plain name,
    ``parent[<key as JSON>]`` for anything else (``[""]``, ``["a b"]``, ``[1]``), so an
    empty, spaced or non-string key is still visible in the message."""
    if isinstance(key, str) and _PLAIN_KEY.fullmatch(key):
        return f"{parent}.{key}" if parent else key
    return f"{parent}[{_show(key)}]"
