"""Fused C++ kernels from ``kernels/``, used when built and applicable.

``dispatch`` returns None whenever the pure-TF path must run instead:

* ``TF_ACTIVATIONS_PURE=1`` in the environment, or inside :func:`disabled`;
* the library is not built (``python -m tf_activations build``) or fails to
  load: loading only looks in the cache and never compiles;
* the graph is compiled by XLA (``jit_compile=True``; Keras ``jit_compile``),
  where a custom op cannot run, so the composite is traced instead;
* a function is being traced for ``tf.saved_model.save`` (its save context),
  so a SavedModel never names the kernel ops. Functions traced *before*
  saving (e.g. a ``tf.function`` already called) are re-used by the saver: to
  export those, trace them inside :func:`disabled` or set the variable;
  Keras ``model.export`` / ``.keras`` files do not keep traced graphs;
* the activation has no kernel, or a differentiable parameter is not a scalar;
* the kernel is not the right one for the precision mode: outside exact mode a
  kernel runs only where it is measured faster than Keras' own function (or,
  for names Keras lacks, than the float32 composite) at 2^16, 2^20 and 2^24
  elements, eager and in ``tf.function``; in exact mode only where it is as
  accurate as the float64 composite (within 1 ulp);
* the op would not run on a CPU: the kernels are CPU-only ops, so for a tensor
  on a GPU/TPU (eager), or in a graph where an accelerator is visible and the
  input is not pinned to a CPU, TensorFlow would copy to the host and back.

The kernel path calls the forward op directly; its registered gradient runs the
backward op on x (in a graph only x is kept for the backward pass; an eager tape
keeps y as well, as it does for any op with a Python-registered gradient). In a
graph whose tape records x, a ``saved`` kernel instead runs the forward op that
also writes g = f'(x) and the backward pass is dy * g: g is kept instead of x.
The backward ops have registered gradients built from the declared pure-TF
derivatives, so second derivatives are right on these paths too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import threading
import warnings

import tensorflow as tf

from tf_activations import _env, _mode
from tf_activations.native import builder

try:  # which tensors a tape records: TF's own answer (private, present since TF 2.0)
    from tensorflow.python.eager import record as _record
except ImportError:
    _record = None

__all__ = ["dispatch", "available", "load", "load_state", "disabled", "every_kernel", "has_kernel", "kernel_names",
           "kernel_table", "register",
           "library_path", "pure_forced", "simulated_accelerator"]


# Measured on this project's 2-core machine with `python benchmarks/bench.py --kernels`
# (fwd+bwd, y and dx returned). default=True: the kernel beats Keras' own function
# (names Keras lacks: the float32 composite) at 2^16, 2^20 and 2^24 elements, eager
# and in tf.function, in float32 and the half types. sigmoid, tanh, elu, selu and
# softplus lose to TF's fused ops; gelu's tanh form loses at 2^16 or 2^20.
# exact=True: max float32 error within 1 ulp on `benchmarks/bench.py --accuracy --dense`;
# sigmoid, tanh, silu/swish and selu use float math (1.2-3.0 ulp). gelu (both forms)
# is within 1 ulp on that sweep but its float32 derivative flushes to 0 where it is
# still a normal float (x in -13.34..-13.15, tanh form -10.24..-10.0;
# tests/test_silent_wrong.py), which exact mode promises not to.
# fast_fn: the default mode runs that float-math variant instead (lisht 3.76, snake
# 3.82, gelu 6.56 ulp where Keras' gelu is 1.7e7; 2-5x faster than the double-evaluated
# forward). saved=True: in a training graph the forward also writes f'(x), measured
# faster than the two-op path (silu/swish, celu, lisht; not mish, gelu, hard_*).


# The kernels, as the declarations list them (Activation.kernels), handed over by the op
# builder through register(): name -> its Kernel entries; functor fn -> the entry, and the
# declared name it implements. A kernel runs only where the alternative is the
# tf.custom_gradient composite in eager or graph mode (under XLA the composite always runs).
_KERNELS = {}
_BY_FN = {}
_NAME_OF_FN = {}
# forward fn -> the backward op's fn, where they differ. swish_beta1 runs only where beta needs
# no gradient, so silu's backward: the same dx as the saved path's (swish's backward at beta 1
# rounds differently, up to 256 ulp near f' = 0).
_BACKWARD_FN = {"swish_beta1": "silu"}

_state = threading.local()
_lock = threading.Lock()
_lib = None
_lib_tried = False
_lib_path = None
_saved_off = False  # tests and benchmarks set it to trace the two-op path for comparison


def dispatch_gated(name, x, fixed, exact=False):
    """The fused gated unit's result (gradient attached), or None for the composite: for half
    types, an unknown rank, or where the kernels cannot run (see :func:`dispatch`).

    TfaGatedForward gives y = a * gate(b) on x viewed as [outer, 2, m] in one pass,
    TfaGatedBackward both halves' gradients in one pass (float32, float64)."""
    k = _kernel_for(name, fixed)
    chosen = k is not None and (k.exact if exact else k.default)
    if not chosen and not (k is not None and getattr(_state, "every", 0)):
        return None
    if _pure_forced() or x.dtype not in (tf.float32, tf.float64) or x.shape.rank is None:
        return None
    lib = load()
    if lib is None or not _graph_allows_kernels() or not _runs_on_cpu(x):
        return None
    axis = fixed["axis"] % x.shape.rank
    shape = tf.shape(x)
    half = shape[axis] // 2
    # [before, 2 * half, after] viewed as [outer, 2, half * after]: each half is contiguous
    outer = tf.reduce_prod(shape[:axis])
    m = half * tf.reduce_prod(shape[axis + 1:])
    y = lib.tfa_gated_forward(tf.reshape(x, tf.stack([outer, 2, m])), fn=k.fn)
    y = tf.reshape(y, tf.concat([shape[:axis], [half], shape[axis + 1:]], 0))
    static = x.shape.as_list()
    if static[axis] is not None:
        static[axis] //= 2
    y.set_shape(static)
    return y


