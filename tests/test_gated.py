"""The gated units (swiglu, geglu, reglu), softmin, and softplus' beta and threshold, against
independent float64 references: the gates and their first and second derivatives in closed
form in mpmath (tests/reference.py GATES), NumPy for softmin, mpmath for softplus.

A gated unit splits its axis into halves [a, b] (glu's order: a the value, b the gate) and
returns a * g(b). Checked: the values; both halves' gradients (dy g(b) and dy a g'(b)) from the
vjp; its Hessian-vector products (the Jacobian of the vjp) against [dy g' vb, dy g' va +
dy a g'' vb]; the limits at +-inf, huge values and NaN; odd sizes and other axes.
"""

import contextlib
import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference as ref
import tf_activations as ta
from tf_activations import native
from tf_activations.layers import LAYERS

CASES = [("swiglu", {}), ("swiglu", {"beta": 1.702}), ("geglu", {}), ("geglu", {"approximate": True}),
         ("reglu", {})]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}" for n, p in CASES]
GATED = ["swiglu", "geglu", "reglu"]
FP32_ULP_BAR = 4.0


@pytest.fixture(autouse=True, params=["exact", "exact-pure", "default", "default-pure"])
def mode(request):
    """Both precision modes, on the kernels (where built and dispatched) and on the pure-TF path."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(ta.exact(request.param.startswith("exact")))
        if request.param.endswith("pure"):
            stack.enter_context(native.disabled())
        yield request.param


def _plain_gate(name, params):
    """The gate as a user would write it in float32 with Keras' and TF's own ops: the peer the
    default mode must not fall behind, point by point."""
    if name == "swiglu":
        beta = params.get("beta", 1.0)
        return lambda b: b * tf.sigmoid(beta * b)
    if name == "geglu":
        return lambda b: keras.activations.gelu(b, approximate=params.get("approximate", False))
    return tf.nn.relu


# Gates over the ranges that matter (dense near 0, the tails where float32 runs out, huge), each
# paired with a value half of both signs and several magnitudes.
_B = np.concatenate([np.linspace(-12, 12, 193), [-100, -87.5, -50, -20, -13.2, -10.1, 20, 50, 100, 1e4, -1e4,
                                                 1e15, -1e15, 1e-20, -1e-20, 0.0]]).astype(np.float32)
_RNG = np.random.RandomState(0)
_A = (_RNG.randn(_B.size) * 3).astype(np.float32)
_A[::7] *= 1e6
_DY = _RNG.randn(_B.size).astype(np.float32)
_VA, _VB = _RNG.randn(_B.size), _RNG.randn(_B.size)


def _pairs(a, b, dtype):
    """x of shape (n, 2): row i is [a_i, b_i], so the unit gives a_i * g(b_i) in column 0."""
    return tf.constant(np.stack([a, b], -1).astype(dtype))


def _value_and_grads(fn, x, dy):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    g = tape.gradient(y, x, output_gradients=dy)
    return y.numpy()[:, 0], g.numpy()[:, 0], g.numpy()[:, 1]


def _ulp(y, exact):
    rounded = exact.astype(np.float32)
    normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(np.float32).tiny)
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(y.astype(np.float64) - exact) / np.spacing(np.abs(rounded)).astype(np.float64)
    return np.where(normal, np.where(np.isnan(err), np.inf, err), 0.0)


@pytest.fixture(scope="module")
def table():
    """The mpmath reference per case: rows y, dy/da, dy/db, (H v)_a, (H v)_b."""
    return {i: ref.gated(n, _A, _B, _DY, _VA, _VB, **p) for i, (n, p) in zip(IDS, CASES)}


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float32_values_within_4_ulp_or_the_plain_formula(name, params, mode, table):
    want = table[IDS[CASES.index((name, params))]][0]
    y = ta.get(name)(_pairs(_A, _B, np.float32), **params).numpy()[:, 0]
    assert y.dtype == np.float32
    if mode.startswith("default") and "beta" in params:
        # The default mode computes in float32, as Keras does: beta and beta * b are float32
        # numbers there (1.702 * -11.6 rounds by 1e-7 relative, 10 ulp of sigmoid's tail).
        # Judged exact for the float32 argument it computes with, as any float32 code is.
        z = (np.float32(params["beta"]) * _B).astype(np.float64)
        want = np.array([float(ref.mp.mpf(float(a)) * float(b) * ref._sig(ref.mp.mpf(float(v))))
                         for a, b, v in zip(_A, _B, z)])
    err = _ulp(y, want)
    allowed = np.full_like(err, FP32_ULP_BAR)
    if mode.startswith("default"):  # Keras' functions and TF's ops give up some ulp in float32
        plain = (tf.constant(_A) * _plain_gate(name, params)(tf.constant(_B))).numpy()
        allowed = np.maximum(allowed, _ulp(plain, want))
    worst = int(np.argmax(err - allowed))
    assert err[worst] <= allowed[worst], f"{name}{params}: {err[worst]:.3g} ulp at a={_A[worst]}, b={_B[worst]}"


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float64_values_and_both_gradients(name, params, mode, table):
    want = table[IDS[CASES.index((name, params))]]
    y, da, db = _value_and_grads(lambda t: ta.get(name)(t, **params), _pairs(_A, _B, np.float64),
                                 tf.constant(_DY[:, None].astype(np.float64)))
    tiny = np.finfo(np.float64).tiny
    for got, exact, what in ((y, want[0], "y"), (da, want[1], "dy/da"), (db, want[2], "dy/db")):
        np.testing.assert_allclose(got, exact, rtol=1e-12, atol=tiny, err_msg=f"{name}{params} {what}")


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_float32_gradients_within_1e5(name, params, mode, table):
    want = table[IDS[CASES.index((name, params))]]
    _, da, db = _value_and_grads(lambda t: ta.get(name)(t, **params), _pairs(_A, _B, np.float32),
                                 tf.constant(_DY[:, None]))
    for got, exact, what in ((da, want[1], "dy/da"), (db, want[2], "dy/db")):
        finite = np.abs(exact) < np.finfo(np.float32).max
        err = np.abs(got[finite] - exact[finite])
        tol = 1e-5 * np.maximum(1.0, np.abs(exact[finite]))
        worst = int(np.argmax(err - tol))
        assert err[worst] <= tol[worst], \
            f"{name}{params} {what}: {got[finite][worst]} vs {exact[finite][worst]} at b={_B[finite][worst]}"


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_hessian_vector_products(name, params, mode, table):
    """The Jacobian of the vjp (second derivatives of <dy, y> in both halves) against
    [dy g'(b) vb, dy g'(b) va + dy a g''(b) vb]; gates where g'' is finite in float64."""
    want = table[IDS[CASES.index((name, params))]]
    keep = np.abs(_B) < 1e4  # |b| = 1e15: b^2 in g'' of the tanh form is beyond what the test needs
    x = _pairs(_A[keep], _B[keep], np.float64)
    dy = tf.constant(_DY[keep, None].astype(np.float64))
    v = tf.constant(np.stack([_VA[keep], _VB[keep]], -1))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = ta.get(name)(x, **params)
        g = inner.gradient(y, x, output_gradients=dy)
    hv = outer.gradient(g, x, output_gradients=v).numpy()
    for col, row, what in ((0, 3, "(Hv)_a"), (1, 4, "(Hv)_b")):
        exact = want[row][keep]
        err = np.abs(hv[:, col] - exact)
        tol = 1e-10 * np.abs(exact) + 1e-12 * (1 + np.abs(_A[keep]))
        worst = int(np.argmax(np.where(np.isnan(err), np.inf, err) - tol))
        assert err[worst] <= tol[worst], (f"{name}{params} {what}: {hv[worst, col]} vs {exact[worst]} at "
                                          f"a={_A[keep][worst]}, b={_B[keep][worst]}")


def _limit_product(p, q):
    """p * q in float64, 0 where one factor is 0 and the other infinite (a closed gate on an
    infinite value: the unit's documented limit), NaN where either is NaN."""
    if np.isnan(p) or np.isnan(q):
        return np.nan
    if (np.isinf(p) and q == 0) or (np.isinf(q) and p == 0):
        return 0.0
    with np.errstate(over="ignore"):
        return float(np.float64(p) * np.float64(q))


def _gate_limits(name, params, b):
    """g(b) and g'(b) in float64 from the mpmath closed forms, b = +-inf as +-1e40."""
    if np.isnan(b):
        return np.nan, np.nan
    parts = ref.GATES[name](**params)(ref.mp.mpf(min(max(float(b), -1e40), 1e40)))
    return float(parts[0]), float(parts[1])


EXTREMES = [-np.inf, -3e38, -1.0, 0.0, 1.0, 3e38, np.inf, np.nan]


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_extremes_give_the_limit_and_nan_only_from_nan(name, params, mode):
    """Exact mode: the limit everywhere, NaN only from a NaN. The default mode: the same, except
    where the plain formula itself gives NaN."""
    a, b = (np.array(v, np.float32) for v in zip(*itertools.product(EXTREMES, EXTREMES)))
    dy = np.where(np.arange(a.size) % 3 == 0, 0.0, 1.5).astype(np.float32)  # some rows without upstream gradient
    y, da, db = _value_and_grads(lambda t: ta.get(name)(t, **params), _pairs(a, b, np.float32),
                                 tf.constant(dy[:, None]))
    peer_nan = np.zeros((a.size, 3), bool)
    if mode.startswith("default"):
        # the default mode computes the plain formula (a few fused ops): where a * gate(b) with
        # TF's own ops gives NaN (inf * 0 at a = inf, b = -inf), it may too; exact mode may not
        plain = _plain_gate(name, params)
        py, pda, pdb = _value_and_grads(lambda t: t[:, :1] * plain(t[:, 1:]), _pairs(a, b, np.float32),
                                        tf.constant(dy[:, None]))
        peer_nan = np.isnan(np.stack([py, pda, pdb], -1))
    for i in range(a.size):
        g, g1 = _gate_limits(name, params, b[i])
        want = np.float32([_limit_product(a[i], g), _limit_product(dy[i], g),
                           _limit_product(_limit_product(dy[i], g1), a[i])])
        got = np.float32([y[i], da[i], db[i]])
        with np.errstate(invalid="ignore"):
            close = np.abs(got - want) <= 1e-5 * np.maximum(1.0, np.abs(want))
        same = (got == want) | close | (np.isnan(got) & np.isnan(want)) | (np.isnan(got) & peer_nan[i])
        assert same.all(), f"{name}{params} at a={a[i]}, b={b[i]}, dy={dy[i]}: y, da, db {got} != {want}"


@pytest.mark.parametrize("name", GATED)
def test_odd_size_is_a_clear_error(name, mode):
    with pytest.raises(ValueError, match=rf"{name}\(\).*even size along axis -1.*size 5"):
        ta.get(name)(tf.zeros([2, 5]))
    with pytest.raises(ValueError, match=rf"{name}\(\).*even size along axis 0.*size 3"):
        ta.get(name)(tf.zeros([3, 4]), axis=0)
    fn = tf.function(ta.get(name), input_signature=[tf.TensorSpec([None, None], tf.float32)])
    assert fn(tf.ones([1, 2])).shape == (1, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=rf"{name}\(\) expects an even size along axis -1"):
        fn(tf.zeros([2, 3]))


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_other_axes_split_that_axis(name, params, mode):
    x = np.random.RandomState(3).randn(3, 4, 5) * 2
    gate = ref.GATES[name](**params)
    for axis in (1, -2):
        a, b = np.split(x, 2, axis=axis)
        want = a * np.vectorize(lambda v: float(gate(ref.mp.mpf(float(v)))[0]))(b)
        y = ta.get(name)(tf.constant(x), axis=axis, **params).numpy()
        np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-300)
    with pytest.raises(ValueError, match=rf"{name}\(\).*even size along axis 0"):
        ta.get(name)(tf.constant(x), axis=0, **params)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_half_types_keep_their_dtype(name, params, dtype, mode):
    x = tf.cast(tf.constant(np.linspace(-6, 6, 64).reshape(8, 8)), dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ta.get(name)(x, **params)
    g = tape.gradient(y, x)
    assert y.dtype == dtype and g.dtype == dtype and y.shape == (8, 4)
    x64 = tf.cast(x, tf.float64).numpy()
    gate = ref.GATES[name](**params)
    want = x64[:, :4] * np.vectorize(lambda v: float(gate(ref.mp.mpf(float(v)))[0]))(x64[:, 4:])
    step = 2.0 ** -10 if dtype == tf.float16 else 2.0 ** -7
    np.testing.assert_allclose(tf.cast(y, tf.float64).numpy(), want, rtol=2 * step, atol=1e-3)


def test_swiglu_beta_is_swish_beta_and_must_be_positive(mode):
    x = tf.constant([[2.0, -1.5]], tf.float64)
    np.testing.assert_allclose(ta.swiglu(x, beta=2.0).numpy(), [[2.0 * -1.5 / (1 + np.exp(3.0))]], rtol=1e-14)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=r"swiglu\(\) expects beta to be a real number in \(0, inf\)"):
            ta.swiglu(x, beta=bad)
    with pytest.raises(TypeError, match=r"swiglu\(\) expects beta"):
        ta.swiglu(x, beta=tf.Variable(1.0))


