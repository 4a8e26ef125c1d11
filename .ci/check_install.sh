#!/usr/bin/env bash
# The package as a user gets it: build the sdist and, from it, the wheel; install each
# non-editable (--no-deps) into a fresh venv that reuses this environment's TensorFlow, Keras
# and test tools through a .pth file; then, from outside the repository, build the kernels
# into a temporary cache, check they load and match a float64 NumPy reference, and run a few
# test files against the installed package. Run with the test venv active (.ci/run does).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
unset TF_ACTIVATIONS_PURE TF_ACTIVATIONS_SANITIZE TF_ACTIVATIONS_CXXFLAGS
# this environment's site directories (including any it reaches through .pth files)
host_site="$(python -c 'import sys; print("\n".join(p for p in sys.path if p.endswith(("site-packages", "dist-packages"))))')"
start=$SECONDS

step() { echo "check_install: $* ($((SECONDS - start))s)"; }

step "building the sdist and, from it, the wheel"
(cd "$repo" && python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1) || { tail -40 "$work/build.log"; exit 1; }
sdist="$(ls "$work"/dist/*.tar.gz)"
wheel="$(ls "$work"/dist/*.whl)"
version="$(basename "$wheel" | cut -d- -f2)"
tar -tzf "$sdist" >"$work/sdist.txt"
python -m zipfile -l "$wheel" >"$work/wheel.txt"
for f in kernels/activation_ops.cc kernels/activations.h; do
    grep -q "/$f\$" "$work/sdist.txt" || { echo "check_install: $f missing from $sdist"; exit 1; }
    grep -q "tf_activations/native/$f" "$work/wheel.txt" || { echo "check_install: $f missing from $wheel"; exit 1; }
done
# measurements live in the repository's benchmarks/ (python benchmarks/bench.py), never in the package
if grep -Eq "bench|benchmarks/" "$work/wheel.txt"; then
    echo "check_install: benchmark code in $wheel:"; grep -E "bench|benchmarks/" "$work/wheel.txt"; exit 1
fi

# TensorFlow only through extras: installing next to tensorflow-cpu / tensorflow[and-cuda] adds none
python - "$wheel" <<'PY'
import re, sys, zipfile

with zipfile.ZipFile(sys.argv[1]) as z:
    meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
requires = re.findall(r"^Requires-Dist: (.*)$", meta, re.M)
hard = [r for r in requires if "extra ==" not in r]
assert not [r for r in hard if r.lower().startswith("tensorflow")], hard
assert any(r.startswith("tensorflow>=") and 'extra == "tf"' in r for r in requires), requires
assert any(r.startswith("tensorflow-cpu>=") and 'extra == "cpu"' in r for r in requires), requires
assert re.search(r"^License-Expression: Apache-2.0$", meta, re.M), "license metadata"
print("check_install: requires", ", ".join(hard), "(TensorFlow from the [tf] or [cpu] extra)")
PY

check() {  # $1: wheel|sdist, $2: the file to install
    local kind="$1" venv="$work/venv-$1" cache="$work/cache-$1" outside="$work/outside-$1"
    python -m venv "$venv"
    local site
    site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
    echo "$host_site" >"$site/_tfa_reuse_test_env.pth"  # TF, Keras, pytest...: no second TensorFlow
    if [ "$kind" = wheel ]; then  # with TensorFlow present, a normal install adds only this package
        local would
        would="$("$venv/bin/python" -m pip install --dry-run "$2" 2>/dev/null | grep '^Would install' || true)"
        [ "$would" = "Would install tf-activations-$version" ] || { echo "check_install: pip would: $would"; exit 1; }
    fi
    step "$kind: pip install --no-deps $(basename "$2")"
    "$venv/bin/python" -m pip install -q --no-deps "$2" >"$work/pip-$kind.log" 2>&1 || { tail -40 "$work/pip-$kind.log"; exit 1; }
    mkdir -p "$outside" && cd "$outside"
    step "$kind: tf-activations build --variant generic (from $outside)"
    TF_ACTIVATIONS_CACHE="$cache" "$venv/bin/tf-activations" build --variant generic
    "$venv/bin/tf-activations" --version
    step "$kind: the kernels load and match float64 NumPy"
    TF_ACTIVATIONS_CACHE="$cache" VENV="$venv" CACHE="$cache" "$venv/bin/python" - <<'PY'
import os

import numpy as np
import tensorflow as tf

import tf_activations as ta
from tf_activations import native

assert ta.__file__.startswith(os.environ["VENV"]), f"imported {ta.__file__}, not the installed package"
assert native.available(), "the kernels did not load"
assert native.library_path().startswith(os.environ["CACHE"]), native.library_path()
x = np.linspace(-20, 20, 100_001).astype(np.float32)
f = tf.function(ta.mish)
graph = f.get_concrete_function(tf.TensorSpec([None], tf.float32)).graph
assert any(op.type == "TfaForward" for op in graph.get_operations()), "mish did not use the kernel"
y = f(tf.constant(x)).numpy().astype(np.float64)
x64 = x.astype(np.float64)
ref = x64 * np.tanh(np.log1p(np.exp(x64)))
np.testing.assert_allclose(y, ref, rtol=5e-7, atol=1e-37)
print(f"kernels {native.library_path()}: mish matches float64 NumPy on {x.size} points")
PY
    step "$kind: tests against the installed package"
    rm -rf "$outside/tests" && cp -r "$repo/tests" "$outside/tests"
    TF_ACTIVATIONS_CACHE="$cache" "$venv/bin/python" -m pytest -q -p no:cacheprovider -c /dev/null \
        --rootdir "$outside" tests/test_cli.py tests/test_cache_safety.py tests/test_builder.py \
        tests/test_kernels.py -k "not test_kernels or (test_values_and_gradients_match_pure_tf and float32)"
    cd "$repo"
}

check wheel "$wheel"
check sdist "$sdist"
step "done"