def has_kernel(name) -> bool:
    """Whether ``name`` has a kernel at all (a cheap test before :func:`dispatch`)."""
    return name in _KERNELS


def default_kernel(name) -> bool:
    """Whether ``name`` has a kernel chosen outside exact mode (fixed at import)."""
    return any(k.default for k in _KERNELS.get(name, ()))


def kernel_table() -> list:
    """``(declared name, Kernel)`` for every kernel entry."""
    return [(name, k) for name, kernels in _KERNELS.items() for k in kernels]


def every_kernel_active() -> bool:
    """Inside :func:`every_kernel` (this thread)."""
    return getattr(_state, "every", 0) > 0


def kernel_names() -> list:
    """The elementwise ops' fns ('gelu_tanh' is gelu(approximate=True)); the gated units' are
    the gated ops' (:func:`gated_kernel_names`)."""
    return sorted(fn for fn in _BY_FN if _NAME_OF_FN[fn] not in _VJPS)


def gated_kernel_names() -> list:
    """The gated ops' fns (reglu)."""
    return sorted(fn for fn in _BY_FN if _NAME_OF_FN[fn] in _VJPS)


def pure_forced() -> bool:
    """TF_ACTIVATIONS_PURE is on, or this thread is inside :func:`disabled`."""
    return _pure_forced()


def _pure_forced() -> bool:
    if _env.flag("TF_ACTIVATIONS_PURE"):
        return True
    return getattr(_state, "disabled", 0) > 0


@contextlib.contextmanager
def disabled():
    """Within this block (this thread) every op takes the pure-TF path, e.g. to trace for export."""
    _state.disabled = getattr(_state, "disabled", 0) + 1
    try:
        yield
    finally:
        _state.disabled -= 1


@contextlib.contextmanager
def every_kernel():
    """Within this block (this thread) every built kernel is dispatched where it can run,
    whatever the precision mode would choose: for testing and benchmarking the kernels."""
    _state.every = getattr(_state, "every", 0) + 1
    try:
        with _mode.override():
            yield
    finally:
        _state.every -= 1


@dataclasses.dataclass(frozen=True)
class LoadState:
    """What the last :func:`load` found: ``state`` is "loaded", "not tried", "not built",
    "no sources", "refused" (the cache failed a safety check), "load failed" (TensorFlow
    refused the library), "foreign" (a library without this package's ops) or "error";
    ``reason`` says why in words, ``path`` is the library concerned (if any)."""
    state: str
    reason: str = ""
    path: str | None = None


_load_state = LoadState("not tried")


def load_state() -> LoadState:
    """Why the kernels are (not) loaded, as the last :func:`load` found it (never loads)."""
    return _load_state


