"""Keras' own functions: the peer the default mode must match or beat, point by point."""

import inspect

import tf_activations
from tf_activations._registry import KERAS_FUNCTIONS


def keras_peer(name, mode, **params):
    """Keras' ``name`` with ``params`` (ours' defaults for the rest) in the default mode; None in
    exact mode or where Keras has no such function or parameter."""
    variant = tf_activations.info(name)["variant_of"]
    if variant is not None:  # gelu_tanh is gelu(approximate=True), and runs Keras' gelu so
        name, params = variant["name"], {**variant["parameters"], **params}
    fn = KERAS_FUNCTIONS.get(name)
    if fn is None or mode.startswith("exact"):
        return None
    accepted = inspect.signature(fn).parameters
    if any(p not in accepted for p in params):
        return None
    ours = {p: v["default"] for p, v in tf_activations.info(name)["parameters"].items() if p in accepted}
    return lambda x: fn(x, **{**ours, **params})
