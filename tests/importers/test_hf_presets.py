"""``lrcore.presets.hf``: transformers' schedulers by name, against transformers.

Oracle: ``transformers.get_scheduler(name, optimizer, ...)``, a torch ``LambdaLR``
driven like a training loop: the rate in the param group after ``k`` calls of
``scheduler.step()`` (float64), at rtol 1e-12 / atol 1e-15 x peak, for three
(warmup, training steps) settings per scheduler and every step to 1.5 x the run.
"""

from __future__ import annotations

import importlib
import math
import warnings

import numpy as np
import pytest

import lrcore
from lrcore import SpecError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from importer_helpers import FLOAT64, assert_close  # noqa: E402

LR = 3e-4
# (warmup, training steps) for each horizon; warmup 0 somewhere, and a run whose decay
# phase is one step
SETTINGS = {"short": (3, 13), "medium": (20, 220), "long": (0, 1200)}

# name -> kwargs for transformers' scheduler_specific_kwargs; several sets per name
CASES = {
    "linear": [{}],
    # num_cycles with half-periods or cycles that are not whole numbers of steps (0.75:
    # 2/3 of the span) are real durations, drawn exactly
    "cosine": [{}, {"num_cycles": 1.0}, {"num_cycles": 0.25}, {"num_cycles": 0.75},
               {"num_cycles": 1.3}],
    "cosine_with_restarts": [{}, {"num_cycles": 2}, {"num_cycles": 5}, {"num_cycles": 3},
                             {"num_cycles": 0.7}],
    "polynomial": [{}, {"lr_end": 2e-5, "power": 2.0}, {"lr_end": 1e-6, "power": 0.5}],
    "constant": [{}],
    "constant_with_warmup": [{}],
    "inverse_sqrt": [{}, {"timescale": 37}],
    "cosine_with_min_lr": [{"min_lr": 1e-5}, {"min_lr_rate": 0.1, "num_cycles": 1.0},
                           {"min_lr": 2e-5, "num_cycles": 0.75}],
    "cosine_warmup_with_min_lr": [{"min_lr": 1e-5}, {"min_lr_rate": 0.2, "warmup_lr_rate": 0.3}],
    "warmup_stable_decay": [
        {"num_decay_steps": 10, "min_lr_ratio": 0.1},
        {"num_decay_steps": 5, "num_stable_steps": 4, "warmup_type": "cosine",
         "decay_type": "1-sqrt", "min_lr_ratio": 0.05},
        {"num_decay_steps": 10, "warmup_type": "1-sqrt", "decay_type": "linear"},
        {"num_decay_steps": 10, "decay_type": "cosine", "num_cycles": 2.5, "min_lr_ratio": 0.2},
        {"num_decay_steps": 10, "decay_type": "cosine", "num_cycles": 0.75,
         "min_lr_ratio": 0.1},
    ],
}


