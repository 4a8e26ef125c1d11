"""Keras integration: every name as a Dense activation, every layer class, XLA, mixed
precision, fit, and the errors raised at the Python boundary.

Every value is checked against an independent float64 NumPy evaluation of the formula
(tests/reference.py's NUMPY) or against the same model on another execution path.
"""

import math

import keras
import numpy as np
import pytest
import scipy.special as sp
import tensorflow as tf

import reference
import tf_activations as ta
from tf_activations.layers import LAYERS



NAMES = ta.available()
AXIS_OPS = {"softmax", "log_softmax", "softmin", "sparsemax", "glu", "swiglu", "geglu", "reglu", "maxout"}
ELEMENTWISE = [n for n in NAMES if n not in AXIS_OPS]
F32 = dict(rtol=2e-6, atol=2e-6)


def test_every_name_has_a_layer():
    assert sorted(LAYERS) == NAMES


def _data(shape, seed=0, scale=1.5):
    return (np.random.RandomState(seed).randn(*shape) * scale).astype("float32")


# --- 1. every name as a Keras string: build, predict, one SGD step --------------------------

@pytest.mark.parametrize("name", NAMES)
def test_dense_string_activation_predicts_and_trains(name):
    keras.utils.set_random_seed(1)
    k, lr = 6, 0.1  # even k: maxout pairs units and glu halves the axis
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(k, activation=name)])
    x = _data((16, 5))
    w0, b0 = (v.astype(np.float64) for v in model.get_weights())

    def forward(w, b):
        return reference.NUMPY[name](x.astype(np.float64) @ w + b)

    y = model.predict(x, verbose=0, batch_size=16)
    np.testing.assert_allclose(y, forward(w0, b0), rtol=1e-5, atol=1e-6)

    target = np.random.RandomState(2).randn(*y.shape).astype("float32")

    def loss(w, b):
        return np.mean((forward(w, b) - target) ** 2)

    # float64 central differences of the NumPy loss -> expected SGD step.
    def fd(arr, other, first):
        g = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            for sign in (1, -1):
                a = arr.copy()
                a[i] += sign * 1e-6
                g[i] += sign * (loss(a, other) if first else loss(other, a)) / 2e-6
        return g

    gw, gb = fd(w0, b0, True), fd(b0, w0, False)
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    hist = model.fit(x, target, batch_size=16, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(hist.history["loss"][0], loss(w0, b0), rtol=1e-5)
    w1, b1 = model.get_weights()
    np.testing.assert_allclose(w1, w0 - lr * gw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(b1, b0 - lr * gb, rtol=1e-4, atol=1e-6)


# --- 1b. every layer class: defaults, call, config round trip -------------------------------

LAYER_CASES = [(n, {}) for n in NAMES] + [
    ("maxout", {"num_units": 2}),
    ("softmax", {"axis": 1}),
    ("gelu", {"approximate": True}),
    ("leaky_relu", {"negative_slope": 0.07}),
    ("elu", {"alpha": 0.5}),
    ("swish", {"beta": 1.7, "trainable_beta": True, "per_channel": True}),
    ("snake", {"frequency": 0.6, "trainable_frequency": True}),
    ("prelu", {"shared_axes": [1]}),
]


def _layer_ref(name, kwargs):
    if name == "maxout" and "num_units" in kwargs:
        return lambda z: reference.maxout_np(z, kwargs["num_units"])
    if name == "softmax" and kwargs.get("axis") == 1:
        return lambda z: np.swapaxes(reference.softmax_np(np.swapaxes(z, 1, -1)), 1, -1)
    if name == "gelu" and kwargs.get("approximate"):
        return lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))
    if name == "leaky_relu" and kwargs:
        return reference.leaky_np(kwargs["negative_slope"])
    if name == "elu" and kwargs:
        return lambda z: np.where(z > 0, z, kwargs["alpha"] * np.expm1(z))
    if name == "swish" and kwargs:
        return lambda z: z * sp.expit(kwargs["beta"] * z)
    if name == "snake" and kwargs:
        f = kwargs["frequency"]
        return lambda z: z + np.sin(f * z) ** 2 / f
    return reference.NUMPY[name]


