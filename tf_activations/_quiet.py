"""TensorFlow's C++ log lines kept out of the ``tf-activations`` command's output.

TensorFlow 2.21 writes ``I0000 ... port.cc:153] oneDNN custom operations are on ...``,
``cudart_stub.cc ... Could not find cuda drivers`` and absl's "All log messages before
absl::InitializeLog() ..." to stderr while it is imported, whatever TF_CPP_MIN_LOG_LEVEL
says (absl logs before it is initialised); later lines (cuInit, XLA) do obey that
variable. So for the command line only: TF_CPP_MIN_LOG_LEVEL defaults to 3 (and Python's
"tensorflow" and "absl" loggers to ERROR) when the user has not set it, and the import's
stderr is captured and replayed without the lines below that level (at 0, all of them).

It runs from the package's ``__init__`` before TensorFlow is imported (``python -m
tf_activations`` and the console script both import the package before any CLI code), and
does nothing in any other program. No package imports.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

# glog/absl lines ("I0000 00:00:1796544271.044926   12427 port.cc:153] ..."), TF's older
# "2024-01-01 12:00:00.000000: I tensorflow/...cc:44] ..." (the letter is the severity) and
# absl's pre-initialisation notice (a warning).
TF_LOG_LINE = re.compile(
    r"^(?:(?P<glog>[IWEF])\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^\s:\]]+:\d+\] "
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: (?P<tf>[IWEF]) [^\s:\]]+:\d+\] "
    r"|(?P<absl>WARNING): All log messages before absl::InitializeLog\(\) is called are written to STDERR$)")
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


def hidden(line: str, level: int) -> bool:
    """A TensorFlow log line below ``level`` (TF_CPP_MIN_LOG_LEVEL's scale: 0 info .. 3 fatal)."""
    found = TF_LOG_LINE.match(line)
    if found is None:
        return False
    letter = found.group("glog") or found.group("tf") or "W"
    return _SEVERITY[letter] < level


def is_cli() -> bool:
    """This process is ``tf-activations ...`` or ``python -m tf_activations[.native] ...``."""
    argv = (getattr(sys, "orig_argv", None) or [])[1:]
    i = 0
    while i < len(argv) - 1:  # the interpreter's own options, up to -m, -c or a script
        if argv[i] == "-m":
            return argv[i + 1] in ("tf_activations", "tf_activations.native")
        if argv[i] == "-c" or not argv[i].startswith("-"):
            break
        i += 2 if argv[i] in ("-W", "-X") else 1
    return bool(sys.argv) and os.path.basename(sys.argv[0]) in ("tf-activations", "tf-activations.exe")


def quiet_tensorflow() -> None:
    """For the command line: TF's C++ log lines only at or above TF_CPP_MIN_LOG_LEVEL, 3 unless
    the user set it."""
    if not is_cli():
        return
    if "TF_CPP_MIN_LOG_LEVEL" not in os.environ:
        import logging

        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        for name in ("tensorflow", "absl"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        level = int(os.environ["TF_CPP_MIN_LOG_LEVEL"])
    except ValueError:
        return  # TensorFlow reads such a value as 0: everything shown
    if level > 0 and "tensorflow" not in sys.modules:
        _import_tensorflow_filtered(level)


def _import_tensorflow_filtered(level: int) -> None:
    """Imports TensorFlow with file descriptor 2 sent to a temporary file, then writes what
    it caught back to stderr without TensorFlow's log lines below ``level`` (an ImportError
    is left for the package to report)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        return  # no usable stderr: nothing to keep clean
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, 2)
            os.close(saved)
        caught.seek(0)
        kept = [line for line in caught.read().decode(errors="replace").splitlines(keepends=True)
                if not hidden(line, level)]
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()
