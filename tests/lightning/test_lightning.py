"""lrcore inside a real ``lightning.Trainer.fit`` on CPU: the rate of every optimizer
update equals ``lrcore.evaluate(spec, t)`` (``t`` = updates already applied), with
gradient accumulation, with a plateau cut from a real validation metric, after
``fit(ckpt_path=...)``, and in ``LearningRateMonitor``'s log; misconfigurations that
would mis-step are refused with the fix in the message."""

from __future__ import annotations

import csv
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
L = pytest.importorskip("lightning.pytorch")
from lightning.pytorch.callbacks import Callback, LearningRateMonitor, ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402
from rates import assert_rates  # noqa: E402 - tests/ is on sys.path (conftest)

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.integrations.lightning import PlateauReporter, scheduler_config  # noqa: E402

BATCHES = 4  # training batches per epoch (8 samples, batch size 2)

# warmup 3 updates, then cosine to 1e-3 over the rest of a 24-update run: every update
# of the tests below sees a distinct rate
WARM_COS = {"lrcore": 1, "schedule": {"type": "sequence", "phases": [
    {"type": "linear", "start": 0.01, "end": 0.1, "duration": 3},
    {"type": "cosine", "start": 0.1, "end": 0.001, "duration": 21}]}}

# the same inside plateau: patience 1 -> the 2nd bad report in a row cuts by half
PLATEAU = {"lrcore": 1, "schedule": {"type": "plateau", "factor": 0.5, "patience": 1,
                                     "schedule": WARM_COS["schedule"]}}


def _data(sign: float = 1.0):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 2, generator=g)
    y = sign * (x @ torch.tensor([[1.5], [-0.5]]))
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=2)


class Tiny(L.LightningModule):
    """Linear 2 -> 1 trained on y = x w. Its validation set has the opposite target, so
    the better it fits the training data, the worse ``val_loss`` gets: the metric stops
    improving by construction and a plateau spec must cut."""

    def __init__(self, spec, config=None, **to_torch):
        super().__init__()
        torch.manual_seed(0)
        self.net = torch.nn.Linear(2, 1)
        self.spec, self.config, self.to_torch = spec, config, to_torch

    def training_step(self, batch, _):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def validation_step(self, batch, _):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.net(x), y))

    def train_dataloader(self):
        return _data()

    def val_dataloader(self):
        return _data(-1.0)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=0.0, momentum=0.9)
        sched = lrcore.to_torch(self.spec, opt, **self.to_torch)
        config = (scheduler_config(sched, monitor="val_loss")
                  if sched.plateau is not None else scheduler_config(sched))
        if self.config is not None:
            config = self.config(sched, config)
        return {"optimizer": opt, "lr_scheduler": config}


class Rates(Callback):
    """The oracle's inputs, read from Lightning: ``(t, lr)`` as each optimizer update is
    applied (``t`` = trainer.global_step, the updates already applied) and ``(t, metric)``
    of each validation of fit."""

    def __init__(self):
        self.rates, self.metrics = [], []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        self.rates.append((trainer.global_step, optimizer.param_groups[0]["lr"]))

    def on_validation_end(self, trainer, pl_module):
        if not trainer.sanity_checking:
            self.metrics.append((trainer.global_step, float(trainer.callback_metrics["val_loss"])))


def _fit(model, tmp_path, epochs, *callbacks, ckpt_path=None, **kwargs):
    rates = Rates()
    options = {"logger": False, "enable_checkpointing": False, **kwargs}
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1,
                        enable_progress_bar=False, enable_model_summary=False,
                        default_root_dir=tmp_path, num_sanity_val_steps=0,
                        callbacks=[rates, *callbacks], **options)
    trainer.fit(model, ckpt_path=ckpt_path)
    return trainer, rates


def _split(pairs):
    t, v = zip(*pairs)
    return np.array(t), np.array(v, dtype=np.float64)


# ---- the rate of every update ---------------------------------------------------------------

