"""The precision policy: Keras' speed by default, exactness on request.

Default: every name Keras also has runs Keras' own function (or a fused C++
kernel where one is measured faster than it, on the CPU), so importing the
package never makes a Keras model slower, less exportable or less accurate.
The names only this package has run their stable formulas in the input's
precision (half types in float32).

Exact mode (``with tf_activations.exact():``, ``tf_activations.set_exact(True)``
or ``TF_ACTIVATIONS_EXACT=1`` in the environment): every function runs its
stable composite, float32 evaluated in float64 and rounded once (within
0.5-2 ulp of the exact result on 5.3 million points), or a kernel of that
accuracy. Costs: 2-10x the time of Keras' function without kernels, and
float64 ops in the graph (TFLite then needs flex ops; GPUs run float64 at a
fraction of their float32 rate).

The mode is read when a function is traced: a ``tf.function`` (or a Keras
model's train step) traced in one mode keeps it.
"""

from __future__ import annotations

import contextlib
import threading

from tf_activations import _env

_state = threading.local()
_global = {"exact": _env.flag("TF_ACTIVATIONS_EXACT")}

# True while the whole process is in the default mode: no exact() or other override block is
# open in any thread and set_exact is off. The eager fast path reads this one item instead of
# two thread-local lookups (0.3 us each, 5-10% of a Keras call on 2^8 elements).
DEFAULT_EVERYWHERE = [not _global["exact"]]
_open_overrides = [0]
_overrides_lock = threading.Lock()


def _refresh() -> None:
    DEFAULT_EVERYWHERE[0] = not _global["exact"] and not _open_overrides[0]


@contextlib.contextmanager
def override():
    """Marks a block that may change what a call runs (exact(), native.every_kernel())."""
    with _overrides_lock:
        _open_overrides[0] += 1
        _refresh()
    try:
        yield
    finally:
        with _overrides_lock:
            _open_overrides[0] -= 1
            _refresh()


def is_exact() -> bool:
    """True inside :func:`exact` or after ``set_exact(True)`` (or TF_ACTIVATIONS_EXACT=1)."""
    local = getattr(_state, "exact", None)
    return _global["exact"] if local is None else local


def set_exact(enabled: bool = True) -> None:
    """Sets the process-wide mode (a :func:`exact` block still overrides it in its thread)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_exact() expects enabled to be a bool; got {enabled!r}")
    with _overrides_lock:
        _global["exact"] = enabled
        _refresh()


@contextlib.contextmanager
def exact(enabled: bool = True):
    """Within this block (this thread), trace and run in exact mode (``exact(False)``: default mode)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"exact() expects enabled to be a bool; got {enabled!r}")
    previous = getattr(_state, "exact", None)
    _state.exact = enabled
    try:
        with override():
            yield
    finally:
        _state.exact = previous
