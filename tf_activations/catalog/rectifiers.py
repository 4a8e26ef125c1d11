"""Rectifiers: identity for large positive x, something cheaper or smoother below."""

import numpy as np
import tensorflow as tf

from tf_activations._spec import Activation, Kernel, Param, claim
from tf_activations.catalog import _claims as C
from tf_activations.catalog import _math as m

# Klambauer et al. 2017, eq. 14, to 30 digits.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _relu(x, negative_slope, max_value, threshold):
    below = negative_slope * (x - threshold) if negative_slope else tf.zeros_like(x)
    y = tf.where(x > threshold, x, below)
    return y if max_value is None else tf.minimum(y, max_value)


def _relu_derivative(x, negative_slope, max_value, threshold):
    inside = m.step(x > threshold, x) + negative_slope * m.step(x <= threshold, x)
    return inside if max_value is None else inside * m.step(x < max_value, x)


def _relu_op(x, negative_slope, max_value, threshold):
    if negative_slope == 0.0 and threshold == 0.0:
        if max_value is None:
            return tf.nn.relu(x)
        if max_value == 6.0:
            return tf.nn.relu6(x)
    return None


def _below_zero(x):
    """min(x, 0) with NaN kept and differentiable: the unused branch of elu-style wheres
    cannot overflow, and a NaN x still reaches f'' (tf.minimum's gradient at NaN is 0)."""
    return tf.where(x > 0.0, tf.zeros_like(x), x)


def _exp_below_zero(x):
    return tf.exp(_below_zero(x))


def _times_exp_below_zero(a, x):
    """a exp(min(x, 0)) as (a h) h, h = exp(x / 2): exp(x) alone is subnormal (flushed to 0)
    from x = -87.3 in float32 while a exp(x) is still normal for a > 1 (selu' at -87.5 is
    1.75e-38)."""
    h = tf.exp(0.5 * _below_zero(x))
    return m.times(m.times(a + tf.zeros_like(x), h), h)


def _expm1_below_zero(x):
    return tf.math.expm1(_below_zero(x))


def _celu(x, alpha):
    # alpha expm1(x / alpha) is x to within half an ulp once |x / alpha| < eps; there x / alpha
    # may also be subnormal (alpha near the dtype's maximum) and flush to 0, giving 0, not x.
    z = x / alpha
    near_zero = tf.abs(z) < np.finfo(x.dtype.as_numpy_dtype).eps
    return tf.where(x > 0.0, x, tf.where(near_zero, x, alpha * _expm1_below_zero(z)))


def _leaky_relu_op(x, negative_slope):
    # LeakyRelu's alpha attr is a float32: for float64 it would round the slope.
    if x.dtype == tf.float64:
        return None
    return tf.nn.leaky_relu(x, alpha=negative_slope)


def _softplus(x, beta, threshold):
    """(1 / beta) log(1 + exp(beta x)) = max(x, 0) + log1p(exp(-|beta x|)) / beta.

    beta x only sets the sign and the exp's argument, so where it overflows (beta = 4,
    x = 1e38) the result is still x, not inf / beta. beta = 1 without a threshold is the
    plain formula, op for op (today's values, bit for bit)."""
    y = m.softplus(x) if beta == 1.0 else tf.maximum(x, 0.0) + tf.math.log1p(tf.exp(m.neg_abs(beta * x))) / beta
    return y if threshold is None else tf.where(beta * x > threshold, x, y)


def _softplus_derivative(x, beta, threshold):
    slope = m.sigmoid(x if beta == 1.0 else beta * x)
    return slope if threshold is None else tf.where(beta * x > threshold, tf.ones_like(x), slope)


def _squared_relu_derivative(x):
    """2 x step(x), as a product in x (not a where choosing 2x) so that f''(NaN) is NaN too,
    with times() keeping f'(-inf) = 0 rather than -inf * 0."""
    step = tf.where(tf.math.is_nan(x), x, m.step(x > 0.0, x))
    return 2.0 * m.times(x, step)


_NEGATIVE_SLOPE = Param("negative_slope", 0.0, "Slope for x below the threshold.")

