"""Turns an :class:`~tf_activations._spec.Activation` into a functional op.

Every op goes through the same path (:func:`route`): check the input and
parameters at the Python boundary, then take the first implementation that applies:

1. a fused C++ kernel from ``kernels/`` (see :mod:`tf_activations.native`),
   where one is built, runs on the CPU, and is measured faster than what
   would run instead in the current precision mode (:mod:`tf_activations._mode`);
2. an exact ``tf.nn`` op (relu, relu6, leaky_relu, exp, identity);
3. outside exact mode, Keras' own function for a name Keras also has, so the
   default is never slower, less exportable or less accurate than Keras;
4. the declared composite wrapped in ``tf.custom_gradient`` (float32 in
   float64 in exact mode, in float32 otherwise).

The composite keeps only its inputs for the backward pass and recomputes
what it needs there, so training memory is one saved tensor per activation.
Its gradient is built from ordinary TF ops, so second derivatives work.
"""

from __future__ import annotations

import functools
import inspect
import numbers
import re

import numpy as np
import tensorflow as tf
from tensorflow.python.framework.ops import EagerTensor

from tf_activations import native
from tf_activations._mode import DEFAULT_EVERYWHERE as _DEFAULT_EVERYWHERE
from tf_activations._mode import is_exact
from tf_activations._spec import Activation

FLOAT_DTYPES = (tf.float16, tf.bfloat16, tf.float32, tf.float64)
_FLOAT_ENUMS = frozenset(d.as_datatype_enum for d in FLOAT_DTYPES)  # a set lookup: cheap per eager call
_FLOAT_NAMES = "float16, bfloat16, float32, float64"


def forward_dtype(dtype: tf.DType, spec: Activation) -> tf.DType:
    """The precision the forward pass is evaluated in.

    In exact mode float32 transcendental composites run in float64 and round
    once, which keeps them within 0.5 ulp of the exact result everywhere
    (float32 exp/expm1/erfc alone lose 1-60 ulp in the tails); otherwise in
    float32, as Keras does. Half types run in float32, where x**3 and exp
    cannot overflow early.
    """
    if dtype in (tf.float16, tf.bfloat16):
        return tf.float32
    if dtype == tf.float32 and spec.float64_forward and is_exact():
        return tf.float64
    return dtype


def backward_dtype(dtype: tf.DType) -> tf.DType:
    """Gradients need 1e-5, not 1 ulp: float32 is enough, half is not."""
    return tf.float32 if dtype in (tf.float16, tf.bfloat16) else dtype


# The class itself, not type(tf.constant(...)): an op at import would start TensorFlow's runtime,
# after which users can no longer set threads, devices or a MultiWorkerMirroredStrategy.
_EAGER_TENSOR = EagerTensor


def to_float_tensor(fn_name: str, x) -> tf.Tensor:
    """``x`` as a floating tensor, or a TypeError naming what was given."""
    if type(x) is _EAGER_TENSOR and x.dtype.as_datatype_enum in _FLOAT_ENUMS:
        return x  # the common eager case, first: these checks are per-call overhead
    if isinstance(x, tf.SparseTensor):
        raise TypeError(
            f"{fn_name}() does not take a SparseTensor: applying it to the stored "
            f"values alone is only right where {fn_name}(0) == 0; in that case use "
            f"tf.sparse.map_values(tf_activations.{fn_name}, x), otherwise "
            f"tf.sparse.to_dense(x) first"
        )
    if not tf.is_tensor(x) or isinstance(x, tf.Variable):
        try:
            x = tf.convert_to_tensor(x)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{fn_name}() expects a floating tensor ({_FLOAT_NAMES}); "
                f"got {type(x).__name__} that cannot become a tensor: {err}"
            ) from None
    if x.dtype.as_datatype_enum not in _FLOAT_ENUMS:
        raise TypeError(
            f"{fn_name}() expects a floating tensor ({_FLOAT_NAMES}); got {x.dtype.name}"
        )
    return x


# Per dtype, the magnitudes a non-zero parameter may take: a Python number becomes a
# tensor of the input's dtype, where beyond the largest finite value it is inf (swish with
# beta=1e39 on float32 is inf * 0 = NaN at x = 0) and below the smallest normal it is
# flushed to 0 on most CPUs (snake with frequency=1e-39 divides by it).
_DTYPE_RANGE = {
    tf.float16: (2.0 ** -14, 65504.0),
    tf.bfloat16: (2.0 ** -126, 3.3895313892515355e38),
    tf.float32: (2.0 ** -126, 3.4028234663852886e38),
    tf.float64: (2.0 ** -1022, 1.7976931348623157e308),
}


