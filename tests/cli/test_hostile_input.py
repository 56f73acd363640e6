"""Hostile command-line input: every case is bad input (exit 2, a short message, no
traceback) or is drawn as written; none is an internal error (exit 3).

Numbers past any range, numbers in other scripts' digits, NaN sizes, mathtext in titles
and names, file names that are not UTF-8, images too large to draw, a closed or endless
stdin, and output into a full device. Most run in process (click's CliRunner, which
writes stdout with strict UTF-8, as a UTF-8 locale does); the ones that need a real file
descriptor run ``python -m lrcore.cli`` in a subprocess. The expected messages are
written out in full.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli
from click.testing import CliRunner

from lrcore.cli import cli

BIG = "9" * 5000
CONSTANT = "lrcore: 1\nschedule: {type: constant, value: 0.1, duration: 100}\n"
MAX = 2**31 - 1


def invoke(*args, stdin=None):
    return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False,
                              prog_name="lrcore")


@pytest.fixture()
def spec(tmp_path) -> Path:
    p = tmp_path / "c.yaml"
    p.write_text(CONSTANT)
    return p


def _usage_error(result, command: str, message: str) -> None:
    """click's usage error: exit 2, the usage, a hint and one ``Error:`` line."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Usage: lrcore {command} ")
    assert lines[1:] == [f"Try 'lrcore {command} --help' for help.", "", message]


# ---- numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, message", [
    ("--steps", "99999999999999999999",
     f"'--steps': 99999999999999999999 is not in the range 1<=x<={MAX}."),
    ("--steps", BIG,
     f"'--steps': {'9' * 40}... (5000 digits) is not in the range 1<=x<={MAX}."),
    ("--steps", "\u0661\u0662", "'--steps': '\u0661\u0662' is not an integer (digits 0-9)."),
    ("--steps", "\uff11\uff12", "'--steps': '\uff11\uff12' is not an integer (digits 0-9)."),
    ("--steps", "1_0", "'--steps': '1_0' is not an integer (digits 0-9)."),
    ("--width", BIG, f"'--width': {'9' * 40}... (5000 digits) is not in the range "
     "10<=x<=400."),
    ("--steps-per-epoch", "\u00b2", "'--steps-per-epoch': '\u00b2' is not an integer "
     "(digits 0-9)."),
    ("--total-steps", BIG,
     f"'--total-steps': {'9' * 40}... (5000 digits) is not in the range 1<=x<={MAX}."),
    ("--total-steps", "99999999999999999999",
     f"'--total-steps': 99999999999999999999 is not in the range 1<=x<={MAX}."),
    ("--total-steps", "99999999999999999999ep",
     f"'--total-steps': 99999999999999999999ep is not in the range 1<=x<={MAX}."),
    ("--total-steps", "\u00b2", "'--total-steps': '\u00b2' is not a number of steps N or of "
     "epochs Nep (digits 0-9)."),
    ("--total-steps", "\u0661\u0662", "'--total-steps': '\u0661\u0662' is not a number of "
     "steps N or of epochs Nep (digits 0-9)."),
])
def test_show_numbers_out_of_range_or_not_ascii(spec, option, value, message):
    """20-digit and 5000-digit integers, Arabic-Indic, fullwidth and superscript digits:
    click's usage error naming the option and the range; a long value is cut to 40
    characters."""
    _usage_error(invoke("show", str(spec), option, value), "show",
                 f"Error: Invalid value for {message}")


@pytest.mark.parametrize("steps, message", [
    ("0:99999999999999999999", '--steps: must select at most 10000000 steps, got '
     '"0:99999999999999999999"'),
    ("99999999999999999999:99999999999999999999999", '--steps: must select at most '
     '10000000 steps, got "99999999999999999999:99999999999999999999999"'),
    ("99999999999999999999", "--steps: must be in [0, 2**31 - 1], got 99999999999999999999"),
    ("0:5:99999999999999999999", None),
    ("2147483640:2147483660:10", "--steps: must be in [0, 2**31 - 1], got 2147483650"),
    (BIG, f'--steps: must be in [0, 2**31 - 1], got "{"9" * 76}...'),
    ("\u0661\u0662", '--steps: must be N, start:stop[:step] or a comma-separated list of '
     'them, got "\\u0661\\u0662"'),
])
def test_evaluate_steps_out_of_range_or_not_ascii(spec, steps, message):
    """`evaluate --steps`: a range's length and ends are checked in Python integers
    before any array is made (len() of a 20-digit range overflows; numpy refuses an
    int64 past 2**63); a range that selects only in-domain steps still works."""
    r = invoke("evaluate", str(spec), "--steps", steps)
    if message is None:
        assert r.exit_code == 0, r.output
        assert r.stdout == "step,lr\n0,0.1\n"
        return
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    assert r.stderr == f"error: {message}\n"