ACTIVATIONS = [
    Activation(
        name="relu",
        family="rectifier",
        summary="Rectified linear unit, with Keras 3's optional slope, cap and threshold.",
        formula="relu(x) = x for x > threshold, negative_slope * (x - threshold) otherwise, capped at max_value",
        derivative_formula="1 for threshold < x < max_value, negative_slope for x <= threshold, 0 for x >= max_value",
        output_range="[0, inf) with the defaults",
        reference="Nair & Hinton, 'Rectified Linear Units Improve Restricted Boltzmann Machines', ICML 2010",
        forward=_relu,
        derivative=_relu_derivative,
        params=(
            _NEGATIVE_SLOPE,
            Param("max_value", None, "Upper cap on the output (None: no cap).", kind="optional_float"),
            Param("threshold", 0.0, "Where the unit switches on."),
        ),
        tf_op=_relu_op,
        float64_forward=False,
        smooth=False,
        bounded_below=True,
        keras_builtin=True,
        kinks="relu'(threshold) = negative_slope (0 by default); relu'(max_value) = 0.",
        notes="With the defaults this is tf.nn.relu (and with max_value=6, tf.nn.relu6).",
        use_when="The default for hidden layers of deep feed-forward and convolutional networks.",
        advantages=(
            C.CHEAP,
            C.SPARSE,
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            claim("dead_region", "Dying units: f' = 0 for {dead} ({dead_mass} of N(0, 1) inputs); a unit whose inputs all land there never recovers."),
            C.NOT_ZERO_CENTRED,
            C.KINKED,
        ),
        layer_name="ReLU",
    ),
    Activation(
        name="relu6",
        family="rectifier",
        summary="ReLU capped at 6, as in MobileNet; bounded output suits low precision.",
        formula="relu6(x) = min(max(x, 0), 6)",
        derivative_formula="1 for 0 < x < 6, else 0",
        output_range="[0, 6]",
        reference="Krizhevsky, 'Convolutional Deep Belief Networks on CIFAR-10', 2010",
        forward=lambda x: tf.clip_by_value(x, 0.0, 6.0),
        derivative=lambda x: m.step((x > 0.0) & (x < 6.0), x),
        tf_op=tf.nn.relu6,
        float64_forward=False,
        smooth=False,
        bounded_below=True,
        bounded_above=True,
        keras_builtin=True,
        kinks="relu6'(0) = relu6'(6) = 0.",
        use_when="Mobile networks (MobileNet v1/v2) and low-precision inference, where a bounded range keeps fixed-point formats accurate.",
        advantages=(
            claim("bounded", "Output in {range}: fits a fixed-point format."),
            C.SPARSE,
            C.ARITHMETIC_COST,
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.NOT_ZERO_CENTRED,
            C.KINKED,
        ),
        layer_name="ReLU6",
    ),
    Activation(
        name="squared_relu",
        family="rectifier",
        summary="Squared ReLU: max(x, 0)^2; the feed-forward unit the Primer search found.",
        formula="squared_relu(x) = max(x, 0)^2",
        derivative_formula="2 max(x, 0)",
        output_range="[0, inf)",
        reference="So, Manke, Liu, Dai, Shazeer & Le, 'Primer: Searching for Efficient Transformers for Language "
                  "Modeling', NeurIPS 2021 (arXiv:2109.08668)",
        # written as x <= 0 so that a NaN x falls through to x * x
        forward=lambda x: tf.where(x <= 0.0, tf.zeros_like(x), x * x),
        derivative=_squared_relu_derivative,
        float64_forward=False,  # one product: rounded once in any precision
        bounded_below=True,
        kinks="f'' jumps from 0 to 2 at x = 0; f' is continuous.",
        notes="Overflows to inf for x above the square root of the dtype's maximum (1.8e19 in float32), as x * x does.",
        use_when="Transformer feed-forward blocks (Primer): a drop-in for relu or gelu there, no exp.",
        advantages=(
            C.CHEAP,
            C.SPARSE,
            C.SMOOTH,
        ),
        disadvantages=(
            C.DEAD_REGION,
            claim("steep", "Unbounded slope: f' = 2x reaches {max_slope} at x = {max_slope_at}, so large inputs "
                           "give large gradients."),
            C.NOT_ZERO_CENTRED,
        ),
        layer_name="SquaredReLU",
    ),
    Activation(
        name="leaky_relu",
        family="rectifier",
        summary="ReLU that keeps a small slope for negative x, so units cannot die.",
        formula="leaky_relu(x) = x for x > 0, negative_slope * x otherwise",
        derivative_formula="1 for x > 0, negative_slope otherwise",
        output_range="(-inf, inf)",
        reference="Maas, Hannun & Ng, 'Rectifier Nonlinearities Improve Neural Network Acoustic Models', ICML 2013",
        forward=lambda x, negative_slope: tf.where(x > 0.0, x, negative_slope * x),
        derivative=lambda x, negative_slope: tf.where(x > 0.0, tf.ones_like(x), negative_slope + tf.zeros_like(x)),
        params=(Param("negative_slope", 0.2, "Slope for negative x (Keras 3 default)."),),
        tf_op=lambda x, negative_slope: _leaky_relu_op(x, negative_slope),
        float64_forward=False,
        smooth=False,
        keras_builtin=True,
        kinks="leaky_relu'(0) = negative_slope.",
        use_when="A drop-in for relu when units die; common in GAN discriminators.",
        advantages=(
            C.NO_DEAD_REGION,
            C.UNSATURATED_ABOVE,
            C.CHEAP,
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            claim("dense", "No exact zeros ({sparsity}): the sparsity relu gives is lost."),
            C.KINKED,
        ),
        layer_name="LeakyReLU",
    ),
    Activation(
        name="prelu",
        family="rectifier",
        summary="Parametric ReLU: leaky ReLU whose negative slope alpha is learned.",
        formula="prelu(x) = x for x > 0, alpha * x otherwise",
        derivative_formula="1 for x > 0, alpha otherwise; d/d alpha = min(x, 0)",
        output_range="(-inf, inf)",
        reference="He, Zhang, Ren & Sun, 'Delving Deep into Rectifiers', ICCV 2015",
        forward=lambda x, alpha: tf.where(x > 0.0, x, alpha * x),
        derivative=lambda x, alpha: tf.where(x > 0.0, tf.ones_like(x), alpha + tf.zeros_like(x)),
        param_derivatives={"alpha": lambda x, alpha: tf.minimum(x, 0.0) + tf.zeros_like(alpha)},
        params=(Param("alpha", 0.25, "Negative slope: a number or a (broadcastable) tensor/Variable.",
                      differentiable=True),),
        float64_forward=False,
        smooth=False,
        kinks="prelu'(0) = alpha.",
        notes="The layer tf_activations.layers.PReLU learns alpha (initialised to 0.25, as in the paper).",
        use_when="Deep convolutional networks where a learned negative slope per channel is worth a few parameters.",
        advantages=(
            C.NO_DEAD_REGION,
            claim("note", "The negative slope is learned (per channel with shared_axes) by the PReLU layer."),
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            C.KINKED,
            claim("note", "The extra parameters can overfit small datasets."),
        ),
        layer_name="PReLU",
    ),
    Activation(
        name="elu",
        family="rectifier",
        summary="Exponential linear unit: smooth negative saturation at -alpha pushes mean activations toward 0.",
        formula="elu(x) = x for x > 0, alpha * (exp(x) - 1) otherwise",
        derivative_formula="1 for x > 0, alpha * exp(x) otherwise",
        output_range="[-alpha, inf)",
        reference="Clevert, Unterthiner & Hochreiter, 'Fast and Accurate Deep Network Learning by Exponential Linear Units (ELUs)', ICLR 2016",
        forward=lambda x, alpha: tf.where(x > 0.0, x, alpha * _expm1_below_zero(x)),
        derivative=lambda x, alpha: tf.where(x > 0.0, tf.ones_like(x), _times_exp_below_zero(alpha, x)),
        params=(Param("alpha", 1.0, "Negative saturation level.", low=0.0),),
        bounded_below=True,
        kinks="none at the default alpha = 1; for other alpha, f' jumps from alpha to 1 at x = 0.",
        keras_builtin=True,
        notes="Default: Keras' elu (tf.nn.elu returns 0 for |x| < 1e-7: no expm1); exact mode uses expm1.",
        use_when="Deep feed-forward networks where mean activations nearer zero than relu's speed up learning.",
        advantages=(
            claim("smooth", "At the default alpha = 1 the derivative is continuous: {smoothness}."),
            C.NO_DEAD_REGION,
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            claim("not_zero_centred", "Mean output {mean} for N(0, 1) input: nearer zero than relu's, but not zero."),
            C.SATURATES,
            C.EXP_COST,
        ),
        layer_name="ELU",
        kernels=(Kernel("elu", fixed=("alpha",), exact=True),),
    ),
    Activation(
        name="selu",
        family="rectifier",
        summary="Scaled ELU with the constants that make activations self-normalising (mean 0, variance 1).",
        formula="selu(x) = scale * x for x > 0, scale * alpha * (exp(x) - 1) otherwise; alpha = 1.67326..., scale = 1.05070...",
        derivative_formula="scale for x > 0, scale * alpha * exp(x) otherwise",
        output_range="[-scale * alpha, inf) = [-1.7581, inf)",
        reference="Klambauer, Unterthiner, Mayr & Hochreiter, 'Self-Normalizing Neural Networks', NeurIPS 2017",
        forward=lambda x: tf.where(x > 0.0, SELU_SCALE * x, (SELU_SCALE * SELU_ALPHA) * _expm1_below_zero(x)),
        derivative=lambda x: tf.where(x > 0.0, SELU_SCALE + tf.zeros_like(x),
                                      _times_exp_below_zero(SELU_SCALE * SELU_ALPHA, x)),
        smooth=False,
        bounded_below=True,
        keras_builtin=True,
        notes="Use with lecun_normal initialisation and AlphaDropout. Default: Keras' selu (tf.nn.selu returns 0 for |x| < 1e-7); exact mode uses expm1.",
        use_when="Deep fully-connected networks without batch normalisation, with lecun_normal weights and AlphaDropout.",
        advantages=(
            claim("self_normalising", "Self-normalising: for N(0, 1) input the output has mean {mean} and variance {var}, so both survive layer after layer."),
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            C.KINKED,
            C.SATURATES,
            claim("note", "The fixed point needs lecun_normal weights and standardised inputs; batch norm or ordinary dropout break it."),
        ),
        layer_name="SELU",
        kernels=(Kernel("selu"),),
    ),
    Activation(
        name="celu",
        family="rectifier",
        summary="Continuously differentiable ELU: the negative part is scaled so f'(0) = 1 for every alpha.",
        formula="celu(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
        derivative_formula="1 for x > 0, exp(x / alpha) otherwise",
        output_range="[-alpha, inf)",
        reference="Barron, 'Continuously Differentiable Exponential Linear Units', arXiv:1704.07483, 2017",
        forward=_celu,
        derivative=lambda x, alpha: tf.where(x > 0.0, tf.ones_like(x), _exp_below_zero(x / alpha)),
        params=(Param("alpha", 1.0, "Negative saturation level and scale.", low=0.0, low_inclusive=False),),
        bounded_below=True,
        keras_builtin=True,
        use_when="Where an elu with alpha other than 1 should keep a continuous derivative.",
        advantages=(
            C.SMOOTH,
            C.NO_DEAD_REGION,
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            C.SATURATES,
            C.EXP_COST,
        ),
        layer_name="CELU",
        kernels=(Kernel("celu", fixed=("alpha",), default=True, exact=True, saved=True),),
    ),
    Activation(
        name="softplus",
        family="rectifier",
        summary="Smooth ReLU: log(1 + exp(x)); its derivative is the sigmoid.",
        formula="softplus(x) = log(1 + exp(beta * x)) / beta; x where beta * x > threshold, if a threshold is given",
        derivative_formula="sigmoid(beta * x) (1 where beta * x > threshold)",
        output_range="(0, inf)",
        reference="Dugas et al., 'Incorporating Second-Order Functional Knowledge for Better Option Pricing', "
                  "NeurIPS 2000; beta and threshold as PyTorch's torch.nn.functional.softplus",
        forward=_softplus,
        derivative=_softplus_derivative,
        params=(Param("beta", 1.0, "Sharpness: softplus(beta * x) / beta, closer to relu as beta grows (PyTorch's beta).",
                      low=0.0, low_inclusive=False),
                Param("threshold", None, "Return x itself where beta * x > threshold, as PyTorch does (its default "
                                         "is 20); None: never, the smooth function everywhere.",
                      kind="optional_float")),
        bounded_below=True,
        keras_builtin=True,
        notes="Default: Keras' softplus (up to 6.9 ulp off in float32); exact mode: max(x, 0) + log1p(exp(-|x|)); "
              "beta other than 1: max(x, 0) + log1p(exp(-|beta x|)) / beta, ours in both modes. threshold defaults "
              "to None, not PyTorch's 20: PyTorch's switch to x is a shortcut, not part of the function, and it "
              "makes softplus jump by log1p(exp(-threshold)) / beta (2.1e-9 / beta at 20) where beta * x crosses it, "
              "which float64 resolves; the formula above needs no shortcut, so by default there is none and "
              "softplus stays Keras' smooth function (and PyTorch's to within that jump). Pass threshold=20 for "
              "PyTorch's definition, jump included.",
        use_when="Outputs that must be positive (variances, rates, scales) and smooth relu replacements.",
        advantages=(
            C.SMOOTH,
            C.NO_DEAD_REGION,
            C.POSITIVE,
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            C.SATURATES,
            C.EXPENSIVE,
        ),
        kernels=(Kernel("softplus", consts=(("beta", 1.0), ("threshold", None)), exact=True),),
    ),
    Activation(
        name="squareplus",
        family="rectifier",
        summary="Algebraic softplus: (x + sqrt(x^2 + b)) / 2, no exp or log.",
        formula="squareplus(x) = (x + sqrt(x^2 + b)) / 2",
        derivative_formula="(1 + x / sqrt(x^2 + b)) / 2",
        output_range="(0, inf) for b > 0",
        reference="Barron, 'Squareplus: A Softplus-Like Algebraic Rectifier', arXiv:2112.11687, 2021",
        forward=lambda x, b: _squareplus(x, b),
        derivative=lambda x, b: 0.5 + 0.5 * _x_over_root(x, b),
        params=(Param("b", 4.0, "Curvature near 0 (b = 0 gives relu).", low=0.0),),
        bounded_below=True,
        keras_builtin=True,
        use_when="A softplus substitute where exp and log are slow or unavailable.",
        advantages=(
            C.SMOOTH,
            C.POSITIVE,
            claim("note", "No exp or log: a square root and arithmetic only."),
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            claim("dense", "No exact zeros ({sparsity})."),
        ),
    ),
    Activation(
        name="sparse_plus",
        family="rectifier",
        summary="Piecewise-quadratic softplus that is exactly 0 below -1 and exactly x above 1 (Keras 3).",
        formula="sparse_plus(x) = 0 for x <= -1; (x + 1)^2 / 4 for -1 < x < 1; x for x >= 1",
        derivative_formula="0 for x <= -1; (x + 1) / 2 for -1 < x < 1; 1 for x >= 1",
        output_range="[0, inf)",
        reference="Blondel, Martins & Niculae, 'Learning with Fenchel-Young Losses', JMLR 2020",
        forward=lambda x: tf.where(x >= 1.0, x, tf.square(tf.clip_by_value(x, -1.0, 1.0) + 1.0) * 0.25),
        derivative=lambda x: tf.where(x >= 1.0, tf.ones_like(x), (tf.clip_by_value(x, -1.0, 1.0) + 1.0) * 0.5),
        float64_forward=False,
        bounded_below=True,
        keras_builtin=True,
        notes="Continuously differentiable (C1), not C2.",
        use_when="A softplus-like curve that is exactly 0 for inputs below -1.",
        advantages=(
            C.SPARSE,
            claim("smooth", "Continuously differentiable: {smoothness}."),
            C.UNSATURATED_ABOVE,
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.NOT_ZERO_CENTRED,
        ),
    ),
    Activation(
        name="threshold",
        family="rectifier",
        summary="x where x > threshold, a constant elsewhere (Keras 3 threshold).",
        formula="threshold(x) = x for x > threshold, default_value otherwise",
        derivative_formula="1 for x > threshold, else 0",
        output_range="depends on threshold and default_value",
        reference="Keras 3 keras.activations.threshold; torch.nn.Threshold",
        # written as x <= threshold so that a NaN x falls through to x
        forward=lambda x, threshold, default_value: tf.where(x <= threshold, default_value + tf.zeros_like(x), x),
        derivative=lambda x, threshold, default_value: m.step(x > threshold, x),
        params=(Param("threshold", 0.0, "Values at or below this are replaced."),
                Param("default_value", 0.0, "The replacement value.")),
        float64_forward=False,
        smooth=False,
        bounded_below=True,  # by min(threshold, default_value), whatever the parameters
        keras_builtin=True,
        kinks="threshold'(threshold) = 0.",
        notes="Monotonic while default_value <= threshold (as with the defaults).",
        use_when="Replacing values at or below a cut-off by a constant (torch.nn.Threshold); with the defaults it is relu.",
        advantages=(
            C.SPARSE,
            C.ARITHMETIC_COST,
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.KINKED,
            C.NOT_ZERO_CENTRED,
        ),
        saved_under_package=True,
    ),
    Activation(
        name="clip",
        family="hard",
        summary="Clipped identity: x limited to [min_value, max_value].",
        formula="clip(x) = min(max(x, min_value), max_value)",
        derivative_formula="1 for min_value < x < max_value, else 0",
        output_range="[min_value, max_value]",
        reference="tf.clip_by_value; Goodfellow, Bengio & Courville, 'Deep Learning', 2016, 6.3",
        forward=lambda x, min_value, max_value: _clip(x, min_value, max_value),
        derivative=lambda x, min_value, max_value: m.step((x > min_value) & (x < max_value), x),
        params=(Param("min_value", -1.0, "Lower bound."), Param("max_value", 1.0, "Upper bound (>= min_value).")),
        float64_forward=False,
        smooth=False,
        bounded_below=True,
        bounded_above=True,
        zero_centred=True,
        kinks="the derivative is 0 at both bounds.",
        notes="With the defaults it equals hard_tanh (zero-centred only for symmetric bounds).",
        use_when="Bounding values to a fixed interval; the defaults give hard_tanh.",
        advantages=(
            claim("bounded", "Output in {range}."),
            C.ZERO_CENTRED,
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.KINKED,
        ),
    ),
    Activation(
        name="exponential",
        family="rectifier",
        summary="exp(x): positive, unbounded; overflows to inf above log(dtype max).",
        formula="exponential(x) = exp(x)",
        derivative_formula="exp(x)",
        output_range="(0, inf)",
        reference="Keras 3 keras.activations.exponential",
        forward=tf.exp,
        derivative=tf.exp,
        tf_op=tf.exp,
        float64_forward=False,
        bounded_below=True,
        keras_builtin=True,
        notes="The only activation whose output leaves the finite range for finite input: exp(x) > dtype max is inf.",
        use_when="Positive outputs with a multiplicative scale (Poisson rates, log-parameterised scales), not hidden layers.",
        advantages=(
            C.POSITIVE,
            C.SMOOTH,
        ),
        disadvantages=(
            claim("steep", "Exploding gradients: f' reaches {max_slope} at x = {max_slope_at}."),
            C.NOT_ZERO_CENTRED,
            C.SATURATES,
        ),
    ),
    Activation(
        name="linear",
        family="rectifier",
        summary="The identity, as Keras uses for 'no activation'.",
        formula="linear(x) = x",
        derivative_formula="1",
        output_range="(-inf, inf)",
        reference="Keras 3 keras.activations.linear",
        forward=tf.identity,
        derivative=tf.ones_like,
        tf_op=lambda x: x,  # x itself, as Keras' linear: tf.identity would copy it
        float64_forward=False,
        zero_centred=True,
        keras_builtin=True,
        use_when="Regression outputs, and layers meant to stay linear (logits handed to a loss that applies softmax itself).",
        advantages=(
            claim("unit_slope", "f' = {slope0} everywhere: gradients pass unchanged."),
            C.ZERO_CENTRED,
            C.CHEAP,
        ),
        disadvantages=(
            claim("note", "Adds no non-linearity: a stack of linear layers is one linear layer."),
        ),
    ),
]


