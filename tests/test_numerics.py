"""Values and first/second derivatives of every elementwise activation against mpmath.

The bar in exact mode (float32 against the correctly rounded result): at most
4 ulp wherever the result is a normal float32, over [-100, 100] and
1e-30 .. 3e38 of both signs; float64 within 1e-12 relative; gradients within
1e-5 of the closed form (relative above 1, absolute below).

In the default mode the same bar holds point by point, except where Keras'
own function (the independent peer the default must never fall behind) is
further off at that point: there ours may be as far off as Keras, no further.
Names Keras lacks meet the exact-mode bar in both modes.
"""

import contextlib

import numpy as np
import pytest
import tensorflow as tf

import reference as ref
import tf_activations
from tf_activations import native
from peers import keras_peer

ELEMENTWISE = sorted(ref.ELEMENTWISE)
FP32_ULP_BAR = 4.0


@pytest.fixture(autouse=True, params=["exact", "exact-pure", "default", "default-pure"])
def implementation(request):
    """Every check runs in both precision modes, on the C++ kernels (where built and
    dispatched) and on the pure-TF path."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(tf_activations.exact(request.param.startswith("exact")))
        if request.param.endswith("pure"):
            stack.enter_context(native.disabled())
        yield request.param


def test_reference_covers_every_activation():
    """tests/reference.py holds each declaration's references: mpmath (f, f') for every
    elementwise function, float64 NumPy for every function."""
    names = {n for n in tf_activations.available() if tf_activations.info(n)["elementwise"]}
    assert names == set(ELEMENTWISE), "add the mpmath f and f' to reference.ELEMENTWISE"
    assert set(ref.NUMPY) == set(tf_activations.available()), "add a float64 function to reference.NUMPY"


def ulp_errors(y, exact, dtype):
    """|y - exact| in units of the last place of the rounded exact value, where that is normal."""
    rounded = exact.astype(dtype)
    normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(dtype).tiny)
    spacing = np.spacing(np.abs(rounded[normal])).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(y[normal].astype(np.float64) - exact[normal]) / spacing
    return np.where(np.isnan(err), np.inf, err), normal


def value_and_grad(fn, x):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def first_excess(err, allowed):
    """Index of the worst point over its bar (inf over inf counts as within)."""
    over = np.where(err <= allowed, -np.inf, err)
    return int(np.argmax(over))


def bar(ours_err, peer, peer_err_of, default):
    """The allowed error at each point: ``default``, or the peer's own error where it is larger."""
    if peer is None:
        return np.full_like(ours_err, default)
    return np.maximum(default, peer_err_of(peer))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float32_forward_within_4_ulp(name, implementation):
    x = ref.points("full")
    with np.errstate(over="ignore"):
        exact = ref.table(name, "f", "full")
    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert y.dtype == np.float32
    err, normal = ulp_errors(y, exact, np.float32)
    allowed = bar(err, keras_peer(name, implementation), lambda f: ulp_errors(f(tf.constant(x)).numpy(), exact,
                                                                               np.float32)[0], FP32_ULP_BAR)
    worst = first_excess(err, allowed)
    assert err[worst] <= allowed[worst], f"{name}: {err[worst]:.2f} ulp at x={x[normal][worst]!r}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_float64_forward_within_1e12_relative(name, implementation):
    x = ref.points("full").astype(np.float64)
    exact = ref.table(name, "f", "full")
    check = np.isfinite(exact) & (np.abs(exact) >= np.finfo(np.float64).tiny)
    zeros = exact == 0.0

    def relative(y):
        with np.errstate(invalid="ignore"):
            rel = np.abs(y[check] - exact[check]) / np.abs(exact[check])
        return np.where(np.isnan(rel), np.inf, rel)

    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert y.dtype == np.float64
    rel = relative(y)
    peer = keras_peer(name, implementation)
    y_peer = None if peer is None else peer(tf.constant(x)).numpy()
    allowed = np.full_like(rel, 1e-12) if peer is None else np.maximum(1e-12, relative(y_peer))
    worst = np.argmax(rel - allowed)
    assert rel[worst] <= allowed[worst], f"{name}: relative error {rel[worst]:.3g} at x={x[check][worst]!r}"
    exact_zero = (y[zeros] == 0.0) | (False if y_peer is None else y_peer[zeros] != 0.0)
    assert exact_zero.all(), f"{name}: {y[zeros][~exact_zero]} where the result is 0"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradient_matches_closed_form(name, dtype, implementation):
    x = ref.points("full").astype(dtype)
    exact = ref.table(name, "df", "full")
    _, g = value_and_grad(tf_activations.get(name), x)
    assert g.dtype == dtype
    check = np.isfinite(exact) & (np.abs(exact) < np.finfo(dtype).max)

    def error(g):
        with np.errstate(invalid="ignore"):
            err = np.abs(g[check] - exact[check])
        return np.where(np.isnan(err), np.inf, err)

    err = error(g)
    tol = 1e-5 * np.maximum(1.0, np.abs(exact[check]))
    peer = keras_peer(name, implementation)
    if peer is not None:
        tol = np.maximum(tol, error(value_and_grad(peer, x)[1]))
    worst = first_excess(err, tol)
    assert err[worst] <= tol[worst], f"{name}: f'={g[check][worst]} vs {exact[check][worst]} at x={x[check][worst]!r}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_declared_derivative_matches_reference(name):
    x = ref.points("moderate")
    exact = ref.table(name, "df", "moderate")
    d = tf_activations.derivative(name, tf.constant(x, tf.float64)).numpy()
    np.testing.assert_allclose(d, exact, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ref.SMOOTH)
