"""The torch adapter never hands torch a rate the spec cannot produce (issue 11).

Each way in which a scheduler could reach a wrong rate is either the spec's exact rate or
a ``SpecError`` raised before anything changes: a step outside ``[0, 2**31 - 1]`` (by
``step()``, construction, a checkpoint, ``report()``), a ``last_epoch`` that is not an
integer, a metric past float range, a checkpoint of the other kind (plateau or not) or for
other param groups, a ``group_scale`` that takes a rate past float32's range. A checkpoint
that replaces the constructor's ``group_scale`` or ``step_unit`` warns, as a spec change
does. Expected rates are written out by hand from each family's definition.
"""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from rates import F64, assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.adapters.torch import LrcorePlateauScheduler, LrcoreScheduler  # noqa: E402

# triangular, period 20: rising from 0.1 at t % 20 == 0 to 1.0 at 10, back down by 20
CYCLIC = lrcore.cyclic(low=0.1, high=1.0, up=10, down=10)
PLATEAU = lrcore.plateau(schedule=lrcore.constant(value=0.2), factor=0.5, patience=0)
FLOAT32_MAX = 3.4028234663852886e38  # np.finfo(np.float32).max, written out
MAX_STEP = 2**31 - 1


def cyclic_rate(t: int) -> float:
    """CYCLIC at step t, by hand."""
    x = t % 20
    return 0.1 + 0.9 * (x / 10 if x <= 10 else (20 - x) / 10)


def raises(message: str):
    """The whole message, nothing more."""
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


def _sgd(groups: int = 1, lr: float = 0.3):
    params = [torch.nn.Parameter(torch.zeros(2, dtype=torch.float64)) for _ in range(groups)]
    return torch.optim.SGD([{"params": [p]} for p in params], lr=lr)


def _ready(spec, groups: int = 1, **kw):
    """An optimizer that has stepped once (so torch does not warn about the order) and
    its scheduler."""
    opt = _sgd(groups)
    s = lrcore.to_torch(spec, opt, **kw)
    opt.step()
    return opt, s


def snapshot(s, opt):
    """Everything a failed call must leave as it was: the class, the whole scheduler
    state (last_epoch, step count, plateau state, each multiplier's spec, scale and unit,
    _last_lr) and every param group (lr included)."""
    groups = [{k: (v.item() if isinstance(v, torch.Tensor) else v) for k, v in g.items()
               if k != "params"} for g in opt.param_groups]
    return type(s), copy.deepcopy(s.state_dict()), groups


# ---- steps outside [0, 2**31 - 1] -----------------------------------------------------------

def test_the_last_step_of_the_domain_then_an_error():
    """Step 2**31 - 1 has the spec's rate; one more step() is a SpecError and leaves the
    scheduler and the optimizer as they were (torch's LambdaLR would go on to 2**31)."""
    opt, s = _ready(CYCLIC)
    s.last_epoch = MAX_STEP - 1
    s.step()
    assert s.last_epoch == MAX_STEP
    assert MAX_STEP % 20 == 7
    assert_rates([opt.param_groups[0]["lr"]], [0.1 + 0.9 * 0.7], **F64)
    before = snapshot(s, opt)
    with raises("step: must be in [0, 2**31 - 1], got 2147483648"):
        s.step()
    assert snapshot(s, opt) == before
    with raises("step: must be in [0, 2**31 - 1], got 2147483648"):
        s.step()  # still refused, still unchanged
    assert snapshot(s, opt) == before


def test_a_negative_step_is_an_error():
    opt, s = _ready(CYCLIC)
    s.last_epoch = -5
    before = snapshot(s, opt)
    with raises("step: must be in [0, 2**31 - 1], got -4"):
        s.step()
    assert snapshot(s, opt) == before


@pytest.mark.parametrize(("last_epoch", "message"), [
    (MAX_STEP, "step: must be in [0, 2**31 - 1], got 2147483648"),
    (-2, "step: must be in [0, 2**31 - 1], got -1"),
    (10**40, "step: must be in [0, 2**31 - 1], got ~2**132"),
    (2.5, "last_epoch: must be an integer (the number of scheduler.step() calls), got 2.5"),
    (True, "last_epoch: must be an integer (the number of scheduler.step() calls), got true"),
])
def test_construction_outside_the_domain_changes_nothing(last_epoch, message):
    """torch's constructor takes one step from ``last_epoch``: a start outside the
    domain is refused before the optimizer is touched."""
    opt = _sgd()
    opt.param_groups[0]["initial_lr"] = 0.5  # what torch needs to resume at last_epoch
    groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"}
                            for g in opt.param_groups])
    with raises(message):
        lrcore.to_torch(CYCLIC, opt, last_epoch=last_epoch)
    assert [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups] == groups