def _clip(x, min_value, max_value):
    if min_value > max_value:
        raise ValueError(f"clip() expects min_value <= max_value; got min_value={min_value}, max_value={max_value}")
    return tf.clip_by_value(x, min_value, max_value)


def _root_parts(x, b):
    """(m, u, v) with sqrt(x^2 + b) = m sqrt(u^2 + v^2), m = max(|x|, sqrt(b)), for finite x.

    No square overflows (|x| near the dtype's maximum: squareplus'' there was NaN) or
    underflows (b = 0 with a tiny x: squareplus(1e-200) was 5e-201, not 1e-200). +-inf is
    replaced by +-1 here; the callers give those their limits."""
    x = tf.where(tf.math.is_inf(x), tf.sign(x), x)
    s = tf.sqrt(b + tf.zeros_like(x))
    m = tf.where(tf.math.is_nan(x), x, tf.maximum(tf.abs(x), s))  # tf.maximum(NaN, s) is s
    scale = tf.where(m > 0.0, m, tf.ones_like(m))
    return m, x / scale, s / scale


def _root(x, b):
    """sqrt(x^2 + b)."""
    m, u, v = _root_parts(x, b)
    return tf.where(tf.math.is_inf(x), tf.abs(x), m * tf.sqrt(u * u + v * v))


