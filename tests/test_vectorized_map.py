"""Gradients through ``tf.vectorized_map`` (per-example gradients, DP-SGD) are the declared ones.

pfor rewrites the mapped function op by op and drops ``tf.custom_gradient``'s gradient on the
way; every activation, on every path (kernels, pure, exact), must still give the derivative the
unbatched call gives and the mpmath reference. References: tests/reference.py (mpmath, 110
digits) and closed forms.
"""

import contextlib

import mpmath as mp
import numpy as np
import pytest
import tensorflow as tf

import reference
import tf_activations as ta
from peers import keras_peer
from tf_activations._registry import SPECS

MODES = {"kernels": contextlib.nullcontext, "pure": ta.native.disabled, "exact": ta.exact}
ALL_MODES = pytest.mark.parametrize("mode", list(MODES))
# Moderate points away from every kink (0, +-0.5, +-1, +-3, 6), in a [batch, features] layout.
X = np.array([-5.9, -4.2, -2.7, -1.9, -1.3, -0.8, -0.3, -0.1, 0.2, 0.7, 1.4, 2.2, 2.9, 3.6, 4.8, 5.5],
             np.float32).reshape(4, 4)
AXIS_OPS = sorted(n for n, s in SPECS.items() if s.axis_op)


def _mapped_and_plain(fn, x, sources):
    """(vectorized_map(fn) value, plain value, their gradients w.r.t. each source)."""
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        mapped = tf.vectorized_map(fn, x)
        plain = fn(x)
    zero = tf.UnconnectedGradients.ZERO
    return (mapped, plain, [tape.gradient(mapped, s, unconnected_gradients=zero) for s in sources],
            [tape.gradient(plain, s, unconnected_gradients=zero) for s in sources])


def _mp_table(fn, x):
    return np.array([float(fn(mp.mpf(float(v)))) for v in x.ravel()]).reshape(x.shape)


