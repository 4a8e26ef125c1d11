"""The precision policy: Keras' own function by default, exactness on request.

Default mode: for every name Keras 3 has, on the pure path, ours returns
exactly what Keras' function returns (values and gradients, every float
dtype), traces no float64 op, and picks a C++ kernel only where one is
measured faster; exact mode runs the float64 composites. Devices: no kernel
is dispatched where the op would not run on a CPU (a GPU is simulated by
patching the device query). Other Keras backends: Keras' table is left alone.
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

import tf_activations as ta
from conftest import REPO
from tf_activations import native
from tf_activations._registry import KERAS_FUNCTIONS, SPECS

ARGS = {"threshold": {"threshold": 0.5, "default_value": -1.0}, "leaky_relu": {"negative_slope": 0.3},
        "elu": {"alpha": 0.5}, "celu": {"alpha": 2.0}, "gelu": {"approximate": True},
        "relu": {"negative_slope": 0.1, "max_value": 3.0, "threshold": 0.5}}
KERAS_DEFAULT = sorted(n for n in KERAS_FUNCTIONS if SPECS[n].keras_is_default)


def _value_and_grad(fn, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y.numpy(), tape.gradient(y, x).numpy()


def _graph_ops(fn, x):
    return tf.function(fn).get_concrete_function(x).graph.get_operations()


def _has_float64(ops):
    return any(t.dtype == tf.float64 for op in ops for t in op.outputs)


def test_every_keras_name_has_its_keras_function():
    assert set(KERAS_FUNCTIONS) == {n for n, s in SPECS.items() if s.keras_builtin}
    assert KERAS_DEFAULT == sorted(set(KERAS_FUNCTIONS) - {"sparsemax"})


CALLS = ([(n, {"threshold": 0.0, "default_value": 0.0} if n == "threshold" else {}) for n in KERAS_DEFAULT]
         + sorted(ARGS.items()))


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16, tf.float32, tf.float64], ids=lambda d: d.name)
@pytest.mark.parametrize("name, params", CALLS, ids=[n + "".join(f"-{k}={v}" for k, v in p.items()) for n, p in CALLS])
def test_default_pure_path_is_exactly_keras(name, params, dtype):
    x = tf.cast(tf.constant(np.concatenate([np.linspace(-12, 12, 96), [-1e30, 1e30, 0.0, 3.0, -3.0, 1e-3,
                                                                      -1e-3, 6.0, 7.0, 0.5, -0.5, 2.0]])
                            .reshape(9, 12)), dtype)
    with native.disabled():
        ours = _value_and_grad(lambda t: ta.get(name)(t, **params), x)
    theirs = _value_and_grad(lambda t: KERAS_FUNCTIONS[name](t, **params), x)
    for a, b in zip(ours, theirs):  # float64 copies: NumPy's bfloat16 NaN never equals itself
        np.testing.assert_array_equal(a.astype(np.float64), b.astype(np.float64))


@pytest.mark.parametrize("name", sorted(SPECS))
def test_default_graph_has_no_float64_op(name):
    """What runs on a GPU/TPU or exports to TFLite: float32 math for float32 input."""
    x = tf.TensorSpec([4, 6], tf.float32)
    with native.disabled():
        assert not _has_float64(_graph_ops(ta.get(name), x)), name
    with ta.exact():
        exact_ops = _graph_ops(ta.get(name), x)
    if SPECS[name].float64_forward and SPECS[name].derivative is not None and not SPECS[name].tf_op:
        assert _has_float64(exact_ops), f"{name}: exact mode should evaluate float32 in float64"


def test_mode_switches():
    assert not ta.is_exact()
    with ta.exact():
        assert ta.is_exact()
        with ta.exact(False):
            assert not ta.is_exact()
        assert ta.is_exact()
    ta.set_exact(True)
    try:
        assert ta.is_exact()
        with ta.exact(False):
            assert not ta.is_exact()
    finally:
        ta.set_exact(False)
    assert not ta.is_exact()
    with pytest.raises(TypeError, match=r"set_exact\(\) expects enabled to be a bool; got 'yes'"):
        ta.set_exact("yes")
    with pytest.raises(TypeError, match=r"exact\(\) expects enabled to be a bool; got 1"):
        with ta.exact(1):
            pass


def test_exact_mode_is_more_accurate_where_keras_is_not():
    """The point of exact mode: gelu(-13.1) is a normal float32 that Keras' gelu flushes to 0."""
    import mpmath

    x = tf.constant([-10.0, -13.1, 1e-8], tf.float32)
    exact = np.array([float(v * mpmath.erfc(-v / mpmath.sqrt(2)) / 2)
                      for v in map(mpmath.mpf, x.numpy().astype(float).tolist())])
    with ta.exact(), native.disabled():
        np.testing.assert_allclose(ta.gelu(x).numpy(), exact, rtol=1e-6)
    keras_error = np.abs(KERAS_FUNCTIONS["gelu"](x).numpy() - exact) / np.abs(exact)
    assert keras_error[1] == 1.0  # Keras' value there is 0


