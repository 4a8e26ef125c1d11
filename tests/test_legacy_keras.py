"""tf_keras (Keras 2, TF_USE_LEGACY_KERAS=1): strings, functions and layers in tf.keras models,
round trips through .keras and .h5, and what plain tf_keras reads back.

Each test is a fresh process: tf.keras is chosen by the environment variable when TensorFlow
first builds it."""

import pytest

from conftest import run_python, tf_keras_supported

tf_keras = pytest.importorskip("tf_keras")

new_tf_keras = pytest.mark.skipif(not tf_keras_supported(), reason=f"tf_keras {tf_keras.__version__}: the "
                                  f"package registers nothing there (test_old_tf_keras_is_left_alone_with_a_warning)")

PRELUDE = """
import os
os.environ["TF_USE_LEGACY_KERAS"] = "1"
import numpy as np
import tensorflow as tf
k = tf.keras
assert k.__name__.startswith("tf_keras"), k.__name__
"""

pytestmark = pytest.mark.slow


def test_old_tf_keras_is_left_alone_with_a_warning():
    run_python("""
import warnings
import tf_keras
tf_keras.__version__ = "2.16.0"  # its saving writes TF Addons' gelu as "mish"-style bare names
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from tf_activations import legacy_keras
assert legacy_keras.layers is None
assert any("older than 2.21" in str(w.message) for w in caught), [str(w.message) for w in caught]
try:
    tf_keras.activations.get("lisht")
except ValueError:
    pass
else:
    raise AssertionError("registered with an old tf_keras")
""")


@new_tf_keras
def test_every_name_is_a_tf_keras_string_with_reference_values():
    run_python(PRELUDE + """
import tf_activations as ta
from tf_activations._registry import SPECS
for name in SPECS:
    assert k.activations.get(name) is getattr(ta, name), name
x = np.linspace(-4, 4, 9).reshape(1, 9)
refs = {  # float64 closed forms
    "lisht": x * np.tanh(x),
    "mish": x * np.tanh(np.log1p(np.exp(x))),
    "Addons>mish": x * np.tanh(np.log1p(np.exp(x))),
    "gelu_tanh": 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))),
    "hard_swish": x * np.clip(x + 3, 0, 6) / 6,
}
for name, ref in refs.items():
    model = k.Sequential([k.Input((9,)), k.layers.Activation(name)])
    np.testing.assert_allclose(model.predict(x, verbose=0), ref, rtol=2e-6, atol=1e-6, err_msg=name)
assert k.activations.serialize(ta.mish) == "mish"            # plain tf_keras reads it back
assert k.activations.serialize(ta.lisht) == "tf_activations>lisht"
assert k.activations.serialize(ta.addons_compat.mish) == "Addons>mish"
""")


@new_tf_keras
def test_layers_train_and_round_trip_through_keras_and_h5(tmp_path):
    run_python(PRELUDE + f"""
import tf_activations as ta
from tf_activations.legacy_keras import addons_layers, layers as L
rng = np.random.default_rng(0)
x = rng.normal(size=(32, 6)).astype("float32")
model = k.Sequential([
    k.Input((6,)),
    k.layers.Dense(8, activation="lisht"), L.Swish(beta=1.5, trainable_beta=True), L.PReLU(),
    k.layers.Dense(6, activation="mish"), L.Snake(trainable_frequency=True), L.TLU(affine=True),
    k.layers.Dense(6, activation="Addons>gelu"), addons_layers.Maxout(3), L.Softmax(),
])
model.compile("sgd", "mse")
model.fit(x, rng.uniform(size=(32, 3)), epochs=2, verbose=0)
y = model.predict(x, verbose=0)
assert np.all(np.isfinite(y)) and np.allclose(y.sum(-1), 1, atol=1e-6)
for ext in ("keras", "h5"):
    path = os.path.join({str(tmp_path)!r}, "model." + ext)
    model.save(path)
    loaded = k.models.load_model(path)
    assert [type(l) for l in loaded.layers] == [type(l) for l in model.layers], ext
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y, err_msg=ext)
    assert loaded.layers[1].get_config()["beta"] == 1.5
""")