@pytest.mark.parametrize("name, params", CASES, ids=IDS)
def test_layers_take_the_parameters_and_round_trip(name, params, mode):
    layer = LAYERS[name](axis=1, **params)
    clone = type(layer).from_config(layer.get_config())
    x = tf.constant(np.random.RandomState(4).randn(2, 6, 3).astype(np.float32))
    assert tuple(layer.compute_output_shape((2, 6, 3))) == (2, 3, 3)
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
    np.testing.assert_array_equal(layer(x).numpy(), ta.get(name)(x, axis=1, **params).numpy())
    assert type(layer).__name__ == {"swiglu": "SwiGLU", "geglu": "GeGLU", "reglu": "ReGLU"}[name]


# ---- softmin ---------------------------------------------------------------------------------

def _np_softmin(z, axis=-1):
    e = np.exp(-(z - z.min(axis, keepdims=True)))
    return e / e.sum(axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 0, (0, 2)])
def test_softmin_values_and_gradient(axis, mode):
    x = np.random.RandomState(5).randn(3, 4, 5) * 4
    dy = np.random.RandomState(6).randn(3, 4, 5)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = ta.softmin(xt, axis=axis)
    g = tape.gradient(y, xt, output_gradients=tf.constant(dy)).numpy()
    s = _np_softmin(x, axis)
    np.testing.assert_allclose(y.numpy(), s, rtol=1e-13)
    # d softmin / dx = -(diag(s) - s s^T): the vjp is -s (dy - <s, dy>)
    np.testing.assert_allclose(g, -s * (dy - (s * dy).sum(axis, keepdims=True)), rtol=1e-12, atol=1e-15)
    if axis == -1:
        np.testing.assert_allclose(ta.derivative("softmin", xt).numpy(), -s * (1 - s), rtol=1e-12, atol=1e-300)


