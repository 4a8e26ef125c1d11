"""The fused C++ kernels against the pure-TF path: values, gradients, dtypes, shapes, dispatch.

The library is built from ``kernels/`` once per session into a temporary cache
(so CI compiles from source); without a compiler the module is skipped.
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tf_activations as tfa
from tf_activations import native

DTYPES = [tf.float16, tf.bfloat16, tf.float32, tf.float64]
# (activation, params) covering every kernel fn
CASES = [
    ("sigmoid", {}),
    ("tanh", {}),
    ("mish", {}),
    ("swish", {"beta": 1.3}),
    ("swish", {"beta": 1.0}),
    ("silu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("hard_swish", {}),
    ("hard_sigmoid", {}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("celu", {"alpha": 1.5}),
    ("softplus", {}),
    ("lisht", {}),
    ("snake", {"frequency": 0.8}),
]
IDS = [name + "".join(f"-{k}={v}" for k, v in kw.items()) for name, kw in CASES]
EXTREMES = [np.nan, np.inf, -np.inf, 3e38, -3e38, 1e-45, -1e-45, 1e-310, 0.0, -0.0, 20.0, 20.5,
            -3.0, 3.0, -88.0, -100.0, 700.0, -700.0, -710.0, -712.0, 65504.0, -65504.0]

# tolerances (rtol, atol) for forward and backward in each dtype
_FWD_TOL = {tf.float16: (1e-3, 1e-7), tf.bfloat16: (8e-3, 1e-7), tf.float32: (4.8e-7, 1e-37),
            tf.float64: (1e-12, 1e-307)}  # 1e-307: a normal result that flushes to 0 fails
_BWD_TOL = {tf.float16: (2e-3, 1e-4), tf.bfloat16: (1.6e-2, 1e-3), tf.float32: (1e-4, 5e-7),
            tf.float64: (1e-12, 1e-15)}


@pytest.fixture(scope="session")
def lib(tmp_path_factory):
    if os.environ.get("TF_ACTIVATIONS_PURE"):
        pytest.skip("TF_ACTIVATIONS_PURE is set")
    if native._lib is not None:  # already loaded in this process (ops can register once)
        return native._lib
    from tf_activations.native import builder

    cache = tmp_path_factory.mktemp("tfa_cache")
    old = os.environ.get("TF_ACTIVATIONS_CACHE")
    os.environ["TF_ACTIVATIONS_CACHE"] = str(cache)
    try:
        path = builder.build(builder.host_variants()[:1], verbose=False)
    except builder.BuildError as err:
        pytest.skip(f"kernel library cannot be built here: {err}")
    finally:
        if old is None:
            os.environ.pop("TF_ACTIVATIONS_CACHE", None)
        else:
            os.environ["TF_ACTIVATIONS_CACHE"] = old
    loaded = native.load(path, reload=True)
    if loaded is None:
        pytest.skip(f"kernel library {path} does not load")
    return loaded


def _inputs(n=1031, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(0.0, 4.0, n), rng.uniform(-30, 30, 64), EXTREMES])


def _close(actual, expected, rtol, atol):
    a = np.asarray(tf.cast(actual, tf.float64))
    b = np.asarray(tf.cast(expected, tf.float64))
    assert a.shape == b.shape
    both_nan = np.isnan(a) & np.isnan(b)
    with np.errstate(invalid="ignore"):
        ok = both_nan | (a == b) | (np.abs(a - b) <= rtol * np.abs(b) + atol)
    bad = np.flatnonzero(~ok)
    assert bad.size == 0, f"{bad.size} mismatches, e.g. {[(a.flat[i], b.flat[i]) for i in bad[:5]]}"


def _first_and_second(fn, x, kw):
    """f'(x) and the diagonal of f''(x), by nested tapes."""
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = fn(x, **kw)
        g = inner.gradient(y, x)
    return g, outer.gradient(g, x, unconnected_gradients=tf.UnconnectedGradients.ZERO)


def _value_and_grad(fn, x, kw, dy):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x, **kw)
    return y, tape.gradient(y, x, output_gradients=dy)


@pytest.fixture(autouse=True)
def every_kernel_in_exact_mode():
    """The kernels themselves are under test: every one is dispatched (whatever the mode would
    pick), against the exact-mode composite."""
    with tfa.exact(), native.every_kernel():
        yield


def _both(fn, *args):
    kernel = fn(*args)
    with native.disabled():
        pure = fn(*args)
    return kernel, pure