@pytest.mark.parametrize("name,kwargs", LAYER_CASES,
                         ids=[f"{n}-{'-'.join(map(str, kw)) or 'defaults'}" for n, kw in LAYER_CASES])
def test_layer_call_and_config_round_trip(name, kwargs):
    cls = LAYERS[name]
    layer = cls(**kwargs)
    x = _data((3, 4, 8), seed=3)
    y = np.asarray(layer(x))
    assert y.dtype == np.float32
    learned = sum(1 for k, v in kwargs.items() if k.startswith("trainable_") and v) + (name == "prelu")
    assert len(layer.weights) == len(layer.trainable_weights) == learned
    np.testing.assert_allclose(y, _layer_ref(name, kwargs)(x.astype(np.float64)), **F32)
    config = layer.get_config()
    clone = cls.from_config(config)
    np.testing.assert_array_equal(np.asarray(clone(x)), y)
    assert clone.get_config() == config
    # and through Keras' own (de)serialization, by registered name
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is cls
    np.testing.assert_array_equal(np.asarray(again(x)), y)


def test_rrelu_layer_random_only_in_training():
    layer = LAYERS["rrelu"]()
    x = -np.abs(_data((64, 8), seed=4)) - 0.1
    slope = np.asarray(layer(x, training=True)) / x
    assert np.all(slope >= 0.125 - 1e-6) and np.all(slope <= 1 / 3 + 1e-6)
    assert slope.std() > 0.01
    np.testing.assert_allclose(np.asarray(layer(x, training=False)), reference.NUMPY["rrelu"](x.astype(np.float64)), **F32)


# --- 4. XLA, fit with jit_compile="auto", mixed precision -----------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_xla_matches_eager(name):
    fn = ta.get(name)
    x = tf.constant(_data((4, 8), seed=5))
    eager = fn(x).numpy()
    xla = tf.function(fn, jit_compile=True)(x).numpy()
    # XLA fuses differently per TF release (TF 2.16's erf: 1e-5 off eager in one element)
    np.testing.assert_allclose(xla, eager, **F32)
    np.testing.assert_allclose(eager, reference.NUMPY[name](x.numpy().astype(np.float64)), **F32)


@pytest.mark.parametrize("name", ["gelu", "mish", "swish", "snake", "softmax", "softmin", "sparsemax", "glu",
                                  "swiglu", "geglu", "reglu", "celu", "squared_relu"])
