"""Keras layers, one per activation, generated from the declarations.

``tf_activations.layers.Mish()``, ``GELU(approximate=True)``,
``Swish(beta=1.0, trainable_beta=True)`` (a learnable scalar, or one per
channel with ``per_channel=True``), ``PReLU(shared_axes=[1, 2])``,
``Maxout(num_units=4)``, ``RReLU()`` (random slopes while training) ... Every
class round-trips through ``get_config``/``from_config`` and ``.keras`` files.

The classes are made by ``make_layers(keras_module)`` for Keras 3 here, and for
tf_keras (Keras 2) in ``tf_activations.legacy_keras``: the same code on either
``Layer`` base, computing with TensorFlow ops.
"""

from __future__ import annotations

import inspect

import keras
import tensorflow as tf

from tf_activations._registry import FUNCTIONS, SPECS, canonical

_PACKAGE = "tf_activations"

# A learned parameter that must stay above an exclusive lower bound (snake's
# frequency > 0, which it divides by) is kept at least this far above it: by a
# constraint after each optimizer step, and by a clip in call() for values set
# or loaded by hand. 1e-4 is a normal float16, and snake at that frequency is
# within 1e-4 * x^2 of the identity, so nothing a model can learn is lost.
LEARNED_FLOOR = 1e-4


def _floor(param):
    """The smallest value a learned ``param`` may take, or None if any value is valid."""
    if param.low is None:
        return None
    return param.low if param.low_inclusive else param.low + LEARNED_FLOOR


def _shared_axes(layer_name, shared_axes):
    """``shared_axes`` as a list of 1-based axes (batch excluded), or None; PReLU's convention."""
    if shared_axes is not None and not isinstance(shared_axes, (list, tuple)):
        shared_axes = [shared_axes]
    if shared_axes is not None and not all(isinstance(a, int) and a >= 1 for a in shared_axes):
        raise ValueError(f"{layer_name} expects shared_axes to be positive integers (1-based, batch excluded); "
                         f"got {shared_axes!r}")
    return None if shared_axes is None else list(shared_axes)


def _per_sample_shape(layer_name, shared_axes, input_shape):
    """The shape of a weight with one value per sample position, size 1 along ``shared_axes``."""
    shape = list(input_shape[1:])
    for axis in shared_axes or ():
        if axis > len(shape):
            raise ValueError(f"{layer_name} shared_axes {shared_axes} out of range for input shape {input_shape}")
        shape[axis - 1] = 1
    return shape


def _axes_of(layer, input_shape) -> tuple:
    """The layer's axis, or tuple of axes (Softmax and LogSoftmax, as Keras' Softmax takes),
    as non-negative ints, each checked against the input's rank."""
    rank = len(input_shape)
    if rank == 0:
        raise ValueError(f"{type(layer).__name__} works along an axis and needs an input of rank >= 1; "
                         f"got a scalar (shape {tuple(input_shape)})")
    axes = layer.axis if isinstance(layer.axis, tuple) else (layer.axis,)
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"{type(layer).__name__} expects axis in [{-rank}, {rank}) for a rank-{rank} "
                             f"input; got {layer.axis}")
    return tuple(a % rank for a in axes)


def _axis_of(layer, input_shape) -> int:
    return _axes_of(layer, input_shape)[0]


def _normaliser_output_shape(self, input_shape):
    _axes_of(self, input_shape)
    return tuple(input_shape)


def _glu_output_shape(self, input_shape):
    """The gated units (GLU, SwiGLU, GeGLU, ReGLU) halve their axis."""
    shape = list(input_shape)
    axis = _axis_of(self, shape)
    if shape[axis] is not None:
        if shape[axis] % 2:
            raise ValueError(f"{type(self).__name__} expects an even size along axis {self.axis}; got {shape[axis]} "
                             f"(shape {tuple(input_shape)})")
        shape[axis] //= 2
    return tuple(shape)


