"""The kernel cache cannot be turned against its user: eight attacks, each reproduced.

1. a library planted in a cache someone else can write (world/group-writable, another owner,
   a relative TF_ACTIVATIONS_CACHE, a cache made under umask 000) is never loaded;
2. a planted ``.lock`` symlink is not followed;
3. a truncated (or empty) library is refused before it is mapped: no bus error;
4. a compiler that exits 0 without writing a library fails the build;
5. a shared object that registers no ops leaves ``available()`` False;
6. the compiler is identified by what it resolves to, not by how CXX is spelled; CXX may
   carry arguments;
7. ``build`` on a read-only cache: one line, exit 0 when all is cached, else a clear error;
8. Ctrl-C or SIGTERM during ``build`` stops the compilers and removes temporary files; what a
   build killed with SIGKILL left is removed by the next build, and nothing else is.

A stand-in compiler (a Python script) keeps these fast; the only real compile is a tiny C
shared object (a constructor that leaves a marker file, and no ops).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from conftest import REPO, needs_kernel_build, run_python
from tf_activations import native
from tf_activations.native import builder
from tf_activations.native import cli as native_cli

FAKE_CXX = """\
#!{python}
import os, subprocess, sys, tempfile, time
if sys.argv[1:] == ["--version"]:
    sys.exit(print("fake-c++ 1.0"))
with open(os.environ["FAKE_CXX_LOG"], "a") as log:
    log.write(" ".join(sys.argv[1:]) + "\\n")
out = sys.argv[sys.argv.index("-o") + 1]
if os.environ.get("FAKE_CXX_MODE") == "sleep":
    # like g++: a temporary file in TMPDIR and a child (cc1plus) in the same process group
    fd, scratch = tempfile.mkstemp(prefix="fake-cc1plus-")
    child = subprocess.Popen(["sleep", "120"])
    with open(os.environ["FAKE_CXX_PIDS"], "w") as f:
        f.write(f"{{os.getpid()}} {{child.pid}} {{scratch}}\\n")
    time.sleep(120)
with open(out, "wb") as f:
    f.write(b"\\x7fELF stand-in library" + bytes(100))
"""

PLANTED_C = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((constructor)) static void planted(void) {
    const char *path = getenv("TFA_PLANTED_MARKER");
    if (path) { FILE *f = fopen(path, "w"); if (f) { fputs("constructor ran", f); fclose(f); } }
}
"""


MARKER_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((constructor)) static void ran(void) {
    const char *dir = getenv("TFA_MARKER_DIR");
    char path[4096];
    if (dir && strlen(dir) < 4000) {
        snprintf(path, sizeof path, "%s/%s-ran", dir, WHO);
        FILE *f = fopen(path, "w");
        if (f) fclose(f);
    }
}
"""


@pytest.fixture
def fake_cxx(tmp_path):
    path = tmp_path / "fake-c++"
    path.write_text(FAKE_CXX.format(python=sys.executable))
    path.chmod(0o755)
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch, fake_cxx):
    """A private temporary cache, the stand-in compiler, and a fresh (restored) loader state."""
    root = tmp_path / "cache"
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", str(root))
    monkeypatch.setenv("CXX", str(fake_cxx))
    monkeypatch.setenv("FAKE_CXX_LOG", str(tmp_path / "cxx.log"))
    monkeypatch.setenv("TFA_PLANTED_MARKER", str(tmp_path / "constructor-ran"))
    for var in ("TF_ACTIVATIONS_SANITIZE", "TF_ACTIVATIONS_CXXFLAGS", "TF_ACTIVATIONS_PURE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(native, "_lib", None)
    monkeypatch.setattr(native, "_lib_tried", False)
    monkeypatch.setattr(native, "_lib_path", None)
    return root


@pytest.fixture(scope="module")
def no_ops_so(tmp_path_factory):
    """A real shared object with a constructor and no TF ops."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("so")
    (d / "planted.c").write_text(PLANTED_C)
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(d / "planted.so"), str(d / "planted.c")], check=True)
    return (d / "planted.so").read_bytes()


