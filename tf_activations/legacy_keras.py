"""tf_keras (Keras 2, ``TF_USE_LEGACY_KERAS=1``): this package's strings and layers there.

With ``TF_USE_LEGACY_KERAS=1`` set, ``tf.keras`` is tf_keras, which has an
activation table and a layer registry of its own. ``import tf_activations``
then also imports this module, which

- makes every name a tf_keras activation string: ``tf.keras.layers.Dense(8,
  activation="lisht")``, TF Addons' ``"Addons>mish"``, ``"gelu_tanh"``; the names
  tf_keras has (``"mish"``, ``"gelu"``, ...) are taken over as in Keras 3 and still
  save as the plain name, the others save as ``"tf_activations>NAME"``;
- provides every layer on tf_keras' ``Layer``: ``tf_activations.legacy_keras.layers.Mish()``
  (the same classes, arguments and configs as ``tf_activations.layers``, which are
  Keras 3 layers and cannot go into a tf_keras model), and TF Addons' layers
  (``legacy_keras.addons_layers.Maxout``, ...) under their ``Addons>`` names, so tf_keras
  files that name them load.

Using tf_keras without the environment variable (``import tf_keras``), import this
module yourself. ``TF_ACTIVATIONS_KEEP_KERAS_BUILTINS=1`` keeps tf_keras' own
functions for its names, as it does for Keras 3.
"""

from __future__ import annotations

import importlib
import types
import warnings

from tf_activations import _env, addons_compat, keras_strings, layers as keras3_layers
from tf_activations._registry import SPECS

_PACKAGE = "tf_activations"


def _is_tf_keras_name(k, name: str) -> bool:
    try:
        k.activations.get(name)
    except ValueError:
        return False
    return True


def _serialize_as_string(k, registered: dict) -> None:
    """Makes tf_keras save these functions as their bare registered name (``"tf_activations>lisht"``).

    tf_keras writes a registered function as ``{"module": "builtins", "class_name": "function",
    "registered_name": "function", ...}`` unless its name is a global of its activations module;
    that dict loads from ``.keras`` files but not from HDF5 (``Unknown activation function:
    'function'``). A bare string loads from both, here, and in plain tf_keras fails by name.
    """
    module = importlib.import_module(k.activations.serialize.__module__)
    for name, fn in registered.items():
        vars(module).setdefault(name, fn)


def _install_strings(k, override_builtins: bool) -> None:
    custom = k.utils.get_custom_objects()
    registered = {}
    for name, fn in keras_strings.names():  # every name and alias, as Keras 3 gets them
        if _is_tf_keras_name(k, name):
            if override_builtins:
                custom[name] = fn  # saved as the plain name, which plain tf_keras reads back
        else:
            custom[name] = fn  # the bare string resolves too, as in Keras 3
            if name in SPECS:  # an alias resolves, but saves under its function's name
                registered[f"{_PACKAGE}>{name}"] = fn
    for name, fn in addons_compat.FUNCTIONS_BY_ADDONS_NAME.items():
        registered[f"{addons_compat.PACKAGE}>{name}"] = fn
    for full_name, fn in registered.items():
        package, name = full_name.split(">")
        k.saving.register_keras_serializable(package=package, name=name)(fn)
    _serialize_as_string(k, registered)


# tf_keras 2.16 serializes a registered function under its bare __name__ ("mish" for TF
# Addons' tanh-form gelu too), which reloads as a different function; checked: 2.16 (wrong),
# 2.21 (right).
MIN_TF_KERAS = (2, 21)


def _import_tf_keras():
    try:
        return importlib.import_module("tf_keras")
    except ModuleNotFoundError as err:
        if err.name != "tf_keras":
            raise
        raise ModuleNotFoundError(
            "tf_keras is not installed, so tf.keras (TF_USE_LEGACY_KERAS=1) is unavailable and nothing "
            "is registered there: pip install 'tf-activations[legacy]' (or pip install tf_keras)",
            name="tf_keras") from None


def install(k=None) -> types.SimpleNamespace | None:
    """Registers the strings and layers with tf_keras (``k``, imported if not given); idempotent.

    On a tf_keras older than ``MIN_TF_KERAS`` nothing is registered (one warning): files it
    wrote would reload with different functions.
    """
    global layers, addons_layers
    if layers is not None:
        return layers
    k = k or _import_tf_keras()
    version = tuple(int(v) for v in k.__version__.split(".")[:2])
    if version < MIN_TF_KERAS:
        warnings.warn(f"tf_activations: tf_keras {k.__version__} is older than "
                      f"{'.'.join(map(str, MIN_TF_KERAS))}, whose saving this package's functions need; "
                      f"nothing is registered with tf_keras (Keras 3 is unaffected)", stacklevel=2)
        return None
    keep = _env.flag("TF_ACTIVATIONS_KEEP_KERAS_BUILTINS")
    _install_strings(k, override_builtins=not keep)
    classes = keras3_layers.make_layers(k, module=__name__)
    by_activation = classes.pop("LAYERS")
    addons_layers = types.SimpleNamespace(**addons_compat.make_layers(k, types.SimpleNamespace(**classes),
                                                                      module=__name__))
    layers = types.SimpleNamespace(LAYERS=by_activation, LEARNED_FLOOR=keras3_layers.LEARNED_FLOOR, **classes)
    return layers


# Once installed: the tf_keras layers (as ``tf_activations.layers``) and TF Addons' layers
# (as ``tf_activations.addons_compat``'s).
layers = None
addons_layers = None
install()
