"""The layers follow Keras 3's conventions for activation layers.

Keras' own activation layer tests (keras/src/layers/activations/*_test.py)
check, through ``run_layer_test``: built state after construction, a
``compute_output_shape`` that matches the call, the config round trip,
``supports_masking``, training and mixed precision. Values here are checked
against NumPy formulas written in this file.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_activations
from tf_activations import layers as L
from tf_activations._registry import SPECS
from tf_activations.layers import LAYERS

MASKING_AXIS_LAYERS = {"softmax", "log_softmax"}


def _elementwise(name):
    return not SPECS[name].axis_op


def _np_mish(x):
    return x * np.tanh(np.log1p(np.exp(x)))


def _np_snake(x, a):
    return x + np.sin(a * x) ** 2 / a


def _np_maxout(x, units):
    return x.reshape(x.shape[:-1] + (units, x.shape[-1] // units)).max(axis=-1)


# -- Keras' own yardstick -------------------------------------------------------------------

def _run_layer_test(**kwargs):
    testing = pytest.importorskip("keras.src.testing")
    testing.TestCase(methodName="run_layer_test").run_layer_test(**kwargs)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_keras_run_layer_test(name):
    """What Keras' tests of ReLU, ELU, Softmax... run, on every layer without weights."""
    stateless = name != "prelu"
    _run_layer_test(layer_cls=LAYERS[name], init_kwargs={}, input_shape=(2, 3, 4),
                    supports_masking=_elementwise(name) or name in MASKING_AXIS_LAYERS,
                    assert_built_after_instantiation=stateless)


@pytest.mark.parametrize("name, flag", [("swish", "trainable_beta"), ("snake", "trainable_frequency")])
@pytest.mark.parametrize("per_channel", [False, True])
def test_keras_run_layer_test_with_weights(name, flag, per_channel):
    _run_layer_test(layer_cls=LAYERS[name], init_kwargs={flag: True, "per_channel": per_channel},
                    input_shape=(2, 3, 4), supports_masking=True,
                    expected_num_trainable_weights=1)


def test_keras_prelu_layer_test_with_its_initializer_regularizer_constraint():
    _run_layer_test(layer_cls=L.PReLU, init_kwargs={"alpha_initializer": "zeros", "alpha_regularizer": "L1",
                                                    "alpha_constraint": "MaxNorm", "shared_axes": 1},
                    input_shape=(2, 3, 4), supports_masking=True)


@pytest.mark.parametrize("make", [L.ELU, lambda: L.ReLU(max_value=10.0, negative_slope=1.0, threshold=0.5),
                                  lambda: L.Softmax(axis=1), lambda: L.Maxout(num_units=3)],
                         ids=["ELU", "ReLU", "Softmax", "Maxout"])
def test_keras_class_serialization_test(make):
    testing = pytest.importorskip("keras.src.testing")
    testing.TestCase(methodName="run_class_serialization_test").run_class_serialization_test(make())


# -- compute_output_shape -------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LAYERS))
def test_compute_output_shape_matches_the_call(name):
    layer = LAYERS[name]()
    x = tf.random.normal((2, 3, 6), seed=1)
    assert tuple(layer.compute_output_shape((2, 3, 6))) == tuple(layer(x).shape)
    if _elementwise(name) or name in ("softmax", "log_softmax", "softmin", "sparsemax"):
        assert tuple(layer.compute_output_shape((None, 3, 6))) == (None, 3, 6)


