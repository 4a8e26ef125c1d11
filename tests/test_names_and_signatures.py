"""Every spelling of a name works in every place, and every layer shows its arguments.

Aliases (Keras', PyTorch's and TF Addons' spellings) and named variants (gelu_tanh is
gelu(approximate=True)) are accepted by get, info, the Keras strings, the layers, the
functional attributes, the command line and the gallery; values are checked against
float64 NumPy formulas. Layer signatures are compared with the declarations.
"""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import tf_activations
from tf_activations import cli, layers
from tf_activations._registry import ALIASES, SPECS

X = np.linspace(-6.0, 6.0, 49)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


# Each spelling users bring from elsewhere, with its float64 formula.
SPELLINGS = {
    "hard_silu": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,       # Keras, JAX
    "hardswish": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,       # PyTorch
    "hardsigmoid": lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,          # PyTorch
    "hardtanh": lambda x: np.clip(x, -1.0, 1.0),                         # PyTorch
    "logsigmoid": lambda x: -_softplus(-x),                              # PyTorch
    "tanhshrink": lambda x: x - np.tanh(x),                              # PyTorch, TF Addons
    "hardshrink": lambda x: np.where(np.abs(x) > 0.5, x, 0.0),          # PyTorch, TF Addons
    "softshrink": lambda x: np.where(x > 0.5, x - 0.5, np.where(x < -0.5, x + 0.5, 0.0)),
    "gelu_tanh": _gelu_tanh,                                             # TF Addons' gelu, GPT-2's gelu_new
}


def test_every_alias_is_listed_here():
    assert set(ALIASES) | {"gelu_tanh"} == set(SPELLINGS)


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_every_spelling_computes_its_formula_everywhere(name):
    x = tf.constant(X)
    want = SPELLINGS[name](X)
    functions = {"get": tf_activations.get(name), "attribute": getattr(tf_activations, name),
                 "keras string": keras.activations.get(name)}
    for where, fn in functions.items():  # by default Keras' own formulas may run: 4e-7 for gelu's tanh tail
        np.testing.assert_allclose(np.asarray(fn(x)), want, rtol=1e-6, atol=1e-15, err_msg=where)
    for where, layer in {"layer": layers.get(name), "Activation layer": keras.layers.Activation(name)}.items():
        y = layer(x)  # float32, as Keras layers compute by default
        assert y.dtype == tf.float32
        np.testing.assert_allclose(np.asarray(y), want, rtol=2e-6, atol=3e-7, err_msg=where)
    with tf_activations.exact():
        np.testing.assert_allclose(np.asarray(tf_activations.get(name)(x)), want, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(SPELLINGS))