def _maxout_output_shape(self, input_shape):
    shape = list(input_shape)
    axis = _axis_of(self, shape)
    size = shape[axis]
    if size is None:  # known when the model runs; only then can the default (pairs) say how many units
        shape[axis] = self.num_units
        return tuple(shape)
    units = size // 2 if self.num_units is None else self.num_units
    if units < 1 or size % units:
        raise ValueError(
            f"Maxout expects num_units to divide the size {size} of axis {self.axis}; got {self.num_units}"
            + (" (the default pairs up units, so the size must be even and at least 2)"
               if self.num_units is None else ""))
    shape[axis] = units
    return tuple(shape)


def _large_negative(dtype) -> float:
    # Keras' Softmax layer puts this in masked logits (keras/src/layers/activations/softmax.py).
    return -3e4 if tf.as_dtype(dtype) == tf.float16 else -1e9


def _masked_call(fill):
    """call() of a normaliser that takes a mask as Keras' Softmax layer does.

    Masked logits become a large negative number before normalising and the
    masked outputs ``fill`` after (0 for softmax, -inf for log_softmax), so a
    fully masked slice is all ``fill``. The mask (bool, or numbers where > 0.5
    keeps) must broadcast to the input without adding dimensions.
    """

    def call(self, inputs, mask=None):
        if mask is None:
            return self._fn(inputs, axis=self.axis)
        name = type(self).__name__
        if len(mask.shape) > len(inputs.shape):
            raise ValueError(f"{name}: the mask must be broadcastable to the inputs and must not have more "
                             f"dimensions; got inputs.shape={inputs.shape}, mask.shape={mask.shape}")
        for m_dim, i_dim in zip(mask.shape[::-1], inputs.shape[::-1]):
            if m_dim is not None and i_dim is not None and m_dim not in (1, i_dim):
                raise ValueError(f"{name}: the mask must be broadcastable to the inputs (each mask dimension "
                                 f"1 or equal to the input's); got inputs.shape={inputs.shape}, "
                                 f"mask.shape={mask.shape}")
        if mask.dtype != tf.bool:
            mask = tf.greater(mask, tf.cast(0.5, mask.dtype))
        kept = tf.where(mask, inputs, tf.cast(_large_negative(inputs.dtype), inputs.dtype))
        outputs = self._fn(kept, axis=self.axis)
        return tf.where(mask, outputs, tf.cast(fill, outputs.dtype))

    return call


_OUTPUT_SHAPES = {"halved": _glu_output_shape, "units": _maxout_output_shape}


def _methods(spec) -> dict:
    """The methods a declaration's layer has beyond ActivationLayer's."""
    methods = {}
    if spec.axis_op:
        methods["compute_output_shape"] = _OUTPUT_SHAPES.get(spec.output_shape, _normaliser_output_shape)
    if spec.mask_fill is not None:
        methods["call"] = _masked_call(spec.mask_fill)
    return methods


def _layer_params(spec) -> list:
    """The declaration's parameters a layer takes at construction (``training`` comes from call())."""
    return [p for p in spec.params if p.name != "training"]


def init_signature(spec) -> inspect.Signature:
    """A layer's ``__init__`` signature, from the declaration: each parameter with its default,
    then (keyword-only) ``trainable_<p>`` for each learnable one and ``per_channel`` where there
    is one, then Keras' own ``**kwargs`` (name, dtype, ...)."""
    P = inspect.Parameter
    params = [P("self", P.POSITIONAL_OR_KEYWORD)]
    params += [P(p.name, P.POSITIONAL_OR_KEYWORD, default=p.default) for p in _layer_params(spec)]
    learnable = [p for p in _layer_params(spec) if p.differentiable]
    params += [P(f"trainable_{p.name}", P.KEYWORD_ONLY, default=False) for p in learnable]
    if learnable:
        params.append(P("per_channel", P.KEYWORD_ONLY, default=False))
    params.append(P("kwargs", P.VAR_KEYWORD))
    return inspect.Signature(params)


