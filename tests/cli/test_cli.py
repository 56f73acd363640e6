"""`lrcore show`, `evaluate`, `convert` and bad input, driven through a subprocess.

Oracles: the warmup-hold-cosine formulas written out below (plain ``math``), step
numbers worked out by hand from the spec's durations, and, for the output plumbing
only, ``lrcore.evaluate``/``lrcore.load`` (the command must print exactly what the
library computes, at full float64 precision).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
import textwrap

import pytest
from cli_helpers import run_cli, warmup_cosine

import lrcore


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * abs(b) + 1e-15 * 1e-3


# ---- show ---------------------------------------------------------------------------------

def test_show_prints_phases_with_absolute_steps_peak_final_and_boundaries(specs):
    """Phases 200 + 300 + rest of 3000 steps: [0, 200), [200, 500), [500, 3000); peak
    1e-3 first reached at step 200; final rate the cosine's floor; the rate on each
    side of each boundary (by hand: lr(199) = 1e-3 * 199 / 200)."""
    r = run_cli("show", str(specs["wc"]))
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    out = r.stdout
    lines = out.splitlines()
    assert lines[0].startswith("warmup-cosine")
    assert "total_steps 3000" in out
    tree = [ln for ln in lines if ln.lstrip("├└│─ ").startswith(("sequence", "phases["))]
    assert tree[0].startswith("sequence") and tree[0].endswith("[0, 3000)")
    assert "phases[0]: linear" in tree[1] and tree[1].endswith("[0, 200)")
    assert "phases[1]: constant" in tree[2] and tree[2].endswith("[200, 500)")
    assert "phases[2]: cosine" in tree[3] and "duration=2500" in tree[3]
    assert tree[3].endswith("[500, 3000)")
    assert "peak   0.001 at step 200" in out
    assert "final  5e-05 at step 3000" in out
    head = lines.index(next(ln for ln in lines if ln.split()[:1] == ["boundary"]))
    table = lines[head + 1:lines.index("", head)]
    rows = {int(a): (float(b), float(c)) for a, b, c in map(str.split, table)}
    assert sorted(rows) == [200, 500, 3000]
    assert rows[200] == (0.000995, 0.001)  # printed with 7 significant digits
    assert rows[500] == (0.001, 0.001)
    assert math.isclose(rows[3000][0], warmup_cosine(2999), rel_tol=1e-6)


def test_show_prints_real_phase_spans(tmp_path):
    """Phases of 23.4 and 0.25 steps, then 12.5% of 1001 (125.125 exactly): each span
    from its exact real start, the share's resolved length beside it."""
    p = tmp_path / "real.yaml"
    p.write_text(textwrap.dedent("""\
        lrcore: 1
        total_steps: 1001
        schedule:
          type: sequence
          phases:
          - {type: linear, start: 0.0, end: 1.0e-3, duration: 23.4}
          - {type: constant, value: 1.0e-3, duration: 0.25}
          - {type: cosine, start: 1.0e-3, end: 0.0, duration: 12.5%}
        """))
    r = run_cli("show", str(p))
    assert r.returncode == 0, r.stderr
    tree = [ln for ln in r.stdout.splitlines() if "phases[" in ln]
    assert re.search(r"duration=23\.4 +\[0, 23\.4\)$", tree[0]), tree
    assert re.search(r"duration=0\.25 +\[23\.4, 23\.65\)$", tree[1]), tree
    assert re.search(r"duration=125\.125 \(12\.5%\) +\[23\.65, 148\.775\)$", tree[2]), tree


def test_show_draws_the_curve_in_text(specs):
    """The block plot: `--height` rows of bars under the peak label, then an x axis
    from 0 to the horizon; the top row is empty at the start (rate 0 at step 0) and
    full block during the hold."""
    r = run_cli("show", str(specs["wc"]), "--width", "60", "--height", "6")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    axis = next(i for i, ln in enumerate(lines) if "└" + "─" * 60 in ln)
    bars = [ln.split("│", 1)[1] for ln in lines[axis - 6:axis]]
    assert all(len(b) == 60 for b in bars)
    assert lines[axis - 6].split("│")[0].strip() == "0.001"
    assert lines[axis - 1].split("│")[0].strip() == "0"
    top, bottom = bars[0], bars[-1]
    assert top[0] == " "  # warmup starts at 0
    assert top[8] == "█"  # columns 7-9 hold 1e-3 (steps 350-499)
    assert all(c != " " for c in bottom)  # never below the 5e-5 floor past step 0
    assert lines[axis + 1].split() == ["0", "3000", "step"]


