"""What a fix around a fused Keras/TF op would cost: why the default does not apply them.

The default mode runs Keras' own function for a name Keras has (README, "Precision"). Three of
its defects have a one-op fix: elu's spurious 0 for |x| < 1e-7 (put x back where the result is
0), softsign's NaN at +-inf (clamp x to the finite range), gelu's NaN at -inf (clamp from
below). Each fix is one more pass over memory forward and backward outside XLA; this prints
fixed / Keras, fwd+bwd with y and dx returned, round-robin, in tf.function and eager.
"""

from __future__ import annotations

import sys

import _timing
import takeover

FLOAT32_MAX = 3.4028234663852886e38


def _elu_fixed(x):
    import tensorflow as tf

    y = tf.nn.elu(x)
    return tf.where(tf.equal(y, 0.0), x, y)


def _fixes():
    import tensorflow as tf

    return {
        "elu": _elu_fixed,
        "softsign": lambda x: tf.nn.softsign(tf.clip_by_value(x, -FLOAT32_MAX, FLOAT32_MAX)),
        "gelu": lambda x: tf.nn.gelu(tf.maximum(x, -FLOAT32_MAX)),
    }


NAMES = ("elu", "softsign", "gelu")


def row_cost(log2, level):
    return 1.0 + 4 * 2 * takeover.repeats(1 << log2, level) * (0.35 + (1 << log2) * 3e-6) / 1e3


def run(sizes, level="default", out=sys.stdout, progress=None):
    import tensorflow as tf

    from tf_activations._registry import KERAS_FUNCTIONS

    progress = progress or _timing.NoProgress()
    print("fixed / Keras' own function, fwd+bwd (y and dx), median of round-robin repeats", file=out)
    for log2 in sizes:
        n = 1 << log2
        x = tf.random.stateless_normal([n], seed=[1, 2]) * 3
        dy = tf.random.stateless_normal([n], seed=[3, 4])
        for name, fixed in _fixes().items():
            progress.row(f"fix cost {name} 2^{log2}", row_cost(log2, level))
            keras = KERAS_FUNCTIONS[name]
            ms = _timing.interleaved_medians({
                "keras": _timing.tf_calls(keras, x, dy)[1], "fixed": _timing.tf_calls(fixed, x, dy)[1],
                "keras eager": _timing.eager_both(keras, x, dy), "fixed eager": _timing.eager_both(fixed, x, dy),
            }, takeover.repeats(n, level))
            print(f"2^{log2:<3} {name:<9} tf.function {ms['fixed'] / ms['keras']:5.2f}   "
                  f"eager {ms['fixed eager'] / ms['keras eager']:5.2f}", file=out, flush=True)
