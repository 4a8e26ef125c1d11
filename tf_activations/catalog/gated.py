"""Smooth self-gated functions: x times a gate computed from x."""

import math

import tensorflow as tf

from tf_activations._spec import Activation, Kernel, Param, claim, variant
from tf_activations.catalog import _claims as C
from tf_activations.catalog import _math as m

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
TANH_GELU_C = math.sqrt(2.0 / math.pi)
TANH_GELU_A = 0.044715
# Above this, tanh(softplus(x)) is 1 to float64 precision (2 / e^40 < 2^-54).
_MISH_LINEAR_ABOVE = 20.0


def swish(x, beta):
    return m.times_sigmoid(x, beta * x)


def swish_derivative(x, beta):
    z = beta * x
    return m.sigmoid_plus_times_slope(z, z)


def _swish_beta_derivative(x, beta):
    return m.times_sigmoid_slope(x * x, beta * x)


def _mish(x):
    # x n / (n + 2) = (x h) h (e + 2) / (n + 2), h = e^(x/2): no subnormal
    # factor while the result is still normal (x down to -87 in float32).
    h = tf.exp(0.5 * tf.minimum(x, _MISH_LINEAR_ABOVE))
    e = h * h
    n = e * (e + 2.0)
    return tf.where(x > _MISH_LINEAR_ABOVE, x, m.times(m.times(x, h), h) * ((e + 2.0) / (n + 2.0)))


def _mish_derivative(x):
    # gate + x slope with gate = n / (n + 2), sech^2(softplus(x)) = 4 (n + 1) / (n + 2)^2 and
    # sigmoid(x) = e / (1 + e); both terms carry a factor e = h h, h = e^(x/2), taken out and
    # multiplied back last: e alone is subnormal (flushed to 0) from x = -87.3 in float32
    # while mish' is a normal float down to -91.8 (-8.6e-37 at -87.5).
    h = tf.exp(0.5 * tf.minimum(x, _MISH_LINEAR_ABOVE))
    e = h * h
    n = e * (e + 2.0)
    per_e = (e + 2.0) / (n + 2.0) + m.times(x, 4.0 * (n + 1.0) / (tf.square(n + 2.0) * (1.0 + e)))
    return tf.where(x > _MISH_LINEAR_ABOVE, tf.ones_like(x), m.times(m.times(per_e, h), h))


# Beyond this |x| every Gaussian factor below is exactly 0 in float64 and each tanh-gelu
# gate exactly 0 or 1. Clipping there changes no value but keeps x^2 and x^3 finite, whose
# gradients (2x, 3x^2) would otherwise be inf times a zero upstream: NaN second derivatives.
_GAUSS_FLAT = 1e3


def flat_beyond(x):
    # A where, not clip_by_value: clip's gradient at NaN is 0, which made the tanh form's
    # second derivative 0 at NaN; here NaN passes through with its gradient.
    flat = tf.constant(_GAUSS_FLAT, x.dtype)
    return tf.where(tf.abs(x) > flat, tf.where(x > 0.0, flat, -flat), x)


def gaussian_pdf(x):
    return _INV_SQRT_2PI * tf.exp(-0.5 * tf.square(flat_beyond(x)))


def _tail_start(x):
    """Below this x, Phi(x) and phi(x) are formed from exp(-x^2 / 4) squared and the
    Mills-ratio series: erfc and exp(-x^2 / 2) alone go subnormal (flushed to 0) while
    gelu and gelu' are still normal (float64 gelu from x = -37.5, float32 gelu' from -13.2)."""
    return -20.0 if x.dtype == tf.float64 else -10.0


def _gaussian_halves(x):
    """phi(x) = c * g * g, g = exp(-x^2 / 4): each factor stays normal longer than phi."""
    return _INV_SQRT_2PI, tf.exp(-0.25 * tf.square(flat_beyond(x)))


def gelu(x, approximate):
    if approximate:
        # 0.5 x (1 + tanh(u)) == x * sigmoid(2u): no cancellation for x < 0.
        return m.times_sigmoid(x, 2.0 * tanh_gelu_u(x))
    # erfc, not 1 + erf: 1 + erf(x) cancels for x << 0.
    in_tail = x < _tail_start(x)
    t = tf.where(in_tail, flat_beyond(x), tf.fill(tf.shape(x), tf.constant(-100.0, x.dtype)))
    c, g = _gaussian_halves(t)
    # x Phi(x) = x phi(x) S(x) / |x| = -S(x) phi(x) for x < 0
    tail = -(m.normal_tail_series(t) * c * g) * g
    return tf.where(in_tail, tail, m.normal_cdf_times(x, x))