def test_show_with_context_overrides():
    """--steps-per-epoch and --total-steps resolve "2ep" and "25%": with 50 steps an
    epoch and 1000 steps, warmup [0, 100), hold [100, 350), decay [350, 1000) (the
    rest); the tree shows each resolved duration beside what was written."""
    text = textwrap.dedent("""\
        lrcore: 1
        schedule:
          type: sequence
          phases:
            - {type: linear, start: 0.0, end: 0.1, duration: 2ep}
            - {type: constant, value: 0.1, duration: 25%}
            - {type: linear, start: 0.1, end: 0.0}
        """)
    r = run_cli("show", "-", "--steps-per-epoch", "50", "--total-steps", "1000", stdin=text)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("phases[0]: linear" in ln and "duration=100 (2ep)" in ln
               and ln.endswith("[0, 100)") for ln in lines)
    assert any("phases[1]: constant" in ln and "duration=250 (25%)" in ln
               and ln.endswith("[100, 350)") for ln in lines)
    assert any("phases[2]: linear" in ln and "duration=650 (rest)" in ln
               and ln.endswith("[350, 1000)") for ln in lines)
    # "20ep" of 50 steps as the total: the last phase then ends at 1000 as well
    r = run_cli("show", "-", "--steps-per-epoch", "50", "--total-steps", "20ep", stdin=text)
    assert r.returncode == 0, r.stderr
    assert "[350, 1000)" in r.stdout
    r = run_cli("show", "-", stdin=text)
    assert r.returncode == 2
    assert "schedule.phases[0].duration: epochs need steps_per_epoch" in r.stderr


def test_show_nested_combinators_in_plain_ascii():
    """Below a non-sequence combinator time is the child's own ("local"): a repeat with
    period 300 as the second phase (after 100 steps) shows its cosine on [0, 300). A
    terminal that cannot encode the box characters gets ASCII."""
    text = textwrap.dedent("""\
        lrcore: 1
        total_steps: 1000
        schedule:
          type: sequence
          phases:
            - {type: linear, start: 0.0, end: 0.1, duration: 100}
            - type: repeat
              period: 300
              duration: 600
              schedule: {type: cosine, start: 0.1, end: 0.01}
            - {type: constant, value: 0.01}
        """)
    r = run_cli("show", "-", stdin=text, PYTHONIOENCODING="ascii")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.isascii()
    lines = out.splitlines()
    assert any(ln.startswith("|- phases[1]: repeat period=300 duration=600")
               and ln.endswith("[100, 700)") for ln in lines)
    assert any("`- schedule: cosine" in ln and "duration=300 (rest)" in ln
               and ln.endswith("local [0, 300)") for ln in lines)
    assert any(ln.startswith("`- phases[2]: constant") and ln.endswith("[700, ...)")
               for ln in lines)
    assert "#" in out and "+" + "-" * 64 in out


# ---- evaluate -----------------------------------------------------------------------------

def test_evaluate_csv_is_exact_and_follows_the_formula(specs):
    """`start:stop:step` is a Python range; each printed rate parses back to exactly
    lrcore.evaluate's float64 and agrees with the formula by hand (rtol 1e-12)."""
    r = run_cli("evaluate", str(specs["wc"]), "--steps", "0:3001:7")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(io.StringIO(r.stdout)))
    assert rows[0] == ["step", "lr"]
    steps = [int(a) for a, _ in rows[1:]]
    rates = [float(b) for _, b in rows[1:]]
    assert steps == list(range(0, 3001, 7))
    assert rates == lrcore.evaluate(lrcore.load(specs["wc"]), steps).tolist()
    for t, x in zip(steps, rates, strict=True):
        assert close(x, warmup_cosine(t)), (t, x)


