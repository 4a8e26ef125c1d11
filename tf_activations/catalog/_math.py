"""Stable building blocks shared by the declarations.

Each takes tensors of one floating dtype and is finite for every finite input
and at +-inf; the `where` guards keep a NaN out of both the value and the
gradient (the unused branch of a `tf.where` still gets differentiated).
"""

import tensorflow as tf

from tf_activations._mode import is_portable

# erfc(z) ~ t exp(-z^2 + P(t)), t = 1 / (1 + |z| / 2): Chebyshev fit with relative
# error below 1.2e-7 for every z (Press et al., Numerical Recipes, 2nd ed., 6.2).
_ERFC_FIT = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
             0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277)


def normal_cdf_times(x, w):
    """w * Phi(x), Phi the standard normal CDF, accurate into Phi's far tail.

    By default via erfc. In portable mode (TFLite has no Erfc) via the fit above:
    Phi(-|x|) = t exp(P(t)) exp(-x^2 / 2) / 2, with x^2 / 2 split exactly into
    hi + lo (Dekker) so its rounding cannot reach the exponent, and exp(-hi)
    taken in two halves so no factor is subnormal while the product is normal.
    """
    if not is_portable():
        return times(w, 0.5 * tf.math.erfc(-0.70710678118654752440 * x))
    xs = tf.clip_by_value(x, -20.0, 20.0)  # beyond, w * Phi(-|x|) is 0 in float32 anyway
    a = tf.abs(xs) * 0.70710678118654752440
    t = 1.0 / (1.0 + 0.5 * a)
    poly = tf.zeros_like(t)
    for c in reversed(_ERFC_FIT):
        poly = poly * t + c
    big = 4097.0 * xs
    head = big - (big - xs)  # 12 significant bits: head^2 is exact
    rest = xs - head
    hi = 0.5 * head * head
    lo = 0.5 * rest * (2.0 * head + rest)
    half = tf.exp(-0.5 * hi)
    lower = times(times(0.5 * w * t * tf.exp(poly - lo), half), half)  # w * Phi(-|x|)
    return tf.where(x >= 0, w - lower, lower)


def neg_abs(z):
    """-|z|, with the derivative -sign(z) taken as -1 at 0 (TF's abs gives 0 there,
    which would zero second derivatives at the origin)."""
    return tf.where(z >= 0, -z, z)


def sigmoid(z):
    """1 / (1 + exp(-z)), with exp only ever of a non-positive number."""
    e = tf.exp(neg_abs(z))
    return tf.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def times_sigmoid(x, z):
    """x * sigmoid(z) where exp(z) underflows to a subnormal before x * exp(z) does.

    For z << 0 the product is formed as (x h) h / (1 + e) with h = exp(z / 2), so
    each factor stays a normal number while the result is (float32: z in -103..-87).
    """
    h = tf.exp(0.5 * neg_abs(z))
    e = h * h
    return tf.where(z >= 0, x / (1.0 + e), times(times(x, h), h) / (1.0 + e))


def sigmoid_slope(z):
    """sigmoid(z) * (1 - sigmoid(z)) = e / (1 + e)^2 with e = exp(-|z|)."""
    e = tf.exp(neg_abs(z))
    return e / ((1.0 + e) * (1.0 + e))


def softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))."""
    return tf.maximum(z, 0.0) + tf.math.log1p(tf.exp(neg_abs(z)))


def tanh(z):
    """tanh via expm1 of a non-positive argument (accurate near 0 and near +-1).

    In portable (float32) mode TF's tanh kernel is the closer of the two (3.8 ulp
    against 6 for float32 expm1's)."""
    if is_portable() and z.dtype == tf.float32:
        return tf.math.tanh(z)
    t = tf.math.expm1(2.0 * neg_abs(z))
    return tf.where(z >= 0, -t / (2.0 + t), t / (2.0 + t))


def sech2(z):
    """1 - tanh(z)^2 without the cancellation: 4e / (1 + e)^2, e = exp(-2|z|)."""
    e = tf.exp(2.0 * neg_abs(z))
    return 4.0 * e / ((1.0 + e) * (1.0 + e))


def times(a, b):
    """a * b, where b == 0 gives 0 even for infinite a (limits like x*sigmoid(x))."""
    product = a * b
    return tf.where(b == 0.0, tf.zeros_like(product), product)


def step(condition, like):
    """1 where condition holds, else 0, in the dtype of ``like``."""
    return tf.cast(condition, like.dtype)