def tanh_gelu_u(x):
    # x * x * x, not pow: pow costs 8x here. The cube only reaches inf where
    # the gate is already exactly 0 or 1.
    x = flat_beyond(x)
    return TANH_GELU_C * (x + TANH_GELU_A * (x * x * x))


def gelu_derivative(x, approximate):
    if approximate:
        z = 2.0 * tanh_gelu_u(x)
        xc = flat_beyond(x)  # where the slope is non-zero, xc is x
        dz = 2.0 * TANH_GELU_C * (1.0 + 3.0 * TANH_GELU_A * tf.square(xc))
        return m.sigmoid_plus_times_slope(xc * dz, z)
    in_tail = x < _tail_start(x)
    t = tf.where(in_tail, flat_beyond(x), tf.fill(tf.shape(x), tf.constant(-100.0, x.dtype)))
    c, g = _gaussian_halves(t)
    # Phi(x) + x phi(x) = phi(x) (x + S(x) / |x|) = phi(x) (x - S(x) / x) for x < 0
    tail = m.times(((t - m.normal_tail_series(t) / t) * c) * g, g)
    return tf.where(in_tail, tail, m.normal_cdf_times(x, tf.ones_like(x)) + m.times(x, gaussian_pdf(x)))


def _hard_swish_derivative(x):
    inside = tf.clip_by_value(x, -3.0, 3.0)  # 2x + 3 must not overflow in the unused branch
    slope = tf.where(x >= 3.0, tf.ones_like(x), m.step(x > -3.0, x) * (2.0 * inside + 3.0) / 6.0)
    # XLA clamps a NaN into [-3, 3] (slope 0 there), TF's op keeps it: NaN either way, and
    # x * slope (not x) there, so that f''(NaN) is NaN too, not the 1 of d x / d x
    return tf.where(tf.math.is_nan(x), x * slope, slope)


def _snake_phase_lost(x, frequency):
    """Where frequency * x is not finite: x = +-inf, or |x| so large that it overflows (float32
    x = 3e38 at frequency 1.3). There sin^2(a x) / a <= 1 / a is far below half an ulp of x, so
    snake(x) = x, and x carries no phase: the derivative is the mean of 1 + sin(2 a x), 1, and
    d/dfrequency the mean of its oscillating term, taken as 0, as at +-inf."""
    lost = tf.math.is_inf(frequency * x)
    return lost, tf.where(lost, tf.zeros_like(x), x)


def _snake(x, frequency):
    lost, x_in = _snake_phase_lost(x, frequency)
    return tf.where(lost, x, x_in + tf.square(tf.sin(frequency * x_in)) / frequency)


def _snake_derivative(x, frequency):
    lost, x_in = _snake_phase_lost(x, frequency)
    # 2 sin cos, not sin(2ax): 2ax overflows float32 for |ax| > 1.7e38.
    return tf.where(lost, tf.ones_like(x), 1.0 + 2.0 * tf.sin(frequency * x_in) * tf.cos(frequency * x_in))


def _snake_frequency_derivative(x, frequency):
    # d/da [sin^2(a x) / a] = x sin(2 a x) / a - sin^2(a x) / a^2
    _, x = _snake_phase_lost(x, frequency)
    s, c = tf.sin(frequency * x), tf.cos(frequency * x)
    return 2.0 * x * s * c / frequency - tf.square(s / frequency)


_BETA = Param("beta", 1.0, "Gate sharpness: a number or a (broadcastable) tensor/Variable, which then gets a gradient of its own shape.",
              differentiable=True)

_SWISH_ADVANTAGES = (
    C.SMOOTH,
    C.NO_DEAD_REGION,
    C.UNSATURATED_ABOVE,
)
_SWISH_DISADVANTAGES = (
    C.NON_MONOTONIC,
    C.NOT_ZERO_CENTRED,
    C.EXP_COST,
)