def test_evaluate_single_step_lists_and_json(specs):
    """A single int is one step; a comma list mixes steps and ranges; JSON carries the
    same numbers (full precision: the JSON float equals the reference exactly)."""
    r = run_cli("evaluate", str(specs["wc"]), "--steps", "199")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1].startswith("199,")
    assert close(float(r.stdout.splitlines()[1].split(",")[1]), 1e-3 * 199 / 200)
    r = run_cli("evaluate", str(specs["wc"]), "--steps", "3000,10,500:503", "--format",
                "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["step"] == [3000, 10, 500, 501, 502]
    assert data["name"] == "warmup-cosine"
    assert data["lr"] == lrcore.evaluate(lrcore.load(specs["wc"]), data["step"]).tolist()
    for t, x in zip(data["step"], data["lr"], strict=True):
        assert close(x, warmup_cosine(t))


def test_evaluate_total_steps_override(tmp_path):
    """--total-steps sets the span of a decay without a duration: linear 0.2 -> 0 over
    400 steps, so lr(100) = 0.2 * 300 / 400 = 0.15 (by hand)."""
    p = tmp_path / "lin.yaml"
    p.write_text("lrcore: 1\nschedule: {type: linear, start: 0.2, end: 0.0}\n")
    r = run_cli("evaluate", str(p), "--steps", "100", "--total-steps", "400")
    assert r.returncode == 0, r.stderr
    assert close(float(r.stdout.splitlines()[1].split(",")[1]), 0.2 * 300 / 400)


def test_evaluate_a_long_spec_needs_explicit_steps(tmp_path):
    """Printing every step of a 2e9-step spec is refused (exit 2) unless --steps says
    which; one far step prints fine: cos(pi t / D) weights, end 0, by hand."""
    p = tmp_path / "long.yaml"
    p.write_text("lrcore: 1\nschedule: {type: cosine, start: 0.1, duration: 2000000000}\n")
    r = run_cli("evaluate", str(p))
    assert r.returncode == 2
    assert "--steps: is needed: the spec runs for 2000000000 steps" in r.stderr
    r = run_cli("evaluate", str(p), "--steps", "1000000000")
    assert r.returncode == 0, r.stderr
    assert close(float(r.stdout.splitlines()[1].split(",")[1]), 0.1 * 0.5)


@pytest.mark.parametrize("steps, message", [
    ("5:x", "--steps: must be N, start:stop"),
    ("10:", "--steps: a range needs its stop"),
    ("0:10:0", "--steps: a range's step must not be 0"),
    ("-3", r"--steps: must be in \[0, 2\*\*31 - 1\], got -3"),
    ("0:20000000", "--steps: must select at most 10000000 steps"),
])
def test_evaluate_bad_steps(specs, steps, message):
    """A bad --steps is bad input: exit 2, the rule on stderr, nothing on stdout."""
    r = run_cli("evaluate", str(specs["wc"]), "--steps", steps)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: ")
    assert re.search(message, r.stderr), r.stderr


# ---- convert ------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_convert_round_trips_to_canonical_form(specs, tmp_path, fmt):
    """The output loads to a spec equal to the input's; defaults written in the input
    (exponent: 1.0) are dropped; converting the output again changes nothing."""
    r = run_cli("convert", str(specs["wc"]), "--to", fmt)
    assert r.returncode == 0, r.stderr
    out = tmp_path / f"out.{fmt}"
    out.write_text(r.stdout)
    assert lrcore.load(out) == lrcore.load(specs["wc"])
    assert "exponent" not in r.stdout
    if fmt == "json":
        assert json.loads(r.stdout)["schedule"]["phases"][1] == {
            "type": "constant", "value": 0.001, "duration": 300}
    again = run_cli("convert", str(out), "--to", fmt)
    assert again.stdout == r.stdout


def test_convert_reads_stdin_and_writes_a_file(specs, tmp_path):
    """'-' reads the spec from stdin; -o writes the file instead of stdout."""
    out = tmp_path / "step.yaml"
    r = run_cli("convert", "-", "--to", "yaml", "-o", str(out),
                stdin=specs["step"].read_text())
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert lrcore.load(out) == lrcore.load(specs["step"])


# ---- bad input everywhere --------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["show"], ["evaluate"], ["convert", "--to", "json"], ["parity", "--backends", "python"],
    ["plot", "-o", "{tmp}/x.png"],
])
def test_invalid_spec_exits_2_with_field_path(specs, tmp_path, command):
    """Every subcommand: an invalid spec gives exit 2 and one line naming the file, the
    field path, the rule and the value; no traceback; nothing on stdout."""
    args = [a.replace("{tmp}", str(tmp_path)) for a in command]
    r = run_cli(args[0], str(specs["bad"]), *args[1:])
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr == (f"error: {specs['bad']}: schedule.phases[0].end: must be >= 0, "
                        "got -0.001\n")
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("text, message", [
    ("lrcore: 1\nschedule: {type: cosin, start: 0.1}\n",
     "schedule.type: must be a known schedule type (did you mean 'cosine'?)"),
    ("lrcore: 1\nschedule: {type: cosine, start: 0.1, stat: 1}\n",
     "schedule.stat: is not a parameter of cosine"),
    ("lrcore: 1\nschedule: {type: cosine, start: 0.1, duration: 3 weeks}\n",
     'schedule.duration: must be a number of steps > 0, "Nep" or "N%", got "3 weeks"'),
    ("schedule: {type: constant, value: 0.1}\n", "lrcore: is required"),
    ("lrcore: 1\nschedule: {type: constant, value: [0.1\n", "is not valid YAML"),
])
def test_bad_documents(tmp_path, text, message):
    """Unknown type, unknown key, bad duration, missing version, broken YAML: exit 2
    with the loader's message (field path included) and no traceback."""
    p = tmp_path / "spec.yaml"
    p.write_text(text)
    r = run_cli("show", str(p))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {p}")
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_unreadable_inputs(tmp_path):
    """A missing file, a directory where a file is expected, a file that is not UTF-8,
    an unknown backend and a bad image suffix: exit 2, no traceback."""
    cases = []
    cases.append((["show", str(tmp_path / "missing.yaml")], "file not found"))
    cases.append((["show", str(tmp_path)], "is a directory"))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00lrcore")
    cases.append((["convert", str(binary)], "is not UTF-8 text"))
    spec = tmp_path / "ok.yaml"
    spec.write_text("lrcore: 1\nschedule: {type: constant, value: 0.1}\n")
    cases.append((["parity", str(spec), "--backends", "optx"], "--backends: must be among"))
    cases.append((["plot", str(spec), "-o", str(tmp_path / "x.gif")], "must end in .png"))
    cases.append((["plot", str(spec), "-o", str(tmp_path / "no" / "x.png")],
                  "no such file or directory"))
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((["parity", str(empty)], "has no spec files"))
    for args, message in cases:
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("error: "), (args, r.stderr)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.stderr