@ALL_MODES
@pytest.mark.parametrize("name", sorted(reference.ELEMENTWISE))
def test_elementwise_first_derivative_under_vectorized_map(name, mode):
    f, df = reference.ELEMENTWISE[name]
    x = tf.constant(X)
    with MODES[mode]():
        mapped, plain, (grad,), (plain_grad,) = _mapped_and_plain(ta.get(name), x, [x])
    np.testing.assert_allclose(mapped.numpy(), plain.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad.numpy(), plain_grad.numpy(), rtol=1e-6, atol=1e-7)
    # TF's own tanh and sigmoid gradients (1 - y^2, y (1 - y)) cancel: 2e-7 absolute
    np.testing.assert_allclose(mapped.numpy(), _mp_table(f, X), rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(grad.numpy(), _mp_table(df, X), rtol=2e-5, atol=1e-6)


@ALL_MODES
@pytest.mark.parametrize("name", sorted(reference.SMOOTH))
def test_second_derivative_under_vectorized_map(name, mode):
    if name == "softsign" and mode != "exact":
        pytest.skip("Keras' softsign (tf.nn.softsign) has no second derivative (README); exact mode's has")
    def second(fn):
        x = tf.constant(X)
        with MODES[mode](), tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.vectorized_map(fn, x)
            grad = inner.gradient(y, x)
        return outer.gradient(grad, x).numpy()

    want = np.array([reference.second_derivative(name, v) for v in X.ravel()]).reshape(X.shape)
    allowed = 1e-4 * np.abs(want) + 1e-6
    peer = keras_peer(name, "exact" if mode == "exact" else "default")
    if peer is not None:  # the default may be as far off as Keras' own function, no further
        allowed = np.maximum(allowed, 1.01 * np.abs(second(peer) - want))
    error = np.abs(second(ta.get(name)) - want)
    assert np.all(error <= allowed), (X[error > allowed], error[error > allowed], allowed[error > allowed])


# name, parameter, the value (a Variable, as a layer holds it), d f / d parameter in closed form
PARAMS = [
    ("prelu", "alpha", [0.1, 0.2, 0.3, 0.4], lambda x, a: np.minimum(x, 0.0)),
    ("swish", "beta", 1.5, lambda x, b: x * x * np.exp(-b * x) / (1 + np.exp(-b * x)) ** 2),
    ("swish", "beta", 1.0, lambda x, b: x * x * np.exp(-b * x) / (1 + np.exp(-b * x)) ** 2),
    ("snake", "frequency", 0.7, lambda x, a: x * np.sin(2 * a * x) / a - np.sin(a * x) ** 2 / a ** 2),
]


@ALL_MODES
@pytest.mark.parametrize("name, param, value, d_param", PARAMS, ids=lambda v: str(v)[:12])
def test_parameter_gradient_under_vectorized_map(name, param, value, d_param, mode):
    x = tf.constant(X)
    var = tf.Variable(value, dtype=tf.float32)
    fn = ta.get(name)
    with MODES[mode]():
        _, _, (grad,), (plain_grad,) = _mapped_and_plain(lambda v: fn(v, **{param: var}), x, [var])
    x64 = X.astype(np.float64)
    want = d_param(x64, np.asarray(value, np.float64))
    want = want.sum(axis=0) if np.ndim(value) else want.sum()
    np.testing.assert_allclose(grad.numpy(), plain_grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad.numpy(), want, rtol=1e-5, atol=1e-5)


@ALL_MODES
@pytest.mark.parametrize("name", AXIS_OPS)
def test_axis_ops_under_vectorized_map(name, mode):
    x = tf.constant(np.linspace(-2.0, 2.5, 32, dtype=np.float32).reshape(4, 8) ** 2)
    weights = tf.constant(np.linspace(-1.0, 1.0, 4 if name in ("glu", "swiglu", "geglu", "reglu", "maxout") else 8, dtype=np.float32))
    fn = lambda v: ta.get(name)(v) * weights  # noqa: E731  (a non-trivial upstream gradient)
    with MODES[mode]():
        mapped, plain, (grad,), (plain_grad,) = _mapped_and_plain(fn, x, [x])
    np.testing.assert_allclose(mapped.numpy(), plain.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(grad.numpy(), plain_grad.numpy(), rtol=1e-5, atol=1e-6)
    if name == "softmax":  # J^T w for softmax: s * (w - <s, w>), in float64
        z = x.numpy().astype(np.float64)
        s = np.exp(z - z.max(1, keepdims=True))
        s /= s.sum(1, keepdims=True)
        w = weights.numpy().astype(np.float64)
        np.testing.assert_allclose(grad.numpy(), s * (w - (s * w).sum(1, keepdims=True)), rtol=1e-5, atol=1e-7)


@ALL_MODES
def test_per_example_gradients_of_a_keras_model(mode):
    """DP-SGD's pattern: the gradient of each example's loss, vectorized, equals one
    example at a time (a weight gradient was off by 6.5 when the activation's was lost)."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="mish"),
                              ta.layers.PReLU(), keras.layers.Dense(3, activation="snake"),
                              keras.layers.Dense(1, activation="clip")])
    xs, ys = tf.constant(X), tf.constant(np.linspace(-1, 1, 4, dtype=np.float32)[:, None])

    def per_example(args):
        xe, ye = args
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(model(xe[None]) - ye))
        return tape.gradient(loss, model.trainable_variables)

    with MODES[mode]():
        mapped = tf.vectorized_map(per_example, (xs, ys))
        one_by_one = [per_example((xs[i], ys[i])) for i in range(len(X))]
    for j, batched in enumerate(mapped):
        for i, single in enumerate(one_by_one):
            np.testing.assert_allclose(batched[i].numpy(), single[j].numpy(), rtol=1e-5, atol=1e-6,
                                       err_msg=f"example {i}, weight {j}")