@pytest.mark.parametrize("accumulate", [1, 2])
def test_every_update_follows_the_spec(tmp_path, accumulate):
    trainer, rec = _fit(Tiny(WARM_COS), tmp_path, 6 * accumulate, limit_val_batches=0,
                        accumulate_grad_batches=accumulate)
    t, lr = _split(rec.rates)
    # one rate per optimizer update, t = 0, 1, 2, ... (micro-batches do not count)
    assert t.tolist() == list(range(24))
    assert trainer.global_step == 24 == trainer.lr_scheduler_configs[0].scheduler.last_epoch
    assert_rates(lr, lrcore.evaluate(WARM_COS, t))
    assert len(set(lr.tolist())) == 24  # no two updates at one rate: a shift would show


def test_a_plateau_cut_from_the_validation_metric(tmp_path):
    model = Tiny(PLATEAU)
    trainer, rec = _fit(model, tmp_path, 6, PlateauReporter())
    t, lr = _split(rec.rates)
    reports = rec.metrics
    assert [s for s, _ in reports] == [4, 8, 12, 16, 20, 24]  # after each epoch's updates
    m = [v for _, v in reports]
    assert all(v > m[0] for v in m[1:])  # never better than the first: the 2nd bad
    scheduler = trainer.lr_scheduler_configs[0].scheduler  # report in a row cuts (3, 5)
    assert scheduler.plateau["reports"] == 6 and scheduler.plateau["scale"] == 0.25
    want = lrcore.evaluate(PLATEAU, t, reports=reports)
    assert_rates(lr, want)
    # the cut is real: without the reports the rates differ from update 12 on
    plain = lrcore.evaluate(WARM_COS, t)
    assert_rates(lr[:12], plain[:12])
    assert np.all(lr[12:] < plain[12:])


def test_fit_ckpt_path_continues_the_same_rates(tmp_path):
    _, whole = _fit(Tiny(PLATEAU), tmp_path / "a", 6, PlateauReporter())
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    _fit(Tiny(PLATEAU), tmp_path / "b", 4, PlateauReporter(), ckpt,
         enable_checkpointing=True)
    saved = torch.load(tmp_path / "ckpt" / "last.ckpt", weights_only=False)
    # mid patience window: 4 reports made, the last one bad, one cut already applied
    assert saved["lr_schedulers"][0]["plateau"]["reports"] == 4
    assert saved["lr_schedulers"][0]["plateau"]["bad"] == 1
    # a new process: the checkpoint alone, and the same callbacks (Lightning asks for
    # that), saving to the same (now empty) folder
    resume = tmp_path / "resume.ckpt"
    shutil.move(tmp_path / "ckpt" / "last.ckpt", resume)
    shutil.rmtree(tmp_path / "ckpt")
    trainer, rest = _fit(Tiny(PLATEAU), tmp_path / "c", 6, PlateauReporter(),
                         ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True),
                         enable_checkpointing=True, ckpt_path=resume)
    t, lr = _split(rest.rates)
    assert t.tolist() == list(range(16, 24))
    assert rest.rates == whole.rates[16:]
    assert rest.metrics == whole.metrics[4:]
    assert trainer.lr_scheduler_configs[0].scheduler.plateau["reports"] == 6
    assert_rates(lr, lrcore.evaluate(PLATEAU, t, reports=whole.metrics))


