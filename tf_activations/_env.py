"""One rule for every TF_ACTIVATIONS_* on/off environment variable.

On: 1, true, yes, on. Off: unset, empty, 0, false, no, off. Any case, spaces around
ignored. Anything else is off, with one warning per variable and value. TensorFlow's
own TF_USE_LEGACY_KERAS keeps TensorFlow's rule (:func:`legacy_keras`), since TensorFlow
decides what tf.keras is by it.

No package imports: it is read while the package itself is being imported.
"""

from __future__ import annotations

import os
import warnings

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
_warned = set()  # (name, value) already reported: PURE is read on every call


def flag(name: str) -> bool:
    """Whether the environment variable ``name`` is on (see the module's rule)."""
    raw = os.environ.get(name, "")
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word and word not in FALSE_WORDS and (name, raw) not in _warned:
        _warned.add((name, raw))
        warnings.warn(f"tf_activations: {name}={raw!r} is neither on nor off, so it counts as off; "
                      f"accepted: {', '.join(TRUE_WORDS)} (on) or {', '.join(FALSE_WORDS)} or empty (off), "
                      f"in any case", stacklevel=3)
    return False


def legacy_keras() -> bool:
    """TF_USE_LEGACY_KERAS as TensorFlow reads it (tf.keras is then tf_keras): "1", "true", "True"."""
    return os.environ.get("TF_USE_LEGACY_KERAS", "") in ("1", "true", "True")
