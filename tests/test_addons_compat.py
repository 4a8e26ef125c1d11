"""TF Addons migration: configs and HDF5 files naming ``Addons>...`` objects load and give TF Addons' outputs.

The configs below are written out literally as TF Addons (on tf.keras 2) wrote them; TF Addons
itself does not import with Keras 3, so the expected values are its formulas, in NumPy float64.
"""

import json

import h5py
import keras
import numpy as np
import pytest

import tf_activations as ta
from conftest import major_minor

X = np.linspace(-3.0, 3.0, 25)
# By default gelu runs Keras' own (tf.nn.gelu), whose tanh-form coefficients are rounded to
# float32: ~1e-7 relative in float64. Under tf_activations.exact() it is ours, to 1e-12.
GELU_DEFAULT_RTOL = 1e-6


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def _sparsemax(z):
    """Martins & Astudillo 2016, along the last axis."""
    z_sorted = -np.sort(-z, axis=-1)
    k = np.arange(1, z.shape[-1] + 1)
    cumsum = np.cumsum(z_sorted, axis=-1)
    support = 1 + k * z_sorted > cumsum
    k_z = support.sum(axis=-1, keepdims=True)
    tau = (np.take_along_axis(cumsum, k_z - 1, axis=-1) - 1) / k_z
    return np.maximum(z - tau, 0.0)