def _uses_kernel(f, *args):
    graph = f.get_concrete_function(*args).graph
    return any(op.type == "TfaForward" for op in graph.get_operations())


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_values_and_gradients_match_pure_tf(lib, name, kw, dtype):
    fn = getattr(tfa, name)
    x = tf.cast(tf.constant(_inputs()), dtype)
    dy = tf.cast(tf.constant(np.linspace(-2, 2, x.shape[0])), dtype)
    (yk, gk), (yp, gp) = _both(_value_and_grad, fn, x, kw, dy)
    assert yk.dtype == dtype and gk.dtype == dtype
    _close(yk, yp, *_FWD_TOL[dtype])
    rtol, atol = _BWD_TOL[dtype]
    _close(gk, gp, rtol, atol)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_float32_forward_within_4_ulp_of_float64(lib, name, kw):
    """Kernels may use float math for float32 where it stays within 4 ulp (normal outputs)."""
    fn = getattr(tfa, name)
    rng = np.random.default_rng(7)
    x = np.concatenate([rng.normal(0, 3, 100_000), rng.uniform(-110, 110, 50_000),
                        np.geomspace(1e-30, 1e3, 5000), -np.geomspace(1e-30, 1e3, 5000)]).astype(np.float32)
    y = fn(tf.constant(x), **kw).numpy().astype(np.float64)
    with native.disabled():
        ref = fn(tf.constant(x, tf.float64), **kw).numpy()
    normal = np.abs(ref) >= np.finfo(np.float32).smallest_normal
    ulp = np.spacing(np.abs(ref[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(y[normal] - ref[normal]) / ulp
    # swish's float64 reference uses beta=1.3 exactly; the float32 input path rounds beta first
    limit = 4.0 if "beta" not in kw else 64.0
    assert err.max() <= limit, f"{err.max():.2f} ulp at x={x[normal][err.argmax()]}"


def _closed_form_second(name, kw):
    """f'' in float64 for a case of CASES, from SECOND's closed forms (any swish beta)."""
    if name == "swish":
        return lambda x: _swish2(x, kw["beta"])
    if name == "snake":
        return lambda x: _snake2(x, kw["frequency"], tf.float64)
    return next(f2 for n, k, f2 in SECOND if n == name and k == kw)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_second_order(lib, name, kw):
    """The kernels' second derivative (their backward op differentiated) against the closed
    form, at random finite points, for every kernel case, parameters included."""
    x = np.concatenate([_inputs(200, seed=1), [-2.5, 2.5, 0.3]])
    # away from the kinks, and from subnormals (read as 0 by the kernels: the kink again)
    x = x[np.isfinite(x) & (np.abs(x) < 1e4) & (np.abs(x) > 1e-30) & ~np.isin(x, _KINKS.get(name, ()))]
    _, h = _first_and_second(getattr(tfa, name), tf.constant(x), kw)
    with np.errstate(over="ignore", invalid="ignore"):
        want = _closed_form_second(name, kw)(x)
    _close(h, tf.constant(want), 1e-9, 1e-12)


# kernels that save f'(x) in a training graph; swish only at beta = 1 (silu's op: no d/dbeta)
SAVED = {name for name, k in native.kernel_table() if k.saved}
SAVED_CASES = [(n, kw) for n, kw in CASES if n in SAVED and kw.get("beta", 1.0) == 1.0]


def _op_types(f, *args):
    return {op.type for op in f.get_concrete_function(*args).graph.get_operations()}


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name,kw", SAVED_CASES, ids=[n + "".join(f"-{k}={v}" for k, v in kw.items())
                                                      for n, kw in SAVED_CASES])
def test_a_training_graph_saves_the_derivative_instead_of_x(lib, name, kw, dtype, monkeypatch):
    """In a tf.function whose tape records x, a `saved` kernel's forward also writes g = f'(x)
    and the backward pass is dy * g: nothing after the forward reads x (so it is freed, and g
    takes its place). y and dx equal the two-op path's (forward op, then backward op on x)
    bitwise; half types round g before the multiply, so within a rounding, and swish's two-op
    backward is its own functor's."""
    fn = getattr(tfa, name)
    x = tf.cast(tf.constant(_inputs()), dtype)
    dy = tf.cast(tf.constant(np.linspace(-2, 2, x.shape[0])), dtype)

    def traced():
        return tf.function(lambda x, dy: _value_and_grad(fn, x, kw, dy), autograph=False)

    saved = traced()
    graph = saved.get_concrete_function(x, dy).graph
    assert {"TfaForwardSaved", "TfaAttach"} <= _op_types(saved, x, dy)
    assert "TfaBackward" not in _op_types(saved, x, dy)
    x_readers = {op.type for op in graph.get_operations() if any(t is graph.inputs[0] for t in op.inputs)}
    assert x_readers == {"TfaForwardSaved", "TfaAttach"}
    y, dx = saved(x, dy)
    monkeypatch.setattr(native, "_saved_off", True)
    two_op = traced()
    assert "TfaBackward" in _op_types(two_op, x, dy)
    y2, dx2 = two_op(x, dy)
    np.testing.assert_array_equal(_bits(y), _bits(y2))
    # swish at beta = 1: the two-op path's backward is swish's (it also sums d/dbeta), silu's here
    if dtype in (tf.float32, tf.float64) and name != "swish":
        np.testing.assert_array_equal(_bits(dx), _bits(dx2))
    else:
        _close(dx, dx2, *_BWD_TOL[dtype])


def test_no_saved_derivative_without_a_tape_or_eagerly(lib):
    """Inference graphs and eager calls run the plain forward op: no second output to write, and
    an eager tape would keep x, y and g."""
    x = tf.constant(_inputs(), tf.float32)
    assert _op_types(tf.function(tfa.silu), x) >= {"TfaForward"}
    assert "TfaForwardSaved" not in _op_types(tf.function(tfa.silu), x)
    with tf.GradientTape() as tape:  # eager: the op's own registered gradient (TfaBackward)
        tape.watch(x)
        y = tfa.silu(x)
    assert y.dtype == tf.float32 and tape.gradient(y, x).shape == x.shape


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("name,param", [("swish", "beta"), ("snake", "frequency")])
def test_parameter_gradients_first_and_second_order(lib, name, param, dtype):
    fn = getattr(tfa, name)
    x = tf.cast(tf.constant(_inputs(3001, seed=2)[:3001]), dtype)
    dy = tf.cast(tf.constant(np.cos(np.arange(3001.0))), dtype)

    def grads():
        p = tf.Variable(tf.constant(0.9, dtype))
        with tf.GradientTape(persistent=True) as outer:
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = fn(x, **{param: p})
            gx, gp = inner.gradient(y, [x, p], output_gradients=dy)
            s = tf.reduce_sum(gx * gx)
        return gx, gp, outer.gradient(s, p), outer.gradient(gp, p)

    kernel, pure = _both(grads)
    rtol = 1e-4 if dtype == tf.float32 else 1e-10
    for k, p in zip(kernel, pure):
        _close(k, p, rtol, rtol)


def test_shapes_empty_scalar_odd_and_transposed(lib):
    for shape in [(0,), (3, 0), (), (1,), (7,), (9,), (17,), (2049,), (5, 3, 11)]:
        x = tf.random.stateless_normal(shape, seed=[1, 2], dtype=tf.float32) * 4
        dy = tf.ones_like(x)
        for name, kw in CASES:
            (yk, gk), (yp, gp) = _both(_value_and_grad, getattr(tfa, name), x, kw, dy)
            assert yk.shape == x.shape and gk.shape == x.shape
            _close(yk, yp, 4.8e-7, 1e-37)
            _close(gk, gp, 1e-4, 5e-7)
    x = tf.reshape(tf.range(-300.0, 300.0, 0.5), (40, 30))
    xt = tf.transpose(x)
    (yk, gk), (yp, gp) = _both(_value_and_grad, tfa.mish, xt, {}, tf.ones_like(xt))
    _close(yk, yp, 4.8e-7, 1e-37)
    _close(gk, gp, 1e-4, 5e-7)
    _close(yk, tf.transpose(tfa.mish(x)), 0, 0)


@pytest.mark.slow
@pytest.mark.parametrize("name,kw", [("mish", {}), ("swish", {"beta": 1.1}), ("gelu", {}),
                                     ("snake", {"frequency": 1.7}), ("hard_swish", {})])
def test_large_threaded(lib, name, kw):
    n = 1 << 20
    x = tf.random.stateless_normal([n], seed=[3, 4]) * 5
    dy = tf.random.stateless_normal([n], seed=[5, 6])
    fn = getattr(tfa, name)
    (yk, gk), (yp, gp) = _both(_value_and_grad, fn, x, kw, dy)
    _close(yk, yp, 4.8e-7, 1e-37)
    _close(gk, gp, 1e-4, 5e-7)
    if kw:
        param = next(iter(kw))

        def pgrad():
            p = tf.Variable(kw[param])
            with tf.GradientTape() as tape:
                y = fn(x, **{param: p})
            return tape.gradient(y, p, output_gradients=dy)

        k1, k2 = pgrad(), pgrad()
        assert float(k1) == float(k2)  # the threaded reduction is deterministic
        with native.disabled():
            p_ = pgrad()
        _close(k1, p_, 1e-4, 1e-3)


def test_tf_function_uses_kernel_and_xla_uses_composite(lib):
    x = tf.constant(_inputs(), tf.float32)
    graph_fn = tf.function(lambda x: tfa.mish(x))
    xla_fn = tf.function(lambda x: tfa.mish(x), jit_compile=True)
    assert _uses_kernel(graph_fn, x)
    assert not _uses_kernel(xla_fn, x)
    _close(graph_fn(x), xla_fn(x), 3e-6, 1e-37)

    @tf.function(jit_compile=True)
    def train_step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tfa.gelu(x, approximate=True)
        return tape.gradient(y, x)

    with native.disabled():
        expected = _value_and_grad(tfa.gelu, x, {"approximate": True}, tf.ones_like(x))[1]
    _close(train_step(x), expected, 1e-4, 5e-7)


def test_pure_env_and_disabled(lib, monkeypatch):
    x = tf.constant([1.0, 2.0])
    f = tf.function(lambda x: tfa.swish(x))
    assert _uses_kernel(f, x)
    with native.disabled():
        assert not _uses_kernel(tf.function(lambda x: tfa.swish(x)), x)
    monkeypatch.setenv("TF_ACTIVATIONS_PURE", "1")
    assert not _uses_kernel(tf.function(lambda x: tfa.swish(x)), x)
    # per-channel (non-scalar) parameters take the composite
    monkeypatch.delenv("TF_ACTIVATIONS_PURE")
    assert not _uses_kernel(tf.function(lambda x: tfa.swish(x, tf.constant([1.0, 2.0]))), x)


def test_raw_op_errors_are_tf_errors(lib):
    x = tf.constant([1.0, 2.0, 3.0])
    p = tf.constant(1.0, tf.float64)
    c = tf.zeros([0], tf.float64)
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError, tf.errors.NotFoundError)):
        lib.tfa_forward(tf.constant([1, 2]), p, c, fn="mish")
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_backward(x, tf.constant([1.0, 2.0]), p, c, fn="mish")
    with pytest.raises((TypeError, tf.errors.InvalidArgumentError)):
        lib.tfa_backward(x, tf.constant([1.0, 2.0, 3.0], tf.float64), p, c, fn="mish")
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_forward(x, p, c, fn="elu")  # needs alpha in c
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_forward(x, p, c, fn="no_such_activation")
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_forward(x, tf.constant([1.0], tf.float64), c, fn="mish")
    # the package itself still rejects integer input with a TypeError
    with pytest.raises(TypeError):
        tfa.mish(tf.constant([1, 2]))


