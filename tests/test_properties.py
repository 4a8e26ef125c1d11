"""Properties that must hold for any input (hypothesis), and the claims info() makes."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tf_activations
from peers import keras_peer

ELEMENTWISE = [n for n in tf_activations.available() if tf_activations.info(n)["elementwise"]]
# Where the default mode runs Keras' own function and that function breaks the property, the
# default may break it where Keras does, and only there: these names, each with the reason.
KERAS_NOT_FINITE = {
    "squareplus": "Keras' squareplus forms x * x: inf for |x| > 1.8e19",
    "gelu_tanh": "Keras' gelu(approximate=True) cubes x: a NaN gradient for |x| > 7e12",
}
KERAS_NOT_MONOTONIC = {
    "squareplus": "Keras' (x + sqrt(x^2 + 4)) / 2 cancels for x < 0 and can step down by an ulp",
}
finite_f32 = hnp.arrays(np.float32, st.integers(1, 64),
                        elements=st.floats(allow_nan=False, allow_infinity=False, width=32))


@pytest.fixture(autouse=True, params=["exact", "default"])
def mode(request):
    """Each property holds in exact mode; in the default mode wherever Keras' own function has it."""
    with tf_activations.exact(request.param == "exact"):
        yield request.param


@pytest.mark.parametrize("name", ELEMENTWISE)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=finite_f32)
def test_finite_in_finite_out(name, x, mode):
    # the only finite inputs whose exact result is beyond float32's range
    if name == "exponential":
        x = np.minimum(x, 88.0)
    if name == "selu":  # scale 1.0507 * x > 3.4e38
        x = np.clip(x, -3e38, 3e38)
    if name == "squared_relu":  # x^2 > 3.4e38
        x = np.minimum(x, 1.8e19)
    xt = tf.constant(x)

    def sound(fn):
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt)
        # the gradient may only overflow where the true derivative does (swish's x^2 terms cannot here)
        return np.isfinite(y.numpy()) & ~np.isnan(tape.gradient(y, xt).numpy())

    ok = sound(tf_activations.get(name))
    if name in KERAS_NOT_FINITE and mode == "default":  # Keras' own function runs there
        ok |= ~sound(keras_peer(name, mode))
    assert ok.all(), f"{name}: not finite at {x[~ok]}"


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if tf_activations.info(n)["properties"]["monotonic"]])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=finite_f32)
def test_monotonic_claim_holds(name, x, mode):
    # unique: TF's vectorised and scalar-tail exp may differ by an ulp on equal inputs
    x = np.unique(np.minimum(x, 88.0) if name == "exponential" else x)

    def rises(fn):
        y = fn(tf.constant(x)).numpy()
        # TF's CPU kernels run with denormals-are-zero, and tf.nn.relu/relu6 pass a
        # negative subnormal through (relu6(-1e-45) = -1e-45): every later op reads it as 0.
        y = np.where(np.abs(y) < np.finfo(np.float32).tiny, np.float32(0), y)
        with np.errstate(invalid="ignore"):  # inf - inf where both overflowed (squared_relu above 1.8e19)
            return (np.diff(y) >= 0) | (y[1:] == y[:-1])

    ok = rises(tf_activations.get(name))
    if name in KERAS_NOT_MONOTONIC and mode == "default":  # Keras' own function runs there
        ok |= ~rises(keras_peer(name, mode))
    assert ok.all(), name


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if not tf_activations.info(n)["properties"]["monotonic"]])
def test_non_monotonic_claim_holds(name):
    x = np.linspace(-6, 6, 20001)
    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert np.any(np.diff(y) < 0), f"{name} is declared non-monotonic but increases on [-6, 6]"


@pytest.mark.parametrize("name", ["softmax", "sparsemax"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 9)),
                    elements=st.floats(-1e6, 1e6, allow_nan=False)))
def test_normalisers_give_distributions(name, x):
    y = tf_activations.get(name)(tf.constant(x)).numpy()
    assert np.all(y >= 0)
    # x - tau cancels: the sum is exact to a few ulp of the largest |x|
    np.testing.assert_allclose(y.sum(-1), 1.0, rtol=0, atol=1e-14 * max(1.0, np.abs(x).max()) * x.shape[-1])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_zero_centred_claim(name):
    """zero_centred means symmetric outputs: an odd function, f(-x) = -f(x)."""
    info = tf_activations.info(name)["properties"]
    x = np.array([0.3, 0.75, 2.0, 7.0])
    f = tf_activations.get(name)
    odd = np.allclose(f(tf.constant(-x)).numpy(), -f(tf.constant(x)).numpy(), rtol=1e-12, atol=0)
    assert odd == info["zero_centred"], name