@pytest.mark.parametrize("size, message", [
    (("nan", "3"), "nan is not in the range 1<=x<=50."),
    (("3", "-inf"), "-inf is not in the range 1<=x<=50."),
    (("1e400", "3"), "inf is not in the range 1<=x<=50."),
    (("0", "3"), "0.0 is not in the range 1<=x<=50."),
    (("-1", "3"), "-1.0 is not in the range 1<=x<=50."),
    (("100000", "100000"), "100000.0 is not in the range 1<=x<=50."),
    (("\u0663", "3"), "'\u0663' is not a number (digits 0-9)."),
])
def test_plot_size_nan_inf_negative_zero_huge(spec, tmp_path, size, message):
    """--size: NaN passed click's FloatRange (comparisons with NaN are false) and then
    crashed matplotlib; now every non-finite, non-positive or huge size is refused."""
    r = invoke("plot", str(spec), "-o", str(tmp_path / "x.png"), "--size", *size)
    _usage_error(r, "plot", f"Error: Invalid value for '--size': {message}")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("option", ["--rtol", "--atol"])
def test_parity_tolerances_must_be_finite(spec, option):
    """--rtol/--atol: the same number type (NaN is out of range, as a usage error)."""
    r = invoke("parity", str(spec), "-b", "python", option, "nan")
    _usage_error(r, "parity", f"Error: Invalid value for '{option}': nan is not in the "
                 "range 0<=x<=1.")


# ---- images too large, text that is not plain -----------------------------------------------

def _limit_memory(megabytes: int):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return limit


@pytest.mark.parametrize("args, px", [
    (["--size", "50", "50", "--dpi", "1200"], "60000 x 60000"),
    (["--size", "50", "40", "--dpi", "300"], "15000 x 12000"),
])
def test_plot_too_large_to_draw_is_refused_before_drawing(spec, tmp_path, args, px):
    """A PNG over 25 000 000 pixels is refused before matplotlib allocates: the process
    runs under a 2 GiB address-space limit (a 60000 x 60000 canvas is 14 GB; before the
    check it ran two minutes to a 14 GB peak)."""
    out = tmp_path / "x.png"
    cmd = [sys.executable, "-m", "lrcore.cli", "plot", str(spec), "-o", str(out), *args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False,
                       preexec_fn=_limit_memory(2048))
    size = f"{args[1]} x {args[2]} in"
    assert (r.returncode, r.stdout) == (2, ""), r.stderr
    assert r.stderr == (f"error: --size: at {args[4]} dpi makes a {px} px PNG, more than the "
                        "25000000 pixels lrcore draws (about 5000 x 5000): lower the size "
                        f'or the dpi, got "{size}"\n')
    assert not out.exists()


def test_plot_api_refuses_an_image_too_large(spec, tmp_path):
    """lrcore.plot.plot (the Python API) applies the same limit."""
    pytest.importorskip("matplotlib")
    import lrcore
    from lrcore.plot import plot

    with pytest.raises(lrcore.SpecError) as err:
        plot([("c", lrcore.load(spec))], tmp_path / "x.png", size=(100.0, 100.0), dpi=100)
    assert str(err.value) == ("size: at 100 dpi makes a 10000 x 10000 px PNG, more than the "
                              "25000000 pixels lrcore draws (about 5000 x 5000): lower the "
                              'size or the dpi, got "100 x 100 in"')


def _svg_texts(path: Path) -> list[str]:
    svg = path.read_text(encoding="utf-8")
    return [chunk.split("<", 1)[0] for chunk in svg.split(">")[1:]]


