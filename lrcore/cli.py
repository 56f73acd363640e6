"""The ``lrcore`` command: show, plot, check parity, convert and evaluate spec files.

Exit status: 0 success, 1 a parity check failed, 2 bad input (an unreadable file, an
invalid spec, a bad option), a parity worker process that died, or output that cannot
be written (``> /dev/full``): one line
``error: <what, where>`` on stderr (click's usage error for an option), never a
traceback. ``python -m lrcore.cli`` is the same command.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, TextIO

import click
import numpy as np

from .document import MAX_BYTES, Schedule, dumps, load, parse
from .errors import SpecError
from .evaluate import evaluate
from .fields import MAX_STEP, exact, real_form

__all__ = ["main"]

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
#: Most values ``lrcore evaluate`` prints in one call (bounds memory for a typo'd range).
MAX_EVAL_STEPS = 10_000_000
#: Steps evaluated exactly for ``show``; past this the curve is sampled.
_DENSE = 1_000_000


class BadInput(Exception):
    """A problem with what the user gave: reported as ``error: ...`` with exit 2."""


class _Group(click.Group):
    """Turns SpecError/OSError/BadInput from any subcommand into ``error: ...``, exit 2,
    and any other exception (a bug) into one ``error: internal error ...`` line, exit 3."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except OSError as err:  # `lrcore --help > /dev/full`: click re-raises all but EPIPE
            _silence_stdout()  # nothing left in stdout's buffer to fail again at exit
            click.echo(f"error: {_message(err)}", err=True)
            sys.exit(2)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:  # `lrcore evaluate ... | head`: the reader left; not an error
            _silence_stdout()
            ctx.exit(0)
        except (SpecError, BadInput, OSError) as err:
            if isinstance(err, OSError) and not err.filename:  # stdout itself: a full disk
                _silence_stdout()
            click.echo(f"error: {_message(err)}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as err:  # noqa: BLE001 - a bug: one line and exit 3, not a traceback
            if os.environ.get("LRCORE_TRACEBACK"):
                raise
            text = " ".join(str(err).split())[:300]
            click.echo(f"error: internal error ({type(err).__name__}: {text}): a bug in "
                       "lrcore or a framework, please report it with the spec; "
                       "LRCORE_TRACEBACK=1 shows the traceback", err=True)
            ctx.exit(3)


def _message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        name = err.filename
        name = os.fsdecode(name) if isinstance(name, (str, bytes)) else str(name)
        where = f"{printable(name)}: " if err.filename else ""
        return f"{where}{err.strerror.lower()}"
    return printable(str(err))


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` safe to print or draw: a byte that was not UTF-8 in a file name (Python
    keeps it as a lone surrogate, U+DC80-U+DCFF) shows as ``\\xff``, any other lone
    surrogate as ``\\udXXX`` and a control character (newline, escape, NUL) as its
    escape, so a strict UTF-8 terminal, an image and the layout all take it."""
    def esc(m: re.Match) -> str:
        c = ord(m.group())
        return f"\\x{c - 0xDC00:02x}" if 0xDC80 <= c <= 0xDCFF else \
            m.group().encode("unicode_escape").decode("ascii")

    return _UNPRINTABLE.sub(esc, text)


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that the flush at exit cannot fail again (only the
    process's own stdout: never a stream a test harness put there)."""
    if sys.stdout is not sys.__stdout__:
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # pragma: no cover - stdout without a file descriptor
        pass


# ---- option types: ASCII numbers, bounded before conversion -------------------------------

def _shown(text: str, quote: str = "'") -> str:
    """A value as an error message quotes it: escaped, and at most 40 characters."""
    if len(text) <= 40:
        return f"{quote}{printable(text)}{quote}"
    what = "digits" if text.isascii() and text.isdigit() else "characters"
    return f"{quote}{printable(text[:40])}...{quote} ({len(text)} {what})"


def _text(value: Any) -> Any:
    """An option's raw value: bytes (from ``main([b"..."])``) decoded as argv is."""
    return os.fsdecode(value) if isinstance(value, bytes) else value


_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                    r"|inf|infinity|nan)", re.ASCII | re.IGNORECASE)


class _Int(click.IntRange):
    """An integer in [min, max] written with the digits 0-9 (Python's int() also takes
    Arabic-Indic, fullwidth and other digits, underscores, and fails past 4300 digits)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        value = _text(value)
        if isinstance(value, str):
            text = value.strip()
            if not _INT.fullmatch(text):
                self.fail(f"{_shown(value)} is not an integer (digits 0-9).", param, ctx)
            if len(text.lstrip("+-").lstrip("0")) > 18:  # far outside any range here
                self.fail(f"{_shown(text, '')} is not in the range {self._describe_range()}.",
                          param, ctx)
            value = int(text)
        return super().convert(value, param, ctx)


class _Float(click.FloatRange):
    """A finite number in [min, max] written with the digits 0-9 (``nan`` passes
    click's FloatRange: every comparison with it is false)."""

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        value = _text(value)
        if isinstance(value, str):
            text = value.strip()
            if not _FLOAT.fullmatch(text):
                self.fail(f"{_shown(value)} is not a number (digits 0-9).", param, ctx)
            value = float(text)
        if isinstance(value, float) and not math.isfinite(value):
            self.fail(f"{value} is not in the range {self._describe_range()}.", param, ctx)
        return super().convert(value, param, ctx)


class _TotalSteps(click.ParamType):
    """``N`` steps or ``Nep`` epochs, N in [1, 2**31 - 1] written with the digits 0-9."""

    name = "total_steps"
    _FORM = re.compile(r"([0-9]+)(ep)?", re.ASCII)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        value = _text(value)
        if not isinstance(value, str):
            return value
        m = self._FORM.fullmatch(value.strip())
        if not m:
            self.fail(f"{_shown(value)} is not a number of steps N or of epochs Nep "
                      "(digits 0-9).", param, ctx)
        digits, ep = m.group(1), m.group(2) or ""
        if len(digits.lstrip("0")) > 10 or not 1 <= int(digits) <= MAX_STEP:
            self.fail(f"{_shown(digits + ep, '')} is not in the range 1<=x<={MAX_STEP}.",
                      param, ctx)
        return int(digits) if not ep else f"{int(digits)}ep"


class _FileName(click.ParamType):
    """A file name as the OS gives it: bytes (``CliRunner``, ``main([b"..."])``) decode
    like ``sys.argv`` does (undecodable bytes kept as lone surrogates, so the file is
    still found) instead of click's lossy UTF-8 ``replace``; a NUL byte is refused."""

    name = "file"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        text = os.fsdecode(value) if isinstance(value, (bytes, os.PathLike)) else str(value)
        if "\x00" in text:
            self.fail(f"{_shown(text)} is not a file name (it holds a NUL byte).", param, ctx)
        return text


FILE = _FileName()


# ---- shared options and helpers ---------------------------------------------------------

def _context_options(f: Callable) -> Callable:
    """--steps-per-epoch and --total-steps: override the document's context."""
    f = click.option("--total-steps", type=_TotalSteps(), metavar="N|Nep", default=None,
                     help="Override the spec's total_steps (steps, or epochs as 'Nep').")(f)
    f = click.option("--steps-per-epoch", type=_Int(1, MAX_STEP), default=None,
                     metavar="N", help="Override the spec's steps_per_epoch.")(f)
    return f


def _backends_option(f: Callable) -> Callable:
    return click.option(
        "--backends", "-b", "backends", multiple=True, metavar="NAME[,NAME...]",
        help="Backends to check (comma-separated or repeated): "
             + ", ".join(_known_backends()) + ".")(f)


def _known_backends() -> tuple[str, ...]:
    from .backends import names

    return names()


def _backend_list(raw: Sequence[str], default_all: bool) -> list[str] | None:
    """Parse --backends; check each is known and installed."""
    from .parity import available_backends

    names = [n.strip() for item in raw for n in item.split(",") if n.strip()]
    if not names:
        return available_backends() if default_all else []
    have = available_backends()
    out: list[str] = []
    for name in names:
        if name not in _known_backends():
            raise SpecError("--backends", "must be among " + ", ".join(_known_backends()),
                            name)
        if name not in have:
            raise SpecError("--backends", f"{name} needs a framework that is not installed "
                            "here (available: " + ", ".join(have) + ")", name)
        if name not in out:
            out.append(name)
    return out


def _read(path: str) -> Schedule:
    """Load one spec file (or ``-``: spec text on stdin); errors name the file."""
    if not path.strip():
        raise BadInput(f"{_shown(path)}: is not a file name: give a spec file or '-'")
    try:
        if path == "-":
            text = _read_stdin()
            fmt = "json" if text.lstrip().startswith("{") else "yaml"
            data = parse(text, fmt, "<stdin>")
            if not isinstance(data, dict):
                raise SpecError("<stdin>", "must hold a mapping (lrcore: 1, schedule: ...)",
                                data)
            return Schedule.from_dict(data)
        return load(Path(path))
    except SpecError as err:
        where = "<stdin>" if path == "-" else str(Path(path))
        if str(err).startswith(where):
            raise
        raise BadInput(f"{where}: {err}") from None


def _read_stdin() -> str:
    """Spec text from stdin, read as files are: at most MAX_BYTES bytes of UTF-8."""
    stream = sys.stdin
    if stream is None or stream.closed:  # `lrcore show - <&-`
        raise SpecError("<stdin>", "is closed: pipe a spec into it or give a file name")
    buffer = getattr(stream, "buffer", None)
    raw = buffer.read(MAX_BYTES + 1) if buffer is not None else \
        stream.read(MAX_BYTES + 1).encode("utf-8", "surrogateescape")
    if len(raw) > MAX_BYTES:  # `< /dev/zero` would otherwise grow until MemoryError
        raise SpecError("<stdin>", f"must be at most {MAX_BYTES} bytes", "more")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError("<stdin>", "is not UTF-8 text") from None
    if not text.strip():  # `< /dev/null`
        raise SpecError("<stdin>", "is empty: pipe a spec into it or give a file name")
    return text


def _label(path: str, doc: Schedule) -> str:
    """The spec's name, else its file stem, printable (see :func:`printable`)."""
    if doc.name:
        return printable(doc.name)
    return "stdin" if path == "-" else printable(Path(path).stem)


def _resolve(path: str, doc: Schedule, spe: int | None, total: int | str | None) -> Schedule:
    try:
        return doc.resolve(spe, total)
    except SpecError as err:
        raise BadInput(f"{path}: {err}") from None


def _expand(paths: Sequence[str]) -> list[str]:
    """Spec files: a directory stands for its .yaml/.yml/.json files, sorted by name."""
    out: list[str] = []
    for p in paths:
        if p != "-" and Path(p).is_dir():
            files = sorted(str(f) for f in Path(p).iterdir()
                           if f.is_file() and f.suffix.lower() in SPEC_SUFFIXES)
            if not files:
                raise BadInput(f"{p}: has no spec files (.yaml, .yml or .json)")
            out += files
        else:
            out.append(p)
    return out


def _horizon(doc: Schedule, steps: int | None) -> int:
    """The last step to show: --steps, else the resolved spec's horizon (1000 if none)."""
    if steps is not None:
        return steps
    return min(doc.horizon() or 1000, MAX_STEP)


def _fmt(x: float) -> str:
    return f"{x:.7g}"


# ---- the command --------------------------------------------------------------------------

@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(None, "-V", "--version", package_name="lrcore", prog_name="lrcore")
def cli() -> None:
    """One learning-rate schedule spec, the same curve in Keras, PyTorch and optax.

    SPEC is a .yaml, .yml or .json spec file ('-' reads it from stdin).
    """


# ---- show ---------------------------------------------------------------------------------

@cli.command()
@click.argument("spec", type=FILE)
@click.option("--steps", type=_Int(1, MAX_STEP), default=None, metavar="N",
              help="Last step to show (default: the spec's horizon).")
@click.option("--width", type=_Int(10, 400), default=64, show_default=True,
              help="Width of the curve, in characters.")
@click.option("--height", type=_Int(2, 100), default=8, show_default=True,
              help="Height of the curve, in lines.")
@_context_options
def show(spec: str, steps: int | None, width: int, height: int,
         steps_per_epoch: int | None, total_steps: int | str | None) -> None:
    """Print the resolved tree, key rates and a text plot.

    The tree lists every node with its resolved parameters and steps [start, end);
    then the peak and final rates, the rate on each side of every boundary, and the
    curve drawn in the terminal.
    """
    doc = _read(spec)
    res = _resolve(spec, doc, steps_per_epoch, total_steps)
    n = _horizon(res, steps)
    uni = _unicode_ok(sys.stdout)
    out = [f"{_label(spec, doc)}  (fingerprint {doc.fingerprint()})"]
    ctx = [f"{k} {getattr(res, k)}" for k in ("steps_per_epoch", "total_steps")
           if getattr(res, k) is not None]
    if ctx:
        out.append("  ".join(ctx))
    out += ["", *_tree(res.schedule, doc.schedule, uni), ""]

    t = _sample(res, n)
    lr = _evaluate(res, t)
    i = int(np.argmax(lr))
    out.append(f"peak   {_fmt(lr[i])} at step {int(t[i])}")
    out.append(f"final  {_fmt(lr[-1])} at step {n}")
    bounds = sorted({b for b in res.schedule.breakpoints() if 0 < b <= n})
    if bounds:
        out += ["", f"{'boundary':>10}  {'rate before':>14}  {'rate at':>14}"]
        before = _evaluate(res, np.asarray([b - 1 for b in bounds]))
        at = _evaluate(res, np.asarray(bounds))
        out += [f"{b:>10}  {_fmt(x):>14}  {_fmt(y):>14}"
                for b, x, y in zip(bounds, before, at, strict=True)]
    out += ["", *block_plot(t, lr, width, height, uni)]
    for (name, tree), (_, written) in zip(res.hyperparams, doc.hyperparams, strict=True):
        values = evaluate(res, t, hyperparam=name)
        out += ["", f"hyperparams.{name}", *_tree(tree, written, uni), "",
                f"range  {_fmt(float(values.min()))} to {_fmt(float(values.max()))}",
                f"final  {_fmt(values[-1])} at step {n}", "",
                *block_plot(t, values, width, height, uni)]
    click.echo("\n".join(out))


def _evaluate(doc: Schedule, t: np.ndarray) -> np.ndarray:
    return evaluate(doc, t)


def _sample(doc: Schedule, n: int) -> np.ndarray:
    """Steps 0..n, every one up to a million, else evenly sampled plus every boundary."""
    if n + 1 <= _DENSE:
        return np.arange(n + 1, dtype=np.int64)
    t = np.linspace(0, n, _DENSE).round().astype(np.int64)
    near = [x for b in doc.schedule.breakpoints() for x in (b - 1, b) if 0 <= x <= n]
    return np.unique(np.concatenate([t, np.asarray(near, dtype=np.int64), [n]]))


def _unicode_ok(stream: TextIO) -> bool:
    try:
        "█├└─│→".encode(getattr(stream, "encoding", None) or "ascii")
        return True
    except (UnicodeEncodeError, LookupError):
        return False


def _is_child(value: Any) -> bool:
    from .node import Node

    return isinstance(value, Node) or (isinstance(value, tuple) and bool(value)
                                       and isinstance(value[0], Node))


def _params(node: Any, orig: Any) -> str:
    """A resolved node's own parameters (not its children), compactly; a step value
    written as epochs or a share shows it (``duration=200 (2ep)``), one filled in from
    the enclosing span says so (``duration=2500 (rest)``)."""
    parts = []
    written = orig.to_dict()
    for key, value in node.to_dict().items():
        if key == "type" or _is_child(getattr(node, key, None)):
            continue
        text = _fmt(value) if isinstance(value, float) else json.dumps(value)
        if len(text) > 40:
            text = text[:37] + "..."
        was = written.get(key)
        if isinstance(was, str) and was != value and "/" not in was:
            text += f" ({was})"
        elif key == "duration" and was is None:
            text += " (rest)"
        parts.append(f"{key}={text}")
    return " ".join(parts)


def _tree(root: Any, orig: Any, uni: bool) -> list[str]:
    """One line per node: type, parameters and steps [start, end). Phases of a sequence
    carry run steps; below any other combinator (repeat, shift, scale, ...) time is the
    child's own, marked ``local``."""
    from .nodes.sequence import Sequence as Seq

    tee, last, bar = ("├─ ", "└─ ", "│  ") if uni else ("|- ", "`- ", "|  ")
    rows: list[tuple[str, str]] = []

    def span(node: Any, start: Any, local: bool) -> str:
        end = exact(node.duration) if node.duration is not None else node.horizon()
        at = real_form(Fraction(start))  # a phase may start or end between steps
        where = f"[{at}, {real_form(Fraction(start + end))})" if end is not None \
            else f"[{at}, ...)"
        return f"local {where}" if local else where

    def visit(node: Any, orig: Any, start: int, local: bool, prefix: str, branch: str,
              name: str) -> None:
        rows.append((f"{prefix}{branch}{name}{node.type} {_params(node, orig)}".rstrip(),
                     span(node, start, local)))
        kids = list(node.children())
        if isinstance(node, Seq):
            starts, inner = [start + s for s in node.starts()], local
        else:
            starts, inner = [0] * len(kids), True
        child_prefix = prefix + ("" if not branch else (bar if branch == tee else "   "))
        for k, ((suffix, child), (_, was), s) in enumerate(
                zip(kids, orig.children(), starts, strict=True)):
            visit(child, was, s, inner, child_prefix, last if k == len(kids) - 1 else tee,
                  f"{suffix.lstrip('.')}: ")

    visit(root, orig, 0, False, "", "", "")
    width = max(len(a) for a, _ in rows)
    return [f"{a:<{width}}  {b}" for a, b in rows]


def block_plot(t: np.ndarray, lr: np.ndarray, width: int = 64, height: int = 8,
               uni: bool = True) -> list[str]:
    """A bar chart of the curve in text: each column is the largest rate over its steps,
    drawn with eighth blocks (``#`` when the terminal cannot show them)."""
    t = np.asarray(t)
    lr = np.asarray(lr, dtype=np.float64)
    top = float(lr.max()) if lr.size else 0.0
    edges = np.linspace(int(t[0]), int(t[-1]) + 1, width + 1)
    col = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, width - 1)
    heights = np.zeros(width)
    np.maximum.at(heights, col, lr)
    filled = np.zeros(width, dtype=bool)
    filled[col] = True
    # columns with no step of their own (fewer steps than columns) repeat the previous one
    for c in range(1, width):
        if not filled[c]:
            heights[c] = heights[c - 1]
    eighths = np.zeros(width, dtype=int) if top <= 0 else \
        np.round(heights / top * height * 8).astype(int)
    chars = " ▁▂▃▄▅▆▇█" if uni else "        #"
    labels = [_fmt(top), *[""] * (height - 2), "0"]
    pad = max(len(s) for s in labels)
    side = "│" if uni else "|"
    lines = []
    for row in range(height):
        level = (height - 1 - row) * 8
        cells = "".join(chars[min(max(int(e) - level, 0), 8)] for e in eighths)
        lines.append(f"{labels[row]:>{pad}} {side}{cells}")
    axis = ("└" if uni else "+") + ("─" if uni else "-") * width
    left, right = str(int(t[0])), str(int(t[-1]))
    lines.append(" " * pad + " " + axis)
    lines.append(" " * (pad + 2) + left + right.rjust(width - len(left)) + "  step")
    return lines