def test_xla_gradient_matches_eager(name):
    fn = ta.get(name)
    x = tf.constant(_data((4, 8), seed=6))

    def grad(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = fn(v)
            y = y * tf.cos(tf.reshape(tf.cast(tf.range(tf.size(y)), y.dtype), tf.shape(y)))
        return tape.gradient(y, v)

    np.testing.assert_allclose(tf.function(grad, jit_compile=True)(x).numpy(), grad(x).numpy(),
                               rtol=1e-5, atol=1e-6)


SHAPE_CHANGING = {"glu", "swiglu", "geglu", "reglu", "maxout"}


def _small_model(name_or_layer, units=8):
    """Dense -> activation -> Dense(2). glu/maxout change the width, which Dense's static
    output shape does not know about, so they come as their own layer there."""
    keras.utils.set_random_seed(7)
    if name_or_layer in SHAPE_CHANGING:
        name_or_layer = LAYERS[name_or_layer]()
    act = name_or_layer if isinstance(name_or_layer, str) else None
    layers = [keras.Input((6,)), keras.layers.Dense(units, activation=act)]
    if act is None:
        layers.append(name_or_layer)
    layers.append(keras.layers.Dense(2))
    return keras.Sequential(layers)


FIT_CASES = {
    "gelu": lambda: "gelu",
    "lisht": lambda: "lisht",
    "snake": lambda: "snake",
    "softmax": lambda: "softmax",
    "maxout": lambda: "maxout",
    "Swish(trainable_beta)": lambda: LAYERS["swish"](trainable_beta=True, per_channel=True),
    "Snake(trainable_frequency)": lambda: LAYERS["snake"](trainable_frequency=True),
    "PReLU": lambda: LAYERS["prelu"](),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(FIT_CASES))
def test_fit_auto_jit_matches_eager_fit(case):
    x, t = _data((32, 6), seed=8), _data((32, 2), seed=9)
    weights = []
    for mode in ({}, {"run_eagerly": True}):  # default jit_compile="auto" vs. plain eager steps
        model = _small_model(FIT_CASES[case]())
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", **mode)
        hist = model.fit(x, t, batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert np.isfinite(hist.history["loss"][0])
        weights.append(model.get_weights())
    for auto, eager in zip(*weights):
        np.testing.assert_allclose(auto, eager, rtol=1e-5, atol=1e-6)


MIXED = ["gelu", "mish", "swish", "lisht", "snake", "elu", "softplus", "tanh_shrink",
         "softmax", "log_softmax", "softmin", "sparsemax", "glu", "swiglu", "geglu", "reglu", "maxout", "sigmoid",
         "squared_relu"]


@pytest.mark.parametrize("name", MIXED)
def test_mixed_float16_policy(name):
    x = _data((16, 6), seed=10, scale=1.0)
    ref_model = _small_model(name)
    expected = ref_model.predict(x, verbose=0)
    try:
        keras.config.set_dtype_policy("mixed_float16")
        model = _small_model(name)
        model.set_weights(ref_model.get_weights())
        hidden = keras.Model(model.inputs, model.layers[-2].output)  # the activation's output
        h = hidden.predict(x, verbose=0)
        assert h.dtype == np.float16
        assert np.all(np.isfinite(h))
        np.testing.assert_allclose(h.astype(np.float64),
                                   reference.NUMPY[name](x.astype(np.float64) @ ref_model.get_weights()[0]
                                             + ref_model.get_weights()[1]), rtol=2e-2, atol=2e-2)
        y = model.predict(x, verbose=0)
        np.testing.assert_allclose(y, expected, rtol=3e-2, atol=3e-2)
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        hist = model.fit(x, _data((16, 2), seed=11), batch_size=16, epochs=1, verbose=0)
        assert np.isfinite(hist.history["loss"][0])
        assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    finally:
        keras.config.set_dtype_policy("float32")


def test_mixed_float16_trainable_layer():
    x = _data((16, 6), seed=12, scale=1.0)
    try:
        keras.config.set_dtype_policy("mixed_float16")
        layer = LAYERS["swish"](beta=1.5, trainable_beta=True, per_channel=True)
        y = layer(tf.constant(x, tf.float16))
        assert y.dtype == tf.float16 and layer.weights[0].dtype == "float32"
        np.testing.assert_allclose(np.asarray(y, np.float64), x * sp.expit(1.5 * x), rtol=2e-3, atol=2e-3)
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(tf.cast(layer(tf.constant(x, tf.float16)), tf.float32))
        g = tape.gradient(out, layer.trainable_weights)[0].numpy()
        s = sp.expit(1.5 * x.astype(np.float64))
        np.testing.assert_allclose(g, (x.astype(np.float64) ** 2 * s * (1 - s)).sum(0), rtol=1e-2, atol=1e-2)
    finally:
        keras.config.set_dtype_policy("float32")


# --- 7. bad input at the Python boundary ----------------------------------------------------

@pytest.mark.parametrize("dtype", [tf.int32, tf.bool, tf.complex64, tf.string])
@pytest.mark.parametrize("name", ["mish", "gelu", "softmax", "swish", "prelu", "maxout"])
def test_non_float_tensor_type_error(name, dtype):
    x = tf.zeros([2, 4], dtype)
    with pytest.raises(TypeError) as err:
        ta.get(name)(x)
    assert str(err.value) == (f"{name}() expects a floating tensor (float16, bfloat16, float32, float64); "
                              f"got {dtype.name}")


def test_non_float_tensor_through_layer_and_numpy():
    with pytest.raises(TypeError, match=r"mish\(\) expects a floating tensor .*got int32"):
        ta.mish(np.arange(4, dtype=np.int32))
    with pytest.raises(TypeError, match=r"lisht\(\) expects a floating tensor .*got int32"):
        LAYERS["lisht"]()(tf.constant([1, 2]))


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError) as err:
        ta.get("mishh")
    msg = str(err.value)
    assert "'mishh'" in msg and "Did you mean 'mish'" in msg
    assert all(n in msg for n in NAMES)
    with pytest.raises(ValueError, match="Available:"):
        ta.info("no_such_activation")


@pytest.mark.parametrize("call,exc,words", [
    (lambda x: ta.maxout(x, num_units=-2), ValueError, ["maxout()", "num_units", "-2"]),
    (lambda x: ta.maxout(x, num_units=3), ValueError, ["maxout()", "num_units", "3"]),
    (lambda x: ta.elu(x, alpha="big"), TypeError, ["elu()", "alpha", "'big'"]),
    (lambda x: ta.elu(x, alpha=-1.0), ValueError, ["elu()", "alpha", "-1.0"]),
    (lambda x: ta.celu(x, alpha=float("nan")), ValueError, ["celu()", "alpha", "nan"]),
    (lambda x: ta.gelu(x, approximate="yes"), TypeError, ["gelu()", "approximate", "'yes'"]),
    (lambda x: ta.softmax(x, axis=1.5), TypeError, ["softmax()", "axis", "1.5"]),
    (lambda x: ta.softmax(x, axis=5), ValueError, ["softmax()", "axis", "5"]),
    (lambda x: ta.snake(x, frequency=0.0), ValueError, ["snake()", "frequency", "0.0"]),
    (lambda x: ta.mish(x, beta=2.0), TypeError, ["mish()", "beta"]),
    (lambda x: ta.swish(x, betta=2.0), TypeError, ["swish()", "betta"]),
    (lambda x: ta.swish(x, tf.constant([1, 2], tf.int32)), TypeError, ["swish()", "beta", "int32"]),
    (lambda x: LAYERS["maxout"](num_units=-1), ValueError, ["Maxout", "num_units", "-1"]),
    (lambda x: LAYERS["elu"](alpha="a"), TypeError, ["ELU", "alpha", "'a'"]),
    (lambda x: LAYERS["swish"](trainable_beta="yes"), TypeError, ["Swish", "trainable_beta", "'yes'"]),
    (lambda x: LAYERS["mish"](colour=3), (TypeError, ValueError), ["Mish", "colour", "3"]),
    (lambda x: LAYERS["prelu"](shared_axes=[0]), ValueError, ["PReLU", "shared_axes", "[0]"]),
])
def test_bad_parameters_name_function_argument_and_value(call, exc, words):
    x = tf.zeros([2, 4])
    with pytest.raises(exc) as err:
        call(x)
    for word in words:
        assert word in str(err.value), f"{word!r} not in {str(err.value)!r}"


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_ragged_input_matches_dense(name):
    values = _data((7,), seed=13)
    ragged = tf.RaggedTensor.from_row_lengths(values, [3, 0, 4])
    out = ta.get(name)(ragged)
    assert isinstance(out, tf.RaggedTensor)
    np.testing.assert_array_equal(out.row_lengths().numpy(), [3, 0, 4])
    np.testing.assert_array_equal(out.flat_values.numpy(), ta.get(name)(values).numpy())
    np.testing.assert_allclose(out.flat_values.numpy(), reference.NUMPY[name](values.astype(np.float64)), **F32)


def test_ragged_input_to_axis_op_is_a_clear_error():
    ragged = tf.ragged.constant([[1.0, 2.0], [3.0]])
    with pytest.raises(TypeError, match=r"softmax\(\).*RaggedTensor.*to_tensor"):
        ta.softmax(ragged)


@pytest.mark.parametrize("name", ["mish", "relu", "softmax"])
def test_sparse_input_points_to_map_values(name):
    st = tf.sparse.from_dense(tf.constant([[0.0, 1.5], [-2.0, 0.0]]))
    with pytest.raises(TypeError, match=r"tf\.sparse\.map_values"):
        ta.get(name)(st)
