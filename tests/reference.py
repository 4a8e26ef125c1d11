"""Independent references: every activation and its derivative in mpmath.

Written from the papers' formulas at 110 significant digits, so float32 and
float64 results can be judged against the correctly rounded value. Nothing here
imports tf_activations. Kinks follow the package's documented convention (the
derivative at a kink is the outer piece's).
"""

import functools

import math

import mpmath as mp
import numpy as np
import scipy.special as sp

mp.mp.dps = 110

SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")
SELU_SCALE = mp.mpf("1.0507009873554804934193349852946")
SQRT2 = mp.sqrt(2)


def _sig(x):
    return 1 / (1 + mp.exp(-x))


def _phi(x):  # standard normal CDF
    return mp.erfc(-x / SQRT2) / 2


def _pdf(x):
    return mp.exp(-x * x / 2) / mp.sqrt(2 * mp.pi)


def _clip(x, lo, hi):
    return min(max(x, lo), hi)


def _sp(x):
    return mp.log1p(mp.exp(x))


def _piece(cond, a, b):
    return a if cond else b


def _squareplus(x, b=4):
    r = mp.sqrt(x * x + b)
    return (x + r) / 2 if x >= 0 else b / (2 * (r - x))


RRELU_SLOPE = (mp.mpf(1) / 8 + mp.mpf(1) / 3) / 2
GELU_TANH_C, GELU_TANH_A = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")


def _gelu_tanh(x):  # x/2 (1 + tanh u) == x sigmoid(2u): no cancellation of 1 + tanh u at x << 0
    return x * _sig(2 * GELU_TANH_C * (x + GELU_TANH_A * x ** 3))


def _gelu_tanh_slope(x):
    s = _sig(2 * GELU_TANH_C * (x + GELU_TANH_A * x ** 3))
    return s + x * s * (1 - s) * 2 * GELU_TANH_C * (1 + 3 * GELU_TANH_A * x ** 2)


# name -> (f, f'), both scalar mpmath functions of x at default parameters.
ELEMENTWISE = {
    "sigmoid": (_sig, lambda x: _sig(x) * _sig(-x)),
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
    "hard_sigmoid": (lambda x: _clip(x + 3, 0, 6) / 6, lambda x: _piece(-3 < x < 3, mp.mpf(1) / 6, 0)),
    "hard_tanh": (lambda x: _clip(x, -1, 1), lambda x: _piece(-1 < x < 1, 1, 0)),
    "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
    "log_sigmoid": (lambda x: -_sp(-x), lambda x: _sig(-x)),
    "sparse_sigmoid": (lambda x: _clip((x + 1) / 2, 0, 1), lambda x: _piece(-1 < x < 1, mp.mpf(1) / 2, 0)),
    "relu": (lambda x: max(x, 0), lambda x: _piece(x > 0, 1, 0)),
    "relu6": (lambda x: _clip(x, 0, 6), lambda x: _piece(0 < x < 6, 1, 0)),
    "squared_relu": (lambda x: max(x, 0) ** 2, lambda x: 2 * max(x, 0)),
    "leaky_relu": (lambda x: _piece(x > 0, x, mp.mpf("0.2") * x), lambda x: _piece(x > 0, 1, mp.mpf("0.2"))),
    "prelu": (lambda x: _piece(x > 0, x, x / 4), lambda x: _piece(x > 0, 1, mp.mpf(1) / 4)),
    "rrelu": (lambda x: _piece(x > 0, x, RRELU_SLOPE * x), lambda x: _piece(x > 0, 1, RRELU_SLOPE)),
    "elu": (lambda x: _piece(x > 0, x, mp.expm1(x)), lambda x: _piece(x > 0, 1, mp.exp(x))),
    "celu": (lambda x: _piece(x > 0, x, mp.expm1(x)), lambda x: _piece(x > 0, 1, mp.exp(x))),
    "selu": (lambda x: SELU_SCALE * _piece(x > 0, x, SELU_ALPHA * mp.expm1(x)),
             lambda x: SELU_SCALE * _piece(x > 0, 1, SELU_ALPHA * mp.exp(x))),
    "softplus": (_sp, _sig),
    "squareplus": (_squareplus, lambda x: (1 + x / mp.sqrt(x * x + 4)) / 2),
    "sparse_plus": (lambda x: x if x >= 1 else (_clip(x, -1, 1) + 1) ** 2 / 4,
                    lambda x: 1 if x >= 1 else (_clip(x, -1, 1) + 1) / 2),
    "threshold": (lambda x: _piece(x > 0, x, 0), lambda x: _piece(x > 0, 1, 0)),
    "clip": (lambda x: _clip(x, -1, 1), lambda x: _piece(-1 < x < 1, 1, 0)),
    "exponential": (mp.exp, mp.exp),
    "linear": (lambda x: x, lambda x: 1),
    "swish": (lambda x: x * _sig(x), lambda x: _sig(x) + x * _sig(x) * _sig(-x)),
    "silu": (lambda x: x * _sig(x), lambda x: _sig(x) + x * _sig(x) * _sig(-x)),
    "mish": (lambda x: x * mp.tanh(_sp(x)),
             lambda x: mp.tanh(_sp(x)) + x * mp.sech(_sp(x)) ** 2 * _sig(x)),
    "gelu": (lambda x: x * _phi(x), lambda x: _phi(x) + x * _pdf(x)),
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_slope),
    "hard_swish": (lambda x: x * _clip(x + 3, 0, 6) / 6,
                   lambda x: 0 if x <= -3 else (1 if x >= 3 else (2 * x + 3) / 6)),
    "lisht": (lambda x: x * mp.tanh(x), lambda x: mp.tanh(x) + x * mp.sech(x) ** 2),
    "snake": (lambda x: x + mp.sin(x) ** 2, lambda x: 1 + mp.sin(2 * x)),
    "hard_shrink": (lambda x: _piece(abs(x) > mp.mpf("0.5"), x, 0), lambda x: _piece(abs(x) > mp.mpf("0.5"), 1, 0)),
    "soft_shrink": (lambda x: x - mp.mpf("0.5") if x > 0.5 else (x + mp.mpf("0.5") if x < -0.5 else 0),
                    lambda x: _piece(abs(x) > mp.mpf("0.5"), 1, 0)),
    "tanh_shrink": (lambda x: x - mp.tanh(x), lambda x: mp.tanh(x) ** 2),
}

