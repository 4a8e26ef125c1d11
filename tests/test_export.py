""".keras save/load in fresh processes, SavedModel export and TFLite (tf.distribute: test_distributed.py).

Fresh processes (conftest.run_python) load what this process saved; the comparison is
always against this process's original model or a float64 NumPy evaluation.
"""

import json
import math
import re

import keras
import numpy as np
import pytest
import scipy.special as sp
import tensorflow as tf

import tf_activations as ta
import conftest
from conftest import run_python
from tf_activations._registry import SPECS
from tf_activations.layers import LAYERS

TFLITE_CONVERTS_KERAS_3 = pytest.mark.skipif(
    not conftest.TFLITE_CONVERTS_KERAS_3,
    reason="this TensorFlow's TFLite converter cannot convert a Keras 3 Dense model")

BUILTIN = sorted([n for n, s in SPECS.items() if s.keras_builtin] + ["hard_silu"])


def _data(shape, seed):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


def _dense_model(activation, units=6, in_shape=(5,)):
    inp = keras.Input(in_shape)
    return keras.Model(inp, keras.layers.Dense(units, activation=activation)(inp))


def _layer_model(layer, in_shape=(5,), units=6):
    inp = keras.Input(in_shape)
    return keras.Model(inp, layer(keras.layers.Dense(units)(inp)))


def _trained(model, param_check):
    x, t = _data((32,) + model.input_shape[1:], 21), _data((32,) + model.output_shape[1:], 22)
    model.compile(optimizer=keras.optimizers.SGD(0.2), loss="mse")
    model.fit(x, t, batch_size=8, epochs=2, shuffle=False, verbose=0)
    param_check(model)
    return model


def _weight(model, name):
    return next(w.numpy() for w in model.weights if w.path.endswith(name))


def _moved(name, initial):
    def check(model):
        value = _weight(model, name)
        assert np.all(np.abs(value - initial) > 1e-4), f"{name} did not train: {value}"
    return check


WITH_PACKAGE = {
    "str-snake": lambda: _dense_model("snake"),
    "str-lisht": lambda: _dense_model("lisht"),
    "str-gelu": lambda: _dense_model("gelu"),
    "str-mish": lambda: _dense_model("mish"),
    "str-swish": lambda: _dense_model("swish"),
    "str-hard_silu": lambda: _dense_model("hard_silu"),
    "str-maxout": lambda: _dense_model("maxout"),
    "str-sparsemax": lambda: _dense_model("sparsemax"),
    "str-threshold": lambda: _dense_model("threshold"),
    "GELU(approximate=True)": lambda: _layer_model(LAYERS["gelu"](approximate=True)),
    "LeakyReLU(negative_slope=0.07)": lambda: _layer_model(LAYERS["leaky_relu"](negative_slope=0.07)),
    "ELU(alpha=0.5)": lambda: _layer_model(LAYERS["elu"](alpha=0.5)),
    "Softmax(axis=1)": lambda: _layer_model(LAYERS["softmax"](axis=1), in_shape=(3, 4), units=4),
    "Maxout(num_units=2)": lambda: _layer_model(LAYERS["maxout"](num_units=2)),
    "Swish(trainable_beta)-trained": lambda: _trained(
        _layer_model(LAYERS["swish"](trainable_beta=True)), _moved("beta", 1.0)),
    "PReLU(shared_axes=[1])-trained": lambda: _trained(
        _layer_model(LAYERS["prelu"](shared_axes=[1]), in_shape=(3, 4), units=4), _moved("alpha", 0.25)),
    "Snake(trainable_frequency,per_channel)-trained": lambda: _trained(
        _layer_model(LAYERS["snake"](trainable_frequency=True, per_channel=True)), _moved("frequency", 1.0)),
}

LOAD_SCRIPT = """
import json, sys
import numpy as np
{imports}
import keras
manifest = json.load(open({manifest!r}))
outputs = {{}}
errors = {{}}
for case, (path, xpath) in manifest.items():
    try:
        model = keras.models.load_model(path)
        outputs[case] = np.asarray(model(np.load(xpath), training=False))
    except Exception as err:
        errors[case] = f"{{type(err).__name__}}: {{err}}"
np.savez({out!r}, **{{f"c{{i}}": outputs[c] for i, c in enumerate(manifest) if c in outputs}})
json.dump(errors, open({out!r} + ".errors.json", "w"))
print("LOADED_TF_ACTIVATIONS", "tf_activations" in sys.modules)
"""