def _maxout_strided(x, num_units):
    """TF Addons' Maxout on the last axis: reshape [..., size // num_units, num_units], max over the former."""
    return x.reshape(x.shape[:-1] + (x.shape[-1] // num_units, num_units)).max(axis=-2)


# TF Addons' formulas, with its defaults.
FUNCTION_CASES = {
    "gelu": (_gelu_tanh, {}),
    "mish": (lambda x: x * np.tanh(np.log1p(np.exp(x))), {}),
    "tanhshrink": (lambda x: x - np.tanh(x), {}),
    "lisht": (lambda x: x * np.tanh(x), {}),
    "hardshrink": (lambda x: np.where((x < -0.5) | (x > 0.5), x, 0.0), {}),
    "softshrink": (lambda x: np.where(x < -0.5, x + 0.5, np.where(x > 0.5, x - 0.5, 0.0)), {}),
    "rrelu": (lambda x: np.where(x >= 0, x, (0.125 + 1 / 3) / 2 * x), {}),
    "snake": (lambda x: x + (1 - np.cos(2 * x)) / 2, {}),
    "sparsemax": (lambda x: _sparsemax(x.reshape(5, 5)).reshape(-1), {}),
}


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_addons_function_names_resolve_with_addons_defaults(name):
    expected, _ = FUNCTION_CASES[name]
    fn = keras.activations.get(f"Addons>{name}")
    assert keras.saving.get_registered_object(f"Addons>{name}") is fn
    x = X.reshape(5, 5) if name == "sparsemax" else X
    got = np.asarray(fn(keras.ops.convert_to_tensor(x, "float64"))).reshape(-1)
    np.testing.assert_allclose(got, expected(X), rtol=GELU_DEFAULT_RTOL if name == "gelu" else 1e-12, atol=1e-14)
    with ta.exact():
        got = np.asarray(fn(keras.ops.convert_to_tensor(x, "float64"))).reshape(-1)
    np.testing.assert_allclose(got, expected(X), rtol=1e-12, atol=1e-14)


def test_gelu_default_is_the_tanh_form_and_exact_on_request():
    gelu = keras.activations.get("Addons>gelu")
    x = keras.ops.convert_to_tensor(X, "float64")
    from scipy.special import erf
    with ta.exact():
        got = np.asarray(gelu(x, approximate=False))
    np.testing.assert_allclose(got, 0.5 * X * (1 + erf(X / np.sqrt(2))), rtol=1e-12, atol=1e-14)
    assert not np.allclose(np.asarray(gelu(x)), np.asarray(gelu(x, approximate=False)), rtol=0, atol=1e-4)


def test_shrinks_take_an_asymmetric_band():
    x = keras.ops.convert_to_tensor(X, "float64")
    lower, upper = -1.0, 0.25
    hard = keras.activations.get("Addons>hardshrink")(x, lower=lower, upper=upper)
    soft = keras.activations.get("Addons>softshrink")(x, lower=lower, upper=upper)
    np.testing.assert_array_equal(np.asarray(hard), np.where((X < lower) | (X > upper), X, 0.0))
    np.testing.assert_allclose(np.asarray(soft),
                               np.where(X < lower, X - lower, np.where(X > upper, X - upper, 0.0)), atol=1e-15)
    with pytest.raises(ValueError, match="lower <= upper"):
        keras.activations.get("Addons>hardshrink")(x, lower=1.0, upper=0.0)
    with pytest.raises(ValueError, match="lower <= upper"):
        keras.activations.get("Addons>softshrink")(x, lower=1.0, upper=0.0)


def test_shrinks_pass_nan_through():
    x = keras.ops.convert_to_tensor([np.nan, 0.0, 2.0], "float32")
    for name in ("hardshrink", "softshrink"):
        assert np.isnan(np.asarray(keras.activations.get(f"Addons>{name}")(x))[0])


@pytest.mark.parametrize("name", ["hardshrink", "softshrink"])
def test_shrinks_check_their_input_like_every_function(name):
    fn = keras.activations.get(f"Addons>{name}")
    with pytest.raises(TypeError, match=f"{name}.*floating.*int32"):
        fn(np.array([1, -2, 3], np.int32))
    with pytest.raises(TypeError, match=f"{name}.*lower.*real number"):
        fn(np.zeros(3, np.float32), lower=None)


def test_rrelu_takes_lower_upper_training_seed():
    rrelu = keras.activations.get("Addons>rrelu")
    x = keras.ops.convert_to_tensor(X, "float64")
    np.testing.assert_allclose(np.asarray(rrelu(x, lower=0.1, upper=0.3, training=False)),
                               np.where(X >= 0, X, 0.2 * X), rtol=1e-15)
    slopes = np.asarray(rrelu(x, lower=0.1, upper=0.3, training=True, seed=2020))[X < 0] / X[X < 0]
    assert np.all((slopes >= 0.1) & (slopes <= 0.3)) and np.ptp(slopes) > 0


def test_rrelu_draws_its_training_slopes_from_an_rng():
    import tensorflow as tf

    rrelu = keras.activations.get("Addons>rrelu")
    x = keras.ops.convert_to_tensor(X, "float32")
    expected_slopes = np.asarray(tf.random.Generator.from_seed(7).uniform(X.shape, 0.1, 0.2, dtype="float32"))
    got = np.asarray(rrelu(x, 0.1, 0.2, training=True, rng=tf.random.Generator.from_seed(7)))
    np.testing.assert_allclose(got, np.where(X >= 0, X, expected_slopes * X), rtol=1e-6)
    with pytest.raises(ValueError, match="seed or rng, not both"):
        rrelu(x, training=True, seed=1, rng=tf.random.Generator.from_seed(7))
    with pytest.raises(TypeError, match="rng to be a tf.random.Generator"):
        rrelu(x, training=True, rng=7)


def test_snake_frequency_argument():
    snake = keras.activations.get("Addons>snake")
    x = keras.ops.convert_to_tensor(X, "float64")
    np.testing.assert_allclose(np.asarray(snake(x, frequency=2.5)), X + (1 - np.cos(5 * X)) / 5, rtol=1e-12)


def test_gelu_tanh_string_function_and_round_trip():
    x = keras.ops.convert_to_tensor(X, "float64")
    assert keras.activations.get("gelu_tanh") is ta.gelu_tanh
    np.testing.assert_allclose(np.asarray(ta.gelu_tanh(x)), _gelu_tanh(X), rtol=GELU_DEFAULT_RTOL, atol=1e-14)
    with ta.exact():
        np.testing.assert_allclose(np.asarray(ta.gelu_tanh(x)), _gelu_tanh(X), rtol=1e-12, atol=1e-14)
    layer = keras.layers.Dense(3, activation="gelu_tanh")
    restored = keras.layers.Dense.from_config(json.loads(json.dumps(layer.get_config())))
    assert restored.activation is ta.gelu_tanh


def _write_tf_keras_h5(path, config, weights):
    """An HDF5 file laid out as tf.keras 2 saves one (model_config attribute, model_weights group)."""
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.attrs["keras_version"] = "2.11.0"
        f.attrs["backend"] = "tensorflow"
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([name.encode() for name in weights])
        for layer_name, arrays in weights.items():
            layer = group.create_group(layer_name)
            layer.attrs["weight_names"] = np.array([f"{layer_name}/{w}:0".encode() for w in arrays], dtype="S")
            for w, value in arrays.items():
                layer.create_dataset(f"{layer_name}/{w}:0", data=value)


@pytest.mark.skipif(major_minor(keras) < (3, 15),
                    reason="Keras 3.10's legacy HDF5 loader fails on the bare 'Addons>gelu' string "
                           "(TypeError: Object of type function is not JSON serializable); checked with 3.15")
def test_tf_keras_h5_with_addons_objects_loads_and_predicts_tf_addons_values(tmp_path):
    kernel = np.random.default_rng(0).normal(size=(6, 6)).astype("float32")
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 6], "dtype": "float32",
                                                 "sparse": False, "ragged": False, "name": "input_1"}},
        {"class_name": "Dense", "config": {"name": "dense", "trainable": True, "dtype": "float32", "units": 6,
                                           "activation": "Addons>gelu", "use_bias": False,
                                           "kernel_initializer": {"class_name": "GlorotUniform",
                                                                  "config": {"seed": None}},
                                           "bias_initializer": {"class_name": "Zeros", "config": {}},
                                           "kernel_regularizer": None, "bias_regularizer": None,
                                           "activity_regularizer": None, "kernel_constraint": None,
                                           "bias_constraint": None}},
        {"class_name": "Activation", "config": {"name": "activation", "trainable": True, "dtype": "float32",
                                                "activation": "Addons>mish"}},
        {"class_name": "Addons>Maxout", "config": {"name": "maxout", "trainable": True, "dtype": "float32",
                                                   "num_units": 3, "axis": -1}},
        {"class_name": "Addons>Sparsemax", "config": {"name": "sparsemax", "trainable": True,
                                                      "dtype": "float32", "axis": -1}}]},
        "keras_version": "2.11.0", "backend": "tensorflow"}
    path = tmp_path / "tfa_model.h5"
    _write_tf_keras_h5(path, config, {"dense": {"kernel": kernel}, "activation": {}, "maxout": {},
                                      "sparsemax": {}})
    model = keras.models.load_model(path, compile=False)
    x = np.random.default_rng(1).normal(size=(4, 6))
    h = _gelu_tanh(x @ kernel.astype(np.float64))
    h = h * np.tanh(np.log1p(np.exp(h)))
    expected = _sparsemax(_maxout_strided(h, 3))
    np.testing.assert_allclose(np.asarray(model(x.astype("float32"))), expected, rtol=1e-5, atol=1e-6)


