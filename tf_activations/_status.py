"""``tf_activations.status()``: what this process runs, and why.

Versions, the precision mode, whether the fused C++ kernels are loaded (from which
file, or why not and what to do), and for each activation the implementation a call
takes eagerly, in a ``tf.function``, under XLA and on a GPU/TPU. The paths are not
looked up in a table: each is what :func:`tf_activations._build.route` -- the code every
call goes through -- chooses when called eagerly, traced in a ``tf.function``, traced
with ``jit_compile=True``, and traced with the device question answered "an accelerator
is visible" (:func:`tf_activations.native.simulated_accelerator`), as this machine may
have none. Nothing runs at import; calling status() starts TensorFlow's runtime.
"""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap

import keras
import tensorflow as tf

from tf_activations import _build, _env, _mode, _registry, keras_strings, native
from tf_activations.native import builder

# Where a call can be made, in the order shown.
SITES = ("eager", "tf.function", "xla", "accelerator")
_SITE_TITLES = {"eager": "eager", "tf.function": "tf.function", "xla": "XLA", "accelerator": "GPU/TPU"}
_PATH_WORDS = {"kernel": "C++ kernel", "tf.nn": "tf.nn op", "keras": "Keras", "composite": "composite"}
_LEGEND = ("C++ kernel: a fused op from kernels/; tf.nn op: TensorFlow's own op (tf.nn.relu, tf.exp; "
           "linear returns x); Keras: Keras' own function of that name; composite: this package's "
           "formula with its declared gradient.")
_SCOPE = ("For float32 input and default parameters; a tensor (per-channel) parameter, float64 input "
          "or tf.vectorized_map can take another. GPU/TPU: eager or tf.function on an accelerator "
          "(XLA there is the XLA column).")
_BUILD = "tf-activations build"


@dataclasses.dataclass(frozen=True)
class Kernels:
    """The C++ kernels: ``active`` when calls may dispatch to them; ``state`` one of
    "loaded", "not built", "refused", "pure forced", "unsupported TF", "unsupported system",
    "no sources", "load failed", "foreign", "error"; ``reason`` and ``fix`` in words."""
    active: bool
    state: str
    path: str | None = None
    reason: str = ""
    fix: str = ""


@dataclasses.dataclass(frozen=True)
class Status:
    """What :func:`status` found. ``paths[name][site]`` is "kernel", "tf.nn", "keras" or
    "composite" for each site in :data:`SITES`. ``str()`` (and ``repr()``) is the report
    ``tf-activations status`` prints; :meth:`to_dict` is its ``--json``."""
    tensorflow: str
    keras: str
    keras_backend: str
    tf_keras: str | None
    exact: bool
    keras_strings: bool  # activation="mish" in Keras runs ours (False: Keras' own, use_keras_builtins())
    kernels: Kernels
    paths: dict

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def __str__(self) -> str:
        k = self.kernels
        lines = [f"TensorFlow   {self.tensorflow}",
                 f"Keras        {self.keras} (backend: {self.keras_backend})"]
        if self.tf_keras is not None:
            lines.append(f"tf_keras     {self.tf_keras} (TF_USE_LEGACY_KERAS)")
        lines.append(f"exact mode   {'on' if self.exact else 'off'}")
        if not self.keras_strings:
            lines.append("strings      Keras' own functions for the names Keras has (use_keras_builtins()): "
                         "the paths below are tf_activations.<name>'s")
        lines.append(f"C++ kernels  {k.state}" + (f": {k.path}" if k.state == "loaded" else ""))
        if k.state != "loaded" and k.path:
            lines.append(f"             library: {k.path}")
        if k.reason:
            lines.append(f"             why: {k.reason}")
        if k.fix:
            lines.append(f"             fix: {k.fix}")
        if self.paths:
            lines += ["", "what each call runs in this mode:"]
            width = max(len(n) for n in self.paths)
            cols = [max(len(_SITE_TITLES[s]), *(len(_PATH_WORDS[p]) for p in _PATH_WORDS)) for s in SITES]
            header = "  ".join(f"{_SITE_TITLES[s]:<{w}}" for s, w in zip(SITES, cols))
            lines.append(f"  {'':<{width}}  {header}".rstrip())
            for name, where in self.paths.items():
                cells = "  ".join(f"{_PATH_WORDS.get(where[s], where[s]):<{w}}" for s, w in zip(SITES, cols))
                lines.append(f"  {name:<{width}}  {cells}".rstrip())
            lines.append("")
            lines += textwrap.wrap(_LEGEND, 100) + textwrap.wrap(_SCOPE, 100)
        return "\n".join(lines)

    __repr__ = __str__


def _tf_too_old(version: str, minimum: tuple) -> bool:
    parts = version.split(".")[:2]
    try:
        return tuple(int(p) for p in parts) < minimum
    except ValueError:  # a nightly or local build: let the builder decide
        return False


