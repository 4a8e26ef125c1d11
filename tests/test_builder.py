"""The kernel build command: one compile when two processes build at once, and a clear
message (and the pure-TF path) when there is no compiler.

A stand-in compiler (a script that logs, sleeps and writes its -o file) keeps these fast;
tests/test_kernels.py compiles the real sources.
"""

import os
import pathlib
import subprocess
import sys
import textwrap

from conftest import REPO, needs_kernel_build

FAKE_CXX = """\
#!{python}
import os, sys, time
if sys.argv[1:] == ["--version"]:
    sys.exit(print("fake-g++ 1.0"))
out = sys.argv[sys.argv.index("-o") + 1]
with open(os.environ["FAKE_CXX_LOG"], "a") as log:
    log.write(f"start {{time.time()}}\\n")
time.sleep(1.5)
with open(out, "wb") as f:
    f.write(b"\\x7fELF stand-in library" + bytes(64))
with open(os.environ["FAKE_CXX_LOG"], "a") as log:
    log.write(f"end {{time.time()}}\\n")
"""

BUILD = "from tf_activations.native import builder; print(builder.build(['generic'], verbose=False))"


def _env(tmp_path, **extra):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3",
               TF_ACTIVATIONS_CACHE=str(tmp_path / "cache"), **extra)
    env.pop("TF_ACTIVATIONS_SANITIZE", None)
    return env


@needs_kernel_build
def test_two_concurrent_builds_compile_once(tmp_path):
    cxx = tmp_path / "fake-g++"
    cxx.write_text(FAKE_CXX.format(python=sys.executable))
    cxx.chmod(0o755)
    log = tmp_path / "cxx.log"
    env = _env(tmp_path, CXX=str(cxx), FAKE_CXX_LOG=str(log))
    procs = [subprocess.Popen([sys.executable, "-c", BUILD], env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    paths = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(paths) == 1, paths
    library = pathlib.Path(paths.pop())
    assert library.read_bytes().startswith(b"\x7fELF stand-in library")
    # the second builder waited for the lock, then found the first one's library
    assert [line.split()[0] for line in log.read_text().splitlines()] == ["start", "end"]
    leftovers = [p.name for p in library.parent.iterdir() if p.name.startswith(".generic-")]
    assert leftovers == []


@needs_kernel_build
def test_no_compiler_is_a_clear_message_and_ops_stay_pure(tmp_path):
    env = _env(tmp_path, CXX=str(tmp_path / "no-such-compiler"))
    done = subprocess.run([sys.executable, "-m", "tf_activations", "build"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert "no C++ compiler found" in done.stderr and "pure-TF path" in done.stderr
    assert "Traceback" not in done.stderr
    code = textwrap.dedent("""
        import tensorflow as tf, tf_activations as ta
        from tf_activations import native
        assert not native.available()
        print(float(ta.mish(tf.constant(1.0))))
    """)
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert abs(float(done.stdout.strip().splitlines()[-1]) - 0.8650983882673103) < 1e-6
