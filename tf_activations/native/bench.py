"""Benchmarks: the default against Keras' own functions on every path, and the kernels.

    python -m tf_activations bench [--sizes 16,20,24] [--activations mish,gelu] [--quick]
    python -m tf_activations bench --kernels [--no-memory]   # kernels vs pure TF, XLA, Keras, torch
    python -m tf_activations bench --model [--models ...]    # a Keras training step (train_bench.py)

The default table ("takeover") times, for every name Keras 3 also has,
``tf_activations.NAME`` against ``keras.activations.NAME`` on each path a user
can be on: eager, ``tf.function`` with the kernels (where built) and without,
XLA, and float16 (what a mixed_float16 layer computes in); ratio = ours / Keras,
forward+backward with y and dx both returned, round-robin in one process.
"plain" is ours in ``tf.function`` over the fastest plain float32 formula of
the function (graph or XLA) a user could write instead.

Every path runs in the same process, side by side, under ``tf.function``
(graph mode) except torch; times are medians of repeated calls. The
forward+backward function returns both y and dx so nothing is pruned.
Peak memory of one training step of a deep MLP is measured per path in a
fresh subprocess (VmHWM from /proc/self/status, reset before the step).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time

# name -> (tf_activations function name, params)
CONFIGS = {
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "mish": ("mish", {}),
    "swish": ("swish", {"beta": 1.0}),
    "silu": ("silu", {}),
    "gelu": ("gelu", {}),
    "gelu_tanh": ("gelu", {"approximate": True}),
    "hard_swish": ("hard_swish", {}),
    "hard_sigmoid": ("hard_sigmoid", {}),
    "elu": ("elu", {"alpha": 1.0}),
    "selu": ("selu", {}),
    "celu": ("celu", {"alpha": 1.0}),
    "softplus": ("softplus", {}),
    "lisht": ("lisht", {}),
    "snake": ("snake", {"frequency": 1.0}),
}


def _keras_fn(name):
    import keras

    a = keras.activations
    table = {
        "sigmoid": a.sigmoid,
        "tanh": a.tanh,
        "mish": getattr(a, "mish", None),
        "swish": getattr(a, "silu", None),
        "silu": getattr(a, "silu", None),
        "gelu": (lambda x: a.gelu(x, approximate=False)) if hasattr(a, "gelu") else None,
        "gelu_tanh": (lambda x: a.gelu(x, approximate=True)) if hasattr(a, "gelu") else None,
        "hard_swish": getattr(a, "hard_silu", None),
        "hard_sigmoid": getattr(a, "hard_sigmoid", None),
        "elu": getattr(a, "elu", None),
        "selu": getattr(a, "selu", None),
        "celu": getattr(a, "celu", None),
        "softplus": getattr(a, "softplus", None),
    }
    return table.get(name)


def _torch_fn(name):
    try:
        import torch
        import torch.nn.functional as F
    except Exception:
        return None
    table = {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "mish": F.mish,
        "swish": F.silu,
        "silu": F.silu,
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "hard_swish": F.hardswish,
        "hard_sigmoid": F.hardsigmoid,
        "elu": F.elu,
        "selu": F.selu,
        "celu": F.celu,
        "softplus": F.softplus,
        "lisht": lambda x: x * torch.tanh(x),
        "snake": lambda x: x + torch.sin(x) ** 2,
    }
    return table.get(name)


def _median_ms(call, repeats):
    return _interleaved_medians({"": call}, repeats)[""]


def _interleaved_medians(calls, repeats):
    """Median ms of each call, timed round-robin so drift and noise hit every path alike.

    Each round visits the calls in a fresh (seeded) random order, and each call is made once
    untimed right before its timed call: measured here, the first call after a different one is
    10-30% slower at 2^16 whichever function it is, which a fixed order charges to one path.
    """
    import random

    for call in calls.values():
        call()  # warm-up (and trace)
    order = list(calls)
    shuffle = random.Random(0).shuffle
    times = {key: [] for key in calls}
    for _ in range(repeats):
        shuffle(order)
        for key in order:
            calls[key]()
            t0 = time.perf_counter()
            calls[key]()
            times[key].append(time.perf_counter() - t0)
    return {key: statistics.median(t) * 1e3 for key, t in times.items()}


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
_SQRT_2_OVER_PI = 0.7978845608028654
# the eager per-call table's default rows: every dispatched kernel name and some Keras-path ones
EAGER_NAMES = ("mish", "swish", "silu", "celu", "gelu", "elu", "relu", "sigmoid", "hard_swish", "softplus")

# The plain float32 formula a user would write instead of each kernel name.
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


def _tf():
    import tensorflow as tf

    return tf


def _tf_pair(fn, jit=False):
    import tensorflow as tf

    fwd = tf.function(lambda x: fn(x), jit_compile=jit)

    @tf.function(jit_compile=jit)
    def both(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return y, tape.gradient(y, x, output_gradients=dy)

    return fwd, both


def _tf_calls(fn, x, dy, jit=False, pure=False):
    """(forward, forward+backward) thunks of ``fn`` traced for one path."""
    from tf_activations import native

    fwd, both = _tf_pair(fn, jit)
    # the traced graph keeps the choice made while tracing
    with (native.disabled() if pure else contextlib.nullcontext()):
        fwd.get_concrete_function(x)
        both.get_concrete_function(x, dy)
    return (lambda: fwd(x)), (lambda: both(x, dy))


def _graph_ops(fn, x, dy, pure=False):
    """The op types of ``fn``'s traced forward+backward graph, sorted (names aside)."""
    from tf_activations import native

    _, both = _tf_pair(fn)
    with (native.disabled() if pure else contextlib.nullcontext()):
        graph = both.get_concrete_function(x, dy).graph
    return sorted(op.type for op in graph.get_operations())