def load(path=None, reload=False):
    """Loads the kernel library from the cache (never builds). Returns the module or None.

    A library is loaded only through the descriptor ``builder.loadable`` verified (a private
    cache, the size, ELF header and SHA-256 recorded at build time) and kept only if it registers the
    ``tfa_forward`` / ``tfa_backward`` ops; otherwise one warning says what to do and the
    pure-TF path runs. :func:`load_state` keeps the outcome.
    """
    global _lib, _lib_tried, _lib_path, _load_state
    with _lock:
        if _lib is not None and not reload and path is None:
            return _lib
        if _lib_tried and not reload and path is None:
            return None
        _lib_tried = True
        _lib = None
        try:
            if path is None:
                path = builder.library_candidate()
            if path is None:
                _load_state = LoadState("not built" if builder.sources() else "no sources")
                return None
            lib = _load_verified(builder, path)
        except builder.BuildError as err:  # unsafe cache, truncated or foreign library
            _load_state = LoadState("refused", str(err), None if path is None else str(path))
            warnings.warn(f"tf_activations: not loading the kernels: {err}. Using the pure-TF path.",
                          stacklevel=2)
            return None
        except _NotLoaded as err:  # wrong ABI, missing symbol, ...
            _load_state = LoadState("load failed", str(err.__cause__), str(path))
            warnings.warn(f"tf_activations: could not load kernels from {path} ({err.__cause__}); rebuild them "
                          f"with `tf-activations build --force`. Using the pure-TF path.", stacklevel=2)
            return None
        except Exception as err:  # no sources, unreadable cache, ...: stay pure
            _load_state = LoadState("error", f"{type(err).__name__}: {err}", None if path is None else str(path))
            return None
        missing = [op for op in builder.EXPECTED_OPS if not hasattr(lib, op)]
        if missing:
            _load_state = LoadState("foreign", f"it does not define the ops {', '.join(missing)}", str(path))
            warnings.warn(f"tf_activations: {path} does not define the ops {', '.join(missing)} (not this "
                          f"package's kernels); rebuild them with `tf-activations build --force`. "
                          f"Using the pure-TF path.", stacklevel=2)
            return None
        _lib, _lib_path = lib, str(path)
        _load_state = LoadState("loaded", "", str(path))
        return _lib


class _NotLoaded(Exception):
    """TensorFlow refused a verified library (its error is the cause)."""


def _load_verified(builder, path):
    # Loaded through the descriptor that was verified, never by its path again: another user
    # who can write the cache root's parent could otherwise swap the file in between.
    with builder.loadable(path) as name:
        try:
            return tf.load_op_library(name)
        except Exception as err:
            raise _NotLoaded() from err


def library_path():
    return _lib_path


def available() -> bool:
    """True when the kernels are loaded (or loadable) and not disabled."""
    return not _pure_forced() and load() is not None


def _graph_allows_kernels() -> bool:
    if tf.executing_eagerly():
        return True
    from tensorflow.python.ops import control_flow_util
    from tensorflow.python.saved_model import save_context

    if save_context.in_save_context():
        return False
    return not control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


@contextlib.contextmanager
def simulated_accelerator(visible: bool = True):
    """Within this block (this thread) the device question below is answered ``visible``:
    what would be chosen on a machine with a GPU/TPU (status(), tests) on this one."""
    previous = getattr(_state, "accelerator", None)
    _state.accelerator = visible
    try:
        yield
    finally:
        _state.accelerator = previous


@functools.lru_cache(maxsize=None)
def _accelerator_visible() -> bool:
    """A GPU or TPU is visible to TensorFlow (asked once: devices are fixed after start-up)."""
    return bool(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("TPU"))


def _runs_on_cpu(x) -> bool:
    """Where the op on ``x`` will run: eager, x's device; in a graph, the CPU when no
    accelerator is visible, else only if x is pinned to a CPU."""
    simulated = getattr(_state, "accelerator", None)
    if not (_accelerator_visible() if simulated is None else simulated):
        return True
    device = x.device
    if not device:
        return False  # unplaced in a graph with an accelerator: the placer prefers the GPU
    return tf.DeviceSpec.from_string(device).device_type in (None, "CPU")


def _kernel_for(name, fixed):
    """The entry whose fixed parameter values (consts) the call has; None where none does
    (gelu's two forms are two functors; softplus' beta other than 1 has none)."""
    for k in _KERNELS.get(name, ()):
        if all(fixed.get(n, v) == v for n, v in k.consts):
            return k
    return None


def _static_value(t):
    try:
        v = tf.get_static_value(t)
    except Exception:
        return None
    return None if v is None or getattr(v, "shape", ()) != () else float(v)