def _layer_doc(spec) -> str:
    lines = [f"Keras layer for ``tf_activations.{spec.name}``: {spec.summary}", "",
             f"    {spec.formula}", ""]
    lines.append("Args:")
    for p in _layer_params(spec):
        lines.append(f"    {p.name}: {p.doc} Default {p.default!r}; {p.allowed()}.")
    learnable = [p for p in _layer_params(spec) if p.differentiable]
    for p in learnable:
        lines.append(f"    trainable_{p.name}: learn {p.name} as a weight ``{p.name}_weight``, initialised "
                     f"to ``{p.name}``. Default False.")
    if learnable:
        lines.append("    per_channel: with a trainable parameter, one value per channel (last axis) "
                     "instead of one scalar. Default False.")
    lines += ["    **kwargs: Keras' layer arguments (name, dtype, trainable, ...).", "",
              f"Reference: {spec.reference}"]
    return "\n".join(lines)


def _param_property(name: str) -> property:
    return property(lambda self: self._params[name],
                    doc=f"The layer's ``{name}`` (read-only; as saved by get_config).")


def no_autocast(k) -> dict:
    """add_weight's argument that keeps a learned activation parameter in its own (float32)
    dtype under a mixed precision policy: the functions compute half inputs in float32
    anyway, and a float16 copy of a frequency past 65504 is inf. Keras 3 and tf_keras name
    it differently."""
    return {"autocast": False} if int(k.__version__.split(".")[0]) >= 3 else {"experimental_autocast": False}


