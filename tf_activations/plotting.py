"""Pictures of the activations: ``plot()``, a grid of many, and the HTML gallery.

matplotlib is an optional extra (``pip install tf-activations[plot]``); it is
imported only when a function here draws something, so ``import
tf_activations`` works without it. Nothing here calls ``plt.show()``: every
function returns its figure. Without a display (no ``$DISPLAY`` and no
``$MPLBACKEND``) the non-interactive Agg backend is chosen.

Functions of an axis have no graph of one variable; each is drawn along the line
through its input space that its declaration gives (``Activation.line``: softmax([x,
0])[0], which is sigmoid(x); glu([x, x]) = x * sigmoid(x); maxout([x, -x]) = |x|, ...),
labelled so, with the derivative d/dx along that line.
"""

from __future__ import annotations

import html
import math
import os
import sys
import textwrap

import numpy as np

from tf_activations import _registry, properties
from tf_activations.properties import curve

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

def require_matplotlib():
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
    require_matplotlib()
    import matplotlib.pyplot as plt

    return plt


def figure(**kwargs):
    """A Figure not held by pyplot (for files: nothing to close, no backend needed)."""
    require_matplotlib()
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def _line_label(name):
    """A function of an axis by the line it is drawn along; an elementwise one by its name."""
    line = _registry.SPECS[name].line
    return name if line is None else line.label


def _wrap(text, width=60):
    return "\n".join(textwrap.wrap(text, width)) or text


