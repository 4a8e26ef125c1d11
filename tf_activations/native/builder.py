"""Compiles the kernel sources into a TF custom-op library, cached per TF version and source hash.

Nothing here runs at import time: the library is only built by an explicit
``tf-activations build`` (or :func:`build`). Loading looks up the cache and never
compiles.

Sources: ``tf_activations/native/kernels/`` in a wheel or sdist install (copied
there from the repository's top-level ``kernels/`` by ``setup.py``), else the
top-level ``kernels/`` of a source checkout (editable install).

Layout: ``$TF_ACTIVATIONS_CACHE`` (default ``~/.cache/tf_activations``; must be
absolute) / ``tf<version>-<hash>/_tfa_ops_<variant>.so`` plus
``_tfa_ops_<variant>.so.json`` (size, SHA-256 and the compiler that made it).
The directory hash covers what a loader can know without a compiler: the kernel
sources, TF's compile and link flags and our flags (including
``TF_ACTIVATIONS_CXXFLAGS``). The compiler's identity (its resolved path, its
arguments from ``CXX`` and its ``--version`` output; never how ``CXX`` was
spelled) is recorded in the ``.json`` file, and ``build`` recompiles when it
differs from the compiler it would use now. Variants: ``avx2`` (-mavx2 -mfma
-mf16c; loaded only when the CPU has them) and ``generic`` (baseline x86-64 / any
other CPU); ``TF_ACTIVATIONS_SANITIZE=1`` selects separate
``-fsanitize=address,undefined`` builds.

Safety: a library is loaded only from a cache directory (and its parent cache
root) owned by the current user and not writable by group or others, only if the
file is such too, is a regular file (not a symlink) whose size and SHA-256 match
the ``.json`` file written at build time and that starts with an ELF header.
These checks are made on one open descriptor (no symlink below the cache root),
and the loader maps that same file through ``/proc/self/fd``, so swapping the
cache after the checks changes nothing that is loaded; without ``/proc/self/fd``
the kernels are not loaded.
Directories are created 0700 whatever the umask; the lock file is opened
``O_NOFOLLOW``, mode 0600. Concurrent builds are safe: the lock serialises
builders and each compiles into a temporary file renamed into place atomically.
Ctrl-C or SIGTERM during a build kills the compilers' process groups and removes
the temporary files; what a build killed by SIGKILL left behind is removed by the
next build (holding the lock, so no build is using it).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tf_activations import _env

_HERE = Path(__file__).resolve().parent
PACKAGED_KERNEL_DIR = _HERE / "kernels"             # wheel / sdist installs
CHECKOUT_KERNEL_DIR = _HERE.parents[1] / "kernels"  # a clone (editable install)

_BASE_FLAGS = ["-shared", "-fPIC", "-O3", "-DNDEBUG", "-Wno-deprecated-declarations"]
_VARIANT_FLAGS = {"avx2": ["-mavx2", "-mfma", "-mf16c"], "generic": []}
# UBSan's null / nonnull checks make absl's constexpr hash traits fail to compile (GCC 12), so
# those three checks are off; the rest of -fsanitize=undefined and all of ASan stay on.
_SANITIZE_FLAGS = ["-fsanitize=address,undefined",
                   "-fno-sanitize=null,nonnull-attribute,returns-nonnull-attribute,pointer-compare",
                   "-fno-omit-frame-pointer", "-g"]
_ELF_MAGIC = b"\x7fELF"
_MIN_LIBRARY_SIZE = 64  # an ELF header; a real library is megabytes
EXPECTED_OPS = ("tfa_forward", "tfa_backward", "tfa_forward_saved", "tfa_attach", "tfa_gated_forward",
                "tfa_gated_backward")
_REBUILD = "rebuild it with `tf-activations build --force`"


# TF 2.16-2.20 ship an Eigen without packet log1p for double, which the kernels use: g++ fails
# with pages of template errors (checked with 2.16.2, 2.18 and 2.20.0); 2.21 compiles them.
KERNELS_MIN_TF = (2, 21)


class BuildError(RuntimeError):
    pass


class UnsafeCache(BuildError):
    """The cache (or a file in it) could have been written by someone else: never loaded."""


class InvalidLibrary(BuildError):
    """A library in the cache is truncated, foreign or has no checksum: never loaded."""


class Interrupted(BaseException):
    """SIGTERM during a build (Ctrl-C raises KeyboardInterrupt)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def sanitize_requested() -> bool:
    return _env.flag("TF_ACTIVATIONS_SANITIZE")


