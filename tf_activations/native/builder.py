"""Compiles ``kernels/*.cc`` into a TF custom-op library, cached per TF version and source hash.

Nothing here runs at import time: the library is only built by an explicit
``python -m tf_activations build`` (or :func:`build`). Loading looks up the
cache and never compiles.

Layout: ``$TF_ACTIVATIONS_CACHE`` (default ``~/.cache/tf_activations``) /
``tf<version>-<hash>/_tfa_ops_<variant>.so``. The hash covers the kernel
sources, the compiler command and flags, so an edit or a TF upgrade picks a
new directory. Variants: ``avx2`` (-mavx2 -mfma -mf16c; loaded only when the
CPU has them) and ``generic`` (baseline x86-64 / any other CPU);
``TF_ACTIVATIONS_SANITIZE=1`` selects separate ``-fsanitize=address,undefined``
builds. Concurrent builds are safe: a lock file serialises builders and each
compiles into a temporary file renamed into place atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"

_BASE_FLAGS = ["-shared", "-fPIC", "-O3", "-DNDEBUG", "-Wno-deprecated-declarations"]
_VARIANT_FLAGS = {"avx2": ["-mavx2", "-mfma", "-mf16c"], "generic": []}
# UBSan's null / nonnull checks make absl's constexpr hash traits fail to compile (GCC 12), so
# those three checks are off; the rest of -fsanitize=undefined and all of ASan stay on.
_SANITIZE_FLAGS = ["-fsanitize=address,undefined",
                   "-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute,pointer-compare",
                   "-fno-omit-frame-pointer", "-g"]


class BuildError(RuntimeError):
    pass


def sanitize_requested() -> bool:
    return os.environ.get("TF_ACTIVATIONS_SANITIZE", "").strip().lower() in ("1", "true", "yes", "on")


def cache_root() -> Path:
    env = os.environ.get("TF_ACTIVATIONS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tf_activations"


def sources() -> list:
    if not KERNEL_DIR.is_dir():
        return []
    return sorted(p for p in KERNEL_DIR.iterdir() if p.suffix in (".cc", ".h"))


def compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx:
        return shutil.which(cxx) or (cxx if os.path.exists(cxx) else None)
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _tf_flags():
    import tensorflow as tf

    return tf.__version__, list(tf.sysconfig.get_compile_flags()), list(tf.sysconfig.get_link_flags())


def host_variants() -> list:
    """Variants this CPU can run, best first."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return ["generic"]
    try:
        flags = set()
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        flags = set()
    return (["avx2"] if {"avx2", "fma", "f16c"} <= flags else []) + ["generic"]


def _variant_flags(variant: str) -> list:
    if platform.machine() not in ("x86_64", "AMD64"):
        return []
    return list(_VARIANT_FLAGS[variant])


def _command(variant: str, sanitize: bool, out: str, cxx: str, compile_flags, link_flags) -> list:
    cc = [str(p) for p in sources() if p.suffix == ".cc"]
    flags = list(_BASE_FLAGS)
    if sanitize:
        flags = [f for f in flags if f != "-O3"] + ["-O1"] + _SANITIZE_FLAGS
    extra = os.environ.get("TF_ACTIVATIONS_CXXFLAGS", "").split()  # e.g. -DTFA_WIDE_FLOAT32=1
    return [cxx, *compile_flags, *flags, *_variant_flags(variant), *extra, *cc, "-o", out, *link_flags]


def library_dir(sanitize: bool | None = None, cxx: str | None = None) -> Path | None:
    """The cache directory for the current sources, TF and flags (None without sources)."""
    srcs = sources()
    if not srcs:
        return None
    sanitize = sanitize_requested() if sanitize is None else sanitize
    version, cflags, lflags = _tf_flags()
    h = hashlib.sha256()
    for p in srcs:
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(repr((cflags, lflags, _BASE_FLAGS, _VARIANT_FLAGS, sanitize and _SANITIZE_FLAGS,
                   os.environ.get("CXX", ""), os.environ.get("TF_ACTIVATIONS_CXXFLAGS", ""))).encode())
    tag = ("asan-" if sanitize else "") + f"tf{version}-{h.hexdigest()[:16]}"
    return cache_root() / tag


def library_path(variant: str, sanitize: bool | None = None) -> Path | None:
    d = library_dir(sanitize)
    return None if d is None else d / f"_tfa_ops_{variant}.so"


def find_library() -> Path | None:
    """The best already-built library for this CPU, or None (never compiles)."""
    d = library_dir()
    if d is None or not d.is_dir():
        return None
    for variant in host_variants():
        p = d / f"_tfa_ops_{variant}.so"
        if p.is_file():
            return p
    return None


@contextlib.contextmanager
def _locked(directory: Path):
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(variants=None, sanitize: bool | None = None, force: bool = False, verbose: bool = True) -> Path:
    """Builds the requested variants (default: all this CPU can run); returns the best one's path.

    Raises BuildError with the compiler's message when no compiler is there
    or compiling fails.
    """
    sanitize = sanitize_requested() if sanitize is None else sanitize
    if not sources():
        raise BuildError(f"kernel sources not found in {KERNEL_DIR}")
    cxx = compiler()
    if cxx is None:
        raise BuildError("no C++ compiler found (set CXX, or install g++); the pure-TF path stays in use")
    version, cflags, lflags = _tf_flags()
    variants = list(variants or host_variants())
    d = library_dir(sanitize)
    log = (lambda *a: print(*a, file=sys.stderr)) if verbose else (lambda *a: None)
    with _locked(d):
        jobs = []
        for variant in variants:
            target = d / f"_tfa_ops_{variant}.so"
            if target.is_file() and not force:
                log(f"tf_activations: cached {target}")
                continue
            fd, tmp = tempfile.mkstemp(prefix=f".{variant}-", suffix=".so", dir=d)
            os.close(fd)
            cmd = _command(variant, sanitize, tmp, cxx, cflags, lflags)
            log(f"tf_activations: building {variant} kernels -> {target}")
            # a sanitizer runtime preloaded into this process must not leak into the compiler
            env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
            jobs.append((variant, target, tmp, cmd, proc))
        errors = []
        for variant, target, tmp, cmd, proc in jobs:
            output, _ = proc.communicate()
            if proc.returncode != 0:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                tail = "\n".join(l for l in output.splitlines() if "error" in l.lower())[-4000:]
                errors.append(f"{variant}: {' '.join(cmd)}\n{tail or output[-4000:]}")
                continue
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)  # atomic: a concurrent loader sees the old file or the new one
    if errors:
        raise BuildError("compiling the kernels failed; the pure-TF path stays in use:\n" + "\n".join(errors))
    best = find_library() if sanitize == sanitize_requested() else None
    if best is None:
        for variant in variants:
            p = d / f"_tfa_ops_{variant}.so"
            if p.is_file():
                best = p
                break
    if best is None:
        raise BuildError("no kernel library was produced")
    return best