def test_glu_and_maxout_output_shapes():
    assert L.GLU().compute_output_shape((None, 5, 8)) == (None, 5, 4)
    assert L.GLU(axis=1).compute_output_shape((None, 6, 3)) == (None, 3, 3)
    assert L.GLU().compute_output_shape((None, None)) == (None, None)
    for gated in (L.SwiGLU(), L.GeGLU(approximate=True), L.ReGLU()):
        assert gated.compute_output_shape((None, 5, 8)) == (None, 5, 4)
    assert L.SwiGLU(axis=1, beta=2.0).compute_output_shape((None, 6, 3)) == (None, 3, 3)
    assert L.Maxout().compute_output_shape((None, 8)) == (None, 4)
    assert L.Maxout(num_units=2).compute_output_shape((None, 8)) == (None, 2)
    assert L.Maxout(num_units=3, axis=1).compute_output_shape((None, 9, 7)) == (None, 3, 7)
    assert L.Maxout(num_units=3).compute_output_shape((None, None)) == (None, 3)
    assert L.Maxout().compute_output_shape((None, None)) == (None, None)


@pytest.mark.parametrize("layer, shape, match", [
    (L.GLU(), (None, 5), "even size"),
    (L.SwiGLU(), (None, 5), "SwiGLU expects an even size"),
    (L.GeGLU(axis=1), (None, 3, 4), "GeGLU expects an even size along axis 1"),
    (L.ReGLU(), (None, 7), "ReGLU expects an even size"),
    (L.Maxout(num_units=3), (None, 8), "divide the size 8"),
    (L.Maxout(), (None, 1), "pairs up"),
    (L.GLU(axis=2), (None, 4), r"axis in \[-2, 2\)"),
    (L.Softmax(), (), "rank >= 1"),
])
def test_axis_layers_refuse_shapes_they_cannot_take_when_the_model_is_built(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        layer.compute_output_shape(shape)


def test_time_distributed_mish_in_a_functional_model():
    inputs = keras.Input((5, 4))
    outputs = keras.layers.TimeDistributed(L.Mish())(inputs)
    model = keras.Model(inputs, outputs)
    assert tuple(outputs.shape) == (None, 5, 4)
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32) * 3
    np.testing.assert_allclose(model.predict(x, verbose=0), _np_mish(x), rtol=1e-5, atol=1e-6)


def test_time_distributed_glu_halves_the_feature_axis():
    inputs = keras.Input((5, 4))
    outputs = keras.layers.TimeDistributed(L.GLU())(inputs)
    assert tuple(outputs.shape) == (None, 5, 2)
    x = np.random.default_rng(1).normal(size=(2, 5, 4)).astype(np.float32)
    expected = x[..., :2] / (1.0 + np.exp(-x[..., 2:]))
    np.testing.assert_allclose(keras.Model(inputs, outputs).predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)


# -- Maxout where the size along its axis is known only when the model runs ------------------

def test_maxout_with_a_size_unknown_when_the_model_is_built():
    inputs = keras.Input((None,))
    outputs = L.Maxout(num_units=2)(inputs)
    assert tuple(outputs.shape) == (None, 2)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(2).normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_array_equal(model.predict(x, verbose=0), _np_maxout(x, 2))
    x = np.random.default_rng(3).normal(size=(3, 10)).astype(np.float32)
    np.testing.assert_array_equal(model(x).numpy(), _np_maxout(x, 2))


def test_maxout_default_units_with_a_size_unknown_when_the_model_is_built():
    inputs = keras.Input((None,))
    outputs = L.Maxout()(inputs)
    assert tuple(outputs.shape) == (None, None)
    x = np.arange(8, dtype=np.float32).reshape(2, 4)[:, ::-1].copy()
    np.testing.assert_array_equal(keras.Model(inputs, outputs).predict(x, verbose=0), _np_maxout(x, 2))


# -- built at instantiation -------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(set(LAYERS) - {"prelu"}))
def test_layers_without_weights_are_built_when_constructed(name):
    layer = LAYERS[name]()
    assert layer.built
    assert layer.weights == []


@pytest.mark.parametrize("make", [
    lambda: L.PReLU(),
    lambda: L.Swish(trainable_beta=True),
    lambda: L.Snake(trainable_frequency=True, per_channel=True),
], ids=["PReLU", "Swish-trainable", "Snake-trainable"])
def test_layers_with_weights_build_on_first_call(make):
    layer = make()
    assert not layer.built and layer.weights == []
    layer(tf.ones((2, 3)))
    assert layer.built and len(layer.trainable_weights) == 1