def scaled(kwargs, w, n):
    """Scale step-valued kwargs with the setting (decay/stable steps fit in the run)."""
    out = dict(kwargs)
    for key in ("num_decay_steps", "num_stable_steps"):
        if key in out:
            out[key] = max(1, out[key] * (n - w) // 40)
    return out


def native(name, w, n, kwargs, steps):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    with warnings.catch_warnings():
        # transformers warns when num_stable_steps and num_training_steps are both given
        warnings.filterwarnings("ignore", "Both num_training_steps and num_stable_steps",
                                UserWarning)
        sched = transformers.get_scheduler(name, opt, num_warmup_steps=w,
                                           num_training_steps=n,
                                           scheduler_specific_kwargs=kwargs)
    out = np.empty(steps)
    for k in range(steps):
        out[k] = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
    return out


PARAMS = [(name, i, setting) for name, sets in CASES.items() for i in range(len(sets))
          for setting in SETTINGS]


@pytest.mark.parametrize("name,index,setting", PARAMS,
                         ids=[f"{n}-{i}-{s}" for n, i, s in PARAMS])
def test_curve_matches_transformers(name, index, setting):
    w, n = SETTINGS[setting]
    kwargs = scaled(CASES[name][index], w, n)
    steps = int(1.5 * n) + 5
    spec = lrcore.presets.hf(name, LR, w, n, **kwargs)
    t = np.arange(steps)
    assert_close(lrcore.evaluate(spec, t), native(name, w, n, kwargs, steps), FLOAT64,
                 steps=t, what=f"{name} {kwargs} W={w} N={n}")


def test_every_step_function_scheduler_is_covered():
    """Every transformers scheduler type is either a preset or refused as stateful."""
    names = {t.value for t in transformers.SchedulerType}
    presets = importlib.import_module("lrcore.presets.hf").NAMES
    assert names == set(presets) | {"reduce_lr_on_plateau", "greedy"}


def test_cosine_turns_periodic_past_the_run():
    """transformers' cosine keeps going past num_training_steps: written out by hand."""
    w, n = 10, 110
    spec = lrcore.presets.hf("cosine", 1.0, w, n)
    t = np.arange(0, 400)
    hand = [k / w if k < w else 0.5 * (1 + math.cos(math.pi * (k - w) / (n - w))) for k in t]
    assert_close(lrcore.evaluate(spec, t), hand, FLOAT64, steps=t)


def test_restart_steps_are_exact():
    """At every restart step the spec gives the full rate; transformers' float modulo
    lands there too for these settings (all steps compared above)."""
    w, n, c = 4, 64, 3
    spec = lrcore.presets.hf("cosine_with_restarts", 1.0, w, n, num_cycles=c)
    restarts = [w + k * (n - w) // c for k in range(c)]
    assert lrcore.evaluate(spec, restarts).tolist() == [1.0] * c
    assert lrcore.evaluate(spec, [n, n + 1, 10**6]).tolist() == [0.0, 0.0, 0.0]


def test_schedulertype_enum_is_accepted():
    spec = lrcore.presets.hf(transformers.SchedulerType.LINEAR, LR, 2, 10)
    assert spec == lrcore.presets.hf("linear", LR, 2, 10)


@pytest.mark.parametrize("call,match", [
    (lambda: lrcore.presets.hf("reduce_lr_on_plateau", LR), r"driven by reported metrics"),
    (lambda: lrcore.presets.hf("greedy", LR), r"driven by reported metrics"),
    (lambda: lrcore.presets.hf("cosine_annealing", LR, 1, 10), r"name: must be a "
                                                               r"transformers scheduler"),
    (lambda: lrcore.presets.hf("linear", LR, 1), r"num_training_steps: is required"),
    (lambda: lrcore.presets.hf("inverse_sqrt", LR), r"num_warmup_steps: is required"),
    (lambda: lrcore.presets.hf("cosine", LR, 1, 10, cycles=2),
     r"cosine.cycles: is not an argument of cosine \(known: num_cycles\)"),
    (lambda: lrcore.presets.hf("cosine", LR, 0, 100, num_cycles=0.0),
     r"^cosine\.num_cycles: must be > 0, got 0\.0$"),
    (lambda: lrcore.presets.hf("cosine_with_restarts", LR, 0, 100, num_cycles=-2),
     r"^cosine_with_restarts\.num_cycles: must be > 0, got -2\.0$"),
    (lambda: lrcore.presets.hf("cosine_with_min_lr", LR, 1, 10),
     r"needs min_lr or min_lr_rate"),
    (lambda: lrcore.presets.hf("cosine_with_min_lr", LR, 1, 10, min_lr=0.1, min_lr_rate=0.1),
     r"takes min_lr or min_lr_rate, not both"),
    (lambda: lrcore.presets.hf("polynomial", LR, 1, 10, lr_end=LR),
     r"lr_end: must be smaller than the initial lr"),
    (lambda: lrcore.presets.hf("polynomial", LR, 10, 10),
     r"num_training_steps: must differ from num_warmup_steps"),
    (lambda: lrcore.presets.hf("warmup_stable_decay", LR, 5, 10),
     r"num_decay_steps: is required"),
    (lambda: lrcore.presets.hf("warmup_stable_decay", LR, 5, 10, num_decay_steps=8),
     r"num_stable_steps: comes out negative"),
    (lambda: lrcore.presets.hf("warmup_stable_decay", LR, 5, 30, num_decay_steps=8,
                               decay_type="exp"), r"decay_type: must be"),
    (lambda: lrcore.presets.hf("linear", LR, -1, 10), r"num_warmup_steps: must be >= 0"),
])
def test_errors(call, match):
    with pytest.raises(SpecError, match=match):
        call()


def test_wsd_negative_stable_steps_name_the_training_steps():
    """The message shows the num_training_steps given, and a negative count given
    directly is named as such."""
    with pytest.raises(SpecError, match=r"warmup_stable_decay\.num_stable_steps: comes out "
                                        r"negative: warmup 10 and decay 200 exceed "
                                        r"num_training_steps 100, got -110"):
        lrcore.presets.hf("warmup_stable_decay", LR, 10, 100, num_decay_steps=200)
    with pytest.raises(SpecError, match=r"warmup_stable_decay\.num_stable_steps: must be "
                                        r">= 0, got -5"):
        lrcore.presets.hf("warmup_stable_decay", LR, 10, 100, num_decay_steps=20,
                          num_stable_steps=-5)
    with pytest.raises(SpecError, match=r"warmup_stable_decay\.num_decay_steps: must be "
                                        r">= 0, got -20"):
        lrcore.presets.hf("warmup_stable_decay", LR, 10, 100, num_decay_steps=-20)


NOT_NUMBERS = [
    ("linear", {"lr": "1e-3"}, r"^lr: must be a real number .*got \"1e-3\""),
    ("linear", {"lr": True}, r"^lr: must be a real number .*got true"),
    ("linear", {"num_warmup_steps": "10"}, r"^num_warmup_steps: must be a real number"),
    ("linear", {"num_training_steps": "100"}, r"^num_training_steps: must be a real number"),
    ("linear", {"num_training_steps": True}, r"^num_training_steps: must be a real number"),
    ("cosine", {"num_cycles": "1"}, r"^cosine\.num_cycles: must be a real number"),
    ("cosine_with_restarts", {"num_cycles": "3"}, r"^cosine_with_restarts\.num_cycles: must"),
    ("polynomial", {"lr_end": "1e-7"}, r"^polynomial\.lr_end: must be a real number"),
    ("polynomial", {"power": "2"}, r"^polynomial\.power: must be a real number"),
    ("inverse_sqrt", {"timescale": "40"}, r"^inverse_sqrt\.timescale: must be a real number"),
    ("cosine_with_min_lr", {"min_lr": "1e-5"}, r"^cosine_with_min_lr\.min_lr: must be"),
    ("cosine_with_min_lr", {"min_lr_rate": "0.1"}, r"^cosine_with_min_lr\.min_lr_rate: must"),
    ("cosine_warmup_with_min_lr", {"min_lr": 1e-5, "warmup_lr_rate": "0.3"},
     r"^cosine_warmup_with_min_lr\.warmup_lr_rate: must be a real number"),
    ("warmup_stable_decay", {"num_decay_steps": "10"},
     r"^warmup_stable_decay\.num_decay_steps: must be a real number"),
    ("warmup_stable_decay", {"num_decay_steps": 10, "num_stable_steps": "5"},
     r"^warmup_stable_decay\.num_stable_steps: must be a real number"),
    ("warmup_stable_decay", {"num_decay_steps": 10, "min_lr_ratio": "0.1"},
     r"^warmup_stable_decay\.min_lr_ratio: must be a real number"),
    ("warmup_stable_decay", {"num_decay_steps": 10, "decay_type": "linear",
                             "num_cycles": "0.5"},
     r"^warmup_stable_decay\.num_cycles: must be a real number"),
]


@pytest.mark.parametrize("name,args,match", NOT_NUMBERS,
                         ids=[f"{n}-{next(iter(a.items()))[0]}" if len(a) == 1 else
                              f"{n}-{list(a)[-1]}" for n, a, _ in NOT_NUMBERS])
def test_numbers_must_be_numbers(name, args, match):
    """Every numeric parameter refuses a string (even one that reads as a number) and a
    bool, naming the parameter."""
    args = dict(args)
    call = {"lr": args.pop("lr", LR), "num_warmup_steps": args.pop("num_warmup_steps", 10),
            "num_training_steps": args.pop("num_training_steps", 110)}
    with pytest.raises(SpecError, match=match):
        lrcore.presets.hf(name, **call, **args)


def test_numpy_scalars_are_numbers():
    """numpy scalars are numbers: the same spec as the Python numbers they hold."""
    spec = lrcore.presets.hf("cosine", np.float64(LR), np.int64(10), np.int64(110),
                             num_cycles=np.float64(1.0))
    assert spec.schedule == lrcore.presets.hf("cosine", LR, 10, 110, num_cycles=1.0).schedule