GELU = Activation(
    name="gelu",
    family="self-gated",
    summary="Gaussian error linear unit: x weighted by the standard normal CDF (exact, or the tanh approximation).",
    formula="gelu(x) = x * Phi(x) = x/2 * erfc(-x / sqrt(2)); approximate: x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
    derivative_formula="Phi(x) + x * phi(x) (exact)",
    output_range="[-0.1700, inf)",
    reference="Hendrycks & Gimpel, 'Gaussian Error Linear Units (GELUs)', arXiv:1606.08415, 2016",
    forward=gelu,
    derivative=gelu_derivative,
    params=(Param("approximate", False, "Use the tanh approximation (BERT/GPT-2 'gelu_new').", kind="bool"),),
    monotonic=False,
    bounded_below=True,
    keras_builtin=True,
    use_when="Transformer feed-forward layers (BERT, GPT); approximate=True for the tanh form.",
    advantages=(
        C.SMOOTH,
        C.UNSATURATED_ABOVE,
    ),
    disadvantages=(
        C.NON_MONOTONIC,
        C.NOT_ZERO_CENTRED,
        C.EXPENSIVE,
    ),
    layer_name="GELU",
    # The tanh form has its own functor; it loses to Keras' at 2^16 or 2^20 elements.
    kernels=(Kernel("gelu", consts=(("approximate", False),), default=True, fast_fn="gelu_float"),
             Kernel("gelu_tanh", consts=(("approximate", True),))),
)