def cache_root() -> Path:
    env = os.environ.get("TF_ACTIVATIONS_CACHE")
    if not env:
        return Path.home() / ".cache" / "tf_activations"
    root = Path(env).expanduser()
    if not root.is_absolute():
        raise UnsafeCache(f"TF_ACTIVATIONS_CACHE must be an absolute path, got {env!r} (a relative one "
                          f"would load whatever the current directory holds); set it to an absolute "
                          f"directory of your own, or unset it to use ~/.cache/tf_activations")
    return root


def kernel_dir() -> Path | None:
    """Where the kernel sources are: packaged with the install, else a source checkout."""
    if (PACKAGED_KERNEL_DIR / "activation_ops.cc").is_file():
        return PACKAGED_KERNEL_DIR
    # only a checkout has pyproject.toml next to the package (site-packages/kernels may be anyone's)
    if (CHECKOUT_KERNEL_DIR.parent / "pyproject.toml").is_file() and \
            (CHECKOUT_KERNEL_DIR / "activation_ops.cc").is_file():
        return CHECKOUT_KERNEL_DIR
    return None


def sources() -> list:
    d = kernel_dir()
    if d is None:
        return []
    return sorted(p for p in d.iterdir() if p.suffix in (".cc", ".h"))


def compiler_command() -> list | None:
    """The compiler as an argument list: ``CXX`` split like a shell would ("g++ -O2" works), with
    its program resolved on PATH; else the first of g++, c++, clang++. None when there is none."""
    cxx = os.environ.get("CXX", "").strip()
    if cxx:
        try:
            parts = shlex.split(cxx)
        except ValueError as err:
            raise BuildError(f"CXX={cxx!r} cannot be split into a command ({err})") from None
        if not parts:
            return None
        exe = shutil.which(parts[0])
        if exe is None and os.path.isfile(parts[0]) and os.access(parts[0], os.X_OK):
            exe = parts[0]
        return [os.path.abspath(exe), *parts[1:]] if exe else None
    for name in ("g++", "c++", "clang++"):
        found = shutil.which(name)
        if found:
            return [os.path.abspath(found)]
    return None


def _compiler_env(tmpdir=None) -> dict:
    # a sanitizer runtime preloaded into this process must not leak into the compiler
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "ASAN_OPTIONS")}
    if tmpdir is not None:
        env["TMPDIR"] = str(tmpdir)  # the compiler's own temporary files, removed with it
    return env


def compiler_identity(cmd) -> dict:
    """What about the compiler determines the binary: the real file, its arguments, its version."""
    try:
        done = subprocess.run([cmd[0], "--version"], capture_output=True, text=True, timeout=60,
                              env=_compiler_env(), stdin=subprocess.DEVNULL)
        version = (done.stdout.strip().splitlines() or [""])[0]
        # GCC starts with the name it was called by ("g++ (Debian 12.2.0-14) 12.2.0"): not part of its identity
        name = os.path.basename(cmd[0])
        if version.startswith(name + " "):
            version = version[len(name):].lstrip()
        version += f" (exit {done.returncode})"
    except (OSError, subprocess.SubprocessError) as err:
        version = f"unknown ({type(err).__name__})"
    return {"path": os.path.realpath(cmd[0]), "args": list(cmd[1:]), "version": version}


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


def _extra_flags() -> list:
    """TF_ACTIVATIONS_CXXFLAGS split as a shell would (e.g. -DTFA_WIDE_FLOAT32=1). The loader
    needs them too (they are part of the cache directory's name), so a value that cannot be
    split is an error for both, not a silent "no kernels"."""
    value = os.environ.get("TF_ACTIVATIONS_CXXFLAGS", "")
    try:
        return shlex.split(value)
    except ValueError as err:
        raise BuildError(f"TF_ACTIVATIONS_CXXFLAGS={value!r} cannot be split into compiler flags ({err}); "
                         f"write it as shell words with balanced quotes (e.g. "
                         f"TF_ACTIVATIONS_CXXFLAGS=\"-O2 -DNAME='a b'\"), or unset it") from None


def _flags(variant: str, sanitize: bool) -> list:
    flags = list(_BASE_FLAGS)
    if sanitize:
        flags = [f for f in flags if f != "-O3"] + ["-O1"] + _SANITIZE_FLAGS
    return flags + _variant_flags(variant) + _extra_flags()


