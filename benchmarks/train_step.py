"""What a user feels: one Keras training step with Keras' activations vs this package's.

For each model and activation three otherwise identical models (same seed, same weights)
are trained side by side in one process:

* ``keras``:   Keras' own activation function (captured before this package takes over
  Keras' names);
* ``ours``:    ``tf_activations.NAME`` in the default mode, kernels dispatched where built
  and chosen (``k`` after the ratio: the traced step runs a fused kernel);
* ``pure``:    the same, traced inside :func:`tf_activations.native.disabled` (no kernels).

Each step is a ``tf.function`` (forward, loss, gradients, Adam update), timed round-robin
in a shuffled order (:func:`_timing.interleaved_medians`); the table prints the median step
time of Keras and ours / Keras for both of ours; rows where ours is Keras' own function
(no ``k``) show the run's noise. Peak memory is :func:`_timing.peak_rise_mib` during the
first full-batch step after a warm-up on 8 rows, one fresh process per cell (TF's allocator
keeps what a step used).
"""

from __future__ import annotations

import contextlib
import sys

import _timing

MODELS = {  # name -> (builder, batch)
    "mlp256": ("mlp", 256),
    "mlp1024": ("mlp", 1024),
    "conv64": ("conv", 64),
}
ACTIVATIONS = ("mish", "silu", "gelu", "elu", "relu")
VARIANTS = ("keras", "ours", "pure")
STEP_MS = {"mlp256": 8.0, "mlp1024": 22.0, "conv64": 17.0}  # Keras' step here, for the estimate
MEMORY_ROW_COST = 3 * 10.0  # three fresh processes, each importing TensorFlow and stepping once


def timing_cost(model, names, rounds):
    """A-priori seconds for one model's round-robin on this machine: build and trace each
    model, then every step twice per round (an untimed call before each timed one)."""
    per_model = len(names) * len(VARIANTS)
    return per_model * (1.5 + 2 * (rounds + 2) * STEP_MS[model] / 1e3)


def _build(kind, activation, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    layers = keras.layers
    if kind == "mlp":  # MNIST-like: 784 inputs, 4 x Dense(512), 10 classes
        inputs = keras.Input((784,))
        h = inputs
        for _ in range(4):
            h = layers.Dense(512, activation=activation)(h)
    else:  # CIFAR-like: 32x32x3, two conv blocks, a dense head
        inputs = keras.Input((32, 32, 3))
        h = layers.Conv2D(32, 3, padding="same", activation=activation)(inputs)
        h = layers.MaxPooling2D()(h)
        h = layers.Conv2D(64, 3, padding="same", activation=activation)(h)
        h = layers.MaxPooling2D()(h)
        h = layers.Flatten()(h)
        h = layers.Dense(256, activation=activation)(h)
    return keras.Model(inputs, layers.Dense(10)(h))


def _data(kind, batch):
    import tensorflow as tf

    shape = [batch, 784] if kind == "mlp" else [batch, 32, 32, 3]
    x = tf.random.stateless_normal(shape, seed=[1, 2])
    labels = tf.random.stateless_uniform([batch], seed=[3, 4], maxval=10, dtype=tf.int32)
    return x, labels


def _activation(name, variant):
    from tf_activations._registry import FUNCTIONS, KERAS_FUNCTIONS

    return KERAS_FUNCTIONS[name] if variant == "keras" else FUNCTIONS[name]


def _step(kind, name, variant, x, labels, signature=None):
    """A traced training step (the kernel choice is made while tracing, so trace here)."""
    import keras
    import tensorflow as tf

    from tf_activations import native

    model = _build(kind, _activation(name, variant))
    opt = keras.optimizers.Adam(1e-3)

    @tf.function(input_signature=signature)
    def step(x, labels):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    with (native.disabled() if variant == "pure" else contextlib.nullcontext()):
        graph = step.get_concrete_function(x, labels).graph
        step(x, labels)  # creates the optimizer's slots
    return (lambda: step(x, labels)), _runs_kernel(graph), step


def _runs_kernel(graph):
    """A forward kernel op in the step's graph or its functions (TfaForwardSaved in training)."""
    if any(op.type.startswith("TfaForward") for op in graph.get_operations()):
        return True
    return any(n.op.startswith("TfaForward") for f in graph.as_graph_def().library.function for n in f.node_def)


def timing(models, names, rounds, out=sys.stdout, progress=None):
    """Median step ms per (model, activation, variant), round-robin per model; returns them."""
    progress = progress or _timing.NoProgress()
    results = {}
    for model in models:
        kind, batch = MODELS[model]
        progress.row(f"training step {model} ({len(names)} activations x {len(VARIANTS)})",
                     timing_cost(model, names, rounds))
        x, labels = _data(kind, batch)
        thunks, kernel = {}, {}
        for name in names:
            for variant in VARIANTS:
                thunks[(name, variant)], kernel[(name, variant)], _ = _step(kind, name, variant, x, labels)
        ms = _timing.interleaved_medians(thunks, rounds)
        for name in names:
            keras_ms = ms[(name, "keras")]
            cells = [f"{keras_ms:>9.2f}"]
            for variant in ("ours", "pure"):
                r = ms[(name, variant)] / keras_ms
                mark = "k" if kernel[(name, variant)] else " "
                cells.append(f"{r:>8.2f}{mark}")
                results[(model, name, variant)] = r
            print(f"{model:<9}{batch:>6}  {name:<6}" + "".join(cells), file=out, flush=True)
    if results:  # rows where ours is Keras' own graph measure this noise: 0.94-1.06 in the README's run
        _timing.report_losses({" ".join(key): r for key, r in results.items()}, "Keras", out, bar=1.05)
    return results


def memory_here(model, name, variant):
    """In a fresh process: the peak memory rise (MiB) during the first full-batch step, after a
    traced warm-up step on 8 rows (TF's allocator keeps what a step used, so only a fresh
    process shows a step's peak)."""
    import tensorflow as tf

    kind, batch = MODELS[model]
    x, labels = _data(kind, batch)
    signature = [tf.TensorSpec([None] + x.shape[1:], x.dtype), tf.TensorSpec([None], labels.dtype)]
    _, _, step = _step(kind, name, variant, x[:8], labels[:8], signature)
    return f"{_timing.peak_rise_mib(lambda: step(x, labels)):.1f}"


def memory(models, names, out=sys.stdout, progress=None):
    progress = progress or _timing.NoProgress()
    print("\npeak memory rise during one training step, MiB (VmHWM above the resident set after a "
          "warm-up step on 8 rows; one fresh process per cell)", file=out)
    print(f"{'model':<9}{'batch':>6}  {'act':<6}{'keras':>9}{'ours':>9}{'pure':>9}", file=out)
    for model in models:
        for name in names:
            progress.row(f"training-step memory {model} {name}", MEMORY_ROW_COST)
            cells = [_timing.run_child("train_step", "memory_here", [model, name, variant]) or "err"
                     for variant in VARIANTS]
            print(f"{model:<9}{MODELS[model][1]:>6}  {name:<6}" + "".join(f"{c:>9}" for c in cells),
                  file=out, flush=True)


def header(out=sys.stdout):
    from tf_activations import native

    print(f"kernels: {native.library_path() if native.available() else 'not built or disabled'}", file=out)
    print("training step (forward, softmax cross-entropy, gradients, Adam), float32, median ms of Keras; "
          "ours/keras and pure/keras (k: the step runs a fused kernel); < 1: faster than Keras", file=out)
    print(f"{'model':<9}{'batch':>6}  {'act':<6}{'keras ms':>9}{'ours':>9}{'pure':>9}", file=out)
