"""`lrcore.testing.assert_parity` and the pytest plugin (`pytest --lrcore-specs DIR`),
run in scratch projects with pytester under `filterwarnings = error`.

A real failure: optax (float32) cannot meet rtol 1e-12 with atol 0 on a cosine.
"""

from __future__ import annotations

import pytest
from cli_helpers import BAD_RATE, WARMUP_COSINE

import lrcore
from lrcore.testing import assert_parity

pytest.importorskip("optax")

INI = "[pytest]\nfilterwarnings = error\n"


def test_assert_parity_returns_the_report(specs):
    """Passing: the report comes back, named after the spec (or the file stem)."""
    report = assert_parity(specs["wc"], backends=["python", "optax"])
    assert report.ok
    assert report.name == "warmup-cosine"
    assert [r.backend for r in report.results] == ["python", "optax"]
    assert assert_parity(str(specs["step"]), backends=["optax"], steps=3000).name == "halving"


def test_assert_parity_failure_message_holds_the_table(specs):
    """Failing: AssertionError naming the backend and step, with the report table."""
    with pytest.raises(AssertionError, match=r"warmup-cosine: parity failed on optax at "
                                             r"step \d+") as info:
        assert_parity(specs["wc"], backends=["optax"], rtol=1e-12, atol=0.0)
    assert "backend" in str(info.value) and "FAIL" in str(info.value)


def test_assert_parity_context_and_bad_specs():
    """**context reaches resolution (total_steps sets the span of a bare cosine);
    a bad spec raises SpecError with the field path."""
    spec = lrcore.cosine(start=0.1, end=0.01)
    with pytest.raises(lrcore.SpecError, match="schedule.duration: is required"):
        assert_parity(spec, backends=["python"])
    report = assert_parity(spec, backends=["python"], total_steps=500)
    assert report.ok and report.results[0].n_steps > 500
    with pytest.raises(lrcore.SpecError, match=r"schedule.phases\[0\].end: must be >= 0"):
        assert_parity(BAD_RATE, backends=["python"])


def _project(pytester: pytest.Pytester, **files: str):
    pytester.makeini(INI)
    d = pytester.mkdir("specs")
    for name, text in files.items():
        (d / name.replace("__", ".")).write_text(text)
    return d


def test_plugin_turns_each_spec_file_into_a_passing_test(pytester):
    """One test per spec file, named after it; passing backends pass."""
    _project(pytester, warmup_cosine__yaml=WARMUP_COSINE,
             readme__txt="not a spec")
    result = pytester.runpytest("-p", "no:cacheprovider", "--lrcore-specs", "specs",
                                "--lrcore-backends", "python,optax", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*specs/warmup_cosine.yaml::parity PASSED*"])


def test_plugin_failure_is_readable(pytester):
    """A tolerance float32 cannot meet: the test fails with the parity table (backend,
    worst step, verdict) and no traceback."""
    _project(pytester, a__yaml=WARMUP_COSINE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--lrcore-specs", "specs",
                                "--lrcore-backends", "optax", "--lrcore-rtol", "1e-12",
                                "--lrcore-atol", "0")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*lrcore parity: a.yaml*",
        "warmup-cosine: parity failed on optax at step *",
        "backend*worst step*reference*value*ulps*verdict",
        "optax * FAIL",
        "FAILED specs/a.yaml::parity*",
    ])
    assert "Traceback" not in result.stdout.str()
    assert "def runtest" not in result.stdout.str()


def test_plugin_reports_an_invalid_spec_as_a_failure(pytester):
    """A bad file fails its own test with the field path; the good one still passes."""
    _project(pytester, good__json='{"lrcore": 1, "schedule": {"type": "constant", '
                                  '"value": 0.1}}', bad__yml=BAD_RATE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--lrcore-specs", "specs",
                                "--lrcore-backends", "python", "--lrcore-steps", "100")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*invalid spec *bad.yml: schedule.phases[[]0[]].end: must "
                                 "be >= 0, got -0.001"])


def test_plugin_usage_errors(pytester):
    """A missing directory or an unknown backend stops the run with a usage error."""
    pytester.makeini(INI)
    result = pytester.runpytest("-p", "no:cacheprovider", "--lrcore-specs", "nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lrcore-specs: *nowhere is not a directory"])
    _project(pytester, a__yaml=WARMUP_COSINE)
    result = pytester.runpytest("-p", "no:cacheprovider", "--lrcore-specs", "specs",
                                "--lrcore-backends", "optx")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lrcore-backends: 'optx' is not a backend*"])


def test_plugin_is_inert_without_the_option(pytester):
    """Without --lrcore-specs nothing is added: a project's own tests run alone."""
    pytester.makeini(INI)
    pytester.makepyfile("def test_own(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