@new_tf_keras
def test_layer_values_configs_and_errors():
    run_python(PRELUDE + """
from tf_activations.legacy_keras import layers as L
x = np.linspace(-3, 3, 7).reshape(1, 7).astype("float32")
np.testing.assert_allclose(L.Swish(beta=2.0)(x), x / (1 + np.exp(-2.0 * x)), rtol=1e-6)
np.testing.assert_allclose(L.ReLU(max_value=2.0, negative_slope=0.1)(x),
                           np.where(x > 0, np.minimum(x, 2.0), 0.1 * x), rtol=1e-6)
np.testing.assert_allclose(L.Maxout(num_units=2)(np.array([[1., 5., 3., 2.]])), [[5., 3.]])
for name, cls in L.LAYERS.items():
    if name in ("maxout", "glu", "swiglu", "geglu", "reglu"):  # x has an odd width
        continue
    layer = cls()
    assert isinstance(layer, k.layers.Layer), name
    clone = type(layer).from_config(layer.get_config())
    np.testing.assert_array_equal(clone(x), layer(x), err_msg=name)
try:
    L.ELU(alpha=-1.0)
except ValueError as err:
    assert "alpha" in str(err), err
else:
    raise AssertionError("ELU(alpha=-1) accepted")
mask = np.array([[True] * 5 + [False] * 2])
out = L.Softmax()(x, mask=mask).numpy()
assert np.all(out[0, 5:] == 0) and abs(out.sum() - 1) < 1e-6
""")


@new_tf_keras
def test_files_saved_with_taken_over_names_load_in_plain_tf_keras(tmp_path):
    path = tmp_path / "mish.h5"
    run_python(PRELUDE + f"""
import tf_activations
model = k.Sequential([k.Input((3,)), k.layers.Dense(2, activation="mish"), k.layers.Dense(2, activation="lisht")])
model.save({str(path)!r})
""")
    run_python(PRELUDE + f"""
import h5py, json
config = json.loads(h5py.File({str(path)!r}, "r").attrs["model_config"])
acts = [l["config"].get("activation") for l in config["config"]["layers"] if l["class_name"] == "Dense"]
assert acts == ["mish", "tf_activations>lisht"], acts
try:
    k.models.load_model({str(path)!r})
except (TypeError, ValueError) as err:  # tf_keras wraps the unknown name in a TypeError
    assert "tf_activations>lisht" in str(err), err
else:
    raise AssertionError("plain tf_keras loaded a name only tf_activations has")
""")


@new_tf_keras
def test_keep_keras_builtins_keeps_tf_keras_functions():
    run_python("""
import os
os.environ["TF_ACTIVATIONS_KEEP_KERAS_BUILTINS"] = "1"
""" + PRELUDE + """
import tf_activations as ta
assert k.activations.get("mish") is not ta.mish and k.activations.get("mish").__module__.startswith("tf_keras")
assert k.activations.get("lisht") is ta.lisht
""")


def test_without_tf_keras_the_import_warns_once_naming_the_extra():
    """tf_keras hidden (sys.modules entry None: an ImportError, as when it is not installed)."""
    run_python("""
        import sys, warnings
        sys.modules["tf_keras"] = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tf_activations
        mine = [str(w.message) for w in caught if "tf_keras" in str(w.message)]
        assert len(mine) == 1 and "tf-activations[legacy]" in mine[0], mine
        try:
            import tf_activations.legacy_keras
        except ModuleNotFoundError as err:
            assert err.name == "tf_keras" and "tf-activations[legacy]" in str(err), err
        else:
            raise AssertionError("tf_activations.legacy_keras imported without tf_keras")
    """, env={"TF_USE_LEGACY_KERAS": "1"})