def _range_words(dtype: tf.DType) -> str:
    tiny, big = _DTYPE_RANGE[dtype]
    return f"0 or a magnitude in [{tiny:g}, {big:g}], the normal range of {dtype.name}"


def _check_range(fn_name: str, param, value: float, dtype: tf.DType) -> None:
    """A number within the parameter's bounds must also be representable in x's dtype."""
    tiny, big = _DTYPE_RANGE[dtype]
    if value != 0.0 and not tiny <= abs(value) <= big:
        raise ValueError(
            f"{fn_name}() expects {param.name} to be {param.allowed()} and, for {dtype.name} "
            f"input, {_range_words(dtype)}; got {value!r}")


def _check_static_tensor(fn_name: str, param, value, dtype: tf.DType) -> None:
    """A tensor parameter whose value is known (a constant) gets a number's checks."""
    if isinstance(value, tf.Variable):
        return  # trainable: its value changes after the call is traced
    known = tf.get_static_value(value)
    if known is None:
        return
    arr = np.asarray(known, dtype=np.float64)
    tiny, big = _DTYPE_RANGE[dtype]
    bad = ~np.isfinite(arr) | ((arr != 0.0) & ~((np.abs(arr) >= tiny) & (np.abs(arr) <= big)))
    if param.low is not None:
        bad |= (arr < param.low) if param.low_inclusive else (arr <= param.low)
    if param.high is not None:
        bad |= (arr > param.high) if param.high_inclusive else (arr >= param.high)
    if bad.any():
        first = arr[bad].flat[0] if arr.ndim else float(arr)
        raise ValueError(
            f"{fn_name}() expects {param.name} to be {param.allowed()} and, for {dtype.name} input, "
            f"{_range_words(dtype)}; got a tensor holding {float(first)!r}")


def _check_param_shape(fn_name: str, param, value, x: tf.Tensor) -> None:
    """A tensor parameter may broadcast against x but not make the output bigger than x."""
    ps, xs = value.shape, x.shape
    if ps.rank is None or xs.rank is None:
        return
    grows = ps.rank > xs.rank or any(
        p is not None and p != 1 and d is not None and p != d
        for p, d in zip(reversed(ps.as_list()), reversed(xs.as_list())))
    if grows:
        raise ValueError(
            f"{fn_name}() expects {param.name} to broadcast to the shape of x {xs} (a scalar, or "
            f"at most x's rank with each size 1 or x's); got shape {ps}, which would change the "
            f"output's shape")


def _assert_param_broadcasts(fn_name: str, param, value, x: tf.Tensor):
    """The static check's rule (_check_param_shape) as a graph assertion, where a shape is known
    only at run time: a named error instead of TF's "Incompatible shapes" from inside the op."""
    ps, xs = tf.shape(value), tf.shape(x)
    pr, xr = tf.size(ps), tf.size(xs)

    def fits():
        tail = xs[xr - pr:]
        return tf.reduce_all(tf.logical_or(tf.equal(ps, 1), tf.equal(ps, tail)))

    ok = tf.cond(pr <= xr, fits, lambda: tf.constant(False))
    check = tf.debugging.Assert(ok, [
        f"{fn_name}() expects {param.name} to broadcast to the shape of x (a scalar, or at most x's "
        f"rank with each size 1 or x's); got {param.name} of shape", ps, "for x of shape", xs])
    with tf.control_dependencies([check]):
        return tf.identity(value)


def _as_number_or_tensor(value, dtype: tf.DType):
    """A NumPy scalar, 0-d array or one-element-per-axis list as what it holds: a number for
    0-d, else a tensor of x's dtype (Keras and JAX take array-likes for these parameters)."""
    if isinstance(value, (np.ndarray, np.generic, list, tuple)):
        arr = np.asarray(value)
        if arr.dtype.kind in "fiu":
            return arr.item() if arr.ndim == 0 else tf.constant(arr, dtype)
    return value