def test_bare_addons_string_in_a_layer_config():
    dense = keras.layers.deserialize({"module": "keras.layers", "class_name": "Dense", "registered_name": None,
                                      "config": {"name": "d", "units": 2, "activation": "Addons>mish"}})
    assert dense.activation is keras.activations.get("Addons>mish")


def test_keras3_json_naming_addons_objects():
    config = {"module": "keras", "class_name": "Sequential", "registered_name": None, "config": {
        "name": "s", "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
             "config": {"batch_shape": [None, 12], "dtype": "float64", "name": "in"}},
            {"module": "keras.layers", "class_name": "Activation", "registered_name": None,
             "config": {"name": "a", "dtype": "float64", "activation": "Addons>lisht"}},
            {"class_name": "Addons>Maxout", "config": {"name": "m", "dtype": "float64", "num_units": 4, "axis": -1}}]}}
    model = keras.models.model_from_json(json.dumps(config))
    x = np.random.default_rng(2).normal(size=(3, 12))
    np.testing.assert_allclose(np.asarray(model(x)), _maxout_strided(x * np.tanh(x), 4), rtol=1e-12)


@pytest.mark.parametrize("axis", [-1, 1])
def test_maxout_groups_with_a_stride(axis):
    layer = keras.layers.deserialize({"class_name": "Addons>Maxout", "config": {"name": "m", "dtype": "float64",
                                                                                "num_units": 2, "axis": axis}})
    x = np.random.default_rng(3).normal(size=(2, 6, 3) if axis == 1 else (2, 3, 6))
    moved = np.moveaxis(x, axis, -1)
    expected = np.moveaxis(_maxout_strided(moved, 2), -1, axis)
    np.testing.assert_array_equal(np.asarray(layer(x)), expected)
    assert layer.compute_output_shape((None,) + x.shape[1:]) == (None,) + expected.shape[1:]
    # Not the contiguous grouping of tf_activations.layers.Maxout.
    assert not np.array_equal(np.asarray(ta.layers.Maxout(num_units=2, axis=axis)(x)), expected)


