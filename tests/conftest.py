"""Shared fixtures for the Keras-integration tests: repo path, fresh-process runner, state reset."""

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import tensorflow as tf

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def major_minor(module) -> tuple:
    """(2, 16) for a module whose __version__ is "2.16.2"."""
    return tuple(int(v) for v in module.__version__.split(".")[:2])


def _tf_can_build_kernels() -> bool:
    from tf_activations.native.builder import KERNELS_MIN_TF

    return major_minor(tf) >= KERNELS_MIN_TF


def tf_keras_supported() -> bool:
    """tf_keras is installed and new enough for tf_activations.legacy_keras to register there
    (its MIN_TF_KERAS; importing that module here would register with tf_keras in this process)."""
    try:
        import tf_keras
    except ImportError:
        return False
    return major_minor(tf_keras) >= (2, 21)


# Tests that compile the kernels: on a TensorFlow too old to build them (the floor, TF 2.16)
# `build` refuses up front, which tests/test_builder.py checks on its own.
needs_kernel_build = pytest.mark.skipif(not _tf_can_build_kernels(),
                                        reason="this TensorFlow is older than the kernels need")

# TF 2.16's converter aborts the process (missing attribute 'value' on ReadVariableOp) on any
# Keras 3 model with a Dense layer, plain Keras' own included (seen with TF 2.16.2 + Keras 3.10).
TFLITE_CONVERTS_KERAS_3 = major_minor(tf) >= (2, 17)

# Peer suites' shim (a test_utils.py among them) is run by tests/test_peer_suites.py, not collected.
collect_ignore = ["peer_suites"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than ~5 s (still runs in CI)")


def run_python(code: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs ``code`` in a fresh ``python -c`` (cwd = repo root, ``env`` added to this process'
    environment); fails the test on non-zero exit."""
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode:
        pytest.fail(f"fresh subprocess exited with {proc.returncode}\n--- stdout:\n{proc.stdout[-4000:]}"
                    f"\n--- stderr:\n{proc.stderr[-8000:]}", pytrace=False)
    return proc


@pytest.fixture(autouse=True)
def _restore_global_state():
    """Every test starts and ends with the float32 policy and tf_activations owning the strings."""
    import keras
    import tf_activations

    yield
    keras.config.set_dtype_policy("float32")
    tf_activations.use_tf_activations()