def test_construction_at_the_last_step():
    opt = _sgd()
    opt.param_groups[0]["initial_lr"] = 0.5
    s = lrcore.to_torch(CYCLIC, opt, last_epoch=MAX_STEP - 1)
    assert s.last_epoch == MAX_STEP
    assert_rates([opt.param_groups[0]["lr"]], [cyclic_rate(MAX_STEP)], **F64)


def test_epochs_past_the_domain():
    """step_unit="epoch": epoch k is step k * steps_per_epoch, so with 2**20 steps per
    epoch epoch 2047 is the last one inside the domain."""
    spe = 2**20
    opt, s = _ready(CYCLIC, step_unit="epoch", steps_per_epoch=spe)
    s.last_epoch = 2046
    s.step()
    t = 2047 * spe
    assert t == 2**31 - 2**20 and t % 20 == 12
    assert_rates([opt.param_groups[0]["lr"]], [1.0 - 0.9 * 0.2], **F64)
    before = snapshot(s, opt)
    message = "step: must be in [0, 2**31 - 1] (epoch 2048 of 1048576 steps), got 2147483648"
    with raises(message):
        s.step()
    assert snapshot(s, opt) == before
    opt = _sgd()
    opt.param_groups[0]["initial_lr"] = 0.5
    with raises(message):
        lrcore.to_torch(CYCLIC, opt, step_unit="epoch", steps_per_epoch=spe, last_epoch=2047)


@pytest.mark.parametrize(("value", "shown"), [(2.5, "2.5"), (3.0, "3.0"), (True, "true"),
                                              ("7", '"7"'), (None, "null")])
def test_last_epoch_set_to_a_non_integer_is_an_error(value, shown):
    """``last_epoch = 2.5`` by hand made step() use the rate at step 3.5, a step that
    does not exist; a float, a bool, a string is refused (changing nothing)."""
    opt, s = _ready(CYCLIC)
    s.step()
    s.last_epoch = value
    before = snapshot(s, opt)
    with raises("last_epoch: must be an integer (the number of scheduler.step() calls), "
                f"got {shown}"):
        s.step()
    assert snapshot(s, opt) == before


def test_last_epoch_set_to_a_numpy_integer_is_that_step():
    opt, s = _ready(CYCLIC)
    s.last_epoch = np.int64(4)
    s.step()
    assert s.last_epoch == 5 and type(s.last_epoch) is int
    assert_rates([opt.param_groups[0]["lr"]], [0.1 + 0.9 * 0.5], **F64)


@pytest.mark.parametrize(("last_epoch", "message"), [
    (MAX_STEP + 1, "step: must be in [0, 2**31 - 1], got 2147483648"),
    (-1, "step: must be in [0, 2**31 - 1], got -1"),
    (1.5, "last_epoch: must be an integer (the number of scheduler.step() calls), got 1.5"),
])
def test_report_outside_the_domain_is_an_error(last_epoch, message):
    """report() runs the plateau rule at the current step, which must exist."""
    opt, s = _ready(PLATEAU)
    s.report(1.0)
    s.last_epoch = last_epoch
    before = snapshot(s, opt)
    with raises(message):
        s.report(1.0)
    assert snapshot(s, opt) == before


@pytest.mark.parametrize(("unit", "last_epoch", "message"), [
    ("step", MAX_STEP + 1, "step: must be in [0, 2**31 - 1], got 2147483648"),
    ("step", -3, "step: must be in [0, 2**31 - 1], got -3"),
    ("epoch", 2048, "step: must be in [0, 2**31 - 1] (epoch 2048 of 1048576 steps), "
                    "got 2147483648"),
    ("step", 7.0, "last_epoch: must be an integer (the number of scheduler.step() calls), "
                  "got 7.0"),
])
def test_checkpoint_outside_the_domain_is_refused(unit, last_epoch, message):
    kw = {"step_unit": unit, "steps_per_epoch": 2**20}
    _, saved = _ready(CYCLIC, **kw)
    state = saved.state_dict()
    state["last_epoch"] = last_epoch
    opt, s = _ready(CYCLIC, **kw)
    s.step()
    before = snapshot(s, opt)
    with raises(message):
        s.load_state_dict(state)
    assert snapshot(s, opt) == before


