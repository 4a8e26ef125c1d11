"""What every benchmark here shares: how a call is timed, how memory and error are read.

* :func:`interleaved_medians` -- the only timer: candidates round-robin in one process.
* :func:`tf_calls`, :func:`eager_both` -- forward+backward thunks that return y AND dx
  (a benchmark that drops y lets XLA fuse forward and backward into one pass and win by a
  margin no training step sees).
* :func:`peak_rise_mib` -- the peak resident memory a step adds (VmHWM, Linux).
* :func:`max_ulp` -- float32 error in units of the last place of the exact result.
* :func:`environment` -- the date, machine and versions a table was measured on.
* :class:`Progress` -- what is being measured, k of n, elapsed and time left, on stderr.
* :func:`run_child` -- one function of these modules in a fresh process.

The package itself carries none of this: ``tf_activations`` only runs activations.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# ---- timing ---------------------------------------------------------------------------------

def interleaved_medians(calls, repeats, seed=0):
    """Median ms of each call, timed round-robin so drift and noise hit every path alike.

    Each round visits the calls in a fresh (seeded) random order, and each call is made once
    untimed right before its timed call: measured here, the first call after a different one is
    10-30% slower at 2^16 whichever function it is, which a fixed order charges to one path.
    """
    for call in calls.values():
        call()  # warm-up (and trace)
    order = list(calls)
    shuffle = random.Random(seed).shuffle
    times = {key: [] for key in calls}
    for _ in range(repeats):
        shuffle(order)
        for key in order:
            calls[key]()
            t0 = time.perf_counter()
            calls[key]()
            times[key].append(time.perf_counter() - t0)
    return {key: statistics.median(t) * 1e3 for key, t in times.items()}


def median_ms(call, repeats):
    return interleaved_medians({"": call}, repeats)[""]


def tf_pair(fn, jit=False):
    """``fn`` traced twice: forward alone, and forward+backward returning (y, dx)."""
    import tensorflow as tf

    fwd = tf.function(lambda x: fn(x), jit_compile=jit)

    @tf.function(jit_compile=jit)
    def both(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return y, tape.gradient(y, x, output_gradients=dy)

    return fwd, both


def tf_calls(fn, x, dy, jit=False, pure=False):
    """(forward, forward+backward) thunks of ``fn`` traced for one path; ``pure``: without kernels."""
    from tf_activations import native

    fwd, both = tf_pair(fn, jit)
    # the traced graph keeps the choice made while tracing
    with (native.disabled() if pure else contextlib.nullcontext()):
        fwd.get_concrete_function(x)
        both.get_concrete_function(x, dy)
    return (lambda: fwd(x)), (lambda: both(x, dy))


def graph_ops(fn, x, dy, pure=False):
    """The op types of ``fn``'s traced forward+backward graph, sorted (names aside)."""
    from tf_activations import native

    _, both = tf_pair(fn)
    with (native.disabled() if pure else contextlib.nullcontext()):
        graph = both.get_concrete_function(x, dy).graph
    return sorted(op.type for op in graph.get_operations())


def eager_both(fn, x, dy):
    """An eager forward+backward thunk under a tape, returning (y, dx)."""
    import tensorflow as tf

    def both():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = fn(x)
        return y, tape.gradient(y, x, output_gradients=dy)

    return both


def report_losses(ratios, peer, out, bar=1.0):
    """One line naming every cell where ours / ``peer`` is above ``bar``: a ratio above 1 is a
    loss, reported as one (``bar`` > 1 where a table's own noise is known to reach it).
    ``ratios``: {label: ratio}."""
    lost = [f"{label} {r:.2f}" for label, r in ratios.items() if r > bar]
    limit = "1" if bar == 1.0 else f"{bar:g}"
    print(f"losses to {peer} (ratio > {limit}): {len(lost)} of {len(ratios)}" + (f": {', '.join(lost)}" if lost else ""),
          file=out)


# ---- memory ---------------------------------------------------------------------------------

def status_mib(key):
    """A field of /proc/self/status (VmRSS, VmHWM, ...) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"/proc/self/status has no {key} (peak memory is read on Linux only)")


def peak_rise_mib(step):
    """How far the resident set's high-water mark rises above the current resident set while
    ``step()`` runs, in MiB. Call it in a fresh process after a warm-up: TF's allocator keeps
    what a step used, so a second step in the same process shows nothing."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident set
    base = status_mib("VmRSS")
    step()
    return status_mib("VmHWM") - base


# ---- accuracy -------------------------------------------------------------------------------