def _eager_both(fn, x, dy):
    import tensorflow as tf

    def both():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return y, tape.gradient(y, x, output_gradients=dy)

    return both


def _takeover_repeats(n, quick):
    r = 300 if n <= 1 << 16 else 150 if n <= 1 << 20 else 21
    return max(5, r // 3) if quick else r


def takeover(sizes, names, quick=False, out=sys.stdout):
    """Prints ours / Keras per path (fwd+bwd, y and dx returned); returns {(name, log2, path): ratio}."""
    import tensorflow as tf

    import tf_activations as tfa
    from tf_activations import native
    from tf_activations._registry import KERAS_FUNCTIONS

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
        x32 = tf.random.stateless_normal([n // 64, 64], seed=[1, 2]) * 3
        x16 = tf.cast(x32, tf.float16)
        reps = _takeover_repeats(n, quick)
        for name in names:
            kwargs = TAKEOVER[name]
            fname = "gelu" if name == "gelu_tanh" else name
            ours_fn, keras_fn = getattr(tfa, fname), KERAS_FUNCTIONS[fname]
            out_shape = keras_fn(x32[:1], **kwargs).shape[1:]  # glu halves its axis
            dy32 = tf.random.stateless_normal([n // 64] + list(out_shape), seed=[3, 4])
            dy16 = tf.cast(dy32, tf.float16)
            ours = tf.autograph.experimental.do_not_convert(lambda x, f=ours_fn, kw=kwargs: f(x, **kw))
            keras = tf.autograph.experimental.do_not_convert(lambda x, f=keras_fn, kw=kwargs: f(x, **kw))
            # A path whose traced graph is Keras' own, op for op, is Keras' speed by construction
            # ("="): timing it would only measure noise. The rest are timed round-robin.
            same = {path: _graph_ops(ours, xx, dd, pure=path == "graph-pure") == _graph_ops(keras, xx, dd)
                    for path, xx, dd in (("graph", x32, dy32), ("graph-pure", x32, dy32),
                                         ("float16", x16, dy16))}
            same["xla"] = same["graph-pure"]  # under XLA the kernels never run: the pure graph, compiled
            thunks = {("eager", "ours"): _eager_both(ours, x32, dy32),
                      ("eager", "keras"): _eager_both(keras, x32, dy32),
                      ("graph", "keras"): _tf_calls(keras, x32, dy32)[1]}
            if not same["graph"]:
                thunks[("graph", "ours")] = _tf_calls(ours, x32, dy32)[1]
            if not same["graph-pure"]:
                thunks[("graph-pure", "ours")] = _tf_calls(ours, x32, dy32, pure=True)[1]
            if not same["xla"]:
                thunks[("xla", "ours")] = _tf_calls(ours, x32, dy32, jit=True)[1]
                thunks[("xla", "keras")] = _tf_calls(keras, x32, dy32, jit=True)[1]
            if not same["float16"]:
                thunks[("float16", "ours")] = _tf_calls(ours, x16, dy16)[1]
                thunks[("float16", "keras")] = _tf_calls(keras, x16, dy16)[1]
            plain = PLAIN.get(name)
            if plain is not None:
                plain = tf.autograph.experimental.do_not_convert(plain)
                thunks[("plain", "graph")] = _tf_calls(plain, x32, dy32)[1]
                thunks[("plain", "xla")] = _tf_calls(plain, x32, dy32, jit=True)[1]
                if ("graph", "ours") not in thunks:
                    thunks[("graph", "ours")] = _tf_calls(ours, x32, dy32)[1]
            ms = _interleaved_medians(thunks, reps)
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
    return ratios


EAGER_SIZES = (8, 10, 12)


def eager_overhead(names, sizes=EAGER_SIZES, quick=False, out=sys.stdout):
    """Per-call cost on small tensors, eager: ours / Keras' function, forward alone and
    forward+backward (a tape, y and dx returned); returns {(name, log2, "fwd"|"fb"): ratio}."""
    import tensorflow as tf

    import tf_activations as tfa
    from tf_activations._registry import KERAS_FUNCTIONS

    print("\neager per-call cost on small tensors, ours / Keras' function (median us of Keras in "
          "brackets), round-robin; default mode", file=out)
    print(f"{'activation':<13}" + "".join(f"{'2^' + str(s) + ' fwd':>16}{'fb':>8}" for s in sizes), file=out)
    ratios = {}
    for name in names:
        kwargs = TAKEOVER[name]
        fname = "gelu" if name == "gelu_tanh" else name
        ours_fn, keras_fn = getattr(tfa, fname), KERAS_FUNCTIONS[fname]
        cells = []
        for log2 in sizes:
            x = tf.random.stateless_normal([1 << (log2 - 6), 64], seed=[1, 2]) * 3
            plain_call = all(ours_fn.spec.defaults.get(k) == v for k, v in kwargs.items())  # f(x), the commonest
            fns = {"ours": ours_fn if plain_call else (lambda x, f=ours_fn: f(x, **kwargs)),
                   "keras": keras_fn if plain_call else (lambda x, f=keras_fn: f(x, **kwargs))}
            thunks = {}
            for who, f in fns.items():
                thunks[(who, "fwd")] = lambda f=f: f(x)
                thunks[(who, "fb")] = _eager_both(f, x, tf.ones_like(f(x)))
            us = {k: v * 1e3 for k, v in _interleaved_medians(thunks, 60 if quick else 200).items()}
            for part in ("fwd", "fb"):
                ratios[(name, log2, part)] = us[("ours", part)] / us[("keras", part)]
            cells.append(f"{ratios[(name, log2, 'fwd')]:>8.2f}({us[('keras', 'fwd')]:>4.0f})"
                         f"{ratios[(name, log2, 'fb')]:>8.2f}")
        print(f"{name:<13}" + "".join(cells), file=out, flush=True)
    return ratios


def _measure_torch(fn, n, repeats):
    import torch

    torch.set_num_threads(int(os.environ.get("TFA_BENCH_TORCH_THREADS", os.cpu_count() or 1)))
    x = torch.randn(n) * 3
    dy = torch.randn(n)
    xg = x.clone().requires_grad_(True)

    def fwd():
        with torch.no_grad():
            fn(x)

    def both():
        xg.grad = None
        y = fn(xg)
        y.backward(dy)

    return _median_ms(fwd, repeats), _median_ms(both, repeats)


def _torch_child(sizes, names, quick):
    """Runs in its own process: torch's and TF's thread pools would fight over 2 cores."""
    import json

    out = {}
    for log2 in sizes:
        for name in names:
            fn = _torch_fn(name)
            if fn is not None:
                out[f"{name}:{log2}"] = _measure_torch(fn, 1 << log2, _repeats(1 << log2, quick))
    print(json.dumps(out))


def _torch_times(sizes, names, quick):
    import json

    try:
        import torch  # noqa: F401
    except Exception:
        return {}
    code = ("import sys; from tf_activations.native.bench import _torch_child; "
            f"_torch_child({list(sizes)!r}, {list(names)!r}, {bool(quick)!r})")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))] + [os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(f"torch run failed: {r.stderr[-500:]}", file=sys.stderr)
        return {}
    return {k: tuple(v) for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()}


def _repeats(n, quick):
    r = 40 if n <= 1 << 16 else 30 if n <= 1 << 20 else 7
    return max(3, r // 3) if quick else r


def _fmt(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def _best_baseline(res):
    """The fastest fwd+bwd of the plain formula (graph, XLA) and Keras' function."""
    return min(res[p][1] for p in ("graph", "xla", "keras") if res.get(p))


def run(sizes, names, quick=False, out=sys.stdout, dtype="float32"):
    import tensorflow as tf

    import tf_activations as tfa
    from tf_activations import native

    have_kernels = native.load() is not None
    print(f"kernels: {native.library_path() or 'NOT BUILT (run python -m tf_activations build)'}", file=out)
    try:
        import torch

        print(f"torch {torch.__version__} (own process, {os.cpu_count()} threads)", file=out)
    except Exception:
        print("torch: not importable (column skipped)", file=out)
    print(f"times in ms, median; fwd / fwd+bwd (fb); {dtype} (torch: float32); kernel = the C++ kernel "
          f"(dispatched whatever the mode would pick); graph = the plain {dtype} formula under tf.function, "
          "xla = the same with jit_compile=True; keras = Keras' own function", file=out)
    torch_times = _torch_times(sizes, names, quick)  # before TF starts its thread pools' work
    rows = []
    header = (f"{'activation':<13}{'N':>5} {'kernel':>13} {'graph':>13} {'xla':>13} {'keras':>13} "
              f"{'torch':>13} {'copy':>11} {'pure/k':>7} {'keras/k':>8} {'k/torch':>8} {'k/best':>7}")
    print(header, file=out)
    for log2 in sizes:
        n = 1 << log2
        x = tf.cast(tf.random.stateless_normal([n], seed=[1, 2]) * 3, dtype)
        dy = tf.cast(tf.random.stateless_normal([n], seed=[3, 4]), dtype)
        reps = _repeats(n, quick)
        copy_fwd = tf.function(lambda x: tf.raw_ops.DeepCopy(x=x))
        copy_both = tf.function(lambda x, dy: (tf.raw_ops.DeepCopy(x=x), x * dy))
        copy_calls = ((lambda: copy_fwd(x)), (lambda: copy_both(x, dy)))
        for name in names:
            fname, kw = CONFIGS[name]
            fn = getattr(tfa, fname)
            act = tf.autograph.experimental.do_not_convert(lambda x, fn=fn, kw=kw: fn(x, **kw))
            plain = tf.autograph.experimental.do_not_convert(PLAIN[name])
            paths = {"copy": copy_calls, "graph": _tf_calls(plain, x, dy), "xla": _tf_calls(plain, x, dy, jit=True)}
            if have_kernels:
                with native.every_kernel():
                    paths["kernel"] = _tf_calls(act, x, dy)
            kf = _keras_fn(name)
            if kf is not None:
                paths["keras"] = _tf_calls(kf, x, dy)
            thunks = {(path, i): pair[i] for path, pair in paths.items() for i in (0, 1)}
            ms = _interleaved_medians(thunks, reps)
            res = {path: (ms[(path, 0)], ms[(path, 1)]) if path in paths else None
                   for path in ("kernel", "graph", "xla", "keras", "copy")}
            res["torch"] = torch_times.get(f"{name}:{log2}")
            copy = res.pop("copy")
            best_pure = min(res["graph"][1], res["xla"][1])
            k = res["kernel"]
            cols = [f"{_fmt(v[0])}/{_fmt(v[1])}" if v else "-" for v in
                    (res["kernel"], res["graph"], res["xla"], res["keras"], res["torch"])]
            ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"
            line = (f"{name:<13}{'2^' + str(log2):>5} " + " ".join(f"{c:>13}" for c in cols) +
                    f" {_fmt(copy[0]) + '/' + _fmt(copy[1]):>11} {ratio(best_pure, k and k[1]):>7} "
                    f"{ratio(res['keras'] and res['keras'][1], k and k[1]):>8} "
                    f"{ratio(k and k[1], res['torch'] and res['torch'][1]):>8} "
                    f"{ratio(k and k[1], _best_baseline(res)):>7}")
            print(line, file=out, flush=True)
            rows.append((name, log2, res, copy))
    print("pure/k = best plain-formula fb (graph or xla) / kernel fb; keras/k = Keras fb / kernel fb "
          "(> 1: kernel faster); k/torch = kernel fb / torch fb; k/best = kernel fb / the fastest of "
          "graph, xla and keras fb (issue 10's bar: <= 1)", file=out)
    return rows


_MEM_CHILD = r"""
import os, sys
mode, act = sys.argv[1], sys.argv[2]
if mode != "kernel":
    os.environ["TF_ACTIVATIONS_PURE"] = "1"
import tensorflow as tf, keras
import tf_activations as tfa
from tf_activations import native
if mode == "kernel":
    assert native.load() is not None, "kernels not built"
if mode == "keras":
    activation = {"swish": "silu", "hard_swish": "hard_silu"}.get(act, act)
else:
    fname = {"gelu_tanh": "gelu"}.get(act, act)
    activation = getattr(tfa, fname)
inputs = keras.Input((1024,))
h = inputs
for _ in range(8):
    h = keras.layers.Dense(1024, activation=activation)(h)
model = keras.Model(inputs, keras.layers.Dense(1)(h))
opt = keras.optimizers.SGD(1e-3)
x = tf.random.normal([8192, 1024]); t = tf.random.normal([8192, 1])
spec = [tf.TensorSpec([None, 1024]), tf.TensorSpec([None, 1])]
@tf.function(jit_compile=(mode == "xla"), input_signature=spec)
def step(x, t):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(x) - t) ** 2)
    g = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(g, model.trainable_variables))
    return loss
step(x[:8], t[:8])  # trace and create optimizer slots on a tiny batch
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
base = status("VmRSS")
step(x, t)
print(f"{status('VmHWM') - base:.0f}")
"""


def memory(names, out=sys.stdout):
    print("\npeak memory of one training step (batch 8192) above the resident baseline after a traced warm-up step on 8 rows (MiB): 8 x Dense(1024), "
          "batch 8192, float32; each path in a fresh process", file=out)
    print(f"{'activation':<13}{'kernel':>8}{'graph':>8}{'xla':>8}{'keras':>8}", file=out)
    for name in names:
        cells = []
        for mode in ("kernel", "graph", "xla", "keras"):
            if mode == "keras" and _keras_fn(name) is None or (mode == "keras" and name == "gelu_tanh"):
                cells.append("-")
                continue
            env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
            r = subprocess.run([sys.executable, "-c", _MEM_CHILD, mode, name], env=env,
                               capture_output=True, text=True)
            cells.append(r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else "err")
        print(f"{name:<13}" + "".join(f"{c:>8}" for c in cells), file=out, flush=True)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--model" in argv:  # the training-step benchmark has its own options
        from tf_activations.native import train_bench

        argv.remove("--model")
        return train_bench.main(argv)
    parser = argparse.ArgumentParser(prog="python -m tf_activations bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="log2 sizes, comma separated (default 16,20,24)")
    parser.add_argument("--activations", default=None,
                        help=f"comma separated; default: all of the table's (takeover: {','.join(TAKEOVER)}; "
                             f"--kernels: {','.join(CONFIGS)})")
    parser.add_argument("--quick", action="store_true", help="2^16 and 2^20, fewer repeats")
    parser.add_argument("--kernels", action="store_true",
                        help="the kernel table (kernel vs pure graph, XLA, Keras, torch, a copy) and memory")
    parser.add_argument("--no-memory", action="store_true", help="with --kernels: skip the training-step memory table")
    parser.add_argument("--eager", action="store_true",
                        help="only the eager per-call table (small tensors, 2^8-2^12; also printed after "
                             "the default table)")
    parser.add_argument("--dtype", default="float32,bfloat16",
                        help="with --kernels: the tensors' dtypes, comma separated, a table each (float32, "
                             "bfloat16, float16, float64; default float32,bfloat16); torch stays float32")
    parser.add_argument("--memory-activations", default="mish,gelu,swish",
                        help="with --kernels: activations for the memory table")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else ([16, 20] if args.quick else [16, 20, 24])
    table = CONFIGS if args.kernels else TAKEOVER
    names = args.activations.split(",") if args.activations else list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        parser.error(f"unknown activations {unknown}; choose from {list(table)}")
    if not args.kernels:
        if not args.eager:
            takeover(sizes, names, quick=args.quick)
        eager_overhead([n for n in names if n not in ("softmax", "log_softmax", "glu")] if args.activations
                       else EAGER_NAMES, quick=args.quick)
        return 0
    dtypes = args.dtype.split(",")
    bad = [d for d in dtypes if d not in ("float32", "bfloat16", "float16", "float64")]
    if bad:
        parser.error(f"--dtype: unknown {bad}; choose from float32, bfloat16, float16, float64")
    for dtype in dtypes:
        run(sizes, names, quick=args.quick, dtype=dtype)
    if not args.no_memory:
        memory(args.memory_activations.split(","))
    return 0


if __name__ == "__main__":
    sys.exit(main())
