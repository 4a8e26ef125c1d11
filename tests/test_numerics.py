"""Values and first/second derivatives of every elementwise activation against mpmath.

The bar (float32 against the correctly rounded result): at most 4 ulp
wherever the result is a normal float32, over [-100, 100] and 1e-30 .. 3e38 of
both signs; float64 within 1e-12 relative; gradients within 1e-5 of the closed
form (relative above 1, absolute below).
"""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

import reference as ref
import tf_activations
from tf_activations import native

ELEMENTWISE = sorted(ref.ELEMENTWISE)
FP32_ULP_BAR = 4.0


@pytest.fixture(autouse=True, params=["default", "pure-tf"])
def implementation(request):
    """Every check runs on the default path (the C++ kernels, where built) and on the pure-TF composite."""
    with native.disabled() if request.param == "pure-tf" else contextlib.nullcontext():
        yield request.param


def test_reference_covers_every_elementwise_activation():
    names = {n for n in tf_activations.available() if tf_activations.info(n)["elementwise"]}
    assert names == set(ELEMENTWISE)


def ulp_errors(y, exact, dtype):
    """|y - exact| in units of the last place of the rounded exact value, where that is normal."""
    rounded = exact.astype(dtype)
    normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(dtype).tiny)
    spacing = np.spacing(np.abs(rounded[normal])).astype(np.float64)
    return np.abs(y[normal].astype(np.float64) - exact[normal]) / spacing, normal


