"""Keras layers, one per activation, generated from the declarations.

``tf_activations.layers.Mish()``, ``GELU(approximate=True)``,
``Swish(beta=1.0, trainable_beta=True)`` (a learnable scalar, or one per
channel with ``per_channel=True``), ``PReLU(shared_axes=[1, 2])``,
``Maxout(num_units=4)``, ``RReLU()`` (random slopes while training) ... Every
class round-trips through ``get_config``/``from_config`` and ``.keras`` files.
"""

from __future__ import annotations

import keras

from tf_activations._registry import FUNCTIONS, SPECS

_PACKAGE = "tf_activations"
# Spelling of name parts in class names, as the literature writes them.
_WORDS = {"relu": "ReLU", "relu6": "ReLU6", "prelu": "PReLU", "rrelu": "RReLU", "elu": "ELU",
          "selu": "SELU", "celu": "CELU", "gelu": "GELU", "glu": "GLU", "silu": "SiLU",
          "lisht": "LiSHT"}


def class_name(name: str) -> str:
    return "".join(_WORDS.get(part, part.capitalize()) for part in name.split("_"))


class ActivationLayer(keras.layers.Layer):
    """Base of the generated layers: holds the activation's parameters.

    A differentiable parameter ``p`` (swish's beta, snake's frequency) becomes
    a weight when ``trainable_p=True``: a scalar, or one value per channel
    (last axis) with ``per_channel=True``.
    """

    activation_name = None

    def __init__(self, per_channel=False, **kwargs):
        spec = SPECS[self.activation_name]
        self._params, self._learned = {}, {}
        for p in spec.params:
            if p.name == "training":
                continue  # follows the training flag Keras passes to call()
            value = kwargs.pop(p.name, p.default)
            if p.differentiable:
                learn = kwargs.pop(f"trainable_{p.name}", False)
                if not isinstance(learn, bool):
                    raise TypeError(f"{type(self).__name__} expects trainable_{p.name} to be a bool; got {learn!r}")
                if learn:
                    self._learned[p.name] = None
            self._params[p.name] = p.check(type(self).__name__, value)
        if not isinstance(per_channel, bool):
            raise TypeError(f"{type(self).__name__} expects per_channel to be a bool; got {per_channel!r}")
        self.per_channel = per_channel
        super().__init__(**kwargs)
        self.supports_masking = not spec.axis_op
        self._fn = FUNCTIONS[self.activation_name]

    def build(self, input_shape):
        shape = (input_shape[-1],) if self.per_channel else ()
        for name in self._learned:
            weight = self.add_weight(
                name=name, shape=shape, initializer=keras.initializers.Constant(self._params[name]),
                trainable=True)
            self._learned[name] = weight
            # An attribute, so TensorFlow's object graph tracks it: a variable only held
            # in the plain dict above is an "untracked resource" to tf.saved_model.save.
            setattr(self, f"{name}_weight", weight)

    def call(self, inputs, training=None):
        params = dict(self._params)
        params.update(self._learned)
        if "training" in SPECS[self.activation_name].defaults:
            params["training"] = bool(training)
        return self._fn(inputs, **params)

    def get_config(self):
        config = super().get_config()
        config.update(self._params)
        config.update({f"trainable_{name}": True for name in self._learned})
        if self._learned:
            config["per_channel"] = self.per_channel
        return config


class PReLU(ActivationLayer):
    """Parametric ReLU with a learned negative slope (Keras' PReLU arguments).

    ``alpha`` has the shape of one sample, shared along ``shared_axes``
    (1-based like Keras: ``shared_axes=[1, 2]`` shares over height and width
    of an NHWC image). Initialised to 0.25 as in He et al. 2015.
    """

    activation_name = "prelu"

    def __init__(self, alpha_initializer=None, alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = keras.initializers.get(alpha_initializer or keras.initializers.Constant(0.25))
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)
        if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
            shared_axes = [shared_axes]
        if shared_axes is not None and not all(isinstance(a, int) and a >= 1 for a in shared_axes):
            raise ValueError(f"PReLU expects shared_axes to be positive integers (1-based, batch excluded); got {shared_axes!r}")
        self.shared_axes = None if shared_axes is None else list(shared_axes)

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis > len(shape):
                raise ValueError(f"PReLU shared_axes {self.shared_axes} out of range for input shape {input_shape}")
            shape[axis - 1] = 1
        self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)

    def call(self, inputs, training=None):
        return self._fn(inputs, self.alpha)

    def get_config(self):
        config = super().get_config()
        config.pop("alpha", None)
        config.update({
            "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
            "shared_axes": self.shared_axes,
        })
        return config


def _layer_class(name: str) -> type:
    spec = SPECS[name]
    doc = f"Keras layer for ``tf_activations.{name}``: {spec.summary}\n\n    {spec.formula}\n\nReference: {spec.reference}"
    return type(class_name(name), (ActivationLayer,), {"activation_name": name, "__doc__": doc,
                                                       "__module__": __name__})


LAYERS = {}
for _name in SPECS:
    _cls = PReLU if _name == "prelu" else _layer_class(_name)
    LAYERS[_name] = keras.saving.register_keras_serializable(package=_PACKAGE)(_cls)
    globals()[_cls.__name__] = _cls
del _name, _cls

__all__ = ["ActivationLayer"] + sorted(cls.__name__ for cls in LAYERS.values())