def test_saved_model_loads_without_kernels(lib, tmp_path):
    """A SavedModel traced in a process with kernels must not name the kernel ops."""

    class M(tf.Module):
        def __init__(self):
            super().__init__()
            self.beta = tf.Variable(1.2)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.float32)])
        def __call__(self, x):
            return tfa.mish(x) + tfa.swish(x, self.beta) + tfa.gelu(x, approximate=True)

    m = M()
    x = tf.constant([-3.0, -0.5, 0.0, 0.5, 4.0])
    expected = m(x).numpy()  # traced (possibly with kernels) before saving
    path = str(tmp_path / "sm")
    tf.saved_model.save(m, path)
    code = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        m = tf.saved_model.load({path!r})
        y = m(tf.constant({x.numpy().tolist()!r}))
        np.testing.assert_allclose(y.numpy(), np.array({expected.tolist()!r}, np.float32), rtol=1e-5)
        from tf_activations import native
        assert native._lib is None
        print("ok")
    """)
    env = dict(os.environ, TF_ACTIVATIONS_PURE="1", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-3000:]


# --- every element on its own: no result may depend on its neighbours ----------------------
_RAW_PARAMS = {"swish": 1.3, "snake": 0.8}
_RAW_FIXED = {"elu": [0.7], "celu": [1.5]}
_POOL = np.concatenate([np.random.default_rng(11).normal(0, 4, 40), np.random.default_rng(12).uniform(-120, 120, 20),
                        EXTREMES, [1e30, -1e30, 1e160, -1e160, 16.0, -16.0, 1e14, -1e14, 2e19, -2e19]])
# every SIMD tail (packets of up to 16 lanes, a pair of them), a few whole packets, and two
# lengths that split into threaded 2048-element chunks with a tail
_LENGTHS = list(range(1, 34)) + [64, 100, 2048 + 17, 4096 + 33]


def _bits(a):
    """The bit patterns, with every NaN as one pattern: where two NaNs meet (NaN + NaN), x86
    keeps the first operand's sign and payload, and the compiler orders the operands of a
    commutative op freely in each inlined copy, so a NaN's bits are not a value to compare."""
    a = np.asarray(a)
    bits = a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize]).copy()
    bits[np.isnan(a.astype(np.float64))] = np.iinfo(bits.dtype).max  # itself a NaN pattern, never a number
    return bits