def kernel_status() -> Kernels:
    """The kernels' state in this process, loading them only as the import would have."""
    if native.pure_forced():
        by = ("TF_ACTIVATIONS_PURE is on" if _env.flag("TF_ACTIVATIONS_PURE")
              else "inside tf_activations.native.disabled() in this thread")
        fix = "unset TF_ACTIVATIONS_PURE" if _env.flag("TF_ACTIVATIONS_PURE") else "leave the disabled() block"
        path = native.library_path()
        if path is None:
            try:  # say whether there is a library to go back to: checked, never loaded
                found = builder.find_library()
                path = None if found is None else str(found)
            except builder.BuildError:
                path = None
        return Kernels(False, "pure forced", path, f"{by}: every call takes the pure-TF path", fix)
    if _tf_too_old(tf.__version__, builder.KERNELS_MIN_TF):
        need = ".".join(map(str, builder.KERNELS_MIN_TF))
        return Kernels(False, "unsupported TF", None,
                       f"the kernels need TensorFlow {need} or later (TF {tf.__version__}'s Eigen cannot "
                       f"compile them); the pure-TF path runs", f"upgrade TensorFlow to {need} or later")
    native.load()  # a no-op after the import's attempt: only reports what it found
    found = native.load_state()
    if found.state == "loaded":
        return Kernels(True, "loaded", found.path)
    if found.state == "not built":
        where = builder.cache_root()
        return Kernels(False, "not built", None, f"no library for this TensorFlow and these sources in {where}",
                       f"run `{_BUILD}` (or python -m tf_activations build), then restart Python")
    if found.state == "no sources":
        return Kernels(False, "no sources", None, "the kernel sources are not installed with this package",
                       "reinstall tf-activations")
    if found.state == "refused" and not os.path.isdir(builder.FD_DIR):
        return Kernels(False, "unsupported system", found.path, found.reason,
                       "none: the kernels load only where /proc/self/fd exists (Linux)")
    if found.state in ("refused", "load failed", "foreign"):
        fix = (f"see why; then `{_BUILD} --force` (or a cache of your own in TF_ACTIVATIONS_CACHE)"
               if found.state == "refused" else f"`{_BUILD} --force`")
        return Kernels(False, found.state, found.path, found.reason, fix)
    return Kernels(False, found.state, found.path, found.reason or "the kernels could not be looked up",
                   f"`{_BUILD}`")


def _routes(functions: dict, x_or_spec, traced: str | None) -> dict:
    """name -> the path route() takes, called eagerly (traced None) or traced as a
    tf.function ("graph") or with jit_compile ("xla")."""

    taken = {}

    def probe(x):
        for name, fn in functions.items():
            base = getattr(fn, "variant_of", fn)  # gelu_tanh runs gelu(approximate=True)
            params = {**base.spec.defaults, **getattr(fn, "fixed", {})}
            taken[name] = _build.route(base.spec, x, params, base.keras_call)[0]
        return x

    if traced is None:
        probe(x_or_spec)
    else:
        tf.function(probe, jit_compile=traced == "xla", autograph=False).get_concrete_function(x_or_spec)
    return taken


def path_table(names=None) -> dict:
    """name -> {site: path} for ``names`` (every activation by default; aliases accepted)."""
    chosen = _registry.available() if names is None else list(dict.fromkeys(map(_registry.canonical, names)))
    functions = {n: _registry.FUNCTIONS[n] for n in chosen}
    # [2, 8]: every function takes it with its defaults (glu's even axis, maxout's units)
    spec = tf.TensorSpec([2, 8], tf.float32)
    by_site = {"eager": _routes(functions, tf.zeros(spec.shape, spec.dtype), None),
               "tf.function": _routes(functions, spec, "graph"),
               "xla": _routes(functions, spec, "xla")}
    with native.simulated_accelerator():
        by_site["accelerator"] = _routes(functions, spec, "graph")
    return {n: {site: by_site[site][n] for site in SITES} for n in chosen}


def status(names=None) -> Status:
    """Versions, precision mode, the C++ kernels (loaded from which file, or why not and
    what to do) and, for each of ``names`` (default: every activation), what a call runs
    eagerly, in a ``tf.function``, under XLA and on a GPU/TPU in the current mode.

    Derived from the dispatch code itself (see the module docstring); ``print()`` it for a
    report. Calling it starts TensorFlow's runtime (importing the package does not).
    """
    if isinstance(names, str):
        names = [names]

    tf_keras = None
    if _env.legacy_keras():
        try:
            import tf_keras as _tf_keras

            tf_keras = _tf_keras.__version__
        except ImportError:
            tf_keras = "not installed (pip install 'tf-activations[legacy]')"
    return Status(tensorflow=tf.__version__, keras=keras.__version__, keras_backend=keras.backend.backend(),
                  tf_keras=tf_keras, exact=_mode.is_exact(),
                  keras_strings=keras.backend.backend() == "tensorflow" and keras_strings.overrides_builtins(),
                  kernels=kernel_status(),
                  paths=path_table(names))