# ---- a metric past float range --------------------------------------------------------------

@pytest.mark.parametrize("call", ["report", "step"])
@pytest.mark.parametrize("metric", [10**400, -(10**400)], ids=["big", "-big"])
def test_metric_past_float_range_is_an_error_and_changes_nothing(call, metric):
    """``float(10**400)`` raises OverflowError: a SpecError instead, nothing changed."""
    opt, s = _ready(PLATEAU)
    s.report(1.0)
    before = snapshot(s, opt)
    sign = "-" if metric < 0 else ""
    with raises(f"metric: must be a number within float range, got {sign}~2**1328"):
        getattr(s, call)(metric)
    assert snapshot(s, opt) == before


# ---- a checkpoint of the other kind -------------------------------------------------------

KIND_MESSAGE = ('load_state_dict: a checkpoint of a "{saved}" schedule cannot be loaded into '
                'a scheduler built from a "{built}" spec (only a plateau spec takes metrics); '
                "build the scheduler from the checkpoint's spec")


@pytest.mark.parametrize(("saved_spec", "built_spec"), [(PLATEAU, CYCLIC), (CYCLIC, PLATEAU)],
                         ids=["plateau-into-plain", "plain-into-plateau"])
def test_checkpoint_of_the_other_kind_is_refused(saved_spec, built_spec):
    """Loading a plateau checkpoint into a plain scheduler (or the reverse) left an
    object whose step(metric) crashed; now load_state_dict refuses, changes nothing, and
    the scheduler goes on as before."""
    _, saved = _ready(saved_spec)
    for _ in range(3):
        saved.step()
    opt, s = _ready(built_spec)
    s.step()
    before = snapshot(s, opt)
    with raises(KIND_MESSAGE.format(saved=saved_spec.type, built=built_spec.type)):
        s.load_state_dict(saved.state_dict())
    assert snapshot(s, opt) == before
    if built_spec is PLATEAU:
        s.step(1.0)
        s.step(1.0)  # patience 0: the second report cuts the rate in half
        assert_rates([opt.param_groups[0]["lr"]], [0.1], **F64)
    else:
        s.step()
        assert_rates([opt.param_groups[0]["lr"]], [cyclic_rate(2)], **F64)


def test_a_plain_scheduler_class_refuses_a_plateau_spec():
    """``LrcoreScheduler(opt, plateau_spec)`` built an object whose step(metric) said
    the spec was not a plateau one; the class that takes metrics is named instead."""
    opt = _sgd()
    with raises('spec: LrcoreScheduler cannot take metrics; use LrcorePlateauScheduler '
                '(lrcore.to_torch picks the class), got "plateau"'):
        LrcoreScheduler(opt, PLATEAU)
    assert "initial_lr" not in opt.param_groups[0]
    assert isinstance(LrcorePlateauScheduler(opt, PLATEAU), LrcoreScheduler)


# ---- a checkpoint that does not fit -----------------------------------------------------------

def test_checkpoint_for_other_param_groups_is_refused():
    """torch's LambdaLR loads a 1-group checkpoint into 2 groups half-way (group 1 kept
    its own spec and scale) and a 2-group one into 1 group with an IndexError after
    loading the rest; both are refused before anything changes."""
    _, one = _ready(CYCLIC)
    _, two = _ready(CYCLIC, groups=2, group_scale=[1.0, 0.5])
    for saved, built_groups in [(one, 2), (two, 1)]:
        opt, s = _ready(CYCLIC, groups=built_groups)
        before = snapshot(s, opt)
        n = len(saved.lr_lambdas)
        with raises(f"load_state_dict: the checkpoint has {n} param group"
                    f"{'s' if n > 1 else ''}, this optimizer {built_groups}; build the "
                    "optimizer as the checkpoint's was"):
            s.load_state_dict(saved.state_dict())
        assert snapshot(s, opt) == before


