"""The layers follow Keras 3's conventions for activation layers (issue 9, part 2).

Keras' own activation layer tests (keras/src/layers/activations/*_test.py)
check, through ``run_layer_test``: built state after construction, a
``compute_output_shape`` that matches the call, the config round trip,
``supports_masking``, training and mixed precision. Values here are checked
against NumPy formulas written in this file.
"""

import keras
import numpy as np

import tf_activations

# -- get(None) --------------------------------------------------------------------------------

def test_get_none_is_linear_like_keras():
    assert tf_activations.get(None) is tf_activations.linear
    assert keras.activations.get(None).__name__ == tf_activations.get(None).__name__ == "linear"
    x = np.array([-2.5, 0.0, 3.0], np.float32)
    np.testing.assert_array_equal(tf_activations.get(None)(x).numpy(), x)