def test_a_subclass_with_its_own_build_is_built_by_it():
    calls = []

    class Recording(L.Mish):
        def build(self, input_shape):
            calls.append(tuple(input_shape))

    layer = Recording()
    assert not layer.built
    layer(tf.ones((2, 3)))
    assert layer.built and calls == [(2, 3)]


# -- public parameter attributes --------------------------------------------------------------

def test_relu_elu_softmax_attributes_like_keras():
    relu = L.ReLU(max_value=10.0, negative_slope=0.5, threshold=0.25)
    ours = (relu.max_value, relu.negative_slope, relu.threshold)
    assert ours == (10.0, 0.5, 0.25)
    theirs = keras.layers.ReLU(max_value=10.0, negative_slope=0.5, threshold=0.25)
    assert ours == (theirs.max_value, theirs.negative_slope, theirs.threshold)
    assert L.ReLU().max_value is None and L.ReLU().negative_slope == 0.0 and L.ReLU().threshold == 0.0
    assert L.ELU().alpha == keras.layers.ELU().alpha == 1.0
    assert L.ELU(alpha=0.3).alpha == 0.3
    assert L.Softmax().axis == keras.layers.Softmax().axis == -1
    assert L.Softmax(axis=1).axis == 1
    # Keras' LeakyReLU layer defaults to 0.3, its function to 0.2; ours are both 0.2 (README).
    assert L.LeakyReLU().negative_slope == 0.2


@pytest.mark.parametrize("name", sorted(set(LAYERS) - {"prelu"}))
def test_every_parameter_is_a_read_only_attribute_equal_to_the_config(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    params = [p.name for p in SPECS[name].params if p.name != "training"]
    for param in params:
        assert getattr(layer, param) == config[param]
        with pytest.raises(AttributeError, match="no setter"):
            setattr(layer, param, 7)
    rebuilt = LAYERS[name].from_config(config)
    assert {p: getattr(rebuilt, p) for p in params} == {p: getattr(layer, p) for p in params}


def test_a_trainable_parameter_attribute_is_its_initial_value():
    layer = L.Swish(beta=1.5, trainable_beta=True)
    layer(tf.ones((1, 2)))
    layer.beta_weight.assign(3.0)
    assert layer.beta == 1.5 == layer.get_config()["beta"]


# -- masking ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LAYERS))
def test_supports_masking_where_elementwise_and_for_the_softmax_layers(name):
    assert LAYERS[name]().supports_masking == (_elementwise(name) or name in MASKING_AXIS_LAYERS)


@pytest.mark.parametrize("name", ["mish", "relu", "prelu", "snake", "gelu"])
def test_elementwise_layers_pass_the_mask_through(name):
    layer = LAYERS[name]()
    given = tf.constant([[True, False, True]])
    assert layer.compute_mask(tf.ones((1, 3, 2)), given) is given


def test_a_mask_reaches_a_later_layer_through_an_elementwise_layer():
    # An LSTM skips masked steps: its output with the mask equals its output on the unmasked prefix.
    tokens = np.array([[3, 1, 0, 0]])
    inputs = keras.Input((4,), dtype="int32")
    embedded = keras.layers.Embedding(5, 2, mask_zero=True, embeddings_initializer="ones")(inputs)
    act = L.Mish()(embedded)
    lstm = keras.layers.LSTM(3, kernel_initializer="ones", recurrent_initializer="ones")
    model = keras.Model(inputs, lstm(act))
    prefix = keras.Input((2,), dtype="int32")
    short = keras.Model(prefix, lstm(L.Mish()(keras.layers.Embedding(5, 2, embeddings_initializer="ones")(prefix))))
    np.testing.assert_allclose(model.predict(tokens, verbose=0), short.predict(tokens[:, :2], verbose=0), rtol=1e-6)


SOFTMAX_X = np.array([[1.0, 2.0, 5.0, 1.0], [1.0, 1.0, 1.0, 1.0], [3.0, 1.0, 2.0, 4.0]], np.float32)
SOFTMAX_MASK = np.array([[True, True, False, False], [False] * 4, [True] * 4])


def _np_masked_softmax(x, mask):
    out = np.zeros_like(x, dtype=np.float64)
    for i in range(x.shape[0]):
        kept = x[i][mask[i]].astype(np.float64)
        if kept.size:
            out[i][mask[i]] = np.exp(kept - kept.max()) / np.exp(kept - kept.max()).sum()
    return out


def test_softmax_layer_with_a_mask():
    expected = _np_masked_softmax(SOFTMAX_X, SOFTMAX_MASK)
    ours = L.Softmax()(SOFTMAX_X, mask=SOFTMAX_MASK).numpy()
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ours[~SOFTMAX_MASK], 0.0)  # exact zeros, the fully masked row too
    np.testing.assert_allclose(ours, keras.layers.Softmax()(SOFTMAX_X, mask=SOFTMAX_MASK).numpy(), rtol=1e-6, atol=1e-7)


