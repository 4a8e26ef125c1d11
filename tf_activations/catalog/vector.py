"""Functions of a whole axis: normalisers (softmax family) and gates that split or pool it."""

import tensorflow as tf

from tf_activations._mode import is_exact
from tf_activations._spec import Activation, Kernel, Line, Param, claim
from tf_activations.catalog import _claims as C
from tf_activations.catalog import _math as m
from tf_activations.catalog import gated as g

_AXIS = Param("axis", -1, "The axis the function works along.", kind="axis")
_AXES = Param("axis", -1, "The axis (or tuple of axes) the function works along.", kind="axes")


# Claims several functions of an axis make.
_ZERO_CENTRED_ROWS = claim("zero_centred", "Zero-centred: mean output {mean} on rows of 8 N(0, 1) inputs.")
_BEATS_FEED_FORWARD = claim("note", "Beat the ReLU and GELU feed-forward blocks in Shazeer's comparison at equal "
                                    "parameters and compute.")


def _with_zero(x):
    return tf.stack([x, tf.zeros_like(x)], axis=-1)


def _tied(x):
    return tf.stack([x, x], axis=-1)


def _mirrored(x):
    return tf.stack([x, -x], axis=-1)


def _exp_shifted(x, axis):
    """exp(x - max) per slice, and the slice sums.

    A slice of all -inf has no finite max; it is shifted by 0, so its
    exponentials and sum are 0. A slice with +inf entries puts all of its mass
    on them, equally (the limit of softmax as those entries grow).
    """
    top = tf.reduce_max(x, axis, keepdims=True)
    finite_top = tf.where(tf.math.is_finite(top), top, tf.zeros_like(top))
    is_top_inf = x == float("inf")
    has_inf = tf.reduce_any(is_top_inf, axis, keepdims=True)
    e = tf.where(has_inf, tf.cast(is_top_inf, x.dtype), tf.exp(x - finite_top))
    return x - finite_top, e, tf.reduce_sum(e, axis, keepdims=True), has_inf


def _nan_slices(x, y, axis):
    """y, with every slice of x that holds a NaN made all NaN (as tf.nn.softmax does):
    a NaN has no place in the order or the sum, so no entry of its slice is known."""
    has_nan = tf.reduce_any(tf.math.is_nan(x), axis, keepdims=True)
    return tf.where(has_nan, tf.fill(tf.shape(y), tf.constant(float("nan"), y.dtype)), y)


def _softmax(x, axis):
    _, e, total, _ = _exp_shifted(x, axis)
    safe = tf.where(total > 0.0, total, tf.ones_like(total))
    return _nan_slices(x, e / safe, axis)


def _softmax_vjp(x, dy, axis):
    y = _softmax(x, axis)
    return y * (dy - tf.reduce_sum(dy * y, axis, keepdims=True))


def _log_softmax(x, axis):
    shifted, e, total, has_inf = _exp_shifted(x, axis)
    safe = tf.where(total > 0.0, total, tf.ones_like(total))
    regular = tf.where(total > 0.0, shifted - tf.math.log(safe), tf.fill(tf.shape(x), tf.cast(-float("inf"), x.dtype)))
    from_inf = tf.where(e > 0.0, -tf.math.log(safe) + tf.zeros_like(x), tf.fill(tf.shape(x), tf.cast(-float("inf"), x.dtype)))
    return _nan_slices(x, tf.where(has_inf, from_inf, regular), axis)


def _log_softmax_vjp(x, dy, axis):
    p = _softmax(x, axis)
    # A slice of all -inf has p == 0 and a zero gradient; a NaN slice has p NaN and keeps it.
    dead = tf.reduce_sum(p, axis, keepdims=True) == 0.0
    return tf.where(dead, tf.zeros_like(dy), dy - p * tf.reduce_sum(dy, axis, keepdims=True))


