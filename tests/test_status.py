"""tf_activations.status() tells the truth in the three cases a user meets: kernels built,
not built, refused cache. Each runs in a fresh process (what loaded is decided at import).

The per-name paths are checked against what runs, not against status' own text: a traced
graph holds a Tfa* op exactly where status says "kernel"; where it says "keras" or "tf.nn"
the graph's ops are those of Keras' own function or the declared tf.nn op traced alone;
"composite" is neither (relu's "tf.nn" and "keras" are one graph: Keras' relu is tf.nn.relu).
Eagerly, the kernel library's op wrappers are counted. The GPU/TPU
column is checked with the device query patched, as tests/test_policy.py simulates a GPU.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap

import pytest

from conftest import run_python
from tf_activations import _status, native
from tf_activations.native import builder

# Run in the fresh process after `s = tf_activations.status()`: every path of s checked
# against the graph (tf.function, XLA, GPU/TPU simulated) or the eager call.
CHECK_PATHS = """
import collections
import inspect
import tensorflow as tf
from tf_activations._registry import FUNCTIONS, KERAS_FUNCTIONS, SPECS

SPEC = tf.TensorSpec([2, 8], tf.float32)

def op_types(f, jit=False):
    graph = tf.function(f, jit_compile=jit, autograph=False).get_concrete_function(SPEC).graph
    return collections.Counter(op.type for op in graph.get_operations() if op.type != "Const")

def check_graph(name, path, jit):
    ours = op_types(lambda x: FUNCTIONS[name](x), jit)
    kernel = any(t.startswith("Tfa") for t in ours)
    assert kernel == (path == "kernel"), (name, path, jit, ours)
    base, bound = name, {}
    if SPECS[name].variant_of is not None:  # gelu_tanh: gelu(approximate=True)
        base, bound = SPECS[name].variant_of[0], dict(SPECS[name].variant_of[1])
    spec = SPECS[base]
    keras = None
    if base in KERAS_FUNCTIONS:  # Keras' function given our defaults for the parameters it has
        theirs = inspect.signature(KERAS_FUNCTIONS[base]).parameters
        same = {p.name: bound.get(p.name, p.default) for p in spec.params if p.name in theirs}
        keras = op_types(lambda x: KERAS_FUNCTIONS[base](x, **same), jit)
    fixed = {p.name: bound.get(p.name, p.default) for p in spec.params if not p.differentiable}
    if path == "keras":
        assert ours == keras, (name, jit, ours, keras)
    elif path == "tf.nn":
        assert spec.tf_op is not None, name
        assert ours == op_types(lambda x: spec.tf_op(x, **fixed), jit), (name, jit, ours)
    elif path == "composite":
        assert ours != keras, (name, jit, ours)

calls = collections.Counter()
lib = tf_activations.native.load()
if lib is not None:  # count the kernel ops' eager calls
    for op in ("tfa_forward", "tfa_forward_saved", "tfa_gated_forward"):
        def counted(*a, _op=getattr(lib, op), **k):
            calls["kernel"] += 1
            return _op(*a, **k)
        setattr(lib, op, counted)

def check_all(s):
    x = tf.random.normal([2, 8], seed=1)
    for name, where in s.paths.items():
        before = calls["kernel"]
        FUNCTIONS[name](x)
        assert (calls["kernel"] > before) == (where["eager"] == "kernel"), (name, where)
        check_graph(name, where["tf.function"], False)
        check_graph(name, where["xla"], True)
    real = tf_activations.native._accelerator_visible
    tf_activations.native._accelerator_visible = lambda: True  # as tests/test_policy.py does
    try:
        for name, where in s.paths.items():
            check_graph(name, where["accelerator"], False)
    finally:
        tf_activations.native._accelerator_visible = real