ACTIVATIONS = [
    Activation(
        name="swish",
        family="self-gated",
        summary="Swish: x * sigmoid(beta * x); beta = 1 is SiLU, beta -> inf approaches ReLU.",
        formula="swish(x) = x * sigmoid(beta * x)",
        derivative_formula="s + beta * x * s * (1 - s), s = sigmoid(beta * x); d/d beta = x^2 * s * (1 - s)",
        output_range="[-0.2785 / beta, inf) for beta > 0",
        reference="Ramachandran, Zoph & Le, 'Searching for Activation Functions', arXiv:1710.05941, 2017",
        forward=swish,
        derivative=swish_derivative,
        param_derivatives={"beta": _swish_beta_derivative},
        params=(_BETA,),
        monotonic=False,
        bounded_below=True,
        keras_builtin=True,
        notes="Parameter name and default follow tf.nn.silu(features, beta=1.0). "
              "A per-channel beta gets a per-channel gradient (tf.nn.silu sums it to a scalar).",
        use_when="Deep convolutional networks (EfficientNet) wanting a smooth relu-like unit; beta can be learned.",
        advantages=_SWISH_ADVANTAGES,
        disadvantages=_SWISH_DISADVANTAGES,
        kernels=(Kernel("swish", param="beta", default=True, saved=True),),
    ),
    Activation(
        name="silu",
        family="self-gated",
        summary="Sigmoid-weighted linear unit, x * sigmoid(x) (swish with beta = 1).",
        formula="silu(x) = x * sigmoid(x)",
        derivative_formula="s * (1 + x * (1 - s)), s = sigmoid(x)",
        output_range="[-0.2785, inf)",
        reference="Elfwing, Uchibe & Doya, 'Sigmoid-Weighted Linear Units for Neural Network Function Approximation in Reinforcement Learning', 2018; Hendrycks & Gimpel 2016",
        forward=lambda x: swish(x, 1.0),
        derivative=lambda x: swish_derivative(x, 1.0),
        monotonic=False,
        bounded_below=True,
        keras_builtin=True,
        use_when="Modern CNNs and transformer feed-forward blocks (SwiGLU); swish with beta = 1.",
        advantages=_SWISH_ADVANTAGES,
        disadvantages=_SWISH_DISADVANTAGES,
        layer_name="SiLU",
        kernels=(Kernel("silu", default=True, saved=True),),
    ),
    Activation(
        name="mish",
        family="self-gated",
        summary="Mish: x * tanh(softplus(x)); smooth, non-monotonic, unbounded above.",
        formula="mish(x) = x * tanh(log(1 + exp(x)))",
        derivative_formula="tanh(sp) + x * sech^2(sp) * sigmoid(x), sp = softplus(x)",
        output_range="[-0.3088, inf)",
        reference="Misra, 'Mish: A Self Regularized Non-Monotonic Neural Activation Function', BMVC 2020 (arXiv:1908.08681)",
        forward=_mish,
        derivative=_mish_derivative,
        monotonic=False,
        bounded_below=True,
        keras_builtin=True,
        notes="tanh(softplus(x)) is computed as n / (n + 2), n = e^x (e^x + 2): one exp, no cancellation.",
        use_when="Object detectors (YOLOv4) and CNNs where its smooth, non-monotonic shape was reported to help.",
        advantages=(
            C.SMOOTH,
            C.NO_DEAD_REGION,
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            C.NON_MONOTONIC,
            C.NOT_ZERO_CENTRED,
            C.EXPENSIVE,
        ),
        kernels=(Kernel("mish", default=True, exact=True),),
    ),
    GELU,
    variant(
        GELU, "gelu_tanh", {"approximate": True},
        layer_name="GELUTanh",
        summary="GELU in its tanh approximation (BERT, GPT-2's 'gelu_new'; TF Addons' default gelu).",
        formula="gelu_tanh(x) = x/2 * (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        derivative_formula="sigmoid(2u) + x * sigmoid(2u) sigmoid(-2u) * 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2), u = sqrt(2/pi) (x + 0.044715 x^3)",
        use_when="Reproducing a model trained with the tanh form (BERT, GPT-2, TF Addons' gelu).",
    ),
    Activation(
        name="hard_swish",
        family="hard",
        summary="Piecewise-polynomial swish from MobileNetV3: x * relu6(x + 3) / 6.",
        formula="hard_swish(x) = x * min(max(x + 3, 0), 6) / 6",
        derivative_formula="0 for x <= -3; (2x + 3) / 6 for -3 < x < 3; 1 for x >= 3",
        output_range="[-0.375, inf)",
        reference="Howard et al., 'Searching for MobileNetV3', ICCV 2019",
        forward=lambda x: m.times(x, tf.clip_by_value(x + 3.0, 0.0, 6.0) / 6.0),
        derivative=_hard_swish_derivative,
        float64_forward=False,
        smooth=False,
        monotonic=False,
        bounded_below=True,
        keras_builtin=True,
        aliases=("hard_silu", "hardswish"),
        kinks="hard_swish'(-3) = 0 and hard_swish'(3) = 1 (the outer pieces').",
        use_when="Mobile networks (MobileNetV3) wanting swish's shape without exp.",
        advantages=(
            C.UNSATURATED_ABOVE,
            claim("note", "No exp: a clip and a product."),
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.KINKED,
            C.NON_MONOTONIC,
        ),
        kernels=(Kernel("hard_swish", default=True, exact=True),),
    ),
    Activation(
        name="lisht",
        family="self-gated",
        summary="Linearly scaled hyperbolic tangent: x * tanh(x); even, non-negative.",
        formula="lisht(x) = x * tanh(x)",
        derivative_formula="tanh(x) + x * (1 - tanh(x)^2)",
        output_range="[0, inf)",
        reference="Roy et al., 'LiSHT: Non-Parametric Linearly Scaled Hyperbolic Tangent Activation Function', arXiv:1901.05894, 2019",
        forward=lambda x: x * m.tanh(x),
        derivative=lambda x: m.tanh(x) + m.times(x, m.sech2(x)),
        monotonic=False,
        bounded_below=True,
        use_when="Experiments wanting an even, non-negative, unbounded unit.",
        advantages=(
            C.SMOOTH,
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            claim("flat_at_zero", "Flat at the origin: f'(0) = {slope0}, so small inputs pass almost no gradient."),
            C.NON_MONOTONIC,
            C.NOT_ZERO_CENTRED,
        ),
        layer_name="LiSHT",
        kernels=(Kernel("lisht", default=True, exact=True, fast_fn="lisht_float", saved=True),),
    ),
    Activation(
        name="snake",
        family="self-gated",
        summary="Snake: x + sin^2(a x) / a, a periodic inductive bias with a learnable frequency a.",
        formula="snake(x) = x + sin(frequency * x)^2 / frequency",
        derivative_formula="1 + sin(2 * frequency * x)",
        output_range="(-inf, inf)",
        reference="Ziyin, Hartwig & Ueda, 'Neural Networks Fail to Learn Periodic Functions and How to Fix It', NeurIPS 2020",
        forward=_snake,
        derivative=_snake_derivative,
        param_derivatives={"frequency": _snake_frequency_derivative},
        params=(Param("frequency", 1.0, "Frequency a > 0: a number or a (broadcastable) tensor/Variable.",
                      low=0.0, low_inclusive=False, differentiable=True),),
        use_when="Modelling periodic signals (audio, time series), where relu and tanh extrapolate poorly.",
        advantages=(
            claim("monotonic", "Monotonic: {monotonicity}."),
            claim("note", "The frequency can be learned per channel."),
        ),
        disadvantages=(
            claim("flat_points", "Its slope 1 + sin(2x) touches 0 periodically: at {flat_points}."),
            C.NOT_ZERO_CENTRED,
        ),
        kernels=(Kernel("snake", param="frequency", default=True, exact=True, fast_fn="snake_float"),),
    ),
]
