"""Keras activation strings: the private-table guard, the takeover of builtin names, the opt-out."""

import keras
import numpy as np
import pytest
import scipy.special as sp

import tf_activations as ta
from tf_activations import keras_strings
from tf_activations._registry import ALIASES, SPECS

OURS_ONLY = sorted(n for n, s in SPECS.items() if not s.keras_builtin)
BUILTIN = sorted(n for n, s in SPECS.items() if s.keras_builtin)
# Keras names whose plain-Keras function is wrong (sparsemax) or cannot run bare (threshold):
# saved under the package prefix, so plain Keras cannot load them into other numbers.
SAVED_UNDER_PACKAGE = sorted(keras_strings.SAVED_UNDER_PACKAGE)


def _keras_table():
    try:
        from keras.src import activations as mod
    except ImportError as err:  # pragma: no cover - only on a Keras upgrade
        pytest.fail(f"KERAS MOVED keras.src.activations ({err}); tf_activations/keras_strings.py patches "
                    f"its ALL_OBJECTS_DICT and must be ported to the new location", pytrace=False)
    table = getattr(mod, "ALL_OBJECTS_DICT", None)
    if not isinstance(table, dict):
        pytest.fail("KERAS MOVED keras.src.activations.ALL_OBJECTS_DICT (now "
                    f"{type(table).__name__}); Dense(activation='mish') etc. will silently use Keras' "
                    "functions or fail. Port tf_activations/keras_strings.py.", pytrace=False)
    return table


def test_guard_private_table_exists_and_is_what_we_patch():
    table = _keras_table()
    assert keras_strings._KERAS_TABLE is table, (
        "tf_activations.keras_strings holds a different dict than keras.src.activations.ALL_OBJECTS_DICT")


def test_guard_keras_get_consults_the_table():
    table = _keras_table()
    sentinel_name = "__tf_activations_guard_sentinel__"

    def sentinel(x):
        return x

    table[sentinel_name] = sentinel
    try:
        got = keras.activations.get(sentinel_name)
    except ValueError as err:
        pytest.fail(f"KERAS CHANGED: keras.activations.get no longer consults "
                    f"keras.src.activations.ALL_OBJECTS_DICT ({err}); string activations from "
                    f"tf_activations are unreachable. Port tf_activations/keras_strings.py.", pytrace=False)
    finally:
        del table[sentinel_name]
    assert got is sentinel, ("KERAS CHANGED: keras.activations.get(name) does not return the object in "
                             "ALL_OBJECTS_DICT; port tf_activations/keras_strings.py")
    layer = keras.layers.Dense(2, activation="lisht")
    assert layer.activation is ta.lisht, "Dense(activation=...) no longer resolves through keras.activations.get"


def test_every_name_and_alias_resolves_to_our_function():
    for name in SPECS:
        assert keras.activations.get(name) is ta.get(name), name
    for alias, name in ALIASES.items():
        assert keras.activations.get(alias) is ta.get(name), alias


def test_lisht_is_ours_and_computes_x_tanh_x():
    fn = keras.activations.get("lisht")
    assert fn is ta.lisht
    x = np.linspace(-5, 5, 41)
    np.testing.assert_allclose(np.asarray(fn(x.astype("float32"))), x * np.tanh(x), rtol=2e-7, atol=1e-7)


def test_builtin_names_taken_over_by_default():
    table = _keras_table()
    assert keras_strings.overrides_builtins()
    for name in BUILTIN:
        assert table[name] is ta.get(name)
        assert keras.activations.get(name) is not keras_strings._KERAS_ORIGINALS[name]
    assert keras.activations.get("hard_silu") is ta.hard_swish


@pytest.mark.parametrize("name", [n for n in BUILTIN if n not in SAVED_UNDER_PACKAGE] + ["hard_silu"])
def test_builtin_names_serialize_as_plain_keras_names(name):
    # A bare string, so plain Keras resolves it through its own table (for "swish" and
    # "hard_swish", which are only table keys in Keras, a function dict would not load).
    assert keras.activations.serialize(keras.activations.get(name)) in (name, ta.get(name).__name__)
    assert "tf_activations" not in str(keras.layers.Dense(3, activation=name).get_config())
    assert keras.activations.deserialize(name) is ta.get(name)


@pytest.mark.parametrize("name", SAVED_UNDER_PACKAGE)
def test_plain_names_saved_before_still_load_as_ours(name):
    config = keras.layers.Dense(3, activation=name).get_config()
    config["activation"] = name  # what files saved before the prefix hold
    assert keras.layers.Dense.from_config(config).activation is ta.get(name)
    assert keras.activations.deserialize(name) is ta.get(name)


@pytest.mark.parametrize("name", OURS_ONLY + SAVED_UNDER_PACKAGE)
def test_own_names_serialize_with_package_prefix(name):
    serialized = keras.activations.serialize(keras.activations.get(name))
    text = serialized if isinstance(serialized, str) else serialized.get("config")
    assert text == f"tf_activations>{name}"
    assert keras.activations.deserialize(serialized) is ta.get(name)
    layer = keras.layers.Dense.from_config(keras.layers.Dense(3, activation=name).get_config())
    assert layer.activation is ta.get(name)


def test_opt_out_and_back():
    table = _keras_table()
    originals = keras_strings._KERAS_ORIGINALS
    assert set(originals) >= set(BUILTIN)
    try:
        ta.use_keras_builtins()
        assert not keras_strings.overrides_builtins()
        for name in BUILTIN:
            assert keras.activations.get(name) is originals[name], name
            assert keras.activations.get(name).__module__.startswith("keras"), name
        assert keras.activations.get("hard_silu") is originals["hard_silu"]
        assert keras.activations.deserialize("gelu") is originals["gelu"]
        for name in OURS_ONLY:  # ours stay for names Keras lacks
            assert keras.activations.get(name) is ta.get(name)
        # Keras' gelu is back: same values to float32 tolerance
        x = np.linspace(-4, 4, 17).astype("float32")
        np.testing.assert_allclose(np.asarray(keras.layers.Dense(1, activation="gelu").activation(x)),
                                   0.5 * x * sp.erfc(-x / np.sqrt(2)), rtol=1e-5, atol=1e-6)
        ta.use_keras_builtins()  # idempotent
        assert keras.activations.get("mish") is originals["mish"]
    finally:
        ta.use_tf_activations()
    assert keras_strings.overrides_builtins()
    for name in BUILTIN:
        assert table[name] is ta.get(name)
    ta.use_tf_activations()  # idempotent
    assert keras.activations.get("gelu") is ta.gelu
    assert keras.activations.deserialize("gelu") is ta.gelu