def test_softmax_layer_with_a_mask_in_exact_mode():
    with tf_activations.exact():
        ours = L.Softmax()(SOFTMAX_X, mask=SOFTMAX_MASK).numpy()
    np.testing.assert_allclose(ours, _np_masked_softmax(SOFTMAX_X, SOFTMAX_MASK), rtol=1e-6, atol=1e-7)


def test_log_softmax_layer_with_a_mask():
    ours = L.LogSoftmax()(SOFTMAX_X, mask=SOFTMAX_MASK).numpy()
    expected = np.full(SOFTMAX_X.shape, -np.inf)
    for i, row in enumerate(SOFTMAX_X.astype(np.float64)):
        kept = row[SOFTMAX_MASK[i]]
        if kept.size:
            expected[i][SOFTMAX_MASK[i]] = kept - (kept.max() + math.log(np.exp(kept - kept.max()).sum()))
    np.testing.assert_allclose(ours, expected, rtol=1e-6, atol=1e-6)
    assert np.all(np.isneginf(ours[~SOFTMAX_MASK]))


def test_softmax_masks_that_broadcast_or_are_numbers():
    x = np.array([[1.0, 2.0, 1.0], [3.0, 4.0, 5.0]], np.float32)
    expected = np.stack([_np_masked_softmax(x[i:i + 1], np.array([[True, False, True]]))[0] for i in range(2)])
    for mask in (np.array([[1.0, 0.0, 1.0]]), np.array([1.0, 0.0, 1.0]), np.array([True, False, True])):
        np.testing.assert_allclose(L.Softmax()(x, mask=mask).numpy(), expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(L.Softmax(axis=0)(x, mask=np.array([[1.0], [0.0]])).numpy(),
                               [[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]], atol=1e-7)


def test_softmax_mask_in_float16_uses_a_representable_fill():
    x = SOFTMAX_X.astype(np.float16)
    ours = L.Softmax(dtype="float16")(x, mask=SOFTMAX_MASK).numpy()
    assert ours.dtype == np.float16 and np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, _np_masked_softmax(SOFTMAX_X, SOFTMAX_MASK), atol=1e-3)


@pytest.mark.parametrize("cls", [L.Softmax, L.LogSoftmax])
def test_softmax_masks_that_do_not_broadcast_are_refused(cls):
    with pytest.raises(ValueError, match="broadcastable"):
        cls()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError, match="must not have more dimensions"):
        cls()(np.array([[1.0, 2.0, 1.0]]), mask=np.array([[[1.0, 0.0, 1.0]]]))


