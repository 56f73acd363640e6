"""The frameworks' polynomial decays with a power <= 0 stay refused now that lrcore's
``polynomial`` takes a negative power: at the end of their decay they raise 0 to it
(torch, transformers and fvcore a ZeroDivisionError, Keras and optax inf), where
lrcore's curve holds ``end``."""

from __future__ import annotations

import re
import warnings

import pytest

import lrcore

RULE = ("must be > 0 for {} (at the end of its decay it raises 0 to this power, which is "
        "infinite below 0), got -1.0")


def refused(make, path, who):
    with pytest.raises(lrcore.SpecError, match="^" + re.escape(f"{path}: " + RULE.format(who))
                       + "$"):
        make()


def test_keras_optax_transformers():
    refused(lambda: lrcore.from_keras({"initial_learning_rate": 0.1, "decay_steps": 10,
                                       "power": -1.0}, class_name="PolynomialDecay"),
            "power", "Keras PolynomialDecay")
    refused(lambda: lrcore.presets.optax.polynomial_schedule(0.1, 0.0, -1.0, 10), "power",
            "optax")
    refused(lambda: lrcore.presets.hf("polynomial", lr=0.1, num_warmup_steps=2,
                                      num_training_steps=10, power=-1.0),
            "polynomial.power", "transformers")


def test_torch_polynomial_lr():
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=-1.0)
    refused(lambda: lrcore.from_torch(s), "scheduler.power", "PolynomialLR")


def test_fvcore_polynomial_decay():
    schedulers = pytest.importorskip("fvcore.common.param_scheduler")
    s = schedulers.PolynomialDecayParamScheduler(0.1, -1.0)
    refused(lambda: lrcore.from_fvcore(s, total_steps=10), "scheduler._power", "fvcore")