@pytest.fixture(scope="module")
def marker_sos(tmp_path_factory):
    """Two real shared objects, "genuine" and "planted", whose constructors leave
    $TFA_MARKER_DIR/genuine-ran or planted-ran: which one was loaded is visible."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("markers")
    (d / "marker.c").write_text(MARKER_C)
    built = {}
    for who in ("genuine", "planted"):
        out = d / f"{who}.so"
        subprocess.run([cc, "-shared", "-fPIC", f'-DWHO="{who}"', "-o", str(out), str(d / "marker.c")],
                       check=True)
        built[who] = out.read_bytes()
    return built


def _plant(data: bytes, variant: str = None) -> "os.PathLike":
    """Writes data as the library this process would load, with a matching checksum file (as an
    attacker who can write the directory could), in a private directory."""
    d = builder.library_dir()
    builder._make_private_dirs(d)
    path = d / f"_tfa_ops_{variant or builder.host_variants()[0]}.so"
    path.write_bytes(data)
    path.chmod(0o755)
    builder._write_manifest(path, {"planted": True})
    return path


def _load_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lib = native.load()
    return lib, [str(w.message) for w in caught if "tf_activations" in str(w.message)]


def _only_warning(expected):
    lib, messages = _load_warnings()
    assert lib is None and not native.available()
    assert len(messages) == 1, messages
    assert expected in messages[0], messages[0]
    assert "pure-TF path" in messages[0]
    return messages[0]


# --- 1. planted libraries ----------------------------------------------------
@pytest.mark.parametrize("where", ["root", "directory", "file", "checksum file"])
@pytest.mark.parametrize("mode", [0o777, 0o775])
def test_library_in_a_cache_others_can_write_is_not_loaded(cache, no_ops_so, tmp_path, where, mode):
    path = _plant(no_ops_so)
    target = {"root": cache, "directory": path.parent, "file": path,
              "checksum file": builder.manifest_path(path)}[where]
    target.chmod(mode)
    message = _only_warning("writable by group or others")
    assert str(target) in message and "rm -rf" in message
    assert not (tmp_path / "constructor-ran").exists()


def test_library_owned_by_another_user_is_not_loaded(cache, no_ops_so, tmp_path, monkeypatch):
    _plant(no_ops_so)
    monkeypatch.setattr(builder, "_uid", lambda: os.geteuid() + 1)
    message = _only_warning("not by you")
    assert "TF_ACTIVATIONS_CACHE" in message
    assert not (tmp_path / "constructor-ran").exists()


@needs_kernel_build
def test_relative_cache_is_refused_for_loading_and_building(cache, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", "rel/cache")
    _only_warning("must be an absolute path")
    assert native_cli.build_main(["--variant", "generic"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tf-activations: error: TF_ACTIVATIONS_CACHE must be an absolute path")
    assert not (tmp_path / "rel").exists()


@needs_kernel_build
def test_umask_000_build_creates_private_directories_and_lock(cache, tmp_path, monkeypatch):
    root = tmp_path / "a" / "b" / "cache"  # missing parents too
    monkeypatch.setenv("TF_ACTIVATIONS_CACHE", str(root))
    old = os.umask(0)
    try:
        path = builder.build(["generic"], verbose=False)
    finally:
        os.umask(old)
    for d in (tmp_path / "a", tmp_path / "a" / "b", root, path.parent):
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    assert stat.S_IMODE(os.stat(path.parent / ".lock").st_mode) == 0o600
    manifest = builder.verify_library(path)  # accepted, so a later import loads it
    assert manifest["sha256"] == builder._sha256(path)


@needs_kernel_build
@pytest.mark.parametrize("how", ["mode 0777", "another owner"])
def test_build_refuses_a_cache_others_can_write_and_creates_nothing(cache, monkeypatch, how):
    cache.mkdir()
    if how == "mode 0777":
        cache.chmod(0o777)
    else:
        monkeypatch.setattr(builder, "_uid", lambda: os.geteuid() + 1)
    with pytest.raises(builder.UnsafeCache, match="writable by group or others|not by you"):
        builder.build(["generic"], verbose=False)
    assert list(cache.iterdir()) == []


def test_planted_library_is_not_loaded_at_import(cache, no_ops_so, tmp_path):
    path = _plant(no_ops_so)
    cache.chmod(0o777)
    code = textwrap.dedent("""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tf_activations
        mine = [str(w.message) for w in caught if "tf_activations" in str(w.message)]
        assert len(mine) == 1 and "writable by group or others" in mine[0], mine
        assert not tf_activations.native.available()
    """)
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not (tmp_path / "constructor-ran").exists()
    assert path.exists()


def test_library_swapped_between_verification_and_loading_is_not_loaded(cache, marker_sos, tmp_path,
                                                                        monkeypatch):
    """Someone who can write the cache root's parent renames the verified cache away and puts
    their own in its place (library and matching checksum) just before TensorFlow opens it."""
    monkeypatch.setenv("TFA_MARKER_DIR", str(tmp_path))
    _plant(marker_sos["genuine"])
    real_load = native.tf.load_op_library

    def swap_then_load(name):
        os.rename(cache, tmp_path / "verified-cache")
        _plant(marker_sos["planted"])
        return real_load(name)

    monkeypatch.setattr(native.tf, "load_op_library", swap_then_load)
    _only_warning("does not define the ops")  # neither library has any: only the constructors tell
    assert not (tmp_path / "planted-ran").exists()
    assert (tmp_path / "genuine-ran").exists()


def test_cache_directory_that_is_a_symlink_is_not_loaded(cache, marker_sos, tmp_path, monkeypatch):
    monkeypatch.setenv("TFA_MARKER_DIR", str(tmp_path))
    path = _plant(marker_sos["genuine"])
    elsewhere = tmp_path / "elsewhere"
    os.rename(path.parent, elsewhere)
    path.parent.symlink_to(elsewhere)
    message = _only_warning("symlink")
    assert str(path.parent) in message
    assert not (tmp_path / "genuine-ran").exists()


def test_each_load_opens_its_own_file_although_descriptor_numbers_repeat(cache, marker_sos, tmp_path,
                                                                           monkeypatch):
    # TensorFlow keeps loaded libraries by the name given: a /proc/self/fd/N used twice would
    # hand back the first library without opening the second
    monkeypatch.setenv("TFA_MARKER_DIR", str(tmp_path))
    first = _plant(marker_sos["genuine"])
    _only_warning("does not define the ops")
    os.rename(cache, tmp_path / "old-cache")
    second = _plant(marker_sos["planted"])  # a rebuilt library at the same path
    assert second == first
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        native.load(reload=True)
    assert (tmp_path / "genuine-ran").exists() and (tmp_path / "planted-ran").exists()


def test_without_proc_self_fd_the_kernels_are_refused_with_a_warning(cache, marker_sos, tmp_path, monkeypatch):
    monkeypatch.setenv("TFA_MARKER_DIR", str(tmp_path))
    _plant(marker_sos["genuine"])
    monkeypatch.setattr(builder, "FD_DIR", str(tmp_path / "no-proc-here"))
    message = _only_warning("cannot load")
    assert "safely on this system" in message and "no-proc-here" in message
    assert not (tmp_path / "genuine-ran").exists()


def test_oversized_checksum_file_is_refused(cache, no_ops_so):
    path = _plant(no_ops_so)
    manifest = builder.manifest_path(path)
    manifest.write_text(manifest.read_text()[:-1] + " " * 70000 + "}")
    _only_warning("larger than 65536 bytes")


# --- 2. the lock -------------------------------------------------------------
@needs_kernel_build
def test_lock_symlink_is_not_followed(cache, tmp_path):
    victim = tmp_path / "precious.txt"
    victim.write_text("precious")
    d = builder.library_dir()
    builder._make_private_dirs(d)
    (d / ".lock").symlink_to(victim)
    with pytest.raises(builder.UnsafeCache, match="symlink"):
        builder.build(["generic"], verbose=False)
    assert victim.read_text() == "precious"
    assert not list(d.glob("_tfa_ops_*"))


# --- 3. truncated and empty libraries ----------------------------------------
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5])
def test_truncated_library_is_refused_before_loading(cache, no_ops_so, tmp_path, fraction):
    path = _plant(no_ops_so)
    path.write_bytes(no_ops_so[: int(len(no_ops_so) * fraction)])
    message = _only_warning("truncated or replaced")
    assert "tf-activations build --force" in message
    assert not (tmp_path / "constructor-ran").exists()


def test_library_without_checksum_or_with_wrong_checksum_is_refused(cache, no_ops_so):
    path = _plant(no_ops_so)
    data = bytearray(no_ops_so)
    data[-1] ^= 0xFF  # same size, different bytes
    path.write_bytes(bytes(data))
    _only_warning("does not match the SHA-256")
    native._lib_tried = False
    builder.manifest_path(path).unlink()
    _only_warning("no checksum file")


def test_library_without_elf_header_is_refused(cache):
    _plant(b"#!/bin/sh\n" + bytes(200))
    _only_warning("no ELF header")


# --- 4. a compiler that writes nothing -----------------------------------------
@needs_kernel_build
def test_compiler_that_exits_0_without_output_fails_every_time(cache, monkeypatch, capsys):
    true = shutil.which("true")
    monkeypatch.setenv("CXX", true)
    for _ in range(2):  # never recorded as built, so never "cached"
        assert native_cli.build_main(["--variant", "generic"]) == 1
        err = capsys.readouterr().err
        assert "exited 0 but wrote no shared library (0 bytes)" in err and "Traceback" not in err
    d = builder.library_dir()
    assert sorted(p.name for p in d.iterdir()) == [".lock"]


# --- 5. a library without the ops ------------------------------------------------
def test_shared_object_without_the_ops_leaves_kernels_unavailable(cache, no_ops_so, tmp_path):
    _plant(no_ops_so)
    message = _only_warning("does not define the ops tfa_forward, tfa_backward")
    assert "tf-activations build --force" in message
    assert native.library_path() is None


def test_tensorflow_too_old_for_the_kernels_is_one_clear_message(cache, monkeypatch, capsys):
    monkeypatch.setattr(builder, "_tf_flags", lambda: ("2.20.0", [], []))
    assert native_cli.build_main(["--variant", "generic"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == ("tf-activations: error: the kernels need TensorFlow 2.21 or later (the Eigen in TF "
                           "2.20.0 cannot compile them); the pure-TF path stays in use")
    assert not cache.exists()


# --- 6. the compiler's identity ----------------------------------------------------
def test_cxx_spelling_does_not_change_the_cache_or_the_compiler_identity(cache, monkeypatch):
    gxx = shutil.which("g++")
    if gxx is None:
        pytest.skip("no g++")
    seen = []
    for spelling in (None, "g++", gxx, os.path.realpath(gxx), f"  {gxx}  "):
        if spelling is None:
            monkeypatch.delenv("CXX")
        else:
            monkeypatch.setenv("CXX", spelling)
        seen.append((builder.library_dir(), json.dumps(builder.compiler_identity(builder.compiler_command()))))
    assert len(set(seen)) == 1, seen
    monkeypatch.setenv("CXX", "g++ -O2")
    assert builder.compiler_command() == [gxx, "-O2"]


@needs_kernel_build
def test_cxx_with_arguments_builds_and_a_different_compiler_rebuilds(cache, fake_cxx, tmp_path, monkeypatch):
    log = tmp_path / "cxx.log"
    monkeypatch.setenv("CXX", f"{fake_cxx} -O2 -DEXTRA='a b'")
    path = builder.build(["generic"], verbose=False)
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and calls[0].startswith("-O2 -DEXTRA=a b ")
    builder.build(["generic"], verbose=False)  # same compiler: cached
    assert len(log.read_text().splitlines()) == 1
    monkeypatch.setenv("CXX", str(fake_cxx))  # other arguments: another binary, rebuilt in place
    assert builder.build(["generic"], verbose=False) == path
    assert len(log.read_text().splitlines()) == 2
    monkeypatch.delenv("CXX")  # the loader does not need (or look at) CXX
    monkeypatch.setattr(builder, "host_variants", lambda: ["generic"])
    assert builder.find_library() == path


@needs_kernel_build
def test_unparsable_cxxflags_is_an_error_naming_the_variable(cache, monkeypatch, capsys):
    monkeypatch.setenv("TF_ACTIVATIONS_CXXFLAGS", "-O2 '")
    with pytest.raises(builder.BuildError) as caught:
        builder.build(["generic"], verbose=False)
    message = str(caught.value)
    assert message.startswith("TF_ACTIVATIONS_CXXFLAGS=\"-O2 '\" cannot be split into compiler flags")
    assert "No closing quotation" in message and "balanced" in message
    assert native_cli.build_main(["--variant", "generic"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"tf-activations: error: {message}"
    assert not cache.exists()


def test_unparsable_cxxflags_makes_the_import_warn_once(cache):
    code = textwrap.dedent("""
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            import tf_activations
            assert not tf_activations.native.available()
            tf_activations.mish(1.0)
        mine = [str(w.message) for w in caught if "tf_activations" in str(w.message)]
        assert len(mine) == 1, mine
        assert "TF_ACTIVATIONS_CXXFLAGS=" + repr("-O2 '") in mine[0], mine
        assert "No closing quotation" in mine[0], mine
        assert "pure-TF path" in mine[0], mine
    """)
    run_python(code, env={"TF_ACTIVATIONS_CXXFLAGS": "-O2 '"})


# --- 7. a read-only cache ---------------------------------------------------------
def _read_only(monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(builder, "_make_private_dirs", refuse)
    monkeypatch.setattr(builder, "_locked", refuse)


@needs_kernel_build
def test_read_only_cache_with_everything_built_is_fine(cache, monkeypatch, capsys):
    assert native_cli.build_main(["--variant", "generic"]) == 0
    capsys.readouterr()
    _read_only(monkeypatch)
    assert native_cli.build_main(["--variant", "generic"]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("tf_activations: already built and valid (generic) in ") and len(err.splitlines()) == 1
    assert out.strip().endswith("_tfa_ops_generic.so")


@needs_kernel_build
def test_read_only_cache_that_needs_a_build_is_one_clear_error(cache, monkeypatch, capsys):
    _read_only(monkeypatch)
    assert native_cli.build_main(["--variant", "generic"]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("tf-activations: error: cannot write the kernel cache")
    assert "TF_ACTIVATIONS_CACHE" in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through chmod")
def test_read_only_cache_by_chmod(cache, capsys):
    assert native_cli.build_main(["--variant", "generic"]) == 0
    d = builder.library_dir()
    for p in (d, cache):
        p.chmod(0o500)
    try:
        assert native_cli.build_main(["--variant", "generic"]) == 0
        assert native_cli.build_main(["--variant", "generic", "--force"]) == 1
        assert "cannot write the kernel cache" in capsys.readouterr().err
    finally:
        for p in (cache, d):
            p.chmod(0o700)


# --- 8. interrupts ------------------------------------------------------------------
def _gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"  # a zombie waiting for init is dead
    except FileNotFoundError:
        return True


def _start_sleeping_build(tmp_path):
    """A `build` whose fake compiler sleeps, and the file where it writes its pids."""
    pids = tmp_path / "pids"
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3", FAKE_CXX_MODE="sleep",
               FAKE_CXX_PIDS=str(pids))
    proc = subprocess.Popen([sys.executable, "-m", "tf_activations", "build", "--variant", "generic"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, pids


def _wait_for_compiler(proc, pids):
    deadline = time.monotonic() + 240
    while not (pids.exists() and pids.read_text().endswith("\n")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return pids.read_text().split()


@needs_kernel_build
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_build_stops_the_compilers_and_cleans_up(cache, tmp_path, signum):
    proc, pids = _start_sleeping_build(tmp_path)
    try:
        compiler, child, scratch = _wait_for_compiler(proc, pids)
        assert os.path.exists(scratch)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err and "compilers stopped" in err
    deadline = time.monotonic() + 10
    while not (_gone(int(compiler)) and _gone(int(child))) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(int(compiler)) and _gone(int(child))
    assert not os.path.exists(scratch)
    d = builder.library_dir()
    assert sorted(p.name for p in d.iterdir()) == [".lock"]


@needs_kernel_build
def test_the_build_after_one_killed_by_sigkill_removes_its_leftovers(cache, tmp_path):
    proc, pids = _start_sleeping_build(tmp_path)
    try:
        compiler, _, _ = _wait_for_compiler(proc, pids)
    finally:
        proc.kill()  # SIGKILL: no cleanup runs
        proc.communicate()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(int(compiler), signal.SIGKILL)  # the compiler's own group outlived its builder
    d = builder.library_dir()
    left = sorted(p.name for p in d.iterdir())
    assert any(n.startswith(".build-") for n in left) and any(n.startswith(".generic-") for n in left), left
    builder.build(["generic"], verbose=False)
    assert sorted(p.name for p in d.iterdir()) == [".lock", "_tfa_ops_generic.so", "_tfa_ops_generic.so.json"]


@needs_kernel_build
@pytest.mark.parametrize("next_build", ["cached", "forced"])
def test_only_a_builds_own_leftovers_are_removed(cache, tmp_path, next_build):
    path = builder.build(["generic"], verbose=False)
    d = path.parent
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious").write_text("precious")
    stale = {".build-abc_1234": "dir", ".generic-abc_1234.so": "file", ".avx2-xyz98765.so": "file",
             ".manifest-q1w2e3r4": "file"}
    kept = {".build-link0001": victim, ".generic-link0001.so": victim / "precious",  # symlinks
            ".avx2-adir0001.so": "dir", ".build-afile001": "file",  # a build's name, not its kind
            ".generic-abc.txt": "file", "notes.txt": "file", ".sse-abcd1234.so": "file"}
    if os.geteuid() == 0:
        kept[".manifest-other001"] = "someone else's"
    for name, kind in {**stale, **kept}.items():
        p = d / name
        if kind == "dir":
            p.mkdir()
            (p / "cc1plus-temp").write_text("partial")
        elif isinstance(kind, os.PathLike):
            p.symlink_to(kind)
        else:
            p.write_text("partial")
            if kind == "someone else's":
                os.chown(p, os.geteuid() + 1000, -1)
    builder.build(["generic"], verbose=False, force=next_build == "forced")
    names = {p.name for p in d.iterdir()}
    assert names == set(kept) | {".lock", "_tfa_ops_generic.so", "_tfa_ops_generic.so.json"}, names
    assert (victim / "precious").read_text() == "precious"
