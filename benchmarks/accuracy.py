"""Max float32 error in ulp of every elementwise activation, ours beside Keras 3's.

    python benchmarks/accuracy.py

Same grid and mpmath references as tests/test_numerics.py: [-100, 100] plus
1e-30 .. 3e38 of both signs, counted where the exact result is a normal float32.
"portable" is the float32-only mode used for TFLite (tf_activations.portable()).
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import reference  # noqa: E402
import tensorflow as tf  # noqa: E402

import tf_activations  # noqa: E402
from tf_activations import keras_strings  # noqa: E402

# Keras 3's function for a name, as it was before we took the name over.
KERAS = dict(keras_strings._KERAS_ORIGINALS)
KERAS_ARGS = {"leaky_relu": {"negative_slope": 0.2}, "threshold": {"threshold": 0.0, "default_value": 0.0}}


def max_ulp(fn, x, exact):
    with np.errstate(all="ignore"):
        y = np.asarray(fn(tf.constant(x)))
        rounded = exact.astype(np.float32)
        normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(np.float32).tiny)
        err = np.abs(y[normal].astype(np.float64) - exact[normal]) / np.spacing(np.abs(rounded[normal])).astype(np.float64)
    bad = np.isnan(y[normal]).sum()
    return float(np.nanmax(err)) if err.size else 0.0, int(bad)


def main():
    x = reference.points("full")
    print(f"{'activation':<15}{'tf_activations':>16}{'portable':>10}{'keras 3':>14}   (max ulp, float32, {x.size} points)")
    for name in sorted(reference.ELEMENTWISE):
        with np.errstate(all="ignore"):
            exact = reference.table(name, "f", "full")
        ours, nans = max_ulp(tf_activations.get(name), x, exact)
        with tf_activations.portable():
            portable, portable_nans = max_ulp(tf_activations.get(name), x, exact)
        assert nans == portable_nans == 0, f"{name} gave NaN for finite input"
        theirs = ""
        if name in KERAS:
            kfn = KERAS[name]
            args = KERAS_ARGS.get(name, {})
            err, nans = max_ulp(lambda t: kfn(t, **args), x, exact)
            theirs = f"{err:.4g}" + (f" ({nans} NaN)" if nans else "")
        print(f"{name:<15}{ours:>16.2f}{portable:>10.2f}{theirs:>14}")


if __name__ == "__main__":
    main()
