"""tf_activations.properties: the measured numbers against independent references, the declared
flags against the measurement, and every advantage/disadvantage against its number."""

import math
import pathlib

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import reference

import tf_activations
from tf_activations import _registry, properties
from tf_activations._spec import Claim

NAMES = tf_activations.available()
ELEMENTWISE = [n for n in NAMES if tf_activations.info(n)["elementwise"]]


def _normal_moments(f):
    """Mean and variance of f(x), x ~ N(0, 1), by scipy's adaptive quadrature (split at the kinks)."""
    pts = [-6, -3, -1, -0.5, 0, 0.5, 1, 3, 6]
    def expect(g):
        return integrate.quad(lambda x: g(x) * stats.norm.pdf(x), -40, 40, points=pts, limit=400)[0]
    mean = expect(f)
    return mean, expect(lambda x: (f(x) - mean) ** 2)


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# tests/reference.py's float64 NumPy functions, at a scalar (quadrature evaluates one point at a time)
REFERENCE_FUNCTIONS = {name: (lambda x, f=reference.NUMPY[name]: float(f(np.float64(x))))
                       for name in ("sigmoid", "tanh", "relu", "softplus", "hard_sigmoid", "selu", "elu", "gelu",
                                    "soft_shrink", "squared_relu", "gelu_tanh")}


@pytest.mark.parametrize("name", sorted(REFERENCE_FUNCTIONS))
def test_moments_match_quadrature(name):
    mean, var = _normal_moments(REFERENCE_FUNCTIONS[name])
    p = properties.measure(name)
    assert p["mean"] == pytest.approx(mean, abs=1e-7)
    assert p["var"] == pytest.approx(var, abs=1e-7)