@pytest.mark.parametrize("text", ["$x^$", "$\\frac{", "a$b", "$\\alpha$", "_hidden"])
def test_mathtext_titles_and_names_are_drawn_literally(tmp_path, text):
    """A title or a spec name that matplotlib would parse as mathtext (``$x^$`` raised
    ParseSyntaxException, exit 3) is drawn as written, in the title and in the legend;
    a name starting with ``_`` is still a legend label. SVG keeps text as text."""
    pytest.importorskip("matplotlib")
    p = tmp_path / "named.json"
    p.write_text(json.dumps({"lrcore": 1, "name": text,
                             "schedule": {"type": "constant", "value": 0.1}}))
    out = tmp_path / "x.svg"
    r = invoke("plot", str(p), "-o", str(out), "--title", text, "--size", "4", "3")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"wrote {out}\n"
    assert _svg_texts(out).count(text) == 2  # the title and the legend label


def test_characters_the_font_lacks_are_drawn_as_boxes(spec, tmp_path):
    """A title in a script DejaVu Sans lacks (found by the CLI fuzzer): matplotlib warns
    once per glyph and draws a box; that is the asked image, not an internal error
    (pytest turns the warning into an error, as PYTHONWARNINGS=error does)."""
    pytest.importorskip("matplotlib")
    out = tmp_path / "x.png"
    r = invoke("plot", str(spec), "-o", str(out), "--size", "2", "2", "--dpi", "20",
               "--title", "\u0526 \u4e2d\u6587")
    assert r.exit_code == 0, r.output
    assert (r.stdout, r.stderr) == (f"wrote {out}\n", "")


def test_all_zero_curve_on_a_log_axis_is_bad_input(tmp_path):
    """--log with every rate 0 has nothing to draw (matplotlib warned and drew an empty
    axis): a clear error. Without --log the zero curve draws on a [0, 1] axis."""
    pytest.importorskip("matplotlib")
    p = tmp_path / "zero.yaml"
    p.write_text("lrcore: 1\nschedule: {type: constant, value: 0.0, duration: 10}\n")
    r = invoke("plot", str(p), "-o", str(tmp_path / "z.png"), "--log", "--size", "3", "2")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == ("error: --log: needs a rate > 0 to draw on a log axis: every rate "
                        "drawn is 0\n")
    r = invoke("plot", str(p), "-o", str(tmp_path / "z.png"), "--size", "3", "2")
    assert r.exit_code == 0, r.output


def test_a_figure_too_small_for_its_legend_is_bad_input(spec, tmp_path):
    """Twelve curves on a 1 x 1 in figure: matplotlib's constrained layout collapses (a
    UserWarning, an internal error under -W error); now a clear error naming --size."""
    pytest.importorskip("matplotlib")
    r = invoke("plot", *[str(spec)] * 12, "-o", str(tmp_path / "x.png"), "--size", "1", "1")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == ("error: --size: is too small for the axes, labels and legend (the "
                        "layout collapsed): give a larger size, fewer specs or a shorter "
                        'title, got "1 x 1 in"\n')


# ---- file names that are not UTF-8 ----------------------------------------------------------

def test_bytes_file_names_in_process(tmp_path):
    """Bytes arguments (``main([b"..."])``, CliRunner) are decoded as sys.argv is, so a
    file whose name is not UTF-8 is found (click's own decoding replaced the byte and
    reported a missing file) and an output file gets the asked name; the name prints
    with the byte escaped (stdout here is strict UTF-8)."""
    pytest.importorskip("matplotlib")
    src = os.fsencode(tmp_path) + b"/f\xff.yaml"
    Path(os.fsdecode(src)).write_text(CONSTANT)
    out = os.fsencode(tmp_path) + b"/o\xfe.svg"
    r = invoke("plot", src, "-o", out, "--size", "4", "3", "--title", "t")
    assert r.exit_code == 0, r.output
    assert r.stdout == f"wrote {tmp_path}/o\\xfe.svg\n"
    assert "f\\xff" in _svg_texts(Path(os.fsdecode(out)))  # the legend: the file stem
    r = invoke("show", src, "--steps", "3")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0].startswith("f\\xff  (fingerprint ")
    conv = os.fsencode(tmp_path) + b"/c\xfe.json"
    r = invoke("convert", src, "--to", "json", "-o", conv)
    assert r.exit_code == 0, r.output
    assert os.path.exists(conv)


