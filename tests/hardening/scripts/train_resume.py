"""A small training run that checkpoints, for the kill-and-resume tests.

``python train_resume.py FRAMEWORK WORKDIR [--pause-at STEP]``

FRAMEWORK is ``torch``, ``keras`` (a ``.keras`` file written by ``ModelCheckpoint``),
``keras-backup`` (``keras.callbacks.BackupAndRestore``) or ``optax`` (orbax-checkpoint).
The run trains a linear model on fixed data for ``STEPS`` optimizer updates under a
plateau spec (a warmup and a cosine, cut by reduce-on-plateau on the training loss) and
checkpoints model, optimizer and schedule (plateau state included). Started again on the
same WORKDIR, it resumes from the last checkpoint.

After each update it appends ``step lr loss scale`` to ``WORKDIR/log`` (``lr``: the rate
that update used, read from the optimizer; exact ``repr`` of the value). With
``--pause-at STEP`` it stops after logging that step, writes ``WORKDIR/paused`` and sleeps
until the test kills it with SIGKILL.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

STEPS = 48
SAVE_EVERY = 4  # torch, optax: steps between checkpoints (reports fall between them)
REPORT_EVERY = 3  # torch, optax: a loss report after every third update
BATCH, PER_EPOCH = 8, 4  # keras: 32 samples, four updates per epoch, report + save per epoch

SPEC = {"lrcore": 1, "schedule": {
    "type": "plateau", "factor": 0.5, "patience": 1, "cooldown": 1, "threshold": 0.1,
    "min_lr": 1e-5, "schedule": {"type": "sequence", "phases": [
        {"type": "linear", "start": 1e-3, "end": 0.05, "duration": 6},
        {"type": "cosine", "start": 0.05, "end": 1e-3, "duration": 42}]}}}


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240601)
    x = rng.normal(size=(PER_EPOCH * BATCH, 4)).astype(np.float32)
    y = (x @ np.array([0.5, -1.0, 2.0, 0.25], np.float32) + rng.normal(
        scale=0.5, size=x.shape[0]).astype(np.float32))[:, None]
    return x, y


class Run:
    def __init__(self, workdir: Path, pause_at: int | None) -> None:
        self.workdir, self.pause_at = workdir, pause_at
        self.log = open(workdir / "log", "a", encoding="utf-8")  # noqa: SIM115

    def record(self, step: int, lr: float, loss: float, scale: float) -> None:
        self.log.write(f"{step} {float(lr)!r} {float(loss)!r} {float(scale)!r}\n")
        self.log.flush()
        os.fsync(self.log.fileno())

    def maybe_pause(self, step: int) -> None:
        if self.pause_at is not None and step == self.pause_at:
            (self.workdir / "paused").write_text(str(step))
            time.sleep(600)  # the test kills this process here
            sys.exit("not killed")


def atomic(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


# ---- torch ------------------------------------------------------------------------------

def run_torch(run: Run) -> None:
    import torch

    import lrcore

    torch.manual_seed(0)
    torch.set_num_threads(1)
    x, y = (torch.from_numpy(a) for a in data())
    model = torch.nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.0, momentum=0.5)
    sched = lrcore.to_torch(SPEC, opt)
    ckpt, start = run.workdir / "ckpt.pt", 0
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        start = state["step"]
    for step in range(start, STEPS):
        lr = opt.param_groups[0]["lr"]  # the rate of update step + 1
        loss = torch.nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        value = loss.item()
        if (step + 1) % REPORT_EVERY == 0:
            sched.report(value)
        run.record(step, lr, value, sched.plateau["scale"])
        if (step + 1) % SAVE_EVERY == 0:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "scheduler": sched.state_dict(), "step": step + 1}
            atomic(ckpt, lambda p: torch.save(state, p))
        run.maybe_pause(step)


# ---- keras --------------------------------------------------------------------------------

def run_keras(run: Run, backup: bool) -> None:
    import keras

    import lrcore
    from lrcore.adapters.keras import PlateauCallback

    keras.utils.set_random_seed(0)
    x, y = data()
    ckpt = run.workdir / "model.keras"
    if ckpt.exists():
        model = keras.saving.load_model(ckpt)
        schedule = model.optimizer._learning_rate  # the LrcoreSchedule, plateau state in
    else:
        # BackupAndRestore saves weights and optimizer variables, not the schedule object:
        # it carries a pure schedule (a function of the restored iteration count) but not
        # the plateau state, which travels in the .keras file (README, "Guarantees")
        spec = SPEC if not backup else {"lrcore": 1, "schedule": SPEC["schedule"]["schedule"]}
        schedule = lrcore.to_keras(spec)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.5),
                      loss="mse")

    def scale() -> float:
        return schedule.plateau.scale if schedule.plateau is not None else 1.0

    class Log(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

        def on_train_batch_end(self, batch, logs=None):
            step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)) - 1
            self.last = (step, self.lr, float(logs["loss"]))
            if (step + 1) % PER_EPOCH:  # epoch ends log after the report
                run.record(*self.last, scale())
                run.maybe_pause(step)

        def on_epoch_end(self, epoch, logs=None):
            run.record(*self.last, scale())
            run.maybe_pause(self.last[0])

    if backup:
        # BackupAndRestore writes at each epoch end and restores on the next fit()
        save = keras.callbacks.BackupAndRestore(str(run.workdir / "backup"))
    else:
        save = keras.callbacks.ModelCheckpoint(str(ckpt), save_freq="epoch")
    # order matters: report the epoch's loss, then save the state that includes it
    callbacks = ([PlateauCallback(schedule, monitor="loss")] if not backup else []) + \
        [save, Log()]
    initial = int(keras.ops.convert_to_numpy(model.optimizer.iterations)) // PER_EPOCH
    model.fit(x, y, batch_size=BATCH, epochs=STEPS // PER_EPOCH, initial_epoch=initial,
              shuffle=False, verbose=0, callbacks=callbacks)


# ---- optax + orbax ----------------------------------------------------------------------------

def run_optax(run: Run) -> None:
    import jax
    import jax.numpy as jnp
    import optax
    import orbax.checkpoint as ocp

    from lrcore.adapters.optax import report, scale_by_plateau_schedule

    x, y = (jnp.asarray(a) for a in data())
    # plain SGD with momentum on (w, b); "probe" has gradient exactly 1 and no momentum,
    # so its update is exactly -lr: the rate the optimizer applied, read from the update
    tx = optax.chain(
        optax.multi_transform({"model": optax.trace(decay=0.5), "probe": optax.identity()},
                              {"w": "model", "b": "model", "probe": "probe"}),
        scale_by_plateau_schedule(SPEC))
    params = {"w": jnp.zeros((4, 1)), "b": jnp.zeros((1,)), "probe": jnp.zeros(())}
    opt_state = tx.init(params)

    def loss_fn(p):
        mse = jnp.mean((x @ p["w"] + p["b"] - y) ** 2)
        return mse + p["probe"] - jax.lax.stop_gradient(p["probe"]), mse

    @jax.jit
    def train_step(p, s):
        (_, mse), grads = jax.value_and_grad(loss_fn, has_aux=True)(p)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, mse, -updates["probe"]

    manager = ocp.CheckpointManager(
        run.workdir / "orbax", options=ocp.CheckpointManagerOptions(
            max_to_keep=2, save_interval_steps=SAVE_EVERY))
    start = 0
    if manager.latest_step() is not None:
        start = manager.latest_step()
        restored = manager.restore(start, args=ocp.args.StandardRestore(
            {"params": params, "opt_state": opt_state}))
        params, opt_state = restored["params"], restored["opt_state"]
    for step in range(start, STEPS):
        params, opt_state, mse, lr = train_step(params, opt_state)
        if (step + 1) % REPORT_EVERY == 0:
            opt_state = report(opt_state, mse)
        run.record(step, lr, mse, opt_state[1].scale)
        # saves are asynchronous: a kill may land before one is committed, and orbax
        # must then resume from the previous one
        manager.save(step + 1, args=ocp.args.StandardSave(
            {"params": params, "opt_state": opt_state}))
        run.maybe_pause(step)
    manager.wait_until_finished()
    manager.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("framework", choices=["torch", "keras", "keras-backup", "optax"])
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--pause-at", type=int, default=None)
    args = parser.parse_args()
    run = Run(args.workdir, args.pause_at)
    if args.framework == "torch":
        run_torch(run)
    elif args.framework.startswith("keras"):
        run_keras(run, backup=args.framework == "keras-backup")
    else:
        run_optax(run)
    (args.workdir / "done").write_text("ok")


if __name__ == "__main__":
    main()