# ---- plot ---------------------------------------------------------------------------------

@cli.command()
@click.argument("specs", nargs=-1, required=True, type=FILE)
@click.option("-o", "--output", required=True, metavar="FILE", type=FILE,
              help="Image to write: .png, .svg or .pdf.")
@click.option("--steps", type=_Int(1, MAX_STEP), default=None, metavar="N",
              help="Last step on the x axis (default: the longest spec's horizon).")
@click.option("--log", "log_scale", is_flag=True, help="Logarithmic rate axis.")
@_backends_option
@click.option("--title", default=None, help="Figure title.")
@click.option("--size", type=(_Float(1, 50), _Float(1, 50)),
              default=(9.0, 6.0), show_default=True, metavar="W H",
              help="Figure size in inches.")
@click.option("--dpi", type=_Int(10, 1200), default=100, show_default=True,
              metavar="DPI",
              help="Pixels per inch (a 9 x 6 figure at 100 dpi is 900 x 600 px).")
@_context_options
def plot(specs: tuple[str, ...], output: str, steps: int | None, log_scale: bool,
         backends: tuple[str, ...], title: str | None, size: tuple[float, float], dpi: int,
         steps_per_epoch: int | None, total_steps: int | str | None) -> None:
    """Draw specs to a PNG, SVG or PDF file.

    Several specs are overlaid, each labelled by its name (else its file stem); dotted
    vertical lines mark phase boundaries. With --backends, a lower panel shows each
    backend's error against the float64 reference, in ulps of the backend's dtype.
    """
    out = Path(output)
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise BadInput(f"{output}: the image must end in .png, .svg or .pdf")
    names = _backend_list(backends, default_all=False)
    loaded = [(p, _read(p)) for p in _expand(specs)]
    curves = [(_label(p, d), _resolve(p, d, steps_per_epoch, total_steps))
              for p, d in loaded]
    try:
        from . import plot as plotting
    except ModuleNotFoundError as err:  # matplotlib is the `plot` extra
        raise BadInput(f"lrcore plot needs matplotlib ({err}); pip install 'lrcore[plot]'") \
            from None
    try:
        plotting.check_image(size, dpi, out.suffix.lower().lstrip("."))
        plotting.plot(curves, out, steps=steps, log=log_scale, backends=names,
                      title=title, size=size, dpi=dpi)
    except SpecError as err:  # name the option: --size, --dpi, --log
        if err.path not in ("size", "dpi", "log"):
            raise
        raise BadInput(f"--{err}") from None
    click.echo(f"wrote {printable(str(out))}")


