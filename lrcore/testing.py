"""Parity assertions for your own test suite.

>>> from lrcore.testing import assert_parity
>>> report = assert_parity("specs/warmup_cosine.yaml", backends=["optax"])  # doctest: +SKIP

The pytest plugin (``pytest --lrcore-specs DIR``, :mod:`lrcore.pytest_plugin`) runs
this for every spec file in a directory.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .parity import Report

__all__ = ["assert_parity"]


def assert_parity(spec_or_path: Any, backends: Sequence[str] | None = None,
                  steps: Any = None, rtol: float | None = None, atol: float | None = None,
                  **context: Any) -> Report:
    """Check ``spec_or_path`` (a spec, a mapping, spec text or a file path) on
    ``backends`` (default: every installed one) and return the
    :class:`lrcore.parity.Report`; raise :class:`AssertionError` (a
    :class:`~lrcore.parity.ParityError`) whose message holds the report table when any
    backend strays from the float64 reference by more than the tolerance.

    ``steps``, ``rtol``, ``atol`` are those of :func:`lrcore.parity.check`;
    ``context`` is ``steps_per_epoch=`` and/or ``total_steps=``. A bad spec raises
    :class:`~lrcore.SpecError`.
    """
    __tracebackhide__ = True  # pytest: show the caller's line, not this function's
    from .document import as_schedule
    from .parity import check_many

    doc = as_schedule(spec_or_path)
    names = None
    if doc.name is None and isinstance(spec_or_path, (str, os.PathLike)) \
            and doc is not spec_or_path and _is_path(spec_or_path):
        names = [Path(spec_or_path).stem]
    report = check_many([doc], backends, steps, rtol, atol, names=names, **context)[0]
    report.raise_for_failure()
    return report


def _is_path(source: Any) -> bool:
    if isinstance(source, os.PathLike):
        return True
    return "\n" not in source and not source.lstrip().startswith("{")
