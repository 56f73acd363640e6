"""Hyperparameter curves on the command line: ``evaluate`` prints one column each,
``show`` a section each, ``plot`` a panel each, ``parity`` a report each. Oracles: the
curves written out by hand."""

from __future__ import annotations

import json
import math
import textwrap

import jsonschema
import pytest
from cli_helpers import run_cli

from lrcore.schema import PARITY_REPORT_SCHEMA

RECIPE = textwrap.dedent("""\
    lrcore: 1
    name: recipe
    total_steps: 100
    schedule: {type: linear, start: 0.1, end: 0.0}
    hyperparams:
      weight_decay: {type: cosine, start: 0.0, end: 0.2}
      momentum: {type: linear, start: 0.9, end: 0.8, duration: 50}
    """)


def _wd(t):
    return 0.2 - 0.2 * (1 + math.cos(math.pi * min(t, 100) / 100)) / 2


def _momentum(t):
    return 0.9 - 0.1 * min(t, 50) / 50


@pytest.fixture
def recipe(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE, encoding="utf-8")
    return str(path)


def test_evaluate_prints_a_column_per_curve(recipe):
    result = run_cli("evaluate", recipe, "--steps", "0,25,50,100")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "step,lr,momentum,weight_decay"
    for line in lines[1:]:
        step, lr, momentum, wd = line.split(",")
        t = int(step)
        assert float(lr) == pytest.approx(0.1 * (100 - t) / 100, rel=1e-12, abs=1e-15)
        assert float(momentum) == pytest.approx(_momentum(t), rel=1e-12)
        assert float(wd) == pytest.approx(_wd(t), rel=1e-12, abs=1e-15)


def test_evaluate_json_has_every_curve(recipe):
    result = run_cli("evaluate", recipe, "--steps", "0:3", "--format", "json")
    data = json.loads(result.stdout)
    assert data["step"] == [0, 1, 2]
    assert sorted(data["hyperparams"]) == ["momentum", "weight_decay"]
    assert data["hyperparams"]["momentum"] == pytest.approx([_momentum(t) for t in range(3)],
                                                           rel=1e-12)


def test_show_has_a_section_per_curve(recipe):
    out = run_cli("show", recipe, "--width", "30", "--height", "3").stdout
    assert "hyperparams.momentum" in out and "hyperparams.weight_decay" in out
    assert "range  0.8 to 0.9" in out
    assert "final  0.2 at step 100" in out


def test_plot_draws_a_panel_per_curve(recipe, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "r.svg"
    result = run_cli("plot", recipe, "-o", str(out))
    assert result.returncode == 0, result.stderr
    svg = out.read_text(encoding="utf-8")
    for label in ("learning rate", "momentum", "weight_decay"):
        assert f">{label}<" in svg or label in svg


def test_parity_checks_every_curve(recipe):
    result = run_cli("parity", recipe, "--backends", "python", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jsonschema.validate(data, PARITY_REPORT_SCHEMA)
    assert [s["name"] for s in data["specs"]] == ["recipe", "recipe:momentum",
                                                  "recipe:weight_decay"]
    text = run_cli("parity", recipe, "--backends", "python").stdout
    assert "recipe:momentum" in text and "1 spec(s) on 1 backend(s): all passed" in text