# ---- parity -------------------------------------------------------------------------------

@cli.command()
@click.argument("specs", nargs=-1, required=True, metavar="SPEC_OR_DIR...",
                type=FILE)
@_backends_option
@click.option("--steps", type=_Int(1, 200_000), default=None, metavar="N",
              help="Check every step up to N (plus boundaries and far steps); default: "
                   "the spec's horizon.")
@click.option("--rtol", type=_Float(0, 1), default=None, metavar="R",
              help="Relative tolerance for every backend (default: by dtype, 1e-6 for "
                   "float32, 1e-12 for float64).")
@click.option("--atol", type=_Float(0, 1), default=None, metavar="A",
              help="Absolute tolerance as a share of the peak rate (default: by dtype).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON report (shape: lrcore.schema.PARITY_REPORT_SCHEMA).")
@click.option("-v", "--verbose", is_flag=True,
              help="Let the frameworks' own log lines through (TensorFlow's C++ logging "
                   "and the like, from the worker processes); by default they are "
                   "silenced and shown only if a worker fails.")
@_context_options
def parity(specs: tuple[str, ...], backends: tuple[str, ...], steps: int | None,
           rtol: float | None, atol: float | None, as_json: bool, verbose: bool,
           steps_per_epoch: int | None, total_steps: int | str | None) -> None:
    """Check each spec on every backend against the reference.

    A directory stands for every .yaml/.yml/.json file in it. Exit status 0 when all
    pass, 1 when any fails, 2 on bad input or when a backend's worker process dies.
    Default backends: every installed one.
    """
    from .parity import Workers

    names = _backend_list(backends, default_all=True) or []
    # the Keras workers start first: their framework imports overlap with the rest
    with Workers(names, verbose=verbose, isolate=True) as workers:
        files = _expand(specs)
        total = total_steps
        docs = [_read(p) for p in files]
        for p, d in zip(files, docs, strict=True):
            _resolve(p, d, steps_per_epoch, total)  # every spec valid before any work
        labels = [_label(p, d) for p, d in zip(files, docs, strict=True)]
        reports = run_parity(docs, labels, names, steps, rtol, atol, workers=workers,
                             steps_per_epoch=steps_per_epoch, total_steps=total)
    ok = all(r.ok for r in reports)
    if as_json:
        click.echo(json.dumps(parity_json(reports, files, names), indent=2, allow_nan=False))
    else:
        from .parity import histogram_table, ulp_histogram

        click.echo("\n\n".join(r.table() for r in reports))
        if names:
            click.echo("\n" + histogram_table(ulp_histogram(reports)))
        failed = [f"{c.name} ({', '.join(x.backend for x in c.failures)})"
                  for r in reports for c in (r, *r.curves) if c.failures]
        summary = (f"{len(reports)} spec(s) on {len(names)} backend(s): "
                   + ("all passed" if ok else f"{len(failed)} failed: " + "; ".join(failed)))
        click.echo("\n" + summary)
    click.get_current_context().exit(0 if ok else 1)


