"""`lrcore parity`: exit codes, tables, the --json report against its JSON Schema, the
progress bar.

A real failure: optax computes in float32, which cannot meet rtol 1e-12 with atol 0 on
a cosine (its rates are not float32 numbers). Oracles for the report's numbers: the
warmup-cosine formula by hand and float32 spacing from numpy.
"""

from __future__ import annotations

import io
import json
import shutil

import jsonschema
import numpy as np
import pytest
from cli_helpers import run_cli, warmup_cosine

from lrcore.cli import Progress
from lrcore.schema import PARITY_REPORT_SCHEMA

pytest.importorskip("optax")


@pytest.fixture(scope="module")
def spec_dir(specs, tmp_path_factory):
    """A directory of two good specs and a file that is not a spec (ignored)."""
    d = tmp_path_factory.mktemp("dir")
    shutil.copy(specs["wc"], d / "b_warmup_cosine.yaml")
    shutil.copy(specs["step"], d / "a_halving.json")
    (d / "notes.txt").write_text("not a spec")
    return d


def test_all_backends_pass_exit_0(spec_dir):
    """Default tolerances: reference, python, optax and optax-x64 all pass on both
    specs; one table per spec (files sorted by name), every verdict ok, exit 0."""
    r = run_cli("parity", str(spec_dir), "--backends", "reference,python",
                "--backends", "optax,optax-x64")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""  # no progress bar (stderr is a pipe), no warnings
    tables = r.stdout.split("\n\n")
    assert tables[0].startswith("a_halving (")
    assert tables[1].startswith("warmup-cosine (")
    for table in tables[:2]:
        rows = table.splitlines()[2:]
        assert [row.split()[0] for row in rows] == ["reference", "python", "optax",
                                                    "optax-x64"]
        assert all(row.split()[-1] == "ok" for row in rows)
    assert r.stdout.rstrip().endswith("2 spec(s) on 4 backend(s): all passed")


def test_tolerance_float32_cannot_meet_fails_exit_1(specs):
    """rtol 1e-12, atol 0: python (float64) passes, optax (float32) fails: exit 1, the
    table marks optax FAIL and the summary names it."""
    r = run_cli("parity", str(specs["wc"]), "--backends", "python,optax", "--rtol", "1e-12",
                "--atol", "0")
    assert r.returncode == 1, r.stdout + r.stderr
    rows = {row.split()[0]: row.split() for row in r.stdout.split("\n\n")[0].splitlines()[2:]}
    assert rows["python"][-1] == "ok"
    assert rows["optax"][-1] == "FAIL"
    assert "1 failed: warmup-cosine (optax)" in r.stdout


def test_json_report_validates_and_its_numbers_hold(spec_dir):
    """--json: valid against PARITY_REPORT_SCHEMA; per-backend verdicts; at the worst
    step the reference is the hand formula, the value a float32 number, abs_err their
    distance and ulps that distance in float32 spacing."""
    r = run_cli("parity", str(spec_dir), "--backends", "python,optax", "--rtol", "1e-12",
                "--atol", "0", "--json")
    assert r.returncode == 1, r.stderr
    report = json.loads(r.stdout)
    jsonschema.validate(report, PARITY_REPORT_SCHEMA,
                        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    assert report["ok"] is False
    assert report["backends"] == ["python", "optax"]
    assert [s["file"] for s in report["specs"]] == [str(spec_dir / "a_halving.json"),
                                                    str(spec_dir / "b_warmup_cosine.yaml")]
    wc = report["specs"][1]
    assert wc["name"] == "warmup-cosine"
    assert wc["peak"] == 1e-3
    python, optax = wc["results"]
    assert (python["backend"], python["dtype"], python["ok"]) == ("python", "float64", True)
    assert (optax["backend"], optax["dtype"], optax["ok"]) == ("optax", "float32", False)
    t, ref, value = optax["worst_step"], optax["reference"], optax["value"]
    assert abs(ref - warmup_cosine(t)) <= 1e-12 * abs(ref)
    assert float(np.float32(value)) == value
    assert optax["abs_err"] == abs(value - ref)
    ulp = float(np.spacing(np.float32(max(abs(ref), abs(value)))))
    assert optax["ulps"] == pytest.approx(abs(value - ref) / ulp, rel=1e-12)
    assert 0 < optax["ulps"] < 16  # float32 is a few ulps off: still a failure at 1e-12


def test_json_report_when_passing(specs):
    """A passing run: exit 0, ok true everywhere, still schema-valid."""
    r = run_cli("parity", str(specs["step"]), "--backends", "reference,optax", "--json",
                "--steps", "3000")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    jsonschema.validate(report, PARITY_REPORT_SCHEMA)
    assert report["ok"] is True
    assert [x["ok"] for x in report["specs"][0]["results"]] == [True, True]
    assert report["specs"][0]["name"] == "halving"


def test_report_schema_rejects_a_malformed_report():
    """The documented schema is not vacuous: a missing field, a wrong dtype and a NaN
    written as a string are rejected."""
    result = {"backend": "optax", "dtype": "float32", "ok": True, "worst_step": 3,
              "reference": 0.1, "value": 0.1, "abs_err": 0.0, "rel_err": 0.0, "ulps": 0.0,
              "rtol": 2e-6, "atol": 1e-9, "n_steps": 10}
    spec = {"file": "a.yaml", "name": "a", "fingerprint": "0123456789abcdef", "peak": 0.1,
            "ok": True, "results": [result]}
    good = {"report_version": 1, "lrcore_version": "0.1.0", "ok": True,
            "backends": ["optax"], "specs": [spec]}
    jsonschema.validate(good, PARITY_REPORT_SCHEMA)
    for bad in ({k: v for k, v in good.items() if k != "ok"},
                dict(good, specs=[dict(spec, results=[dict(result, dtype="float16")])]),
                dict(good, specs=[dict(spec, results=[dict(result, value="nan")])])):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, PARITY_REPORT_SCHEMA)


