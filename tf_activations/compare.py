"""Train the same network with several activations and compare them.

``python -m tf_activations compare`` (see ``--help``) or, from Python::

    from tf_activations import compare
    results = compare.run(["sigmoid", "relu", "mish"], depth=8)
    print(compare.format_table(results))
    compare.plot_results(results).savefig("compare.png")

Every run builds a plain MLP (``depth`` hidden Dense layers of ``width``
units, each with ``activation=<name>`` as a Keras string, Glorot-uniform
initialisation, a linear softmax-logit output), trains it with Adam on the
same split and the same seed, and watches it with
:class:`tf_activations.diagnostics.ActivationMonitor` on one fixed batch of
256 training samples. Seeds are fixed and TF op determinism is on, so a rerun
prints the same table (except the timings).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import sys
import time

import numpy as np

from tf_activations import _registry, datasets, properties
from tf_activations import keras_strings  # noqa: F401  (every name a Keras string)
from tf_activations.diagnostics import ActivationMonitor, plot_history
from tf_activations.plotting import figure

DEFAULT_ACTIVATIONS = ("sigmoid", "tanh", "relu", "gelu", "mish")
DEFAULTS = dict(dataset="spirals", depth=8, width=32, epochs=30, batch_size=64, learning_rate=3e-3,
                samples=2000, seed=0)


@dataclasses.dataclass
class Result:
    activation: str
    accuracy: float          # on the held-out test split, after the last epoch
    loss: float              # test loss
    train_loss: list         # per epoch
    test_loss: list          # per epoch
    seconds_per_epoch: float
    epochs: list             # epochs of the monitor's measurements (0 = before training)
    diagnostics: dict        # layer -> metric -> list aligned with ``epochs``
    layers: list             # hidden layer names, input side first

    def layer_metric(self, metric, at=-1):
        """The metric per hidden layer (input side first) at measurement ``at``."""
        return [self.diagnostics[name][metric][at] for name in self.layers]

    def plot_diagnostics(self, metrics=("mean", "std", "dead", "saturated", "grad_norm")):
        """The monitor's history of this run: one panel per metric, one line per hidden layer."""
        import types


        view = types.SimpleNamespace(history=self.diagnostics, epochs=self.epochs,
                                     activations={name: self.activation for name in self.layers})
        fig = plot_history(view, metrics=metrics)
        fig.suptitle(f"{self.activation}: activation diagnostics per hidden layer (darker = nearer the input)",
                     fontsize=10)
        return fig

    def summary(self):
        """The table row (diagnostics averaged over the hidden layers at the end)."""
        return {
            "activation": self.activation,
            "accuracy": self.accuracy,
            "loss": self.loss,
            "s/epoch": self.seconds_per_epoch,
            "mean": float(np.mean(self.layer_metric("mean"))),
            "std": float(np.mean(self.layer_metric("std"))),
            "dead": float(np.mean(self.layer_metric("dead"))),
            "saturated": float(np.mean(self.layer_metric("saturated"))),
            "grad_first": self.layer_metric("grad_norm")[0],
            "grad_last": self.layer_metric("grad_norm")[-1],
            "grad_ratio_init": _ratio(self.layer_metric("grad_norm", 0)[0], self.layer_metric("grad_norm", 0)[-1]),
        }


def _ratio(a, b):
    return a / b if b else math.nan