def _x_over_root(x, b):
    """x / sqrt(x^2 + b), finite at +-inf; 0 at x = 0 even when b = 0."""
    _, u, v = _root_parts(x, b)
    n = tf.sqrt(u * u + v * v)
    return tf.where(tf.math.is_inf(x), tf.sign(x), u / tf.where(n > 0.0, n, tf.ones_like(n)))


def _squareplus(x, b):
    r = _root(x, b)
    # For x < 0, x + r cancels; b / (2 (r - x)) is the same number without it. Halves taken
    # before adding (x + r overflows for |x| near the dtype's max), unless that flushes the
    # denominator to 0 (b = 0, |x| near the smallest normal): then r - x, which cannot overflow.
    half = 0.5 * r - 0.5 * x
    below = tf.where(half > 0.0, (0.25 * b) / tf.where(half > 0.0, half, tf.ones_like(half)),
                     (0.5 * b) / tf.where(r - x > 0.0, r - x, tf.ones_like(r)))
    # x >= 0: (x + r) / 2, in halves only where the sum could overflow (halves of numbers
    # near the smallest normal would flush to 0)
    above = tf.where(x > 1.0, 0.5 * x + 0.5 * r, 0.5 * (x + r))
    return tf.where(x >= 0.0, above, tf.where(tf.math.is_nan(x), x, below))