def test_softmin_is_stable_at_the_extremes(mode):
    """Exact mode: softmax's limits everywhere. The default mode runs TF's softmax of -x (Keras'
    softmax op): the same values on the rows where that op gives no NaN, NaN where it does."""
    x = tf.constant([[1e30, 0.0, -1e30], [np.inf, 0.0, 1.0], [-np.inf, -np.inf, 0.0],
                     [np.inf, np.inf, np.inf], [np.nan, 0.0, 1.0], [3e38, 3e38, -3e38]], tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ta.softmin(x)
    g = tape.gradient(y, x, output_gradients=tf.constant(np.arange(18.0).reshape(6, 3), tf.float32)).numpy()
    y = y.numpy()
    want = np.array([[0, 0, 1], [0, 1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0))],
                     [0.5, 0.5, 0],  # -inf entries share the mass
                     [0, 0, 0],  # all +inf: all zeros, as softmax of all -inf
                     [np.nan] * 3,  # a NaN slice is all NaN
                     [0, 0, 1]])
    rows = np.ones(6, bool)
    if mode.startswith("default"):
        peer = tf.nn.softmax(-x).numpy()
        rows = ~np.isnan(peer).any(-1)
        assert rows.tolist() == [True, True, False, False, False, True]
        np.testing.assert_array_equal(y[~rows], peer[~rows])
    else:
        assert np.isnan(g[4]).all()
    np.testing.assert_allclose(y[rows], want[rows], rtol=1e-6, atol=0)
    assert np.isfinite(g[rows & ~np.isnan(want).any(-1)]).all()


