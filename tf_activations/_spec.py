"""The declaration every activation is made from.

An :class:`Activation` holds one function's math (forward and closed-form
derivative, written once in TensorFlow ops), its parameters with defaults and
bounds, and the facts a user looks up (formula, range, paper, properties). The
functional op, the Keras layer, the Keras string and ``info()`` are all
generated from it by :mod:`tf_activations._build` and
:mod:`tf_activations.layers`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from typing import Any, Callable, Mapping, Optional

import numpy as np

# |f'| below this counts as saturated (a vanishing gradient): the one threshold the claims,
# the measurements (properties), the plots and the training diagnostics use.
SATURATED_BELOW = 1e-3

# What a kind of parameter accepts, for error messages.
_KIND_WORDS = {
    "float": "a real number",
    "int": "an integer",
    "bool": "a bool",
    "axis": "an integer axis",
    "axes": "an integer axis or a tuple of distinct integer axes",
    "optional_int": "an integer or None",
    "optional_float": "a real number or None",
}


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of an activation.

    ``differentiable`` parameters may be tensors or ``tf.Variable``s and get a
    gradient of their own shape; the others are Python numbers fixed when the
    op is built.
    """

    name: str
    default: Any
    doc: str
    kind: str = "float"
    low: Optional[float] = None
    high: Optional[float] = None
    low_inclusive: bool = True
    high_inclusive: bool = True
    differentiable: bool = False

    def allowed(self) -> str:
        words = _KIND_WORDS[self.kind]
        if self.low is None and self.high is None:
            return words
        lo = "(-inf" if self.low is None else ("[" if self.low_inclusive else "(") + f"{self.low:g}"
        hi = "inf)" if self.high is None else f"{self.high:g}" + ("]" if self.high_inclusive else ")")
        return f"{words} in {lo}, {hi}"

    def in_bounds(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (value == self.low and not self.low_inclusive)):
            return False
        if self.high is not None and (value > self.high or (value == self.high and not self.high_inclusive)):
            return False
        return True

    @staticmethod
    def _one_axis(value, bad):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(bad())
        return int(value)

    def check(self, fn_name: str, value: Any) -> Any:
        """Returns ``value`` normalised, or raises naming fn, argument and value."""
        if self.kind in ("optional_int", "optional_float") and value is None:
            return None
        if self.kind == "float" and type(value) is float and self.in_bounds(value) and math.isfinite(value):
            return value  # the common case, without building the message (eager per-call cost)

        def bad():
            return f"{fn_name}() expects {self.name} to be {self.allowed()}; got {value!r}"

        if self.kind == "axes" and isinstance(value, (tuple, list)):
            axes = tuple(self._one_axis(v, bad) for v in value)
            if not axes or len(set(axes)) != len(axes):
                raise ValueError(bad())
            return axes
        if self.kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(bad())
            return bool(value)
        if self.kind in ("int", "axis", "axes", "optional_int"):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise TypeError(bad())
            value = int(value)
        else:
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise TypeError(bad())
            value = float(value)
            if math.isnan(value) or math.isinf(value):
                raise ValueError(bad())
        if not self.in_bounds(value):
            raise ValueError(bad())
        return value


