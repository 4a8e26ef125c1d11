"""Re-executes the notebooks in place, so the repository shows their figures.

    python notebooks/run.py [NAME.ipynb ...]     (default: every notebook here)

Each runs top to bottom in a fresh kernel from this folder (nbclient, as CI's
tests/test_notebooks.py does); TensorFlow's C++ log lines on stderr are left out of the
stored outputs, which are for readers.
"""

import os
import pathlib
import sys

import nbclient
import nbformat

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tf_activations import _quiet  # noqa: E402  (the one rule for what a TF log line is)


def run(path: pathlib.Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(HERE)}}).execute()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.outputs:
            if out.output_type == "stream" and out.name == "stderr":
                out.text = "".join(line for line in out.text.splitlines(keepends=True)
                                   if not _quiet.hidden(line, 3) and not line.startswith("To enable the following"))
                if not out.text.strip():
                    continue
            kept.append(out)
        cell.outputs = kept
    nbformat.write(nb, path)
    print(path)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["PYTHONPATH"] = str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", "")
    for name in sys.argv[1:] or sorted(p.name for p in HERE.glob("*.ipynb")):
        run(HERE / name)