# Second-order references need f''; these are the smooth ones, by mpmath's
# numerical differentiation of the closed-form f' above (high precision).
SMOOTH = ["sigmoid", "tanh", "softsign", "log_sigmoid", "softplus", "squareplus", "swish", "silu",
          "mish", "gelu", "gelu_tanh", "lisht", "snake", "tanh_shrink", "exponential", "celu", "elu", "selu",
          "squared_relu"]  # squared_relu: C1, and C2 off 0, where the second-order grid never lands


# The gated units y = a * g(b) on the halves [a, b] of an axis (Shazeer 2020): the gate g with
# its first and second derivatives in closed form, by name and parameters. From these,
# dy/da = g(b), dy/db = a g'(b), and the Hessian of <dy, y> in (a, b) is [[0, dy g'], [dy g', dy a g'']].
def _swish_gate(beta=1):
    beta = mp.mpf(beta)

    def parts(b):
        s = _sig(beta * b)
        slope = s * (1 - s)
        return b * s, s + beta * b * slope, beta * slope * (2 + beta * b * (1 - 2 * s))
    return parts


def _gelu_gate(approximate=False):
    if not approximate:
        return lambda b: (b * _phi(b), _phi(b) + b * _pdf(b), _pdf(b) * (2 - b * b))
    c, k = mp.sqrt(2 / mp.pi), mp.mpf("0.044715")

    def parts(b):
        # 0.5 (1 + tanh(u)) = sigmoid(2u)
        u, du, ddu = c * (b + k * b ** 3), c * (1 + 3 * k * b * b), 6 * c * k * b
        t = _sig(2 * u)
        dt = t * (1 - t)
        return b * t, t + 2 * b * dt * du, 4 * dt * du + 2 * b * dt * (2 * (1 - 2 * t) * du * du + ddu)
    return parts


def _relu_gate():
    return lambda b: (max(b, 0), mp.mpf(1 if b > 0 else 0), mp.mpf(0))


GATES = {"swiglu": _swish_gate, "geglu": _gelu_gate, "reglu": _relu_gate}


def gated(name, a, b, dy, va, vb, **params):
    """y, (dy/da, dy/db) times dy, and the Hessian of <dy, y> times (va, vb), as float64
    arrays, for float arrays a, b, dy, va, vb of one shape (the two halves, the upstream
    gradient and the direction)."""
    parts = GATES[name](**params)
    out = np.empty((5,) + np.shape(a))
    for i in np.ndindex(np.shape(a)):
        av, bv, dv, pa, pb = (mp.mpf(float(np.asarray(t)[i])) for t in (a, b, dy, va, vb))
        g, g1, g2 = parts(bv)
        out[(slice(None),) + i] = [float(v) for v in (av * g, dv * g, dv * av * g1, dv * g1 * pb,
                                                      dv * g1 * pa + dv * av * g2 * pb)]
    return out


def grid(extremes=True):
    """float32 points: dense on [-5, 5], spread over [-100, 100], and 1e-30 .. 3e38 of both signs."""
    parts = [np.linspace(-5, 5, 1201), np.linspace(-100, 100, 1601),
             [0.0, -3, 3, 6, -1, 1, 0.5, -0.5, 20, 20.5, -13.1, -13.2, -87.5, -90, -95,
              -710, -712.5]]  # float64: exp(x) is subnormal, x exp(x) is not
    if extremes:
        mags = np.geomspace(1e-30, 3e38, 300)
        parts += [mags, -mags]
    return np.unique(np.concatenate(parts).astype(np.float32))


