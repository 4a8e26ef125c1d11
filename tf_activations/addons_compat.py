"""Loads models and configs that name TensorFlow Addons' activations and layers.

TF Addons registered its objects under the ``Addons>`` prefix (``"Addons>gelu"``,
``{"class_name": "Addons>Maxout", ...}``); HDF5 files and old configs even hold
the bare string ``"Addons>mish"`` as a layer's activation. With this package
imported all of them resolve here, with TF Addons' parameter names and defaults:

- ``gelu(x, approximate=True)``: TF Addons' default is the tanh form (ours and
  Keras' is the exact one); ``tf_activations.gelu_tanh`` is that form under a name of its own.
- ``hardshrink``/``softshrink(x, lower=-0.5, upper=0.5)``: the band may be
  asymmetric; ``lower > upper`` is an error, as in TF Addons.
- ``rrelu(x, lower, upper, training=None, seed=None)``: ``training=None`` means
  inference (Keras 3 has no global learning phase); a layer passes its flag.
- ``Maxout(num_units, axis=-1)`` groups with a stride as TF Addons did: unit
  ``j`` is the max of channels ``j, j + num_units, j + 2 * num_units, ...``
  (``tf_activations.layers.Maxout`` takes contiguous groups instead).
- ``Snake(frequency_initializer="ones")``: one learned scalar frequency, kept
  at or above ``tf_activations.layers.LEARNED_FLOOR`` (0 would divide by 0).

These objects save under their ``Addons>`` names again, so a loaded model is
written back in the form it came in.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from tf_activations import keras_strings, layers
from tf_activations._build import to_float_tensor
from tf_activations._registry import FUNCTIONS

PACKAGE = "Addons"


def _bounds(fn_name, lower, upper):
    for arg, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise TypeError(f"{fn_name}() expects {arg} to be a real number; got {value!r}")
    if lower > upper:
        raise ValueError(f"{fn_name}() expects lower <= upper; got lower={lower!r}, upper={upper!r}")
    return float(lower), float(upper)


def gelu(x, approximate=True):
    """TF Addons' ``gelu``: the tanh approximation unless ``approximate=False``."""
    return FUNCTIONS["gelu"](x, approximate=approximate)


def mish(x):
    """TF Addons' ``mish``: ``x * tanh(softplus(x))``."""
    return FUNCTIONS["mish"](x)


def tanhshrink(x):
    """TF Addons' ``tanhshrink``: ``x - tanh(x)``."""
    return FUNCTIONS["tanh_shrink"](x)


def lisht(x):
    """TF Addons' ``lisht``: ``x * tanh(x)``."""
    return FUNCTIONS["lisht"](x)


def hardshrink(x, lower=-0.5, upper=0.5):
    """TF Addons' ``hardshrink``: 0 for ``lower <= x <= upper``, ``x`` outside (NaN passes through)."""
    lower, upper = _bounds("hardshrink", lower, upper)
    x = to_float_tensor("hardshrink", x)
    inside = tf.logical_and(x >= tf.cast(lower, x.dtype), x <= tf.cast(upper, x.dtype))
    return tf.where(inside, tf.zeros_like(x), x)


def softshrink(x, lower=-0.5, upper=0.5):
    """TF Addons' ``softshrink``: ``x - lower`` below ``lower``, ``x - upper`` above ``upper``, 0 between."""
    lower, upper = _bounds("softshrink", lower, upper)
    x = to_float_tensor("softshrink", x)
    return x - tf.clip_by_value(x, tf.cast(lower, x.dtype), tf.cast(upper, x.dtype))


def rrelu(x, lower=0.125, upper=0.3333333333333333, training=None, seed=None, rng=None):
    """TF Addons' ``rrelu``; ``training=None`` is inference (slope ``(lower + upper) / 2``).

    ``rng`` (a ``tf.random.Generator``) draws the training slopes instead of ``seed``,
    one per element, exactly as TF Addons drew them.
    """
    if rng is None or not training:
        return FUNCTIONS["rrelu"](x, lower=lower, upper=upper, training=bool(training), seed=seed)
    if seed is not None:
        raise ValueError(f"rrelu() takes seed or rng, not both; got seed={seed!r} and an rng")
    if not isinstance(rng, tf.random.Generator):
        raise TypeError(f"rrelu() expects rng to be a tf.random.Generator; got {type(rng).__name__}")
    lower, upper = _bounds("rrelu", lower, upper)
    x = to_float_tensor("rrelu", x)
    slope = rng.uniform(tf.shape(x), minval=lower, maxval=upper, dtype=x.dtype)
    return FUNCTIONS["prelu"](x, tf.stop_gradient(slope))


def snake(logits, frequency=1):
    """TF Addons' ``snake``: ``x + (1 - cos(2 * frequency * x)) / (2 * frequency)``."""
    return FUNCTIONS["snake"](logits, frequency=float(frequency) if isinstance(frequency, int) else frequency)