"""

DEFAULT_ENV = {"TF_ACTIVATIONS_PURE": "", "TF_ACTIVATIONS_EXACT": ""}


@pytest.fixture(scope="module")
def built_env(tmp_path_factory):
    """The environment of a process that loads the kernels: this one's where they load here
    (CI builds them first), else a fresh cache they are built into."""
    if native.library_path() is not None and not native.pure_forced():
        return dict(DEFAULT_ENV)
    cache = tmp_path_factory.mktemp("built") / "cache"
    old = os.environ.get("TF_ACTIVATIONS_CACHE")
    os.environ["TF_ACTIVATIONS_CACHE"] = str(cache)
    try:
        builder.build(builder.host_variants()[:1], verbose=False)
    except builder.BuildError as err:
        pytest.skip(f"the kernels cannot be built here: {err}")
    finally:
        if old is None:
            os.environ.pop("TF_ACTIVATIONS_CACHE", None)
        else:
            os.environ["TF_ACTIVATIONS_CACHE"] = old
    return dict(DEFAULT_ENV, TF_ACTIVATIONS_CACHE=str(cache))


@pytest.mark.slow
def test_kernels_built(built_env):
    out = run_python(textwrap.dedent("""
        import json, os
        import tf_activations
        s = tf_activations.status()
        k = s.kernels
        assert k.state == "loaded" and k.active, k
        assert k.path == tf_activations.native.library_path() and os.path.isfile(k.path), k
        assert os.path.basename(k.path).startswith("_tfa_ops_") and k.path in str(s)
        assert not s.exact and "exact mode   off" in str(s)
        for name in ("mish", "silu"):  # measured faster than Keras': the kernel, except under XLA
            assert s.paths[name] == {"eager": "kernel", "tf.function": "kernel", "xla": "keras",
                                     "accelerator": "keras"}, s.paths[name]
        assert s.paths["relu"]["tf.function"] == "tf.nn" and s.paths["sparsemax"]["eager"] == "composite"
        json.loads(s.to_json())
        """) + CHECK_PATHS + textwrap.dedent("""
        check_all(s)
        with tf_activations.exact():  # the mode is read when a call is traced
            e = tf_activations.status(["mish", "gelu", "silu"])
            assert e.exact and e.paths["mish"]["tf.function"] == "kernel", e.paths
            assert e.paths["gelu"]["tf.function"] == e.paths["silu"]["xla"] == "composite", e.paths
            check_all(e)
        print(s)
        """), timeout=600, env=built_env)
    assert "C++ kernels  loaded: " in out.stdout


@pytest.mark.slow
def test_kernels_not_built(tmp_path):
    empty = tmp_path / "cache"
    out = run_python(textwrap.dedent("""
        import tf_activations
        from tensorflow.python.eager import context
        assert context.context()._context_handle is None  # importing status() started nothing
        s = tf_activations.status()
        assert s.kernels.state == "not built" and not s.kernels.active and s.kernels.path is None, s.kernels
        text = str(s)
        assert "C++ kernels  not built" in text and "tf-activations build" in text, text
        assert {w for where in s.paths.values() for w in where.values()} <= {"tf.nn", "keras", "composite"}
        assert s.paths["mish"] == dict.fromkeys(("eager", "tf.function", "xla", "accelerator"), "keras")
        """) + CHECK_PATHS + textwrap.dedent("""
        check_all(s)
        print(text)
        """), timeout=600, env=dict(DEFAULT_ENV, TF_ACTIVATIONS_CACHE=str(empty)))
    assert str(empty) in out.stdout


def _plant_tampered(root):
    """A library with a checksum file in the cache root ``root``, then one byte of it changed
    (as tests/test_cache_safety.py plants one)."""
    old = os.environ.get("TF_ACTIVATIONS_CACHE")
    os.environ["TF_ACTIVATIONS_CACHE"] = str(root)
    try:
        d = builder.library_dir()
    finally:
        if old is None:
            os.environ.pop("TF_ACTIVATIONS_CACHE", None)
        else:
            os.environ["TF_ACTIVATIONS_CACHE"] = old
    builder._make_private_dirs(d)
    path = d / f"_tfa_ops_{builder.host_variants()[0]}.so"
    data = b"\x7fELF" + bytes(200)
    path.write_bytes(data)
    builder._write_manifest(path, {"planted": True})
    path.write_bytes(data[:-1] + b"\x01")
    return path


@pytest.mark.slow
def test_refused_cache(tmp_path):
    path = _plant_tampered(tmp_path / "cache")
    out = run_python(textwrap.dedent("""
        import warnings
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            import tf_activations
        s = tf_activations.status(["mish", "relu"])
        k = s.kernels
        assert k.state == "refused" and not k.active, k
        assert "does not match the SHA-256" in k.reason and "--force" in k.fix, k
        text = str(s)
        assert "C++ kernels  refused" in text and "why: " in text and k.reason in text, text
        """) + CHECK_PATHS + textwrap.dedent("""
        check_all(s)
        print(text)
        """), timeout=600, env=dict(DEFAULT_ENV, TF_ACTIVATIONS_CACHE=str(tmp_path / "cache")))
    assert str(path) in out.stdout


@pytest.fixture
def fresh_loader(monkeypatch):
    for var in ("TF_ACTIVATIONS_PURE", "TF_ACTIVATIONS_CXXFLAGS", "TF_ACTIVATIONS_SANITIZE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(native, "_lib", None)
    monkeypatch.setattr(native, "_lib_tried", False)
    monkeypatch.setattr(native, "_lib_path", None)
    monkeypatch.setattr(native, "_load_state", native.LoadState("not tried"))


def test_cache_others_can_write_is_refused_with_its_reason(tmp_path, monkeypatch, fresh_loader):
    root = tmp_path / "cache"
    _plant_tampered(root)
    root.chmod(0o777)  # checked before the library's bytes are
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", str(root))
    with pytest.warns(UserWarning, match="writable by group or others"):
        k = _status.kernel_status()
    assert k.state == "refused" and "writable by group or others" in k.reason and f"rm -rf {root}" in k.reason
    root.chmod(stat.S_IRWXU)


def test_pure_forced_and_unsupported_tensorflow_are_named(tmp_path, monkeypatch, fresh_loader):
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", str(tmp_path / "none"))
    monkeypatch.setenv("TF_ACTIVATIONS_PURE", "1")
    k = _status.kernel_status()
    assert k.state == "pure forced" and "TF_ACTIVATIONS_PURE" in k.reason and not k.active
    monkeypatch.delenv("TF_ACTIVATIONS_PURE")
    with native.disabled():
        assert "disabled()" in _status.kernel_status().reason
    monkeypatch.setattr(builder, "KERNELS_MIN_TF", (99, 0))
    k = _status.kernel_status()
    assert k.state == "unsupported TF" and "TensorFlow 99.0 or later" in k.reason


def test_without_proc_self_fd_status_says_so(tmp_path, monkeypatch, fresh_loader):
    root = tmp_path / "cache"
    _plant_tampered(root)
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", str(root))
    monkeypatch.setattr(builder, "FD_DIR", str(tmp_path / "no-proc-here"))
    with pytest.warns(UserWarning):
        k = _status.kernel_status()
    assert k.state == "unsupported system" and "no-proc-here" in k.reason and "Linux" in k.fix


def test_names_and_report():
    s = _status.status(["hard_silu", "relu"])  # aliases give the declared name
    assert list(s.paths) == ["hard_swish", "relu"]
    assert set(s.paths["relu"]) == set(_status.SITES)
    text = repr(s)
    assert text == str(s) and "TensorFlow   " in text and "GPU/TPU" in text and "hard_swish" in text
    assert json.loads(s.to_json())["paths"]["relu"]["xla"] == "tf.nn"
    with pytest.raises(ValueError, match="unknown activation name 'nope'"):
        _status.status(["nope"])
    assert s.keras_strings and "strings " not in text
    import tf_activations

    tf_activations.use_keras_builtins()  # conftest hands the strings back after the test
    after = _status.status(["relu"])
    assert not after.keras_strings and "Keras' own functions for the names Keras has" in str(after)


def test_tf_keras_version_under_legacy_keras(monkeypatch):
    tf_keras = pytest.importorskip("tf_keras")
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    s = _status.status(["relu"])
    assert s.tf_keras == tf_keras.__version__ and f"tf_keras     {tf_keras.__version__}" in str(s)
    monkeypatch.delenv("TF_USE_LEGACY_KERAS")
    assert _status.status(["relu"]).tf_keras is None
