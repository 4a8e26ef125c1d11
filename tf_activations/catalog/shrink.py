"""Shrinkage functions: pull small values to (or toward) zero, for sparse codes."""

import tensorflow as tf

from tf_activations._spec import Activation, Param, claim
from tf_activations.catalog import _claims as C
from tf_activations.catalog import _math as m

# Taylor coefficients of x - tanh(x) = sum c_k x^(2k+1), k = 1..7.
_TANH_SHRINK_SERIES = (1 / 3, -2 / 15, 17 / 315, -62 / 2835, 1382 / 155925,
                       -21844 / 6081075, 929569 / 638512875)
# Below this |x| the series (7 terms, error < 1e-20 relative) replaces x - tanh(x),
# which would cancel; above it the subtraction loses at most a factor 300.
_TANH_SHRINK_SERIES_BELOW = 0.1


def _tanh_shrink(x):
    x2 = tf.square(x)
    series = tf.zeros_like(x)
    for c in reversed(_TANH_SHRINK_SERIES):
        series = series * x2 + c
    small = tf.abs(x) < _TANH_SHRINK_SERIES_BELOW
    return tf.where(small, series * x2 * x, x - m.tanh(x))


def _outside_band(x, threshold):
    """The derivative of both hard and soft shrinkage: 1 outside [-threshold, threshold]."""
    return m.step(tf.abs(x) > threshold, x)


_THRESHOLD = Param("threshold", 0.5, "Half-width of the zeroed band.", low=0.0)

_SHRINK_ADVANTAGES = (
    C.SPARSE,
    C.ZERO_CENTRED,
)
_SHRINK_DISADVANTAGES = (
    C.DEAD_REGION,
    C.KINKED,
)


ACTIVATIONS = [
    Activation(
        name="hard_shrink",
        family="shrink",
        summary="Zero inside [-threshold, threshold], identity outside.",
        formula="hard_shrink(x) = x for |x| > threshold, 0 otherwise",
        derivative_formula="1 for |x| > threshold, else 0",
        output_range="(-inf, -threshold) U {0} U (threshold, inf)",
        reference="Donoho & Johnstone, 'Ideal spatial adaptation by wavelet shrinkage', Biometrika 1994",
        # |x| <= threshold, not > : a NaN x falls through to x
        forward=lambda x, threshold: tf.where(tf.abs(x) <= threshold, tf.zeros_like(x), x),
        derivative=_outside_band,
        params=(_THRESHOLD,),
        float64_forward=False,
        smooth=False,
        zero_centred=True,
        keras_builtin=True,
        kinks="the derivative is 0 at |x| = threshold.",
        use_when="Sparse coding and denoising: zeroes small coefficients, keeps large ones untouched.",
        advantages=_SHRINK_ADVANTAGES,
        disadvantages=_SHRINK_DISADVANTAGES,
        aliases=("hardshrink",),
    ),
    Activation(
        name="soft_shrink",
        family="shrink",
        summary="Soft thresholding: shifts x toward 0 by threshold, zero inside the band.",
        formula="soft_shrink(x) = x - threshold for x > threshold; x + threshold for x < -threshold; 0 otherwise",
        derivative_formula="1 for |x| > threshold, else 0",
        output_range="(-inf, inf)",
        reference="Donoho, 'De-noising by soft-thresholding', IEEE Trans. Inf. Theory 1995",
        forward=lambda x, threshold: x - tf.clip_by_value(x, -threshold, threshold),
        derivative=_outside_band,
        params=(_THRESHOLD,),
        float64_forward=False,
        smooth=False,
        zero_centred=True,
        keras_builtin=True,
        kinks="the derivative is 0 at |x| = threshold.",
        use_when="Lasso-style soft thresholding (ISTA, sparse autoencoders).",
        advantages=_SHRINK_ADVANTAGES,
        disadvantages=_SHRINK_DISADVANTAGES,
        aliases=("softshrink",),
    ),
    Activation(
        name="tanh_shrink",
        family="shrink",
        summary="x - tanh(x): near-cubic around 0, linear in the tails.",
        formula="tanh_shrink(x) = x - tanh(x)",
        derivative_formula="tanh(x)^2",
        output_range="(-inf, inf)",
        reference="torch.nn.Tanhshrink; TensorFlow Addons tfa.activations.tanhshrink",
        forward=_tanh_shrink,
        derivative=lambda x: tf.square(m.tanh(x)),
        zero_centred=True,
        keras_builtin=True,
        notes="Uses the Taylor series below |x| = 0.1, where x - tanh(x) would cancel.",
        use_when="A smooth shrinkage that nearly ignores small inputs; rarely a hidden activation.",
        advantages=(
            C.SMOOTH,
            C.ZERO_CENTRED,
        ),
        disadvantages=(
            claim("flat_at_zero", "Flat at the origin: f'(0) = {slope0}; |f'| < {saturated_below} around {flat_points}."),
            C.EXP_COST,
        ),
        aliases=("tanhshrink",),
    ),
]