def test_usage_errors_exit_2(specs):
    """click's own usage errors (unknown option, missing argument) exit 2 as well."""
    assert run_cli("show").returncode == 2
    assert run_cli("show", str(specs["wc"]), "--nope").returncode == 2
    assert run_cli("convert", str(specs["wc"]), "--to", "toml").returncode == 2


def test_console_script_and_help():
    """The installed `lrcore` script is the same command; --help lists the subcommands."""
    import shutil
    from pathlib import Path

    exe = shutil.which("lrcore", path=str(Path(sys.executable).parent))
    assert exe is not None, "console script not installed (pip install -e .)"
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False)
    assert r.returncode == 0
    for name in ("show", "plot", "parity", "convert", "schema", "evaluate"):
        assert f"  {name} " in r.stdout


def test_import_lrcore_loads_neither_click_nor_matplotlib():
    """`import lrcore` (and its lazy testing/schema modules) stays free of the CLI's
    dependencies; `lrcore.cli` loads click but not matplotlib."""
    code = ("import sys, lrcore, lrcore.schema; lrcore.testing; "
            "bad = [m for m in ('click', 'matplotlib') if m in sys.modules]; "
            "assert not bad, bad; import lrcore.cli; assert 'click' in sys.modules; "
            "assert 'matplotlib' not in sys.modules, 'cli imported matplotlib'")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       check=False)
    assert r.returncode == 0, r.stderr


_BROKEN = """
import sys
import lrcore.cli
def broken(doc, t):
    raise ZeroDivisionError("simulated bug\\n  on two lines")
lrcore.cli._evaluate = broken
sys.exit(lrcore.cli.main(sys.argv[1:]))
"""


def test_an_internal_error_is_one_line_and_exit_3(specs):
    """A bug (here a simulated one in the evaluation) is not bad input: exit 3 and one
    line naming the exception; LRCORE_TRACEBACK=1 gives the traceback instead."""
    args = [sys.executable, "-c", _BROKEN, "show", str(specs["wc"])]
    r = subprocess.run(args, capture_output=True, text=True, check=False)
    assert r.returncode == 3, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: internal error (ZeroDivisionError: simulated bug "
                               "on two lines)"), r.stderr
    assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
    r = subprocess.run(args, capture_output=True, text=True, check=False,
                       env=dict(os.environ, LRCORE_TRACEBACK="1"))
    assert r.returncode == 1 and "Traceback" in r.stderr and "ZeroDivisionError" in r.stderr
