"""The README's Python examples run as written, each in a fresh interpreter."""

import re

import pytest

from conftest import REPO, TFLITE_CONVERTS_KERAS_3, run_python, tf_keras_supported

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.slow
@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code, tmp_path):
    if "TFLiteConverter" in code and not TFLITE_CONVERTS_KERAS_3:
        pytest.skip("this TensorFlow's TFLite converter cannot convert a Keras 3 Dense model (TF 2.16)")
    if "TF_USE_LEGACY_KERAS" in code and not tf_keras_supported():
        pytest.skip("tf_keras missing or older than 2.21: the package registers nothing there")
    # In a scratch folder: examples save files (model.h5) as a user would, relative to where they are.
    run_python(f"import os; os.chdir({str(tmp_path)!r})\n" + code)


def test_readme_info_output_is_what_info_prints(capsys):
    """The `info sigmoid` excerpt in the README is the command's output, line for line."""
    from tf_activations import cli

    text = (REPO / "README.md").read_text()
    block = re.search(r"`info sigmoid` ends with\):\n\n```text\n(.*?)```", text, re.S).group(1)
    assert cli.main(["info", "sigmoid"]) == 0
    out = capsys.readouterr().out
    assert out.rstrip("\n").endswith(block.rstrip("\n")), "README's info sigmoid excerpt is out of date"


def test_readme_status_excerpt_is_what_status_prints():
    """The set-up's `tf-activations status --names mish,relu` table is the command's, row for row
    (versions and the library's path are the reader's own)."""
    from tf_activations import _status, native

    if native.library_path() is None or native.pure_forced():
        pytest.skip("the excerpt shows the kernels loaded; they are not here")
    text = (REPO / "README.md").read_text()
    block = re.search(r"tf-activations status --names mish,relu\n```\n\n```text\n(.*?)```", text, re.S).group(1)
    ours = str(_status.status(["mish", "relu"]))
    table = block.split("what each call runs in this mode:\n", 1)[1].rstrip("\n")
    assert table in ours, ours
    assert block.startswith("TensorFlow   ") and "\nC++ kernels  loaded: " in block
