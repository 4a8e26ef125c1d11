"""Issue 9, part 1: inputs and parameters that used to give a silently wrong answer.

Each test here failed on main before the fix (NaN/inf slices, shape checks, tensor and
out-of-range parameters, save names, underflow bands). References are closed forms,
NumPy float64 and mpmath.
"""

import contextlib

import mpmath as mp
import numpy as np
import pytest
import tensorflow as tf

import reference
import tf_activations as ta

NAN, INF = float("nan"), float("inf")
BOTH_MODES = pytest.mark.parametrize("exact", [False, True], ids=["default", "exact"])


def _np_sparsemax(z):
    """Martins & Astudillo's sort-based projection, in float64, one row."""
    z = np.asarray(z, np.float64)
    s = np.sort(z)[::-1]
    k = np.arange(1, z.size + 1)
    cs = np.cumsum(s)
    support = k[1 + k * s > cs].max()
    return np.maximum(z - (cs[support - 1] - 1) / support, 0.0)


# --- 1. NaN and inf in a slice --------------------------------------------------------

@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_nan_in_a_slice_makes_that_slice_nan_in_exact_mode(name):
    x = tf.constant([[1.0, 2.0, NAN, 4.0], [1.0, 2.0, 3.0, 4.0]])
    with ta.exact():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = getattr(ta, name)(x)
        grad = tape.gradient(y, x).numpy()
    y = y.numpy()
    assert np.isnan(y[0]).all() and np.isnan(grad[0]).all()
    row = np.array([1.0, 2.0, 3.0, 4.0])
    want = np.exp(row - row.max()) / np.exp(row - row.max()).sum()
    np.testing.assert_allclose(y[1], want if name == "softmax" else np.log(want), rtol=1e-6)
    assert np.isfinite(grad[1]).all()