def _to_last(fn, x, axis, *rest):
    """Runs ``fn`` on ``axis`` moved to the end (tf.sort and cumsum want it last)."""
    rank = x.shape.rank
    if rank is None and axis == -1:
        return fn(x, *rest)
    if rank is None:
        raise ValueError(f"sparsemax() needs the rank of x to be known for axis={axis} (axis=-1 works for any rank)")
    axis = axis % rank
    if axis == rank - 1:
        return fn(x, *rest)
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    moved = [tf.transpose(t, perm) for t in (x, *rest)]
    return tf.transpose(fn(*moved), perm)


def _sparsemax_last(z):
    if z.shape[-1] == 0:
        return z
    n = tf.shape(z)[-1]
    ranked = tf.sort(z, axis=-1, direction="DESCENDING")
    k = tf.cast(tf.range(1, n + 1), z.dtype)
    running = tf.cumsum(ranked, axis=-1)
    support = tf.reduce_sum(tf.cast(1.0 + k * ranked > running, tf.int32), -1, keepdims=True)
    support = tf.maximum(support, 1)
    # running[support - 1], by a mask rather than a gather: an empty axis of unknown
    # static size then gives an empty result instead of an out-of-range index.
    picked = tf.where(k == tf.cast(support, z.dtype), running, tf.zeros_like(running))
    tau = (tf.reduce_sum(picked, -1, keepdims=True) - 1.0) / tf.cast(support, z.dtype)
    return tf.maximum(z - tau, 0.0)


def _sparsemax(x, axis):
    """The projection; NaN slices are NaN, +inf entries share the mass equally (the limit
    as they grow, as softmax), a slice of all -inf is zeros (as softmax)."""
    is_top_inf = x == float("inf")
    has_inf = tf.reduce_any(is_top_inf, axis, keepdims=True)
    all_minus_inf = tf.reduce_all(x == -float("inf"), axis, keepdims=True)
    finite = tf.where(has_inf | all_minus_inf, tf.zeros_like(x), x)
    regular = _to_last(_sparsemax_last, finite, axis)
    on_inf = tf.cast(is_top_inf, x.dtype)
    shared = on_inf / tf.maximum(tf.reduce_sum(on_inf, axis, keepdims=True), 1.0)
    y = tf.where(has_inf, shared, tf.where(all_minus_inf, tf.zeros_like(x), regular))
    return _nan_slices(x, y, axis)


def _sparsemax_vjp(x, dy, axis):
    on = tf.cast(_sparsemax(x, axis) > 0.0, dy.dtype)
    share = tf.reduce_sum(on * dy, axis, keepdims=True) / tf.maximum(tf.reduce_sum(on, axis, keepdims=True), 1.0)
    return _nan_slices(x, on * (dy - share), axis)


def _sparsemax_diagonal(x, axis):
    on = tf.cast(_sparsemax(x, axis) > 0.0, x.dtype)
    return _nan_slices(x, on * (1.0 - 1.0 / tf.maximum(tf.reduce_sum(on, axis, keepdims=True), 1.0)), axis)


def _even_check(name):
    """check(x, axis, **params): x, checked for an even size along axis, statically where the
    size is known, by an assertion in the graph where it is not; errors name ``name``."""

    def check(x, axis, **_):
        size = x.shape[axis]
        if size is not None:
            if size % 2:
                raise ValueError(f"{name}() expects an even size along axis {axis} (it splits it in halves); "
                                 f"got size {size} (shape {x.shape})")
            return x
        assertion = tf.debugging.assert_equal(
            tf.shape(x)[axis] % 2, 0,
            message=f"{name}() expects an even size along axis {axis} (it splits it in halves); got an odd size")
        with tf.control_dependencies([assertion]):
            return tf.identity(x)

    return check


_check_glu = _even_check("glu")


def _halves(x, axis):
    return tf.split(_check_glu(x, axis), 2, axis=axis)


def _glu(x, axis):
    a, b = _halves(x, axis)
    return m.times(a, m.sigmoid(b))


def _glu_vjp(x, dy, axis):
    a, b = _halves(x, axis)
    return tf.concat([dy * m.sigmoid(b), m.times_sigmoid_slope(dy * a, b)], axis)


