"""Axis functions (softmax family, glu, maxout), trainable parameters and gradient checks."""

import numpy as np
import pytest
import tensorflow as tf

import tf_activations

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def exact_mode():
    """Our own formulas (softmax's -inf rules, float64 accuracy): the default mode runs Keras'
    softmax, log_softmax and glu instead (tests/test_policy.py)."""
    with tf_activations.exact():
        yield


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_and_log_softmax_match_numpy(axis, dtype):
    x = (RNG.normal(size=(4, 5, 6)) * 30).astype(dtype)
    exact = np_softmax(x.astype(np.float64), axis)
    rtol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(tf_activations.softmax(x, axis=axis).numpy(), exact, rtol=rtol, atol=1e-30)
    log_exact = x - x.max(axis=axis, keepdims=True)
    log_exact = log_exact - np.log(np.exp(log_exact).sum(axis=axis, keepdims=True))
    np.testing.assert_allclose(tf_activations.log_softmax(x, axis=axis).numpy(), log_exact, rtol=rtol, atol=1e-5 if dtype == np.float32 else 1e-12)


def test_softmax_of_all_minus_inf_row_is_zeros_with_zero_gradient():
    x = tf.constant([[-np.inf, -np.inf, -np.inf], [0.0, 1.0, -np.inf]], tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = tf_activations.softmax(x)
        ly = tf_activations.log_softmax(x)
    np.testing.assert_array_equal(y.numpy()[0], [0, 0, 0])
    np.testing.assert_allclose(y.numpy()[1], [1 / (1 + np.e), np.e / (1 + np.e), 0], rtol=1e-6)
    np.testing.assert_array_equal(ly.numpy()[0], [-np.inf] * 3)
    for out in (y, ly):
        g = tape.gradient(out, x, output_gradients=tf.constant([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
        assert np.isfinite(g.numpy()).all()
        np.testing.assert_array_equal(g.numpy()[0], [0, 0, 0])


def test_softmax_with_plus_inf_shares_the_mass():
    y = tf_activations.softmax(tf.constant([np.inf, 0.0, np.inf])).numpy()
    np.testing.assert_array_equal(y, [0.5, 0.0, 0.5])


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin", "sparsemax", "glu", "swiglu", "geglu", "reglu",
                                  "maxout"])
def test_empty_and_dtypes(name):
    for dtype in (tf.float16, tf.bfloat16, tf.float32, tf.float64):
        y = tf_activations.get(name)(tf.zeros((0, 4), dtype))
        assert y.dtype == dtype and y.shape[0] == 0
        y = tf_activations.get(name)(tf.ones((3, 4), dtype))
        assert y.dtype == dtype and np.isfinite(tf.cast(y, tf.float32).numpy()).all()


def test_softmax_rejects_scalar_and_bad_axis():
    with pytest.raises(ValueError, match=r"softmax\(\) expects axis"):
        tf_activations.softmax(tf.ones((2, 3)), axis=2)


def sparsemax_is_simplex_projection(x, y):
    """KKT conditions of argmin ||p - x||^2 over the simplex, checked independently of the algorithm."""
    assert np.all(y >= 0)
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=1e-10)
    for xr, yr in zip(x.reshape(-1, x.shape[-1]), y.reshape(-1, y.shape[-1])):
        support = yr > 0
        tau = (xr - yr)[support]
        np.testing.assert_allclose(tau, tau[0], atol=1e-10)
        assert np.all(xr[~support] <= tau[0] + 1e-10)


def test_sparsemax_projects_onto_simplex():
    x = RNG.normal(size=(50, 7)) * 2
    y = tf_activations.sparsemax(tf.constant(x)).numpy()
    sparsemax_is_simplex_projection(x, y)
    assert (y == 0).any(), "sparsemax should produce exact zeros"
    yt = tf_activations.sparsemax(tf.constant(x.T), axis=0).numpy().T
    np.testing.assert_allclose(yt, y, rtol=1e-12)


def test_glu_and_maxout_match_numpy():
    x = RNG.normal(size=(3, 8))
    a, b = x[:, :4], x[:, 4:]
    np.testing.assert_allclose(tf_activations.glu(tf.constant(x)).numpy(), a / (1 + np.exp(-b)), rtol=1e-13)
    np.testing.assert_allclose(tf_activations.maxout(tf.constant(x), num_units=2).numpy(),
                               x.reshape(3, 2, 4).max(-1), rtol=0)
    np.testing.assert_allclose(tf_activations.maxout(tf.constant(x)).numpy(), x.reshape(3, 4, 2).max(-1), rtol=0)
    with pytest.raises(ValueError, match="glu"):
        tf_activations.glu(tf.ones((2, 3)))
    with pytest.raises(ValueError, match="num_units"):
        tf_activations.maxout(tf.ones((2, 6)), num_units=4)


SMOOTH_POINTS = np.array([-3.7, -1.3, -0.6, 0.35, 0.8, 2.2, 4.1])


@pytest.mark.parametrize("name", tf_activations.available())
def test_compute_gradient_matches_numerical(name):
    """tf.test.compute_gradient: the registered gradient against finite differences, float64."""
    x = np.stack([SMOOTH_POINTS[:6], SMOOTH_POINTS[1:]]).astype(np.float64)  # shape (2, 6), no kinks, no ties
    fn = tf_activations.get(name)
    theoretical, numerical = tf.test.compute_gradient(lambda t: fn(t), [tf.constant(x)], delta=1e-5)
    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-6, atol=1e-7)