class Progress:
    """A one-line progress bar on stderr (no dependency); quiet lines when not a terminal."""

    def __init__(self, total, stream=None, width=30, enabled=True):
        self.total, self.done, self.width = max(1, total), 0, width
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self._last_decile = -1

    def update(self, label="", step=1):
        self.done = min(self.total, self.done + step)
        if not self.enabled:
            return
        frac = self.done / self.total
        elapsed = time.perf_counter() - self.start
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        filled = int(round(frac * self.width))
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} epochs "
                f"{label:<12} {elapsed:5.1f}s elapsed, ~{eta:4.0f}s left")
        if self.tty:
            self.stream.write("\r" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            decile = int(frac * 10)
            if decile != self._last_decile or self.done == self.total:
                self._last_decile = decile
                self.stream.write(line + "\n")
        self.stream.flush()


def build_model(activation, input_dim, n_classes, depth=8, width=32):
    import keras

    inputs = keras.Input((input_dim,))
    h = inputs
    for i in range(depth):
        h = keras.layers.Dense(width, activation=activation, name=f"hidden_{i + 1}")(h)
    outputs = keras.layers.Dense(n_classes, name="logits")(h)
    return keras.Model(inputs, outputs, name=f"mlp_{activation}")


def _determinism_enabled():
    try:  # no public getter in TF 2.21
        from tensorflow.python.framework import config as tf_config

        return bool(tf_config.is_op_determinism_enabled())
    except Exception:  # pragma: no cover
        return True  # unknown: leave it on rather than turn off someone else's setting


def _disable_determinism():
    try:
        from tensorflow.python.framework import config as tf_config

        tf_config.disable_op_determinism()
    except Exception:  # pragma: no cover
        pass


def _deterministic(seed):
    """Seeds Python, NumPy and TF and turns TF op determinism on."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def run(activations=DEFAULT_ACTIVATIONS, dataset=DEFAULTS["dataset"], depth=DEFAULTS["depth"],
        width=DEFAULTS["width"], epochs=DEFAULTS["epochs"], batch_size=DEFAULTS["batch_size"],
        learning_rate=DEFAULTS["learning_rate"], samples=DEFAULTS["samples"], seed=DEFAULTS["seed"],
        progress=True):
    """Trains one MLP per activation; returns a list of :class:`Result`.

    ``progress``: True for a bar on stderr, False for none, or a stream to write it to.
    """


    activations = [_registry.canonical(a) for a in activations]
    for a in activations:
        if not _registry.info(a)["elementwise"]:
            raise ValueError(f"compare trains hidden layers of elementwise activations; {a!r} is a vector function")
    x_train, y_train, x_test, y_test, n_classes = datasets.load(dataset, n=samples, seed=seed)
    bar = Progress(len(activations) * epochs, enabled=bool(progress),
                   stream=progress if hasattr(progress, "write") else None)
    results = []
    determinism_was_on = _determinism_enabled()
    try:
        for name in activations:
            results.append(_train_one(name, x_train, y_train, x_test, y_test, n_classes, depth, width, epochs,
                                      batch_size, learning_rate, seed, bar))
    finally:
        if not determinism_was_on:  # leave the process as it was
            _disable_determinism()
    return results


def _train_one(name, x_train, y_train, x_test, y_test, n_classes, depth, width, epochs, batch_size,
               learning_rate, seed, bar):
    import keras


    _deterministic(seed)
    model = build_model(name, x_train.shape[1], n_classes, depth=depth, width=width)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    monitor = ActivationMonitor(x_train[:256], y_train[:256])
    times, test_loss_curve, test_acc_curve = [], [], []
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    class _Timer(keras.callbacks.Callback):
        """Times each epoch, then scores the test split eagerly (cheaper than validation_data)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.t0)
            logits = self.model(x_test, training=False)
            test_loss_curve.append(float(loss_fn(y_test, logits)))
            test_acc_curve.append(float(np.mean(np.argmax(np.asarray(logits), -1) == y_test)))
            bar.update(name)

    history = model.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=0,
                        callbacks=[_Timer(), monitor])
    test_loss, test_acc = test_loss_curve[-1], test_acc_curve[-1]
    # the first epoch includes tracing; report the steady state when there is one
    steady = times[1:] if len(times) > 1 else times
    result = Result(
        activation=name, accuracy=float(test_acc), loss=float(test_loss),
        train_loss=[float(v) for v in history.history["loss"]],
        test_loss=test_loss_curve,
        seconds_per_epoch=float(np.median(steady)) if steady else math.nan,
        epochs=list(monitor.epochs), diagnostics=monitor.history,
        layers=[f"hidden_{i + 1}" for i in range(depth)])
    del model
    keras.backend.clear_session()
    return result


COLUMNS = (
    ("activation", "activation", "{:<12}"),
    ("accuracy", "test acc", "{:>8.3f}"),
    ("loss", "test loss", "{:>9.4f}"),
    ("s/epoch", "s/epoch", "{:>7.3f}"),
    ("mean", "mean a", "{:>7.3f}"),
    ("std", "std a", "{:>6.3f}"),
    ("dead", "dead", "{:>6.1%}"),
    ("saturated", "satur.", "{:>6.1%}"),
    ("grad_first", "|g| layer 1", "{:>11.2e}"),
    ("grad_last", "|g| last", "{:>9.2e}"),
    ("grad_ratio_init", "|g| 1/last at init", "{:>18.1e}"),
)