def _save_and_reload(tmp_path, builders, with_package):
    manifest, originals = {}, {}
    for i, (case, build) in enumerate(builders.items()):
        keras.utils.set_random_seed(i)
        model = build()
        x = _data((4,) + model.input_shape[1:], 30 + i) * 2
        originals[case] = np.asarray(model(x, training=False))
        path, xpath = tmp_path / f"m{i}.keras", tmp_path / f"x{i}.npy"
        model.save(path)
        np.save(xpath, x)
        manifest[case] = (str(path), str(xpath))
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out.npz"
    proc = run_python(LOAD_SCRIPT.format(imports="import tf_activations" if with_package else "",
                                         manifest=str(tmp_path / "manifest.json"), out=str(out)))
    assert f"LOADED_TF_ACTIVATIONS {with_package}" in proc.stdout, proc.stdout
    loaded = np.load(out)
    errors = json.loads((tmp_path / "out.npz.errors.json").read_text())
    return originals, {case: loaded[f"c{i}"] if case not in errors else errors[case]
                       for i, case in enumerate(manifest)}


def _check_loaded(loaded, case):
    if isinstance(loaded[case], str):
        pytest.fail(f"{case}: loading/calling in the fresh process failed: {loaded[case][:800]}", pytrace=False)
    return loaded[case]


@pytest.fixture(scope="module")
def reloaded_with_package(tmp_path_factory):
    return _save_and_reload(tmp_path_factory.mktemp("with_pkg"), WITH_PACKAGE, True)


@pytest.fixture(scope="module")
def reloaded_plain_keras(tmp_path_factory):
    builders = {name: (lambda name=name: _dense_model(name)) for name in BUILTIN}
    return _save_and_reload(tmp_path_factory.mktemp("plain"), builders, False)


@pytest.mark.slow
@pytest.mark.parametrize("case", list(WITH_PACKAGE))
def test_keras_file_reloads_identically_in_fresh_process(reloaded_with_package, case):
    originals, loaded = reloaded_with_package
    np.testing.assert_array_equal(_check_loaded(loaded, case), originals[case])