def run_parity(docs: Sequence[Schedule], labels: Sequence[str], backends: Sequence[str],
               steps: int | None, rtol: float | None, atol: float | None, *,
               progress: Progress | None = None, workers: Any = None,
               **context: Any) -> list:
    """parity.check_many over every spec at once, the worker processes computing while
    this one does (``workers``: started earlier by the caller), with a progress bar per
    backend. A worker that dies is bad input's exit 2, its last line the message."""
    from .parity import Report, WorkerError, check_many

    progress = progress or Progress(max(len(backends), 1))
    try:
        heads = check_many(docs, backends, steps, rtol, atol, names=list(labels),
                           workers=workers, progress=progress.advance, **context)
    except WorkerError as err:
        raise BadInput(str(err)) from None
    finally:
        progress.close()
    # the document's own fingerprint (as `lrcore show` and Schedule.fingerprint() give
    # it), not the resolved tree's that check_many reports
    return [Report(name=h.name, fingerprint=d.fingerprint(), peak=h.peak,
                   results=h.results, curves=h.curves)
            for d, h in zip(docs, heads, strict=True)]


def _finite(x: Any) -> Any:
    return x if not isinstance(x, float) or math.isfinite(x) else None


def parity_json(reports: Sequence[Any], files: Sequence[str | None],
                backends: Sequence[str]) -> dict:
    """The ``--json`` report (see :data:`lrcore.schema.PARITY_REPORT_SCHEMA`)."""
    from . import __version__
    from .schema import PARITY_REPORT_VERSION

    specs = []
    for rep, f in zip(reports, files, strict=True):
        # a hyperparameter curve is an entry of its own, named "spec:momentum"
        for one in (dataclasses.replace(rep, curves=()), *rep.curves):
            specs.append({"file": f, "name": one.name, "fingerprint": one.fingerprint,
                          "peak": one.peak, "ok": one.ok,
                          "results": [{k: _finite(v) for k, v in r.to_dict().items()}
                                      for r in one.results]})
    from .parity import ulp_histogram

    return {"report_version": PARITY_REPORT_VERSION, "lrcore_version": __version__,
            "ok": all(r.ok for r in reports), "backends": list(backends), "specs": specs,
            "ulp_histogram": [h.to_dict() for h in ulp_histogram(reports)]}