def _product(p, q):
    """p * q, except 0 where one factor is 0 and the other infinite (a closed gate on an
    infinite value, or no upstream gradient on an infinite slope); a NaN in either stays.

    Only those points are masked, not every zero of q as in ``m.times``: these products are
    differentiated again (second derivatives through the vjp, and the forward itself under
    vectorized_map), and d(p q)/dq = p must survive where q is 0 (swiglu's gate at b = 0).
    """
    dead = (tf.math.is_inf(p) & (q == 0.0)) | (tf.math.is_inf(q) & (p == 0.0))
    return tf.where(dead, tf.zeros_like(p), p) * tf.where(dead, tf.zeros_like(q), q)


def _gated_unit(name, gate, gate_slope, forward_gate=None, lean=None):
    """forward, vjp and check of ``a * gate(b)`` on the halves [a, b] of an axis (the GLU
    convention: first half the value, second half the gate), from the gate's closed forms.

    The vjp gives both halves' gradients from x alone, dy * gate(b) and (dy * gate'(b)) * a,
    built from TF ops, so its own derivative (Hessian-vector products) is right too. dy is
    multiplied by the slope first: the gates' slopes are at most 1.13 in size, so that
    product cannot overflow where the gradient is finite (dy * a can: 1.5 * -3e38 in float32).
    ``forward_gate``, when given, computes the gate in the forward pass instead of ``gate``.

    ``lean(b, **params) -> (gate(b), gate'(b))``, when given, is used outside exact mode with
    plain products: a few fused TF ops instead of the guarded composite's dozens, each a pass
    over memory in a graph (swiglu fwd+bwd at 2^20 per half: 24 ms guarded, 5.4 for
    a * tf.nn.silu(b)). Its values are the plain formula's; where an infinite half meets a
    zero factor (a = inf with b = -inf) it gives NaN, as a * tf.nn.silu(b) does, where exact
    mode gives the limit 0.
    """
    check = _even_check(name)
    forward_gate = forward_gate or gate

    def forward(x, axis, **params):
        a, b = tf.split(check(x, axis), 2, axis=axis)
        if lean is not None and not is_exact():
            return a * forward_gate(b, **params)
        return _product(a, forward_gate(b, **params))

    def vjp(x, dy, axis, **params):
        a, b = tf.split(check(x, axis), 2, axis=axis)
        if lean is not None and not is_exact():
            value, slope = lean(b, **params)
            return tf.concat([dy * value, (dy * slope) * a], axis)
        return tf.concat([_product(dy, gate(b, **params)),
                          _product(_product(dy, gate_slope(b, **params)), a)], axis)

    return forward, vjp, check


def _relu_keeping_nan(b):
    # b <= 0, not b > 0: a NaN gate falls through to b and stays NaN
    return tf.where(b <= 0.0, tf.zeros_like(b), b)


def _relu_slope(b):
    """1 above 0, 0 at and below it (relu's convention), NaN at NaN (so that a NaN gate
    shows in the gradient of the value half too, not a silent 0)."""
    return tf.where(tf.math.is_nan(b), b, m.step(b > 0.0, b))


def _gelu_gate(b, approximate):
    """gelu(b) for the forward pass; outside exact mode, in float32, TF's own gelu, as Keras'
    gelu is: TFLite has a builtin for it (GELU) and none for the erfc of the stable composite,
    so a model exported in the default mode keeps builtin ops only. Its -inf * 0 at b = -inf
    is replaced by the limit 0. Exact mode keeps the composite."""
    if not is_exact() and b.dtype == tf.float32:
        return tf.where(b == -float("inf"), tf.zeros_like(b), tf.nn.gelu(b, approximate=approximate))
    return g.gelu(b, approximate)


def _lean_swish(b, beta):
    """swish_beta(b) = b s and its slope s (1 + z (1 - s)), s = sigmoid(z), z = beta b, from TF's
    sigmoid; multiply_no_nan keeps the limits at b = +-inf (0 * inf there is 0)."""
    z = b if beta == 1.0 else beta * b
    s = tf.sigmoid(z)
    return tf.math.multiply_no_nan(b, s), tf.math.multiply_no_nan(1.0 + tf.math.multiply_no_nan(z, 1.0 - s), s)