@pytest.mark.parametrize(("edit", "message"), [
    (lambda st: st["lr_lambdas"][1].update(document=lrcore.Schedule(
        schedule=lrcore.constant(value=0.2)).to_dict()),
     "load_state_dict: lr_lambdas[1] holds another spec than lr_lambdas[0]; every param "
     "group follows one spec"),
    (lambda st: st["lr_lambdas"][0].pop("per"),
     "load_state_dict: lr_lambdas[0] is not an lrcore multiplier's state (document, scale, "
     "per)"),
    (lambda st: st["lr_lambdas"][0].update(per=0),
     "load_state_dict: lr_lambdas[0].per must be 1 or the spec's steps_per_epoch (5), got 0"),
    (lambda st: st["lr_lambdas"][1].update(per=5),
     "load_state_dict: lr_lambdas[1].per must equal lr_lambdas[0].per (1), got 5"),
    (lambda st: st.pop("lr_lambdas"),
     "load_state_dict: the checkpoint has no lr_lambdas list (not a LambdaLR's state_dict)"),
    (lambda st: st["lr_lambdas"][0]["document"]["schedule"].update(low=-1.0),
     "schedule.low: must be >= 0, got -1.0"),
    (lambda st: st["lr_lambdas"][1].update(scale=1e39),
     "group_scale[1]: times the spec's highest rate (1) must stay within float32's range "
     "(3.403e+38), got 1e+39"),
])
def test_a_corrupt_checkpoint_is_refused(edit, message):
    _, saved = _ready(CYCLIC, groups=2, steps_per_epoch=5)
    state = copy.deepcopy(saved.state_dict())
    edit(state)
    opt, s = _ready(CYCLIC, groups=2, steps_per_epoch=5)
    before = snapshot(s, opt)
    with raises(message):
        s.load_state_dict(state)
    assert snapshot(s, opt) == before


@pytest.mark.parametrize(("plateau", "message"), [
    ({"best": 1.0, "bad": 0}, "load_state_dict: plateau must be a plateau state (best, bad, "
                              "cool, scale, reports)"),
    ({"best": 1.0, "bad": 0, "cool": 0, "scale": float("nan"), "reports": 2},
     "load_state_dict: plateau.scale must be in [0, 1], got NaN"),
    ({"best": 1.0, "bad": 0, "cool": 0, "scale": 4.0, "reports": 2},
     "load_state_dict: plateau.scale must be in [0, 1], got 4.0"),
])
def test_a_corrupt_plateau_state_is_refused(plateau, message):
    """A plateau scale of NaN or above 1 would give a NaN rate or one above the
    spec's; torch never saves one, so it is a damaged checkpoint."""
    _, saved = _ready(PLATEAU)
    state = copy.deepcopy(saved.state_dict())
    state["plateau"] = plateau
    opt, s = _ready(PLATEAU)
    before = snapshot(s, opt)
    with raises(message):
        s.load_state_dict(state)
    assert snapshot(s, opt) == before


def test_checkpoint_of_a_function_lambda_keeps_the_spec():
    """torch's own LambdaLR saves ``None`` for a function multiplier and its loader keeps
    the live one: the lrcore scheduler does the same and continues its own spec at the
    checkpoint's step."""
    p = torch.nn.Parameter(torch.zeros(1))
    foreign = torch.optim.lr_scheduler.LambdaLR(torch.optim.SGD([p], lr=0.3),
                                                lambda k: 1.0)
    state = foreign.state_dict()
    assert state["lr_lambdas"] == [None]
    state["last_epoch"] = 13
    opt, s = _ready(CYCLIC)
    s.load_state_dict(state)
    assert s.last_epoch == 13
    assert_rates([opt.param_groups[0]["lr"]], [cyclic_rate(13)], **F64)


# ---- group_scale: float32's range ----------------------------------------------------------

@pytest.mark.parametrize(("spec", "scale", "message"), [
    (lrcore.constant(value=0.1), [1e308],
     "group_scale[0]: times the spec's highest rate (0.1) must stay within float32's range "
     "(3.403e+38), got 1e+308"),
    (lrcore.constant(value=2.0), [1.0, 2e38],
     "group_scale[1]: times the spec's highest rate (2) must stay within float32's range "
     "(3.403e+38), got 2e+38"),
    (CYCLIC, [10**400],
     "group_scale[0]: times the spec's highest rate (1) must stay within float32's range "
     "(3.403e+38), got ~2**1328"),
    (lrcore.constant(value=0.0), [10**400],
     "group_scale[0]: must be a finite number >= 0 within float64's range, got ~2**1328"),
    (PLATEAU, [2e39],
     "group_scale[0]: times the spec's highest rate (0.2) must stay within float32's range "
     "(3.403e+38), got 2e+39"),
])
def test_group_scale_past_float32_range(spec, scale, message):
    opt = _sgd(groups=len(scale))
    with raises(message):
        lrcore.to_torch(spec, opt, group_scale=scale)
    assert all("initial_lr" not in g for g in opt.param_groups)


