"""The notebooks are stored with their outputs, so a reader browsing the repository sees the
figures, and those outputs are what the code makes now: re-executed here top to bottom
(nbclient + ipykernel), each cell must produce the same kinds of output it stored.

Regenerate after changing a notebook or what it shows: ``python notebooks/run.py``.
"""

import copy
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIN_FIGURES = {"gallery.ipynb": 6, "compare.ipynb": 3}


def _read(name):
    return nbformat.read(os.path.join(ROOT, "notebooks", name), as_version=4)


def _code(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def _shown(nb):
    """Per code cell, the kinds of rich output it shows (figures, tables), not stderr chatter."""
    return [sorted({mime for out in cell.outputs if out.output_type in ("display_data", "execute_result")
                    for mime in out.get("data", {})}) for cell in _code(nb)]


@pytest.mark.parametrize("name", sorted(MIN_FIGURES))
def test_stored_with_outputs_from_one_clean_run(name):
    nb = _read(name)
    nbformat.validate(nb)
    counts = [cell.execution_count for cell in _code(nb)]
    assert counts == list(range(1, len(counts) + 1)), f"{name}: re-run it top to bottom (counts {counts})"
    errors = [out.get("ename") for cell in _code(nb) for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{name} stored an error: {errors}"
    figures = sum("image/png" in kinds for kinds in _shown(nb))
    assert figures >= MIN_FIGURES[name], f"{name}: {figures} figures stored"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(MIN_FIGURES))
def test_runs_top_to_bottom_and_shows_what_it_stored(name, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    stored = _read(name)
    nb = copy.deepcopy(stored)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.join(ROOT, "notebooks")}})
    client.execute()  # raises CellExecutionError on any failing cell
    assert _shown(nb) == _shown(stored), f"{name}: the stored outputs are stale; regenerate (see the module doc)"