def test_closed_form_values():
    # sigmoid(x) - 1/2 is odd: the mean is 1/2 exactly
    assert properties.measure("sigmoid")["mean"] == pytest.approx(0.5, abs=1e-12)
    relu = properties.measure("relu")
    assert relu["sparsity"] == pytest.approx(0.5, abs=1e-9)
    assert relu["mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-8)
    assert relu["var"] == pytest.approx(0.5 - 1 / (2 * math.pi), abs=1e-8)
    e = properties.measure("exponential")  # lognormal
    assert e["mean"] == pytest.approx(math.exp(0.5), rel=1e-9)
    assert e["var"] == pytest.approx(math.e ** 2 - math.e, rel=1e-9)
    # hard_shrink zeroes |x| <= 0.5
    assert properties.measure("hard_shrink")["sparsity"] == pytest.approx(math.erf(0.5 / math.sqrt(2)), abs=1e-9)
    # softmax rows sum to 1: the mean output of a row of 8 is 1/8
    assert properties.measure("softmax")["mean"] == pytest.approx(1 / 8, abs=1e-12)


def test_selu_fixed_point():
    p = properties.measure("selu")
    assert abs(p["mean"]) < 1e-6 and abs(p["var"] - 1) < 1e-6


def test_saturation_thresholds_solve_the_closed_forms():
    # 1 - tanh(x)^2 = 1e-3
    t = math.atanh(math.sqrt(1 - 1e-3))
    assert properties.measure("tanh")["saturation"] == [(-math.inf, pytest.approx(-t, abs=1e-5)),
                                                        (pytest.approx(t, abs=1e-5), math.inf)]
    # s (1 - s) = 1e-3
    s = (1 - math.sqrt(1 - 4e-3)) / 2
    x = math.log((1 - s) / s)
    assert properties.measure("sigmoid")["saturation"] == [(-math.inf, pytest.approx(-x, abs=1e-5)),
                                                           (pytest.approx(x, abs=1e-5), math.inf)]
    # softsign: 1 / (1 + |x|)^2 = 1e-3
    x = math.sqrt(1e3) - 1
    assert properties.measure("softsign")["saturation"][1][0] == pytest.approx(x, abs=1e-5)
    # elu: exp(x) = 1e-3 below 0, nothing above
    assert properties.measure("elu")["saturation"] == [(-math.inf, pytest.approx(math.log(1e-3), abs=1e-5))]


@pytest.mark.parametrize("name, dead, jumps", [
    ("relu", [(-math.inf, 0.0)], [(0.0, 1.0)]),
    ("hard_sigmoid", [(-math.inf, -3.0), (3.0, math.inf)], [(-3.0, 1 / 6), (3.0, -1 / 6)]),
    ("hard_shrink", [(-0.5, 0.5)], [(-0.5, -1.0), (0.5, 1.0)]),
    ("leaky_relu", [], [(0.0, 0.8)]),
    ("gelu", [], []),  # gelu' is 0.0 in float64 below -37.7: underflow, not a dead region
    ("sigmoid", [], []),
])
def test_dead_regions_and_jumps(name, dead, jumps):
    p = properties.measure(name)
    assert p["dead"] == [(pytest.approx(lo, abs=1e-6), pytest.approx(hi, abs=1e-6)) for lo, hi in dead]
    assert p["jumps"] == [(pytest.approx(x, abs=1e-3), pytest.approx(size, abs=1e-3)) for x, size in jumps]


def test_swish_minimum():
    found = optimize.minimize_scalar(lambda x: x * _sigmoid(x), bounds=(-3, 0), method="bounded",
                                     options={"xatol": 1e-9})
    p = properties.measure("swish")
    assert p["output_min"] == pytest.approx(found.fun, abs=1e-6)
    assert p["output_min_at"] == pytest.approx(found.x, abs=1e-3)
    assert not p["monotonic"]


# ---- the declared flags, checked numerically ------------------------------------------------

def _wrong_flags(declared, p):
    """The declared flags the measurement contradicts."""
    measured = {"monotonic": p["monotonic"], "smooth": not p["jumps"], "bounded_below": p["bounded_below"],
                "bounded_above": p["bounded_above"],
                "zero_centred": p["odd"] and abs(p["mean"]) < 1e-9}  # odd, so the mean is 0 too
    return {k: (declared[k], v) for k, v in measured.items() if declared[k] != v}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_declared_flags_match_the_measurement(name):
    """A wrong flag in a declaration fails here (elu, sparse_plus and threshold had one)."""
    wrong = _wrong_flags(tf_activations.info(name)["properties"], properties.measure(name))
    assert not wrong, f"{name}: declared vs measured {wrong} (jumps: {properties.measure(name)['jumps']})"


@pytest.mark.parametrize("name, flag", [("elu", "smooth"), ("threshold", "bounded_below"), ("mish", "monotonic"),
                                        ("relu", "smooth"), ("tanh", "zero_centred"), ("sigmoid", "bounded_above")])
def test_a_wrong_flag_would_be_caught(name, flag):
    declared = dict(tf_activations.info(name)["properties"])
    declared[flag] = not declared[flag]
    assert set(_wrong_flags(declared, properties.measure(name))) == {flag}


# ---- advantages and disadvantages -----------------------------------------------------------

def _claims(name):
    spec = _registry.SPECS[name]
    return [("advantage", c) for c in spec.advantages] + [("disadvantage", c) for c in spec.disadvantages]


@pytest.mark.parametrize("name", NAMES)
def test_every_activation_teaches(name):
    spec = _registry.SPECS[name]
    assert spec.use_when and spec.advantages and spec.disadvantages, name


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_cites_its_number_and_holds(name):
    p = properties.measure(name)
    known = set(properties.placeholders(p))
    for side, c in _claims(name):
        assert c.kind in properties.CLAIM_KINDS, (name, c.kind)
        fields = properties.fields(c.text)
        assert fields <= known, (name, c.text, fields - known)
        cites = properties.CLAIM_KINDS[c.kind][1]
        if c.kind == "note":
            assert not fields and not any(ch.isdigit() for ch in c.text), \
                f"{name}: a note may not carry a number of its own: {c.text!r}"
        else:
            assert fields & set(cites), f"{name}: {c.kind} claim cites none of {cites}: {c.text!r}"
        assert properties.check(c, p) is not False, f"{name} {side} not borne out: {properties.render(c, p)}"


def test_checks_follow_their_thresholds():
    sigmoid, relu, tanh = (properties.measure(n) for n in ("sigmoid", "relu", "tanh"))
    check = properties.check
    assert check(Claim("not_zero_centred", "{mean}"), sigmoid) and not check(Claim("zero_centred", "{mean}"), sigmoid)
    assert check(Claim("zero_centred", "{mean}"), tanh)
    assert check(Claim("saturates", "{saturation}"), tanh)
    assert not check(Claim("saturates", "{saturation}"), properties.measure("linear"))
    assert check(Claim("dead_region", "{dead}"), relu) and not check(Claim("dead_region", "{dead}"), sigmoid)
    assert check(Claim("sparse", "{sparsity}"), relu) and not check(Claim("sparse", "{sparsity}"), sigmoid)
    # cost: no verdict without a measurement, and the verdict follows the number given
    assert check(Claim("cheap", "{cost}"), relu) is None
    assert check(Claim("cheap", "{cost}"), relu, cost=1.0) and not check(Claim("cheap", "{cost}"), relu, cost=3.0)
    assert check(Claim("expensive", "{cost}"), relu, cost=3.0)
    wrong = properties.render(Claim("zero_centred", "mean {mean}"), sigmoid)
    assert wrong.startswith("mean 0.5") and "not borne out" in wrong


def test_info_returns_the_text_with_numbers_as_data():
    plain = tf_activations.info("sigmoid")
    assert any("{mean}" in c["text"] for c in plain["disadvantages"])
    data = tf_activations.info("sigmoid", measured=True)
    texts = [c["text"] for c in data["disadvantages"]]
    assert any("mean output 0.5 " in t for t in texts)
    assert any("x > 6.91" in t for t in texts)
    assert all(c["holds"] is not False for c in data["advantages"] + data["disadvantages"])
    assert data["measured"]["mean"] == pytest.approx(0.5)
    assert data["use_when"]


def test_catalog_does_not_import_the_measuring_module():
    catalog = pathlib.Path(properties.__file__).parent / "catalog"
    for path in catalog.glob("*.py"):
        assert "properties" not in path.read_text(), path.name