def _lean_gelu(b, approximate):
    """gelu(b) and gelu'(b): exact, Phi(b) (erfc: no cancellation for b < 0) and b phi(b);
    the tanh form as swish's, x sigmoid(2u) with u clipped where the gate is already 0 or 1."""
    if approximate:
        bc = g.flat_beyond(b)
        z = 2.0 * g.tanh_gelu_u(b)
        dz = 2.0 * g.TANH_GELU_C * (1.0 + 3.0 * g.TANH_GELU_A * tf.square(bc))
        t = tf.sigmoid(z)
        return (tf.math.multiply_no_nan(b, t),
                tf.math.multiply_no_nan(1.0 + tf.math.multiply_no_nan(bc * dz, 1.0 - t), t))
    cdf = 0.5 * tf.math.erfc(-0.70710678118654752440 * b)
    pdf = g.gaussian_pdf(b)
    return tf.math.multiply_no_nan(b, cdf), cdf + tf.math.multiply_no_nan(b, pdf)


def _swish_gate(b, beta):
    """swish_beta(b) for the forward pass; outside exact mode from TF's sigmoid (_lean_swish)."""
    if not is_exact():
        return tf.math.multiply_no_nan(b, tf.sigmoid(b if beta == 1.0 else beta * b))
    return g.swish(b, beta)


_swiglu, _swiglu_vjp, _check_swiglu = _gated_unit("swiglu", g.swish, g.swish_derivative, forward_gate=_swish_gate,
                                                  lean=_lean_swish)
_geglu, _geglu_vjp, _check_geglu = _gated_unit("geglu", g.gelu, g.gelu_derivative, forward_gate=_gelu_gate,
                                               lean=_lean_gelu)
_reglu, _reglu_vjp, _check_reglu = _gated_unit("reglu", _relu_keeping_nan, _relu_slope)


def _softmin(x, axis):
    # Outside exact mode, for one axis, TF's fused softmax of -x (softmax's own default is Keras'
    # softmax, that op): half the time of the guarded composite, and like it NaN for a slice of
    # all +inf or one holding a -inf, where the composite gives zeros or shares the mass.
    if not is_exact() and isinstance(axis, int):
        return tf.nn.softmax(-x, axis=axis)
    return _softmax(-x, axis)


def _softmin_vjp(x, dy, axis):
    if not is_exact() and isinstance(axis, int):
        y = tf.nn.softmax(-x, axis=axis)
        return -(y * (dy - tf.reduce_sum(dy * y, axis, keepdims=True)))
    return -_softmax_vjp(-x, dy, axis)


def _maxout_rule(num_units, axis, size="the size"):
    if num_units is None:
        return (f"maxout() with the default num_units=None pairs up units, so the size of axis {axis} "
                f"must be even and at least 2; got {size}")
    return (f"maxout() expects num_units to divide the size of axis {axis} (and not exceed it); "
            f"got num_units={num_units} and {size}")


def _maxout_units(x, num_units, axis):
    """Units along axis: a number where the size is known, else a tensor (after a graph assertion)."""
    rank = x.shape.rank
    size = x.shape[axis % rank]
    if size is None:
        return num_units if num_units is not None else tf.shape(x)[axis] // 2
    group = 2 if num_units is None else num_units  # pairs: size // 2 units of 2
    if size < group or size % group:
        raise ValueError(_maxout_rule(num_units, axis, f"size {size} (shape {x.shape})")
                         + ("; pass num_units dividing the size to group otherwise" if num_units is None else ""))
    return size // 2 if num_units is None else num_units


def _check_maxout(x, num_units, axis):
    """x, checked statically where the size along axis is known, by an assertion in the graph where not."""
    _maxout_units(x, num_units, axis)
    if x.shape[axis] is not None:
        return x
    size, group = tf.shape(x)[axis], 2 if num_units is None else num_units
    ok = tf.logical_and(size >= group, size % group == 0)
    check = tf.debugging.assert_equal(ok, True, message=_maxout_rule(num_units, axis, "a size that does not fit"))
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _maxout(x, num_units, axis):
    axis = axis % x.shape.rank
    units = _maxout_units(x, num_units, axis)
    shape = tf.shape(x)
    pieces = tf.concat([shape[:axis], tf.stack([units, -1]), shape[axis + 1:]], 0)
    return tf.reduce_max(tf.reshape(x, pieces), axis=axis + 1)


