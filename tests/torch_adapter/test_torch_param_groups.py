"""A param group added after the scheduler (``optimizer.add_param_group``) joins the
schedule at the next ``step()``: it follows the spec times its ``"group_scale"`` entry
(1.0 without one, like a group the scheduler was built with; its own lr does not matter,
as for every group).

Oracles: torch's own ``LambdaLR`` built with both groups from the start (the multiplier
written out), torch's own ``ReduceLROnPlateau``, which since torch issue 104361 extends
its default ``min_lr`` to an added group and reduces that group's lr from then on, and
formulas written out.
"""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rates import assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)
from torch.optim.lr_scheduler import LambdaLR, ReduceLROnPlateau  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402

COSINE = lrcore.cosine(start=0.1, end=0.001, duration=30)


def cosine(k: int) -> float:
    """COSINE at step k, by hand."""
    return 0.001 + (0.1 - 0.001) * (1 + math.cos(math.pi * min(k, 30) / 30)) / 2


def raises(message: str):
    """The whole message, nothing more."""
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


def param():
    return torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))


def sgd(lr=0.0):
    return torch.optim.SGD([param()], lr=lr, momentum=0.9)


def snapshot(s, opt):
    groups = [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]
    return copy.deepcopy(s.state_dict()), groups


@pytest.mark.parametrize("entry", [{}, {"group_scale": 0.25}], ids=["default", "scaled"])
def test_an_added_group_follows_the_curve(entry):
    """Against torch's LambdaLR over both groups from the start (base lrs 1 and the
    scale): group 1 holds its own lr until the next step(), the curve times its scale
    from then on; group 0 is untouched."""
    scale = entry.get("group_scale", 1.0)
    oracle_opt = torch.optim.SGD([{"params": [param()], "lr": 1.0},
                                  {"params": [param()], "lr": scale}], lr=1.0)
    oracle = LambdaLR(oracle_opt, lambda k: cosine(k))
    opt = sgd()
    s = lrcore.to_torch(COSINE, opt)
    got, want = [], []
    for k in range(40):
        if k == 5:
            opt.add_param_group({"params": [param()], "lr": 7.0, **entry})
        got.append([g["lr"] for g in opt.param_groups])
        want.append([g["lr"] for g in oracle_opt.param_groups])
        opt.step()
        s.step()
        oracle_opt.step()
        oracle.step()
    assert_rates([row[0] for row in got], [row[0] for row in want])
    assert [row[1] for row in got[5:6]] == [7.0]  # its own lr until the next step()
    assert_rates([row[1] for row in got[6:]], [row[1] for row in want[6:]])
    assert s.lr_lambdas[1].scale == scale


def test_plateau_step_metric_after_an_added_group_matches_torch():
    """step(metric) keeps working (it raised before), and the added group is cut with
    the others: torch's ReduceLROnPlateau fed the same metrics, its added group at the
    lr that lrcore's group scale gives, holds the same lr in every epoch, both groups."""
    metrics = [0.7] * 9

    def run(make_scheduler, extra):
        opt = torch.optim.SGD([param()], lr=0.1)
        s = make_scheduler(opt)
        rows = []
        for e, m in enumerate(metrics):
            if e == 1:  # before the first cut (patience 1: after the third report)
                opt.add_param_group({"params": [param()], "lr": 0.025, **extra})
            rows.append([g["lr"] for g in opt.param_groups])
            opt.step()
            s.step(m)
        rows.append([g["lr"] for g in opt.param_groups])
        return rows

    spec = lrcore.plateau(schedule=lrcore.constant(value=0.1), factor=0.5, patience=1)
    got = run(lambda o: lrcore.to_torch(spec, o, step_unit="epoch", steps_per_epoch=3),
              {"group_scale": 0.25})
    want = run(lambda o: ReduceLROnPlateau(o, factor=0.5, patience=1), {})
    assert_rates([r[0] for r in got], [r[0] for r in want])
    assert_rates([r[1] for r in got[1:]], [r[1] for r in want[1:]])
    assert min(r[1] for r in want[1:]) < 0.025  # the added group was cut


def test_report_after_an_added_group():
    spec = lrcore.plateau(schedule=lrcore.constant(value=0.2), factor=0.5, patience=0)
    opt = sgd()
    s = lrcore.to_torch(spec, opt)
    opt.add_param_group({"params": [param()], "group_scale": 2.0})
    opt.step()
    s.report(1.0)
    s.report(1.0)  # patience 0: cut to 0.1
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.2]


