"""Pictures of the activations: ``plot()``, a grid of many, and the HTML gallery.

matplotlib is an optional extra (``pip install tf-activations[plot]``); it is
imported only when a function here draws something, so ``import
tf_activations`` works without it. Nothing here calls ``plt.show()``: every
function returns its figure. Without a display (no ``$DISPLAY`` and no
``$MPLBACKEND``) the non-interactive Agg backend is chosen.

Vector functions have no graph of one variable; they are drawn along a line
through their input space, and labelled so:

* softmax, log_softmax, sparsemax: component 0 of f([x, 0]) (softmax([x, 0])[0]
  is sigmoid(x)); the derivative drawn is the Jacobian diagonal d y_0 / d x_0.
* glu: glu([x, x]) = x * sigmoid(x) (both halves tied; the derivative is the
  total derivative d/dx).
* maxout: maxout([x, -x], num_units=1) = |x|, the simplest convex piece a
  maxout unit of two pieces learns.
"""

from __future__ import annotations

import html
import os
import sys
import textwrap

import numpy as np

_EXTRA_MESSAGE = (
    "tf_activations plotting needs matplotlib, an optional extra: "
    "pip install 'tf-activations[plot]' (or pip install matplotlib)"
)

# Order and titles of the groups, as the catalog's source modules group them.
FAMILIES = (
    ("saturating", "Saturating (sigmoid-like)"),
    ("rectifier", "Rectifier family"),
    ("self-gated", "Smooth self-gated"),
    ("hard", "Hard (piecewise-linear) approximations"),
    ("shrink", "Shrinkage"),
    ("normaliser", "Normalisers (vector functions)"),
    ("gate", "Gates and pooling (vector functions)"),
)

# How a vector function is shown as a curve of one variable.
VECTOR_DEPICTIONS = {
    "softmax": "softmax([x, 0])[0]",
    "log_softmax": "log_softmax([x, 0])[0]",
    "sparsemax": "sparsemax([x, 0])[0]",
    "glu": "glu([x, x]) = x * sigmoid(x)",
    "maxout": "maxout([x, -x]) = |x|",
}