@dataclasses.dataclass(frozen=True)
class Line:
    """How a function of a whole axis is drawn and measured as a function of one x.

    Component 0 of ``f(inputs(x), **params)``: ``inputs`` maps a 1-D x to the vector
    input (the function's axis last), e.g. ``[x, 0]`` for softmax (softmax([x, 0])[0] is
    sigmoid(x)) or ``[x, x]`` for glu; ``label`` says so on plots and pages. The
    derivative drawn is d/dx of that component along the line.
    """

    label: str
    inputs: Callable
    params: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Kernel:
    """A fused C++ kernel of the declaration it sits in (a functor in kernels/activations.h).

    ``fn`` names the functor (the ops' ``fn`` attribute); the kernel runs only where the
    parameters in ``consts`` have those values (gelu's tanh form is another functor;
    softplus' kernel is beta = 1 without a threshold). ``param`` is the differentiable scalar
    parameter it takes, ``fixed`` the float parameters it takes, in the functor's c[] order.
    ``default``: measured faster than Keras' function (names Keras lacks: the float32
    composite) at every size, so it runs outside exact mode; ``exact``: within 1 ulp, so it
    runs in exact mode. ``fast_fn``: a float-math variant the default mode runs instead.
    ``saved``: in a training graph the forward also writes f'(x), measured faster than the
    two-op path. See kernels/README.md for how each is measured.
    """

    fn: str
    param: Optional[str] = None
    fixed: tuple = ()
    consts: tuple = ()
    default: bool = False
    exact: bool = False
    fast_fn: Optional[str] = None
    saved: bool = False


@dataclasses.dataclass(frozen=True)
class Claim:
    """One advantage or disadvantage, in a form a test can check.

    ``kind`` names the measured property that backs the claim (see
    ``tf_activations.properties.CLAIM_KINDS``: "saturates", "not_zero_centred",
    "dead_region", ...); ``text`` cites that number through ``{placeholders}``
    filled from the measurement, so the sentence cannot drift from the
    function. Kind "note" is for what no number can show (a learned slope, a
    paper's recommendation) and takes no placeholder.
    """

    kind: str
    text: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text}


def claim(kind: str, text: str) -> Claim:
    return Claim(kind, text)