def _command(variant, sanitize, out, cmd, compile_flags, link_flags) -> list:
    cc = [str(p) for p in sources() if p.suffix == ".cc"]
    return [*cmd, *compile_flags, *_flags(variant, sanitize), *cc, "-o", out, *link_flags]


def library_dir(sanitize: bool | None = None) -> Path | None:
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
                   _extra_flags())).encode())
    tag = ("asan-" if sanitize else "") + f"tf{version}-{h.hexdigest()[:16]}"
    return cache_root() / tag


def library_path(variant: str, sanitize: bool | None = None) -> Path | None:
    d = library_dir(sanitize)
    return None if d is None else d / f"_tfa_ops_{variant}.so"


def manifest_path(library) -> Path:
    return Path(str(library) + ".json")


# --- who may have written it -------------------------------------------------
def _uid() -> int:
    return os.geteuid()


def _check_private(path: Path, st, what: str) -> None:
    if st.st_uid != _uid():
        raise UnsafeCache(f"{what} {path} is owned by uid {st.st_uid}, not by you (uid {_uid()}); "
                          f"use a cache of your own: set TF_ACTIVATIONS_CACHE to an absolute directory "
                          f"you own, then run `tf-activations build`")
    if st.st_mode & 0o022:
        raise UnsafeCache(f"{what} {path} is writable by group or others (mode {stat.S_IMODE(st.st_mode):04o}), "
                          f"so what it holds may have been planted; remove it (rm -rf {path}) and run "
                          f"`tf-activations build`")


def check_private_dir(path: Path) -> None:
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeCache(f"the kernel cache {path} is not a directory; remove it and run `tf-activations build`")
    _check_private(path, st, "the kernel cache directory")


_MAX_MANIFEST_SIZE = 1 << 16  # a few hundred bytes when written by `build`


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _open_in(directory_fd: int, name: str, path: Path, flags: int) -> int:
    """Opens name inside an already-checked directory, never through a symlink."""
    try:
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory_fd)
    except OSError as err:
        if err.errno not in (errno.ELOOP, errno.ENOTDIR):  # O_NOFOLLOW's and O_DIRECTORY's refusals
            raise
        with contextlib.suppress(OSError):
            if stat.S_ISLNK(os.stat(name, dir_fd=directory_fd, follow_symlinks=False).st_mode):
                raise UnsafeCache(f"{path} is a symlink (planted?), not what `tf-activations build` writes; "
                                  f"remove it and run `tf-activations build`") from None
        raise UnsafeCache(f"{path} is not a {'directory' if flags & os.O_DIRECTORY else 'regular file'}; "
                          f"remove it and run `tf-activations build`") from None