def _raw_args(fn):
    fixed = _RAW_FIXED.get(fn, [])
    return tf.constant(_RAW_PARAMS.get(fn, 1.0), tf.float64), tf.constant(fixed, tf.float64, shape=[len(fixed)])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_an_element_does_not_depend_on_its_neighbours(lib, dtype):
    """Bitwise: f(x[i]) and f'(x[i]) computed alone equal those computed amid random neighbours
    (float64 snake's sin/cos used to switch reductions for a whole packet when one lane was >= 15)."""
    rng = np.random.default_rng(13)
    vals = tf.cast(tf.constant(_POOL), dtype)
    dys = tf.cast(tf.constant(rng.normal(0, 1, _POOL.size)), dtype)
    for fn in native.kernel_names():
        p, c = _raw_args(fn)
        alone_y = np.concatenate([lib.tfa_forward(vals[i:i + 1], p, c, fn=fn).numpy() for i in range(_POOL.size)])
        alone_dx = np.concatenate([lib.tfa_backward(vals[i:i + 1], dys[i:i + 1], p, c, fn=fn)[0].numpy()
                                   for i in range(_POOL.size)])
        for n in _LENGTHS:
            idx = tf.constant(rng.integers(0, _POOL.size, n))
            x, dy = tf.gather(vals, idx), tf.gather(dys, idx)
            y = lib.tfa_forward(x, p, c, fn=fn).numpy()
            dx = lib.tfa_backward(x, dy, p, c, fn=fn)[0].numpy()
            for got, alone, what in [(y, alone_y, "f"), (dx, alone_dx, "f'")]:
                want = alone[idx.numpy()]
                bad = np.flatnonzero(_bits(got) != _bits(want))
                assert bad.size == 0, (f"{fn} {what} at x={_POOL[idx.numpy()[bad[0]]]!r} in a length-{n} "
                                       f"{dtype.name} tensor: {got[bad[0]]!r}, alone {want[bad[0]]!r}")