def test_second_derivative(name, implementation):
    x = np.linspace(-8, 8, 33) + 0.1  # off 0: elu, celu and selu are C1 there, not C2
    exact = np.array([ref.second_derivative(name, v) for v in x])

    def hessian_diagonal(fn):
        """f'' at x, or NaN where TF has no gradient for the gradient (tf.nn.softsign's)."""
        xt = tf.constant(x, tf.float64)
        with tf.GradientTape() as outer:
            outer.watch(xt)
            with tf.GradientTape() as inner:
                inner.watch(xt)
                y = fn(xt)
            g = inner.gradient(y, xt)
        try:
            h = outer.gradient(g, xt)
        except LookupError:
            return np.full_like(x, np.nan)
        return np.zeros_like(x) if h is None else h.numpy()  # None: the gradient is constant

    err = np.abs(hessian_diagonal(tf_activations.get(name)) - exact)
    err = np.where(np.isnan(err), np.inf, err)
    tol = 1e-10 + 1e-8 * np.abs(exact)
    peer = keras_peer(name, implementation)
    if peer is not None:
        peer_err = np.abs(hessian_diagonal(peer) - exact)
        tol = np.maximum(tol, np.where(np.isnan(peer_err), np.inf, peer_err))
    assert (err <= tol).all(), f"{name}'' off by {err.max():.3g} at x={x[np.argmax(err - tol)]}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_infinities_give_no_nan(name, implementation):
    x = np.array([-np.inf, np.inf], np.float32)
    # the limit, as float32 sees it: f at +-1e40 rounded to float32
    with np.errstate(over="ignore"):
        limit = np.array([float(ref.ELEMENTWISE[name][0](ref.mp.mpf(v))) for v in (-1e40, 1e40)]).astype(np.float32)

    def right(fn):
        y, g = value_and_grad(fn, x)
        with np.errstate(invalid="ignore"):  # inf - inf where the limit is reached exactly
            return (np.abs(y - limit) <= 1e-30) | (y == limit), ~np.isnan(g)

    y_ok, g_ok = right(tf_activations.get(name))
    peer = keras_peer(name, implementation)
    if peer is not None:  # where Keras itself gives NaN or a wrong limit, the default may too
        peer_y_ok, peer_g_ok = right(peer)
        y_ok, g_ok = y_ok | ~peer_y_ok, g_ok | ~peer_g_ok
    assert y_ok.all(), f"{name}(+-inf) is not the limit {limit}"
    assert g_ok.all(), f"{name}'(+-inf) is NaN"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_nan_propagates(name, implementation):
    x = np.array([np.nan, 1.0], np.float32)
    y, _ = value_and_grad(tf_activations.get(name), x)
    peer = keras_peer(name, implementation)
    # Keras' hard_shrink, soft_shrink and threshold map NaN to 0; the default keeps Keras' answer
    if peer is None or np.isnan(value_and_grad(peer, x)[0][0]):
        assert np.isnan(y[0]), f"{name}(nan) = {y[0]}"
    assert not np.isnan(y[1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_finite_input_gives_finite_output_and_gradient(name, implementation):
    x = np.array([-1e4, -88.8, -30.0, 30.0, 88.8, 1e4, 3e38, -3e38], np.float32)
    if name == "exponential":  # exp(x) > float32 max is inf, the one documented exception
        x = x[:3]
    with np.errstate(over="ignore"):
        exact = np.array([float(ref.ELEMENTWISE[name][1](ref.mp.mpf(float(v)))) for v in x])
        value = np.array([float(ref.ELEMENTWISE[name][0](ref.mp.mpf(float(v)))) for v in x])
    representable = np.abs(exact) < np.finfo(np.float32).max
    # squared_relu(3e38) is 9e76: inf is the float32 answer there, as for exp(89)
    value_representable = np.abs(value) < np.finfo(np.float32).max

    def finite(fn):
        y, g = value_and_grad(fn, x)
        return np.isfinite(y) | ~value_representable, np.isfinite(g) | ~representable

    y_ok, g_ok = finite(tf_activations.get(name))
    peer = keras_peer(name, implementation)
    if peer is not None:
        peer_y_ok, peer_g_ok = finite(peer)
        y_ok, g_ok = y_ok | ~peer_y_ok, g_ok | ~peer_g_ok
    assert y_ok.all(), f"{name}: not finite at {x[~y_ok]}"
    assert g_ok.all(), f"{name}': not finite at {x[~g_ok]}"


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_half_precision_keeps_dtype_and_rounds_once(name, dtype, implementation):
    x = tf.cast(tf.constant(np.linspace(-12, 12, 241)), dtype)
    x64 = tf.cast(x, tf.float64).numpy()
    exact = np.array([float(ref.ELEMENTWISE[name][0](ref.mp.mpf(float(v)))) for v in x64])

    def error(fn):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        g = tape.gradient(y, x)
        assert y.dtype == dtype and g.dtype == dtype
        return np.abs(tf.cast(y, tf.float64).numpy() - exact)

    # one rounding of a float32-accurate value: within one ulp of the half type
    step = 2.0 ** -10 if dtype == tf.float16 else 2.0 ** -7
    tiny = 6.1e-5 if dtype == tf.float16 else 1.2e-38
    bound = np.maximum(np.abs(exact), tiny) * step + tiny * step
    if dtype == tf.bfloat16:  # TF flushes bfloat16 subnormals to zero, its cast from float64 too
        bound = np.where(np.abs(exact) < tiny, np.maximum(bound, np.abs(exact)), bound)
    peer = keras_peer(name, implementation)
    if peer is not None:  # Keras computes in the half type itself
        bound = np.maximum(bound, error(peer))
    finite = np.abs(exact) < (65504 if dtype == tf.float16 else 3e38)
    assert np.all(error(tf_activations.get(name))[finite] <= bound[finite]), name


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
        # PyTorch's definition: log1p(exp(beta x)) / beta, and x itself where beta x > threshold
        ("softplus", {"beta": 2.0}, lambda x: ref.mp.log1p(ref.mp.exp(2 * x)) / 2),
        ("softplus", {"beta": 0.25}, lambda x: 4 * ref.mp.log1p(ref.mp.exp(x / 4))),
        ("softplus", {"beta": 1.0, "threshold": 20.0}, lambda x: x if x > 20 else ref.mp.log1p(ref.mp.exp(x))),
        # betas that are powers of 2, so beta * x is exact in float32 (beta = 3: tests/test_gated.py)
        ("softplus", {"beta": 4.0, "threshold": 5.0},
         lambda x: x if 4 * x > 5 else ref.mp.log1p(ref.mp.exp(4 * x)) / 4),
    ],
)
def test_parameters(name, params, f, implementation):
    x = np.concatenate([np.linspace(-30, 30, 601), np.geomspace(1e-20, 1e20, 41)]).astype(np.float32)
    exact = np.array([float(f(ref.mp.mpf(float(v)))) for v in x])
    y = tf_activations.get(name)(tf.constant(x), **params).numpy()
    err, _ = ulp_errors(y, exact, np.float32)
    peer = keras_peer(name, implementation, **params)
    allowed = bar(err, peer, lambda p: ulp_errors(p(tf.constant(x)).numpy(), exact, np.float32)[0], FP32_ULP_BAR)
    assert (err <= allowed).all(), (name, params, float(err.max()))
    x64 = tf.constant(x, tf.float64)
    y64 = tf_activations.get(name)(x64, **params).numpy()
    err64 = np.abs(y64 - exact)
    allowed = 1e-300 + 1e-12 * np.abs(exact)
    if peer is not None:
        allowed = np.maximum(allowed, np.abs(peer(x64).numpy() - exact))
    assert (err64 <= allowed).all(), (name, params, float((err64 / allowed).max()))