def _rrelu_slope(lower, upper):
    return 0.5 * (lower + upper)


def _rrelu(x, lower, upper, training, seed):
    """Training draws a slope per element, shared by forward and backward."""
    if lower > upper:
        raise ValueError(f"rrelu() expects lower <= upper; got lower={lower}, upper={upper}")
    if not training:
        slope = _rrelu_slope(lower, upper)
        return _leaky_relu_op(x, slope) if x.dtype != tf.float64 else tf.where(x > 0.0, x, slope * x)
    # The slopes are drawn, not learned: TF's own gradient of the where is 1 or the slope.
    slope = tf.stop_gradient(tf.random.uniform(tf.shape(x), lower, upper, dtype=x.dtype, seed=seed))
    return tf.where(x > 0.0, x, slope * x)


ACTIVATIONS.append(
    Activation(
        name="rrelu",
        family="rectifier",
        summary="Randomized leaky ReLU: a random negative slope in training, their mean at inference.",
        formula="rrelu(x) = x for x > 0, a * x otherwise; a ~ U(lower, upper) in training, (lower + upper) / 2 at inference",
        derivative_formula="1 for x > 0, a otherwise",
        output_range="(-inf, inf)",
        reference="Xu, Wang, Chen & Li, 'Empirical Evaluation of Rectified Activations in Convolutional Network', arXiv:1505.00853, 2015",
        forward=lambda x, lower, upper, training, seed: tf.where(x > 0.0, x, _rrelu_slope(lower, upper) * x),
        derivative=lambda x, lower, upper, training, seed: tf.where(
            x > 0.0, tf.ones_like(x), _rrelu_slope(lower, upper) + tf.zeros_like(x)),
        params=(
            Param("lower", 0.125, "Lowest slope drawn in training.", low=0.0),
            Param("upper", 1.0 / 3.0, "Highest slope drawn in training (>= lower).", low=0.0),
            Param("training", False, "Draw random slopes (True) or use their mean (False).", kind="bool"),
            Param("seed", None, "Seed for the slopes drawn in training.", kind="optional_int", low=0),
        ),
        tf_op=_rrelu,
        float64_forward=False,
        smooth=False,
        kinks="rrelu'(0) = the negative slope.",
        notes="The layer tf_activations.layers.RReLU follows Keras' training flag.",
        use_when="Small datasets, where a random negative slope in training acts as a regulariser.",
        advantages=(
            C.NO_DEAD_REGION,
            claim("note", "Random slopes in training add noise, a mild regulariser."),
        ),
        disadvantages=(
            C.NOT_ZERO_CENTRED,
            C.KINKED,
            claim("note", "Training and inference compute different functions (the training flag decides)."),
        ),
        layer_name="RReLU",
    )
)