def test_info_and_the_command_line_take_every_spelling(name, capsys, tmp_path):
    data = tf_activations.info(name)
    assert data["name"] in SPECS
    assert name == data["name"] or name in data["aliases"]
    assert cli.main(["info", name]) == 0
    assert data["formula"] in capsys.readouterr().out.replace("\n              ", " ")
    out = tmp_path / f"{name}.png"
    assert cli.main(["plot", "--names", name, "--out", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_the_gallery_takes_aliases(tmp_path):
    assert cli.main(["gallery", "--names", "hardtanh,gelu_tanh", "--out", str(tmp_path / "g")]) == 0
    pages = {p.name for p in (tmp_path / "g").rglob("*.html")}
    assert any("hard_tanh" in p for p in pages) and any("gelu_tanh" in p for p in pages), pages


def test_gelu_tanh_is_gelu_with_the_tanh_form_and_its_own_name():
    data = tf_activations.info("gelu_tanh")
    assert data["variant_of"] == {"name": "gelu", "parameters": {"approximate": True}}
    assert data["parameters"] == {}
    assert "gelu(x, approximate=True)" in tf_activations.gelu_tanh.__doc__
    x = tf.constant(X)
    with tf.GradientTape() as tape, tf_activations.exact():
        tape.watch(x)
        y = tf_activations.gelu_tanh(x)
    c = np.sqrt(2.0 / np.pi)
    u = c * (X + 0.044715 * X ** 3)
    slope = 0.5 * (1 + np.tanh(u)) + 0.5 * X / np.cosh(u) ** 2 * c * (1 + 3 * 0.044715 * X ** 2)
    np.testing.assert_allclose(np.asarray(tape.gradient(y, x)), slope, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(tf_activations.derivative("gelu_tanh", x)), slope, rtol=1e-12, atol=1e-15)
    assert keras.activations.serialize(tf_activations.gelu_tanh)["config"] == "tf_activations>gelu_tanh"
    with pytest.raises(TypeError, match="gelu_tanh"):
        tf_activations.gelu_tanh(x, approximate=False)


def test_an_unknown_name_is_refused_everywhere_with_the_same_message(capsys):
    with pytest.raises(ValueError) as from_get:
        tf_activations.get("hard_sillu")
    message = str(from_get.value)
    assert "'hard_sillu'" in message and "hard_silu" in message  # the suggestion
    for refuse in (lambda: tf_activations.info("hard_sillu"), lambda: layers.get("hard_sillu")):
        with pytest.raises(ValueError) as err:
            refuse()
        assert str(err.value) == message
    assert cli.main(["info", "hard_sillu"]) == 2
    assert message in capsys.readouterr().err


def _expected_signature(spec):
    """The signature the issue asks for, spelt out from the declaration's parameters."""
    own = [p for p in spec.params if p.name != "training"]
    parts = [f"{p.name}={p.default!r}" for p in own]
    learnable = [p.name for p in own if p.differentiable]
    if learnable:
        parts += ["*"] + [f"trainable_{n}=False" for n in learnable] + ["per_channel=False"]
    return "(" + ", ".join(parts + ["**kwargs"]) + ")"


@pytest.mark.parametrize("name", sorted(set(SPECS) - {"prelu"}))
def test_every_layer_signature_and_docstring_come_from_its_declaration(name):
    cls, spec = layers.LAYERS[name], SPECS[name]
    assert str(inspect.signature(cls)) == _expected_signature(spec)
    for p in spec.params:
        if p.name != "training":
            assert f"{p.name}: {p.doc}" in cls.__doc__
            if p.differentiable:
                assert f"trainable_{p.name}:" in cls.__doc__ and "per_channel:" in cls.__doc__
    assert spec.reference in cls.__doc__


def test_the_signatures_users_read():
    assert str(inspect.signature(layers.Swish)) == "(beta=1.0, *, trainable_beta=False, per_channel=False, **kwargs)"
    assert str(inspect.signature(layers.GELU)) == "(approximate=False, **kwargs)"
    assert str(inspect.signature(layers.Maxout)) == "(num_units=None, axis=-1, **kwargs)"
    assert str(inspect.signature(layers.Mish)) == "(**kwargs)"
    assert str(inspect.signature(layers.PReLU)) == ("(alpha_initializer=None, alpha_regularizer=None, "
                                                    "alpha_constraint=None, shared_axes=None, **kwargs)")


def test_parameters_may_be_positional_as_in_keras_layers():
    x = tf.constant(X)
    np.testing.assert_allclose(np.asarray(layers.GELU(True)(x)), _gelu_tanh(X), rtol=2e-6, atol=3e-7)
    swish = layers.Swish(2.0)
    np.testing.assert_allclose(np.asarray(swish(x)), X / (1 + np.exp(-2.0 * X)), rtol=2e-6, atol=1e-7)
    assert layers.Swish.from_config(swish.get_config()).beta == 2.0


def test_arguments_a_layer_does_not_take_are_errors():
    with pytest.raises(ValueError, match="per_channel"):
        layers.GELU(per_channel=True)  # nothing to make per channel
    with pytest.raises(ValueError, match="trainable_beta=True"):
        layers.Swish(per_channel=True)  # per channel of what: beta is not learned
    with pytest.raises(ValueError, match="aproximate"):
        layers.GELU(aproximate=True)
    with pytest.raises(TypeError, match="multiple values"):
        layers.Swish(1.0, beta=2.0)
    with pytest.raises(TypeError, match="alpha_initializer"):
        layers.PReLU(alpha=0.1)  # was ignored: the weight starts at 0.25


def test_the_layers_module_exports_layers_only():
    exported = [getattr(layers, n) for n in layers.__all__ if n != "get"]
    assert all(isinstance(c, type) and issubclass(c, keras.layers.Layer) for c in exported)
    assert {"AtLeast", "ActivationLayer", "SPECS", "LAYERS", "FUNCTIONS"}.isdisjoint(layers.__all__)
    assert {c.__name__ for c in layers.LAYERS.values()} | {"TLU"} == set(layers.__all__) - {"get"}