# "sparsemax" and "threshold" are saved as "tf_activations>sparsemax"/"...>threshold"
# (keras_strings.SAVED_UNDER_PACKAGE): Keras 3.15's own sparsemax is wrong (some rows come
# out all zeros, summing to 0; ours matches a NumPy sort-based reference in
# test_keras_integration.py) and its threshold() has required arguments, so a file saved
# under the plain name would load in plain Keras and predict other numbers, or fail at
# predict. Plain Keras now refuses such a file at load, naming the package.
SAVED_UNDER_PACKAGE = ("sparsemax", "threshold")  # spelt out: the declarations must say so too


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BUILTIN if n not in SAVED_UNDER_PACKAGE])
def test_builtin_name_model_loads_in_plain_keras(reloaded_plain_keras, name):
    originals, loaded = reloaded_plain_keras
    np.testing.assert_allclose(_check_loaded(loaded, name), originals[name], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("name", SAVED_UNDER_PACKAGE)
def test_names_saved_under_the_package_are_refused_by_plain_keras(reloaded_plain_keras, name):
    _, loaded = reloaded_plain_keras
    assert isinstance(loaded[name], str) and f"tf_activations>{name}" in loaded[name], loaded[name]


# --- 5. SavedModel export, reload without the package, gradients, TFLite --------------------

BETA, FREQ = 1.3, np.array([0.5, 0.8, 1.2, 2.0])


def _export_model():
    keras.utils.set_random_seed(5)
    inp = keras.Input((6,))
    h = keras.layers.Dense(6, activation="gelu")(inp)
    h = keras.layers.Dense(6, activation="lisht")(h)
    swish = LAYERS["swish"](trainable_beta=True)
    h = keras.layers.Dense(4)(swish(h))
    snake = LAYERS["snake"](trainable_frequency=True, per_channel=True)
    model = keras.Model(inp, snake(h))
    swish.weights[0].assign(BETA)
    snake.weights[0].assign(FREQ)
    return model


def _numpy_forward(model, x):
    w = [v.astype(np.float64) for v in model.get_weights()]
    w1, b1, w2, b2, beta, w3, b3, freq = w
    z = x @ w1 + b1
    h = 0.5 * z * sp.erfc(-z / math.sqrt(2))
    z = h @ w2 + b2
    h = z * np.tanh(z)
    h = h * sp.expit(beta * h)
    z = h @ w3 + b3
    return z + np.sin(freq * z) ** 2 / freq


COTANGENT = np.array([1.0, -0.5, 0.25, 2.0])


def _numpy_input_gradient(model, x):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        for sign in (1, -1):
            xs = x.copy()
            xs[i] += sign * 1e-6
            g[i] += sign * (_numpy_forward(model, xs) @ COTANGENT).sum() / 2e-6
    return g


RELOAD_SCRIPT = """
import sys
import numpy as np, tensorflow as tf
x = tf.constant(np.load({x!r}))
out = {{}}
for key, path, endpoint in [("export", {export!r}, "serve"), ("saved_model", {saved!r}, "serve")]:
    loaded = tf.saved_model.load(path)
    for kind, fn in [("endpoint", getattr(loaded, endpoint)),
                     ("signature", loaded.signatures["serving_default"])]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
            y = y if tf.is_tensor(y) else next(iter(y.values()))
            loss = tf.reduce_sum(y * tf.constant({cot!r}, tf.float32))
        grad = tape.gradient(loss, x)
        assert grad is not None, (key, kind, "no gradient through the reloaded function")
        out[f"{{key}}_{{kind}}_y"] = y.numpy()
        out[f"{{key}}_{{kind}}_g"] = grad.numpy()
np.savez({out!r}, **out)
assert "tf_activations" not in sys.modules
print("OK")
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    model = _export_model()
    x = _data((5, 6), 40) * 1.5
    np.save(tmp / "x.npy", x)
    model.export(str(tmp / "export"), verbose=False)

    module = tf.Module()
    module.model = model
    module.serve = tf.function(lambda t: model(t, training=False),
                               input_signature=[tf.TensorSpec([None, 6], tf.float32)])
    tf.saved_model.save(module, str(tmp / "saved_model"), signatures={"serving_default": module.serve})
    return {"model": model, "x": x, "tmp": tmp}


def test_export_model_matches_numpy(exported):
    model, x = exported["model"], exported["x"]
    np.testing.assert_allclose(np.asarray(model(x)), _numpy_forward(model, x.astype(np.float64)),
                               rtol=2e-5, atol=2e-6)


@pytest.fixture(scope="module")
def reloaded_export(exported):
    tmp = exported["tmp"]
    run_python(RELOAD_SCRIPT.format(x=str(tmp / "x.npy"), export=str(tmp / "export"),
                                    saved=str(tmp / "saved_model"), cot=COTANGENT.tolist(),
                                    out=str(tmp / "reloaded.npz")))
    return np.load(tmp / "reloaded.npz")


KINDS = ["export_endpoint", "export_signature", "saved_model_endpoint", "saved_model_signature"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_saved_model_reloads_without_package(exported, reloaded_export, kind):
    model, x = exported["model"], exported["x"]
    # The live model may run a float-math kernel (lisht: within 4 ulp) where the SavedModel runs
    # the float32 composite (within 5.3 ulp): the two may differ by ~9 ulp before the next layer.
    np.testing.assert_allclose(reloaded_export[f"{kind}_y"], np.asarray(model(x)), rtol=5e-6, atol=1e-7)
    grad = reloaded_export[f"{kind}_g"]
    assert np.all(np.isfinite(grad))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(model(xt) * tf.constant(COTANGENT, tf.float32))
    np.testing.assert_allclose(grad, tape.gradient(loss, xt).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad, _numpy_input_gradient(model, x.astype(np.float64)), rtol=1e-4, atol=1e-5)


def _tflite_run(content, x):
    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    if list(inp["shape"]) != list(x.shape):
        interpreter.resize_tensor_input(inp["index"], x.shape)
        interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def _rejected(err):
    text = str(err)
    flex = re.findall(r"TF Select ops: ([^\n]*)", text)
    custom = re.findall(r"Custom ops: ([^\n]*)", text)
    f64 = sorted(set(re.findall(r"tf\.(\w+)\([^\n]*f64", text)))
    return (f"flex (Select TF) ops: {flex or '-'}; custom (not even Select) ops: {custom or '-'}; "
            f"ops on f64 tensors: {f64 or '-'}")


def _convert(make_converter):
    """Builtins first; then builtins + SELECT_TF_OPS. Returns (content, log of rejections)."""
    log = []
    for select in (False, True):
        converter = make_converter()
        if select:
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS,
                                                   tf.lite.OpsSet.SELECT_TF_OPS]
        try:
            return converter.convert(), select, log
        except Exception as err:  # ConverterError
            log.append(f"{'builtins+select' if select else 'builtins'} rejected: {_rejected(err)}")
    return None, None, log


@TFLITE_CONVERTS_KERAS_3
@pytest.mark.slow
def test_tflite_from_saved_model(exported):
    """model.export() with the package's defaults converts with TFLite builtin ops only."""
    model, x = exported["model"], exported["x"]
    path = str(exported["tmp"] / "export_for_tflite")
    model.export(path, verbose=False)
    content, select, log = _convert(lambda: tf.lite.TFLiteConverter.from_saved_model(path))
    assert not select, "needed SELECT_TF_OPS: " + " | ".join(log)
    if content is None:
        pytest.fail("TFLite conversion failed:\n" + "\n".join(log), pytrace=False)
    np.testing.assert_allclose(_tflite_run(content, x), np.asarray(model(x)), rtol=1e-5, atol=1e-6)


def _activation_model(activation):
    inp = keras.Input((8,))
    hidden = keras.layers.Dense(8, kernel_initializer=keras.initializers.RandomNormal(stddev=1.5, seed=3),
                                bias_initializer="ones")(inp)
    return keras.Model(inp, activation(hidden))


def _tflite_atol(name, model, x):
    """1e-6, times the largest value half |a| for geglu: TFLite's GELU op (float32 1 + erf) is up to
    6.4e-7 off in absolute terms, as TF's own is (Keras' gelu model has the same), and geglu
    multiplies that by a (|a| reaches 200 here)."""
    if name != "geglu":
        return 1e-6
    hidden = np.asarray(keras.Model(model.inputs, model.layers[-2].output)(x))
    a = np.split(hidden, 2, axis=-1)[0]
    return 1e-6 * max(1.0, float(np.abs(a).max()))


def _tflite_ops(content):
    interpreter = tf.lite.Interpreter(model_content=content)
    interpreter.allocate_tensors()
    return sorted({op["op_name"] for op in interpreter._get_ops_details()} - {"DELEGATE"})


def _convert_default(model, name):
    """TFLiteConverter.from_keras_model(model).convert() exactly as a user calls it."""
    try:
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()
    except Exception as err:  # ConverterError
        pytest.fail(f"{name}: default TFLite conversion failed: {_rejected(err)}", pytrace=False)


@TFLITE_CONVERTS_KERAS_3
@pytest.mark.slow
@pytest.mark.parametrize("name", ta.available())
def test_tflite_every_string_converts_like_keras(name):
    """Default settings, builtin ops only; for a name Keras has, the same ops Keras' own model gives."""
    x = np.linspace(-4, 4, 32, dtype=np.float32).reshape(4, 8)
    model = _activation_model(keras.layers.Activation(name))
    content = _convert_default(model, name)
    # TFLite's float32 kernels round differently; Keras' squareplus cancels for x < 0 (1e-4 relative)
    np.testing.assert_allclose(_tflite_run(content, x), np.asarray(model(x)), rtol=2e-4, atol=_tflite_atol(name, model, x))
    # sparsemax is ours on purpose (Keras 3.15's is wrong); plain Keras' "threshold" string
    # cannot run (its function has no defaults): nothing of Keras' to compare with
    if not SPECS[name].keras_builtin or name in ("sparsemax", "threshold"):
        return
    ta.use_keras_builtins()
    try:
        plain = _activation_model(keras.layers.Activation(name))
        plain.set_weights(model.get_weights())
        plain_content = _convert_default(plain, name)
    finally:
        ta.use_tf_activations()
    assert _tflite_ops(content) == _tflite_ops(plain_content)
    np.testing.assert_array_equal(_tflite_run(content, x), _tflite_run(plain_content, x))


@TFLITE_CONVERTS_KERAS_3
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_tflite_every_layer_converts_with_builtins(name):
    x = np.linspace(-4, 4, 32, dtype=np.float32).reshape(4, 8)
    layer = LAYERS[name](num_units=4) if name == "Maxout" else LAYERS[name]()
    model = _activation_model(layer)
    content = _convert_default(model, name)
    np.testing.assert_allclose(_tflite_run(content, x), np.asarray(model(x)), rtol=2e-4, atol=_tflite_atol(name, model, x))
