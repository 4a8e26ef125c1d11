"""One process of the distributed-training tests (tests/test_distributed.py).

With ``TF_CONFIG`` set it is one worker of a ``MultiWorkerMirroredStrategy`` cluster; without,
the one-device reference, trained on the same global batches. The package is imported before
the strategy is created, as a user's script does.

    python tests/distributed_worker.py --keras 3|legacy --out W.npz [--steps N]
        [--checkpoint DIR --save-at K [--die-after-save]]

``--keras 3`` trains with the custom loop TensorFlow's guide describes (``strategy.run`` over the
model, a tape and the optimizer: Keras 3's ``fit`` does not run under this strategy);
``--keras legacy`` (run with ``TF_USE_LEGACY_KERAS=1``) with tf_keras' ``model.fit``.
With ``--checkpoint`` the run resumes from the newest checkpoint there and saves one after step
(Keras 3) or epoch (tf_keras) ``K``; ``--die-after-save`` then kills this process with SIGKILL,
as a machine failure would. Each process writes its final weights to ``--out``.
"""

import argparse
import json
import os
import shutil
import signal
import sys

import numpy as np
import tensorflow as tf

import tf_activations as ta  # before any strategy exists: the import must leave the runtime alone

GLOBAL_BATCH = 16
ROWS = 96  # six global batches per epoch


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--keras", choices=["3", "legacy"], required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=12, help="Keras 3: steps; tf_keras: 6 steps an epoch")
    p.add_argument("--checkpoint")
    p.add_argument("--save-at", type=int, default=0)
    p.add_argument("--die-after-save", action="store_true")
    return p.parse_args()


def data():
    rng = np.random.RandomState(0)
    return rng.randn(ROWS, 6).astype("float32"), rng.randn(ROWS, 2).astype("float32")


def task():
    """(task type, index, number of workers) from TF_CONFIG; one-device reference without it."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    if not config:
        return None, 0, 1
    return config["task"]["type"], config["task"]["index"], len(config["cluster"]["worker"])


def build(keras, layers):
    """Kernel-served strings (mish, silu), trainable layers, and a name Keras has too (selu)."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((6,))
    h = keras.layers.Dense(8, activation="mish")(inp)
    h = keras.layers.Dense(8, activation="silu")(h)
    h = layers.Swish(trainable_beta=True, per_channel=True)(h)
    h = layers.PReLU()(h)
    h = layers.Snake(trainable_frequency=True)(h)
    h = keras.layers.Dense(8, activation="selu")(h)
    return keras.Model(inp, keras.layers.Dense(2)(h))


def write_dir(base, task_type, index):
    """Where this worker writes a checkpoint: the chief into ``base``, the others into a scratch
    directory they remove afterwards (every worker must take part in saving)."""
    chief = task_type in (None, "chief") or (task_type == "worker" and index == 0)
    return base if chief else os.path.join(base, f"workertemp_{index}")


def announce(message):
    print(message, flush=True)


def train_keras3(args, strategy, task_type, index):
    import keras

    x, y = data()
    with strategy.scope():
        model = build(keras, ta.layers)
        optimizer = keras.optimizers.SGD(0.05, momentum=0.9)  # momentum: a state a resume must restore
        optimizer.build(model.trainable_variables)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    if args.checkpoint:
        latest = tf.train.latest_checkpoint(args.checkpoint)
        if latest:
            checkpoint.restore(latest).assert_existing_objects_matched()
            announce(f"RESTORED {int(optimizer.iterations.numpy())}")
        manager = tf.train.CheckpointManager(
            checkpoint, write_dir(args.checkpoint, task_type, index), max_to_keep=1)

    def replica_batch(step):
        def values(context):
            share = GLOBAL_BATCH // context.num_replicas_in_sync
            lo = (step % (ROWS // GLOBAL_BATCH)) * GLOBAL_BATCH + context.replica_id_in_sync_group * share
            return tf.constant(x[lo:lo + share]), tf.constant(y[lo:lo + share])
        return strategy.experimental_distribute_values_from_function(values)

    def replica_step(xb, yb):
        with tf.GradientTape() as tape:
            # the global mean: each replica's sum over the global batch, summed across replicas
            loss = tf.reduce_sum(tf.square(model(xb, training=True) - yb)) / (GLOBAL_BATCH * 2)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces them itself

    @tf.function
    def train_step(xb, yb):
        strategy.run(replica_step, args=(xb, yb))

    step = int(optimizer.iterations.numpy())
    while step < args.steps:
        train_step(*replica_batch(step))
        step += 1
        if args.checkpoint and step == args.save_at:
            manager.save(checkpoint_number=step)
            if manager.directory != args.checkpoint:
                shutil.rmtree(manager.directory, ignore_errors=True)
            announce(f"SAVED {step}")
            if args.die_after_save:
                os.kill(os.getpid(), signal.SIGKILL)
    return model


def train_legacy(args, strategy, task_type, index):
    import tf_keras

    x, y = data()
    with strategy.scope():
        model = build(tf_keras, ta.legacy_keras.layers)
        model.compile(optimizer=tf_keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    epochs = args.steps // (ROWS // GLOBAL_BATCH)

    class Announce(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            announce(f"EPOCH {epoch}")
            if args.die_after_save and epoch == args.save_at:
                os.kill(os.getpid(), signal.SIGKILL)  # the backup of the epochs before is written

    callbacks = [Announce()]
    if args.checkpoint:
        callbacks.insert(0, tf_keras.callbacks.BackupAndRestore(args.checkpoint))
    model.fit(dataset, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks)
    return model


def main():
    args = parse_args()
    task_type, index, workers = task()
    strategy = (tf.distribute.MultiWorkerMirroredStrategy() if workers > 1
                else tf.distribute.OneDeviceStrategy("/cpu:0"))
    assert strategy.num_replicas_in_sync == workers, strategy.num_replicas_in_sync
    train = train_keras3 if args.keras == "3" else train_legacy
    model = train(args, strategy, task_type, index)
    np.savez(args.out, *[np.asarray(w) for w in model.get_weights()])
    announce(f"DONE kernels={ta.native.library_path() is not None}")


if __name__ == "__main__":
    sys.exit(main())