def test_softmin_layer_and_string(mode):
    x = np.random.RandomState(7).randn(2, 3, 4).astype(np.float32)
    np.testing.assert_allclose(LAYERS["softmin"](axis=1)(x).numpy(), _np_softmin(x.astype(np.float64), 1), rtol=1e-6)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmin")])
    out = model.predict(x[0], verbose=0)
    w, b = model.get_weights()
    np.testing.assert_allclose(out, _np_softmin(x[0].astype(np.float64) @ w + b), rtol=1e-5, atol=1e-7)


# ---- softplus(beta, threshold) -----------------------------------------------------------------

def test_softplus_default_is_keras_softplus(mode):
    """beta = 1 without a threshold keeps today's paths: Keras' softplus in the default mode
    (bit for bit, also when the defaults are passed explicitly)."""
    x = tf.constant(np.linspace(-30, 30, 1001, dtype=np.float32))
    ours = [ta.softplus(x), ta.softplus(x, beta=1.0, threshold=None), ta.softplus(x, 1.0)]
    if mode.startswith("default"):
        for y in ours:
            np.testing.assert_array_equal(y.numpy(), keras.activations.softplus(x).numpy())
    exact = np.array([float(ref.mp.log1p(ref.mp.exp(ref.mp.mpf(float(v))))) for v in x.numpy()])
    for y in ours:
        np.testing.assert_allclose(y.numpy(), exact, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softplus_beta_never_overflows_where_the_result_is_finite(dtype, mode):
    x = tf.constant(np.array([1e38, -1e38, 3e38, 0.0], dtype))
    y = ta.softplus(x, beta=4.0).numpy()
    np.testing.assert_array_equal(y[:3], np.array([1e38, 0.0, 3e38], dtype))
    assert y[3] == pytest.approx(np.log(2.0) / 4.0, rel=1e-6)
    # a tiny beta: log(2) / beta is large but finite; softplus(x) / beta ~ log 2 / beta + x / 2
    tiny = ta.softplus(tf.constant([0.0, 1.0], tf.float64), beta=1e-30).numpy()
    np.testing.assert_allclose(tiny, [np.log(2.0) * 1e30, np.log(2.0) * 1e30 + 0.5], rtol=1e-15)


def test_softplus_threshold_is_pytorchs_switch(mode):
    """Where beta x > threshold the value is x and the slope 1, below it the smooth function:
    the jump log1p(exp(-threshold)) / beta that PyTorch's definition has, resolved in float64."""
    beta, threshold = 2.0, 20.0
    x = tf.constant([np.nextafter(10.0, 0.0), 10.0, np.nextafter(10.0, 11.0)], tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ta.softplus(x, beta=beta, threshold=threshold)
    g = tape.gradient(y, x).numpy()
    below = [float(ref.mp.log1p(ref.mp.exp(2 * ref.mp.mpf(float(v)))) / 2) for v in x.numpy()[:2]]
    np.testing.assert_allclose(y.numpy()[:2], below, rtol=1e-15)  # beta x == threshold: not above it
    assert y.numpy()[2] == x.numpy()[2]
    assert y.numpy()[1] - 10.0 == pytest.approx(np.log1p(np.exp(-20.0)) / 2, rel=1e-6)
    np.testing.assert_allclose(g, [1 / (1 + np.exp(-20.0))] * 2 + [1.0], rtol=1e-15)


def test_softplus_beta_in_float32_is_exact_for_the_argument_it_computes_with(mode):
    """beta = 3: exact mode within 4 ulp of the true value; the default mode computes in float32,
    as Keras and PyTorch do, where beta * x rounds (3 * -20.3 by 1e-7 relative: 60 ulp of the
    exp tail), so it is judged against the exact value at that float32 argument."""
    x = np.concatenate([np.linspace(-30, 30, 601), -np.geomspace(1e-20, 1e3, 41)]).astype(np.float32)
    y = ta.softplus(tf.constant(x), beta=3.0).numpy()
    z = x.astype(np.float64) * 3 if mode.startswith("exact") else (np.float32(3.0) * x).astype(np.float64)
    want = np.array([float(ref.mp.log1p(ref.mp.exp(ref.mp.mpf(float(v)))) / 3) for v in z])
    err = _ulp(y, want)
    assert err.max() <= FP32_ULP_BAR, f"{err.max():.3g} ulp at x={x[np.argmax(err)]}"


@pytest.mark.parametrize("kwargs, error, words", [
    ({"beta": 0.0}, ValueError, ["beta", "(0, inf)", "0.0"]),
    ({"beta": -2.0}, ValueError, ["beta", "-2.0"]),
    ({"threshold": "20"}, TypeError, ["threshold", "a real number or None", "'20'"]),
    ({"threshold": float("nan")}, ValueError, ["threshold", "nan"]),
])
def test_softplus_bad_parameters_are_named(kwargs, error, words, mode):
    with pytest.raises(error) as info:
        ta.softplus(tf.ones(3), **kwargs)
    assert all(w in str(info.value) for w in ["softplus()"] + words), str(info.value)


def test_softplus_layer_takes_beta_and_threshold(mode):
    layer = LAYERS["softplus"](beta=2.0, threshold=5.0)
    assert (layer.beta, layer.threshold) == (2.0, 5.0)
    clone = type(layer).from_config(layer.get_config())
    x = tf.constant([-1.0, 1.0, 3.0])
    np.testing.assert_array_equal(clone(x).numpy(), layer(x).numpy())
    np.testing.assert_allclose(layer(x).numpy(), [np.log1p(np.exp(-2.0)) / 2, np.log1p(np.exp(2.0)) / 2, 3.0],
                               rtol=1e-6)
