"""Plots for ``lrcore plot`` (needs matplotlib: the ``plot`` extra; imported only here).

Draws on a standalone :class:`matplotlib.figure.Figure` with the Agg canvas, so pyplot's
global state and the user's chosen GUI backend are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .document import Schedule
from .evaluate import evaluate
from .fields import MAX_STEP

__all__ = ["plot", "plot_steps", "ulp_error"]

#: Most points drawn per curve; past this the curve is sampled (plus every boundary).
MAX_POINTS = 20_000


def plot_steps(docs: Sequence[Schedule], last: int) -> np.ndarray:
    """Steps 0..last: every one when few, else evenly spaced plus each side of every
    breakpoint, so jumps stay sharp."""
    if last + 1 <= MAX_POINTS:
        return np.arange(last + 1, dtype=np.int64)
    t = [np.linspace(0, last, MAX_POINTS).round().astype(np.int64)]
    for d in docs:
        near = [x for b in d.schedule.breakpoints() for x in (b - 1, b) if 0 <= x <= last]
        t.append(np.asarray(near, dtype=np.int64))
    return np.unique(np.concatenate(t))


def ulp_error(backend: str, ref: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Signed error ``got - ref`` in units in the last place of the backend's dtype at
    the reference value (NaN where the backend gave NaN)."""
    from .parity import dtype_of

    dtype = np.float32 if dtype_of(backend) == "float32" else np.float64
    ulp = np.spacing(np.abs(ref).astype(dtype)).astype(np.float64)
    with np.errstate(invalid="ignore"):
        return (got - ref) / ulp


def plot(curves: Sequence[tuple[str, Schedule]], output: str | Path, *,
         steps: int | None = None, log: bool = False, backends: Sequence[str] = (),
         title: str | None = None, size: tuple[float, float] = (9.0, 6.0),
         dpi: int = 100) -> Path:
    """Draw resolved specs ``(label, doc)`` overlaid, their breakpoints as dotted vertical
    lines; with ``backends`` a lower panel shows each backend's error in ulps. The image
    is exactly ``size * dpi`` pixels; the format follows the file's suffix."""
    out = Path(output)
    last = steps if steps is not None else min(
        max((d.horizon() or 1000) for _, d in curves), MAX_STEP)
    t = plot_steps([d for _, d in curves], last)

    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    if backends:
        ax, err_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    else:
        ax, err_ax = fig.subplots(1, 1), None

    refs = []
    for i, (label, doc) in enumerate(curves):
        color = f"C{i % 10}"
        y = evaluate(doc, t)
        refs.append(y)
        shown = np.where(y > 0, y, np.nan) if log else y  # log axes cannot show 0
        ax.plot(t, shown, color=color, lw=1.6, label=label)
        for b in sorted({b for b in doc.schedule.breakpoints() if 0 < b < last}):
            ax.axvline(b, color=color, lw=0.8, ls=":", alpha=0.6)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
    ax.set_xlim(0, last)
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.25)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)

    if err_ax is not None:
        from .parity import values

        docs = [d for _, d in curves]
        k = 0
        for b in backends:
            got = values(b, docs, [t] * len(docs))
            for (label, _), ref, g in zip(curves, refs, got, strict=True):
                name = b if len(curves) == 1 else f"{label}: {b}"
                err_ax.plot(t, ulp_error(b, ref, g), lw=0.8, color=f"C{k % 10}", label=name)
                k += 1
        err_ax.axhline(0.0, color="0.3", lw=0.6)
        err_ax.set_ylabel("error (ulp)")
        err_ax.grid(True, alpha=0.25)
        err_ax.legend(loc="upper right", fontsize="x-small", ncols=min(k, 4))
        err_ax.set_xlabel("step")
    else:
        ax.set_xlabel("step")

    fmt = out.suffix.lower().lstrip(".")
    # Text as text in SVG (searchable, small); no timestamps, so output is reproducible.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lrcore"}):
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)
    return out