def _checked_dir(path: Path, parent_fd: int | None) -> int:
    # The root is the user's own setting and may be reached through a symlink; the directories
    # and files below it are written by `build` and never are.
    if parent_fd is None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except NotADirectoryError:
            raise UnsafeCache(f"the kernel cache {path} is not a directory; remove it and run "
                              f"`tf-activations build`") from None
    else:
        fd = _open_in(parent_fd, path.name, path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        _check_private(path, os.fstat(fd), "the kernel cache directory")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _checked_file(directory_fd: int, path: Path) -> tuple:
    # O_NONBLOCK: a FIFO put there must not hang the import; it is refused just below
    fd = _open_in(directory_fd, path.name, path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeCache(f"{path} is not a regular file; remove it and run `tf-activations build`")
        _check_private(path, st, "the file")
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _read_manifest(directory_fd: int, path: Path) -> tuple:
    manifest_file = manifest_path(path)
    try:
        fd, _ = _checked_file(directory_fd, manifest_file)
        with os.fdopen(fd, "rb") as f:
            raw = f.read(_MAX_MANIFEST_SIZE + 1)
        if len(raw) > _MAX_MANIFEST_SIZE:
            raise ValueError(f"larger than {_MAX_MANIFEST_SIZE} bytes")
        manifest = json.loads(raw)
        return manifest, int(manifest["size"]), str(manifest["sha256"])
    except FileNotFoundError:
        raise InvalidLibrary(f"{path} has no checksum file {manifest_file.name} (not written by "
                             f"`tf-activations build`); {_REBUILD}") from None
    except (ValueError, KeyError, TypeError, OSError) as err:
        raise InvalidLibrary(f"the checksum file {manifest_file} is unreadable ({err}); {_REBUILD}") from None


def _check_contents(fd: int, st, path: Path, want_size: int, want_sha: str) -> None:
    """Size, ELF header and SHA-256, read through the descriptor that will be loaded."""
    if st.st_size < _MIN_LIBRARY_SIZE or st.st_size != want_size:
        raise InvalidLibrary(f"{path} is {st.st_size} bytes, the build wrote {want_size} (truncated or "
                             f"replaced); {_REBUILD}")
    if os.pread(fd, 4, 0) != _ELF_MAGIC:
        raise InvalidLibrary(f"{path} is not a shared library (no ELF header); {_REBUILD}")
    h = hashlib.sha256()
    offset = 0
    while block := os.pread(fd, 1 << 20, offset):
        h.update(block)
        offset += len(block)
    if h.hexdigest() != want_sha:
        raise InvalidLibrary(f"{path} does not match the SHA-256 recorded when it was built; {_REBUILD}")


@contextlib.contextmanager
def opened_library(path):
    """Yields ``(fd, manifest)``: a read-only descriptor of the cached library, verified through
    that descriptor (the file, its directory and the cache root are private and no symlinks
    below the root; size, ELF header and SHA-256 as recorded at build time). Raises
    UnsafeCache / InvalidLibrary otherwise; never loads or executes anything.

    Whoever holds the descriptor holds the very file that was checked, whatever is renamed
    afterwards; checking by path and then loading by path would not."""
    path = Path(os.path.abspath(path))
    with contextlib.ExitStack() as stack:
        root_fd = _checked_dir(path.parent.parent, None)
        stack.callback(os.close, root_fd)
        dir_fd = _checked_dir(path.parent, root_fd)
        stack.callback(os.close, dir_fd)
        fd, st = _checked_file(dir_fd, path)
        stack.callback(os.close, fd)
        manifest, want_size, want_sha = _read_manifest(dir_fd, path)
        _check_contents(fd, st, path, want_size, want_sha)
        yield fd, manifest


def verify_library(path) -> dict:
    """Checks a cached library (see :func:`opened_library`); returns its manifest or raises
    UnsafeCache / InvalidLibrary (never loads or executes anything)."""
    with opened_library(path) as (_, manifest):
        return manifest


# Loading goes through /proc/self/fd/N of the verified descriptor: dlopen then maps the inode
# that was hashed even if the cache is swapped meanwhile. Chosen over copying the verified bytes
# to a fresh private file: no second copy of a multi-megabyte file per import, no failure where
# the temporary directory is mounted noexec, and no further directory whose safety would need
# checking. TensorFlow caches loaded libraries by the name it was given and returns the first
# library's ops for a name seen before, so every load uses a descriptor number none used before.
FD_DIR = "/proc/self/fd"
_next_fd = [0]
_next_fd_lock = threading.Lock()


@contextlib.contextmanager
def loadable(path):
    """Yields a name under which dlopen (``tf.load_op_library``) opens exactly the library that
    was verified (see :func:`opened_library`), never a file put in its place afterwards.

    Raises UnsafeCache where there is no /proc/self/fd (not Linux): there the library cannot
    be loaded without a window between checking and loading, so it is not loaded at all."""
    import fcntl

    if not os.path.isdir(FD_DIR):
        raise UnsafeCache(f"cannot load {path} safely on this system: loading the very file that was "
                          f"verified needs {FD_DIR} (Linux)")
    with opened_library(path) as (fd, _):
        with _next_fd_lock:
            fresh = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _next_fd[0])
            _next_fd[0] = fresh + 1
        try:
            name = f"{FD_DIR}/{fresh}"
            st, seen = os.fstat(fd), os.stat(name)
            if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
                raise UnsafeCache(f"cannot load {path} safely: {name} does not name the verified file")
            yield name
        finally:
            os.close(fresh)


def find_library() -> Path | None:
    """The best already-built library for this CPU, or None (never compiles).

    Raises UnsafeCache / InvalidLibrary when the library that would be loaded must not be."""
    p = library_candidate()
    if p is not None:
        verify_library(p)
    return p


def library_candidate() -> Path | None:
    """The library find_library would check, unchecked (the loader checks it as it opens it)."""
    d = library_dir()
    if d is None or not d.is_dir():
        return None
    for variant in host_variants():
        p = d / f"_tfa_ops_{variant}.so"
        if os.path.lexists(p):
            return p
    return None


# --- building ----------------------------------------------------------------
def _make_private_dirs(path: Path) -> None:
    """Creates path and its missing parents 0700 whatever the umask."""
    missing = []
    p = path
    while not os.path.lexists(p):
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            continue
        os.chmod(d, 0o700)  # mkdir's mode is masked by the umask, chmod's is not


@contextlib.contextmanager
def _locked(directory: Path, wait: bool = True):
    """Holds the directory's build lock (wait=False: BlockingIOError if a build holds it)."""
    import fcntl

    lock = directory / ".lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as err:
        if os.path.islink(lock):
            raise UnsafeCache(f"{lock} is a symlink (planted?); remove it and build again") from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeCache(f"{lock} is not a regular file; remove it and build again")
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


# The names tempfile gives a build's scratch directory, partial outputs and checksum files.
_LEFTOVER_DIR = re.compile(r"\.build-[a-z0-9_]+")
_LEFTOVER_FILE = re.compile(r"\.(?:%s)-[a-z0-9_]+\.so|\.manifest-[a-z0-9_]+" % "|".join(_VARIANT_FLAGS))


def _leftovers(d: Path) -> list:
    """A killed build's temporary files in d: ours, with the names a build gives them, a
    directory or a regular file as a build makes them (never a symlink, never followed)."""
    found = []
    with os.scandir(d) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if st.st_uid != _uid():
                continue
            if (_LEFTOVER_DIR.fullmatch(entry.name) and stat.S_ISDIR(st.st_mode)) or \
                    (_LEFTOVER_FILE.fullmatch(entry.name) and stat.S_ISREG(st.st_mode)):
                found.append(Path(entry.path))
    return found


def _remove_leftovers(d: Path) -> None:
    """Call only holding d's lock: builds make temporary files only while holding it, so any
    still there belong to a build that has ended (SIGKILL skips its cleanup)."""
    for p in _leftovers(d):
        with contextlib.suppress(OSError):
            if p.name.startswith(".build-"):
                shutil.rmtree(p)  # fd-based on Linux: symlinks inside are removed, not followed
            else:
                os.unlink(p)


def _remove_leftovers_if_idle(d: Path) -> None:
    """Cleans up without waiting: a build running now keeps its files; a cache we cannot write
    keeps them too (it is still usable)."""
    if not _leftovers(d):
        return
    with contextlib.suppress(OSError):
        with _locked(d, wait=False):
            _remove_leftovers(d)


def _cached(target: Path, build_id: dict | None) -> bool:
    """A valid library already there, made by the same compiler (any, without one to compare)."""
    if not os.path.lexists(target):
        return False
    try:
        manifest = verify_library(target)
    except InvalidLibrary:
        return False
    return build_id is None or manifest.get("build") == build_id


def _write_manifest(target: Path, build_id: dict) -> None:
    data = {"sha256": _sha256(target), "size": os.stat(target).st_size, "build": build_id}
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=target.parent)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, manifest_path(target))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _stop(proc) -> None:
    """Stops a compiler and everything it started (its own process group)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextlib.contextmanager
def _sigterm_raises():
    """SIGTERM becomes an exception, so the build's cleanup runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise Interrupted(signum)

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _write_error(d: Path, err: OSError) -> BuildError:
    return BuildError(f"cannot write the kernel cache {d} ({err.strerror or err}); make it writable, or set "
                      f"TF_ACTIVATIONS_CACHE to an absolute directory you can write")


