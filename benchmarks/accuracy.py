"""Max float32 error in ulp of every elementwise activation, ours beside Keras 3's.

    python benchmarks/accuracy.py            # the test grid, against mpmath
    python benchmarks/accuracy.py --dense    # 5.6 million points, against float64

Columns: "default" is what ``tf_activations.NAME`` runs in the default mode
(a C++ kernel where one is built and dispatched, see ``python -m
tf_activations build``; else Keras' own function for a name Keras has, else
the float32 composite), "default-pure" the same without kernels (XLA, TFLite,
GPUs, no compiler), "exact" and "exact-pure" the same in exact mode
(``tf_activations.exact()``), "keras 3" Keras' own function for the name.

The grid is tests/test_numerics.py's: [-100, 100] plus 1e-30 .. 3e38 of both
signs, judged against 110-digit mpmath. ``--dense`` adds uniform samples on
[-100, 100], [-10, 10], [-1, 1] and [-0.2, 0.2] and 400k log-spaced magnitudes,
judged against tf_activations' own float64 pure-TF exact-mode result (within
1e-12 of mpmath, tests/test_numerics.py). Errors count where the exact result is a
normal float32.
"""

import argparse
import contextlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import reference  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_activations  # noqa: E402
from tf_activations import native  # noqa: E402
from tf_activations._registry import KERAS_FUNCTIONS as KERAS  # noqa: E402

KERAS_ARGS = {"leaky_relu": {"negative_slope": 0.2}, "threshold": {"threshold": 0.0, "default_value": 0.0}}


def max_ulp(fn, x, exact):
    with np.errstate(all="ignore"):
        y = np.asarray(fn(tf.constant(x)))
        rounded = exact.astype(np.float32)
        normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(np.float32).tiny)
        err = np.abs(y[normal].astype(np.float64) - exact[normal]) / np.spacing(np.abs(rounded[normal])).astype(np.float64)
    bad = np.isnan(y[normal]).sum()
    return float(np.nanmax(err)) if err.size else 0.0, int(bad)


def dense_points(seed=0):
    rng = np.random.default_rng(seed)
    mags = np.geomspace(np.finfo(np.float32).tiny, 3e38, 200_000)
    parts = [rng.uniform(-100, 100, 2_000_000), rng.uniform(-10, 10, 2_000_000), rng.uniform(-1, 1, 500_000),
             rng.uniform(-0.2, 0.2, 500_000), mags, -mags]
    return np.unique(np.concatenate(parts).astype(np.float32))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dense", action="store_true", help="5.6M points against the float64 path")
    args = parser.parse_args(argv)
    if args.dense:
        x = dense_points()
        source = "float64 pure-TF result"
    else:
        x = reference.points("full")
        source = "mpmath"
    print(f"kernels: {native.library_path() if native.available() else 'not built'}")
    columns = ("default", "default-pure", "exact", "exact-pure")
    print(f"{'activation':<15}" + "".join(f"{c:>13}" for c in columns) + f"{'keras 3':>11}"
          f"   (max ulp, float32, {x.size} points, against {source})")
    for name in sorted(reference.ELEMENTWISE):
        fn = tf_activations.get(name)
        with np.errstate(all="ignore"):
            if args.dense:
                with tf_activations.exact(), native.disabled():
                    exact = np.asarray(fn(tf.constant(x.astype(np.float64))))
            else:
                exact = reference.table(name, "f", "full")
        cells = []
        for column in columns:
            with tf_activations.exact(column.startswith("exact")):
                with native.disabled() if column.endswith("pure") else contextlib.nullcontext():
                    err, nans = max_ulp(fn, x, exact)
            cells.append(f"{err:.2f}" + (f" ({nans} NaN)" if nans else ""))
        theirs = ""
        if name in KERAS:
            kfn = KERAS[name]
            kwargs = KERAS_ARGS.get(name, {})
            err, nans = max_ulp(lambda t: kfn(t, **kwargs), x, exact)
            theirs = f"{err:.4g}" + (f" ({nans} NaN)" if nans else "")
        print(f"{name:<15}" + "".join(f"{c:>13}" for c in cells) + f"{theirs:>11}", flush=True)


if __name__ == "__main__":
    main()