def test_minus_inf_rules_stay_in_exact_mode():
    x = tf.constant([[-INF, -INF, -INF], [0.0, 1.0, -INF], [INF, 0.0, INF]])
    with ta.exact():
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            y, ly = ta.softmax(x), ta.log_softmax(x)
        dy, dly = tape.gradient(y, x).numpy(), tape.gradient(ly, x).numpy()
    np.testing.assert_array_equal(y.numpy()[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(dy[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(ly.numpy()[0], [-INF] * 3)
    np.testing.assert_array_equal(dly[0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(y.numpy()[2], [0.5, 0.0, 0.5])


@BOTH_MODES
def test_sparsemax_nan_slice_is_nan_and_inf_entries_share_the_mass(exact):
    x = tf.constant([[1.0, 2.0, NAN, 4.0], [INF, 0.0, INF, 1.0], [INF, 5.0, 3.0, -INF],
                     [-INF, -INF, -INF, -INF], [-INF, 1.0, 1.5, -INF], [0.5, 0.2, -0.1, 1.0]])
    with ta.exact(exact):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = ta.sparsemax(x)
        grad = tape.gradient(y, x).numpy()
    y = y.numpy()
    assert np.isnan(y[0]).all() and np.isnan(grad[0]).all()
    np.testing.assert_array_equal(y[1], [0.5, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(y[2], [1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(y[3], [0.0, 0.0, 0.0, 0.0])  # as softmax: all -inf is zeros
    np.testing.assert_allclose(y[4], [0.0, 0.25, 0.75, 0.0], rtol=1e-6)
    np.testing.assert_allclose(y[5], _np_sparsemax([0.5, 0.2, -0.1, 1.0]), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y[1:].sum(axis=-1), [1, 1, 0, 1, 1], rtol=1e-6)
    assert np.isfinite(grad[1:]).all()


def test_sparsemax_is_documented_for_nan_and_inf():
    notes = ta.info("sparsemax")["notes"]
    assert "NaN" in notes and "+inf" in notes and "-inf" in notes


# --- 2. Shapes --------------------------------------------------------------------------

def test_maxout_default_pairs_refuse_an_odd_size():
    with pytest.raises(ValueError, match=r"maxout\(\).*num_units.*size 3"):
        ta.maxout(tf.zeros([2, 3]))


def test_maxout_refuses_a_size_num_units_does_not_divide():
    with pytest.raises(ValueError, match=r"maxout\(\).*num_units"):
        ta.maxout(tf.zeros([2, 6]), num_units=4)


@pytest.mark.parametrize("num_units", [None, 3])
def test_maxout_with_a_size_known_only_at_run_time(num_units):
    fn = tf.function(lambda x: ta.maxout(x, num_units=num_units),
                     input_signature=[tf.TensorSpec([None, None], tf.float32)])
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    units = 3 if num_units is None else num_units
    want = x.reshape(4, units, 6 // units).max(-1)  # contiguous groups
    np.testing.assert_array_equal(fn(x).numpy(), want)
    for bad in (x[:, :5], x[:, :0]) if num_units is None else (x[:, :4], x[:, :2], x[:, :0]):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"maxout\(\) .*num_units"):
            fn(bad)


def test_maxout_of_an_empty_axis_is_not_minus_inf():
    with pytest.raises(ValueError, match=r"maxout\(\).*num_units=3"):
        ta.maxout(tf.zeros([2, 0]), num_units=3)


@BOTH_MODES
def test_glu_odd_size_is_a_clear_error(exact):
    with ta.exact(exact):
        with pytest.raises(ValueError, match=r"glu\(\).*even size along axis -1.*size 3"):
            ta.glu(tf.zeros([2, 3]))


@BOTH_MODES
def test_glu_odd_size_under_unknown_static_shape_is_a_clear_error(exact):
    with ta.exact(exact):
        fn = tf.function(ta.glu, input_signature=[tf.TensorSpec([None, None], tf.float32)])
        np.testing.assert_allclose(fn(tf.constant([[1.0, 0.0]])).numpy(), [[0.5]])
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"glu\(\) expects an even size along axis -1"):
            fn(tf.zeros([2, 3]))


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "sparsemax", "glu", "swiglu", "geglu",
                                  "reglu", "maxout"])
@BOTH_MODES
def test_axis_functions_on_a_scalar_name_function_and_argument(name, exact):
    with ta.exact(exact):
        with pytest.raises(ValueError, match=rf"{name}\(\).*axis.*scalar"):
            getattr(ta, name)(tf.constant(1.0))


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@BOTH_MODES
def test_softmax_takes_a_tuple_of_axes(name, exact):
    x = np.random.default_rng(0).normal(size=(2, 3, 4))
    flat = x.reshape(2, 12)
    want = np.exp(flat - flat.max(1, keepdims=True))
    want = (want / want.sum(1, keepdims=True)).reshape(2, 3, 4)
    with ta.exact(exact):
        y = getattr(ta, name)(tf.constant(x, tf.float32), axis=(1, 2)).numpy()
    np.testing.assert_allclose(y, want if name == "softmax" else np.log(want), rtol=1e-5, atol=1e-7)


def test_tuple_of_axes_is_checked():
    with pytest.raises(ValueError, match=r"softmax\(\) expects axis"):
        ta.softmax(tf.zeros([2, 3]), axis=(1, 2))
    with pytest.raises(ValueError, match=r"softmax\(\) expects distinct axes"):
        ta.softmax(tf.zeros([2, 3]), axis=(1, -1))


@BOTH_MODES
def test_sparsemax_of_an_empty_tensor_with_unknown_static_shape(exact):
    with ta.exact(exact):
        fn = tf.function(ta.sparsemax, input_signature=[tf.TensorSpec([None, None], tf.float32)])
        assert fn(tf.zeros([2, 0])).shape == (2, 0)
        np.testing.assert_allclose(fn(tf.constant([[0.5, 0.2, -0.1, 1.0]])).numpy()[0],
                                   _np_sparsemax([0.5, 0.2, -0.1, 1.0]), rtol=1e-6, atol=1e-7)


# --- 3. Tensor parameters ---------------------------------------------------------------

@pytest.mark.parametrize("call", [
    lambda x: ta.snake(x, frequency=tf.constant(0.0)),
    lambda x: ta.snake(x, frequency=tf.constant([1.0, -1.0, 1.0, 1.0])),
    lambda x: ta.swish(x, beta=tf.constant(NAN)),
    lambda x: ta.swish(x, beta=tf.constant(INF)),
], ids=["snake-0", "snake-negative", "swish-nan", "swish-inf"])
def test_constant_tensor_parameters_get_a_numbers_checks(call):
    with pytest.raises(ValueError, match=r"(frequency|beta)"):
        call(tf.ones([1, 4]))


def test_a_parameter_that_would_grow_x_is_refused():
    with pytest.raises(ValueError, match=r"swish\(\) expects beta to broadcast"):
        ta.swish(tf.ones([1, 4]), beta=tf.ones([5, 1, 1]))
    with pytest.raises(ValueError, match=r"swish\(\) expects beta to broadcast"):
        ta.swish(tf.ones([1, 4]), beta=tf.ones([5, 1]))
    # what does broadcast within x's shape still works, with a gradient of beta's shape
    beta = tf.Variable(tf.ones([1, 4]) * 2.0)
    with tf.GradientTape() as tape:
        y = ta.swish(tf.ones([3, 4]), beta=beta)
    assert y.shape == (3, 4) and tape.gradient(y, beta).shape == (1, 4)


# --- 4. Numbers outside the input dtype's range -----------------------------------------

@pytest.mark.parametrize("call, arg", [
    (lambda x: ta.swish(x, beta=1e39), "beta"),
    (lambda x: ta.relu(x, negative_slope=1e39), "negative_slope"),
    (lambda x: ta.snake(x, frequency=1e-39), "frequency"),
    (lambda x: ta.elu(x, alpha=1e300), "alpha"),
])
@BOTH_MODES
def test_numbers_beyond_float32_are_refused_naming_the_range(call, arg, exact):
    with ta.exact(exact):
        with pytest.raises(ValueError, match=rf"{arg}.*float32.*3\.40282e\+38"):
            call(tf.constant([-1.0, 0.0, 1.0]))


def test_the_same_numbers_work_in_float64():
    x = tf.constant([-1.0, 0.0, 1.0], tf.float64)
    y = ta.swish(x, beta=1e39).numpy()
    np.testing.assert_array_equal(y, [0.0, 0.0, 1.0])
    assert np.isfinite(ta.elu(x, alpha=1e300).numpy()).all()


def test_elu_layer_with_an_alpha_beyond_float32_is_refused_at_call():
    layer = ta.layers.ELU.from_config({**ta.layers.ELU().get_config(), "alpha": 1e300})
    with pytest.raises(ValueError, match=r"elu\(\) expects alpha.*float32"):
        layer(tf.constant([[-1.0, 0.0, 1.0]]))


# --- 6. Underflow bands of the composites (exact mode) ----------------------------------

def _mp_gelu(x):
    return x * mp.erfc(-x / mp.sqrt(2)) / 2


def _mp_gelu_slope(x):
    return mp.erfc(-x / mp.sqrt(2)) / 2 + x * mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def _exact_gradient(name, x, kernels=False, **params):
    """f(x) and f'(x) in exact mode: the composite, or (kernels=True) whatever exact mode
    dispatches where the kernels are built, as a user gets it."""
    with ta.exact(), (contextlib.nullcontext() if kernels else ta.native.disabled()):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = getattr(ta, name)(x, **params)
        return y.numpy(), tape.gradient(y, x).numpy()


def _mp_sigmoid_slope_sum(a, z):
    """sigmoid(z) + a sigmoid'(z), from exp alone (no 1 - s cancellation)."""
    e = mp.exp(-abs(z))
    s = 1 / (1 + e) if z >= 0 else e / (1 + e)
    return s + a * e / (1 + e) ** 2


def _mp_swish_slope(beta):
    return lambda x: _mp_sigmoid_slope_sum(beta * x, beta * x)


def _mp_gelu_tanh_slope(x):
    c, a = mp.sqrt(2 / mp.pi), mp.mpf(np.float32(0.044715).item())
    return _mp_sigmoid_slope_sum(x * 2 * c * (1 + 3 * a * x * x), 2 * c * (x + a * x ** 3))


def _mp_mish_slope(x):
    sp = mp.log1p(mp.exp(x))
    return mp.tanh(sp) + x * mp.sech(sp) ** 2 / (1 + mp.exp(-x))


def _mp_selu_slope(x):
    return mp.mpf("1.6732632423543772848170429916717") * mp.mpf("1.0507009873554804934193349852946") * mp.exp(x)


def _reference(fn, x, dtype):
    # a local precision: mpmath's is process-wide, and tests/reference.py sets its own
    with mp.workdps(60):
        return np.array([float(fn(mp.mpf(float(v)))) for v in np.asarray(x, dtype)])


def test_float32_tanh_slope_is_not_zero_where_it_is_a_normal_float():
    x = np.array([-44.3, -44.0, 43.8, 44.0, 44.3], np.float32)
    _, d = _exact_gradient("tanh", tf.constant(x))
    want = _reference(lambda v: mp.sech(v) ** 2, x, np.float32)
    assert (want >= np.finfo(np.float32).tiny).all()
    np.testing.assert_allclose(d, want, rtol=1e-5)


@pytest.mark.parametrize("kernels", [False, True], ids=["composite", "as-dispatched"])
def test_float32_gelu_slope_is_not_zero_where_it_is_a_normal_float(kernels):
    x = np.array([-13.29, -13.25, -13.2, -13.15, -13.0, -12.0, -10.5, -10.0, -9.9], np.float32)
    _, d = _exact_gradient("gelu", tf.constant(x), kernels)
    want = _reference(_mp_gelu_slope, x, np.float32)
    assert (np.abs(want) >= np.finfo(np.float32).tiny).all()
    np.testing.assert_allclose(d, want, rtol=1e-5)


def test_float64_gelu_is_not_zero_where_it_is_a_normal_float():
    x = np.array([-37.6, -37.58, -37.55, -37.5, -30.0, -20.5, -20.0, -19.9], np.float64)
    y, d = _exact_gradient("gelu", tf.constant(x))
    want = _reference(_mp_gelu, x, np.float64)
    assert (np.abs(want) >= np.finfo(np.float64).tiny).all()
    np.testing.assert_allclose(y, want, rtol=1e-12)
    np.testing.assert_allclose(d, _reference(_mp_gelu_slope, x, np.float64), rtol=1e-12)


@pytest.mark.parametrize("kernels", [False, True], ids=["composite", "as-dispatched"])
@pytest.mark.parametrize("name, params, ref, x", [
    # s + a s' summed from two flushed terms was 0 here (and a few percent off at the edge)
    ("swish", {}, _mp_swish_slope(1.0), [-91.0, -90.0, -89.0, -88.0, -87.0, -80.0]),
    ("silu", {}, _mp_swish_slope(1.0), [-91.0, -90.0, -88.0, -87.5]),
    ("swish", {"beta": 1.5}, _mp_swish_slope(1.5), [-61.0, -60.0, -59.0, -58.0]),
    ("gelu", {"approximate": True}, _mp_gelu_tanh_slope, [-10.22, -10.2, -10.15, -10.1, -10.0, -9.9]),
    # e^x flushed to 0 from -87.3 while mish' ~ (1 + x) e^x and selu' = 1.758 e^x are normal
    ("mish", {}, _mp_mish_slope, [-91.5, -90.0, -89.0, -88.0, -87.5, -87.0, -80.0]),
    ("selu", {}, _mp_selu_slope, [-87.8, -87.5, -87.3, -87.0]),
])
def test_float32_sigmoid_gated_slopes_are_not_zero_where_they_are_normal_floats(name, params, ref, x, kernels):
    x = np.array(x, np.float32)
    _, d = _exact_gradient(name, tf.constant(x), kernels, **params)
    want = _reference(ref, x, np.float32)
    assert (np.abs(want) >= np.finfo(np.float32).tiny).all()
    # tanh-GELU's exponent 2u(x) ~ -92 is rounded in float32: ~200 ulp is the function's own
    np.testing.assert_allclose(d, want, rtol=5e-5 if "approximate" in params else 1e-5)


def test_gelu_tails_end_in_zero_without_nan():
    for dtype in (tf.float32, tf.float64):
        y, d = _exact_gradient("gelu", tf.constant([-np.inf, -1e30, -50.0], dtype))
        np.testing.assert_array_equal(y, [0.0, 0.0, 0.0])
        np.testing.assert_array_equal(d, [0.0, 0.0, 0.0])


# --- 5. Save names ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["sparsemax", "threshold"])
def test_saved_under_the_package_name_and_reloaded_identically(name, tmp_path):
    import keras

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(4, activation=name)(inp))
    assert f"tf_activations>{name}" in str(model.get_config())
    x = np.random.default_rng(1).normal(size=(3, 4)).astype("float32")
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert loaded.layers[-1].activation is getattr(ta, name)
    np.testing.assert_array_equal(np.asarray(loaded(x)), np.asarray(model(x)))


# --- 7. swish at beta = 1: one derivative on every path, and beta's gradient kept ----------

def _swish_beta_grad_closed_form(x, beta):
    z = beta * x
    s = 1.0 / (1.0 + np.exp(-z))
    return float(np.sum(x * x * s * (1.0 - s)))


def test_swish_keeps_the_gradient_of_a_watched_constant_beta_of_one_inside_tf_function():
    x = tf.constant(np.linspace(-4.0, 4.0, 9), tf.float32)

    @tf.function
    def beta_grad(x):
        beta = tf.constant(1.0)  # a constant in the graph: its value is known when tracing
        with tf.GradientTape() as tape:
            tape.watch([x, beta])  # x watched too: a training graph, where a kernel saves f'
            y = ta.swish(x, beta)
        return tape.gradient(y, beta)

    got = beta_grad(x)
    assert got is not None, "the gradient with respect to beta was dropped"
    np.testing.assert_allclose(float(got), _swish_beta_grad_closed_form(x.numpy().astype(np.float64), 1.0),
                               rtol=1e-5)


def test_swish_beta_one_derivative_is_the_same_eagerly_and_in_a_graph():
    """Kernels used one backward formula eagerly and another in a training graph: up to 256
    ulp apart near f' = 0. Both are now silu's, bitwise equal, and match the closed form."""
    x = tf.constant(np.linspace(-20.0, 20.0, 100001), tf.float32)

    def slope(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = ta.swish(v, 1.0)
        return tape.gradient(y, v)

    eager, graph = slope(x).numpy(), tf.function(slope)(x).numpy()
    np.testing.assert_array_equal(eager, graph)
    x64 = x.numpy().astype(np.float64)
    s = 1.0 / (1.0 + np.exp(-x64))
    np.testing.assert_allclose(eager, s + x64 * s * (1.0 - s), rtol=1e-5, atol=1e-7)


# --- 8. The float maximum, tiny numbers and NaN ---------------------------------------------

MODES = {"default": contextlib.nullcontext, "pure": ta.native.disabled, "exact": ta.exact}


def _taped(fn, x, wrt=()):
    """f(x), f'(x), f''(x) and the first derivative with respect to each of ``wrt``, as
    tensors (eagerly, or traced in a tf.function)."""
    with tf.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tf.GradientTape(persistent=True) as inner:
            inner.watch(x)
            y = fn(x)
        d1 = inner.gradient(y, x)
    d2 = outer.gradient(d1, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return y, d1, d2, [inner.gradient(y, w) for w in wrt]


def _derivatives(fn, x, wrt=()):
    y, d1, d2, dw = _taped(fn, x, wrt)
    return y.numpy(), d1.numpy(), d2.numpy(), [d.numpy() for d in dw]


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("dtype, big", [(tf.float32, 3e38), (tf.bfloat16, 3e38), (tf.float64, 1.7e308)])
def test_snake_where_frequency_times_x_overflows_is_x_with_finite_derivatives(dtype, big, mode):
    """frequency * x = inf there: sin^2(a x) / a <= 1 / a is far below half an ulp of x, so
    snake(x) = x; x carries no phase, and f' is 1 + sin(2 a x)'s mean, 1, as at +-inf."""
    x = tf.constant([big, -big, 2.0], dtype)
    frequency = tf.Variable(1.3, dtype=dtype)
    with MODES[mode]():
        y, d1, d2, (df,) = _derivatives(lambda v: ta.snake(v, frequency=frequency), x, [frequency])
    assert np.isfinite(np.float64(d2)).all() and np.isfinite(np.float64(df))
    np.testing.assert_array_equal(y[:2], x.numpy()[:2])
    np.testing.assert_array_equal(d1[:2], [1.0, 1.0])
    a = float(np.asarray(tf.cast(frequency, tf.float64)))
    tol = 1e-2 if dtype == tf.bfloat16 else 1e-6
    np.testing.assert_allclose(np.float64(y[2]), 2.0 + np.sin(2 * a) ** 2 / a, rtol=tol)
    np.testing.assert_allclose(np.float64(d1[2]), 1.0 + np.sin(4 * a), rtol=tol * 10)


@pytest.mark.parametrize("dtype, x", [
    (tf.float64, [1e-200, -1e-200, 3e-300, 2.5]),
    (tf.float32, [1e-30, -1e-30, 2.3e-38, -2.3e-38, 2.5]),
    (tf.bfloat16, [1e-30, -1e-30, 2.3e-38, -2.3e-38, 2.5]),
])
def test_exact_squareplus_with_b_zero_is_relu_down_to_the_smallest_normal_numbers(dtype, x):
    """(The default runs Keras' squareplus, (x + sqrt(x^2 + b)) / 2 as written: 5e-201 at 1e-200.)"""
    x = tf.constant(x, dtype)
    with ta.exact():
        y, d1, _, _ = _derivatives(lambda v: ta.squareplus(v, b=0.0), x)
    xs = np.float64(x.numpy())
    np.testing.assert_array_equal(np.float64(y), np.maximum(xs, 0.0))
    np.testing.assert_array_equal(np.float64(d1), (xs > 0).astype(np.float64))


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("name, second", [
    ("softsign", lambda x: -2.0 * np.sign(x) / (1.0 + np.abs(x)) ** 3),
    ("squareplus", lambda x: 4.0 / (2.0 * (x * x + 4.0) ** 1.5)),
])
def test_exact_second_derivatives_near_the_float32_maximum_are_the_closed_form(name, second, graph):
    x = tf.constant([3e38, -3e38, 1e30, -2.0, 0.5], tf.float32)
    run = (lambda v: _derivatives(ta.get(name), v)[2]) if not graph else \
        (lambda v: tf.function(lambda u: _taped(ta.get(name), u)[2])(v).numpy())
    with ta.exact():
        d2 = run(x)
    np.testing.assert_allclose(d2, second(np.float64(x.numpy())), rtol=1e-5, atol=1e-30)


@pytest.mark.parametrize("name", sorted(set(reference.SMOOTH) | {"elu", "selu", "celu", "hard_swish"}))
def test_exact_second_derivative_at_nan_is_nan(name):
    with ta.exact():
        y, d1, d2, _ = _derivatives(ta.get(name), tf.constant([np.nan, -1.0], tf.float32))
    assert np.isnan(y[0]) and np.isnan(d1[0]) and np.isnan(d2[0]), (y, d1, d2)
    assert np.isfinite(d2[1])


@pytest.mark.parametrize("compile_as", ["eager", "tf.function", "xla"])
def test_hard_swish_slope_at_nan_is_nan_on_every_path(compile_as):
    def slope(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = ta.hard_swish(x)
        return tape.gradient(y, x)

    run = {"eager": slope, "tf.function": tf.function(slope),
           "xla": tf.function(slope, jit_compile=True)}[compile_as]
    with ta.exact():
        d = run(tf.constant([np.nan, -1.0, 4.0], tf.float32)).numpy()
    assert np.isnan(d[0])
    np.testing.assert_allclose(d[1:], [1.0 / 6.0, 1.0], rtol=1e-6)


@pytest.mark.parametrize("dtype, big", [(np.float32, [3.4028235e38, 3e38, 1e38, 1e30, 1e20]),
                                        (np.float64, [1.7e308, 1e300, 1e150])], ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(set(reference.ELEMENTWISE) - {"exponential"}))
def test_exact_derivatives_of_numbers_near_the_float_maximum_are_finite(name, dtype, big):
    """(exponential's f' = f overflows there: inf is its value; squared_relu's f' = 2x beyond half
    the maximum too, so f' is only required finite where the true f' is representable.)"""
    x = tf.constant(np.array(big + [-v for v in big], dtype))
    with ta.exact():
        _, d1, d2, _ = _derivatives(ta.get(name), x)
    slope = reference.ELEMENTWISE[name][1]
    representable = np.ones(x.shape, bool)
    # only a slope that grows without bound can overflow (mpmath's erfc itself overflows at 1e308)
    if any(abs(float(slope(reference.mp.mpf(v)))) > 1e3 for v in (-1e6, 1e6)):
        true_d1 = np.array([float(slope(reference.mp.mpf(float(v)))) for v in x.numpy()])
        representable = np.abs(true_d1) <= np.finfo(dtype).max
    assert np.isfinite(d1[representable]).all() and np.isfinite(d2).all(), (d1, d2)


# --- 9. Parameters as arrays and tensors, shapes known late, ranks above 8 ------------------

X4 = np.array([[-2.0, -0.5, 0.5, 2.0], [-1.0, 0.0, 1.0, 3.0]], np.float32)


def _swish64(x, beta):
    return x / (1.0 + np.exp(-beta * x))


@pytest.mark.parametrize("call, want", [
    (lambda x: ta.swish(x, beta=np.array(1.5)), lambda x: _swish64(x, 1.5)),
    (lambda x: ta.swish(x, beta=np.float32(1.5)), lambda x: _swish64(x, 1.5)),
    (lambda x: ta.prelu(x, alpha=[0.1, 0.2, 0.3, 0.4]),
     lambda x: np.where(x > 0, x, np.array([0.1, 0.2, 0.3, 0.4]) * x)),
    (lambda x: ta.squareplus(x, b=tf.constant(4.0)), lambda x: (x + np.sqrt(x * x + 4.0)) / 2),
    (lambda x: ta.squareplus(x, b=np.float64(1.0)), lambda x: (x + np.sqrt(x * x + 1.0)) / 2),
    (lambda x: ta.elu(x, alpha=tf.constant(0.5)), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
], ids=["np-0d-beta", "np-scalar-beta", "list-alpha", "tensor-b", "np-b", "tensor-alpha"])
def test_parameters_given_as_arrays_and_tensors_are_accepted(call, want):
    y = call(tf.constant(X4))
    np.testing.assert_allclose(y.numpy(), want(X4.astype(np.float64)), rtol=1e-6, atol=1e-7)


def test_a_fixed_parameter_cannot_be_a_variable_and_says_why():
    with pytest.raises(TypeError, match=r"squareplus\(\) expects b .*fixed when the op is built"):
        ta.squareplus(tf.constant(X4), b=tf.Variable(4.0))
    with pytest.raises(ValueError, match=r"elu\(\) expects alpha .*one number.*shape \(2,\)"):
        ta.elu(tf.constant(X4), alpha=np.array([1.0, 2.0]))


@pytest.mark.parametrize("name, param", [("swish", "beta"), ("snake", "frequency"), ("prelu", "alpha")])
def test_wrong_shape_tensor_parameter_with_shapes_known_at_run_time_names_the_argument(name, param):
    fn = tf.function(lambda x, p: ta.get(name)(x, **{param: p}),
                     input_signature=[tf.TensorSpec([None, None]), tf.TensorSpec([None])])
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"{name}\(\) expects {param} to broadcast"):
        fn(tf.zeros([2, 4]), tf.ones([3]))
    np.testing.assert_array_equal(fn(tf.zeros([2, 4]), tf.ones([4])).numpy().shape, [2, 4])


RANK9 = np.linspace(-3.0, 3.0, 2 ** 9, dtype=np.float32).reshape([2] * 9)


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("name", ["relu", "elu", "leaky_relu", "hard_tanh", "prelu", "mish", "softsign", "swish"])
def test_elementwise_functions_take_inputs_of_rank_above_8(name, mode):
    """TF's broadcasting kernels (SelectV2, EluGrad, ...) stop at rank 8: a raw error before."""
    f, df = reference.ELEMENTWISE[name]
    x = tf.constant(RANK9)
    with MODES[mode](), tf.GradientTape() as tape:
        tape.watch(x)
        y = ta.get(name)(x)
    d = tape.gradient(y, x).numpy()
    flat = RANK9.ravel()
    np.testing.assert_allclose(y.numpy().ravel(), [float(f(mp.mpf(float(v)))) for v in flat], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d.ravel(), [float(df(mp.mpf(float(v)))) for v in flat], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("axis", [0, 4, -1])
def test_softmax_along_one_axis_of_a_rank_9_input(axis):
    x = tf.constant(RANK9)
    w = np.arange(2.0).reshape([2 if i == axis % 9 else 1 for i in range(9)])  # varies along axis
    with ta.exact(), tf.GradientTape() as tape:
        tape.watch(x)
        y = ta.softmax(x, axis=axis)
        loss = tf.reduce_sum(y * w.astype(np.float32))
    z = RANK9.astype(np.float64)
    s = np.exp(z - z.max(axis, keepdims=True))
    s /= s.sum(axis, keepdims=True)
    np.testing.assert_allclose(y.numpy(), s, rtol=1e-6)
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), s * (w - (s * w).sum(axis, keepdims=True)),
                               rtol=1e-5, atol=1e-7)
    for gated in (ta.glu, ta.swiglu, ta.geglu, ta.reglu):
        assert gated(x, axis=axis).shape == tuple(1 if i == axis % 9 else 2 for i in range(9))


def test_rank_above_8_with_a_tensor_parameter_names_the_limit():
    with pytest.raises(ValueError, match=r"prelu\(\) takes x of rank at most 8 .*alpha"):
        ta.prelu(tf.constant(RANK9), alpha=[0.1, 0.2])


@pytest.mark.parametrize("layer", ["Softmax", "LogSoftmax"])
def test_normalising_layers_take_a_tuple_of_axes_as_keras_softmax_does(layer):
    import keras

    x = np.random.RandomState(0).randn(2, 2, 3, 4).astype(np.float32)
    model = keras.Sequential([keras.Input((2, 3, 4)), getattr(ta.layers, layer)(axis=(1, 2))])
    z = x.astype(np.float64)
    log_s = z - z.max(axis=(1, 2), keepdims=True)
    log_s -= np.log(np.exp(log_s).sum(axis=(1, 2), keepdims=True))
    want = np.exp(log_s) if layer == "Softmax" else log_s
    np.testing.assert_allclose(np.asarray(model(x)), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=rf"{layer} expects axis in \[-4, 4\)"):
        keras.Sequential([keras.Input((2, 3, 4)), getattr(ta.layers, layer)(axis=(1, 5))])


# --- 10. Learned parameters under mixed precision ---------------------------------------------

@pytest.mark.parametrize("make", [lambda: ta.layers.Snake(trainable_frequency=True), lambda: ta.addons_compat.Snake()],
                         ids=["Snake(trainable_frequency)", "Addons>Snake"])
def test_snake_frequency_past_the_float16_maximum_under_mixed_float16(make):
    """A learned frequency is kept float32 under mixed_float16 (its float16 copy past 65504 was
    inf: NaN from predict and fit); output and frequency gradient follow the float64 formula."""
    import keras

    keras.config.set_dtype_policy("mixed_float16")  # the conftest fixture restores float32
    layer = make()
    inp = keras.Input((4,))
    model = keras.Model(inp, layer(inp))
    frequency = layer.weights[0]
    frequency.assign(7e4)
    x = np.array([[-0.73, -0.21, 0.33, 0.9], [-0.05, 0.11, 0.47, 0.61]], np.float32)
    assert frequency.dtype == "float32"
    y = model.predict(x, verbose=0)
    xs = np.float64(x.astype(np.float16))
    want = xs + np.sin(7e4 * xs) ** 2 / 7e4
    np.testing.assert_allclose(np.float64(y), want, rtol=1e-3)
    with tf.GradientTape() as tape:
        out = tf.reduce_sum(tf.cast(model(x), tf.float32))
    grad = float(tape.gradient(out, frequency))
    # phases a x ~ 6e4 rad from a float32 product: a few 1e-3 rad off, so a loose tolerance
    want_grad = np.sum(xs * np.sin(2 * 7e4 * xs) / 7e4 - np.sin(7e4 * xs) ** 2 / 7e4 ** 2)
    np.testing.assert_allclose(grad, want_grad, rtol=2e-2)
    model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    loss = model.fit(x, np.zeros_like(x), epochs=1, verbose=0).history["loss"][0]
    assert np.isfinite(loss)