@functools.lru_cache(maxsize=None)
def table(name, which, points_key):
    """f or f' of ``name`` at the cached grid ``points_key``, as float64."""
    fn = ELEMENTWISE[name][0 if which == "f" else 1]
    points = _GRIDS[points_key]
    return np.array([float(fn(mp.mpf(float(v)))) for v in points], dtype=np.float64)


_GRIDS = {"full": grid(True), "moderate": grid(False)}


def points(key):
    return _GRIDS[key]


def second_derivative(name, x):
    d = ELEMENTWISE[name][1]
    return float(mp.diff(d, mp.mpf(float(x))))


# ---- float64 NumPy, for arrays (model outputs, layers) where mpmath per element is too slow ----

SELU_ALPHA_F64 = float(SELU_ALPHA)
SELU_SCALE_F64 = float(SELU_SCALE)


def softmax_np(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sparsemax_np(z):
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape[:-1]):
        v = z[idx]
        s = np.sort(v)[::-1]
        k = np.arange(1, v.size + 1)
        cs = np.cumsum(s)
        support = k[1 + k * s > cs].max()
        tau = (cs[support - 1] - 1) / support
        out[idx] = np.maximum(v - tau, 0)
    return out


def glu_np(z):
    a, b = np.split(z, 2, axis=-1)
    return a * sp.expit(b)


def gated_np(gate):
    def unit(z):
        a, b = np.split(z, 2, axis=-1)
        return a * gate(b)
    return unit


def maxout_np(z, num_units=None):
    units = z.shape[-1] // 2 if num_units is None else num_units
    return z.reshape(z.shape[:-1] + (units, z.shape[-1] // units)).max(-1)


def leaky_np(slope):
    return lambda z: np.where(z > 0, z, slope * z)


# float64 NumPy references of every activation at its default parameters, along the last axis.
NUMPY = {
    "sigmoid": sp.expit,
    "tanh": np.tanh,
    "hard_sigmoid": lambda z: np.clip(z + 3, 0, 6) / 6,
    "hard_tanh": lambda z: np.clip(z, -1, 1),
    "softsign": lambda z: z / (1 + np.abs(z)),
    "log_sigmoid": lambda z: -np.logaddexp(0, -z),
    "sparse_sigmoid": lambda z: np.clip((z + 1) / 2, 0, 1),
    "swish": lambda z: z * sp.expit(z),
    "silu": lambda z: z * sp.expit(z),
    "mish": lambda z: z * np.tanh(np.logaddexp(0, z)),
    "gelu": lambda z: 0.5 * z * sp.erfc(-z / math.sqrt(2)),
    "gelu_tanh": lambda z: 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3))),
    "hard_swish": lambda z: z * np.clip(z + 3, 0, 6) / 6,
    "lisht": lambda z: z * np.tanh(z),
    "snake": lambda z: z + np.sin(z) ** 2,
    "relu": lambda z: np.maximum(z, 0),
    "relu6": lambda z: np.clip(z, 0, 6),
    "leaky_relu": leaky_np(0.2),
    "prelu": leaky_np(0.25),
    "rrelu": leaky_np((0.125 + 1 / 3) / 2),
    "elu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "selu": lambda z: SELU_SCALE_F64 * np.where(z > 0, z, SELU_ALPHA_F64 * np.expm1(z)),
    "celu": lambda z: np.where(z > 0, z, np.expm1(z)),
    "softplus": lambda z: np.logaddexp(0, z),
    "squareplus": lambda z: (z + np.sqrt(z * z + 4)) / 2,
    "sparse_plus": lambda z: np.where(z >= 1, z, np.where(z <= -1, 0, (z + 1) ** 2 / 4)),
    "threshold": lambda z: np.where(z > 0, z, 0.0),
    "clip": lambda z: np.clip(z, -1, 1),
    "exponential": np.exp,
    "linear": lambda z: z,
    "hard_shrink": lambda z: np.where(np.abs(z) > 0.5, z, 0.0),
    "soft_shrink": lambda z: np.sign(z) * np.maximum(np.abs(z) - 0.5, 0),
    "tanh_shrink": lambda z: z - np.tanh(z),
    "softmax": softmax_np,
    "log_softmax": lambda z: z - z.max(-1, keepdims=True)
    - np.log(np.exp(z - z.max(-1, keepdims=True)).sum(-1, keepdims=True)),
    "sparsemax": sparsemax_np,
    "glu": glu_np,
    "swiglu": gated_np(lambda b: b * sp.expit(b)),
    "geglu": gated_np(lambda b: 0.5 * b * sp.erfc(-b / math.sqrt(2))),
    "reglu": gated_np(lambda b: np.maximum(b, 0)),
    "softmin": lambda z: softmax_np(-z),
    "squared_relu": lambda z: np.maximum(z, 0) ** 2,
    "maxout": maxout_np,
}