@dataclasses.dataclass(frozen=True)
class Activation:
    """One activation function, declared once.

    ``forward(x, **params)`` and ``derivative(x, **params)`` take tensors in the
    compute dtype (params as tensors of that dtype) and must be numerically
    stable for every finite input and at +-inf. ``param_derivatives`` maps a
    differentiable parameter's name to d f / d param. ``tf_op``, when set,
    is a ``tf.nn`` op with a fused kernel and a correct native gradient used
    instead of the composite when it applies (returns None otherwise); it
    must be as accurate as the composite, since it runs in exact mode too.
    ``keras_builtin`` names run Keras' own function outside exact mode unless
    ``keras_is_default`` is False.
    ``smooth`` means continuously differentiable at the default parameters (f'
    has no jump; a jump in f'' is allowed: celu, softsign, sparse_plus).
    ``monotonic`` means non-decreasing; ``bounded_*`` and ``smooth`` are at the
    default parameters. All four are checked numerically (tests/test_measured.py).
    ``use_when``, ``advantages`` and ``disadvantages`` (tuples of :class:`Claim`)
    are the teaching text; their numbers come from the measurement, never from here.
    ``aliases`` are other spellings of the same function (Keras', PyTorch's, TF Addons');
    ``variant_of`` marks a declaration made by :func:`variant`.
    ``zero_centred`` means symmetric outputs (an odd function, like tanh),
    not merely outputs of both signs. ``axis_op`` marks functions of a whole axis (softmax, glu, ...), whose
    ``forward`` and ``vjp`` take the axis; ``derivative`` of those is the
    diagonal of the Jacobian, d y_i / d x_i. ``check``, when set, validates
    an axis op's shape at the boundary (in both modes, before Keras' function
    could run) and returns x, with a graph assertion where the shape is unknown.
    """

    name: str
    family: str
    formula: str
    derivative_formula: str
    output_range: str
    reference: str
    summary: str
    forward: Callable
    derivative: Optional[Callable] = None
    params: tuple = ()
    param_derivatives: Mapping[str, Callable] = dataclasses.field(default_factory=dict)
    tf_op: Optional[Callable] = None
    vjp: Optional[Callable] = None  # axis ops: vjp(x, dy, **params) -> dx
    check: Optional[Callable] = None  # axis ops: check(x, **params) -> x, raising on a bad shape
    line: Optional[Line] = None  # axis ops: how they are drawn and measured along one x
    # The Keras layer: its class name where the literature spells it otherwise than the
    # capitalised parts of the name (ReLU, SwiGLU, GELUTanh); what it does to the axis the
    # function works along ("same", "halved" by the gated units, "units" for maxout); and
    # for a normaliser that takes a mask as keras.layers.Softmax does, what masked entries
    # become (0 for softmax, -inf for log_softmax).
    kernels: tuple = ()  # Kernel(...) entries: the fused C++ kernels that compute it
    layer_name: str = ""
    output_shape: str = "same"
    mask_fill: Optional[float] = None
    axis_op: bool = False
    float64_forward: bool = True
    monotonic: bool = True
    smooth: bool = True
    bounded_below: bool = False
    bounded_above: bool = False
    zero_centred: bool = False
    keras_builtin: bool = False
    keras_is_default: bool = True  # False where Keras' own function is wrong (sparsemax)
    # A Keras name saved as "tf_activations>name": plain Keras' function of that name would
    # load from the file and compute something else (sparsemax) or not run (threshold).
    saved_under_package: bool = False
    aliases: tuple = ()
    variant_of: Optional[tuple] = None  # (base name, fixed parameters): see variant()
    kinks: str = ""
    notes: str = ""
    use_when: str = ""
    advantages: tuple = ()
    disadvantages: tuple = ()

    @property
    def class_name(self) -> str:
        """The Keras layer's class name."""
        return self.layer_name or "".join(part.capitalize() for part in self.name.split("_"))

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    @property
    def defaults(self) -> dict:
        return {p.name: p.default for p in self.params}

    def info(self) -> dict:
        """The user-facing facts, as plain data (see ``tf_activations.info``)."""
        return {
            "name": self.name,
            "family": self.family,
            "summary": self.summary,
            "formula": self.formula,
            "derivative": self.derivative_formula,
            "range": self.output_range,
            "paper": self.reference,
            "parameters": {
                p.name: {"default": p.default, "allowed": p.allowed(), "doc": p.doc,
                         "trainable": p.differentiable}
                for p in self.params
            },
            "properties": {
                "monotonic": self.monotonic,
                "smooth": self.smooth,
                "bounded_below": self.bounded_below,
                "bounded_above": self.bounded_above,
                "zero_centred": self.zero_centred,
            },
            "elementwise": not self.axis_op,
            "kinks": self.kinks,
            "aliases": list(self.aliases),
            "variant_of": None if self.variant_of is None else {
                "name": self.variant_of[0], "parameters": dict(self.variant_of[1])},
            "keras_builtin": self.keras_builtin,
            "default_is_keras": self.keras_builtin and self.keras_is_default,
            "notes": self.notes,
            "use_when": self.use_when,
            "advantages": [c.as_dict() for c in self.advantages],
            "disadvantages": [c.as_dict() for c in self.disadvantages],
        }


def variant(base: Activation, name: str, fixed: Mapping[str, Any], **overrides) -> Activation:
    """``base`` with some parameters fixed, under a name of its own.

    ``variant(GELU, "gelu_tanh", {"approximate": True}, ...)`` is gelu's tanh form:
    its math is ``base``'s with ``fixed`` bound, and its function calls ``base``'s
    (so it takes the same path: Keras' function, a kernel, the composite).
    ``overrides`` replace the texts that differ (formula, summary, ...).
    """
    for key, value in fixed.items():
        base.param(key).check(name, value)

    def bound(fn):
        return None if fn is None else functools.partial(fn, **fixed)

    return dataclasses.replace(
        base,
        name=name,
        params=tuple(p for p in base.params if p.name not in fixed),
        forward=bound(base.forward),
        derivative=bound(base.derivative),
        param_derivatives={k: bound(v) for k, v in base.param_derivatives.items() if k not in fixed},
        tf_op=bound(base.tf_op),
        vjp=bound(base.vjp),
        check=bound(base.check),
        keras_builtin=False,
        aliases=(),
        variant_of=(base.name, tuple(fixed.items())),
        **{"layer_name": "", **overrides},
    )