def build(variants=None, sanitize: bool | None = None, force: bool = False, verbose: bool = True) -> Path:
    """Builds the requested variants (default: all this CPU can run); returns the best one's path.

    Raises BuildError with the compiler's message when no compiler is there,
    compiling fails or produces no library, or the cache is not safe or not
    writable. Ctrl-C (KeyboardInterrupt) and SIGTERM (Interrupted) stop the
    compilers and remove the temporary files before propagating.
    """
    sanitize = sanitize_requested() if sanitize is None else sanitize
    if not sources():
        raise BuildError(f"kernel sources not found (looked in {PACKAGED_KERNEL_DIR} and "
                         f"{CHECKOUT_KERNEL_DIR}); reinstall tf-activations")
    cmd = compiler_command()
    build_id = None if cmd is None else compiler_identity(cmd)
    version, cflags, lflags = _tf_flags()
    found = re.match(r"(\d+)\.(\d+)", version)
    if found and tuple(map(int, found.groups())) < KERNELS_MIN_TF:
        raise BuildError(f"the kernels need TensorFlow {'.'.join(map(str, KERNELS_MIN_TF))} or later (the Eigen in "
                         f"TF {version} cannot compile them); the pure-TF path stays in use")
    variants = list(dict.fromkeys(variants or host_variants()))
    d = library_dir(sanitize)
    log = (lambda *a: print(*a, file=sys.stderr)) if verbose else (lambda *a: None)

    def ident(variant):
        return None if build_id is None else {"compiler": build_id, "flags": _flags(variant, sanitize)}

    def all_cached():
        return not force and all(_cached(d / f"_tfa_ops_{v}.so", ident(v)) for v in variants)

    if os.path.isdir(d.parent):
        check_private_dir(d.parent)  # before anything is created in it
    if os.path.isdir(d):
        check_private_dir(d)
        if all_cached():  # no lock needed, so a read-only cache that has everything is fine
            _remove_leftovers_if_idle(d)
            log(f"tf_activations: already built and valid ({', '.join(variants)}) in {d}")
            return _best(d, variants, sanitize)
    if cmd is None:
        raise BuildError("no C++ compiler found (set CXX, or install g++); the pure-TF path stays in use")
    try:
        _make_private_dirs(d)
        check_private_dir(d.parent)
        check_private_dir(d)
        with _locked(d), _sigterm_raises():
            _build_locked(d, variants, sanitize, force, cmd, ident, cflags, lflags, log)
    except BuildError:
        raise
    except OSError as err:
        raise _write_error(d, err) from None
    return _best(d, variants, sanitize)


