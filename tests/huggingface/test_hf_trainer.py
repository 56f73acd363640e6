"""``transformers.Trainer(optimizers=(optimizer, lrcore.to_torch(spec, optimizer)))``.

A real Trainer on CPU (a tiny float64 model, no download): every optimizer update uses,
and really applies, ``lrcore.evaluate(spec, t)`` at t = updates already applied, with
gradient accumulation too; a run resumed from a Trainer checkpoint (``scheduler.pt``)
continues the identical curve and parameters; a plateau spec cut by a real evaluation
metric through :class:`LrcoreCallback` follows the reference replay of those reports,
across a resume in the middle. Misuse that would silently mis-step is refused.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from hf_tiny import PLATEAU, SPEC, Data, Updates, model_and_optimizer  # noqa: E402

import lrcore  # noqa: E402
from lrcore import SpecError  # noqa: E402
from lrcore.integrations.huggingface import LrcoreCallback  # noqa: E402


class Record(transformers.TrainerCallback):
    """The rate of every update, the micro-batches that only accumulated, and every
    evaluation metric with the update count it was measured after."""

    def __init__(self) -> None:
        self.updates = Updates()
        self.substeps = 0
        self.reports: list[tuple[int, float]] = []

    def on_pre_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.updates.pre(optimizer)

    def on_optimizer_step(self, args, state, control, optimizer=None, **kwargs):
        self.updates.post(optimizer)

    def on_substep_end(self, args, state, control, **kwargs):
        self.substeps += 1

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        self.reports.append((state.global_step, metrics["eval_loss"]))


def arguments(out, **kw) -> transformers.TrainingArguments:
    base = dict(output_dir=str(out), max_steps=12, per_device_train_batch_size=2,
                report_to=[], use_cpu=True, logging_strategy="no", save_strategy="no",
                disable_tqdm=True, seed=0, label_names=["y"])
    return transformers.TrainingArguments(**{**base, **kw})


def trainer(out, spec=SPEC, callbacks=(), scheduler=None, **kw):
    model, optimizer = model_and_optimizer()
    sched = lrcore.to_torch(spec, optimizer) if scheduler is None else scheduler(optimizer)
    record = Record()
    t = transformers.Trainer(model=model, args=arguments(out, **kw), train_dataset=Data(72),
                             eval_dataset=Data(16, seed=1), optimizers=(optimizer, sched),
                             callbacks=[record, *callbacks])
    return t, record, sched


def params(t) -> list[np.ndarray]:
    return [p.detach().numpy().copy() for p in t.model.parameters()]


@pytest.mark.parametrize("accumulate", [1, 3])
def test_every_update_uses_the_reference_rate(tmp_path, accumulate):
    t, record, sched = trainer(tmp_path, gradient_accumulation_steps=accumulate)
    t.train()
    want = lrcore.evaluate(SPEC, np.arange(12))
    np.testing.assert_allclose(record.updates.lrs, want, rtol=1e-12, atol=0)
    # the rate the update really applied, off the float64 parameters (SGD: p -= lr * g);
    # rounding of p (~1) against steps of ~1e-3 leaves ~1e-13 relative
    np.testing.assert_allclose(record.updates.applied, want, rtol=1e-9, atol=0)
    assert record.substeps == 12 * (accumulate - 1)  # micro-batches did not step it
    assert t.state.global_step == sched.last_epoch == 12


def test_resume_from_a_trainer_checkpoint_continues_the_curve(tmp_path):
    full, whole, _ = trainer(tmp_path / "a", save_strategy="steps", save_steps=5)
    full.train()
    resumed, rest, sched = trainer(tmp_path / "b")
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-5"))
    want = lrcore.evaluate(SPEC, np.arange(12))
    np.testing.assert_allclose(rest.updates.lrs, want[5:], rtol=1e-12, atol=0)
    assert rest.updates.lrs == whole.updates.lrs[5:]
    assert sched.last_epoch == 12
    for a, b in zip(params(full), params(resumed)):
        np.testing.assert_array_equal(a, b)


def test_plateau_cut_by_a_real_evaluation_metric_and_resumed(tmp_path):
    """Evaluations every 2 updates; a metric must fall to a tenth to count as better
    (threshold 0.9), so the reports cut the rate; the reference replays the reports the
    Trainer made. The resumed run starts from the checkpoint after update 4, its first
    cut included."""
    kw = dict(eval_strategy="steps", eval_steps=2, save_strategy="steps", save_steps=4)
    full, whole, _ = trainer(tmp_path / "a", PLATEAU, [LrcoreCallback(monitor="eval_loss")],
                             **kw)
    full.train()
    assert [s for s, _ in whole.reports] == [2, 4, 6, 8, 10, 12]
    want = lrcore.evaluate(PLATEAU, np.arange(12), reports=whole.reports)
    np.testing.assert_allclose(whole.updates.lrs, want, rtol=1e-12, atol=0)
    np.testing.assert_allclose(whole.updates.applied, want, rtol=1e-9, atol=0)
    plain = lrcore.evaluate(SPEC, np.arange(12))
    assert want[4] < plain[4]  # cut at the report after update 4 (0.5 x), and again later
    np.testing.assert_allclose(want[4] / plain[4], 0.5, rtol=1e-12)

    # the metric named by metric_for_best_model ("loss" -> "eval_loss"), as Trainer's own
    # ReduceLROnPlateau gets it; resumed from the checkpoint after update 4
    resumed, rest, _ = trainer(tmp_path / "b", PLATEAU, [LrcoreCallback()],
                               metric_for_best_model="loss", **kw)
    resumed.train(resume_from_checkpoint=str(tmp_path / "a" / "checkpoint-4"))
    assert rest.reports == whole.reports[2:]
    np.testing.assert_allclose(rest.updates.lrs, want[4:], rtol=1e-12, atol=0)
    assert rest.updates.lrs == whole.updates.lrs[4:]


# ---- bad input: refused with the fix in the message ------------------------------------

def refused(message: str):
    return pytest.raises(SpecError, match="^" + re.escape(message) + "$")


def test_a_plateau_spec_without_a_monitor_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, PLATEAU, [LrcoreCallback()], eval_strategy="steps",
                      eval_steps=2)
    with refused('monitor: a plateau spec needs the metric it watches: LrcoreCallback('
                 'monitor="eval_loss") or TrainingArguments(metric_for_best_model=...), '
                 'got null'):
        t.train()


def test_a_plateau_mode_against_greater_is_better_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, PLATEAU, [LrcoreCallback()], eval_strategy="steps",
                      eval_steps=2, metric_for_best_model="accuracy")
    with refused('monitor: the plateau spec\'s mode "min" counts lower as better, but '
                 "TrainingArguments(greater_is_better=True) counts higher as better; set "
                 'the plateau\'s mode to "max", got "eval_accuracy"'):
        t.train()


def test_a_plateau_spec_without_evaluations_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, PLATEAU, [LrcoreCallback(monitor="eval_loss")])
    with refused('eval_strategy: must evaluate ("steps" or "epoch") for a plateau spec: '
                 'without evaluations nothing reports, got "no"'):
        t.train()


def test_a_monitor_missing_from_the_metrics_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, PLATEAU, [LrcoreCallback(monitor="eval_accuracy")],
                      eval_strategy="steps", eval_steps=2)
    with refused("monitor: is not among the evaluation metrics (epoch, eval_loss, "
                 "eval_runtime, eval_samples_per_second, eval_steps_per_second), got "
                 '"eval_accuracy"'):
        t.train()


def test_a_monitor_for_a_spec_without_plateau_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, SPEC, [LrcoreCallback(monitor="eval_loss")])
    with refused('monitor: needs a spec whose outermost node is plateau; drop monitor, '
                 'got "eval_loss"'):
        t.train()


def test_an_epoch_unit_scheduler_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, SPEC, [LrcoreCallback()], scheduler=lambda o: lrcore.to_torch(
        SPEC, o, step_unit="epoch", steps_per_epoch=4))
    with refused('lr_scheduler.step_unit: must be "step" in a trainer, which calls step() '
                 'after every optimizer update; build the scheduler with step_unit="step", '
                 'got "epoch"'):
        t.train()


def test_a_scheduler_of_another_optimizer_is_refused(tmp_path):
    other = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0)
    t, _, _ = trainer(tmp_path, SPEC, [LrcoreCallback()],
                      scheduler=lambda o: lrcore.to_torch(SPEC, other))
    with refused("lr_scheduler.optimizer: must be the Trainer's optimizer; build the "
                 "scheduler on the optimizer passed in optimizers=(optimizer, scheduler)"):
        t.train()


def test_a_scheduler_that_is_not_lrcore_is_refused(tmp_path):
    t, _, _ = trainer(tmp_path, SPEC, [LrcoreCallback()],
                      scheduler=lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda k: 1.0))
    with refused("lr_scheduler: must be an lrcore scheduler (lrcore.to_torch(spec, optimizer), "
                 'passed as Trainer(optimizers=(optimizer, scheduler))), got "LambdaLR"'):
        t.train()


def test_an_empty_monitor_is_refused():
    with refused('monitor: must be the name of an evaluation metric such as "eval_loss", '
                 'got ""'):
        LrcoreCallback(monitor="")
