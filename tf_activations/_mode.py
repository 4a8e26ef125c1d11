"""The portable mode: float32 math in float32, with only TFLite builtin ops.

By default float32 composites run in float64 and round once (within 0.5 ulp).
TFLite has no float64 kernels and no Erfc, so a graph traced that way does not
convert. Inside ``with tf_activations.portable():`` float32 is computed in
float32, erfc by a rational approximation, and the C++ kernels are not used,
so what is traced there converts with ``tf.lite.TFLiteConverter`` using
builtin ops only. The price is accuracy: within 6 ulp on 5.3 million points
(``python benchmarks/accuracy.py --dense``) except gelu (10 ulp) and
tanh_shrink (460 ulp near |x| = 0.1, where x - tanh(x) cancels).
"""

import contextlib
import threading

_state = threading.local()


def is_portable() -> bool:
    return getattr(_state, "portable", False)


@contextlib.contextmanager
def portable():
    """Trace (convert, export) models for TFLite and other float32-only runtimes."""
    previous = is_portable()
    _state.portable = True
    try:
        yield
    finally:
        _state.portable = previous
