"""What the default costs against Keras' own functions, on every path a user can be on.

The takeover table times, for every name Keras 3 also has, ``tf_activations.NAME`` against
``keras.activations.NAME`` eager, in ``tf.function`` with the kernels (where built) and
without, under XLA, and in float16 (what a mixed_float16 layer computes in); ratio = ours /
Keras, forward+backward with y and dx both returned, round-robin in one process. "plain" is
ours in ``tf.function`` over the fastest plain float32 formula (graph or XLA) a user could
write instead. The eager table is the per-call cost on small tensors.
"""

from __future__ import annotations

import sys

import _timing

# Keras names with the arguments both sides take; gelu_tanh is gelu(approximate=True).
TAKEOVER = {
    "sigmoid": {}, "tanh": {}, "softsign": {}, "log_sigmoid": {}, "hard_sigmoid": {}, "hard_tanh": {},
    "sparse_sigmoid": {}, "relu": {}, "relu6": {}, "leaky_relu": {"negative_slope": 0.2}, "elu": {"alpha": 1.0},
    "selu": {}, "celu": {"alpha": 1.0}, "softplus": {}, "squareplus": {"b": 4}, "sparse_plus": {},
    "threshold": {"threshold": 0.0, "default_value": 0.0}, "exponential": {}, "linear": {},
    "silu": {}, "swish": {}, "mish": {}, "gelu": {"approximate": False}, "gelu_tanh": {"approximate": True},
    "hard_swish": {}, "hard_shrink": {"threshold": 0.5}, "soft_shrink": {"threshold": 0.5},
    "tanh_shrink": {}, "softmax": {"axis": -1}, "log_softmax": {"axis": -1}, "glu": {"axis": -1},
}
# the eager per-call table's default rows: every dispatched kernel name and some Keras-path ones
EAGER_NAMES = ("mish", "swish", "silu", "celu", "gelu", "elu", "relu", "sigmoid", "hard_swish", "softplus")
EAGER_SIZES = (8, 10, 12)
VECTOR = ("softmax", "log_softmax", "glu")  # no eager per-call row: they work along an axis

_SQRT_2_OVER_PI = 0.7978845608028654


def _tf():
    import tensorflow as tf

    return tf


# The plain float32 formula a user would write instead of each name (also the kernel table's).
PLAIN = {
    "sigmoid": lambda x: 1.0 / (1.0 + _tf().exp(-x)),
    "tanh": lambda x: _tf().tanh(x),
    "mish": lambda x: x * _tf().tanh(_tf().math.softplus(x)),
    "silu": lambda x: x * _tf().sigmoid(x),
    "swish": lambda x: x * _tf().sigmoid(x),
    "gelu": lambda x: 0.5 * x * (1.0 + _tf().math.erf(x * 0.7071067811865476)),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + _tf().tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))),
    "hard_swish": lambda x: x * _tf().nn.relu6(x + 3.0) / 6.0,
    "hard_sigmoid": lambda x: _tf().nn.relu6(x + 3.0) / 6.0,
    "elu": lambda x: _tf().where(x > 0, x, _tf().math.expm1(x)),
    "selu": lambda x: 1.0507009873554805 * _tf().where(x > 0, x, 1.6732632423543772 * _tf().math.expm1(x)),
    "celu": lambda x: _tf().where(x > 0, x, _tf().math.expm1(x)),
    "softplus": lambda x: _tf().math.softplus(x),
    "lisht": lambda x: x * _tf().tanh(x),
    "snake": lambda x: x + _tf().square(_tf().sin(x)),
}


