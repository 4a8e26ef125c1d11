"""Makes every tf_activations name a Keras activation string.

Keras 3 resolves ``Dense(activation="mish")`` only through the private table
``keras.src.activations.ALL_OBJECTS_DICT``; there is no public registry for
strings. This module is the one place that touches it, and
``tests/test_keras_strings.py`` fails loudly if a Keras upgrade moves it.

Names Keras already has (``"gelu"``, ``"mish"``, ...) are taken over by
default: the same function, computed more accurately. Those functions are not
registered under a package prefix, so a model saved with them still says
``"gelu"`` and loads where tf_activations is absent. Names only we have
(``"lisht"``, ``"snake"``, ``"prelu"``, ...) serialize as
``"tf_activations>lisht"`` and need the package to load. So do ``"sparsemax"``
and ``"threshold"`` (``"tf_activations>sparsemax"``, ``"tf_activations>threshold"``):
plain Keras 3.15's sparsemax is wrong and its threshold cannot run without
arguments, so a file saved under the plain name would load there and predict
different numbers, or fail at predict. The plain names still resolve to ours,
so files saved with them before keep loading with the package imported.

Opt out with ``use_keras_builtins()`` (or the environment variable
``TF_ACTIVATIONS_KEEP_KERAS_BUILTINS=1`` before import): Keras' own functions
come back for its names, ours stay for the rest.

Under another Keras backend (``KERAS_BACKEND=jax``, ...) the table is left
alone: these functions and layers compute with TensorFlow and would break
Keras' own strings there.
"""

from __future__ import annotations

import warnings

import keras
from keras.src import activations as _keras_activations

from tf_activations import _env
from tf_activations._registry import ALIASES, FUNCTIONS, SPECS

_PACKAGE = "tf_activations"
# Keras names whose plain-Keras function differs from ours in a way that matters for a
# saved file (wrong values, or no defaults to run with): saved under our prefix instead.
SAVED_UNDER_PACKAGE = tuple(name for name, spec in SPECS.items() if spec.saved_under_package)
_KERAS_TABLE = _keras_activations.ALL_OBJECTS_DICT
_KERAS_ORIGINALS = {name: _KERAS_TABLE[name] for name in list(SPECS) + list(ALIASES) if name in _KERAS_TABLE}


def names():
    """(string, function) for every name and alias, as Keras gets them."""
    for name in SPECS:
        yield name, FUNCTIONS[name]
    for alias, name in ALIASES.items():
        yield alias, FUNCTIONS[name]


def register_serializables() -> None:
    """Registers our own names (not Keras', but sparsemax and threshold) under the ``tf_activations>`` prefix."""
    for name, spec in SPECS.items():
        if not spec.keras_builtin or name in SAVED_UNDER_PACKAGE:
            keras.saving.register_keras_serializable(package=_PACKAGE, name=name)(FUNCTIONS[name])


def _serialize_plainly() -> None:
    """Makes every taken-over name serialize as the plain string Keras reads back.

    ``keras.activations.serialize`` returns a bare name only if it is a global of
    ``keras.src.activations``; Keras' "swish"/"hard_swish" are table keys for silu/hard_silu,
    so our swish/hard_swish would be written as a function dict that neither plain Keras nor
    Keras with tf_activations can load. Giving the module those names (bound to Keras' own
    functions) makes them serialize as "swish"/"hard_swish", which every Keras resolves
    through the table.
    """
    for name, original in _KERAS_ORIGINALS.items():
        if not hasattr(_keras_activations, name):
            setattr(_keras_activations, name, original)


def install(override_builtins: bool = True) -> None:
    """Adds every name to Keras' activation table (idempotent; only on the TensorFlow backend)."""
    if not _tensorflow_backend():
        return
    custom = keras.saving.get_custom_objects()
    for name, fn in names():
        if name in _KERAS_ORIGINALS and not override_builtins:
            _KERAS_TABLE[name] = _KERAS_ORIGINALS[name]
            if custom.get(name) is fn:
                del custom[name]
        else:
            _KERAS_TABLE[name] = fn
            if name in _KERAS_ORIGINALS:
                # keras.activations.deserialize("gelu") looks the plain name up among the
                # registered objects once the table holds a non-Keras function.
                custom[name] = fn


def use_keras_builtins() -> None:
    """Keras' own functions for the names Keras has; ours for the rest."""
    install(override_builtins=False)


def use_tf_activations() -> None:
    """Ours for every name (the default after import)."""
    install(override_builtins=True)


def overrides_builtins() -> bool:
    return all(_KERAS_TABLE.get(name) is FUNCTIONS[ALIASES.get(name, name)] for name in _KERAS_ORIGINALS)


def _tensorflow_backend() -> bool:
    return keras.backend.backend() == "tensorflow"


def _require_tensorflow_backend(action: str) -> bool:
    if _tensorflow_backend():
        return True
    warnings.warn(f"tf_activations: Keras backend is {keras.backend.backend()!r}; {action} "
                  f"(the functions and layers need the TensorFlow backend)", stacklevel=3)
    return False


if _require_tensorflow_backend("Keras' activation strings are left as they are"):
    register_serializables()
    _serialize_plainly()
    install(override_builtins=not _env.flag("TF_ACTIVATIONS_KEEP_KERAS_BUILTINS"))


def add_strings(functions: dict) -> None:
    """Adds extra activation strings (``"gelu_tanh"``, TF Addons' ``"Addons>mish"``, ...).

    Keras resolves a bare string in a layer config (``Dense(activation="Addons>mish")``,
    as HDF5 files and old configs hold it) only through its table, not through the
    registered objects, so these go there too. Only on the TensorFlow backend.
    """
    if _tensorflow_backend():
        _KERAS_TABLE.update(functions)