def dispatch(name, x, fixed, tensors, exact=False):
    """The kernel's result (gradient attached), or None to use the pure-TF path."""
    k = _kernel_for(name, fixed)
    chosen = k is not None and (k.exact if exact else k.default)
    if not chosen and not (k is not None and getattr(_state, "every", 0)):
        return None
    if _pure_forced():
        return None
    lib = load()
    if lib is None or not _graph_allows_kernels() or not _runs_on_cpu(x):
        return None
    if k.param is not None:
        p = tensors.get(k.param)
        if p is None or p.shape.rank != 0:
            return None  # per-channel parameters: the composite broadcasts and reduces
        p = tf.cast(p, tf.float64)
    else:
        if tensors:
            return None
        p = _float64_vector(None)
    c = _float64_vector(tuple(float(fixed[n]) for n in k.fixed))
    fn = k.fn if exact or k.fast_fn is None else k.fast_fn
    if fn == "swish" and _static_value(tensors["beta"]) == 1.0 and not _records([tensors["beta"]], unknown=True):
        fn = "swish_beta1"  # silu's kernels, which have no beta to differentiate
    if k.saved and (k.param is None or fn == "swish_beta1") and _training_graph(x):
        # A graph recording x's gradient: save g = f'(x) instead of x (one tensor either way);
        # the backward pass is dy * g, and f, f' share their terms in one loop (_attach_grad).
        y, g = lib.tfa_forward_saved(x, p, c, fn=fn)
        return lib.tfa_attach(x, y, g)
    # The op itself, with its registered gradient (_forward_grad): no tf.custom_gradient, whose
    # Python machinery cost ~60 us per eager call (3x Keras' own mish on 2^8-2^12 elements).
    return lib.tfa_forward(x, p, c, fn=fn)


def _records(tensors, unknown: bool) -> bool:
    """A tape (eager, or in a graph being built) records a gradient through one of ``tensors``;
    ``unknown`` on a TensorFlow without the module that tells."""
    if _record is None:
        return unknown
    return bool(_record.should_record_backprop(tensors))


def _training_graph(x) -> bool:
    """Building a graph in which a tape records x's gradient (a Keras train_step, a
    tf.function with a GradientTape). Not eagerly: an eager tape would keep x, y and g.
    Unknown: the two-op path, as in inference."""
    if _saved_off or tf.executing_eagerly():
        return False
    return _records([x], unknown=False)


_EAGER_CONSTANTS = {}


def _float64_vector(values):
    """A float64 constant (values None: the scalar 1.0 that stands for "no parameter"); eager
    ones are cached, creating one costs ~5-10 us per call. Graph constants are never cached."""
    make = (lambda: tf.constant(1.0, tf.float64)) if values is None else (
        lambda: tf.constant(values, tf.float64, shape=[len(values)]))
    if not tf.executing_eagerly():
        return make()
    t = _EAGER_CONSTANTS.get(values)
    if t is None:
        if len(_EAGER_CONSTANTS) > 256:  # many distinct alphas: don't grow without bound
            _EAGER_CONSTANTS.clear()
        t = _EAGER_CONSTANTS[values] = make()
    return t


# --- gradients of the raw ops ------------------------------------------------
# The declared derivative formulas of each activation a kernel implements, handed over by the
# op builder (tf_activations._build.make_function) so this module never reads the registry:
# name -> (derivative, param_derivatives, backward_dtype).
_FORMULAS = {}
_VJPS = {}  # gated units: name -> the declared vjp, for their kernels' second derivatives


def register(name, kernels, derivative, param_derivatives, backward_dtype, vjp=None) -> None:
    """Called by the op builder for every declared activation: its kernel entries and the
    derivative formulas their ops' gradients are taken from (a gated unit's: its vjp)."""
    if not kernels:
        return
    if vjp is not None:
        _VJPS[name] = vjp
    _KERNELS[name] = tuple(kernels)
    for k in kernels:
        _BY_FN[k.fn] = k
        _NAME_OF_FN[k.fn] = name
        if k.fast_fn:
            _BY_FN[k.fast_fn] = dataclasses.replace(k, fn=k.fast_fn, fast_fn=None)
            _NAME_OF_FN[k.fast_fn] = name
    _FORMULAS[name] = (derivative, param_derivatives, backward_dtype)


@tf.RegisterGradient("TfaGatedForward")
def _gated_forward_grad(op, dy):
    return load().tfa_gated_backward(op.inputs[0], dy, fn=_attr_fn(op))