def _fixed_number(fn_name: str, param, value):
    """A fixed (non-differentiable) number given as a tensor or array whose value is known when
    the op is built (an eager tensor, a constant, a NumPy scalar): that number. A Variable or a
    tensor computed in a graph cannot be fixed then: a TypeError says so."""
    if param.kind not in ("float", "optional_float", "int", "optional_int"):
        return value
    if isinstance(value, tf.Variable) or (tf.is_tensor(value) and tf.get_static_value(value) is None):
        raise TypeError(
            f"{fn_name}() expects {param.name} to be {param.allowed()}: it is fixed when the op is "
            f"built and has no gradient, so it cannot be a tf.Variable or a tensor computed inside a "
            f"tf.function; got {value!r}")
    if tf.is_tensor(value) or isinstance(value, (np.ndarray, np.generic)):
        known = np.asarray(tf.get_static_value(value) if tf.is_tensor(value) else value)
        if known.ndim != 0 or known.dtype.kind not in "fiub":
            raise ValueError(f"{fn_name}() expects {param.name} to be {param.allowed()} (one number); "
                             f"got an array of shape {known.shape} and dtype {known.dtype}")
        return known.item()
    return value


def _param_tensor(fn_name: str, param, value, dtype: tf.DType, x=None):
    """A differentiable parameter: a number (checked) or a float tensor/Variable/array."""
    value = _as_number_or_tensor(value, dtype)
    if tf.is_tensor(value) or isinstance(value, tf.Variable):
        if value.dtype not in FLOAT_DTYPES:
            raise TypeError(
                f"{fn_name}() expects {param.name} to be {param.allowed()} or a floating "
                f"tensor; got a {value.dtype.name} tensor"
            )
        # Half inputs are computed in float32, where a float32 or float64 tensor parameter is
        # cast to (a layer keeps its learned parameters float32 under mixed precision)
        wide = dtype in (tf.float16, tf.bfloat16) and value.dtype in (tf.float32, tf.float64)
        _check_static_tensor(fn_name, param, value, tf.float32 if wide else dtype)
        if x is not None:
            _check_param_shape(fn_name, param, value, x)
            if not (value.shape.is_fully_defined() and x.shape.is_fully_defined()):
                return _assert_param_broadcasts(fn_name, param, tf.convert_to_tensor(value), x)
        return tf.convert_to_tensor(value)
    number = param.check(fn_name, value)
    _check_range(fn_name, param, number, dtype)
    return tf.constant(number, dtype)


def _unbroadcast(grad: tf.Tensor, like: tf.Tensor) -> tf.Tensor:
    """Sums ``grad`` over the axes that broadcasting added to ``like``."""
    axes, _ = tf.raw_ops.BroadcastGradientArgs(s0=tf.shape(like), s1=tf.shape(grad))
    return tf.reshape(tf.reduce_sum(grad, axes), tf.shape(like))


def _elementwise(spec: Activation, x: tf.Tensor, fixed: dict, tensors: dict) -> tf.Tensor:
    names = list(tensors)
    fwd, bwd = forward_dtype(x.dtype, spec), backward_dtype(x.dtype)

    def evaluate(fn, xs, values, dtype):
        kwargs = dict(fixed)
        kwargs.update({n: tf.cast(v, dtype) for n, v in zip(names, values)})
        return fn(tf.cast(xs, dtype), **kwargs)

    @tf.custom_gradient
    def op(x, *values):
        # stop_gradient keeps an enclosing eager tape from recording (and so
        # keeping alive) the forward's intermediates: only x and the params
        # are saved.
        y = evaluate(spec.forward, tf.stop_gradient(x),
                     [tf.stop_gradient(v) for v in values], fwd)
        out_dtype = x.dtype

        def grad(dy):
            dyc = tf.cast(dy, bwd)
            dx = dyc * evaluate(spec.derivative, x, values, bwd)
            grads = [tf.cast(_unbroadcast(dx, x), x.dtype)]
            for name, value in zip(names, values):
                dp = dyc * evaluate(spec.param_derivatives[name], x, values, bwd)
                grads.append(tf.cast(_unbroadcast(dp, value), value.dtype))
            return grads

        return tf.cast(y, out_dtype), grad

    return op(x, *[tensors[n] for n in names])


_LOOP_BODY = re.compile(r"loop_body(_\d+)?$")


