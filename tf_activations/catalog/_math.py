"""Stable building blocks shared by the declarations.

Each takes tensors of one floating dtype and is finite for every finite input
and at +-inf; the `where` guards keep a NaN out of both the value and the
gradient (the unused branch of a `tf.where` still gets differentiated).
"""

import tensorflow as tf

from tf_activations._mode import is_exact

def normal_cdf_times(x, w):
    """w * Phi(x), Phi the standard normal CDF, via erfc (1 + erf cancels for x << 0)."""
    return times(w, 0.5 * tf.math.erfc(-0.70710678118654752440 * x))


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


def times_sigmoid_slope(a, z):
    """a * sigmoid'(z) = a e / (1 + e)^2, formed as (a h) h / (1 + e)^2 with h = exp(-|z| / 2).

    e = exp(-|z|) alone is subnormal (flushed to 0) from |z| = 87.3 in float32 while
    a * e is still normal for |a| > 1 (swish' at x = -90 is -7.3e-38): the halves keep
    each factor normal, as in times_sigmoid.
    """
    h = tf.exp(0.5 * neg_abs(z))
    e = h * h
    return times(times(a, h), h) / ((1.0 + e) * (1.0 + e))


def sigmoid_plus_times_slope(a, z):
    """sigmoid(z) + a * sigmoid'(z) (swish', the tanh-GELU's derivative) = s (1 + a (1 - s)).

    For z < 0 it is formed as ((1 + a / (1 + e)) h) h / (1 + e) with h = exp(z / 2): s
    alone is subnormal (flushed to 0) from z = -87.3 in float32 while the sum is normal
    down to z = -92 (swish' at -90 is -7.3e-38); summing two flushed terms left a band
    of zeros and a few percent error at its edge.
    """
    h = tf.exp(0.5 * neg_abs(z))
    e = h * h
    # a only where this branch is used and h > 0: an infinite a (swish at beta x = -inf)
    # would make d(a / (1 + e))/de infinite, times a zero upstream: a NaN second derivative.
    a_below = tf.where((z < 0) & (h > 0), a, tf.zeros_like(a))
    below = times(times(1.0 + a_below / (1.0 + e), h), h) / (1.0 + e)
    return tf.where(z >= 0, 1.0 / (1.0 + e) + times_sigmoid_slope(a, z), below)


def softplus(z):
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|))."""
    return tf.maximum(z, 0.0) + tf.math.log1p(tf.exp(neg_abs(z)))


def tanh(z):
    """tanh via expm1 of a non-positive argument (accurate near 0 and near +-1).

    Outside exact mode, float32 uses TF's tanh op: faster, a TFLite builtin,
    and the closer of the two in float32 (3.8 ulp against 6 for expm1's)."""
    if not is_exact() and z.dtype == tf.float32:
        return tf.math.tanh(z)
    t = tf.math.expm1(2.0 * neg_abs(z))
    return tf.where(z >= 0, -t / (2.0 + t), t / (2.0 + t))


def sech2(z):
    """1 - tanh(z)^2 without the cancellation: 4e / (1 + e)^2, e = exp(-2|z|).

    Formed as (2h)(2h) / (1 + e)^2 with h = exp(-|z|): e alone is subnormal (flushed to
    0 on most CPUs) from |z| = 43.7 in float32 while 4e is still normal up to |z| = 44.4.
    """
    h = tf.exp(neg_abs(z))
    e = h * h
    return (2.0 * h) * (2.0 * h) / ((1.0 + e) * (1.0 + e))


def normal_tail_series(x):
    """S(x) = |x| * Phi(x) / phi(x) for x << 0 (the Mills ratio times |x|), by its
    asymptotic series 1 - 1/x^2 + 3/x^4 - 15/x^6 + ..., ten terms: the first omitted term
    is below 1e-17 for |x| >= 20 and below 1e-11 for |x| >= 10."""
    s = 1.0 / tf.square(x)
    acc = tf.ones_like(x)
    for n in range(10, 0, -1):  # 1 - s (1 - 3 s (1 - 5 s (...)))
        acc = 1.0 - (2 * n - 1) * s * acc
    return acc


def times(a, b):
    """a * b, where b == 0 gives 0 even for infinite a (limits like x*sigmoid(x)).

    a is zeroed there before the product, not only the product after it: the gradient of
    the unused branch is 0 * a, NaN for an infinite a (a second derivative of swish
    where beta * x overflows)."""
    zero = b == 0.0
    product = tf.where(zero, tf.zeros_like(a), a) * b
    return tf.where(zero, tf.zeros_like(product), product)


def step(condition, like):
    """1 where condition holds, else 0, in the dtype of ``like``."""
    return tf.cast(condition, like.dtype)
