"""Training diagnostics for activations: the ``ActivationMonitor`` Keras callback.

At the end of every epoch (and once before training) the monitor runs the
model on one fixed sample batch, eagerly, and records for every activation
site:

* ``mean``, ``std`` of the activation's output;
* ``dead``: the fraction of units (channels, the last axis) that are never
  active on the sample: output exactly 0, or derivative exactly 0, for every
  sample (and every position of a conv feature map);
* ``saturated``: the fraction of activations with |f'(z)| < ``SATURATED_BELOW`` (1e-3) (a ReLU's
  negative side counts: no gradient flows there either);
* ``grad_norm``: the L2 norm of the gradient of the loss reaching the site,
  d loss / d z at the activation's input (the pre-activation), on the sample.

An activation site is a ``tf_activations.layers`` layer, or any layer with an
``activation`` attribute that is not linear (recurrent layers excepted: their
activation runs inside a loop) (``Dense(64, activation="mish")``,
``Conv2D(..., activation="relu")``, ``keras.layers.Activation("tanh")``). The
monitor probes a site by temporarily wrapping its function (``layer.activation``
or the package layer's op) to see its input z and output f(z); nothing of the
model is changed or rebuilt (a layer called twice in one pass reports its
last call). Cost: one eager forward and backward pass of the
sample per epoch. f'(z) is the gradient of sum f(z) with respect to z, exact for
elementwise functions; for vector functions (softmax ...) it is not defined,
and ``saturated`` is NaN.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import tensorflow as tf

from tf_activations._spec import SATURATED_BELOW
from tf_activations import _registry
from tf_activations.layers import ActivationLayer
from tf_activations.plotting import figure

METRICS = ("mean", "std", "dead", "saturated", "grad_norm")


def _walk(layer):
    for sub in getattr(layer, "layers", None) or ():
        yield sub
        yield from _walk(sub)


def _activation_name(fn):
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return name


def _is_linear(fn):
    return fn is None or _activation_name(fn) == "linear"


def find_sites(model):
    """``[(layer, kind, activation name)]`` of the model's activation sites, in layer order.

    kind is ``"layer"`` for a ``tf_activations.layers`` layer and
    ``"attribute"`` for a layer with an ``activation`` attribute.
    """
    sites, seen = [], set()
    for layer in _walk(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, ActivationLayer):
            sites.append((layer, "layer", layer.activation_name))
        elif hasattr(layer, "cell") or hasattr(layer, "forward_layer"):
            continue  # recurrent layers apply their activation inside a loop: not probed
        elif callable(getattr(layer, "activation", None)) and not _is_linear(layer.activation):
            sites.append((layer, "attribute", _activation_name(layer.activation)))
    return sites


def _elementwise(name):
    if name in ("softmax", "log_softmax"):
        return False
    try:
        return _registry.info(name)["elementwise"]
    except (ValueError, TypeError):
        return True


class _Probe:
    """Wraps a site's function so a forward pass records (z, f(z))."""

    def __init__(self, layer, kind, tape):
        self.layer, self.kind, self.tape = layer, kind, tape
        self.z = self.a = None
        self.args, self.kwargs = (), {}
        self.attr = "activation" if kind == "attribute" else "_fn"
        self.original = getattr(layer, self.attr)

    def __enter__(self):
        original = self.original

        def wrapped(z, *args, **kwargs):
            self.tape.watch(z)
            self.z, self.args, self.kwargs = z, args, kwargs
            self.a = original(z, *args, **kwargs)
            return self.a

        wrapped.__name__ = _activation_name(original)
        object.__setattr__(self.layer, self.attr, wrapped)
        return self

    def __exit__(self, *exc):
        object.__setattr__(self.layer, self.attr, self.original)
        return False