def format_table(results, timings=True):
    """The comparison as a fixed-width text table (``timings=False`` drops s/epoch)."""
    columns = [c for c in COLUMNS if timings or c[0] != "s/epoch"]
    widths = [max(len(title), len(fmt.format(0.0 if key != "activation" else ""))) for key, title, fmt in columns]
    head = "  ".join(title.rjust(w) if key != "activation" else title.ljust(w)
                     for (key, title, _), w in zip(columns, widths))
    lines = [head, "-" * len(head)]
    for r in results:
        row = r.summary()
        lines.append("  ".join(fmt.format(row[key]).rjust(w) if key != "activation" else fmt.format(row[key]).ljust(w)
                               for (key, _, fmt), w in zip(columns, widths)))
    return "\n".join(lines)


def plot_results(results, title=None):
    """Three panels: loss curves, gradient norm per layer (before and after training), saturation per layer."""

    fig = figure(figsize=(13.5, 3.9), layout="constrained")
    ax_loss, ax_grad, ax_sat = fig.subplots(1, 3)
    for i, r in enumerate(results):
        color = f"C{i}"
        epochs = np.arange(1, len(r.train_loss) + 1)
        ax_loss.plot(epochs, r.train_loss, color=color, lw=1.8, label=f"{r.activation} (acc {r.accuracy:.2f})")
        ax_loss.plot(epochs, r.test_loss, color=color, lw=1.0, ls=":")
        depth = np.arange(1, len(r.layers) + 1)
        ax_grad.plot(depth, r.layer_metric("grad_norm", 0), color=color, lw=1.0, ls="--", marker=".")
        ax_grad.plot(depth, r.layer_metric("grad_norm", -1), color=color, lw=1.8, marker="o", ms=3,
                     label=r.activation)
        ax_sat.plot(depth, r.layer_metric("saturated", -1), color=color, lw=1.8, marker="o", ms=3,
                    label=r.activation)
    ax_loss.set(title="loss (solid: train, dotted: test)", xlabel="epoch", ylabel="cross-entropy")
    ax_loss.legend(fontsize=8)
    ax_grad.set(title="|d loss / d z| per hidden layer\n(dashed: at init, solid: after training)",
                xlabel="hidden layer (1 = next to the input)", yscale="log")
    ax_grad.legend(fontsize=8)
    ax_sat.set(title=f"saturated fraction |f'(z)| < {properties.SATURATED_TEXT} per hidden layer\nafter training (ReLU: its zero side)",
               xlabel="hidden layer", ylim=(-0.03, 1.03))
    for ax in (ax_loss, ax_grad, ax_sat):
        ax.grid(True, alpha=0.3)
        ax.title.set_fontsize(10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def save(results, out, config=None):
    """Writes table.txt, results.json, compare.png, loss_curves.png, grad_norms.png into ``out``."""
    os.makedirs(out, exist_ok=True)
    paths = {}
    with open(os.path.join(out, "table.txt"), "w") as fh:
        fh.write(format_table(results) + "\n")
    paths["table"] = os.path.join(out, "table.txt")
    with open(os.path.join(out, "results.json"), "w") as fh:
        json.dump({"config": config or {}, "results": [dataclasses.asdict(r) for r in results]}, fh, indent=1,
                  default=float)
    paths["json"] = os.path.join(out, "results.json")
    title = None
    if config:
        title = (f"{config.get('dataset')}: {config.get('depth')} hidden layers x {config.get('width')} units, "
                 f"{config.get('epochs')} epochs, seed {config.get('seed')}")
    fig = plot_results(results, title=title)
    fig.savefig(os.path.join(out, "compare.png"), dpi=80)
    paths["compare"] = os.path.join(out, "compare.png")
    # the panels also on their own

    for key, which in (("loss_curves", 0), ("grad_norms", 1)):
        single = figure(figsize=(5.5, 4.0), layout="constrained")
        ax = single.subplots()
        src = fig.axes[which]
        for line in src.get_lines():
            ax.plot(*line.get_data(), color=line.get_color(), ls=line.get_linestyle(), lw=line.get_linewidth(),
                    marker=line.get_marker(), ms=line.get_markersize(), label=line.get_label())
        ax.set(title=src.get_title(), xlabel=src.get_xlabel(), yscale=src.get_yscale())
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        single.savefig(os.path.join(out, f"{key}.png"), dpi=90)
        paths[key] = os.path.join(out, f"{key}.png")
    return paths
