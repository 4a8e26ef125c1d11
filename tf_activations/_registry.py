"""The table of activations: name -> declaration and generated functional op."""

from __future__ import annotations

import difflib

from tf_activations import _build
from tf_activations.catalog import ACTIVATIONS



def _keras_functions() -> dict:
    """Keras' own functions under our names, as Keras ships them.

    Empty on another Keras backend: those functions do not take TF tensors,
    and ours then run their own formulas."""
    import keras
    from keras.src import activations

    if keras.backend.backend() != "tensorflow":
        return {}
    table = activations.ALL_OBJECTS_DICT
    return {spec.name: table[spec.name] for spec in ACTIVATIONS
            if spec.keras_builtin and spec.name in table and not hasattr(table[spec.name], "spec")}


def _functions() -> dict:
    functions = {}
    for name, spec in SPECS.items():
        if spec.variant_of is None:
            functions[name] = _build.make_function(spec, KERAS_FUNCTIONS.get(name))
        else:  # declared after its base
            functions[name] = _build.make_variant(spec, functions[spec.variant_of[0]])
    return functions


SPECS = {spec.name: spec for spec in ACTIVATIONS}
KERAS_FUNCTIONS = _keras_functions()
FUNCTIONS = _functions()
ALIASES = {alias: spec.name for spec in ACTIVATIONS for alias in spec.aliases}


def canonical(name) -> str:
    """The declared name for ``name`` (or an alias), or a ValueError listing the choices."""
    if not isinstance(name, str):
        raise TypeError(f"expected an activation name (str); got {type(name).__name__}: {name!r}")
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in SPECS:
        close = difflib.get_close_matches(key, list(SPECS) + list(ALIASES), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown activation name {name!r}.{hint} Available: {', '.join(sorted(SPECS))}"
        )
    return key


def available() -> list:
    """Sorted names of every activation (aliases not repeated)."""
    return sorted(SPECS)


def get(identifier):
    """The functional op for a name or alias; a callable is returned as is, None gives
    ``linear`` (as ``keras.activations.get(None)``)."""
    if identifier is None:
        return FUNCTIONS["linear"]
    if callable(identifier):
        return identifier
    return FUNCTIONS[canonical(identifier)]


def info(name) -> dict:
    """The declaration's facts about ``name`` as plain data; ``tf_activations.info`` (in
    :mod:`tf_activations.properties`) adds the measured numbers on request."""
    return SPECS[canonical(name)].info()


def derivative(name, x, **params):
    """The closed-form derivative f'(x) of ``name`` at ``x`` (a tensor of x's dtype).

    For softmax, log_softmax and sparsemax it is the Jacobian diagonal
    d y_i / d x_i; glu and maxout have none and raise ValueError.
    """
    spec = SPECS[canonical(name)]
    sig = _build.signature(spec)
    x, bound = _build.bind(spec, sig, (x,), params)
    return _build.closed_form_derivative(spec, x, bound)
