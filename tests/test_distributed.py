"""The import leaves TensorFlow unconfigured, and training under tf.distribute gives the weights
one device gives: MirroredStrategy over two logical CPUs, and MultiWorkerMirroredStrategy with
two real worker processes on localhost (Keras 3 custom loop; tf_keras ``fit``), a worker killed
and the cluster restarted from its checkpoint, and a fleet mixing kernels and the pure path.

Every case runs in fresh processes: a runtime started once cannot be configured again.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import REPO, run_python, tf_keras_supported

WORKER = os.path.join(os.path.dirname(__file__), "distributed_worker.py")
# Two workers each summing half of the same global batch round differently from one device
# summing all of it: float32 ulps over 12 momentum steps, 6e-8 at most measured here.
SAME_FLEET = {"rtol": 1e-5, "atol": 1e-6}
# One worker on the kernels, one on the pure path: the two forward paths differ by an ulp or
# two per activation, which training carries into the weights.
MIXED_FLEET = {"rtol": 1e-4, "atol": 1e-5}
TIMEOUT = 240

slow = pytest.mark.slow


# --- 1. import starts nothing ------------------------------------------------------------------

CONFIGURE_AFTER_IMPORT = """
import tensorflow as tf
from tensorflow.python.eager import context
import tf_activations as ta

assert context.context()._context_handle is None, "importing tf_activations started TensorFlow's runtime"
assert ta.native._accelerator_visible.cache_info().currsize == 0, "the device was queried at import"
print("KERNELS", ta.native.library_path() is not None)

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(2)
cpu = tf.config.list_physical_devices("CPU")
tf.config.set_visible_devices(cpu, "CPU")
tf.config.set_logical_device_configuration(
    cpu[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
gpus = tf.config.list_physical_devices("GPU")
for gpu in gpus:  # none on a CPU machine: the loop is a GPU script's first lines
    tf.config.experimental.set_memory_growth(gpu, True)
strategy = tf.distribute.MultiWorkerMirroredStrategy()

assert tf.config.threading.get_intra_op_parallelism_threads() == 1
assert tf.config.threading.get_inter_op_parallelism_threads() == 2
assert len(tf.config.list_logical_devices("CPU")) == 2
assert strategy.num_replicas_in_sync == 1
x = tf.constant([-3.0, -0.5, 0.0, 2.0])
y = strategy.run(tf.function(lambda v: ta.mish(v)), args=(x,))
print("MISH", y.numpy().tolist())
"""


@slow
@pytest.mark.parametrize("pure", ["0", "1"], ids=["kernels-if-built", "pure"])
def test_import_leaves_runtime_configurable(pure):
    """Thread counts, visible and logical devices, GPU memory growth and
    MultiWorkerMirroredStrategy() all work when set after ``import tf_activations``."""
    proc = run_python(CONFIGURE_AFTER_IMPORT, env={"TF_ACTIVATIONS_PURE": pure})
    if pure == "1":
        assert "KERNELS False" in proc.stdout
    got = json.loads(proc.stdout.split("MISH", 1)[1].strip())
    x = np.array([-3.0, -0.5, 0.0, 2.0])
    np.testing.assert_allclose(got, x * np.tanh(np.log1p(np.exp(x))), rtol=1e-6)


# --- 2. MirroredStrategy over two logical CPUs configured after the import ---------------------

MIRRORED = """
import numpy as np, tensorflow as tf, keras
import tf_activations as ta
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import sys
sys.path.insert(0, "tests")
from distributed_worker import build, data, GLOBAL_BATCH

x, y = data()

def train(strategy):
    with strategy.scope():
        model = build(keras, ta.layers)
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9), loss="mse")
    initial = model.get_weights()
    model.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
    return initial, model.get_weights()