def in_vectorized_map() -> bool:
    """Tracing the body of ``tf.vectorized_map`` (pfor).

    pfor rewrites every op of the body into its batched form and in doing so drops the
    gradient ``tf.custom_gradient`` attached (its IdentityN loses the override), so the
    forward's own ops get differentiated: all zeros behind our ``stop_gradient``. pfor traces
    the body in a "loop_body" name scope that holds its loop-index placeholder; that pair
    is the sign (checked on every scope of the path: the user's and Keras' nest inside it).
    """
    if tf.executing_eagerly():
        return False
    parts = tf.get_current_name_scope().split("/")
    graph = tf.compat.v1.get_default_graph()
    for i, part in enumerate(parts):
        if _LOOP_BODY.match(part):
            try:
                graph.get_operation_by_name("/".join(parts[:i + 1]) + "/PlaceholderWithDefault")
                return True
            except KeyError:
                pass
    return False


def _zero_with_unit_slope(v: tf.Tensor) -> tf.Tensor:
    """0 in value with derivative 1 in v (v - v is NaN at +-inf: there 0 with slope 0)."""
    return tf.where(tf.math.is_inf(v), tf.zeros_like(v), v - tf.stop_gradient(v))


def _linearized(spec: Activation, x: tf.Tensor, fixed: dict, tensors: dict) -> tf.Tensor:
    """f(x) built from ordinary ops whose first and second derivatives are the declared ones,
    for where ``tf.custom_gradient``'s gradient is dropped (:func:`in_vectorized_map`).

    With d_i = v_i - stop_gradient(v_i) over x and each parameter (0 in value, slope 1),
    g_i = df/dv_i (declared) and H_ij = dg_i/dv_j (autodiff of the declared g_i),

        y = f(x) - N,   N = sum_i (-g_i) d_i + 1/2 sum_ij H_ij d_i d_j,

    has the value f(x) (N is exactly +0: y keeps a -0) and derivatives g_i, then H_ij.
    multiply_no_nan keeps each term, and its gradient, 0 where g or H is inf or NaN.
    """
    names = list(tensors)
    fwd, bwd = forward_dtype(x.dtype, spec), backward_dtype(x.dtype)
    y = spec.forward(tf.cast(tf.stop_gradient(x), fwd), **fixed,
                     **{n: tf.cast(tf.stop_gradient(tensors[n]), fwd) for n in names})
    # Parameters broadcast to x's shape, so every partial is elementwise; the broadcast's
    # gradient sums each back to the parameter's own shape.
    vs = [tf.cast(x, bwd)] + [tf.broadcast_to(tf.cast(tensors[n], bwd), tf.shape(x)) for n in names]
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(vs)
        kwargs = dict(fixed, **dict(zip(names, vs[1:])))
        slopes = [spec.derivative(vs[0], **kwargs)] + [spec.param_derivatives[n](vs[0], **kwargs)
                                                      for n in names]
    ds = [_zero_with_unit_slope(v) for v in vs]
    n = tf.zeros_like(vs[0])
    for g, d_i in zip(slopes, ds):
        n += tf.math.multiply_no_nan(-g, d_i)
        curvature = tape.gradient(g, vs, unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for h, d_j in zip(curvature, ds):
            n += 0.5 * tf.math.multiply_no_nan(tf.math.multiply_no_nan(h, d_i), d_j)
    del tape
    return tf.cast(y, x.dtype) - tf.cast(n, x.dtype)


def _along_axis(spec: Activation, x: tf.Tensor, fixed: dict) -> tf.Tensor:
    if spec.vjp is None:  # exact piecewise ops (maxout): autodiff is right and cheap
        return spec.forward(x, **fixed)
    fwd, bwd = forward_dtype(x.dtype, spec), backward_dtype(x.dtype)
    if in_vectorized_map():
        # The custom vjp would be dropped (in_vectorized_map); the axis forwards are
        # max-shifted and differentiate stably as they are.
        return tf.cast(spec.forward(tf.cast(x, fwd), **fixed), x.dtype)

    @tf.custom_gradient
    def op(x):
        y = spec.forward(tf.cast(tf.stop_gradient(x), fwd), **fixed)

        def grad(dy):
            dx = spec.vjp(tf.cast(x, bwd), tf.cast(dy, bwd), **fixed)
            return tf.cast(dx, x.dtype)

        return tf.cast(y, x.dtype), grad

    return op(x)


def _check_axis(fn_name: str, x: tf.Tensor, axis) -> None:
    rank = x.shape.rank
    if rank == 0:
        raise ValueError(
            f"{fn_name}() works along an axis, so x must have at least one axis; got a scalar "
            f"(rank 0) with axis={axis!r}")
    if rank is None:
        return
    axes = axis if isinstance(axis, tuple) else (axis,)
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(
                f"{fn_name}() expects axis to be an integer in [{-rank}, {rank}) for a "
                f"rank-{rank} input; got {axis}"
            )
    if len({a % rank for a in axes}) != len(axes):
        raise ValueError(f"{fn_name}() expects distinct axes for a rank-{rank} input; got {axis}")


def keras_call(spec: Activation, keras_fn):
    """How to hand a call to Keras' own ``keras_fn``: a function of (x, params) that
    returns None when Keras' function cannot express those parameters (a tensor
    beta, a non-default parameter Keras lacks)."""
    if keras_fn is None or not spec.keras_is_default:
        return None
    accepted = set(inspect.signature(keras_fn).parameters)
    passed = [p.name for p in spec.params if p.name in accepted]
    must_be_default = [p for p in spec.params if p.name not in accepted]

    def call(x, params):
        for p in must_be_default:
            value = params[p.name]
            if value is None and p.default is None:
                continue  # an optional parameter left unset (softplus' threshold)
            if not isinstance(value, (int, float)) or value != p.default:
                return None  # tensors, Variables, arrays and other values: ours
        return keras_fn(x, **{name: params[name] for name in passed})

    return call


# TensorFlow's broadcasting kernels (SelectV2, EluGrad, ReluGrad, ...) stop at 8 dimensions.
_MAX_RANK = 8


def _elements(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        return int(np.size(value))
    return tf.TensorShape(shape).num_elements()


def _apply_flattened(spec: Activation, x: tf.Tensor, params: dict, keras) -> tuple:
    """``spec`` on an x of rank above 8, as a tensor of rank 1 (elementwise) or 3 (one axis:
    [before, along, after]), the result shaped back: the function is the same, and no op
    meets TensorFlow's rank limit. ``(path, y)`` as :func:`route`."""
    shape, rank = tf.shape(x), x.shape.rank
    limit = f"takes x of rank at most {_MAX_RANK} (TensorFlow's broadcasting kernels)"
    if not spec.axis_op:
        params = dict(params)
        for p in spec.params:
            if p.differentiable and not isinstance(params[p.name], numbers.Number):
                if _elements(params[p.name]) != 1:
                    raise ValueError(
                        f"{spec.name}() {limit} when {p.name} is a tensor of more than one element; "
                        f"got x of rank {rank}: merge axes of x (and {p.name}) first, or pass one number")
                params[p.name] = tf.reshape(params[p.name], [])
        path, flat = route(spec, tf.reshape(x, [-1]), params, keras)
        y = tf.reshape(flat, shape)
        y.set_shape(x.shape)
        return path, y
    axis = spec.param("axis").check(spec.name, params["axis"])
    if isinstance(axis, tuple):
        raise ValueError(f"{spec.name}() {limit} when axis is a tuple; got x of rank {rank} and "
                         f"axis={axis}: merge the axes of x first")
    _check_axis(spec.name, x, axis)
    a = axis % rank
    along = tf.reshape(x, tf.stack([tf.reduce_prod(shape[:a]), shape[a], tf.reduce_prod(shape[a + 1:])]))
    path, y = route(spec, along, {**params, "axis": 1}, keras)
    out = tf.reshape(y, tf.concat([shape[:a], tf.shape(y)[1:2], shape[a + 1:]], 0))
    out.set_shape(x.shape[:a].concatenate(y.shape[1:2]).concatenate(x.shape[a + 1:]))
    return path, out


# What takes a call, in the order route() tries them (the module docstring's list).
KERNEL, TF_NN, KERAS, COMPOSITE = "kernel", "tf.nn", "keras", "composite"
PATHS = (KERNEL, TF_NN, KERAS, COMPOSITE)


def apply(spec: Activation, x, params: dict, keras=None) -> tf.Tensor:
    """Evaluates ``spec`` on ``x`` with already-bound ``params``; ``keras`` from :func:`keras_call`."""
    return route(spec, x, params, keras)[1]


def route(spec: Activation, x, params: dict, keras=None) -> tuple:
    """``(path, y)``: which implementation took this call (one of :data:`PATHS`) and its result.

    The one place the choice is made: :func:`apply` returns y, and ``tf_activations.status()``
    calls this eagerly, in a ``tf.function`` and under XLA to report the path."""
    if type(x) is not _EAGER_TENSOR and isinstance(x, tf.RaggedTensor):
        if spec.axis_op:
            raise TypeError(
                f"{spec.name}() works along an axis and does not take a RaggedTensor; "
                f"pad it with x.to_tensor() (mask the padding) first"
            )
        taken = []
        y = tf.ragged.map_flat_values(lambda v: taken.append(route(spec, v, params, keras)) or taken[-1][1], x)
        return taken[-1][0], y
    x = to_float_tensor(spec.name, x)
    if x.shape.rank is not None and x.shape.rank > _MAX_RANK:
        return _apply_flattened(spec, x, params, keras)
    fixed, tensors = {}, {}
    for p in spec.params:
        value = params[p.name]
        if p.differentiable:
            tensors[p.name] = _param_tensor(spec.name, p, value, x.dtype, x)
        else:
            fixed[p.name] = p.check(spec.name, _fixed_number(spec.name, p, value))
            if p.kind in ("float", "optional_float") and fixed[p.name] is not None:
                _check_range(spec.name, p, fixed[p.name], x.dtype)
    exact = is_exact()
    if spec.axis_op:
        _check_axis(spec.name, x, fixed["axis"])
        if spec.check is not None:
            x = spec.check(x, **fixed)
        # Keras' glu needs the static size of its axis; where it is unknown ours runs
        unknown = spec.check is not None and x.shape.rank is not None and x.shape[fixed["axis"]] is None
        y = None if exact or keras is None or unknown else keras(x, {**params, **fixed})
        if y is not None:
            return KERAS, y
        if native.has_kernel(spec.name) and not in_vectorized_map():
            y = native.dispatch_gated(spec.name, x, fixed, exact=exact)
            if y is not None:
                return KERNEL, y
        return COMPOSITE, _along_axis(spec, x, fixed)
    vmapped = in_vectorized_map()
    # Under vectorized_map a kernel op would run in pfor's per-example while_loop: the
    # vectorized composite is the faster of the two.
    if native.has_kernel(spec.name) and not vmapped:
        y = native.dispatch(spec.name, x, fixed, tensors, exact=exact)
        if y is not None:
            return KERNEL, y
    if spec.tf_op is not None and not tensors:
        y = spec.tf_op(x, **fixed)
        if y is not None:
            return TF_NN, y
    if not exact and keras is not None:
        y = keras(x, {**params, **fixed})
        if y is not None:
            return KERAS, y
    return COMPOSITE, _linearized(spec, x, fixed, tensors) if vmapped else _elementwise(spec, x, fixed, tensors)


def closed_form_derivative(spec: Activation, x, params: dict) -> tf.Tensor:
    """f'(x) from the declared closed form (for plots, teaching and tests)."""
    if spec.derivative is None:
        raise ValueError(
            f"derivative() is not defined for {spec.name!r}: it is not an elementwise "
            f"function of x and has no square Jacobian diagonal"
        )
    x = to_float_tensor(spec.name, x)
    kwargs = {}
    dtype = forward_dtype(x.dtype, spec)
    for p in spec.params:
        value = params[p.name]
        if p.differentiable:
            kwargs[p.name] = tf.cast(_param_tensor(spec.name, p, value, dtype), dtype)
        else:
            kwargs[p.name] = p.check(spec.name, value)
    return tf.cast(spec.derivative(tf.cast(x, dtype), **kwargs), x.dtype)


def signature(spec: Activation) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [inspect.Parameter("x", kind)]
        + [inspect.Parameter(p.name, kind, default=p.default) for p in spec.params]
    )


def bind(spec: Activation, sig: inspect.Signature, args, kwargs) -> tuple:
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{spec.name}(): {err}; the signature is {spec.name}{sig}") from None
    bound.apply_defaults()
    values = dict(bound.arguments)
    return values.pop("x"), values


def docstring(spec: Activation) -> str:
    lines = [spec.summary, "", f"    {spec.formula}", ""]
    if spec.variant_of is not None:
        base, fixed = spec.variant_of
        lines += [f"Same as {base}(x, {', '.join(f'{k}={v!r}' for k, v in fixed)}).", ""]
    lines += [f"Derivative: {spec.derivative_formula}", f"Range: {spec.output_range}", ""]
    lines.append("Args:")
    lines.append("    x: a floating tensor (float16, bfloat16, float32 or float64).")
    for p in spec.params:
        lines.append(f"    {p.name}: {p.doc} Default {p.default!r}; {p.allowed()}.")
    lines += ["", "Returns:", "    A tensor of the dtype of x.", ""]
    if spec.kinks:
        lines += [f"Kinks: {spec.kinks}", ""]
    if spec.notes:
        lines += [spec.notes, ""]
    lines.append(f"Reference: {spec.reference}")
    return "\n".join(lines)


def _keras_default_call(spec: Activation, keras_fn):
    """What ``apply`` would run for the commonest eager call f(x) outside exact mode when no
    kernel may: the tf.nn alias (it may return None: then apply) or Keras' function, bound to
    our defaults. None where ``apply`` has more to decide (a differentiable or axis parameter,
    Keras lacking the name)."""
    if spec.axis_op or any(p.differentiable for p in spec.params):
        return None
    if spec.tf_op is not None:  # relu and friends: the tf.nn op, or apply() where it declines
        defaults = spec.defaults
        return lambda x: spec.tf_op(x, **defaults)
    if keras_fn is None or not spec.keras_is_default:
        return None
    keras_params = inspect.signature(keras_fn).parameters
    ours = {p.name: p.default for p in spec.params if p.name in keras_params}
    if all(keras_params[name].default == value for name, value in ours.items()):
        return keras_fn  # same defaults: a partial would only add its own call (0.2 us)
    return functools.partial(keras_fn, **ours)


def make_function(spec: Activation, keras_fn=None):
    """A plain ``def`` (so Keras can serialize it) that runs ``spec``.

    ``keras_fn`` is Keras' own function of the same name (TensorFlow backend),
    run outside exact mode where no faster kernel applies.
    """
    sig = signature(spec)
    keras = keras_call(spec, keras_fn)
    native.register(spec.name, spec.kernels, spec.derivative, spec.param_derivatives, backward_dtype, spec.vjp)
    defaults = spec.defaults
    names = tuple(defaults)

    keras_default = _keras_default_call(spec, keras_fn)
    if native.default_kernel(spec.name):
        keras_default = None  # a kernel may run instead: apply() decides

    def activation(*args, **kwargs):
        if len(args) == 1 and not kwargs:  # f(x), the commonest call
            x = args[0]
            # Eager f(x) that would end in Keras' function anyway: straight there. apply()'s
            # checks cost ~4 us, nearly Keras' whole call on 2^8-2^12 elements.
            if keras_default is not None and type(x) is _EAGER_TENSOR \
                    and x._datatype_enum() in _FLOAT_ENUMS and x._rank() <= _MAX_RANK \
                    and (_DEFAULT_EVERYWHERE[0] or not is_exact() and not native.every_kernel_active()):
                y = keras_default(x)
                if y is not None:
                    return y
            return route(spec, x, dict(defaults), keras)[1]
        # Binding by hand: inspect.Signature.bind costs ~5 us per eager call, which is 2-5%
        # of a 2^16-element activation. Anything unusual goes through bind for its message.
        if 1 <= len(args) <= 1 + len(names) and all(k in defaults for k in kwargs) \
                and not any(k in names[:len(args) - 1] for k in kwargs):
            params = dict(defaults)
            params.update(zip(names, args[1:]))
            params.update(kwargs)
            return route(spec, args[0], params, keras)[1]
        x, params = bind(spec, sig, args, kwargs)
        return route(spec, x, params, keras)[1]

    activation.__name__ = activation.__qualname__ = spec.name
    activation.__module__ = "tf_activations"
    activation.__doc__ = docstring(spec)
    activation.__signature__ = sig
    activation.spec = spec
    activation.keras_call = keras  # for status(): route() with the very arguments this function passes
    return activation


def make_variant(spec: Activation, base_fn):
    """The function of a :func:`~tf_activations._spec.variant`: ``base_fn`` with the fixed
    parameters bound, so it takes exactly the base's path (Keras' function, a kernel)."""
    sig = signature(spec)
    fixed = dict(spec.variant_of[1])

    def activation(*args, **kwargs):
        if len(args) == 1 and not kwargs:
            return base_fn(args[0], **fixed)
        x, params = bind(spec, sig, args, kwargs)
        return base_fn(x, **params, **fixed)

    activation.__name__ = activation.__qualname__ = spec.name
    activation.__module__ = "tf_activations"
    activation.__doc__ = docstring(spec)
    activation.__signature__ = sig
    activation.spec = spec
    activation.variant_of, activation.fixed = base_fn, fixed  # for status(): the base's route
    return activation
