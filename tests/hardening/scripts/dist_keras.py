"""Keras data parallelism over two logical CPU devices with an lrcore schedule.

``python dist_keras.py ENGINE OUT.json``:

* ``mirrored`` (``KERAS_BACKEND=tensorflow``): ``tf.distribute.MirroredStrategy`` over
  two logical CPU devices (``tf.config.set_logical_device_configuration``); a custom
  training loop runs ``strategy.run`` per step; each replica returns the rate it reads
  from the optimizer (``optimizer.learning_rate``: the schedule at the replica's
  ``iterations``) before applying its gradients. A plateau spec; the loss, averaged over
  replicas, is reported every third step.
* ``jax-data-parallel`` (``KERAS_BACKEND=jax``, ``XLA_FLAGS=
  --xla_force_host_platform_device_count=2``): ``keras.distribution.DataParallel`` over
  both devices and ``model.fit``. A weight ``probe`` whose gradient is exactly 1 is set to
  0 before each batch; plain SGD leaves it at ``-lr``: the rate the jitted train step
  applied, read on each device from the replicated variable's shards.

Writes the rate of every step on every replica, and the reported metrics.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from dist_specs import KERAS_STEPS, PLAIN, PLATEAU, REPORT_EVERY

BATCH = 8


def data():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(4 * BATCH, 4)).astype(np.float32)
    y = (x @ np.array([[0.5], [-1.0], [2.0], [0.25]], np.float32)
         + 0.3 * rng.normal(size=(4 * BATCH, 1)).astype(np.float32))
    return x, y


def mirrored() -> dict:
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(
        cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    import lrcore

    keras.utils.set_random_seed(0)  # the same run every time (the reports included)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        schedule = lrcore.to_keras(PLATEAU)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(learning_rate=schedule)
        optimizer.build(model.trainable_variables)
    x, y = data()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(2 * BATCH)
    batches = iter(strategy.experimental_distribute_dataset(dataset))

    @tf.function
    def train_step(batch):
        def replica(xb, yb):
            lr = optimizer.learning_rate  # schedule(iterations) on this replica
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean((model(xb) - yb) ** 2)
                scaled = loss / strategy.num_replicas_in_sync
            grads = tape.gradient(scaled, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            replica_id = tf.distribute.get_replica_context().replica_id_in_sync_group
            return tf.cast(lr, tf.float64), loss, replica_id

        lr, loss, ids = strategy.run(replica, args=batch)
        mean = strategy.reduce(tf.distribute.ReduceOp.MEAN, loss, axis=None)
        local = strategy.experimental_local_results
        return local(lr), local(ids), mean

    rates, reports = [], []
    for k in range(KERAS_STEPS):
        per_replica, ids, mean = train_step(next(batches))
        assert [int(i) for i in ids] == [0, 1]  # one value from each replica, in order
        rates.append([float(v.numpy()) for v in per_replica])
        if (k + 1) % REPORT_EVERY == 0:
            schedule.report(float(mean), k + 1)
            reports.append([k + 1, float(mean)])
    return {"rates": rates, "reports": reports,
            "devices": list(strategy.extended.worker_devices),
            "replicas": strategy.num_replicas_in_sync, "spec": "plateau",
            "iterations": int(optimizer.iterations.numpy())}


def jax_data_parallel() -> dict:
    import jax
    import keras
    from keras import ops

    import lrcore

    keras.utils.set_random_seed(0)
    devices = jax.devices()
    assert len(devices) == 2, devices
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))

    class Probe(keras.layers.Layer):
        """Identity on its input; adds ``p - stop_gradient(p)`` (0, gradient 1) to the loss."""

        def build(self, input_shape):
            self.p = self.add_weight(shape=(), initializer="zeros", name="probe")

        def call(self, x):
            self.add_loss(self.p - ops.stop_gradient(self.p))
            return x

    model = keras.Sequential([keras.Input((4,)), Probe(), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=lrcore.to_keras(PLAIN)),
                  loss="mse")
    probe = model.layers[0].p
    rates: list = []

    class Read(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            probe.assign(0.0)

        def on_train_batch_end(self, batch, logs=None):
            self.model.jax_state_sync()  # the JAX trainer keeps state outside variables
            value = probe.value
            assert len(value.addressable_shards) == 2
            rates.append([-float(np.asarray(s.data)) for s in value.addressable_shards])

    x, y = data()
    model.fit(x, y, batch_size=BATCH, epochs=KERAS_STEPS // 4, shuffle=False, verbose=0,
              callbacks=[Read()])
    shards = probe.value.addressable_shards
    return {"rates": rates, "reports": None, "devices": sorted(str(s.device) for s in shards),
            "replicas": len(shards), "spec": "plain",
            "iterations": int(np.asarray(model.optimizer.iterations.value))}


if __name__ == "__main__":
    out = mirrored() if sys.argv[1] == "mirrored" else jax_data_parallel()
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump(out, f)
