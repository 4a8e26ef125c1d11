"""Runs Keras' and TF Addons' own activation tests against this package, only the module swapped.

    python tests/peer_suites/run.py keras                 # the tests inside the installed keras wheel
    python tests/peer_suites/run.py addons --source DIR   # a checkout of tensorflow/addons

Each suite's test files are copied to a temporary folder, their imports of the
peer's activations/layers are pointed at this package (expected values and
tolerances untouched), and pytest runs them. The script prints the failures and
exits 0 only if the failures are exactly the deliberate differences listed below
(README, "Deliberate differences from Keras" and "Coming from TensorFlow Addons").

TF Addons' tests are not in its wheel and TF Addons does not import with Keras 3:
``addons_shim/`` gives its import paths (backed by ``tf_activations.addons_compat``) and
re-implements ``layer_test`` (written for Keras 2's internals). TF Addons' own ``conftest.py``
and ``utils/test_utils.py`` (fixtures, tolerances, and the thread settings it makes after
``import tensorflow_addons``) are used unchanged from the checkout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# test id -> why it fails on purpose (each is a README entry).
DELIBERATE = {
    "keras": {
        "activations_test.py::ActivationsTest::test_linear":
            "integer input is a TypeError (Keras' linear returns int32 unchanged)",
        "leaky_relu_test.py::LeakyReLUTest::test_invalid_usage":
            "a None parameter is a TypeError, not Keras' ValueError",
        "relu_test.py::ReLUTest::test_negative_slope_none_raises": "a None parameter is a TypeError",
        "relu_test.py::ReLUTest::test_threshold_none_raises": "a None parameter is a TypeError",
        "relu_test.py::ReLUTest::test_invalid_usage":
            "ReLU follows the function: a negative threshold/negative_slope is allowed",
    },
    "addons": {
        "activations_sparsemax_test.py::test_sparsemax_of_inf[cpu-float32]":
            "+inf entries share the mass and an all -inf slice is zeros (limits), where TF Addons gives NaN",
        "activations_sparsemax_test.py::test_sparsemax_of_inf[cpu-float64]": "as above",
    },
}

KERAS_FILES = ("activations/activations_test.py",) + tuple(
    f"layers/activations/{name}_test.py"
    for name in ("activation", "elu", "leaky_relu", "prelu", "relu", "softmax"))

ADDONS_DIRS = (("tensorflow_addons/activations/tests", "activations_"),
               ("tensorflow_addons/layers/tests", "layers_"))
ADDONS_LAYER_TESTS = ("maxout_test.py", "snake_test.py", "sparsemax_test.py", "tlu_test.py")
ADDONS_CONFTEST = "tensorflow_addons/conftest.py"
ADDONS_TEST_UTILS = "tensorflow_addons/utils/test_utils.py"


def _swap_keras_imports(text: str) -> str:
    text = re.sub(r"^from keras\.src import activations$", "import tf_activations as activations", text, flags=re.M)
    text = re.sub(r"^from keras\.src\.layers\.activations import (\w+)$", r"import tf_activations.layers as \1",
                  text, flags=re.M)
    # Keras' Activation layer resolves strings through Keras' table, which the import takes over.
    return "import tf_activations  # noqa: F401\n" + text


def copy_keras_suite(dest: str) -> list[str]:
    import keras

    root = os.path.join(os.path.dirname(keras.__file__), "src")
    copied = []
    for rel in KERAS_FILES:
        with open(os.path.join(root, rel)) as f:
            text = _swap_keras_imports(f.read())
        name = os.path.basename(rel)
        with open(os.path.join(dest, name), "w") as f:
            f.write(text)
        copied.append(name)
    return copied


def copy_addons_suite(dest: str, source: str) -> list[str]:
    copied = []
    for folder, prefix in ADDONS_DIRS:
        for name in sorted(os.listdir(os.path.join(source, folder))):
            if not name.endswith("_test.py") or name == "run_all_test.py":
                continue
            if prefix == "layers_" and name not in ADDONS_LAYER_TESTS:
                continue
            shutil.copy(os.path.join(source, folder, name), os.path.join(dest, prefix + name))
            copied.append(prefix + name)
    shutil.copy(os.path.join(source, ADDONS_CONFTEST), os.path.join(dest, "conftest.py"))
    return copied


def assemble_addons_shim(dest: str, source: str) -> str:
    """The shim package with TF Addons' own test_utils.py dropped in unchanged; returns its root."""
    root = os.path.join(dest, "shim")
    shutil.copytree(os.path.join(HERE, "addons_shim"), root, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(os.path.join(source, ADDONS_TEST_UTILS), os.path.join(root, ADDONS_TEST_UTILS))
    return root


def run(suite: str, source: str | None = None) -> tuple[set[str], int, str]:
    """(failed test ids, exit status, pytest's output) of one suite run in a subprocess."""
    with tempfile.TemporaryDirectory(prefix=f"peer-{suite}-") as scratch:
        dest = os.path.join(scratch, "tests")
        os.mkdir(dest)
        if suite == "keras":
            copy_keras_suite(dest)
        else:
            copy_addons_suite(dest, source)
        env = dict(os.environ)
        paths = [os.path.dirname(os.path.dirname(HERE))]  # this checkout, for tf_activations
        if suite == "addons":
            paths.insert(0, assemble_addons_shim(scratch, source))
        env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf", "--rootdir", dest, dest],
            cwd=dest, env=env, capture_output=True, text=True, timeout=1200)
    failed = set(re.findall(r"^FAILED (\S+)", proc.stdout, flags=re.M))
    failed |= set(re.findall(r"^ERROR (\S+)", proc.stdout, flags=re.M))
    return failed, proc.returncode, proc.stdout + proc.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", choices=("keras", "addons"))
    parser.add_argument("--source", help="a checkout of github.com/tensorflow/addons (for the addons suite)")
    args = parser.parse_args(argv)
    if args.suite == "addons" and not (args.source and os.path.isdir(os.path.join(args.source, ADDONS_DIRS[0][0]))):
        parser.error(f"addons needs --source DIR holding {ADDONS_DIRS[0][0]}; got {args.source!r}")
    failed, status, output = run(args.suite, args.source)
    summary = [line for line in output.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(summary[-1] if summary else output[-2000:])
    expected = set(DELIBERATE[args.suite])
    for test_id in sorted(failed):
        print(("deliberate: " if test_id in expected else "UNEXPECTED: ") + test_id
              + (f"  ({DELIBERATE[args.suite][test_id]})" if test_id in expected else ""))
    for test_id in sorted(expected - failed):
        print(f"now passes (remove from DELIBERATE): {test_id}")
    return 0 if failed == expected and status in (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