def _build_locked(d, variants, sanitize, force, cmd, ident, cflags, lflags, log):
    _remove_leftovers(d)
    jobs = []
    scratch = None
    try:
        for variant in variants:
            target = d / f"_tfa_ops_{variant}.so"
            if not force and _cached(target, ident(variant)):
                log(f"tf_activations: cached {target}")
                continue
            if scratch is None:
                scratch = tempfile.mkdtemp(prefix=".build-", dir=d)
            fd, tmp = tempfile.mkstemp(prefix=f".{variant}-", suffix=".so", dir=d)
            os.close(fd)
            full = _command(variant, sanitize, tmp, cmd, cflags, lflags)
            log(f"tf_activations: building {variant} kernels -> {target}")
            jobs.append([variant, target, tmp, full, None])
            try:
                jobs[-1][4] = subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                               env=_compiler_env(scratch), stdin=subprocess.DEVNULL,
                                               start_new_session=True)  # own group: killed as one
            except OSError as err:
                raise BuildError(f"cannot run the compiler {cmd[0]} ({err}); set CXX to a C++ compiler") from None
        errors = []
        for variant, target, tmp, full, proc in jobs:
            output, _ = proc.communicate()
            problem = None
            if proc.returncode != 0:
                tail = "\n".join(l for l in output.splitlines() if "error" in l.lower())[-4000:]
                problem = tail or output[-4000:]
            else:
                with open(tmp, "rb") as f:
                    head = f.read(4)
                size = os.stat(tmp).st_size
                if size < _MIN_LIBRARY_SIZE or head != _ELF_MAGIC:
                    problem = (f"the compiler exited 0 but wrote no shared library ({size} bytes"
                               f"{'' if not size else ', no ELF header'}); check CXX")
            if problem is not None:
                errors.append(f"{variant}: {shlex.join(full)}\n{problem}")
                continue
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)  # atomic: a concurrent loader sees the old file or the new one
            _write_manifest(target, ident(variant))
        if errors:
            raise BuildError("compiling the kernels failed; the pure-TF path stays in use:\n" + "\n".join(errors))
    finally:
        for job in jobs:
            if job[4] is not None:
                _stop(job[4])
            with contextlib.suppress(OSError):
                os.unlink(job[2])
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _best(d: Path, variants, sanitize) -> Path:
    """The best valid library in d for this CPU, else the first requested one that is valid."""
    for variant in host_variants() + [v for v in variants if v not in host_variants()]:
        p = d / f"_tfa_ops_{variant}.so"
        if _cached(p, None):
            return p
    raise BuildError("no kernel library was produced")