def test_softmax_takes_the_mask_a_model_propagates():
    tokens = np.array([[2, 4, 0, 0], [1, 0, 0, 0]])
    table = np.linspace(-1.0, 1.0, 5, dtype=np.float32)[:, None]
    inputs = keras.Input((4,), dtype="int32")
    logits = keras.layers.Embedding(5, 1, mask_zero=True,
                                    embeddings_initializer=keras.initializers.Constant(table))(inputs)
    squeezed = keras.layers.Lambda(lambda t: t[..., 0], output_shape=(4,), mask=lambda t, m: m)(logits)
    out = keras.Model(inputs, L.Softmax()(squeezed)).predict(tokens, verbose=0)
    np.testing.assert_allclose(out, _np_masked_softmax(table[tokens, 0], tokens != 0), rtol=1e-6, atol=1e-7)


# -- get(None) --------------------------------------------------------------------------------

def test_get_none_is_linear_like_keras():
    assert tf_activations.get(None) is tf_activations.linear
    assert keras.activations.get(None).__name__ == tf_activations.get(None).__name__ == "linear"
    x = np.array([-2.5, 0.0, 3.0], np.float32)
    np.testing.assert_array_equal(tf_activations.get(None)(x).numpy(), x)


# -- learned parameters stay out of the NaN region --------------------------------------------

@pytest.mark.parametrize("value", [0.0, -1.0, -1e-30])
@pytest.mark.parametrize("per_channel", [False, True])
def test_a_learned_snake_frequency_at_or_below_zero_stays_finite(value, per_channel):
    layer = L.Snake(trainable_frequency=True, per_channel=per_channel)
    x = tf.constant([[-3.0, -0.5, 0.0, 2.0, 40.0]])
    layer(x)
    layer.frequency_weight.assign(tf.fill(layer.frequency_weight.shape, value))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
    dx = tape.gradient(y, x)
    dw = tape.gradient(y, layer.frequency_weight)
    floor = tf_activations.layers.LEARNED_FLOOR
    np.testing.assert_allclose(y.numpy(), _np_snake(x.numpy().astype(np.float64), floor), rtol=1e-6)
    np.testing.assert_allclose(dx.numpy(), 1.0 + np.sin(2 * floor * x.numpy().astype(np.float64)), rtol=1e-6)
    assert np.all(np.isfinite(dw.numpy()))


def test_an_optimizer_step_cannot_push_the_snake_frequency_below_the_floor():
    layer = L.Snake(trainable_frequency=True)
    layer(tf.ones((1, 3)))
    keras.optimizers.SGD(1.0).apply_gradients([(tf.constant(10.0), layer.frequency_weight)])
    assert layer.frequency_weight.numpy() == np.float32(tf_activations.layers.LEARNED_FLOOR)


def test_training_that_drives_the_snake_frequency_down_stays_finite():
    # Targets equal to x pull snake towards the identity, i.e. the frequency towards 0.
    layer = L.Snake(frequency=0.05, trainable_frequency=True)
    model = keras.Sequential([keras.Input((4,)), layer])
    model.compile(optimizer=keras.optimizers.SGD(5.0), loss="mse")
    x = np.random.default_rng(4).normal(size=(64, 4)).astype(np.float32) * 4
    history = model.fit(x, x, epochs=3, batch_size=16, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert layer.frequency_weight.numpy() == np.float32(tf_activations.layers.LEARNED_FLOOR)  # reached, held
    assert np.all(np.isfinite(model.predict(x, verbose=0)))


@pytest.mark.parametrize("value", [0.0, -2.0])
def test_a_learned_swish_beta_of_any_sign_is_finite_and_unclipped(value):
    layer = L.Swish(trainable_beta=True)
    x = tf.constant([[-30.0, -1.0, 0.0, 1.5, 30.0]])
    layer(x)
    layer.beta_weight.assign(value)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    xs = x.numpy().astype(np.float64)
    np.testing.assert_allclose(y.numpy(), xs / (1.0 + np.exp(-value * xs)), rtol=1e-6, atol=1e-30)
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))