def _draw(ax, name, derivative, x, color=None, params=None, formula_in_label=True):
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
    are drawn along their declared line through their input (``Activation.line``).
    The derivative line of ``name`` has gid ``"name:df"`` (the function's:
    ``"name:f"``). Never calls ``plt.show()``.
    """
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
        head = _line_label(name)
        ax.set_title(f"{head}\n{_wrap(info['formula'], 80)}", fontsize=9)
    ax.legend(fontsize=7 if not single else 8, loc="best")
    return fig


def plot_grid(names=None, derivative=True, x_range=(-6, 6), ncols=6, panel=(2.3, 1.9), dpi=None,
              title=None):
    """Small multiples: one panel per activation (function solid, derivative dashed).

    Returns a figure not held by pyplot (display it in a notebook as the last
    expression of a cell, or save it with ``fig.savefig``).
    """
    names = list(_registry.available() if names is None else names)
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    fig = figure(figsize=(panel[0] * ncols, panel[1] * nrows), dpi=dpi, layout="constrained")
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


def _spans(ax, intervals, x_range, **style):
    """Shades each interval (clipped to the view); returns whether anything was drawn."""
    drawn = False
    for lo, hi in intervals:
        lo, hi = max(lo, x_range[0]), min(hi, x_range[1])
        if lo < hi:
            ax.axvspan(lo, hi, **style)
            drawn = True
    return drawn


def _gallery_png(name, path, x, props, dpi):
    """f and f' of ``name``, with its saturated and dead regions shaded, saved to ``path``."""
    fig = figure(figsize=(4.8, 3.3), dpi=dpi, layout="constrained")
    ax = fig.subplots()
    y, dy, label = curve(name, x)
    ax.plot(x, y, lw=2, color="C0", label=label if label != name else f"{name}(x)")
    ax.plot(x, dy, lw=1.4, ls="--", color="C3",
            label="derivative" + (" (Jacobian diagonal)" if name in ("softmax", "log_softmax", "sparsemax") else ""))
    x_range = (float(x[0]), float(x[-1]))
    # dead regions are saturated too; drawn second, hatched, so both stay visible
    if _spans(ax, props["saturation"], x_range, color="orange", alpha=0.18, lw=0):
        ax.plot([], [], color="orange", alpha=0.4, lw=6, label=f"saturated: |f'| < {properties.SATURATED_TEXT}")
    if _spans(ax, props["dead"], x_range, facecolor="none", edgecolor="0.45", hatch="///", lw=0):
        ax.plot([], [], color="0.6", lw=6, label="dead: f' = 0")
    _style(ax, x_range)
    _clip_view(ax, y, dy)
    ax.set_title(name, fontsize=11)
    ax.legend(fontsize=6.5, loc="best")
    fig.savefig(path)


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; max-width: 72em; color: #222; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; font-size: 13px; text-align: left; }
th { background: #eef; }
th.sort { cursor: pointer; white-space: nowrap; }
th.sort::after { content: " \\2195"; color: #889; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 12px; }
li { margin: 0.25em 0; }
.none { color: #888; }
"""

# Sorts the index table by the clicked column: numbers by data-sort, text alphabetically.
_SORT_JS = """
document.querySelectorAll("th.sort").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], col = th.cellIndex;
    var up = th.getAttribute("data-dir") !== "up";
    th.setAttribute("data-dir", up ? "up" : "down");
    function key(row) {
      var cell = row.cells[col], v = cell.getAttribute("data-sort");
      return v === null ? cell.textContent.trim().toLowerCase() : parseFloat(v);
    }
    Array.prototype.slice.call(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1);
    }).forEach(function (row) { body.appendChild(row); });
  });
});
"""


def _html(title, body, script=""):
    tail = f"<script>{script}</script>" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n{body}\n{tail}</body></html>\n")


def _rows(pairs):
    return "\n".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in pairs)


def _claims_html(items):
    if not items:
        return '<p class="none">none recorded</p>'
    return "<ul>" + "".join(f"<li>{html.escape(c['text'])}</li>" for c in items) + "</ul>"


def _accuracy_text(acc):
    return (f"max {acc['default']:.3g} ulp (default mode), {acc['exact']:.3g} ulp (exact mode), float32 "
            f"against the float64 result on {'8001 points of [-20, 20]' if acc['elementwise'] else '512 rows of 3 N(0, 1)'}")


def _speed_text(cost, cost_meta):
    if cost is None:
        return '<span class="none">not measured (gallery --cost)</span>'
    where = f" ({html.escape(str(cost_meta.get('machine', '')))}, TF {html.escape(str(cost_meta.get('tensorflow', '')))}, " \
            f"{html.escape(str(cost_meta.get('measured', '')))})" if cost_meta else ""
    return f"fwd+bwd {cost:.2g}x relu's time{where}"


def _page(name, data, acc, cost, cost_meta, neighbours):
    """The reference page of one activation, from its declaration and its measurement."""
    esc = html.escape
    params = data["parameters"]
    param_rows = "".join(
        f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(repr(v['default']))}</code></td><td>{esc(v['allowed'])}"
        f"{', trainable in the layer' if v['trainable'] else ''}</td><td>{esc(v['doc'])}</td></tr>"
        for k, v in params.items())
    param_table = (f"<table><tr><th>name</th><th>default</th><th>allowed</th><th>meaning</th></tr>{param_rows}</table>"
                   if params else '<p class="none">none</p>')
    declared = ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no'}" for k, v in data["properties"].items())
    drawn = _line_label(name) if not data["elementwise"] else None
    measured_rows = _rows((label, esc(value)) for label, value in properties.summary_lines(data["measured"], cost))
    prev_name, next_name = neighbours
    nav = " | ".join(
        ['<a href="index.html">all activations</a>']
        + ([f'<a href="{prev_name}.html">&larr; {esc(prev_name)}</a>'] if prev_name else [])
        + ([f'<a href="{next_name}.html">{esc(next_name)} &rarr;</a>'] if next_name else []))
    body = f"""<p>{nav}</p>