def test_swish_per_channel_beta_gets_per_channel_gradient():
    x = RNG.normal(size=(5, 3))
    beta = tf.Variable([0.5, 1.0, 2.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = tf_activations.swish(tf.constant(x), beta)
    g = tape.gradient(y, beta)
    assert g.shape == (3,)
    s = 1 / (1 + np.exp(-beta.numpy() * x))
    np.testing.assert_allclose(g.numpy(), (x * x * s * (1 - s)).sum(0), rtol=1e-12)
    np.testing.assert_allclose(y.numpy(), x * s, rtol=1e-13)


def test_swish_beta_as_float_tensor_and_variable_scalar():
    x = tf.constant(RNG.normal(size=(7,)), tf.float32)
    beta = tf.Variable(1.5)
    with tf.GradientTape() as tape:
        y = tf_activations.swish(x, beta)
    g = tape.gradient(y, beta)
    x64 = x.numpy().astype(np.float64)
    s = 1 / (1 + np.exp(-1.5 * x64))
    assert g.shape == ()
    np.testing.assert_allclose(g.numpy(), (x64 * x64 * s * (1 - s)).sum(), rtol=1e-5)
    np.testing.assert_allclose(tf_activations.swish(x, tf.constant(1.5)).numpy(), x64 * s, rtol=1e-6)


def test_snake_and_prelu_parameter_gradients():
    x = RNG.normal(size=(4, 3)) * 3
    a = tf.Variable([0.5, 1.0, 3.0], dtype=tf.float64)
    with tf.GradientTape() as tape:
        y = tf_activations.snake(tf.constant(x), a)
    an = a.numpy()
    exact = (x * np.sin(2 * an * x) / an - np.sin(an * x) ** 2 / an ** 2).sum(0)
    np.testing.assert_allclose(tape.gradient(y, a).numpy(), exact, rtol=1e-12)
    alpha = tf.Variable(np.full((1, 3), 0.25))
    with tf.GradientTape() as tape:
        y = tf_activations.prelu(tf.constant(x), alpha)
    np.testing.assert_allclose(tape.gradient(y, alpha).numpy(), np.minimum(x, 0).sum(0, keepdims=True), rtol=1e-12)


def test_second_order_with_respect_to_beta():
    x = tf.constant([0.7, -1.2], tf.float64)
    beta = tf.Variable(1.3, dtype=tf.float64)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = tf.reduce_sum(tf_activations.swish(x, beta))
        g = inner.gradient(y, beta)
    h = outer.gradient(g, beta).numpy()
    xs, b, eps = x.numpy(), 1.3, 1e-6

    def dbeta(bb):
        s = 1 / (1 + np.exp(-bb * xs))
        return (xs * xs * s * (1 - s)).sum()

    np.testing.assert_allclose(h, (dbeta(b + eps) - dbeta(b - eps)) / (2 * eps), rtol=1e-6)


MEMORY_SCRIPT = """
import json, tensorflow as tf, tf_activations
from tf_activations._registry import KERAS_FUNCTIONS
n = 1 << 20
x = tf.random.normal((n,))
def kept(fn):
    base = tf.config.experimental.get_memory_info("CPU:0")["current"]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    grown = tf.config.experimental.get_memory_info("CPU:0")["current"] - base
    del tape, y
    return grown / (4 * n)
names = [m for m in tf_activations.available() if tf_activations.info(m)["elementwise"]]
kw = {"threshold": {"threshold": 0.0, "default_value": 0.0}}
def keras_of(m):  # a variant (gelu_tanh) runs its base's Keras function with its parameters
    v = tf_activations.info(m)["variant_of"]
    base, fixed = (v["name"], v["parameters"]) if v else (m, kw.get(m, {}))
    fn = KERAS_FUNCTIONS.get(base)
    return None if fn is None else (lambda t: fn(t, **fixed))
out = {m: [kept(tf_activations.get(m)), kept(keras_of(m)) if keras_of(m) else None] for m in names}
out["autodiff mish composite"] = [kept(lambda t: t * tf.tanh(tf.nn.softplus(t))), None]
print(json.dumps(out))
"""


@pytest.mark.parametrize("path", ["exact-pure", "exact", "default-pure", "default"])
def test_training_keeps_only_the_output_beyond_the_input(path):
    """Under a tape, x's buffers alive after the forward: the output y and nothing else
    (the backward recomputes from x). Counted by TF's BFC allocator in a fresh process,
    on the pure-TF path and on the C++ kernels (where built), in exact mode; in the
    default mode no more than Keras' own function keeps."""
    import json
    import os
    import subprocess
    import sys

    env = dict(os.environ, TF_CPU_ALLOCATOR_USE_BFC="true", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_ACTIVATIONS_PURE", None)
    env["TF_ACTIVATIONS_EXACT"] = "1" if path.startswith("exact") else "0"
    if path.endswith("pure"):
        env["TF_ACTIVATIONS_PURE"] = "1"
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], env=env, capture_output=True, text=True,
                          timeout=300, check=True)
    kept = json.loads(done.stdout.strip().splitlines()[-1])
    assert kept.pop("autodiff mish composite")[0] >= 2.0  # the check can see extra buffers
    allowed = {name: 1.01 if keras is None or path.startswith("exact") else max(1.01, keras + 0.01)
               for name, (_, keras) in kept.items()}
    too_many = {name: k for name, (k, _) in kept.items() if k > allowed[name]}
    assert not too_many, f"buffers of x's size kept beyond the output: {too_many}"