def test_group_scale_at_the_float32_bound():
    """A scale that takes the highest rate exactly to float32's largest value is
    accepted (2.0 * MAX/2 is exact), and the rate fits a float32 tensor."""
    opt = _sgd(groups=2)
    lrcore.to_torch(lrcore.constant(value=2.0), opt, group_scale=[1.0, FLOAT32_MAX / 2])
    assert opt.param_groups[1]["lr"] == FLOAT32_MAX
    assert torch.isfinite(torch.tensor(opt.param_groups[1]["lr"], dtype=torch.float32))


@pytest.mark.parametrize("scale", [np.float32(0.5), np.int64(2), torch.tensor(0.5)],
                         ids=["np.float32", "np.int64", "0-d tensor"])
def test_group_scale_numpy_and_tensor_numbers(scale):
    """A numpy scalar or a 0-d tensor is a number (it was refused as 'not a finite
    number', which the value contradicted)."""
    opt = _sgd(groups=2)
    lrcore.to_torch(CYCLIC, opt, group_scale=[1.0, scale])
    assert opt.param_groups[1]["lr"] == 0.1 * float(scale)
    assert type(opt.param_groups[1]["lr"]) is float


# ---- a checkpoint replacing group_scale / step_unit warns ------------------------------------

def _warned(s, state) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s.load_state_dict(state)
    assert all(w.category is UserWarning for w in caught)
    return [str(w.message) for w in caught]


def test_checkpoint_replacing_group_scale_warns_and_wins():
    opt0, saved = _ready(CYCLIC, groups=2, group_scale=[1.0, 0.5])
    for _ in range(3):
        saved.step()
    opt, s = _ready(CYCLIC, groups=2, group_scale=[1.0, 0.25])
    assert _warned(s, saved.state_dict()) == [
        "load_state_dict: the checkpoint's group_scale [1.0, 0.5] replaces the one this "
        "scheduler was built with ([1.0, 0.25]); the run continues with the checkpoint's"]
    assert_rates([g["lr"] for g in opt.param_groups],
                 [cyclic_rate(3), cyclic_rate(3) * 0.5], **F64)
    s.step()
    assert_rates([g["lr"] for g in opt.param_groups],
                 [cyclic_rate(4), cyclic_rate(4) * 0.5], **F64)


def test_checkpoint_replacing_step_unit_warns_and_wins():
    spe = 10
    _, saved = _ready(CYCLIC, step_unit="epoch", steps_per_epoch=spe)
    saved.step()
    opt, s = _ready(CYCLIC, steps_per_epoch=spe)
    assert _warned(s, saved.state_dict()) == [
        "load_state_dict: the checkpoint's step_unit (\"epoch\", 10 steps per call) "
        "replaces the one this scheduler was built with (\"step\"); the run continues with "
        "the checkpoint's"]
    s.step()  # epoch 2: step 20
    assert s.last_epoch == 2
    assert_rates([opt.param_groups[0]["lr"]], [cyclic_rate(20)], **F64)
    # and the reverse
    _, saved = _ready(CYCLIC, steps_per_epoch=spe)
    opt, s = _ready(CYCLIC, step_unit="epoch", steps_per_epoch=spe)
    assert _warned(s, saved.state_dict()) == [
        "load_state_dict: the checkpoint's step_unit (\"step\") replaces the one this "
        "scheduler was built with (\"epoch\", 10 steps per call); the run continues with "
        "the checkpoint's"]


def test_checkpoint_replacing_spec_and_scale_warns_twice():
    _, saved = _ready(PLATEAU, group_scale=[0.5])
    opt, s = _ready(lrcore.plateau(schedule=lrcore.constant(value=0.3)), group_scale=[2.0])
    messages = _warned(s, saved.state_dict())
    assert len(messages) == 2
    assert messages[0].startswith("load_state_dict: the checkpoint's schedule (fingerprint ")
    assert messages[1] == (
        "load_state_dict: the checkpoint's group_scale [0.5] replaces the one this "
        "scheduler was built with ([2.0]); the run continues with the checkpoint's")
    assert_rates([opt.param_groups[0]["lr"]], [0.1], **F64)