ACTIVATIONS = [
    Activation(
        name="softmax",
        family="normaliser",
        summary="Normalised exponential: a probability distribution along an axis.",
        formula="softmax(x)_i = exp(x_i) / sum_j exp(x_j)",
        derivative_formula="d y_i / d x_j = y_i (delta_ij - y_j); diagonal y_i (1 - y_i)",
        output_range="[0, 1], summing to 1 along axis",
        reference="Bridle, 'Probabilistic Interpretation of Feedforward Classification Network Outputs', 1990",
        forward=_softmax,
        derivative=lambda x, axis: _softmax(x, axis) * (1.0 - _softmax(x, axis)),
        vjp=_softmax_vjp,
        params=(_AXES,),
        axis_op=True,
        monotonic=False,
        bounded_below=True,
        bounded_above=True,
        keras_builtin=True,
        notes="A slice of all -inf gives all zeros (as PyTorch's safe softmax), an empty tensor gives an empty tensor; "
              "+inf entries share the mass equally. tf.nn.softmax gives NaN for both. A slice holding a NaN is all NaN "
              "(exact mode). axis may be a tuple of axes.",
        use_when="The output layer of a single-label multi-class classifier: turns logits into class probabilities.",
        advantages=(
            claim("unit_interval", "Each output in {range}, all summing to 1: a probability distribution."),
            C.SMOOTH,
        ),
        disadvantages=(
            claim("saturates", "Saturates when one logit dominates: the Jacobian diagonal is below {saturated_below} for {saturation}."),
            claim("dense", "Never exactly 0 ({sparsity} zeros): every class keeps some probability."),
            C.EXP_COST,
        ),
        line=Line("softmax([x, 0])[0]", _with_zero),
        mask_fill=0.0,
    ),
    Activation(
        name="log_softmax",
        family="normaliser",
        summary="log(softmax(x)), computed without forming softmax.",
        formula="log_softmax(x)_i = x_i - log(sum_j exp(x_j))",
        derivative_formula="d y_i / d x_j = delta_ij - softmax(x)_j; diagonal 1 - softmax(x)_i",
        output_range="(-inf, 0]",
        reference="Bridle 1990; the log-likelihood of a categorical logit",
        forward=_log_softmax,
        derivative=lambda x, axis: 1.0 - _softmax(x, axis),
        vjp=_log_softmax_vjp,
        params=(_AXES,),
        axis_op=True,
        monotonic=False,
        bounded_above=True,
        keras_builtin=True,
        notes="A slice of all -inf gives all -inf (log of the zeros softmax gives) with zero gradient; a slice "
              "holding a NaN is all NaN (exact mode). axis may be a tuple of axes.",
        use_when="Log-probabilities for cross-entropy or likelihoods, computed without forming softmax.",
        advantages=(
            claim("bounded_above", "Never positive: output in {range}."),
            C.SMOOTH,
        ),
        disadvantages=(
            claim("not_zero_centred", "Mean output {mean} on rows of 8 N(0, 1) inputs."),
            C.EXP_COST,
        ),
        line=Line("log_softmax([x, 0])[0]", _with_zero),
        mask_fill=float("-inf"),
    ),
    Activation(
        name="softmin",
        family="normaliser",
        summary="softmax(-x): a probability distribution along an axis that favours the smallest entries.",
        formula="softmin(x)_i = exp(-x_i) / sum_j exp(-x_j)",
        derivative_formula="d y_i / d x_j = -y_i (delta_ij - y_j); diagonal -y_i (1 - y_i)",
        output_range="[0, 1], summing to 1 along axis",
        reference="softmax of -x (Bridle 1990); PyTorch's torch.nn.functional.softmin",
        forward=_softmin,
        derivative=lambda x, axis: -_softmax(-x, axis) * (1.0 - _softmax(-x, axis)),
        vjp=_softmin_vjp,
        params=(_AXES,),
        axis_op=True,
        monotonic=False,
        bounded_below=True,
        bounded_above=True,
        notes="Default mode, one axis: TF's softmax of -x (the op Keras' softmax runs), NaN for a slice of "
              "all +inf or one holding a -inf. Exact mode, or a tuple of axes: our softmax of -x, so its "
              "limits: a slice of all +inf gives all zeros, -inf entries share the mass equally. A slice "
              "holding a NaN is all NaN.",
        use_when="Turning distances or costs into weights (soft nearest neighbour, soft assignment): "
                 "the smaller the entry, the larger its weight.",
        advantages=(
            claim("unit_interval", "Each output in {range}, all summing to 1: a probability distribution."),
            C.SMOOTH,
        ),
        disadvantages=(
            claim("saturates", "Saturates when one entry is much smaller than the rest: the Jacobian diagonal "
                               "is below 1e-3 for {saturation}."),
            claim("dense", "Never exactly 0 ({sparsity} zeros): every entry keeps some weight."),
            C.EXP_COST,
        ),
        line=Line("softmin([x, 0])[0]", _with_zero),
    ),
    Activation(
        name="sparsemax",
        family="normaliser",
        summary="Euclidean projection onto the simplex: like softmax, but exact zeros.",
        formula="sparsemax(x) = argmin_{p in simplex} ||p - x||^2 = max(x - tau(x), 0)",
        derivative_formula="d y / d x = diag(s) - s s^T / |S|, s = 1[y > 0]",
        output_range="[0, 1], summing to 1 along axis",
        reference="Martins & Astudillo, 'From Softmax to Sparsemax', ICML 2016",
        forward=_sparsemax,
        derivative=_sparsemax_diagonal,
        vjp=_sparsemax_vjp,
        params=(_AXIS,),
        axis_op=True,
        smooth=False,
        monotonic=False,
        bounded_below=True,
        bounded_above=True,
        keras_builtin=True,
        keras_is_default=False,  # Keras 3.15's sparsemax([0.5, 0.2, -0.1, 1.0]) is [0, 0, 0, 0.25]
        notes="Ours in both modes (Keras 3.15's is wrong). A slice holding a NaN is all NaN; +inf entries share "
              "the mass equally (the limit as they grow, as softmax); a slice of all -inf gives all zeros.",
        use_when="Attention or classification where most classes should get exactly zero probability.",
        advantages=(
            claim("sparse", "Sparse: {sparsity} of the outputs are exactly 0 on rows of 8 N(0, 1) inputs."),
            claim("unit_interval", "Each output in {range}, all summing to 1."),
        ),
        disadvantages=(
            C.DEAD_REGION,
            C.KINKED,
        ),
        line=Line("sparsemax([x, 0])[0]", _with_zero),
        saved_under_package=True,
    ),
    Activation(
        name="glu",
        family="gate",
        summary="Gated linear unit: splits the axis in halves a, b and returns a * sigmoid(b).",
        formula="glu(x) = a * sigmoid(b), [a, b] = split(x, 2, axis)",
        derivative_formula="d/da = sigmoid(b); d/db = a * sigmoid(b) (1 - sigmoid(b))",
        output_range="(-inf, inf); the axis halves",
        reference="Dauphin, Fan, Auli & Grangier, 'Language Modeling with Gated Convolutional Networks', ICML 2017",
        forward=_glu,
        vjp=_glu_vjp,
        check=_check_glu,
        params=(_AXIS,),
        axis_op=True,
        monotonic=False,
        keras_builtin=True,
        use_when="Gated convolutional language models and transformer feed-forward blocks (GLU variants).",
        advantages=(
            _ZERO_CENTRED_ROWS,
            C.SMOOTH,
        ),
        disadvantages=(
            C.NON_MONOTONIC,
            claim("note", "Halves the axis: the layer before needs twice the units."),
        ),
        line=Line("glu([x, x]) = x * sigmoid(x)", _tied),
        layer_name="GLU",
        output_shape="halved",
    ),
    Activation(
        name="swiglu",
        family="gate",
        summary="SwiGLU: splits the axis in halves a, b and returns a * swish(b) = a * b * sigmoid(beta * b).",
        formula="swiglu(x) = a * b * sigmoid(beta * b), [a, b] = split(x, 2, axis)",
        derivative_formula="d/da = b * s; d/db = a * (s + beta * b * s (1 - s)), s = sigmoid(beta * b)",
        output_range="(-inf, inf); the axis halves",
        reference="Shazeer, 'GLU Variants Improve Transformer', arXiv:2002.05202, 2020 (the feed-forward unit "
                  "of PaLM and LLaMA)",
        forward=_swiglu,
        vjp=_swiglu_vjp,
        check=_check_swiglu,
        params=(_AXIS,
                Param("beta", 1.0, "Swish's gate sharpness, a fixed number (1: a * silu(b), as in PaLM and LLaMA).",
                      low=0.0, low_inclusive=False)),
        axis_op=True,
        monotonic=False,
        notes="beta is the Swish_beta of Shazeer's definition, a fixed number: 1 in the paper's experiments, "
              "PaLM and LLaMA; a function of a whole axis takes no trainable parameter here. The first half is "
              "the value, the second the gate (glu's order; some code bases put the gate first: swap the "
              "halves of the Dense kernel, or concatenate [value, gate]). A NaN in either half gives NaN. "
              "Default mode: the plain formula from TF's sigmoid, as fast as a * tf.nn.silu(b), and like it "
              "NaN where an infinite half meets a zero factor (a = inf, b = -inf); exact mode: the guarded "
              "composite (float32 in float64), the limit 0 there.",
        use_when="The feed-forward block of a transformer (PaLM, LLaMA): Dense(2 * d_ff), swiglu, Dense(d_model); "
                 "Shazeer used d_ff two thirds of the gelu block's to keep the parameter count.",
        advantages=(
            _ZERO_CENTRED_ROWS,
            C.SMOOTH,
            _BEATS_FEED_FORWARD,
        ),
        disadvantages=(
            C.NON_MONOTONIC,
            claim("note", "Halves the axis: the layer before needs twice the units (a third more parameters "
                          "than a plain block of the same width)."),
            C.EXP_COST,
        ),
        line=Line("swiglu([x, x]) = x * silu(x)", _tied),
        layer_name="SwiGLU",
        output_shape="halved",
    ),
    Activation(
        name="geglu",
        family="gate",
        summary="GeGLU: splits the axis in halves a, b and returns a * gelu(b) (exact, or the tanh form).",
        formula="geglu(x) = a * gelu(b) = a * b * Phi(b), [a, b] = split(x, 2, axis); approximate: gelu's tanh form",
        derivative_formula="d/da = gelu(b); d/db = a * (Phi(b) + b * phi(b)) (exact)",
        output_range="(-inf, inf); the axis halves",
        reference="Shazeer, 'GLU Variants Improve Transformer', arXiv:2002.05202, 2020 (T5 v1.1 and Gemma's "
                  "feed-forward unit; Gemma uses the tanh form)",
        forward=_geglu,
        vjp=_geglu_vjp,
        check=_check_geglu,
        params=(_AXIS,
                Param("approximate", False, "Use gelu's tanh approximation for the gate (Gemma, 'gelu_new').",
                      kind="bool")),
        axis_op=True,
        monotonic=False,
        notes="Exact mode: the gate is tf_activations.gelu's stable composite (erfc, not 1 + erf), guarded so "
              "that an infinite half meeting a zero factor gives the limit 0. Default mode: in float32 TF's gelu, "
              "as Keras' gelu is, a TFLite builtin (TFLite has no erfc), as accurate as "
              "a * keras.activations.gelu(b), and the gradient from erfc and exp in a few fused ops, plain "
              "products (NaN at a = inf, b = -inf, as the plain formula). The first half is the value, the "
              "second the gate (glu's order). A NaN in either half gives NaN.",
        use_when="Transformer feed-forward blocks (T5 v1.1, Gemma: approximate=True): Dense(2 * d_ff), geglu, "
                 "Dense(d_model).",
        advantages=(
            _ZERO_CENTRED_ROWS,
            C.SMOOTH,
            _BEATS_FEED_FORWARD,
        ),
        disadvantages=(
            C.NON_MONOTONIC,
            claim("note", "Halves the axis: the layer before needs twice the units."),
            C.EXPENSIVE,
        ),
        line=Line("geglu([x, x]) = x * gelu(x)", _tied),
        layer_name="GeGLU",
        output_shape="halved",
    ),
    Activation(
        name="reglu",
        family="gate",
        summary="ReGLU: splits the axis in halves a, b and returns a * relu(b).",
        formula="reglu(x) = a * max(b, 0), [a, b] = split(x, 2, axis)",
        derivative_formula="d/da = max(b, 0); d/db = a for b > 0, else 0",
        output_range="(-inf, inf); the axis halves",
        reference="Shazeer, 'GLU Variants Improve Transformer', arXiv:2002.05202, 2020",
        forward=_reglu,
        vjp=_reglu_vjp,
        check=_check_reglu,
        params=(_AXIS,),
        axis_op=True,
        float64_forward=False,  # one product of exact factors: rounded once in any precision
        monotonic=False,
        smooth=False,
        kinks="d/db jumps from 0 to a at b = 0 (relu's convention: 0 at b = 0).",
        notes="The first half is the value, the second the gate (glu's order). A NaN in either half gives NaN, "
              "also where the gate is closed.",
        use_when="A gated feed-forward block without exp: Dense(2 * d_ff), reglu, Dense(d_model).",
        advantages=(
            _ZERO_CENTRED_ROWS,
            C.CHEAP,
        ),
        disadvantages=(
            claim("dead_region", "Neither half gets a gradient where the gate b is negative: along "
                                 "reglu([x, x]) f' = 0 for {dead}."),
            claim("sparse", "Sparse: {sparsity} of the outputs are exactly 0 on rows of 8 N(0, 1) inputs."),
            claim("note", "Kinked in the gate, and halves the axis: the layer before needs twice the units."),
        ),
        line=Line("reglu([x, x]) = x * relu(x)", _tied),
        layer_name="ReGLU",
        output_shape="halved",
        # One product each way, so the kernel's results are the composite's bit for bit: both
        # modes. swiglu and geglu kernels lost to XLA's formula at 2^16-2^20 (kernels/README.md).
        kernels=(Kernel("reglu", default=True, exact=True),),
    ),
    Activation(
        name="maxout",
        family="gate",
        summary="Maxout: the maximum over groups of units along an axis (a learned piecewise-linear convex function).",
        formula="maxout(x)_i = max_{j < k} x_{i k + j}, k = size / num_units",
        derivative_formula="1 for the largest unit of each group, 0 for the others",
        output_range="(-inf, inf); the axis shrinks to num_units",
        reference="Goodfellow, Warde-Farley, Mirza, Courville & Bengio, 'Maxout Networks', ICML 2013",
        forward=_maxout,
        check=_check_maxout,
        params=(Param("num_units", None, "Output units along axis; must divide its size (None: size // 2, pairs).",
                      kind="optional_int", low=1),
                _AXIS),
        axis_op=True,
        float64_forward=False,
        smooth=False,
        monotonic=False,
        notes="Exact (a max), so it uses TF's own gradient; tied maxima share it equally.",
        use_when="Networks trained with dropout (Goodfellow et al.): learns its own convex piecewise-linear unit.",
        advantages=(
            C.UNSATURATED_ABOVE,
            claim("note", "The shape is learned from the grouped units, not fixed."),
        ),
        disadvantages=(
            C.KINKED,
            claim("note", "k pieces need k times the units in the layer before."),
        ),
        line=Line("maxout([x, -x]) = |x|", _mirrored, {"num_units": 1}),
        output_shape="units",
    ),
]
