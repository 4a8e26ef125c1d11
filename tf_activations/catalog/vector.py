"""Functions of a whole axis: normalisers (softmax family) and gates that split or pool it."""

import tensorflow as tf

from tf_activations._spec import Activation, Line, Param, claim
from tf_activations.catalog import _claims as C
from tf_activations.catalog import _math as m

_AXIS = Param("axis", -1, "The axis the function works along.", kind="axis")
_AXES = Param("axis", -1, "The axis (or tuple of axes) the function works along.", kind="axes")


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


def _check_glu(x, axis):
    """x, checked for an even size along axis: statically where the size is known, by an
    assertion in the graph where it is not."""
    size = x.shape[axis]
    if size is not None:
        if size % 2:
            raise ValueError(f"glu() expects an even size along axis {axis} (it splits it in halves); "
                             f"got size {size} (shape {x.shape})")
        return x
    check = tf.debugging.assert_equal(
        tf.shape(x)[axis] % 2, 0,
        message=f"glu() expects an even size along axis {axis} (it splits it in halves); got an odd size")
    with tf.control_dependencies([check]):
        return tf.identity(x)


def _halves(x, axis):
    return tf.split(_check_glu(x, axis), 2, axis=axis)


def _glu(x, axis):
    a, b = _halves(x, axis)
    return m.times(a, m.sigmoid(b))


def _glu_vjp(x, dy, axis):
    a, b = _halves(x, axis)
    return tf.concat([dy * m.sigmoid(b), m.times_sigmoid_slope(dy * a, b)], axis)


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
            claim("zero_centred", "Zero-centred: mean output {mean} on rows of 8 N(0, 1) inputs."),
            C.SMOOTH,
        ),
        disadvantages=(
            C.NON_MONOTONIC,
            claim("note", "Halves the axis: the layer before needs twice the units."),
        ),
        line=Line("glu([x, x]) = x * sigmoid(x)", _tied),
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
    ),
]