def test_eager_fast_path_follows_every_way_of_asking_for_exact_mode():
    """f(x) in eager skips the per-thread lookups only while no override is open anywhere."""
    import threading

    x = tf.constant([-1e-7, -1.0], tf.float32)
    exact_softsign = x.numpy().astype(np.float64) / (1 + np.abs(x.numpy().astype(np.float64)))
    keras_value = KERAS_FUNCTIONS["selu"](tf.constant([-1e-10])).numpy()
    assert keras_value[0] == 0.0  # what the default (Keras' selu: exp(x) - 1 cancels) gives there

    def selu_near_0():
        return ta.selu(tf.constant([-1e-10])).numpy()[0]

    assert selu_near_0() == 0.0
    ta.set_exact(True)
    try:
        assert selu_near_0() != 0.0
        with ta.exact(False):
            assert selu_near_0() == 0.0
    finally:
        ta.set_exact(False)
    assert selu_near_0() == 0.0
    opened, release = threading.Event(), threading.Event()

    def other_thread():
        with ta.exact():
            opened.set()
            release.wait(10)

    worker = threading.Thread(target=other_thread)
    worker.start()
    opened.wait(10)
    try:
        assert selu_near_0() == 0.0  # another thread's exact() is not this thread's
        with ta.exact():
            assert selu_near_0() != 0.0
            np.testing.assert_allclose(ta.softsign(x).numpy(), exact_softsign, rtol=1e-7)
    finally:
        release.set()
        worker.join()
    assert selu_near_0() == 0.0


def test_environment_variable_sets_exact_mode():
    code = textwrap.dedent("""
        import tensorflow as tf, tf_activations as ta
        from tf_activations import native
        assert ta.is_exact()
        with native.disabled():
            ops = tf.function(ta.silu).get_concrete_function(tf.TensorSpec([3], tf.float32)).graph.get_operations()
        assert any(t.dtype == tf.float64 for op in ops for t in op.outputs)
        print("ok")
    """)
    env = dict(os.environ, TF_ACTIVATIONS_EXACT="1", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


# --- which kernels run in which mode ------------------------------------------------------------

needs_kernels = pytest.mark.skipif(not native.available(), reason="kernels not built (python -m tf_activations build)")


def _uses_kernel(fn, x):
    return any(op.type in ("TfaForward", "TfaGatedForward") for op in _graph_ops(fn, x))


@needs_kernels
def test_kernels_follow_the_mode():
    x = tf.TensorSpec([1024], tf.float32)
    # the first entry is the one a call at the defaults takes (gelu's exact form)
    first = {name: kernels[0] for name, kernels in native._KERNELS.items()}
    default = {name for name, k in first.items() if k.default}
    exact = {name for name, k in first.items() if k.exact}
    for name in sorted(first):
        assert _uses_kernel(ta.get(name), x) == (name in default), name
        with ta.exact():
            assert _uses_kernel(ta.get(name), x) == (name in exact), name
    # the faster-than-Keras ones, and the inexact (float-math) ones kept out of exact mode
    assert {"mish", "silu", "celu"} <= default and not {"sigmoid", "tanh", "softplus", "elu"} & default
    assert not {"sigmoid", "tanh", "silu", "selu"} & exact


@needs_kernels
def test_gated_kernel_for_reglu_only_in_both_modes():
    """reglu's kernel is its composite bit for bit, so both modes run it; swiglu and geglu have
    none (measured slower than XLA's plain formula)."""
    x = tf.TensorSpec([8, 6], tf.float32)
    for exact in (False, True):
        with ta.exact(exact):
            ops = {op.type for op in _graph_ops(ta.reglu, x)}
            assert "TfaGatedForward" in ops and not _has_float64(_graph_ops(ta.reglu, x))
            for name in ("swiglu", "geglu"):
                assert not any(op.type.startswith("Tfa") for op in _graph_ops(ta.get(name), x)), name


@needs_kernels
def test_softplus_kernel_only_for_beta_1_without_a_threshold():
    """The softplus kernel computes log(1 + exp(x)): with another beta or a threshold the
    composite runs (in exact mode, where the kernel is chosen), and Keras' function only
    where our parameters are its own (the default mode)."""
    x = tf.TensorSpec([1024], tf.float32)
    with ta.exact():
        assert _uses_kernel(ta.softplus, x)
        assert _uses_kernel(lambda t: ta.softplus(t, beta=1.0, threshold=None), x)
        assert not _uses_kernel(lambda t: ta.softplus(t, beta=2.0), x)
        assert not _uses_kernel(lambda t: ta.softplus(t, threshold=20.0), x)
    keras_softplus = KERAS_FUNCTIONS["softplus"]
    xt = tf.constant(np.linspace(-5.0, 30.0, 64, dtype=np.float32))
    np.testing.assert_array_equal(ta.softplus(xt, beta=1.0, threshold=None).numpy(), keras_softplus(xt).numpy())
    np.testing.assert_allclose(ta.softplus(xt, beta=2.0).numpy(), np.logaddexp(0.0, 2.0 * xt.numpy()) / 2, rtol=1e-6)


@needs_kernels
@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16, tf.float32, tf.float64], ids=lambda d: d.name)
def test_default_kernels_run_in_every_float_dtype(dtype):
    """Each default elementwise kernel is measured faster than Keras' function in float16 and
    bfloat16 too (`bench --kernels --dtype bfloat16,float16`): no dtype falls back to Keras'.
    The gated unit's kernel (reglu) is float32 and float64 only."""
    spec = tf.TensorSpec([1024], dtype)
    gated = set(native.gated_kernel_names())
    for name in sorted({name for name, k in native.kernel_table() if k.default}):
        if name in gated and dtype in (tf.float16, tf.bfloat16):
            continue
        assert _uses_kernel(ta.get(name), spec), name