# ---- the progress bar ---------------------------------------------------------------------

class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    """Not a terminal: nothing is written, however long the work runs."""
    clock, stream = FakeClock(), io.StringIO()
    bar = Progress(4, stream=stream, clock=clock)
    for _ in range(4):
        clock.now += 10.0
        bar.advance("optax")
    bar.close()
    assert stream.getvalue() == ""


def test_progress_draws_on_a_terminal_only_after_two_seconds():
    """A terminal: nothing during the first 2 s; then a bar with the count done and
    the label; close() blanks the line."""
    clock, stream = FakeClock(), Tty()
    bar = Progress(4, stream=stream, clock=clock)
    clock.now = 1.5
    bar.advance("python a.yaml")
    assert stream.getvalue() == ""
    clock.now = 2.5
    bar.advance("optax a.yaml")
    text = stream.getvalue()
    assert text.startswith("\r[")
    assert "1/4 optax a.yaml" in text
    assert "#" * 6 + "-" * 18 in text  # 1 of 4 done: a quarter of 24 cells
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * 80 + "\r")


def test_ulp_histogram_in_the_summary(spec_dir):
    """Before the summary line: per backend the points checked and the share within 0,
    1, 2 and 4 ulps; python (float64, the reference's own arithmetic) is exact at every
    point, so 100.0 % in every column; optax (float32) is not exact everywhere."""
    r = run_cli("parity", str(spec_dir), "--backends", "python,optax")
    assert r.returncode == 0, r.stderr
    hist, summary = r.stdout.rstrip().split("\n\n")[-2:]
    assert summary == "2 spec(s) on 2 backend(s): all passed"
    head, python, optax = hist.splitlines()
    assert head.split() == ["ulps", "per", "point", "points", "0", "ulp", "<=1", "ulp",
                            "<=2", "ulp", "<=4", "ulp"]
    assert python.split()[0] == "python" and python.split()[2:] == ["100.0%"] * 4
    shares = [float(c.rstrip("%")) for c in optax.split()[2:]]
    assert optax.split()[0] == "optax" and shares[0] < 100.0
    assert shares == sorted(shares)  # cumulative bins
    assert int(python.split()[1]) == int(optax.split()[1]) > 3000  # same grids


def test_json_histogram_is_the_sum_of_the_results(spec_dir):
    """--json: ulp_histogram per backend, its counts the sums of each result's
    ulp_counts and its points the sums of n_steps; the shares are counts / points."""
    r = run_cli("parity", str(spec_dir), "--backends", "python,optax", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    jsonschema.validate(report, PARITY_REPORT_SCHEMA)
    for h in report["ulp_histogram"]:
        rows = [x for s in report["specs"] for x in s["results"]
                if x["backend"] == h["backend"]]
        assert h["points"] == sum(x["n_steps"] for x in rows)
        assert h["counts"] == [sum(x["ulp_counts"][k] for x in rows) for k in range(4)]
        assert h["shares"] == {k: c / h["points"]
                               for k, c in zip(["0", "1", "2", "4"], h["counts"])}
    assert [h["backend"] for h in report["ulp_histogram"]] == ["python", "optax"]
    assert report["ulp_histogram"][0]["counts"] == [report["ulp_histogram"][0]["points"]] * 4


def test_verbose_flag_changes_no_result(spec_dir):
    """-v only lets framework log lines through: the same report, nothing on stderr
    from the in-process backends."""
    quiet = run_cli("parity", str(spec_dir), "--backends", "python,optax")
    loud = run_cli("parity", str(spec_dir), "--backends", "python,optax", "--verbose")
    assert loud.returncode == quiet.returncode == 0
    assert loud.stdout == quiet.stdout