@tf.RegisterGradient("TfaGatedBackward")
def _gated_backward_grad(op, gdx):
    """d(dx)/dx and d(dx)/ddy from the declared vjp (autodiff of its TF ops), on the [outer, 2, m]
    view: the halves along axis 1, dy as [outer, 1, m]."""
    x, dy = op.inputs
    dy3 = tf.expand_dims(dy, 1)
    with tf.GradientTape() as tape:
        tape.watch([x, dy3])
        dx = _VJPS[_NAME_OF_FN[_attr_fn(op)]](x, dy3, axis=1)
    gx, gdy = tape.gradient(dx, [x, dy3], output_gradients=gdx,
                            unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return [gx, tf.squeeze(gdy, 1)]


@tf.RegisterGradient("TfaForward")
def _forward_grad(op, dy):
    x, p, c = op.inputs
    fn = _attr_fn(op)
    dx, dp = load().tfa_backward(x, dy, p, c, fn=_BACKWARD_FN.get(fn, fn), param_grad=True)
    return [dx, dp, None]


@tf.RegisterGradient("TfaAttach")
def _attach_grad(op, dy):
    """dy * g: TfaForwardSaved computed g = f'(x) with y, so the backward pass is one multiply."""
    return [dy * op.inputs[2], None, None]


@tf.RegisterGradient("TfaForwardSaved")
def _forward_saved_grad(op, gy, gg):
    """Reached through g only, by a second derivative (d(dy * g)/dx = dy f''(x)). y feeds only
    TfaAttach, whose gradient does not flow back into y, so gy is zeros (and 0 * g would be
    NaN where g is)."""
    x, p, c = op.inputs
    if gg is None:
        return [tf.zeros_like(x), None, None]
    fn = _attr_fn(op)
    return [_backward_grads(_BACKWARD_FN.get(fn, fn), x, None, p, c, gg, None, False)[0], None, None]


def _attr_fn(op):
    fn = op.get_attr("fn")
    return fn.decode() if isinstance(fn, bytes) else fn


@tf.RegisterGradient("TfaBackward")
def _backward_grad(op, gdx, gdp):
    x, dy, p, c = op.inputs
    gx, gdy, gp = _backward_grads(_attr_fn(op), x, dy, p, c, gdx, gdp, op.get_attr("param_grad"))
    return [gx, gdy, gp, None]


def _backward_grads(fn, x, dy, p, c, gdx, gdp, param_grad):
    """d(dx, dp) of dx = dy f'(x), dp = sum(dy df/dp) (dy None: 1) from the declared pure-TF
    derivative formulas (autodiff of f' and df/dp), as [d/dx, d/ddy, d/dp].

    Where an upstream gradient is 0 its output's contribution is 0, not 0 * (a partial that
    overflowed to inf or NaN): TF hands this function zeros for the output nobody uses (dp
    in a second derivative in x, or dx in one in p), and d(dp)/dx = dy x^2 ... is inf * 0
    for swish at |x| >= 2e19 in float32. Every partial is taken per element (p broadcast to
    x's shape) so each element can be masked on its own.
    """
    k = _BY_FN[fn]
    derivative, param_derivatives, backward_dtype = _FORMULAS[_NAME_OF_FN[fn]]
    param_grad = param_grad and k.param is not None
    if dy is None:
        dy = tf.ones_like(x)
    bwd = backward_dtype(x.dtype)
    pb = tf.broadcast_to(tf.cast(p, bwd), tf.shape(x))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, dy, pb])
        xc, dyc = tf.cast(x, bwd), tf.cast(dy, bwd)
        kwargs = dict(k.consts)
        for i, name in enumerate(k.fixed):
            kwargs[name] = tf.cast(c[i], bwd)
        if k.param is not None:
            kwargs[k.param] = pb
        dx = tf.cast(dyc * derivative(xc, **kwargs), x.dtype)
        dp = dyc * param_derivatives[k.param](xc, **kwargs) if param_grad else None
    sources = [x, dy, pb]
    grads = [tf.zeros_like(x), tf.zeros_like(dy), tf.zeros_like(pb)]
    if gdx is not None:
        _add_masked(grads, tape.gradient(dx, sources, output_gradients=gdx), tf.not_equal(gdx, 0))
    if dp is not None and gdp is not None:
        upstream = tf.broadcast_to(tf.cast(gdp, bwd), tf.shape(dp))
        _add_masked(grads, tape.gradient(dp, sources, output_gradients=upstream), tf.not_equal(upstream, 0))
    del tape
    gx, gdy, gpb = grads
    gp = tf.cast(tf.reduce_sum(gpb), tf.float64) if k.param is not None else None
    return [gx, gdy, gp]


def _add_masked(totals, grads, keep):
    """totals[i] += grads[i] where keep (elementwise; a missing gradient adds nothing)."""
    for i, g in enumerate(grads):
        if g is not None:
            totals[i] = totals[i] + tf.where(keep, g, tf.zeros_like(g))