def value_and_grad(name, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf_activations.get(name)(x)
    return y.numpy(), tape.gradient(y, x).numpy()


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float32_forward_within_4_ulp(name):
    x = ref.points("full")
    with np.errstate(over="ignore"):
        exact = ref.table(name, "f", "full")
    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert y.dtype == np.float32
    err, normal = ulp_errors(y, exact, np.float32)
    worst = np.argmax(err)
    assert err[worst] <= FP32_ULP_BAR, f"{name}: {err[worst]:.2f} ulp at x={x[normal][worst]!r}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float64_forward_within_1e12_relative(name):
    x = ref.points("full").astype(np.float64)
    exact = ref.table(name, "f", "full")
    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert y.dtype == np.float64
    check = np.isfinite(exact) & (np.abs(exact) >= np.finfo(np.float64).tiny)
    rel = np.abs(y[check] - exact[check]) / np.abs(exact[check])
    worst = np.argmax(rel)
    assert rel[worst] <= 1e-12, f"{name}: relative error {rel[worst]:.3g} at x={x[check][worst]!r}"
    zeros = exact == 0.0
    np.testing.assert_array_equal(y[zeros], 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradient_matches_closed_form(name, dtype):
    x = ref.points("full").astype(dtype)
    exact = ref.table(name, "df", "full")
    _, g = value_and_grad(name, x)
    assert g.dtype == dtype
    check = np.isfinite(exact) & (np.abs(exact) < np.finfo(dtype).max)
    tol = 1e-5 * np.maximum(1.0, np.abs(exact[check]))
    err = np.abs(g[check] - exact[check])
    worst = np.argmax(err / tol)
    assert err[worst] <= tol[worst], f"{name}: f'={g[check][worst]} vs {exact[check][worst]} at x={x[check][worst]!r}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_declared_derivative_matches_reference(name):
    x = ref.points("moderate")
    exact = ref.table(name, "df", "moderate")
    d = tf_activations.derivative(name, tf.constant(x, tf.float64)).numpy()
    np.testing.assert_allclose(d, exact, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ref.SMOOTH)
def test_second_derivative(name):
    x = np.linspace(-8, 8, 33) + 0.1  # off 0: elu, celu and selu are C1 there, not C2
    xt = tf.constant(x, tf.float64)
    with tf.GradientTape() as outer:
        outer.watch(xt)
        with tf.GradientTape() as inner:
            inner.watch(xt)
            y = tf_activations.get(name)(xt)
        g = inner.gradient(y, xt)
    h = outer.gradient(g, xt).numpy()
    exact = np.array([ref.second_derivative(name, v) for v in x])
    np.testing.assert_allclose(h, exact, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_infinities_give_no_nan(name):
    x = np.array([-np.inf, np.inf], np.float32)
    y, g = value_and_grad(name, x)
    assert not np.isnan(y).any(), f"{name}(+-inf) = {y}"
    assert not np.isnan(g).any(), f"{name}'(+-inf) = {g}"
    # the limit, as float32 sees it: f at +-1e40 rounded to float32
    with np.errstate(over="ignore"):
        limit = np.array([float(ref.ELEMENTWISE[name][0](ref.mp.mpf(v))) for v in (-1e40, 1e40)]).astype(np.float32)
    np.testing.assert_allclose(y, limit, rtol=0, atol=1e-30)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates(name):
    y, _ = value_and_grad(name, np.array([np.nan, 1.0], np.float32))
    assert np.isnan(y[0]), f"{name}(nan) = {y[0]}"
    assert not np.isnan(y[1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_finite_input_gives_finite_output_and_gradient(name):
    x = np.array([-1e4, -88.8, -30.0, 30.0, 88.8, 1e4, 3e38, -3e38], np.float32)
    y, g = value_and_grad(name, x)
    if name == "exponential":  # exp(x) > float32 max is inf, the one documented exception
        x, y, g = x[:3], y[:3], g[:3]
    with np.errstate(over="ignore"):
        exact = np.array([float(ref.ELEMENTWISE[name][1](ref.mp.mpf(float(v)))) for v in x])
    assert np.isfinite(y).all(), f"{name}: {dict(zip(x, y))}"
    representable = np.abs(exact) < np.finfo(np.float32).max
    assert np.isfinite(g[representable]).all(), f"{name}': {dict(zip(x, g))}"


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_half_precision_keeps_dtype_and_rounds_once(name, dtype):
    x = tf.cast(tf.constant(np.linspace(-12, 12, 241)), dtype)
    x64 = tf.cast(x, tf.float64).numpy()
    exact = np.array([float(ref.ELEMENTWISE[name][0](ref.mp.mpf(float(v)))) for v in x64])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf_activations.get(name)(x)
    g = tape.gradient(y, x)
    assert y.dtype == dtype and g.dtype == dtype
    y64 = tf.cast(y, tf.float64).numpy()
    # one rounding of a float32-accurate value: within one ulp of the half type
    step = 2.0 ** -10 if dtype == tf.float16 else 2.0 ** -7
    tiny = 6.1e-5 if dtype == tf.float16 else 1.2e-38
    bound = np.maximum(np.abs(exact), tiny) * step
    finite = np.abs(exact) < (65504 if dtype == tf.float16 else 3e38)
    assert np.all(np.abs(y64 - exact)[finite] <= bound[finite] + tiny * step), name


@pytest.mark.parametrize(
    "name, params, f",
    [
        ("swish", {"beta": 2.0}, lambda x: x / (1 + ref.mp.exp(-2 * x))),
        ("swish", {"beta": -0.5}, lambda x: x / (1 + ref.mp.exp(x / 2))),
        ("gelu", {"approximate": True},
         # 1 + tanh(u) == 2 sigmoid(2u); the tanh form would need ~1000 digits at x = -30
         lambda x: x / (1 + ref.mp.exp(-2 * ref.mp.sqrt(2 / ref.mp.pi) * (x + ref.mp.mpf("0.044715") * x ** 3)))),
        ("elu", {"alpha": 0.5}, lambda x: x if x > 0 else ref.mp.expm1(x) / 2),
        ("celu", {"alpha": 2.0}, lambda x: x if x > 0 else 2 * ref.mp.expm1(x / 2)),
        ("leaky_relu", {"negative_slope": 1.5}, lambda x: x if x > 0 else ref.mp.mpf("1.5") * x),
        ("snake", {"frequency": 3.0}, lambda x: x + ref.mp.sin(3 * x) ** 2 / 3),
        ("squareplus", {"b": 0.25}, lambda x: (x + ref.mp.sqrt(x * x + ref.mp.mpf("0.25"))) / 2 if x >= 0
         else ref.mp.mpf("0.25") / (2 * (ref.mp.sqrt(x * x + ref.mp.mpf("0.25")) - x))),
        ("relu", {"negative_slope": 0.1, "max_value": 4.0, "threshold": 1.0},
         lambda x: min(x, 4) if x > 1 else ref.mp.mpf("0.1") * (x - 1)),
        ("threshold", {"threshold": 1.0, "default_value": -2.0}, lambda x: x if x > 1 else -2),
        ("clip", {"min_value": -0.5, "max_value": 2.0}, lambda x: min(max(x, -0.5), 2)),
        ("hard_shrink", {"threshold": 1.0}, lambda x: x if abs(x) > 1 else 0),
        ("soft_shrink", {"threshold": 1.0}, lambda x: x - 1 if x > 1 else (x + 1 if x < -1 else 0)),
        ("rrelu", {"lower": 0.1, "upper": 0.3}, lambda x: x if x > 0 else x / 5),
    ],
)
def test_parameters(name, params, f):
    x = np.concatenate([np.linspace(-30, 30, 601), np.geomspace(1e-20, 1e20, 41)]).astype(np.float32)
    exact = np.array([float(f(ref.mp.mpf(float(v)))) for v in x])
    y = tf_activations.get(name)(tf.constant(x), **params).numpy()
    err, _ = ulp_errors(y, exact, np.float32)
    assert err.max() <= FP32_ULP_BAR, (name, params, float(err.max()))
    y64 = tf_activations.get(name)(tf.constant(x, tf.float64), **params).numpy()
    np.testing.assert_allclose(y64, exact, rtol=1e-12, atol=1e-300)


# portable(): float32 in float32 with TFLite builtins only. tanh_shrink cancels
# there (x - tanh(x) for 0.1 < |x| < 2), measured 258 ulp; the rest stay within 8.
PORTABLE_ULP_BAR = {"tanh_shrink": 300.0}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_portable_float32_accuracy(name):
    x = ref.points("full")
    with np.errstate(over="ignore"):
        exact = ref.table(name, "f", "full")
    with tf_activations.portable():
        y = tf_activations.get(name)(tf.constant(x)).numpy()
    err, normal = ulp_errors(y, exact, np.float32)
    worst = np.argmax(err)
    assert err[worst] <= PORTABLE_ULP_BAR.get(name, 8.0), f"{name}: {err[worst]:.2f} ulp at x={x[normal][worst]!r}"
