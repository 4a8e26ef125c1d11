"""tf_activations.plotting: the drawn derivative is the derivative of the drawn function."""

import os
import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import tf_activations  # noqa: E402
from tf_activations import plotting  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _line(fig, gid):
    lines = [l for ax in fig.axes for l in ax.get_lines() if l.get_gid() == gid]
    assert len(lines) == 1, f"no line {gid!r} drawn"
    return [np.asarray(v, np.float64) for v in lines[0].get_data()]


@pytest.fixture(autouse=True)
def _no_show(monkeypatch):
    def forbidden(*a, **k):
        raise AssertionError("plotting must never call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden)
    yield
    plt.close("all")


@pytest.mark.parametrize("name", tf_activations.available())
def test_plotted_derivative_matches_finite_differences(name):
    fig = plotting.plot(name, derivative=True, x_range=(-5, 5))
    x, y = _line(fig, f"{name}:f")
    xd, dy = _line(fig, f"{name}:df")
    np.testing.assert_array_equal(x, xd)
    if tf_activations.info(name)["elementwise"]:
        # the drawn function is the function
        np.testing.assert_allclose(y, np.asarray(tf_activations.get(name)(x)), rtol=1e-12, atol=1e-12)
    h = 1e-5

    def f(t):
        return plotting.curve(name, t)[0]

    fd = (f(x + h) - f(x - h)) / (2 * h)
    bad = ~np.isclose(dy, fd, rtol=1e-4, atol=1e-4)
    # only the few grid points next to a kink (relu at 0, relu6 at 6, ...) may differ
    assert bad.sum() <= max(2, int(0.01 * x.size)), (name, x[bad][:10], dy[bad][:10], fd[bad][:10])


def test_single_name_has_formula_in_title_several_in_legend():
    fig = plotting.plot("mish")
    assert tf_activations.info("mish")["formula"][:20] in fig.axes[0].get_title().replace("\n", " ")
    fig = plotting.plot(["relu", "gelu"], derivative=False)
    labels = [t.get_text().replace("\n", " ") for t in fig.axes[0].get_legend().get_texts()]
    assert len(labels) == 2
    assert tf_activations.info("gelu")["formula"][:20] in " ".join(labels)
    assert not any(l.get_gid() and l.get_gid().endswith(":df") for l in fig.axes[0].get_lines())


def test_plot_into_given_axes_and_aliases():
    fig, ax = plt.subplots()
    out = plotting.plot(["swish", "hard_silu"], ax=ax, params={"swish": {"beta": 2.0}})
    assert out is fig
    assert len(ax.get_lines()) >= 4
    x, y = _line(fig, "swish:f")
    np.testing.assert_allclose(y, x / (1 + np.exp(-2 * x)), rtol=1e-10, atol=1e-12)


def test_plot_rejects_unknown_names_and_bad_ranges():
    with pytest.raises(ValueError, match="unknown activation"):
        plotting.plot("nope")
    with pytest.raises(ValueError, match="x_range"):
        plotting.plot("relu", x_range=(1, -1))


def test_vector_functions_are_drawn_along_a_line():
    x = np.linspace(-4, 4, 9)
    y, dy, label = plotting.curve("softmax", x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-12)
    assert "[x, 0]" in label
    y, _, label = plotting.curve("maxout", x)
    np.testing.assert_allclose(y, np.abs(x))
    y, _, _ = plotting.curve("glu", x)
    np.testing.assert_allclose(y, x / (1 + np.exp(-x)), rtol=1e-12)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(dy, s * (1 - s), rtol=1e-12)  # d/dx softmax([x, 0])[0] = sigmoid'(x)


def test_every_function_of_an_axis_declares_the_line_it_is_drawn_along():
    from tf_activations._registry import SPECS

    assert [n for n, s in SPECS.items() if (s.line is not None) != s.axis_op] == []


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"tf-activations\[plot\]"):
        plotting.plot("relu")


def test_gallery_writes_pictures_and_table(tmp_path):
    index = plotting.render_gallery(str(tmp_path), names=["relu", "softmax", "mish"])
    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["mish.png", "relu.png", "softmax.png"]
    page = open(index, encoding="utf-8").read()
    for text in ("<table", 'src="mish.png"', 'href="mish.html"', "monotonic"):
        assert text in page
    assert "Misra" in (tmp_path / "mish.html").read_text(encoding="utf-8")
    assert "softmax([x, 0])[0]" in (tmp_path / "softmax.html").read_text(encoding="utf-8")
    grid = plotting.plot_grid(["relu", "glu"], ncols=2)
    assert len([a for a in grid.axes if a.get_visible()]) == 2


@pytest.mark.slow
def test_package_imports_without_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import tf_activations, tf_activations.plotting, tf_activations.diagnostics, tf_activations.compare\n"
            "try:\n    tf_activations.plotting.plot('relu')\n"
            "except ImportError as e:\n    print('EXTRA' if 'tf-activations[plot]' in str(e) else e)\n")
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().endswith("EXTRA")
