"""Test shim: TF Addons' ``layer_test`` (written for Keras 2's internals), the parts that matter
here, on Keras 3. The rest of TF Addons' test helpers come unchanged from its checkout."""
import keras
import numpy as np


def layer_test(layer_cls, kwargs=None, input_shape=None, input_dtype=None, input_data=None,
               expected_output=None, expected_output_dtype=None, **_):
    """Keras 2's layer_test, the parts that matter here: call, dtype, functional model, config round trip."""
    kwargs = dict(kwargs or {})
    if input_data is None:
        shape = [2 if d is None else d for d in input_shape]
        input_data = (10 * np.random.random(shape)).astype(input_dtype or "float32")
    else:
        input_shape = input_data.shape
    input_dtype = input_dtype or input_data.dtype
    layer = layer_cls(**kwargs)
    out = np.asarray(layer(input_data))
    if expected_output_dtype is not None:
        assert out.dtype == np.dtype(expected_output_dtype), (out.dtype, expected_output_dtype)
    if expected_output is not None:
        np.testing.assert_allclose(out, expected_output, rtol=1e-3, atol=1e-6)  # as its numeric_test
    inputs = keras.Input(shape=tuple(input_shape)[1:], dtype=input_dtype)
    model = keras.Model(inputs, layer_cls(**kwargs)(inputs))
    clone = layer_cls.from_config(layer.get_config())
    clone.build(input_data.shape)
    if layer.weights:
        clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(np.asarray(clone(input_data)), out, rtol=1e-6, atol=1e-6)
    keras.Model.from_config(model.get_config())  # the functional config rebuilds
    return out
