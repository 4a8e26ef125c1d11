"""ActivationMonitor on tiny models: dead ReLUs, saturated sigmoids, gradient norms."""

import math

import keras
import numpy as np
import pytest

import tf_activations
from tf_activations.diagnostics import ActivationMonitor, find_sites


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(128, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    return x, y


def _fit(model, x, y, **kwargs):
    keras.utils.set_random_seed(0)
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    monitor = ActivationMonitor(x, y, **kwargs)
    model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[monitor])
    return monitor


def test_dead_relu_saturated_sigmoid_and_gradients(data):
    x, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((4,)),
        keras.layers.Dense(16, activation="sigmoid", kernel_initializer=keras.initializers.Constant(1000.0),
                           name="hot_sigmoid"),
        keras.layers.Dense(16, activation="mish", name="mish_dense"),
        keras.layers.Dense(16, activation="relu", bias_initializer=keras.initializers.Constant(-1000.0),
                           name="dead_relu"),
        keras.layers.Dense(8, name="plain"),
        tf_activations.layers.GELU(name="gelu_layer"),
        keras.layers.Dense(2, name="logits"),
    ])
    monitor = _fit(model, x, y)
    assert monitor.epochs == [0, 1, 2]
    assert set(monitor.history) == {"hot_sigmoid", "mish_dense", "dead_relu", "gelu_layer"}
    assert monitor.activations["gelu_layer"] == "gelu"
    dead = monitor.history["dead_relu"]
    assert all(v == pytest.approx(1.0) for v in dead["dead"])
    assert dead["mean"][-1] == 0.0
    sig = monitor.history["hot_sigmoid"]
    assert sig["saturated"][-1] > 0.95
    mish = monitor.history["mish_dense"]
    assert mish["dead"][-1] == 0.0 and mish["std"][-1] > 0
    # the layer after the dead one receives a gradient; the dead layer passes none back
    assert all(v > 0 for v in monitor.history["gelu_layer"]["grad_norm"])
    assert monitor.history["dead_relu"]["grad_norm"][-1] == 0.0
    assert monitor.history["hot_sigmoid"]["grad_norm"][-1] == 0.0
    assert {r["layer"] for r in monitor.records} == set(monitor.history)
    fig = monitor.plot()
    assert len(fig.axes) == 5


def test_healthy_network_gradient_norms_positive_and_eager_matches_graph(data):
    x, y = data
    def make():
        keras.utils.set_random_seed(1)
        inputs = keras.Input((4,))
        h = keras.layers.Dense(8, activation="tanh", name="tanh_dense")(inputs)
        h = tf_activations.layers.PReLU(name="prelu")(keras.layers.Dense(8, name="plain")(h))
        h = keras.layers.Activation("swish", name="swish")(h)
        return keras.Model(inputs, keras.layers.Dense(2, name="logits")(h))

    graph = _fit(make(), x, y)
    eager = _fit(make(), x, y, compiled=False)
    assert len(graph.history) == 3
    for name, row in graph.history.items():
        assert all(v > 0 for v in row["grad_norm"]), name
        for metric, values in row.items():
            np.testing.assert_allclose(values, eager.history[name][metric], rtol=1e-5, atol=1e-7)


def test_conv_sites_softmax_and_no_labels():
    rng = np.random.RandomState(0)
    x = rng.normal(size=(16, 6, 6, 2)).astype("float32")
    inputs = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    out = keras.layers.Dense(3, activation="softmax", name="probs")(keras.layers.Flatten()(h))
    model = keras.Model(inputs, out)
    assert [s[0].name for s in find_sites(model)] == ["conv", "probs"]
    monitor = ActivationMonitor(x)
    monitor.set_model(model)
    result = monitor.measure(0)
    assert 0.0 <= result["conv"]["dead"] <= 1.0 and 0.0 < result["conv"]["saturated"] < 1.0
    assert math.isnan(result["probs"]["saturated"])
    assert math.isnan(result["conv"]["grad_norm"])
    assert result["probs"]["mean"] == pytest.approx(1 / 3, rel=1e-5)
    # the model is left as it was
    assert model.get_layer("conv").activation.__name__ == "relu"