@needs_kernels
def test_no_kernel_where_a_gpu_would_run_the_op(monkeypatch):
    """A visible accelerator: an unplaced graph op goes to it, so the composite (float32) runs there."""
    monkeypatch.setattr(native, "_accelerator_visible", lambda: True)
    spec = tf.TensorSpec([1024], tf.float32)
    for name in ("mish", "silu", "celu", "lisht"):
        ops = _graph_ops(ta.get(name), spec)
        assert not any(op.type.startswith("Tfa") for op in ops), name
        assert not _has_float64(ops), name

    def training(x):  # nor the saved-derivative forward of a training graph
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = ta.silu(x)
        return tape.gradient(y, x)

    assert not any(op.type.startswith("Tfa") for op in _graph_ops(training, spec))

    def pinned(x):
        with tf.device("/CPU:0"):
            x = tf.identity(x)
        return ta.mish(x)

    assert _uses_kernel(pinned, spec)  # pinned to a CPU: the kernel is right again


def test_device_rule_reads_the_tensors_device(monkeypatch):
    class Placed:
        def __init__(self, device):
            self.device = device

    monkeypatch.setattr(native, "_accelerator_visible", lambda: True)
    assert native._runs_on_cpu(Placed("/job:localhost/replica:0/task:0/device:CPU:0"))
    assert not native._runs_on_cpu(Placed("/job:localhost/replica:0/task:0/device:GPU:0"))
    assert not native._runs_on_cpu(Placed("/device:TPU:0"))
    assert not native._runs_on_cpu(Placed(""))
    monkeypatch.setattr(native, "_accelerator_visible", lambda: False)
    assert native._runs_on_cpu(Placed(""))


# --- other Keras backends -----------------------------------------------------------------------

@pytest.mark.slow
def test_jax_backend_keeps_keras_strings_and_fits():
    pytest.importorskip("jax")
    code = textwrap.dedent("""
        import warnings
        import numpy as np
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import keras
            import tf_activations
        said = [str(w.message) for w in caught if "tf_activations" in str(w.message)]
        assert len(said) == 1 and "'jax'" in said[0] and "TensorFlow backend" in said[0], said
        from keras.src import activations
        assert activations.get("mish") is activations.mish and not hasattr(activations.get("mish"), "spec")
        x = np.random.RandomState(0).randn(64, 4).astype("float32")
        y = (x.sum(1) > 0).astype("float32")
        for act in ("mish", "gelu", "silu"):
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation=act), keras.layers.Dense(1)])
            model.compile("sgd", "mse")
            history = model.fit(x, y, epochs=2, verbose=0)
            assert np.isfinite(history.history["loss"]).all()
        print("ok")
    """)
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]
