"""Reduce-on-plateau in ``model.fit``, driven by examples/plateau.yaml.

A tiny MLP fits noisy synthetic data: the validation loss falls for a few epochs, then
stalls at the noise floor, and the plateau rule cuts the rate (on top of the warmup +
cosine curve). ``lrcore.to_keras(spec)`` is the optimizer's learning rate and
``PlateauCallback(schedule)`` reports ``val_loss`` at the end of every epoch. Keras's own
``ReduceLROnPlateau`` callback cannot do this: it refuses an optimizer whose learning
rate is a schedule. Runs on every Keras backend (set ``KERAS_BACKEND``).

    python examples/plateau_keras.py [--epochs 30]

Prints one line per epoch, the epochs after which the rate was cut, and a final JSON
line (reports, the rate at the start of every epoch, cuts) from which
``lrcore.evaluate(spec, steps, reports=...)`` recomputes every rate (float32 here).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import keras
import numpy as np

import lrcore
from lrcore.adapters.keras import PlateauCallback

SPEC = pathlib.Path(__file__).with_name("plateau.yaml")
BATCH, N_TRAIN, N_VAL, DIM = 32, 256, 128, 8
STEPS_PER_EPOCH = N_TRAIN // BATCH


def make_data(seed: int = 0):
    """y = sin(x . w) + noise (sd 1): learnable at first, then only noise is left."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N_TRAIN + N_VAL, DIM)).astype("float32")
    w = (rng.standard_normal((DIM, 1)) / DIM ** 0.5).astype("float32")
    y = (np.sin(x @ w) + 1.0 * rng.standard_normal((N_TRAIN + N_VAL, 1))).astype("float32")
    return (x[:N_TRAIN], y[:N_TRAIN]), (x[N_TRAIN:], y[N_TRAIN:])


class Record(keras.callbacks.Callback):
    """After the PlateauCallback: the reported metric, the step it was reported at, the
    rate of the first update of every epoch, and whether the scale was cut."""

    def __init__(self, schedule) -> None:
        super().__init__()
        self.schedule = schedule
        self.reports, self.steps, self.rates, self.cuts = [], [], [], []

    def on_epoch_begin(self, epoch, logs=None):
        step = epoch * STEPS_PER_EPOCH
        self.steps.append(step)
        self.rates.append(float(keras.ops.convert_to_numpy(self.schedule(step))))
        self.scale_before = self.schedule.plateau.scale

    def on_epoch_end(self, epoch, logs=None):
        step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        val_loss = float(logs["val_loss"])
        self.reports.append([step, val_loss])
        cut = self.schedule.plateau.scale < self.scale_before
        if cut:
            self.cuts.append(epoch + 1)
        nxt = float(keras.ops.convert_to_numpy(self.schedule(step)))
        print(f"epoch {epoch + 1:3d}  val_loss {val_loss:.6f}  next lr {nxt:.6g}"
              + ("  <- cut" if cut else ""))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args(argv)
    total = args.epochs * STEPS_PER_EPOCH

    keras.utils.set_random_seed(0)
    (x, y), (xv, yv) = make_data()
    schedule = lrcore.to_keras(lrcore.load(SPEC), steps_per_epoch=STEPS_PER_EPOCH,
                               total_steps=total)
    model = keras.Sequential([keras.Input((DIM,)), keras.layers.Dense(16, activation="tanh"),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=schedule, momentum=0.9),
                  loss="mse")
    record = Record(schedule)
    model.fit(x, y, batch_size=BATCH, epochs=args.epochs, validation_data=(xv, yv),
              shuffle=False, verbose=0, callbacks=[PlateauCallback(schedule), record])
    print(f"rate cut after epochs: {record.cuts}")
    result = {"framework": f"keras-{keras.backend.backend()}", "spec": str(SPEC),
              "steps_per_epoch": STEPS_PER_EPOCH, "total_steps": total,
              "reports": record.reports, "steps": record.steps, "rates": record.rates,
              "cuts": record.cuts}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
