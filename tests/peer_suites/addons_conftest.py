import random
import numpy as np
import pytest
import tensorflow as tf
import keras
from tensorflow_addons import options


@pytest.fixture(params=["eager_mode", "tf_function"])
def maybe_run_functions_eagerly(request):
    tf.config.run_functions_eagerly(request.param == "eager_mode")
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture
def only_run_functions_eagerly():
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


@pytest.fixture(params=["custom_ops", "py_ops"])
def run_custom_and_py_ops(request):
    yield


@pytest.fixture(params=["float32", "mixed_float16"])
def run_with_mixed_precision_policy(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield
    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(autouse=True)
def set_seeds():
    random.seed(0); np.random.seed(0); tf.random.set_seed(0)