one = train(tf.distribute.OneDeviceStrategy("/cpu:0"))
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert mirrored.num_replicas_in_sync == 2
two = train(mirrored)
np.savez({out!r}, *one[0], *one[1], *two[0], *two[1])
"""


@slow
def test_mirrored_two_cpus_configured_after_import_matches_one_device(tmp_path):
    out = tmp_path / "w.npz"
    run_python(MIRRORED.format(out=str(out)))
    w = list(np.load(out).values())
    n = len(w) // 4
    init1, one, init2, two = w[:n], w[n:2 * n], w[2 * n:3 * n], w[3 * n:]
    for i in range(n):
        np.testing.assert_array_equal(init1[i], init2[i])
        np.testing.assert_allclose(two[i], one[i], **SAME_FLEET, err_msg=f"weight {i}")
    assert min(np.abs(a - b).max() for a, b in zip(one, init1)) > 1e-4, "some weights did not train"


# --- 3. MultiWorkerMirroredStrategy: two worker processes on localhost -------------------------

def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _env(keras, extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("TF_CONFIG", None)
    env["TF_USE_LEGACY_KERAS"] = "1" if keras == "legacy" else "0"
    env.update(extra or {})
    return env


def _start(keras, out, log, args=(), env=None):
    cmd = [sys.executable, WORKER, "--keras", keras, "--out", str(out), *map(str, args)]
    return subprocess.Popen(cmd, cwd=REPO, env=_env(keras, env), stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)


def _wait(proc, log, timeout=TIMEOUT):
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"{proc.args} did not finish in {timeout} s\n{_tail(log)}", pytrace=False)
    return rc


def _tail(log):
    with open(log) as f:
        return f.read()[-6000:]


def _wait_for_line(log, line, proc, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log) as f:
            if any(l.strip() == line for l in f):
                return
        if proc.poll() is not None:
            pytest.fail(f"worker exited with {proc.returncode} before printing {line!r}\n{_tail(log)}",
                        pytrace=False)
        time.sleep(0.2)
    proc.kill()
    pytest.fail(f"worker did not print {line!r} in {timeout} s\n{_tail(log)}", pytrace=False)


def _weights(path):
    return list(np.load(path).values())


def _one_device(tmp_path, keras):
    """The reference: one process, one device, the same global batches."""
    out, log = tmp_path / "one.npz", tmp_path / "one.log"
    proc = _start(keras, out, log)
    assert _wait(proc, log) == 0, _tail(log)
    return _weights(out)


def _cluster(tmp_path, keras, tag, args=(), per_worker_env=({}, {}), die=None):
    """Starts two workers with a real TF_CONFIG on free localhost ports. With ``die`` = (worker,
    line): that worker kills itself after its checkpoint, the chief is killed once it printed
    ``line`` (the cluster manager restarting the job); returns None. Else both workers' weights."""
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs, logs, outs = [], [], []
    for i in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        out, log = tmp_path / f"{tag}-{i}.npz", tmp_path / f"{tag}-{i}.log"
        worker_args = list(args) + (["--die-after-save"] if die and die[0] == i else [])
        procs.append(_start(keras, out, log, worker_args, dict(per_worker_env[i], TF_CONFIG=tf_config)))
        logs.append(log)
        outs.append(out)
    try:
        if die:
            victim, line = die
            assert _wait(procs[victim], logs[victim]) == -signal.SIGKILL, _tail(logs[victim])
            _wait_for_line(logs[0], line, procs[0])
            procs[0].kill()
            procs[0].wait()
            return None
        for proc, log in zip(procs, logs):
            assert _wait(proc, log) == 0, f"worker exited with {proc.returncode}\n{_tail(log)}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for log in logs:
        with open(log) as f:
            assert "DONE" in f.read()
    first, second = _weights(outs[0]), _weights(outs[1])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)  # the replicas agree exactly
    return first


def _assert_same(got, want, tol):
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, **tol, err_msg=f"weight {i}")


@pytest.fixture(scope="module", params=["3", "legacy"], ids=["keras3-custom-loop", "tf_keras-fit"])
def keras_flavour(request, tmp_path_factory):
    """One-device weights and two-worker weights for each Keras, computed once per module."""
    if request.param == "legacy" and not tf_keras_supported():
        pytest.skip("tf_keras is not installed or older than tf_activations.legacy_keras supports")
    tmp = tmp_path_factory.mktemp(f"mwms-{request.param}")
    return request.param, tmp, _one_device(tmp, request.param), _cluster(tmp, request.param, "two")


@slow
def test_two_workers_match_one_device(keras_flavour):
    _, _, one, two = keras_flavour
    _assert_same(two, one, SAME_FLEET)


@slow
def test_worker_killed_cluster_restarted_resumes_to_the_same_weights(keras_flavour):
    keras, tmp, _, uninterrupted = keras_flavour
    ckpt = tmp / "checkpoint"
    # Keras 3: a checkpoint after step 5 of 12; tf_keras: BackupAndRestore after epoch 1 of 2.
    save_at, chief_line = (5, "SAVED 5") if keras == "3" else (1, "EPOCH 1")
    args = ["--checkpoint", ckpt, "--save-at", save_at]
    assert _cluster(tmp, keras, "killed", args, die=(1, chief_line)) is None
    resumed = _cluster(tmp, keras, "resumed", args)
    with open(tmp / "resumed-0.log") as f:
        log = f.read()
    if keras == "3":
        assert "RESTORED 5" in log, log
    else:
        assert "EPOCH 0" not in log and "EPOCH 1" in log, log  # epoch 0 was not run again
    _assert_same(resumed, uninterrupted, SAME_FLEET)


@slow
def test_mixed_fleet_kernels_and_pure_path(tmp_path):
    one = _one_device(tmp_path, "3")
    mixed = _cluster(tmp_path, "3", "mixed", per_worker_env=({}, {"TF_ACTIVATIONS_PURE": "1"}))
    _assert_same(mixed, one, MIXED_FLEET)