def test_checkpoint_with_the_same_settings_warns_nothing():
    """Same spec, group_scale and step_unit (pytest turns any warning into an error)."""
    kw = dict(groups=2, group_scale=[1.0, 0.1], step_unit="epoch", steps_per_epoch=7)
    _, saved = _ready(CYCLIC, **kw)
    saved.step()
    opt, s = _ready(CYCLIC, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.load_state_dict(saved.state_dict())
    assert_rates([g["lr"] for g in opt.param_groups],
                 [cyclic_rate(7), cyclic_rate(7) * 0.1], **F64)


# ---- tensor learning rates ------------------------------------------------------------------

def test_last_lr_is_a_copy_after_report_and_load():
    """With a tensor lr torch's get_last_lr() returns copies; after report() and
    load_state_dict it returned the optimizer's own tensor, which the next step()
    changed under the caller."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.Adam([p], lr=torch.tensor(0.0, dtype=torch.float64))
    s = lrcore.to_torch(PLATEAU, opt)
    opt.step()
    s.report(1.0)
    s.report(1.0)  # patience 0: cut to 0.1
    for action in ("report", "load"):
        if action == "load":
            s.load_state_dict(s.state_dict())
        last = s.get_last_lr()
        assert last[0] is not opt.param_groups[0]["lr"]
        assert float(last[0]) == float(opt.param_groups[0]["lr"])
        seen = float(last[0])
        s.report(1.0)  # cuts again
        assert float(last[0]) == seen
        assert float(opt.param_groups[0]["lr"]) < seen


def test_a_checkpoint_from_before_a_group_was_added_is_refused():
    """A group added after the checkpoint was saved: the checkpoint holds one multiplier
    fewer than the optimizer has groups (report() and step(metric) take the new group in:
    test_torch_param_groups.py)."""
    opt, s = _ready(PLATEAU)
    state = s.state_dict()
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))],
                         "lr": 7.0})
    before = snapshot(s, opt)
    with raises("load_state_dict: the checkpoint has 1 param group, this optimizer 2; build "
                "the optimizer as the checkpoint's was"):
        s.load_state_dict(state)
    assert snapshot(s, opt) == before


def test_a_float32_tensor_lr_holds_the_rate_rounded_once():
    """torch keeps a tensor lr in its own dtype: a float32 lr holds float32(rate), the
    float64 rate rounded once, as torch's own schedulers leave it."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=torch.tensor(0.0))
    s = lrcore.to_torch(CYCLIC, opt)
    for k in range(1, 25):
        opt.step()
        s.step()
        lr = opt.param_groups[0]["lr"]
        assert lr.dtype == torch.float32
        assert float(lr) == float(np.float32(cyclic_rate(k))), k


@pytest.mark.parametrize("unit", ["step", "epoch"])
def test_step_with_an_epoch_on_a_plain_spec_is_refused(unit):
    """torch's deprecated ``step(epoch)``: refused, naming the epoch received and the way
    to jump there, which is then checked (written out: the rate after 5 calls)."""
    opt, s = _ready(CYCLIC, step_unit=unit, steps_per_epoch=3)
    before = snapshot(s, opt)
    with raises('step: takes no argument for a "cyclic" spec (torch\'s deprecated '
                "step(epoch) is not supported); to jump to an epoch, set scheduler.last_epoch "
                "= epoch - 1 and call step(), got 5"):
        s.step(5)
    assert snapshot(s, opt) == before
    s.last_epoch = 5 - 1
    s.step()
    assert_rates([opt.param_groups[0]["lr"]], [cyclic_rate(5 * (3 if unit == "epoch" else 1))])


def test_the_multiplier_called_by_itself_checks_the_step():
    """``scheduler.lr_lambdas[i](k)`` (torch's LambdaLR protocol) is the rate at epoch k,
    inside the domain only."""
    _, s = _ready(CYCLIC, groups=2, group_scale=[1.0, 0.5], step_unit="epoch",
                  steps_per_epoch=3)
    fn = s.lr_lambdas[1]
    assert_rates([fn(0), fn(4)], [0.5 * cyclic_rate(0), 0.5 * cyclic_rate(12)], **F64)
    with raises("step: must be in [0, 2**31 - 1] (epoch 715827883 of 3 steps), "
                "got 2147483649"):
        fn(715827883)
    with raises("last_epoch: must be an integer (the number of scheduler.step() calls), "
                "got 2.5"):
        fn(2.5)
