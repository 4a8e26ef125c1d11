"""Max float32 error in ulp of every elementwise activation, ours beside Keras 3's.

Columns: "default" is what ``tf_activations.NAME`` runs in the default mode (a C++ kernel
where one is built and dispatched, see ``python -m tf_activations build``; else Keras' own
function for a name Keras has, else the float32 composite), "default-pure" the same without
kernels (XLA, TFLite, GPUs, no compiler), "exact" and "exact-pure" the same in exact mode
(``tf_activations.exact()``), "keras 3" Keras' own function for the name.

The grid is tests/test_numerics.py's: [-100, 100] plus 1e-30 .. 3e38 of both signs, judged
against 110-digit mpmath (tests/reference.py). ``dense`` adds uniform samples on [-100, 100],
[-10, 10], [-1, 1] and [-0.2, 0.2] and 400k log-spaced magnitudes, judged against
tf_activations' own float64 pure-TF exact-mode result (within 1e-12 of mpmath,
tests/test_numerics.py). Errors count where the exact result is a normal float32
(:func:`_timing.max_ulp`).
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

import _timing

KERAS_ARGS = {"leaky_relu": {"negative_slope": 0.2}, "threshold": {"threshold": 0.0, "default_value": 0.0}}
COLUMNS = ("default", "default-pure", "exact", "exact-pure")


def _reference():
    """tests/reference.py: the mpmath tables the test suite judges against (a clone has it)."""
    tests = os.path.join(_timing.REPO, "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)
    import reference

    return reference


def names():
    return sorted(_reference().ELEMENTWISE)


def row_cost(dense):
    return 6.0 if dense else 1.5


def dense_points(seed=0):
    rng = np.random.default_rng(seed)
    mags = np.geomspace(np.finfo(np.float32).tiny, 3e38, 200_000)
    parts = [rng.uniform(-100, 100, 2_000_000), rng.uniform(-10, 10, 2_000_000), rng.uniform(-1, 1, 500_000),
             rng.uniform(-0.2, 0.2, 500_000), mags, -mags]
    return np.unique(np.concatenate(parts).astype(np.float32))


def _cell(err, nans, fmt):
    return f"{err:{fmt}}" + (f" ({nans} NaN)" if nans else "")


def run(names, dense=False, out=sys.stdout, progress=None):
    import tensorflow as tf

    import tf_activations
    from tf_activations import native
    from tf_activations._registry import KERAS_FUNCTIONS

    progress = progress or _timing.NoProgress()
    reference = _reference()
    if dense:
        x = dense_points()
        source = "float64 pure-TF result"
    else:
        x = reference.points("full")
        source = "mpmath"
    print(f"kernels: {native.library_path() if native.available() else 'not built'}", file=out)
    print(f"{'activation':<15}" + "".join(f"{c:>13}" for c in COLUMNS) + f"{'keras 3':>11}"
          f"   (max ulp, float32, {x.size} points, against {source})", file=out)
    for name in names:
        progress.row(f"accuracy {name}", row_cost(dense))
        fn = tf_activations.get(name)
        with np.errstate(all="ignore"):
            if dense:
                with tf_activations.exact(), native.disabled():
                    exact = np.asarray(fn(tf.constant(x.astype(np.float64))))
            else:
                exact = reference.table(name, "f", "full")
        cells = []
        for column in COLUMNS:
            with tf_activations.exact(column.startswith("exact")):
                with native.disabled() if column.endswith("pure") else contextlib.nullcontext():
                    cells.append(_cell(*_timing.max_ulp(fn(tf.constant(x)), exact), ".2f"))
        theirs = ""
        variant = tf_activations.info(name)["variant_of"]  # gelu_tanh: Keras' gelu(approximate=True)
        base, kwargs = (variant["name"], variant["parameters"]) if variant else (name, KERAS_ARGS.get(name, {}))
        if base in KERAS_FUNCTIONS:
            y = KERAS_FUNCTIONS[base](tf.constant(x), **kwargs)
            theirs = _cell(*_timing.max_ulp(y, exact), ".4g")
        print(f"{name:<15}" + "".join(f"{c:>13}" for c in cells) + f"{theirs:>11}", file=out, flush=True)
