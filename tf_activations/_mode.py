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
import os
import threading

_state = threading.local()
_global = {"exact": os.environ.get("TF_ACTIVATIONS_EXACT", "").strip().lower() in ("1", "true", "yes", "on")}


def is_exact() -> bool:
    """True inside :func:`exact` or after ``set_exact(True)`` (or TF_ACTIVATIONS_EXACT=1)."""
    local = getattr(_state, "exact", None)
    return _global["exact"] if local is None else local


def set_exact(enabled: bool = True) -> None:
    """Sets the process-wide mode (a :func:`exact` block still overrides it in its thread)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"set_exact() expects enabled to be a bool; got {enabled!r}")
    _global["exact"] = enabled


@contextlib.contextmanager
def exact(enabled: bool = True):
    """Within this block (this thread), trace and run in exact mode (``exact(False)``: default mode)."""
    if not isinstance(enabled, bool):
        raise TypeError(f"exact() expects enabled to be a bool; got {enabled!r}")
    previous = getattr(_state, "exact", None)
    _state.exact = enabled
    try:
        yield
    finally:
        _state.exact = previous