def test_maxout_refuses_a_size_not_a_multiple():
    layer = keras.layers.deserialize({"class_name": "Addons>Maxout", "config": {"name": "m", "num_units": 4}})
    with pytest.raises(ValueError, match="number of features .* multiple of num_units=4"):
        layer(np.zeros((2, 6), "float32"))
    with pytest.raises(ValueError, match="multiple of num_units=4"):
        layer(np.zeros((2, 0), "float32"))


def test_snake_layer_frequency_initializer():
    layer = keras.layers.deserialize({"class_name": "Addons>Snake", "config": {
        "name": "snake", "trainable": True, "dtype": "float64",
        "frequency_initializer": {"class_name": "Constant", "config": {"value": 1.5}}}})
    x = np.linspace(-4, 4, 9).reshape(1, 9)
    np.testing.assert_allclose(np.asarray(layer(x)), x + (1 - np.cos(3 * x)) / 3, rtol=1e-12)
    assert len(layer.trainable_weights) == 1 and tuple(layer.trainable_weights[0].shape) == ()
    again = type(layer).from_config(layer.get_config())
    assert keras.initializers.serialize(again.frequency_initializer)["config"]["value"] == 1.5


def test_gelu_layer_defaults_to_tanh():
    layer = keras.layers.deserialize({"class_name": "Addons>GELU", "config": {"name": "g", "dtype": "float64"}})
    np.testing.assert_allclose(np.asarray(layer(X[None])), _gelu_tanh(X)[None], rtol=GELU_DEFAULT_RTOL, atol=1e-14)
    exact = keras.layers.deserialize({"class_name": "Addons>GELU", "config": {"name": "g", "approximate": False}})
    assert exact.approximate is False


@pytest.mark.parametrize("affine", [False, True])
def test_tlu_layer(affine):
    config = {"name": "tlu", "trainable": True, "dtype": "float64", "affine": affine,
              "tau_initializer": {"class_name": "Constant", "config": {"value": 0.5}},
              "tau_regularizer": None, "tau_constraint": None}
    if affine:
        config.update({"alpha_initializer": {"class_name": "Constant", "config": {"value": 0.25}},
                       "alpha_regularizer": None, "alpha_constraint": None})
    layer = keras.layers.deserialize({"class_name": "Addons>TLU", "config": config})
    x = np.random.default_rng(4).normal(size=(2, 3, 4))
    expected = np.maximum(x, 0.25 * x + 0.5) if affine else np.maximum(x, 0.5)
    np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-15)
    assert tuple(layer.tau.shape) == (3, 4)  # one tau per input element, as TF Addons
    assert len(layer.trainable_weights) == (2 if affine else 1)
    saved = layer.get_config()
    assert saved["affine"] is affine and ("alpha_initializer" in saved) is affine
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)


def test_tlu_shared_axes_gives_one_tau_per_channel():
    layer = ta.layers.TLU(shared_axes=[1, 2])
    x = np.random.default_rng(5).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x)), np.maximum(x, 0))  # tau starts at 0: ReLU
    assert tuple(layer.tau.shape) == (1, 1, 3)


def test_addons_objects_save_under_addons_names(tmp_path):
    inputs = keras.Input((6,))
    h = keras.layers.Dense(6, activation=keras.activations.get("Addons>gelu"))(inputs)
    h = keras.layers.deserialize({"class_name": "Addons>Maxout", "config": {"name": "m", "num_units": 3}})(h)
    h = ta.layers.TLU()(h)
    model = keras.Model(inputs, h)
    path = tmp_path / "m.keras"
    model.save(path)
    assert "Addons>Maxout" in model.to_json() and "Addons>gelu" in model.to_json()
    loaded = keras.models.load_model(path)
    x = np.random.default_rng(6).normal(size=(2, 6)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-6)