def _matplotlib():
    """Imports matplotlib (choosing Agg when there is no display) or explains the extra."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(_EXTRA_MESSAGE) from exc
    if ("matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND")
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
            and sys.platform.startswith("linux")):
        matplotlib.use("Agg")
    return matplotlib


def _pyplot():
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _figure(**kwargs):
    """A Figure not held by pyplot (for files: nothing to close, no backend needed)."""
    _matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def curve(name, x, **params):
    """``(y, dy, label)``: the function and its derivative along ``x`` (1-D), as drawn.

    Elementwise functions use the closed-form ``tf_activations.derivative``;
    vector functions are evaluated along the line in ``VECTOR_DEPICTIONS``.
    """
    import tensorflow as tf

    from tf_activations import _registry

    canonical = _registry.canonical(name)
    spec_info = _registry.info(canonical)
    fn = _registry.FUNCTIONS[canonical]
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    xt = tf.constant(x)
    if spec_info["elementwise"]:
        y = fn(xt, **params)
        try:
            dy = _registry.derivative(canonical, xt, **params)
        except ValueError:
            dy = _autodiff(lambda t: fn(t, **params), xt)
        return np.asarray(y, np.float64), np.asarray(dy, np.float64), canonical
    zero = tf.zeros_like(xt)
    if canonical in ("softmax", "log_softmax", "sparsemax"):
        pair = tf.stack([xt, zero], axis=-1)
        y = fn(pair, **params)[:, 0]
        dy = _registry.derivative(canonical, pair, **params)[:, 0]
    elif canonical == "glu":
        def line(t):
            return fn(tf.stack([t, t], axis=-1), **params)[:, 0]
        y, dy = line(xt), _autodiff(line, xt)
    elif canonical == "maxout":
        params = {"num_units": 1, **params}

        def line(t):
            return fn(tf.stack([t, -t], axis=-1), **params)[:, 0]
        y, dy = line(xt), _autodiff(line, xt)
    else:  # a vector function added later: show component 0 of f([x, 0])
        def line(t):
            return fn(tf.stack([t, tf.zeros_like(t)], axis=-1), **params)[:, 0]
        y, dy = line(xt), _autodiff(line, xt)
    label = VECTOR_DEPICTIONS.get(canonical, f"{canonical}([x, 0])[0]")
    return np.asarray(y, np.float64), np.asarray(dy, np.float64), label


def _autodiff(fn, x):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def _wrap(text, width=60):
    return "\n".join(textwrap.wrap(text, width)) or text


def _draw(ax, name, derivative, x, color=None, params=None, formula_in_label=True):
    from tf_activations import _registry

    canonical = _registry.canonical(name)
    y, dy, label = curve(canonical, x, **(params or {}))
    formula = _registry.info(canonical)["formula"]
    text = label if label != canonical else canonical
    if formula_in_label:
        text = f"{text}: {_wrap(formula, 55)}" if label == canonical else f"{text}\n{_wrap(formula, 55)}"
    (line,) = ax.plot(x, y, color=color, lw=2, label=text)
    line.set_gid(f"{canonical}:f")
    if derivative:
        (dline,) = ax.plot(x, dy, color=line.get_color(), lw=1.4, ls="--", label=f"{canonical}' (derivative)")
        dline.set_gid(f"{canonical}:df")
    return line


def _style(ax, x_range):
    ax.axhline(0, color="0.75", lw=0.8, zorder=0)
    ax.axvline(0, color="0.75", lw=0.8, zorder=0)
    ax.set_xlim(*x_range)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("x")


def plot(names, derivative=True, x_range=(-6, 6), ax=None, params=None, num=801):
    """Draws activation functions (solid) and their derivatives (dashed); returns the figure.

    ``names`` is a name or a list of names (aliases work). ``params`` maps a
    name to keyword arguments (``{"swish": {"beta": 2.0}}``). With one name
    the formula is the title; with several each legend entry holds its
    formula. ``ax`` draws into an existing matplotlib Axes. Vector functions
    are drawn along a line through their input (see ``VECTOR_DEPICTIONS``).
    The derivative line of ``name`` has gid ``"name:df"`` (the function's:
    ``"name:f"``). Never calls ``plt.show()``.
    """
    from tf_activations import _registry

    if isinstance(names, str):
        names = [names]
    names = [_registry.canonical(n) for n in names]
    if not names:
        raise ValueError("plot() needs at least one activation name")
    lo, hi = (float(v) for v in x_range)
    if not lo < hi:
        raise ValueError(f"plot() expects x_range=(low, high) with low < high; got {x_range!r}")
    params = params or {}
    if ax is None:
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    else:
        fig = ax.figure
    x = np.linspace(lo, hi, int(num))
    single = len(names) == 1
    for name in names:
        _draw(ax, name, derivative, x, params=params.get(name), formula_in_label=not single)
    _style(ax, (lo, hi))
    if single:
        name = names[0]
        info = _registry.info(name)
        head = VECTOR_DEPICTIONS.get(name, name)
        ax.set_title(f"{head}\n{_wrap(info['formula'], 80)}", fontsize=9)
    ax.legend(fontsize=7 if not single else 8, loc="best")
    return fig


def plot_grid(names=None, derivative=True, x_range=(-6, 6), ncols=6, panel=(2.3, 1.9), dpi=None,
              title=None):
    """Small multiples: one panel per activation (function solid, derivative dashed).

    Returns a figure not held by pyplot (display it in a notebook as the last
    expression of a cell, or save it with ``fig.savefig``).
    """
    from tf_activations import _registry

    names = list(_registry.available() if names is None else names)
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig = _figure(figsize=(panel[0] * ncols, panel[1] * nrows), dpi=dpi, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    x = np.linspace(x_range[0], x_range[1], 401)
    for ax, name in zip(axes.flat, names):
        canonical = _registry.canonical(name)
        y, dy, label = curve(canonical, x)
        ax.plot(x, y, lw=1.8, color="C0")
        if derivative:
            ax.plot(x, dy, lw=1.1, ls="--", color="C3")
        _style(ax, x_range)
        ax.set_xlabel("")
        ax.tick_params(labelsize=6)
        ax.set_title(canonical if label == canonical else f"{canonical}: {label.split(' = ')[0]}",
                     fontsize=7.5)
        _clip_view(ax, y, dy if derivative else None)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    if derivative and names:
        fig.legend(handles=axes.flat[0].lines[:2], labels=["f(x)", "f'(x)"], loc="outside lower right",
                   fontsize=7, ncols=2, frameon=False)
    return fig


def _clip_view(ax, y, dy):
    """Limits the y axis so one huge value (exp at x=6) does not flatten the rest."""
    values = np.concatenate([y] + ([dy] if dy is not None else []))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return
    lo, hi = np.percentile(values, [0.5, 99.5])
    lo, hi = max(min(lo, -0.2), -10.0), min(max(hi, 1.2), 10.0)
    span = hi - lo
    ax.set_ylim(lo - 0.06 * span, hi + 0.06 * span)


def _format_params(parameters):
    shown = {k: v["default"] for k, v in parameters.items() if k not in ("training", "seed")}
    return ", ".join(f"{k}={v!r}" for k, v in shown.items()) or "-"


def render_gallery(out, names=None, x_range=(-6, 6), dpi=80):
    """Writes ``out/<name>.png`` for every activation and ``out/index.html``; returns the index path."""
    from tf_activations import _registry

    os.makedirs(out, exist_ok=True)
    names = list(_registry.available() if names is None else [_registry.canonical(n) for n in names])
    order = {family: i for i, (family, _) in enumerate(FAMILIES)}
    names.sort(key=lambda n: (order.get(_registry.info(n)["family"], len(order)), n))
    rows, current = [], None
    x = np.linspace(x_range[0], x_range[1], 601)
    for name in names:
        info = _registry.info(name)
        fig = _figure(figsize=(4.2, 3.0), dpi=dpi, layout="constrained")
        ax = fig.subplots()
        y, dy, label = curve(name, x)
        ax.plot(x, y, lw=2, color="C0", label=label if label != name else f"{name}(x)")
        ax.plot(x, dy, lw=1.4, ls="--", color="C3", label="derivative" + (" (Jacobian diagonal)" if name in ("softmax", "log_softmax", "sparsemax") else ""))
        _style(ax, x_range)
        _clip_view(ax, y, dy)
        ax.set_title(name, fontsize=11)
        ax.legend(fontsize=7, loc="best")
        fig.savefig(os.path.join(out, f"{name}.png"))
        if info["family"] != current:
            current = info["family"]
            title = dict(FAMILIES).get(current, current)
            rows.append(f'<tr class="family"><th colspan="7">{html.escape(title)}</th></tr>')
        props = info["properties"]
        flags = ", ".join(
            f"{k.replace('_', ' ')}: {'yes' if v else 'no'}"
            for k, v in (("monotonic", props["monotonic"]), ("smooth", props["smooth"]),
                         ("bounded below", props["bounded_below"]), ("bounded above", props["bounded_above"]),
                         ("zero centered", props["zero_centered"])))
        shown = "" if label == name else f"<br><small>drawn: {html.escape(label)}</small>"
        rows.append(
            "<tr>"
            f'<td><b id="{name}">{html.escape(name)}</b><br><small>{html.escape(info["summary"])}</small>{shown}</td>'
            f'<td><img src="{name}.png" alt="{name} and its derivative" width="336"></td>'
            f"<td><code>{html.escape(info['formula'])}</code><br><small>f'(x): <code>{html.escape(info['derivative'])}</code></small></td>"
            f"<td>{html.escape(info['range'])}</td>"
            f"<td>{html.escape(flags)}</td>"
            f"<td><code>{html.escape(_format_params(info['parameters']))}</code></td>"
            f"<td>{html.escape(info['paper'] or '')}</td>"
            "</tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>tf_activations gallery</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; font-size: 13px; }}
tr.family th {{ background: #eef; text-align: left; font-size: 15px; }}
code {{ font-size: 12px; }}
</style></head><body>
<h1>tf_activations: {len(names)} activations</h1>
<p>Solid: f(x); dashed: f'(x), both over x in [{x_range[0]:g}, {x_range[1]:g}] with default parameters.
Vector functions are drawn along a line through their input: softmax, log_softmax and sparsemax as
component 0 of f([x, 0]) with the Jacobian diagonal as derivative; glu as glu([x, x]); maxout as
maxout([x, -x]) with one unit.</p>
<table>
<tr><th>name</th><th>f and f'</th><th>formula</th><th>range</th><th>properties</th><th>default parameters</th><th>paper</th></tr>
{chr(10).join(rows)}
</table></body></html>
"""
    index = os.path.join(out, "index.html")
    with open(index, "w", encoding="utf-8") as fh:
        fh.write(page)
    return index