class ActivationMonitor(keras.callbacks.Callback):
    """Records activation statistics per activation site and epoch (see the module doc).

    ``x``, ``y``: the fixed sample batch (keep it small: 128-512 rows). Without
    ``y`` no gradient norm is recorded (NaN). ``layers``: names of the layers
    to watch (default: every activation site). ``every``: measure every n-th
    epoch. ``compiled``: run the probed pass as a ``tf.function`` (traced
    once; set False to measure eagerly). ``record_initial``: also measure before training (epoch 0; the
    epochs of ``model.fit`` are counted from 1 here).

    ``monitor.history[layer_name][metric]`` is a list aligned with
    ``monitor.epochs``; ``monitor.records`` is the same as a list of dicts;
    ``monitor.plot()`` draws it.
    """

    def __init__(self, x, y=None, layers=None, every=1, record_initial=True, max_samples=512, compiled=True):
        super().__init__()
        self.compiled = compiled
        self.x = x[:max_samples] if max_samples else x
        self.y = None if y is None else (y[:max_samples] if max_samples else y)
        self.layer_names = None if layers is None else list(layers)
        self.every = int(every)
        self.record_initial = record_initial
        self.epochs = []
        self.history = {}
        self.records = []
        self.activations = {}

    # Keras hooks -------------------------------------------------------------
    def on_train_begin(self, logs=None):
        if self.record_initial and not self.epochs:
            self.measure(0)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every == 0:
            self.measure(epoch + 1)

    # measuring ---------------------------------------------------------------
    def sites(self):
        sites = find_sites(self.model)
        if self.layer_names is not None:
            wanted = set(self.layer_names)
            sites = [s for s in sites if s[0].name in wanted]
        return sites

    def _probe_pass(self, model, sites, x, y):
        """Runs the sample through ``model`` with every site probed; tensors per site.

        A single backward pass gives d loss / d z at every site; f'(z) comes from a
        separate local gradient of each site's own function.
        """
        with tf.GradientTape() as tape:
            probes = [_Probe(layer, kind, tape) for layer, kind, _ in sites]
            for p in probes:
                p.__enter__()
            try:
                y_pred = model(x, training=False)
                loss = self._loss(model, y, y_pred) if y is not None else None
            finally:
                for p in probes:
                    p.__exit__(None, None, None)
        live = [(site, p) for site, p in zip(sites, probes) if p.z is not None]
        if loss is not None and live:
            grads = tape.gradient(loss, [p.z for _, p in live],
                                  unconnected_gradients=tf.UnconnectedGradients.ZERO)
        else:
            grads = [None] * len(live)
        out = {}
        for ((layer, kind, name), probe), grad in zip(live, grads):
            z = probe.z
            fprime = None
            if _elementwise(name):
                z0 = tf.stop_gradient(z)
                with tf.GradientTape() as local:
                    local.watch(z0)
                    a0 = probe.original(z0, *probe.args, **probe.kwargs)
                # d/dz sum f(z) is f'(z) for elementwise f
                fprime = local.gradient(a0, z0)
            out[layer.name] = {
                "a": tf.cast(probe.a, tf.float32),
                "fprime": tf.zeros_like(z, tf.float32) if fprime is None else tf.cast(fprime, tf.float32),
                "grad": tf.zeros_like(z, tf.float32) if grad is None else tf.cast(grad, tf.float32),
            }
        return out

    def compute(self, model=None):
        """One measurement now: ``{layer_name: {metric: value, "activation": name}}``.

        The probed pass is compiled with ``tf.function`` once (the probes are
        in the graph; the model's weights are read at each call); if tracing
        fails it runs eagerly.
        """
        model = model or self.model
        sites = self.sites() if model is self.model else find_sites(model)
        x = tf.convert_to_tensor(self.x)
        y = None if self.y is None else tf.convert_to_tensor(self.y)
        key = (id(model), tuple(id(s[0]) for s in sites))
        tensors = None
        if self.compiled and getattr(self, "_graph_key", None) == key:
            tensors = self._graph_fn(x, y)
        elif self.compiled:
            fn = tf.function(lambda x, y: self._probe_pass(model, sites, x, y), reduce_retracing=True)
            try:
                tensors = fn(x, y)
                self._graph_fn, self._graph_key = fn, key
            except Exception:  # untraceable model: measure eagerly
                tensors = None
        if tensors is None:
            tensors = self._probe_pass(model, sites, x, y)
        result = {}
        for layer, kind, name in sites:
            if layer.name not in tensors:
                continue
            t = tensors[layer.name]
            a_np, fprime, grad = t["a"].numpy(), t["fprime"].numpy(), t["grad"].numpy()
            stats = {"activation": name, "mean": float(np.mean(a_np)), "std": float(np.std(a_np))}
            channels = a_np.reshape(-1, a_np.shape[-1]) if a_np.ndim > 1 else a_np.reshape(-1, 1)
            dead = np.all(channels == 0.0, axis=0)
            if _elementwise(name):
                dprime = fprime.reshape(-1, fprime.shape[-1]) if fprime.ndim > 1 else fprime.reshape(-1, 1)
                dead = dead | np.all(dprime == 0.0, axis=0)
                stats["saturated"] = float(np.mean(np.abs(fprime) < SATURATED_BELOW))
            else:
                stats["saturated"] = math.nan
            stats["dead"] = float(np.mean(dead))
            stats["grad_norm"] = float(np.sqrt(np.sum(np.square(grad, dtype=np.float64)))) if y is not None else math.nan
            result[layer.name] = stats
        return result

    def _loss(self, model, y, y_pred):
        try:
            return model.compute_loss(x=None, y=y, y_pred=y_pred, training=False)
        except Exception:  # a model without compile() or a custom compute_loss
            loss_fn = keras.losses.get(getattr(model, "loss", None) or "mse")
            return tf.reduce_mean(loss_fn(y, y_pred))

    def measure(self, epoch):
        result = self.compute()
        self.epochs.append(epoch)
        for layer_name, stats in result.items():
            self.activations[layer_name] = stats["activation"]
            row = self.history.setdefault(layer_name, {m: [] for m in METRICS})
            # a site seen for the first time later is padded so lists stay aligned
            for m in METRICS:
                while len(row[m]) < len(self.epochs) - 1:
                    row[m].append(math.nan)
                row[m].append(stats[m])
            self.records.append({"epoch": epoch, "layer": layer_name, **stats})
        return result

    def last(self, metric):
        """``{layer_name: value}`` of ``metric`` at the last measurement."""
        return {name: row[metric][-1] for name, row in self.history.items() if row[metric]}

    def plot(self, metrics=METRICS, fig=None):
        return plot_history(self, metrics=metrics, fig=fig)


def plot_history(monitor, metrics=METRICS, fig=None):
    """One panel per metric: its value per epoch, one line per layer (darker = deeper)."""
    metrics = list(metrics)
    if fig is None:
        fig = figure(figsize=(3.4 * len(metrics), 3.0), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    names = list(monitor.history)
    for ax, metric in zip(axes, metrics):
        for i, name in enumerate(names):
            values = monitor.history[name][metric]
            color = cmap(i / max(1, len(names) - 1) * 0.9)
            ax.plot(monitor.epochs[:len(values)], values, marker=".", color=color,
                    label=f"{name} ({monitor.activations.get(name, '')})")
        ax.set_title(metric.replace("_", " "), fontsize=10)
        ax.set_xlabel("epoch")
        ax.grid(True, alpha=0.3)
        if metric == "grad_norm":
            ax.set_yscale("log")
        if metric in ("dead", "saturated"):
            ax.set_ylim(-0.03, 1.03)
    if names:
        axes[-1].legend(fontsize=6, loc="best")
    return fig