def repeats(n, level):
    """Round-robin rounds per size; ``level`` is quick (a smoke run), default or full."""
    r = 300 if n <= 1 << 16 else 150 if n <= 1 << 20 else 21
    return {"quick": max(5, r // 10), "default": max(5, r // 2), "full": r}[level]


def eager_repeats(level):
    return {"quick": 20, "default": 100, "full": 200}[level]


# A-priori seconds per row on this 2-core machine, for the progress line's estimate: tracing and
# XLA compiles (a name whose paths are all Keras' own only traces), then the timed calls.
def row_cost(name, log2, level):
    calls = 5 if name in PLAIN else 3  # most paths are Keras' own graph ("="): not timed
    per_call_ms = 0.3 + (1 << log2) * 4e-6
    return 1.0 + calls * 2 * repeats(1 << log2, level) * per_call_ms / 1e3


def eager_row_cost(sizes, level):
    return 0.3 + len(sizes) * 4 * 2 * eager_repeats(level) * 2.8e-4


def _pair(name):
    import tf_activations as tfa
    from tf_activations._registry import KERAS_FUNCTIONS

    fname = "gelu" if name == "gelu_tanh" else name
    return getattr(tfa, fname), KERAS_FUNCTIONS[fname]


def takeover(sizes, names, level="default", out=sys.stdout, progress=None):
    """Prints ours / Keras per path (fwd+bwd, y and dx returned); returns {(name, log2, path): ratio}."""
    import tensorflow as tf

    from tf_activations import native

    progress = progress or _timing.NoProgress()
    print(f"kernels: {native.library_path() if native.available() else 'not built or disabled: the kernel column is the pure path'}",
          file=out)
    print("ours / Keras, fwd+bwd (y and dx returned), median ms ratio, round-robin; > 1.05 is a loss; "
          "'=': the traced graph is Keras' own, op for op. plain: ours (tf.function) / fastest plain "
          "float32 formula (graph or XLA)", file=out)
    paths = ("eager", "graph", "graph-pure", "xla", "float16")
    print(f"{'activation':<13}{'N':>5}" + "".join(f"{p:>11}" for p in paths) + f"{'plain':>8}"
          f"{'keras ms':>10}", file=out)
    ratios = {}
    for log2 in sizes:
        n = 1 << log2
        x32 = tf.random.stateless_normal([max(1, n // 64), 64], seed=[1, 2]) * 3
        x16 = tf.cast(x32, tf.float16)
        reps = repeats(n, level)
        for name in names:
            progress.row(f"takeover {name} 2^{log2}", row_cost(name, log2, level))
            kwargs = TAKEOVER[name]
            ours_fn, keras_fn = _pair(name)
            out_shape = keras_fn(x32[:1], **kwargs).shape[1:]  # glu halves its axis
            dy32 = tf.random.stateless_normal([x32.shape[0]] + list(out_shape), seed=[3, 4])
            dy16 = tf.cast(dy32, tf.float16)
            ours = tf.autograph.experimental.do_not_convert(lambda x, f=ours_fn, kw=kwargs: f(x, **kw))
            keras = tf.autograph.experimental.do_not_convert(lambda x, f=keras_fn, kw=kwargs: f(x, **kw))
            # A path whose traced graph is Keras' own, op for op, is Keras' speed by construction
            # ("="): timing it would only measure noise. The rest are timed round-robin.
            same = {path: _timing.graph_ops(ours, xx, dd, pure=path == "graph-pure") == _timing.graph_ops(keras, xx, dd)
                    for path, xx, dd in (("graph", x32, dy32), ("graph-pure", x32, dy32),
                                         ("float16", x16, dy16))}
            same["xla"] = same["graph-pure"]  # under XLA the kernels never run: the pure graph, compiled
            thunks = {("eager", "ours"): _timing.eager_both(ours, x32, dy32),
                      ("eager", "keras"): _timing.eager_both(keras, x32, dy32),
                      ("graph", "keras"): _timing.tf_calls(keras, x32, dy32)[1]}
            if not same["graph"]:
                thunks[("graph", "ours")] = _timing.tf_calls(ours, x32, dy32)[1]
            if not same["graph-pure"]:
                thunks[("graph-pure", "ours")] = _timing.tf_calls(ours, x32, dy32, pure=True)[1]
            if not same["xla"]:
                thunks[("xla", "ours")] = _timing.tf_calls(ours, x32, dy32, jit=True)[1]
                thunks[("xla", "keras")] = _timing.tf_calls(keras, x32, dy32, jit=True)[1]
            if not same["float16"]:
                thunks[("float16", "ours")] = _timing.tf_calls(ours, x16, dy16)[1]
                thunks[("float16", "keras")] = _timing.tf_calls(keras, x16, dy16)[1]
            plain = PLAIN.get(name)
            if plain is not None:
                plain = tf.autograph.experimental.do_not_convert(plain)
                thunks[("plain", "graph")] = _timing.tf_calls(plain, x32, dy32)[1]
                thunks[("plain", "xla")] = _timing.tf_calls(plain, x32, dy32, jit=True)[1]
                if ("graph", "ours") not in thunks:
                    thunks[("graph", "ours")] = _timing.tf_calls(ours, x32, dy32)[1]
            ms = _timing.interleaved_medians(thunks, reps)
            cells = []
            for path in paths:
                if path != "eager" and same[path]:
                    ratios[(name, log2, path)] = 1.0
                    cells.append(f"{'=':>11}")
                    continue
                theirs = ms[("graph" if path == "graph-pure" else path, "keras")]
                ratios[(name, log2, path)] = ms[(path, "ours")] / theirs
                cells.append(f"{ratios[(name, log2, path)]:>11.2f}")
            best_plain = min(ms[("plain", "graph")], ms[("plain", "xla")]) if plain is not None else None
            plain_cell = f"{ms[('graph', 'ours')] / best_plain:>8.2f}" if best_plain else f"{'-':>8}"
            print(f"{name:<13}{'2^' + str(log2):>5}" + "".join(cells) + plain_cell +
                  f"{ms[('graph', 'keras')]:>10.3f}", file=out, flush=True)
    worst = max(ratios.items(), key=lambda kv: kv[1]) if ratios else None
    if worst:
        (name, log2, path), r = worst
        print(f"worst: {name} 2^{log2} {path} {r:.2f} "
              f"({sum(v > 1.05 for v in ratios.values())} of {len(ratios)} ratios above 1.05)", file=out)
        _timing.report_losses({f"{n} 2^{s} {p}": v for (n, s, p), v in ratios.items()}, "Keras", out, bar=1.05)
    return ratios


def eager_overhead(names, sizes=EAGER_SIZES, level="default", out=sys.stdout, progress=None):
    """Per-call cost on small tensors, eager: ours / Keras' function, forward alone and
    forward+backward (a tape, y and dx returned); returns {(name, log2, "fwd"|"fb"): ratio}."""
    import tensorflow as tf

    progress = progress or _timing.NoProgress()
    print("\neager per-call cost on small tensors, ours / Keras' function (median us of Keras in "
          "brackets), round-robin; default mode", file=out)
    print(f"{'activation':<13}" + "".join(f"{'2^' + str(s) + ' fwd':>16}{'fb':>8}" for s in sizes), file=out)
    ratios = {}
    for name in names:
        progress.row(f"eager per-call {name}", eager_row_cost(sizes, level))
        kwargs = TAKEOVER[name]
        ours_fn, keras_fn = _pair(name)
        cells = []
        for log2 in sizes:
            x = tf.random.stateless_normal([1 << max(0, log2 - 6), 64], seed=[1, 2]) * 3
            plain_call = all(ours_fn.spec.defaults.get(k) == v for k, v in kwargs.items())  # f(x), the commonest
            fns = {"ours": ours_fn if plain_call else (lambda x, f=ours_fn: f(x, **kwargs)),
                   "keras": keras_fn if plain_call else (lambda x, f=keras_fn: f(x, **kwargs))}
            thunks = {}
            for who, f in fns.items():
                thunks[(who, "fwd")] = lambda f=f: f(x)
                thunks[(who, "fb")] = _timing.eager_both(f, x, tf.ones_like(f(x)))
            us = {k: v * 1e3 for k, v in _timing.interleaved_medians(thunks, eager_repeats(level)).items()}
            for part in ("fwd", "fb"):
                ratios[(name, log2, part)] = us[("ours", part)] / us[("keras", part)]
            cells.append(f"{ratios[(name, log2, 'fwd')]:>8.2f}({us[('keras', 'fwd')]:>4.0f})"
                         f"{ratios[(name, log2, 'fb')]:>8.2f}")
        print(f"{name:<13}" + "".join(cells), file=out, flush=True)
    if ratios:
        _timing.report_losses({f"{n} 2^{s} {part}": v for (n, s, part), v in ratios.items()}, "Keras", out, bar=1.05)
    return ratios