def max_ulp(y, exact, dtype="float32"):
    """(max error in ulp of ``dtype``, NaN count) of ``y`` against the float64 ``exact``.

    The unit is the spacing at the exact result rounded to ``dtype``; only points where that
    rounded result is a finite normal number count (subnormals have no relative precision to
    speak of). A NaN in ``y`` at such a point is counted, not folded into the maximum."""
    import numpy as np

    y = np.asarray(y)
    exact = np.asarray(exact, np.float64)
    with np.errstate(all="ignore"):
        rounded = exact.astype(dtype)
        normal = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(dtype).tiny)
        spacing = np.spacing(np.abs(rounded[normal])).astype(np.float64)
        err = np.abs(y[normal].astype(np.float64) - exact[normal]) / spacing
    nans = int(np.isnan(y[normal]).sum())
    if not err.size:
        return 0.0, 0
    return (float(np.nanmax(err)) if nans < err.size else float("nan")), nans


# ---- where and with what a table was measured ------------------------------------------------

def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(dist):
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def environment():
    """Lines naming the date, machine and versions (read without importing torch)."""
    import tensorflow as tf

    import tf_activations
    from tf_activations import native

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = [f"python {platform.python_version()}", f"tensorflow {tf.__version__}"]
    for dist in ("keras", "numpy", "torch"):
        v = _version(dist)
        versions.append(f"{dist} {v}" if v else f"{dist} not installed")
    # the library's file name (variant and flags), not where this machine keeps its cache
    kernels = os.path.basename(native.library_path()) if native.available() else "not loaded (pure TF)"
    return [f"# measured {now} on {platform.machine()}, {_cpu_model()}, {os.cpu_count()} cores, "
            f"{platform.system()} {platform.release()}",
            "# " + ", ".join(versions),
            f"# tf_activations {tf_activations.__version__}; kernels: {kernels}"]


# ---- progress -------------------------------------------------------------------------------

def _clock(seconds):
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


class Progress:
    """One line on stderr per measured row: what, k of n, elapsed, time left.

    Each row comes with an a-priori cost in seconds (this 2-core machine's); the time left is
    the remaining rows' cost scaled by how fast the finished rows went against theirs, so it
    corrects itself on a faster or busier machine. On a terminal the line is rewritten in
    place; elsewhere (a log, a pipe) each row gets its own line."""

    def __init__(self, costs, stream=None, enabled=True, clock=time.monotonic, startup=0.0):
        self.total = float(sum(costs) + startup) or 1.0
        self._startup = startup  # importing TensorFlow and the first traces, before the first row
        self.n = len(costs)
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.clock = clock
        self.start = clock()
        self.k = 0
        self.done_cost = 0.0
        self._current = 0.0
        self._tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def left(self):
        """Seconds left: the rows not yet finished at the pace of those that are."""
        remaining = self.total - self.done_cost
        if self.done_cost <= 0:
            return remaining
        return remaining * (self.clock() - self.start) / self.done_cost

    def row(self, what, cost):
        """Starts the next row (the previous one counts as done)."""
        self.done_cost += self._current + self._startup
        self._current, self._startup = cost, 0.0
        self.k += 1
        if self.enabled:
            line = (f"[{self.k}/{self.n}] {what}  elapsed {_clock(self.clock() - self.start)}, "
                    f"about {_clock(self.left())} left")
            if self._tty:
                self.stream.write("\r\033[K" + line)
            else:
                self.stream.write(line + "\n")
            self.stream.flush()

    def finish(self):
        self.done_cost += self._current
        self._current = 0.0
        if self.enabled:
            end = "\r\033[K" if self._tty else ""
            self.stream.write(f"{end}done: {self.k} rows in {_clock(self.clock() - self.start)}\n")
            self.stream.flush()


class NoProgress(Progress):
    def __init__(self):
        super().__init__([], enabled=False)


# ---- a fresh process --------------------------------------------------------------------------

def child_env(**extra):
    """The environment of a child process: this folder and the checkout first on the path,
    TensorFlow's C++ log lines off."""
    path = [HERE, REPO] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path), TF_CPP_MIN_LOG_LEVEL="3", **extra)


def run_child(module, function, args=(), **env):
    """``module.function(*args)`` in a fresh process; its printed last line, or None on failure
    (the child's error tail goes to stderr)."""
    code = f"import sys, {module}; print({module}.{function}(*sys.argv[1:]))"
    r = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=child_env(**env),
                       capture_output=True, text=True)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or not lines:
        print(f"{module}.{function}{tuple(args)} failed: {r.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    return lines[-1]