# --- second derivatives against closed forms, over the whole grid including the far tails -----
def _sig(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _sig_slope(z):
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def _sech2(z):
    e = np.exp(-2.0 * np.abs(z))
    return 4.0 * e / (1.0 + e) ** 2


def _zero_where_zero(factor, rest):
    """factor * rest with 0 where factor is 0 (the limit, as rest overflows more slowly)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(factor == 0.0, 0.0, factor * rest)


def _swish2(x, beta):
    z = beta * x
    return _zero_where_zero(beta * _sig_slope(z), 2.0 - z * np.tanh(0.5 * z))


def _mish2(x):
    u = _sig(-x)  # exp(-softplus(x))
    s, t, sech2 = _sig(x), (1.0 - u * u) / (1.0 + u * u), 4.0 * u * u / (1.0 + u * u) ** 2
    return _zero_where_zero(sech2 * s, 2.0 + x * (u - 2.0 * t * s))


def _gelu_tanh2(x):
    c, a = np.sqrt(2.0 / np.pi), 0.044715
    with np.errstate(over="ignore"):
        z = 2.0 * c * (x + a * x ** 3)
        du, d2u = c * (1.0 + 3.0 * a * x * x), 6.0 * c * a * x
        rest = 4.0 * du - x * (2.0 * du) ** 2 * np.tanh(0.5 * z) + 2.0 * x * d2u
    return _zero_where_zero(_sig_slope(z), rest)


def _elu_like(x, below):
    return np.where(x > 0, 0.0, below(np.minimum(x, 0.0)))


_SELU_SCALE, _SELU_ALPHA = 1.0507009873554804934, 1.6732632423543772848
# name, params, f''(x) in float64 given x (and, for snake, a x rounded as the dtype rounds it)
SECOND = [
    ("sigmoid", {}, lambda x: -_sig_slope(x) * np.tanh(0.5 * x)),
    ("tanh", {}, lambda x: -2.0 * np.tanh(x) * _sech2(x)),
    ("mish", {}, _mish2),
    ("swish", {"beta": 1.0}, lambda x: _swish2(x, 1.0)),
    ("swish", {"beta": 1.5}, lambda x: _swish2(x, 1.5)),
    ("silu", {}, lambda x: _swish2(x, 1.0)),
    ("gelu", {}, lambda x: _zero_where_zero(np.exp(-0.5 * np.minimum(x * x, 1e300)) / np.sqrt(2 * np.pi),
                                            2.0 - np.minimum(x * x, 1e300))),
    ("gelu", {"approximate": True}, _gelu_tanh2),
    ("hard_swish", {}, lambda x: np.where(np.abs(x) < 3, 1.0 / 3.0, 0.0)),
    ("hard_sigmoid", {}, lambda x: np.zeros_like(x)),
    ("elu", {"alpha": 0.7}, lambda x: _elu_like(x, lambda v: 0.7 * np.exp(v))),
    ("selu", {}, lambda x: _elu_like(x, lambda v: _SELU_SCALE * _SELU_ALPHA * np.exp(v))),
    ("celu", {"alpha": 1.5}, lambda x: _elu_like(x, lambda v: np.exp(v / 1.5) / 1.5)),
    ("softplus", {}, _sig_slope),
    ("lisht", {}, lambda x: _zero_where_zero(2.0 * _sech2(x), 1.0 - x * np.tanh(x))),
    ("snake", {"frequency": 1.0}, None),
    ("snake", {"frequency": 0.8}, None),
]
_KINKS = {"hard_swish": (-3.0, 3.0), "hard_sigmoid": (-3.0, 3.0), "elu": (0.0,), "selu": (0.0,), "celu": (0.0,)}


def _grid(dtype):
    tails = np.geomspace(1e-30, 3.4e38, 70)
    if dtype == tf.float64:
        tails = np.concatenate([tails, np.geomspace(1e-300, 1e300, 60), [1e160, 1.7e308]])
    x = np.concatenate([np.linspace(-40, 40, 1601), tails, -tails, [1.9e19, -1.9e19, 1e30, -1e30, 3e38, -3e38]])
    return x.astype(dtype.as_numpy_dtype)


def _snake2(x, a, dtype):
    ax = (np.asarray(a, dtype.as_numpy_dtype) * x).astype(np.float64)  # the product as the dtype rounds it
    a = float(np.asarray(a, dtype.as_numpy_dtype))
    return 2.0 * a * (np.cos(ax) ** 2 - np.sin(ax) ** 2)


@pytest.mark.parametrize("path", ["kernel", "kernel-graph", "pure"])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("name,kw,f2", SECOND, ids=[n + "".join(f"-{k}={v}" for k, v in kw.items())
                                                    for n, kw, _ in SECOND])
def test_second_derivative_matches_closed_form_to_the_far_tails(lib, name, kw, f2, dtype, path):
    x = _grid(dtype)
    x = x[~np.isin(x, _KINKS.get(name, ()))]
    xt = tf.constant(x)
    fn = getattr(tfa, name)

    def hessian_diagonal():
        return _first_and_second(fn, xt, kw)[1]

    if path == "pure":
        with native.disabled():
            h = hessian_diagonal()
    elif path == "kernel-graph":  # the saved-derivative forward where the kernel has one
        h = tf.function(hessian_diagonal, autograph=False)()
    else:
        h = hessian_diagonal()
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):  # inf / NaN intermediates are masked
        want = _snake2(x, kw["frequency"], dtype) if name == "snake" else f2(x64)
    assert np.isfinite(want).all()
    # float32 second derivatives come from float32 first derivatives: absolute error ~ eps * |terms|
    rtol, atol = (2e-4, 2e-5) if dtype == tf.float32 else (1e-9, 1e-12)
    _close(h, tf.constant(want), rtol, atol)


_DTYPE_TINY = {tf.bfloat16: 1.1754943508222875e-38, tf.float32: 1.1754943508222875e-38, tf.float64: 2.2250738585072014e-308}


@pytest.mark.parametrize("path", ["kernel", "pure"])
@pytest.mark.parametrize("dtype,alpha", [(tf.float16, 6.1e4), (tf.bfloat16, 3.3e38), (tf.float32, 3.4e38),
                                         (tf.float32, 1.2e-38), (tf.float64, 1e300), (tf.float64, 1e-300)],
                         ids=lambda v: v.name if isinstance(v, tf.DType) else f"{v:g}")
def test_celu_and_elu_with_extreme_accepted_alpha(lib, dtype, alpha, path):
    """celu: alpha expm1(x / alpha) is ~x where x / alpha is tiny, also where x / alpha is
    subnormal and flushed to 0 (both paths gave 0 for alpha near the dtype's maximum)."""
    x64 = np.array([0.0, -1e-30, -1e-6, -1.0, -3.0, -50.0, -1e4, 2.0])
    x = tf.cast(tf.constant(x64), dtype)
    xr = np.asarray(tf.cast(x, tf.float64))  # as the dtype holds it

    def run():
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            ys = tfa.celu(x, alpha=alpha), tfa.elu(x, alpha=alpha)
        return [v for y in ys for v in (y, tape.gradient(y, x))]

    if path == "pure":
        with native.disabled():
            got = run()
    else:
        got = run()
    z = np.minimum(xr / alpha, 0.0)
    # alpha expm1(z) by its series where z is tiny (libm's expm1 flushes subnormal z to 0)
    celu_neg = np.where(np.abs(z) < 1e-8, xr * (1.0 + 0.5 * z), alpha * np.expm1(z))
    want = [np.where(xr > 0, xr, celu_neg), np.where(xr > 0, 1.0, np.exp(z)),
            np.where(xr > 0, xr, alpha * np.expm1(np.minimum(xr, 0))),
            np.where(xr > 0, 1.0, alpha * np.exp(np.minimum(xr, 0)))]
    rtol = {tf.float16: 2e-3, tf.bfloat16: 1.6e-2, tf.float32: 1e-6, tf.float64: 1e-14}[dtype]
    tiny = float(np.finfo(np.float16).tiny) if dtype == tf.float16 else float(_DTYPE_TINY[dtype])
    for g, w in zip(got, want):
        _close(g, tf.constant(w), rtol, tiny)  # below the normal range a result may flush to 0


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("name,kw", [("lisht", {}), ("snake", {"frequency": 0.8}), ("snake", {"frequency": 1.0}),
                                     ("gelu", {})])
def test_default_mode_float_variants_within_4_ulp(lib, name, kw, dtype):
    """lisht, snake and gelu run float-math kernels outside exact mode: forward within 4 ulp of
    the float64 result (normal outputs; gelu 7: its own erfc, where Keras' gelu, which it
    replaces, is 1.5e7 ulp off) and gradients within the backward tolerance, every dtype."""
    fn = getattr(tfa, name)
    rng = np.random.default_rng(17)
    x64 = np.concatenate([rng.normal(0, 3, 20_000), rng.uniform(-110, 110, 10_000),
                          np.geomspace(1e-30, 1e30, 2000), -np.geomspace(1e-30, 1e30, 2000), EXTREMES])
    x = tf.cast(tf.constant(x64), dtype)
    dy = tf.cast(tf.constant(np.cos(np.arange(x64.size))), dtype)
    with tfa.exact(False):
        y, g = _value_and_grad(fn, x, kw, dy)
    with native.disabled():  # exact mode (the fixture): the float64 composite
        ref = fn(tf.cast(x, tf.float64), **kw)
    # gradients: the composite in x's dtype, whose frequency x rounds as the kernel's does; for
    # gelu exact mode's (the default-mode one is Keras' 1 + erf, NaN at +-inf)
    with tfa.exact(name == "gelu"), native.disabled():
        _, gref = _value_and_grad(fn, x, kw, dy)
    assert y.dtype == dtype
    if dtype == tf.float32:
        yv, rv = y.numpy().astype(np.float64), ref.numpy()
        normal = np.abs(rv) >= np.finfo(np.float32).smallest_normal
        ulp = np.spacing(np.abs(rv[normal]).astype(np.float32)).astype(np.float64)
        with np.errstate(invalid="ignore"):
            err = np.where(yv[normal] == rv[normal], 0.0, np.abs(yv[normal] - rv[normal]) / ulp)
        limit = 4.0 if kw.get("frequency", 1.0) == 1.0 else 64.0  # the float32 input path rounds 0.8
        limit = 7.0 if name == "gelu" else limit
        assert err.max() <= limit, f"{err.max():.2f} ulp at x={x64[normal][err.argmax()]}"
    elif name == "gelu" and dtype == tf.float64:
        # Eigen's double erfc flushes to 0 where gelu is still a normal double below 1e-306
        # (x < -37.6); Keras' gelu, which the default mode would run instead, gives 0 there too
        _close(y, ref, _FWD_TOL[dtype][0], 1e-306)
    else:
        _close(y, ref, *_FWD_TOL[dtype])
    _close(g, gref, *_BWD_TOL[dtype])


def test_swish_with_a_watched_constant_beta_of_one_gets_its_gradient(lib):
    """beta == 1 runs silu's forward; a tape watching that constant still gets d/dbeta."""
    x64 = np.linspace(-12.0, 12.0, 97)
    x, beta = tf.constant(x64, tf.float32), tf.constant(1.0)
    with tfa.exact(False):
        with tf.GradientTape() as tape:
            tape.watch(beta)
            y = tfa.swish(x, beta)
        g = tape.gradient(y, beta)
    assert _uses_kernel(tf.function(lambda x: tfa.swish(x, tf.constant(1.0))), x)
    s = 1.0 / (1.0 + np.exp(-x64))
    _close(g, tf.constant(np.sum(x64 * x64 * s * (1.0 - s))), 1e-5, 0)


@pytest.mark.parametrize("name,params", [("mish", {}), ("swish", {"beta": 1.5}), ("celu", {"alpha": 0.5})])
def test_a_tensor_split_across_threads_gives_what_its_slices_give(lib, name, params):
    """Above 2^16 elements the ops hand chunks to the thread pool; below, the calling thread runs
    them. Each element's value and slope must not depend on which: bitwise against slices that
    stay on one thread; a parameter's gradient (a sum over chunks) against float64."""
    n = 2 ** 18 + 2 ** 11 + 37  # past the serial limit, and a ragged last chunk
    x64 = np.random.default_rng(3).normal(scale=4.0, size=n)
    fn = getattr(tfa, name)
    beta = tf.Variable(params["beta"], dtype=tf.float32) if "beta" in params else None
    kwargs = {"beta": beta} if beta is not None else params

    def run(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = fn(v, **kwargs)
        grads = tape.gradient(y, [v] + ([beta] if beta is not None else []))
        return [y.numpy(), grads[0].numpy()] + ([grads[1].numpy()] if beta is not None else [])

    whole = run(tf.constant(x64, tf.float32))
    pieces = [run(tf.constant(x64[s:s + 2 ** 16], tf.float32)) for s in range(0, n, 2 ** 16)]
    np.testing.assert_array_equal(whole[0], np.concatenate([p[0] for p in pieces]))
    np.testing.assert_array_equal(whole[1], np.concatenate([p[1] for p in pieces]))
    if beta is not None:  # d/dbeta sum(swish) = sum(x^2 s (1 - s)), s = sigmoid(beta x)
        xr = x64.astype(np.float32).astype(np.float64)
        s = 1.0 / (1.0 + np.exp(-1.5 * xr))
        np.testing.assert_allclose(whole[2], np.sum(xr * xr * s * (1.0 - s)), rtol=1e-5)


def test_every_functor_has_its_declaration_entry_and_back():
    """A functor in kernels/activations.h that no declaration lists never runs; an entry
    whose functor is missing fails when the op runs. swish_beta1 is silu's functor, which
    swish uses where beta is a constant 1 (native.dispatch)."""
    header = (pathlib.Path(__file__).resolve().parent.parent / "kernels" / "activations.h").read_text()
    functors = set()
    for macro in ("TFA_ACTIVATIONS", "TFA_GATES"):  # elementwise functors; gated units' gates
        block = header[header.index(f"#define {macro}(X)"):]
        functors |= set(re.findall(r"X\((\w+),", block[:block.index("\n\n")]))
    declared = {fn for _, k in native.kernel_table() for fn in (k.fn, k.fast_fn) if fn}
    assert functors == declared | {"swish_beta1"}


# --- the fused gated unit (reglu): y = a * relu(b) on the halves [a, b] of an axis ------------

def _limit_mul(p, q):
    """p * q, 0 where one factor is 0 and the other infinite (the gated units' limit), NaN kept."""
    with np.errstate(invalid="ignore"):
        dead = (np.isinf(p) & (q == 0)) | (np.isinf(q) & (p == 0))
        return np.where(dead, 0.0, p * q)


def _np_reglu(x, dy, axis):
    """y and dx in float64 NumPy: relu(b) and its slope 1[b > 0] (NaN at NaN); dy/da = relu(b),
    dy/db = 1[b > 0] a; and the slope, for Hessian-vector products [dy 1[b>0] vb, dy 1[b>0] va]."""
    a, b = np.split(np.asarray(x, np.float64), 2, axis=axis)
    dy = np.asarray(dy, np.float64)
    relu = np.where(np.isnan(b), b, np.where(b > 0, b, 0.0))
    on = np.where(np.isnan(b), b, (b > 0).astype(np.float64))
    dx = np.concatenate([_limit_mul(dy, relu), _limit_mul(_limit_mul(dy, on), a)], axis)
    return _limit_mul(a, relu), dx, on


def _uses_gated_kernel(f, *args):
    graph = f.get_concrete_function(*args).graph
    return any(op.type == "TfaGatedForward" for op in graph.get_operations())


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("shape, axis", [((4, 10), -1), ((3, 8, 5), 1), ((6, 3), 0), ((5, 2 * 2049), -1),
                                         ((7000, 6), 1), ((2, 0), -1), ((0, 4), -1), ((1, 2), -1)])
def test_gated_kernel_matches_the_reference_and_the_composite(lib, shape, axis, dtype):
    rng = np.random.default_rng(21)
    x = rng.normal(0.0, 3.0, shape)
    flat = x.reshape(-1)
    flat[: min(flat.size, 40)] = np.resize([np.inf, -np.inf, np.nan, 0.0, -0.0, 3e38, -3e38, 1e-45], 40)[: min(flat.size, 40)]
    x = tf.constant(x, dtype)
    out_shape = list(shape)
    out_shape[axis] //= 2
    dy = tf.constant(rng.normal(0.0, 1.0, out_shape), dtype)
    fn = tf.function(lambda t: tfa.reglu(t, axis=axis))
    assert _uses_gated_kernel(fn, x)
    (y, dx), (yp, dxp) = _both(_value_and_grad, tfa.reglu, x, {"axis": axis}, dy)
    # TF's CPU kernels (ours and the composite's) read subnormal floats as 0
    tiny = np.finfo(dtype.as_numpy_dtype).tiny
    flushed = np.where(np.abs(x.numpy()) < tiny, 0.0, x.numpy())
    want_y, want_dx, _ = _np_reglu(flushed, dy.numpy(), axis)
    rtol = 6e-8 if dtype == tf.float32 else 1.2e-16  # one rounding of exact products
    _close(y, want_y.astype(dtype.as_numpy_dtype), rtol, 0)
    _close(dx, want_dx.astype(dtype.as_numpy_dtype), rtol, 0)
    # one product each way, so the kernel is the composite bit for bit
    np.testing.assert_array_equal(y.numpy(), yp.numpy())
    np.testing.assert_array_equal(dx.numpy(), dxp.numpy())


def test_gated_kernel_second_derivative(lib):
    """The Jacobian of the kernel's backward (its registered gradient: the declared vjp)."""
    rng = np.random.default_rng(22)
    x = tf.constant(rng.normal(0.0, 2.0, (6, 8)))
    dy = tf.constant(rng.normal(0.0, 1.0, (6, 4)))
    v = tf.constant(rng.normal(0.0, 1.0, (6, 8)))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tfa.reglu(x)
        g = inner.gradient(y, x, output_gradients=dy)
    hv = outer.gradient(g, x, output_gradients=v).numpy()
    assert _uses_gated_kernel(tf.function(lambda t: tfa.reglu(t)), x)
    _, _, on = _np_reglu(x.numpy(), dy.numpy(), -1)
    va, vb = np.split(v.numpy(), 2, axis=-1)
    want = np.concatenate([dy.numpy() * on * vb, dy.numpy() * on * va], -1)
    np.testing.assert_allclose(hv, want, rtol=1e-15, atol=0)


def test_gated_kernel_dispatch(lib):
    x32 = tf.zeros([4, 6])
    assert _uses_gated_kernel(tf.function(lambda t: tfa.reglu(t)), x32)
    assert not _uses_gated_kernel(tf.function(lambda t: tfa.reglu(t), jit_compile=True), x32)
    assert not _uses_gated_kernel(tf.function(lambda t: tfa.reglu(t)), tf.zeros([4, 6], tf.float16))
    with native.disabled():
        assert not _uses_gated_kernel(tf.function(lambda t: tfa.reglu(t)), x32)
    unknown_rank = tf.function(lambda t: tfa.reglu(t), input_signature=[tf.TensorSpec(None, tf.float32)])
    assert not _uses_gated_kernel(unknown_rank)
    for name in ("swiglu", "geglu", "glu"):  # measured slower than XLA's formula: no kernel
        assert not _uses_gated_kernel(tf.function(lambda t: getattr(tfa, name)(t)), x32), name
    # an odd size is refused before any kernel runs, statically and at run time
    with pytest.raises(ValueError, match=r"reglu\(\) expects an even size along axis -1"):
        tfa.reglu(tf.zeros([2, 5]))
    late = tf.function(lambda t: tfa.reglu(t), input_signature=[tf.TensorSpec([None, None], tf.float32)])
    assert _uses_gated_kernel(late)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"reglu\(\) expects an even size"):
        late(tf.zeros([2, 5]))
    np.testing.assert_array_equal(late(tf.constant([[2.0, 3.0, 1.0, -1.0]])).numpy(), [[2.0, 0.0]])


def test_gated_raw_op_errors_are_tf_errors(lib):
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_gated_forward(tf.zeros([2, 3, 4]), fn="reglu")  # not [outer, 2, m]
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        lib.tfa_gated_forward(tf.zeros([4, 2]), fn="reglu")
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_gated_backward(tf.zeros([3, 2, 4]), tf.zeros([3, 5]), fn="reglu")
    with pytest.raises(tf.errors.InvalidArgumentError):
        lib.tfa_gated_forward(tf.zeros([3, 2, 4]), fn="swiglu")
