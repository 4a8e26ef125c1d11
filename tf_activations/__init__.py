"""tf-activations: every activation function, numerically stable, memory-lean, one Keras string away.

    import tf_activations
    keras.layers.Dense(64, activation="mish")
    tf_activations.swish(x, beta)
    tf_activations.info("mish"); tf_activations.derivative("mish", x)
    print(tf_activations.status())  # versions, kernels, what each name runs where
"""

from tf_activations import _quiet as _quiet

_quiet.quiet_tensorflow()  # the command line only: TensorFlow's import-time log lines out of its output

try:
    import tensorflow as _tf  # noqa: F401  (TensorFlow comes from an extra, so say which)
except ImportError as _err:
    if _err.name != "tensorflow":
        raise
    raise ImportError(
        "tf-activations needs TensorFlow 2.16 or later, which is not installed: "
        "pip install 'tf-activations[tf]' (or 'tf-activations[cpu]' for tensorflow-cpu; an "
        "environment that already has tensorflow, tensorflow-cpu or tensorflow[and-cuda] keeps it)",
        name="tensorflow") from None

from tf_activations._registry import ALIASES as _ALIASES
from tf_activations._registry import FUNCTIONS as _FUNCTIONS
from tf_activations._registry import available, derivative, get
from tf_activations import _env, addons_compat, diagnostics, keras_strings, layers, native
from tf_activations._mode import exact, is_exact, set_exact
from tf_activations._status import status
from tf_activations.keras_strings import use_keras_builtins, use_tf_activations
from tf_activations.plotting import plot
from tf_activations.properties import info

__version__ = "0.1.0"

# The kernels (where built, and unless TF_ACTIVATIONS_PURE is set) are loaded
# now, before any model is traced: loaded lazily in the middle of tracing the
# first model, they left a second, identical training run in the same process
# computing activations an ulp apart (tests/test_compare.py). Loading looks in
# the cache only (about 10 ms); available() loads unless the pure path is forced.
native.available()

# tf.keras is tf_keras (Keras 2) under TF_USE_LEGACY_KERAS (TensorFlow's rule): register the
# strings and layers there too. Without tf_keras installed tf.keras fails on its own; we do not,
# but say which extra installs it.
if _env.legacy_keras():
    try:
        from tf_activations import legacy_keras
    except ImportError as _err:
        if _err.name != "tf_keras":
            raise
        import warnings as _warnings

        _warnings.warn(f"tf_activations: {_err}", stacklevel=2)

globals().update(_FUNCTIONS)
globals().update({alias: _FUNCTIONS[name] for alias, name in _ALIASES.items()})

__all__ = sorted(_FUNCTIONS) + sorted(_ALIASES) + ["addons_compat", "available", "derivative", "get", "info", "layers",
                                "diagnostics", "keras_strings", "plot", "exact", "is_exact", "set_exact", "status",
                                "use_keras_builtins",
                                "use_tf_activations"]