<h1>{esc(name)}</h1>
<p>{esc(data['summary'])}</p>
<img src="{name}.png" alt="{esc(name)}: f (solid) and f' (dashed), saturated and dead regions shaded" width="480">
{f'<p><small>Drawn along a line: {esc(drawn)}.</small></p>' if drawn else ''}
<h2>Definition</h2>
<table>{_rows([("formula", f"<code>{esc(data['formula'])}</code>"),
                ("derivative", f"<code>{esc(data['derivative'])}</code>"),
                ("range", esc(data['range'])), ("family", esc(data['family'])),
                ("declared", esc(declared)),
                ("aliases", esc(', '.join(data['aliases'])) or '-'),
                ("kinks", esc(data['kinks']) or '-'),
                ("paper", esc(data['paper']))])}</table>
<h3>Parameters</h3>
{param_table}
<h2>When to use</h2>
<p>{esc(data['use_when'])}</p>
<h2>Advantages</h2>
{_claims_html(data['advantages'])}
<h2>Disadvantages</h2>
{_claims_html(data['disadvantages'])}
<h2>Measured</h2>
<p><small>Computed from the declaration in float64 at the default parameters (tf_activations.properties);
every number in the lists above comes from here.</small></p>
<table>{measured_rows}</table>
<h2>Accuracy and speed</h2>
<table>{_rows([("accuracy", esc(_accuracy_text(acc))), ("speed", _speed_text(cost, cost_meta))])}</table>
{f'<h2>Notes</h2><p>{esc(data["notes"])}</p>' if data.get('notes') else ''}
"""
    return _html(f"{name} - tf_activations", body)


def _cell(text, sort=None, num=False):
    """A table cell; ``sort`` (a number, or "Infinity") is what the index's script sorts by."""
    attr = "" if sort is None else f' data-sort="{sort if isinstance(sort, str) else repr(float(sort))}"'
    klass = ' class="num"' if num else ""
    return f"<td{attr}{klass}>{text}</td>"


def _onset(props):
    """The smallest |x| at which a tail saturates (inf: never)."""
    ends = [abs(hi) for lo, hi in props["saturation"] if lo == -math.inf]
    ends += [abs(lo) for lo, hi in props["saturation"] if hi == math.inf]
    return min(ends) if ends else math.inf


def _view(x_range, props, widest=12.0):
    """x_range, widened (up to |x| = widest) so that where saturation begins is in the picture."""
    onset = _onset(props)
    lo, hi = x_range
    if max(-lo, hi) <= onset < widest:
        reach = math.ceil(onset + 2.0)
        return min(lo, -reach), max(hi, reach)
    return lo, hi


def _index_row(name, data, acc, cost):
    p = data["measured"]
    esc = html.escape
    num = properties.num
    onset = _onset(p)
    cells = [
        _cell(f'<a href="{name}.html">{esc(name)}</a>'),
        _cell(esc(data["family"])),
        _cell(f'<a href="{name}.html"><img src="{name}.png" alt="{esc(name)}" width="120"></a>'),
        _cell(num(p["mean"]), p["mean"], True),
        _cell(num(p["var"]), p["var"], True),
        _cell(num(p["slope_at_0"]), p["slope_at_0"], True),
        _cell(num(p["max_slope"]), p["max_slope"], True),
        _cell(esc(properties.region(p["saturation"], limit=2)) if p["saturation"] else "never",
              "Infinity" if onset == math.inf else onset),
        _cell(properties.pct(p["dead_mass"]), p["dead_mass"], True),
        _cell(properties.pct(p["sparsity"]), p["sparsity"], True),
        _cell("yes" if p["monotonic"] else "no"),
        _cell("yes" if not p["jumps"] else "no"),
        _cell("not measured" if cost is None else f"{cost:.2g}x", "Infinity" if cost is None else cost, True),
        _cell(f"{acc['default']:.3g}", acc["default"], True),
    ]
    return "<tr>" + "".join(cells) + "</tr>"


_INDEX_HEAD = ("name", "family", "f and f'", "mean", "var", "f'(0)", "max |f'|", "saturates",
               "dead (N(0,1))", "zeros (N(0,1))", "monotonic", "smooth", "cost vs relu", "max ulp f32")