class Progress:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal and the
    work has run for more than ``delay`` seconds; otherwise it writes nothing."""

    def __init__(self, total: int, stream: TextIO | None = None, delay: float = 2.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.done = total, 0
        self.stream = stream if stream is not None else sys.stderr
        self.delay, self.clock = delay, clock
        self.start = clock()
        self.drawn = False
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = bool(isatty and isatty())

    def advance(self, label: str = "") -> None:
        """Mark the start of the next unit of work (``label``: what it is)."""
        if self.enabled and self.clock() - self.start > self.delay:
            width = 24
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {label[:40]:<40}")
            self.stream.flush()
            self.drawn = True
        self.done += 1

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * 80 + "\r")
            self.stream.flush()
            self.drawn = False


# ---- convert, schema, evaluate ------------------------------------------------------------

@cli.command()
@click.argument("spec", type=FILE)
@click.option("--to", "fmt", type=click.Choice(["yaml", "json"]), default="yaml",
              show_default=True, help="Output format.")
@click.option("-o", "--output", default=None, metavar="FILE", type=FILE,
              help="Write to FILE instead of stdout.")
def convert(spec: str, fmt: str, output: str | None) -> None:
    """Print a spec in canonical form.

    Defaults are left out and keys come in a fixed order, so equal specs print the
    same text (YAML or JSON).
    """
    text = dumps(_read(spec), fmt)
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@cli.command()
@click.option("--indent", type=_Int(0, 8), default=2, show_default=True)
def schema(indent: int) -> None:
    """Print the JSON Schema (draft 2020-12) of the spec format."""
    from .schema import spec_schema

    click.echo(json.dumps(spec_schema(), indent=indent or None))


def parse_steps(text: str) -> np.ndarray:
    """``N``, ``start:stop[:step]`` (a Python range) or a comma-separated list of them,
    written with the digits 0-9; every step in [0, 2**31 - 1], at most
    :data:`MAX_EVAL_STEPS` of them (both checked before any array is made)."""
    rule = "must be N, start:stop[:step] or a comma-separated list of them"
    parts: list[range] = []
    count = 0
    for item in text.split(","):
        fields = [f.strip() for f in item.split(":")]
        if not all(not f or _INT.fullmatch(f) for f in fields):
            raise SpecError("--steps", rule, text)
        if any(len(f.lstrip("+-").lstrip("0")) > 30 for f in fields):
            raise SpecError("--steps", "must be in [0, 2**31 - 1]", text)
        nums = [int(f) if f else None for f in fields]
        if len(nums) == 1 and nums[0] is not None:
            r = range(nums[0], nums[0] + 1)
        elif len(nums) in (2, 3):
            start = nums[0] if nums[0] is not None else 0
            stop = nums[1]
            step = nums[2] if len(nums) == 3 and nums[2] is not None else 1
            if stop is None:
                raise SpecError("--steps", "a range needs its stop (start:stop[:step])", text)
            if step == 0:
                raise SpecError("--steps", "a range's step must not be 0", text)
            r = range(start, stop, step)
        else:
            raise SpecError("--steps", rule, text)
        count += (r[-1] - r[0]) // r.step + 1 if r else 0  # len(r) overflows past 2**63
        if count > MAX_EVAL_STEPS:
            raise SpecError("--steps", f"must select at most {MAX_EVAL_STEPS} steps", text)
        parts.append(r)
    ends = [x for r in parts if r for x in (r[0], r[-1])]
    if ends and (min(ends) < 0 or max(ends) > MAX_STEP):
        raise SpecError("--steps", "must be in [0, 2**31 - 1]",
                        min(ends) if min(ends) < 0 else max(ends))
    if not parts:  # pragma: no cover - str.split always gives one item
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([np.arange(r.start, r.stop, r.step, dtype=np.int64)
                           for r in parts])


@cli.command(name="evaluate")
@click.argument("spec", type=FILE)
@click.option("--steps", "steps_text", default=None, metavar="RANGE",
              help="Steps: N, start:stop[:step] (like a Python range) or a comma-separated "
                   "list of them. Default: 0 to the spec's horizon.")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True)
@_context_options
def evaluate_cmd(spec: str, steps_text: str | None, fmt: str, steps_per_epoch: int | None,
                 total_steps: int | str | None) -> None:
    """Print the reference rate at each step (CSV or JSON).

    Rates are the float64 reference, printed at full precision (they parse back to the
    same numbers).
    """
    from .evaluate import evaluate

    doc = _read(spec)
    res = _resolve(spec, doc, steps_per_epoch, total_steps)
    if steps_text is None:
        last = _horizon(res, None)
        if last + 1 > MAX_EVAL_STEPS:
            raise SpecError("--steps", f"is needed: the spec runs for {last} steps, more "
                            f"than the {MAX_EVAL_STEPS} printed at most")
        t = np.arange(last + 1, dtype=np.int64)
    else:
        t = parse_steps(steps_text)
    lr = evaluate(doc, t, steps_per_epoch=steps_per_epoch, total_steps=total_steps)
    steps_list, lr_list = t.tolist(), lr.tolist()
    # every hyperparameter curve as a column of its own (JSON: under "hyperparams")
    hyper = {name: evaluate(doc, t, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
                            hyperparam=name).tolist() for name, _ in doc.hyperparams}
    if fmt == "json":
        name = doc.name if doc.name else _label(spec, doc)  # JSON escapes any text
        out = {"name": name, "fingerprint": doc.fingerprint(), "step": steps_list,
               "lr": lr_list}
        if hyper:
            out["hyperparams"] = hyper
        click.echo(json.dumps(out))
        return
    if sys.stdout is None:  # `>&-`: nothing to print to, as click.echo then does
        return
    write = sys.stdout.write
    write(",".join(["step", "lr", *hyper]) + "\n")
    columns = [steps_list, lr_list, *hyper.values()]
    chunk = 65536
    for i in range(0, len(steps_list), chunk):
        rows = zip(*(c[i:i + chunk] for c in columns), strict=True)
        write("".join(str(row[0]) + "".join(f",{x!r}" for x in row[1:]) + "\n"
                      for row in rows))
    sys.stdout.flush()


def main(args: Sequence[str] | None = None) -> Any:
    """Entry point of the ``lrcore`` console script."""
    return cli.main(args=list(args) if args is not None else None, prog_name="lrcore")


if __name__ == "__main__":
    main()