def test_hyperparameter_curves_reach_an_added_group():
    spec = lrcore.Schedule(schedule=COSINE, hyperparams={
        "momentum": lrcore.linear(start=0.85, end=0.95, duration=10)})
    opt = sgd()
    s = lrcore.to_torch(spec, opt)
    for _ in range(3):
        opt.step()
        s.step()
    opt.add_param_group({"params": [param()], "momentum": 0.0})
    opt.step()
    s.step()
    assert opt.param_groups[1]["momentum"] == pytest.approx(0.85 + 0.1 * 4 / 10, rel=1e-12)
    assert opt.param_groups[1]["lr"] == pytest.approx(cosine(4), rel=1e-12)


@pytest.mark.parametrize("follow", ["scheduler", "optimizer"])
def test_checkpoint_round_trip_with_an_added_group(follow):
    """Saved after a group joined, loaded into a scheduler whose optimizer gained the
    same group: the run continues on the identical rates (torch's loop as the oracle:
    the uninterrupted run)."""
    def build():
        opt = sgd()
        return opt, lrcore.to_torch(COSINE, opt, follow=follow)

    def advance(opt, s, n):
        rows = []
        for _ in range(n):
            opt.step()
            s.step()
            rows.append([g["lr"] for g in opt.param_groups])
        return rows

    opt, s = build()
    advance(opt, s, 3)
    opt.add_param_group({"params": [param()], "group_scale": 0.5})
    advance(opt, s, 4)
    state, opt_state = copy.deepcopy(s.state_dict()), copy.deepcopy(opt.state_dict())
    straight = advance(opt, s, 10)
    opt2, s2 = build()
    opt2.add_param_group({"params": [param()], "group_scale": 0.5})  # as in the first run
    opt2.load_state_dict(opt_state)
    s2.load_state_dict(state)
    assert advance(opt2, s2, 10) == straight
    # re-added without its entry: the optimizer's checkpoint restores it (torch loads a
    # group's every key), so nothing warns
    opt2, s2 = build()
    opt2.add_param_group({"params": [param()]})
    opt2.load_state_dict(opt_state)
    assert opt2.param_groups[1]["group_scale"] == 0.5
    s2.load_state_dict(state)
    assert advance(opt2, s2, 10) == straight
    assert_rates([row[1] for row in straight], [0.5 * cosine(k) for k in range(8, 18)])
    # an optimizer without the added group: the checkpoint is refused, nothing changes
    opt3, s3 = build()
    before = snapshot(s3, opt3)
    with raises("load_state_dict: the checkpoint has 2 param groups, this optimizer 1; "
                "build the optimizer as the checkpoint's was"):
        s3.load_state_dict(state)
    assert snapshot(s3, opt3) == before


def test_a_bad_group_scale_entry_is_refused_before_anything_changes():
    opt = sgd()
    s = lrcore.to_torch(COSINE, opt)
    opt.step()
    opt.add_param_group({"params": [param()], "group_scale": -1.0})
    before = snapshot(s, opt)
    with raises("optimizer.param_groups[1].group_scale: must be a finite number >= 0, "
                "got -1.0"):
        s.step()
    assert snapshot(s, opt) == before


def test_a_group_without_a_scheduled_hyperparameter_is_refused():
    """add_param_group fills in the optimizer's defaults; a group appended by hand may
    lack the entry a hyperparameter curve drives."""
    spec = lrcore.Schedule(schedule=COSINE, hyperparams={
        "momentum": lrcore.linear(start=0.85, end=0.95, duration=10)})
    opt = sgd()
    s = lrcore.to_torch(spec, opt)
    opt.step()
    opt.param_groups.append({"params": [param()], "lr": 0.0})
    before = snapshot(s, opt)
    with raises("optimizer.param_groups[1]: lacks momentum (every group must hold each "
                "scheduled hyperparameter)"):
        s.step()
    assert snapshot(s, opt) == before


def test_a_removed_group_is_refused():
    opt = torch.optim.SGD([param(), param()], lr=0.0)
    opt.add_param_group({"params": [param()]})
    s = lrcore.to_torch(COSINE, opt)
    opt.step()
    del opt.param_groups[1]
    with raises("optimizer.param_groups: has 1 group, this scheduler follows 2; build a "
                "new scheduler after removing a group"):
        s.step()


def test_from_torch_reads_an_added_group():
    opt = sgd()
    s = lrcore.to_torch(COSINE, opt)
    opt.add_param_group({"params": [param()], "group_scale": 0.5})
    with raises("optimizer.param_groups[1]: joined after the scheduler's last step(), "
                "which has not set its rate yet; read it after the next step(), got 1"):
        lrcore.from_torch(s, group=1)
    opt.step()
    s.step()
    spec = lrcore.from_torch(s, group=1)
    assert_rates(lrcore.evaluate(spec, np.arange(40)), [0.5 * cosine(k) for k in range(40)])