def _index(rows, n, x_range, cost_meta):
    head = "".join(f'<th class="sort">{html.escape(h)}</th>' if h != "f and f'" else f"<th>{html.escape(h)}</th>"
                   for h in _INDEX_HEAD)
    speed = ("cost vs relu: median fwd+bwd time of a (1024, 1024) float32 step over relu's, measured "
             f"{html.escape(str(cost_meta.get('measured', '')))} on {html.escape(str(cost_meta.get('machine', '')))}"
             if cost_meta else "cost vs relu: not measured (run <code>gallery --cost</code>)")
    lines = "; ".join(spec.line.label.split(" = ")[0] for spec in _registry.SPECS.values() if spec.line)
    body = f"""<h1>tf_activations: {n} activations</h1>
<p>One page per activation (click a name): formula, derivative, parameters, when to use it, its advantages
and disadvantages with the numbers behind them, the measured properties, accuracy and speed. Click a column
heading to sort. Numbers are measured from each declaration in float64 at the default parameters: mean and
variance of f(x) for x ~ N(0, 1); "saturates": where |f'| &lt; {properties.SATURATED_TEXT} begins; "dead": the N(0, 1) mass where
f' = 0; "zeros": the N(0, 1) mass where f(x) = 0. Plots: solid f(x), dashed f'(x) over x in
[{x_range[0]:g}, {x_range[1]:g}] (wider, up to |x| = 12, where that shows saturation begin); shaded: saturated,
hatched: dead. Vector functions are drawn and measured
along the line through their input their declaration gives ({html.escape(lines)}), their mean, variance and zeros
on rows of 8 N(0, 1) inputs.
{speed}; max ulp f32: the largest float32 error of the default mode against the float64 result.</p>
<table>
<thead><tr>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody>
</table>"""
    return _html("tf_activations gallery", body, _SORT_JS)


def render_gallery(out, names=None, x_range=(-6, 6), dpi=80, cost=False):
    """Writes the gallery into the folder ``out``; returns the index path.

    For every activation: ``<name>.png`` (f and f', saturated and dead regions
    shaded) and ``<name>.html`` (its reference page); ``index.html`` holds a
    sortable comparison table. Static files linked relatively: they read offline
    and from any folder. ``cost=True`` first times every activation's fwd+bwd
    against relu and stores it in ``out/cost.json``; without it, the speed
    shown is that file's, if an earlier run wrote one, else "not measured".
    """
    os.makedirs(out, exist_ok=True)
    names = list(_registry.available() if names is None else [_registry.canonical(n) for n in names])
    order = {family: i for i, (family, _) in enumerate(FAMILIES)}
    names.sort(key=lambda n: (order.get(_registry.info(n)["family"], len(order)), n))
    if cost:
        properties.write_cost(out, properties.measure_cost(names))
    cost_meta = properties.load_cost_file(os.path.join(out, properties.COST_FILE))
    costs = (cost_meta or {}).get("ratios", {})
    rows = []
    for i, name in enumerate(names):
        data = properties.info(name, measured=True, cost=costs.get(name))
        acc = {**properties.accuracy(name), "elementwise": data["elementwise"]}
        x = np.linspace(*_view(x_range, data["measured"]), 601)
        _gallery_png(name, os.path.join(out, f"{name}.png"), x, data["measured"], dpi)
        neighbours = (names[i - 1] if i else None, names[i + 1] if i + 1 < len(names) else None)
        _write(os.path.join(out, f"{name}.html"), _page(name, data, acc, costs.get(name), cost_meta, neighbours))
        rows.append(_index_row(name, data, acc, costs.get(name)))
    index = os.path.join(out, "index.html")
    _write(index, _index(rows, len(names), x_range, cost_meta))
    return index


def _write(path, text):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
