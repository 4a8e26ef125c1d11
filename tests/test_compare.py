"""compare: a tiny configuration, deterministic; the time budget is checked outside unit tests."""

import io

import numpy as np
import pytest

from tf_activations import compare, datasets

TINY = dict(activations=["sigmoid", "relu"], depth=3, width=8, epochs=2, samples=240, batch_size=32)


def _strip_timing(results):
    out = []
    for r in results:
        row = r.summary()
        row.pop("s/epoch")
        out.append((row, r.train_loss, r.test_loss, r.diagnostics))
    return out


@pytest.mark.slow
def test_two_runs_give_the_same_table(tmp_path):
    stream = io.StringIO()
    first = compare.run(progress=stream, **TINY)
    second = compare.run(progress=False, **TINY)
    assert _strip_timing(first) == _strip_timing(second)
    assert compare.format_table(first, timings=False) == compare.format_table(second, timings=False)
    assert "2/4 epochs" in stream.getvalue() and "4/4 epochs" in stream.getvalue()
    table = compare.format_table(first)
    assert table.splitlines()[2].startswith("sigmoid") and "relu" in table
    r = first[0]
    assert len(r.train_loss) == 2 and r.epochs == [0, 1, 2]
    assert r.layers == ["hidden_1", "hidden_2", "hidden_3"]
    assert all(g > 0 for g in r.layer_metric("grad_norm"))
    paths = compare.save(first, str(tmp_path), config=TINY)
    for key in ("table", "json", "compare", "loss_curves", "grad_norms"):
        assert (tmp_path / paths[key].split("/")[-1]).stat().st_size > 0


def test_vector_activations_are_refused():
    with pytest.raises(ValueError, match="vector function"):
        compare.run(activations=["softmax"], progress=False, epochs=1)


def test_generated_datasets():
    x, y = datasets.two_spirals(n=400, seed=3)
    assert x.shape == (400, 2) and x.dtype == np.float32 and set(np.unique(y)) == {0, 1}
    assert np.abs(x).max() <= 1.0
    x2, y2 = datasets.two_spirals(n=400, seed=3)
    np.testing.assert_array_equal(x, x2)
    x, y = datasets.checkerboard(n=1000, seed=0)
    assert 0.4 < y.mean() < 0.6
    xt, yt, xs, ys, k = datasets.load("checkerboard", n=100)
    assert (len(yt), len(ys), k) == (75, 25, 2)
    with pytest.raises(ValueError, match="unknown dataset"):
        datasets.load("mnist")


def test_digits_when_sklearn_is_there():
    pytest.importorskip("sklearn")
    xt, yt, xs, ys, k = datasets.load("digits")
    assert xt.shape[1] == 64 and k == 10 and len(yt) + len(ys) == 1797
