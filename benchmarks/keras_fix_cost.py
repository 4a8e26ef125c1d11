"""What a fix around a fused Keras/TF op would cost: why the default does not apply them.

    python benchmarks/keras_fix_cost.py

The default mode runs Keras' own function for a name Keras has (README, "Precision").
Three of its defects have a one-op fix: elu's spurious 0 for |x| < 1e-7 (put x back where
the result is 0), softsign's NaN at +-inf (clamp x to the finite range), gelu's NaN at -inf
(clamp from below). Each fix is one more pass over memory forward and backward outside XLA;
this prints fixed / Keras, fwd+bwd with y and dx returned, round-robin, in tf.function and eager.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from tf_activations._registry import KERAS_FUNCTIONS  # noqa: E402
from tf_activations.native import bench  # noqa: E402

FLOAT32_MAX = 3.4028234663852886e38


def _elu_fixed(x):
    y = tf.nn.elu(x)
    return tf.where(tf.equal(y, 0.0), x, y)


FIXES = {
    "elu": _elu_fixed,
    "softsign": lambda x: tf.nn.softsign(tf.clip_by_value(x, -FLOAT32_MAX, FLOAT32_MAX)),
    "gelu": lambda x: tf.nn.gelu(tf.maximum(x, -FLOAT32_MAX)),
}


def main():
    print("fixed / Keras' own function, fwd+bwd (y and dx), median of round-robin repeats")
    for log2 in (16, 20, 24):
        n = 1 << log2
        x = tf.random.stateless_normal([n], seed=[1, 2]) * 3
        dy = tf.random.stateless_normal([n], seed=[3, 4])
        for name, fixed in FIXES.items():
            keras = KERAS_FUNCTIONS[name]
            ms = bench._interleaved_medians({
                "keras": bench._tf_calls(keras, x, dy)[1], "fixed": bench._tf_calls(fixed, x, dy)[1],
                "keras eager": bench._eager_both(keras, x, dy), "fixed eager": bench._eager_both(fixed, x, dy),
            }, bench._takeover_repeats(n, False))
            print(f"2^{log2:<3} {name:<9} tf.function {ms['fixed'] / ms['keras']:5.2f}   "
                  f"eager {ms['fixed eager'] / ms['keras eager']:5.2f}", flush=True)


if __name__ == "__main__":
    main()