def sparsemax(logits, axis=-1):
    """TF Addons' ``sparsemax`` (the Euclidean projection onto the simplex along ``axis``)."""
    return FUNCTIONS["sparsemax"](logits, axis=axis)


FUNCTIONS_BY_ADDONS_NAME = {fn.__name__: fn for fn in (
    gelu, mish, hardshrink, softshrink, tanhshrink, lisht, rrelu, snake, sparsemax)}


def make_layers(k, base, module: str = __name__) -> dict:
    """TF Addons' layer classes on ``k.layers.Layer`` (``keras`` or ``tf_keras``), built on
    ``base`` (that Keras' ``tf_activations`` layer classes) and registered with ``k`` under
    their ``Addons>`` names; returns them by class name."""

    class GELU(base.GELU):
        """TF Addons' ``GELU`` layer: ``approximate=True`` (the tanh form) by default."""

        def __init__(self, approximate=True, **kwargs):
            super().__init__(approximate=approximate, **kwargs)

    class Sparsemax(base.Sparsemax):
        """TF Addons' ``Sparsemax`` layer (``axis=-1``)."""

    class TLU(base.TLU):
        """TF Addons' ``TLU`` layer (see ``tf_activations.layers.TLU``)."""

    class Maxout(k.layers.Layer):
        """TF Addons' ``Maxout``: unit ``j`` is the max of channels ``j, j + num_units, ...``.

        The size along ``axis`` must be a positive multiple of ``num_units``.
        """

        def __init__(self, num_units, axis=-1, **kwargs):
            super().__init__(**kwargs)
            if isinstance(num_units, bool) or not isinstance(num_units, int) or num_units < 1:
                raise ValueError(f"Maxout expects num_units to be a positive integer; got {num_units!r}")
            if isinstance(axis, bool) or not isinstance(axis, int):
                raise TypeError(f"Maxout expects axis to be an integer; got {axis!r}")
            self.num_units = num_units
            self.axis = axis

        def _checked_axis(self, shape):
            rank = len(shape)
            if not -rank <= self.axis < rank:
                raise ValueError(f"Maxout expects axis in [{-rank}, {rank}) for a rank-{rank} input; got {self.axis}")
            axis = self.axis % rank
            size = shape[axis]
            if size is not None and (size == 0 or size % self.num_units):
                raise ValueError(f"Maxout expects the number of features (size {size} of axis {self.axis}) to be "
                                 f"a positive multiple of num_units={self.num_units}")
            return axis

        def call(self, inputs):
            inputs = tf.convert_to_tensor(inputs)
            axis = self._checked_axis(inputs.shape.as_list())
            dynamic = tf.shape(inputs)
            grouped = tf.concat([dynamic[:axis], [-1, self.num_units], dynamic[axis + 1:]], axis=0)
            return tf.reduce_max(tf.reshape(inputs, grouped), axis=axis)

        def compute_output_shape(self, input_shape):
            shape = list(input_shape)
            shape[self._checked_axis(shape)] = self.num_units
            return tuple(shape)

        def get_config(self):
            config = super().get_config()
            config.update({"num_units": self.num_units, "axis": self.axis})
            return config

    class Snake(k.layers.Layer):
        """TF Addons' ``Snake`` layer: snake with one learned scalar ``frequency``."""

        def __init__(self, frequency_initializer="ones", **kwargs):
            super().__init__(**kwargs)
            self.frequency_initializer = k.initializers.get(frequency_initializer)

        def build(self, input_shape):
            self.frequency = self.add_weight(name="frequency", shape=(), initializer=self.frequency_initializer,
                                             constraint=base.AtLeast(layers.LEARNED_FLOOR), trainable=True,
                                             **layers.no_autocast(k))

        def call(self, inputs):
            # in its own dtype: snake computes half inputs in float32 (a float16 copy of a
            # frequency past 65504 would be inf)
            return FUNCTIONS["snake"](inputs, frequency=tf.maximum(self.frequency, layers.LEARNED_FLOOR))

        def compute_output_shape(self, input_shape):
            return tuple(input_shape)

        def get_config(self):
            config = super().get_config()
            config["frequency_initializer"] = k.initializers.serialize(self.frequency_initializer)
            return config

    classes = {cls.__name__: cls for cls in (GELU, Maxout, Snake, Sparsemax, TLU)}
    for name, cls in classes.items():
        cls.__module__, cls.__qualname__ = module, name
        k.saving.register_keras_serializable(package=PACKAGE, name=name)(cls)
    return classes


LAYERS_BY_ADDONS_NAME = make_layers(keras, layers)
globals().update(LAYERS_BY_ADDONS_NAME)

for _name, _fn in FUNCTIONS_BY_ADDONS_NAME.items():
    keras.saving.register_keras_serializable(package=PACKAGE, name=_name)(_fn)
keras_strings.add_strings({f"{PACKAGE}>{name}": fn for name, fn in FUNCTIONS_BY_ADDONS_NAME.items()})
del _name, _fn

__all__ = sorted(FUNCTIONS_BY_ADDONS_NAME) + sorted(LAYERS_BY_ADDONS_NAME)