def test_non_utf8_file_names_in_a_subprocess(tmp_path):
    """Undecodable bytes in argv (a Linux file name in Latin-1) under a strict UTF-8
    stdout: the legend label (the file stem) crashed FreeType (TypeError, exit 3)."""
    pytest.importorskip("matplotlib")
    src = os.fsencode(tmp_path) + b"/f\xff.yaml"
    with open(src, "w") as fh:
        fh.write(CONSTANT)
    out = os.fsencode(tmp_path) + b"/o\xfe.png"
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict", PYTHONWARNINGS="error")
    r = subprocess.run([sys.executable, "-m", "lrcore.cli", "plot", src, "-o", out,
                        "--size", "3", "2", "--title", b"t\xfd"], capture_output=True,
                       env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"wrote " + os.fsencode(tmp_path) + b"/o\\xfe.png\n"
    assert os.path.exists(out)
    r = subprocess.run([sys.executable, "-m", "lrcore.cli", "show", src, "--steps", "2"],
                       capture_output=True, env=env, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(b"f\\xff  (fingerprint ")


def test_nul_byte_in_an_output_name_is_bad_input(spec):
    """A NUL byte cannot be in a file name (open() raised ValueError, exit 3)."""
    r = invoke("convert", str(spec), "-o", "a\x00b.yaml")
    _usage_error(r, "convert", "Error: Invalid value for '-o' / '--output': "
                 "'a\\x00b.yaml' is not a file name (it holds a NUL byte).")


def test_an_empty_spec_name_is_bad_input():
    r = invoke("show", "")
    assert (r.exit_code, r.stdout) == (2, "")
    assert r.stderr == "error: '': is not a file name: give a spec file or '-'\n"


# ---- stdin ----------------------------------------------------------------------------------

def _shell(cmd: str, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="error")
    return subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False, **kw)


PY = f"'{sys.executable}' -m lrcore.cli"


@pytest.mark.parametrize("command", ["show", "evaluate", "convert"])
def test_stdin_closed_or_empty(command):
    """`- <&-` (no stdin at all: sys.stdin is None, AttributeError, exit 3) and
    `- < /dev/null` (an empty document)."""
    r = _shell(f"{PY} {command} - <&-")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "error: <stdin>: is closed: pipe a spec into it or give a file name\n"
    r = _shell(f"{PY} {command} - < /dev/null")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == "error: <stdin>: is empty: pipe a spec into it or give a file name\n"


def test_stdin_is_read_with_the_file_limit():
    """`show - < /dev/zero` read until MemoryError; now at most 1 MiB, as for a file,
    with the same message (under a 1 GiB address-space limit, fast)."""
    with open("/dev/zero", "rb") as zero:
        r = subprocess.run([sys.executable, "-m", "lrcore.cli", "show", "-"], stdin=zero,
                           capture_output=True, text=True, timeout=60, check=False,
                           preexec_fn=_limit_memory(1024))
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == 'error: <stdin>: must be at most 1048576 bytes, got "more"\n'


def test_stdin_in_process_keeps_working():
    r = invoke("evaluate", "-", "--steps", "5", stdin=CONSTANT)
    assert r.exit_code == 0, r.output
    assert r.stdout == "step,lr\n5,0.1\n"


# ---- output into a full device --------------------------------------------------------------

@pytest.mark.parametrize("args", ["--help", "--version", "show -h", "schema",
                                  "evaluate {spec}", "show {spec}", "convert {spec}"])
def test_output_into_a_full_device(spec, args):
    """`> /dev/full`: --help and --version printed a traceback (click re-raises every
    OSError but EPIPE); every command now exits 2 with one line on stderr."""
    r = _shell(f"{PY} {args.format(spec=spec)} > /dev/full")
    assert r.returncode == 2, r.stderr
    assert r.stderr == "error: no space left on device\n"


def test_evaluate_with_stdout_closed(spec):
    """`>&-`: evaluate's CSV writer used sys.stdout (None) and exited 3; now it prints
    nothing, as every other command (click.echo) does."""
    r = _shell(f"{PY} evaluate {spec} >&-")
    assert (r.returncode, r.stderr) == (0, "")


def test_run_cli_helper_sees_the_same(spec):
    """The subprocess helper agrees with the in-process runner on a number error."""
    r = run_cli("show", str(spec), "--steps", "\uff11")
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == ("Error: Invalid value for '--steps': '\uff11' is "
                                         "not an integer (digits 0-9).")
