"""Plots for ``lrcore plot`` (needs matplotlib: the ``plot`` extra; imported only here).

Draws on a standalone :class:`matplotlib.figure.Figure` with the Agg canvas, so pyplot's
global state and the user's chosen GUI backend are never touched.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .cli import printable
from .document import Schedule
from .errors import SpecError
from .evaluate import evaluate
from .fields import MAX_STEP

__all__ = ["MAX_PIXELS", "check_image", "curve_style", "plot", "plot_steps", "ulp_error"]

#: Most points drawn per curve; past this the curve is sampled (plus every boundary).
MAX_POINTS = 20_000
#: Most pixels in a PNG (about 5000 x 5000, 100 MB of RGBA while it is drawn).
MAX_PIXELS = 25_000_000
#: Agg draws at most this many pixels on a side.
_MAX_SIDE = 2**16 - 1
#: Longest title or legend label drawn; a longer one ends in an ellipsis.
MAX_LABEL_CHARS = 200
_COLLAPSED = "constrained_layout not applied"
#: A character the font lacks is drawn as a box: the image is still what was asked.
_NO_GLYPH = "missing from font"
#: Beyond matplotlib's ten colours, curves differ by line style, then by marker: the first
#: 10 are solid lines, the next 10 dashed, ... (4 x 10 = 40 line looks), then each marker
#: makes 40 more: 320 curves look different before a look repeats.
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("", "o", "s", "^", "v", "D", "x", "+")


def curve_style(i: int) -> dict[str, Any]:
    """How curve ``i`` is drawn: colour ``C{i % 10}``, then a line style per round of ten
    colours, then a marker (every tenth of the axis) per round of forty."""
    style: dict[str, Any] = {"color": f"C{i % 10}",
                             "linestyle": _LINESTYLES[(i // 10) % len(_LINESTYLES)]}
    marker = _MARKERS[(i // 40) % len(_MARKERS)]
    if marker:
        style.update(marker=marker, markevery=0.1, markersize=4)
    return style


def check_image(size: tuple[float, float], dpi: float, fmt: str) -> None:
    """Refuse, before matplotlib allocates anything, an image that cannot be drawn:
    a size or dpi that is not a finite number > 0, or a PNG over :data:`MAX_PIXELS`
    pixels (or 65535 on a side). SVG and PDF are vectors: their size costs nothing."""
    w, h = size
    if not all(isinstance(x, (int, float)) and math.isfinite(x) and x > 0 for x in size):
        raise SpecError("size", "must be two finite numbers > 0 (inches)", list(size))
    if not (isinstance(dpi, (int, float)) and math.isfinite(dpi) and dpi > 0):
        raise SpecError("dpi", "must be a finite number > 0", dpi)
    px, py = round(w * dpi), round(h * dpi)
    if fmt == "png" and (px * py > MAX_PIXELS or max(px, py) > _MAX_SIDE):
        raise SpecError("size", f"at {dpi:g} dpi makes a {px} x {py} px PNG, more than the "
                        f"{MAX_PIXELS} pixels lrcore draws (about 5000 x 5000): lower the "
                        "size or the dpi", f"{w:g} x {h:g} in")


def _drawn(text: str) -> str:
    """User text as drawn: printable, at most MAX_LABEL_CHARS characters."""
    text = printable(text)
    return text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS - 1] + "\u2026"


def _literal(texts: Sequence) -> None:
    """Draw user text as written: never as mathtext (``$x^$`` would not parse) or TeX."""
    for t in texts:
        t.set_parse_math(False)
        t.set_usetex(False)


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
    fmt = out.suffix.lower().lstrip(".")
    check_image(size, dpi, fmt)
    last = steps if steps is not None else min(
        max((d.horizon() or 1000) for _, d in curves), MAX_STEP)
    t = plot_steps([d for _, d in curves], last)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _draw(curves, out, fmt, t, last, log, backends, title, size, dpi)
    for w in caught:
        if _COLLAPSED in str(w.message):
            raise SpecError("size", "is too small for the axes, labels and legend (the "
                            "layout collapsed): give a larger size, fewer specs or a "
                            "shorter title", f"{size[0]:g} x {size[1]:g} in")
    for w in caught:  # any other warning: as the caller's filters say
        if _NO_GLYPH not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _hyper_panel(ax: Any, curves: Sequence[tuple[str, Schedule]], name: str,
                 t: np.ndarray) -> None:
    """The curve of hyperparameter ``name`` of every spec that schedules it."""
    lines, labels = [], []
    for i, (label, doc) in enumerate(curves):
        if name in doc.curves():
            lines += ax.plot(t, evaluate(doc, t, hyperparam=name), lw=1.6, **curve_style(i))
            labels.append(_drawn(label))
    ax.set_ylabel(_drawn(name))
    ax.grid(True, alpha=0.25)
    _literal(ax.legend(lines, labels, loc="best", fontsize="small").get_texts())


def _draw(curves: Sequence[tuple[str, Schedule]], out: Path, fmt: str, t: np.ndarray,
          last: int, log: bool, backends: Sequence[str], title: str | None,
          size: tuple[float, float], dpi: float) -> None:
    fig = figure(curves, t, last, log, backends, title, size, dpi)
    # Text as text in SVG (searchable, small); no timestamps, so output is reproducible.
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lrcore"}):
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata)


def figure(curves: Sequence[tuple[str, Schedule]], t: np.ndarray, last: int, log: bool,
           backends: Sequence[str], title: str | None, size: tuple[float, float],
           dpi: float) -> Figure:
    """The figure ``plot`` saves: the rate panel, a panel per hyperparameter, and the
    error panel when ``backends`` are given."""
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    # one panel per curve: the rate, then each hyperparameter any spec schedules
    names = sorted({name for _, d in curves for name, _ in d.hyperparams})
    ratios = [3] * (1 + len(names)) + ([1] if backends else [])
    axes = fig.subplots(len(ratios), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": ratios})[:, 0]
    ax, err_ax = axes[0], axes[-1] if backends else None
    for hp_ax, name in zip(axes[1:], names):
        _hyper_panel(hp_ax, curves, name, t)

    refs, lines = [], []
    for i, (_, doc) in enumerate(curves):
        style = curve_style(i)
        y = evaluate(doc, t)
        refs.append(y)
        shown = np.where(y > 0, y, np.nan) if log else y  # log axes cannot show 0
        lines += ax.plot(t, shown, lw=1.6, **style)
        for b in sorted({b for b in doc.schedule.breakpoints() if 0 < b < last}):
            ax.axvline(b, color=style["color"], lw=0.8, ls=":", alpha=0.6)
    top = max(float(np.max(y)) for y in refs)
    if log:
        if top <= 0:
            raise SpecError("log", "needs a rate > 0 to draw on a log axis: every rate "
                            "drawn is 0")
        ax.set_yscale("log")
    elif top > 0:
        ax.set_ylim(bottom=0)
    else:  # every rate 0: an axis from 0 to 1, not a singular one
        ax.set_ylim(0, 1)
    ax.set_xlim(0, max(last, 1))
    ax.set_ylabel("learning rate")
    ax.grid(True, alpha=0.25)
    # labels given explicitly: a name that starts with "_" is still a label
    _literal(ax.legend(lines, [_drawn(label) for label, _ in curves], loc="best",
                       fontsize="small").get_texts())
    if title:
        _literal([ax.set_title(_drawn(title))])

    for extra in axes[1:1 + len(names)]:
        extra.set_xlim(0, max(last, 1))
    if err_ax is not None:
        from .parity import values

        docs = [d for _, d in curves]
        k = 0
        err_lines, err_labels = [], []
        for b in backends:
            got = values(b, docs, [t] * len(docs))
            for (label, _), ref, g in zip(curves, refs, got, strict=True):
                err_labels.append(b if len(curves) == 1 else f"{_drawn(label)}: {b}")
                err_lines += err_ax.plot(t, ulp_error(b, ref, g), lw=0.8, **curve_style(k))
                k += 1
        err_ax.axhline(0.0, color="0.3", lw=0.6)
        err_ax.set_ylabel("error (ulp)")
        err_ax.grid(True, alpha=0.25)
        _literal(err_ax.legend(err_lines, err_labels, loc="upper right", fontsize="x-small",
                               ncols=min(k, 4)).get_texts())
        err_ax.set_xlabel("step")
    else:
        axes[-1].set_xlabel("step")
    return fig
