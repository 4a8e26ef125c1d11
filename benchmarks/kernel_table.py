"""The C++ kernels against every peer: the plain formula (tf.function, XLA), Keras, torch.

Every TensorFlow path runs in one process, side by side, under ``tf.function`` (graph mode);
torch runs in its own process (its thread pool and TensorFlow's would fight over the cores).
Times are medians of round-robin calls; forward+backward returns both y and dx so nothing is
pruned. Peak memory of one training step of a deep MLP is measured per path in a fresh
process (:func:`_timing.peak_rise_mib`).
"""

from __future__ import annotations

import json
import os
import sys

import _timing
from takeover import PLAIN

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
DTYPES = ("float32", "bfloat16", "float16", "float64")


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
    import torch
    import torch.nn.functional as F

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


def repeats(n, level):
    r = 40 if n <= 1 << 16 else 30 if n <= 1 << 20 else 7
    return {"quick": max(3, r // 5), "default": r, "full": r}[level]


def row_cost(log2, level):
    """A-priori seconds per row on this machine (traces and an XLA compile, then the calls)."""
    return 0.9 + 10 * 2 * repeats(1 << log2, level) * (0.2 + (1 << log2) * 1e-6) / 1e3


def torch_cost(sizes, names, level):
    return 4.0 + sum(len(names) * 2 * 2 * repeats(1 << s, level) * (0.05 + (1 << s) * 6e-7) / 1e3
                     for s in sizes)


MEMORY_ROW_COST = 4 * 9.0  # four fresh processes, each importing TensorFlow and stepping once


def _measure_torch(fn, n, reps):
    """torch's (fwd, fwd+bwd) median ms. With as many threads as cores its OpenMP workers stall in
    whole scheduler slices (8 ms here) whenever another process wants a core: run it on a quiet
    machine, or set TFA_BENCH_TORCH_THREADS=1."""
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

    return _timing.median_ms(fwd, reps), _timing.median_ms(both, reps)


def torch_child(sizes, names, level):
    """Runs in its own process: torch's and TF's thread pools would fight over the cores."""
    out = {}
    for log2 in map(int, sizes.split(",")):
        for name in names.split(","):
            fn = _torch_fn(name)
            if fn is not None:
                out[f"{name}:{log2}"] = _measure_torch(fn, 1 << log2, repeats(1 << log2, level))
    return json.dumps(out)


def torch_available():
    from importlib.util import find_spec

    return find_spec("torch") is not None


def torch_times(sizes, names, level):
    if not torch_available():
        return {}
    line = _timing.run_child("kernel_table", "torch_child", [",".join(map(str, sizes)), ",".join(names), level])
    return {k: tuple(v) for k, v in json.loads(line).items()} if line else {}


def _fmt(v):
    return "-" if v is None else (f"{v:.2f}" if v < 100 else f"{v:.0f}")


def _best_baseline(res):
    """The fastest fwd+bwd of the plain formula (graph, XLA) and Keras' function."""
    return min(res[p][1] for p in ("graph", "xla", "keras") if res.get(p))


def run(sizes, names, level="default", out=sys.stdout, dtype="float32", torch=None, progress=None):
    """The kernel table for one dtype; ``torch``: {"name:log2": (fwd, fb)} measured beforehand."""
    import tensorflow as tf

    import tf_activations as tfa
    from tf_activations import native

    progress = progress or _timing.NoProgress()
    have_kernels = native.load() is not None
    print(f"kernels: {native.library_path() or 'NOT BUILT (run python -m tf_activations build)'}", file=out)
    if torch_available():
        from importlib.metadata import version

        print(f"torch {version('torch')} (own process, {os.cpu_count()} threads)", file=out)
    else:
        print("torch: not importable (column skipped)", file=out)
    print(f"times in ms, median; fwd / fwd+bwd (fb); {dtype} (torch: float32); kernel = the C++ kernel "
          f"(dispatched whatever the mode would pick); graph = the plain {dtype} formula under tf.function, "
          "xla = the same with jit_compile=True; keras = Keras' own function", file=out)
    torch = torch or {}
    rows = []
    header = (f"{'activation':<13}{'N':>5} {'kernel':>13} {'graph':>13} {'xla':>13} {'keras':>13} "
              f"{'torch':>13} {'copy':>11} {'pure/k':>7} {'keras/k':>8} {'k/torch':>8} {'k/best':>7}")
    print(header, file=out)
    for log2 in sizes:
        n = 1 << log2
        x = tf.cast(tf.random.stateless_normal([n], seed=[1, 2]) * 3, dtype)
        dy = tf.cast(tf.random.stateless_normal([n], seed=[3, 4]), dtype)
        reps = repeats(n, level)
        copy_fwd = tf.function(lambda x: tf.raw_ops.DeepCopy(x=x))
        copy_both = tf.function(lambda x, dy: (tf.raw_ops.DeepCopy(x=x), x * dy))
        copy_calls = ((lambda: copy_fwd(x)), (lambda: copy_both(x, dy)))
        for name in names:
            progress.row(f"kernels {dtype} {name} 2^{log2}", row_cost(log2, level))
            fname, kw = CONFIGS[name]
            fn = getattr(tfa, fname)
            act = tf.autograph.experimental.do_not_convert(lambda x, fn=fn, kw=kw: fn(x, **kw))
            plain = tf.autograph.experimental.do_not_convert(PLAIN[name])
            paths = {"copy": copy_calls, "graph": _timing.tf_calls(plain, x, dy),
                     "xla": _timing.tf_calls(plain, x, dy, jit=True)}
            if have_kernels:
                with native.every_kernel():
                    paths["kernel"] = _timing.tf_calls(act, x, dy)
            kf = _keras_fn(name)
            if kf is not None:
                paths["keras"] = _timing.tf_calls(kf, x, dy)
            thunks = {(path, i): pair[i] for path, pair in paths.items() for i in (0, 1)}
            ms = _timing.interleaved_medians(thunks, reps)
            res = {path: (ms[(path, 0)], ms[(path, 1)]) if path in paths else None
                   for path in ("kernel", "graph", "xla", "keras", "copy")}
            res["torch"] = torch.get(f"{name}:{log2}")
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
          "graph, xla and keras fb (> 1: the kernel loses)", file=out)
    _losses(rows, out)
    return rows


def _losses(rows, out):
    """Every row where the kernel's fwd+bwd is slower than the fastest TF peer, or than torch."""
    for peer, against in (("the fastest of graph, xla and keras", _best_baseline),
                          ("torch", lambda res: res["torch"] and res["torch"][1])):
        ratios = {f"{name} 2^{log2}": res["kernel"][1] / against(res) for name, log2, res, _ in rows
                  if res["kernel"] and against(res)}
        if ratios:
            _timing.report_losses(ratios, peer, out)


def memory_here(mode, act):
    """In a fresh process: the peak memory rise (MiB) of one SGD step of 8 x Dense(1024), batch
    8192, with ``act`` on path ``mode`` (kernel, graph, xla or keras), after a traced warm-up
    step on 8 rows. Non-kernel modes must be started with TF_ACTIVATIONS_PURE=1."""
    import keras
    import tensorflow as tf

    import tf_activations as tfa
    from tf_activations import native

    if mode == "kernel" and native.load() is None:
        raise RuntimeError("kernels not built")
    if mode == "keras":
        activation = {"swish": "silu", "hard_swish": "hard_silu"}.get(act, act)
    else:
        activation = getattr(tfa, {"gelu_tanh": "gelu"}.get(act, act))
    inputs = keras.Input((1024,))
    h = inputs
    for _ in range(8):
        h = keras.layers.Dense(1024, activation=activation)(h)
    model = keras.Model(inputs, keras.layers.Dense(1)(h))
    opt = keras.optimizers.SGD(1e-3)
    x = tf.random.normal([8192, 1024])
    t = tf.random.normal([8192, 1])
    spec = [tf.TensorSpec([None, 1024]), tf.TensorSpec([None, 1])]

    @tf.function(jit_compile=(mode == "xla"), input_signature=spec)
    def step(x, t):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - t) ** 2)
        g = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(g, model.trainable_variables))
        return loss

    step(x[:8], t[:8])  # trace and create the optimizer's slots on a tiny batch
    return f"{_timing.peak_rise_mib(lambda: step(x, t)):.0f}"


def memory(names, out=sys.stdout, progress=None):
    progress = progress or _timing.NoProgress()
    print("\npeak memory of one training step (batch 8192) above the resident baseline after a traced "
          "warm-up step on 8 rows (MiB): 8 x Dense(1024), batch 8192, float32; each path in a fresh process",
          file=out)
    print(f"{'activation':<13}{'kernel':>8}{'graph':>8}{'xla':>8}{'keras':>8}", file=out)
    for name in names:
        progress.row(f"memory {name}", MEMORY_ROW_COST)
        cells = []
        for mode in ("kernel", "graph", "xla", "keras"):
            if mode == "keras" and (_keras_fn(name) is None or name == "gelu_tanh"):
                cells.append("-")
                continue
            env = {} if mode == "kernel" else {"TF_ACTIVATIONS_PURE": "1"}
            cells.append(_timing.run_child("kernel_table", "memory_here", [mode, name], **env) or "err")
        print(f"{name:<13}" + "".join(f"{c:>8}" for c in cells), file=out, flush=True)