def make_layers(k, module: str = __name__) -> dict:
    """Every layer class on ``k.layers.Layer`` (``k`` is ``keras`` or ``tf_keras``), registered
    with ``k`` under the ``tf_activations>`` package; returns them by class name."""

    class AtLeast(k.constraints.Constraint):
        """Keeps a weight at or above ``min_value`` (elementwise)."""

        def __init__(self, min_value):
            self.min_value = float(min_value)

        def __call__(self, w):
            return tf.maximum(w, tf.cast(self.min_value, w.dtype))

        def get_config(self):
            return {"min_value": self.min_value}

    class ActivationLayer(k.layers.Layer):
        """Base of the generated layers: holds the activation's parameters.

        Each parameter is a read-only attribute (``ReLU().max_value``,
        ``Softmax().axis``) with the value ``get_config`` saves. A differentiable
        parameter ``p`` (swish's beta, snake's frequency) becomes a weight
        ``p_weight`` when ``trainable_p=True``: a scalar, or one value per channel
        (last axis) with ``per_channel=True``; the attribute ``p`` stays its
        initial value. A learned snake frequency is kept >= ``LEARNED_FLOOR``.

        As Keras' own activation layers: a layer without weights is built when
        constructed; elementwise layers pass a mask through unchanged; every
        layer has ``compute_output_shape`` (so it works in ``TimeDistributed``).
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
            if per_channel and not self._learned:
                learnable = [f"trainable_{p.name}=True" for p in spec.params if p.differentiable]
                raise ValueError(f"{type(self).__name__}: per_channel=True shapes a learned parameter, and "
                                 + (f"none is learned: add {' or '.join(learnable)}" if learnable
                                    else "this activation has none"))
            self.per_channel = per_channel
            super().__init__(**kwargs)
            # elementwise layers pass a mask through; normalisers that take one (softmax) pass it on
            self.supports_masking = not spec.axis_op or spec.mask_fill is not None
            self._fn = FUNCTIONS[self.activation_name]
            # Built now when there is nothing to build, unless a subclass has its own
            # build() (PReLU, or a user's), which then runs on the first call: Keras'
            # rule for its own layers (Layer._build_at_init).
            if not self._learned and type(self).build is ActivationLayer.build:
                self._built_at_init()

        def _built_at_init(self):
            # As Layer._build_at_init, which only applies where build() is not overridden at all:
            # built, with no build config to save, and locked against adding state later.
            self.built = True
            for keras3_step in ("_post_build", "_lock_state"):  # tf_keras has neither
                getattr(self, keras3_step, lambda: None)()

        def build(self, input_shape):
            shape = (input_shape[-1],) if self.per_channel else ()
            spec = SPECS[self.activation_name]
            for name in self._learned:
                floor = _floor(spec.param(name))
                weight = self.add_weight(
                    name=name, shape=shape, initializer=k.initializers.Constant(self._params[name]),
                    constraint=None if floor is None else AtLeast(floor), trainable=True, **no_autocast(k))
                self._learned[name] = weight
                # An attribute, so TensorFlow's object graph tracks it: a variable only held
                # in the plain dict above is an "untracked resource" to tf.saved_model.save.
                setattr(self, f"{name}_weight", weight)

        def call(self, inputs, training=None):
            params = dict(self._params)
            spec = SPECS[self.activation_name]
            for name, weight in self._learned.items():
                floor = _floor(spec.param(name))
                params[name] = weight if floor is None else tf.maximum(weight, floor)
            if "training" in spec.defaults:
                params["training"] = bool(training)
            return self._fn(inputs, **params)

        def compute_output_shape(self, input_shape):
            return tuple(input_shape)

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
            for generic in ("alpha", "trainable_alpha", "per_channel"):  # the weight is always learned
                if generic in kwargs:
                    raise TypeError(f"PReLU learns alpha as a weight of the shape of one sample (shared "
                                    f"along shared_axes) and takes alpha_initializer, not {generic}; "
                                    f"got {generic}={kwargs[generic]!r}")
            super().__init__(**kwargs)
            self.alpha_initializer = k.initializers.get(alpha_initializer or k.initializers.Constant(0.25))
            self.alpha_regularizer = k.regularizers.get(alpha_regularizer)
            self.alpha_constraint = k.constraints.get(alpha_constraint)
            self.shared_axes = _shared_axes("PReLU", shared_axes)

        def build(self, input_shape):
            shape = _per_sample_shape("PReLU", self.shared_axes, input_shape)
            self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                         regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)

        def call(self, inputs, training=None):
            return self._fn(inputs, self.alpha)

        def get_config(self):
            config = super().get_config()
            config.pop("alpha", None)
            config.update({
                "alpha_initializer": k.initializers.serialize(self.alpha_initializer),
                "alpha_regularizer": k.regularizers.serialize(self.alpha_regularizer),
                "alpha_constraint": k.constraints.serialize(self.alpha_constraint),
                "shared_axes": self.shared_axes,
            })
            return config

    def _init(sig: inspect.Signature):
        """``__init__`` with the declaration's signature (``help()``, IDEs and Python's own
        errors for a misspelt argument see it); the bound arguments go to ActivationLayer."""

        def __init__(self, *args, **kwargs):
            arguments = sig.bind(self, *args, **kwargs).arguments
            del arguments["self"]
            keras_kwargs = arguments.pop("kwargs", {})
            ActivationLayer.__init__(self, **arguments, **keras_kwargs)

        __init__.__signature__ = sig
        return __init__

    def _layer_class(name: str) -> type:
        spec = SPECS[name]
        body = {"activation_name": name, "__doc__": _layer_doc(spec), "__module__": __name__,
                "__init__": _init(init_signature(spec))}
        for p in spec.params:
            if p.name == "training":
                continue
            if hasattr(k.layers.Layer, p.name):  # would hide Keras' own attribute
                raise RuntimeError(f"parameter {name}.{p.name} clashes with keras.layers.Layer.{p.name}")
            body[p.name] = _param_property(p.name)
        body.update(_methods(spec))
        return type(spec.class_name, (ActivationLayer,), body)

    class TLU(k.layers.Layer):
        """Thresholded Linear Unit: ``max(x, tau)`` with a learned threshold ``tau``.

        From Filter Response Normalization (Singh & Krishnan, CVPR 2020,
        arXiv:1911.09737), where it follows FRN in place of ReLU. With
        ``affine=True`` it is ``max(x, alpha * x + tau)`` with a learned ``alpha``
        too. As TF Addons' ``TLU`` (same arguments and config, so its saved configs
        load): ``tau`` and ``alpha`` have the shape of one sample, initialised to 0
        (TLU then starts as ReLU). ``shared_axes`` (1-based, as in ``PReLU``) shares
        them along axes: ``shared_axes=[1, 2]`` gives one ``tau`` per channel of an
        NHWC image, as in the paper.
        """

        def __init__(self, affine=False, tau_initializer="zeros", tau_regularizer=None, tau_constraint=None,
                     alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                     shared_axes=None, **kwargs):
            super().__init__(**kwargs)
            if not isinstance(affine, bool):
                raise TypeError(f"TLU expects affine to be a bool; got {affine!r}")
            shared_axes = _shared_axes("TLU", shared_axes)
            self.supports_masking = True
            self.affine = affine
            self.shared_axes = shared_axes
            self.tau_initializer = k.initializers.get(tau_initializer)
            self.tau_regularizer = k.regularizers.get(tau_regularizer)
            self.tau_constraint = k.constraints.get(tau_constraint)
            self.alpha_initializer = k.initializers.get(alpha_initializer)
            self.alpha_regularizer = k.regularizers.get(alpha_regularizer)
            self.alpha_constraint = k.constraints.get(alpha_constraint)

        def build(self, input_shape):
            shape = _per_sample_shape("TLU", self.shared_axes, input_shape)
            if any(dim is None for dim in shape):
                raise ValueError(f"TLU needs every non-batch dimension known (or shared with shared_axes); "
                                 f"got input shape {tuple(input_shape)}")
            self.tau = self.add_weight(name="tau", shape=shape, initializer=self.tau_initializer,
                                       regularizer=self.tau_regularizer, constraint=self.tau_constraint)
            if self.affine:
                self.alpha = self.add_weight(name="alpha", shape=shape, initializer=self.alpha_initializer,
                                             regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)

        def call(self, inputs):
            tau = tf.cast(self.tau, inputs.dtype)
            if self.affine:
                return tf.maximum(inputs, tf.cast(self.alpha, inputs.dtype) * inputs + tau)
            return tf.maximum(inputs, tau)

        def compute_output_shape(self, input_shape):
            return tuple(input_shape)

        def get_config(self):
            config = super().get_config()
            config.update({
                "affine": self.affine,
                "tau_initializer": k.initializers.serialize(self.tau_initializer),
                "tau_regularizer": k.regularizers.serialize(self.tau_regularizer),
                "tau_constraint": k.constraints.serialize(self.tau_constraint),
                "shared_axes": self.shared_axes,
            })
            if self.affine:
                config.update({
                    "alpha_initializer": k.initializers.serialize(self.alpha_initializer),
                    "alpha_regularizer": k.regularizers.serialize(self.alpha_regularizer),
                    "alpha_constraint": k.constraints.serialize(self.alpha_constraint),
                })
            return config

    classes = {"AtLeast": AtLeast, "ActivationLayer": ActivationLayer, "TLU": TLU}
    layers_by_name = {}
    for name in SPECS:
        cls = PReLU if name == "prelu" else _layer_class(name)
        layers_by_name[name] = cls
        classes[cls.__name__] = cls
    for cls in classes.values():
        cls.__module__ = module
        cls.__qualname__ = cls.__name__
        if cls is not AtLeast and cls is not ActivationLayer:
            k.saving.register_keras_serializable(package=_PACKAGE)(cls)
    classes["LAYERS"] = layers_by_name
    return classes


_CLASSES = make_layers(keras)
LAYERS = _CLASSES.pop("LAYERS")
globals().update(_CLASSES)


def get(identifier, **params):
    """A new layer for an activation name or alias (``get("hard_silu")``, ``get("swish", beta=2.0)``).

    ``params`` are the layer's arguments; a layer instance is returned as is."""
    if isinstance(identifier, keras.layers.Layer):
        return identifier
    return LAYERS[canonical(identifier)](**params)


__all__ = ["TLU", "get"] + sorted(cls.__name__ for cls in LAYERS.values())