def test_learning_rate_monitor_logs_the_reference_curve(tmp_path):
    logger = CSVLogger(tmp_path, name="run", version=0)
    _fit(Tiny(WARM_COS), tmp_path, 6, LearningRateMonitor(logging_interval="step"),
         logger=logger, log_every_n_steps=1, limit_val_batches=0)
    with open(tmp_path / "run" / "version_0" / "metrics.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("lr-SGD")]
    t = np.array([int(r["step"]) for r in rows])
    assert t.tolist() == list(range(24))
    assert_rates([float(r["lr-SGD"]) for r in rows], lrcore.evaluate(WARM_COS, t))


def test_epoch_unit_plateau_goes_through_lightnings_own_path(tmp_path):
    """``step_unit="epoch"``: Lightning calls ``step(val_loss)`` once per epoch (its
    ``reduce_on_plateau`` path); no reporter needed."""
    spec = {**PLATEAU, "steps_per_epoch": BATCHES}
    trainer, rec = _fit(Tiny(spec, step_unit="epoch"), tmp_path, 6)
    assert trainer.lr_scheduler_configs[0].reduce_on_plateau
    t, lr = _split(rec.rates)
    epoch_start = t // BATCHES * BATCHES  # the rate is held through each epoch
    assert_rates(lr, lrcore.evaluate(spec, epoch_start, reports=rec.metrics))
    assert trainer.lr_scheduler_configs[0].scheduler.plateau["scale"] < 1.0


# ---- refused: configurations that would mis-step -------------------------------------------

def _refused(tmp_path, spec, config, **kwargs):
    with pytest.raises(SpecError) as err:
        _fit(Tiny(spec, config, **kwargs), tmp_path, 1, PlateauReporter())
    return str(err.value)


FIX = "return lrcore.integrations.lightning.scheduler_config(scheduler) from configure_optimizers"


def test_lightnings_default_interval_is_refused(tmp_path):
    # a bare scheduler gets Lightning's default interval "epoch": one step per epoch
    msg = _refused(tmp_path, PLATEAU, lambda s, c: s)
    assert msg == ('lr_scheduler_configs[0].interval: must be "step": each step() of this '
                   f'scheduler is one optimizer update; {FIX}, got "epoch"')


def test_frequency_other_than_1_is_refused(tmp_path):
    msg = _refused(tmp_path, WARM_COS, lambda s, c: {**c, "frequency": 2})
    assert msg == ("lr_scheduler_configs[0].frequency: must be 1 (lrcore counts every "
                   f"update); {FIX}, got 2")


def test_plateau_without_monitor_is_refused_at_fit(tmp_path):
    msg = _refused(tmp_path, PLATEAU, lambda s, c: {"scheduler": s, "interval": "step"})
    assert msg == ("lr_scheduler_configs[0].monitor: is needed for a reduce-on-plateau spec; "
                   "return scheduler_config(scheduler, monitor='val_loss')")


def test_reduce_on_plateau_on_a_step_interval_is_refused(tmp_path):
    # Lightning would call step(val_loss) on every update: one report per batch
    msg = _refused(tmp_path, PLATEAU, lambda s, c: {**c, "reduce_on_plateau": True})
    assert msg == ('lr_scheduler_configs[0].reduce_on_plateau: must be False with interval '
                   '"step" (Lightning would report the metric on every update); return '
                   "scheduler_config(scheduler, monitor=...), got true")


def test_epoch_unit_with_another_epoch_length_is_refused(tmp_path):
    msg = _refused(tmp_path, {**WARM_COS, "steps_per_epoch": 5}, None, step_unit="epoch")
    assert msg == ("lr_scheduler_configs[0].scheduler: steps_per_epoch must be the updates "
                   "Lightning makes per epoch (4 batches / accumulate_grad_batches 1 = 4); "
                   "set it in the spec or in to_torch, got 5")


def test_a_monitor_that_is_never_logged_is_refused(tmp_path):
    config = lambda s, c: {**c, "monitor": "val_acc"}  # noqa: E731
    msg = _refused(tmp_path, PLATEAU, config)
    assert msg == ("monitor: must be a metric the validation logs (self.log); logged: "
                   "['val_loss'], got \"val_acc\"")


def test_scheduler_config_refuses_what_it_cannot_place():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    with pytest.raises(SpecError) as err:
        scheduler_config(lrcore.to_torch(PLATEAU, opt))
    assert str(err.value) == ("monitor: is needed for a reduce-on-plateau spec: pass the "
                              "logged metric, e.g. scheduler_config(scheduler, "
                              "monitor='val_loss'), and add PlateauReporter() to "
                              "Trainer(callbacks=...)")
    with pytest.raises(SpecError) as err:
        scheduler_config(lrcore.to_torch(WARM_COS, opt), monitor="val_loss")
    assert str(err.value) == ('monitor: is only for a reduce-on-plateau spec (this one\'s '
                              'outermost node is "sequence"); leave it out, got "val_loss"')
    with pytest.raises(SpecError) as err:
        scheduler_config(torch.optim.lr_scheduler.StepLR(opt, 3))
    assert str(err.value) == ("scheduler: must be an lrcore scheduler (lrcore.to_torch(spec, "
                              'optimizer)), got "StepLR"')


def test_import_lrcore_does_not_import_lightning():
    import subprocess
    import sys

    code = ("import sys, lrcore; bad = [m for m in ('lightning', 'lrcore.integrations') "
            "if m in sys.modules]; sys.exit(str(bad) if bad else 0)")
    subprocess.run([sys.executable, "-c", code], check=True)
