"""Measured properties of every activation, and the checks behind its advantages and disadvantages.

A sentence such as "sigmoid is not zero-centred" teaches nothing a learner can
check; with its number ("mean output 0.5 for standard normal input") it does.
Numbers typed by hand drift when a function changes, so every number here is
computed from the declaration: its forward and closed-form derivative, run in
float64 and exact mode at the default parameters. Functions of an axis are measured
along the line their declaration gives (``Activation.line``, which plots draw too) for
slopes and regions, and on rows of standard normal inputs for the output statistics.

Nothing runs at import. :func:`measure` is cached per name (about 0.1 s each);
:func:`measure_cost` times fwd+bwd against relu and runs only when asked
(``info NAME --cost``, ``gallery --cost``), since timings belong to a machine.

Imports point one way: this module reads the registry; plotting and the gallery read
this module; the registry and the catalog never import it.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import os
import platform
import string
import time

import numpy as np
import tensorflow as tf

from tf_activations import _registry
from tf_activations._mode import exact

from tf_activations._spec import SATURATED_BELOW

WINDOW = 50.0  # regions are searched on [-WINDOW, WINDOW]; one reaching the edge is unbounded
STEP = 1e-3
SMOOTH_WINDOW = 8.0  # every default kink lies within; beyond it f' of these functions is tame
FAR = np.array([1e2, 1e3, 1e4, 1e6])  # where boundedness is judged
BOUND = 1e3  # |f| staying below this out to |x| = 1e6 counts as bounded
UNDERFLOW = 30.0  # f' or f rounding to exactly 0 only beyond |x| = 30 is float64 underflow, not a dead region
MIN_SATURATION = 0.5  # shorter stretches of saturation (|f'| < SATURATED_BELOW) are where f' crosses 0 (a minimum), not saturation
ROWS, ROW_SIZE = 4096, 8  # vector functions: rows of N(0, 1) inputs
COST_FILE = "cost.json"
SATURATED_TEXT = f"{SATURATED_BELOW:.0e}".replace("e-0", "e-")  # "1e-3", as the tutorials write it


def _grid():
    # integers over 1000: 0, +-0.5, +-1, +-3, +-6 are grid points exactly, so kinks there are hit
    return np.arange(-int(WINDOW / STEP), int(WINDOW / STEP) + 1) / (1.0 / STEP)


def curve(name, x, **params):
    """``(y, dy, label)``: the function and its derivative along ``x`` (1-D), as drawn and measured.

    Elementwise functions: f and its closed-form derivative (autodiff for one declared
    without). Functions of an axis: component 0 of f along their declared
    :class:`~tf_activations._spec.Line`, and its d/dx, labelled by the line.
    """
    spec = _registry.SPECS[_registry.canonical(name)]
    fn = _registry.FUNCTIONS[spec.name]
    xt = tf.constant(np.asarray(x, dtype=np.float64).reshape(-1))
    if not spec.axis_op:
        y = fn(xt, **params)
        try:
            dy = _registry.derivative(spec.name, xt, **params)
        except ValueError:
            dy = _autodiff(lambda t: fn(t, **params), xt)
        return np.asarray(y, np.float64), np.asarray(dy, np.float64), spec.name
    params = {**spec.line.params, **params}

    def along(t):
        return fn(spec.line.inputs(t), **params)[..., 0]

    return np.asarray(along(xt), np.float64), np.asarray(_autodiff(along, xt), np.float64), spec.line.label


def _autodiff(fn, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return tape.gradient(y, x)


def _evaluate(name, x):
    """(f, f') along x in float64 and exact mode: the declaration's own formulas."""
    with exact():
        y, dy, _ = curve(name, np.asarray(x, np.float64))
    return y, dy


def _normal_cdf(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _runs(mask):
    """(first, last) indices of each run of True at least two points long: an interval, not a point."""
    padded = np.concatenate([[0], mask.astype(np.int8), [0]])
    edges = np.diff(padded)
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [(int(a), int(b)) for a, b in zip(starts, stops) if b > a]


def _edge(name, lo, hi, predicate, first_true):
    """Where ``predicate`` switches between grid points lo and hi, to STEP / 1000."""
    x = np.linspace(lo, hi, 1001)
    hit = predicate(*_evaluate(name, x))
    idx = np.flatnonzero(hit)
    if idx.size == 0:
        return hi if first_true else lo
    return float(x[idx[0]] if first_true else x[idx[-1]])


def _intervals(name, x, y, dy, predicate):
    """The intervals of [-WINDOW, WINDOW] where predicate(f, f') holds, edges refined;
    an interval touching the window's edge is taken to extend to infinity."""
    out = []
    for a, b in _runs(predicate(y, dy)):
        lo = -math.inf if a == 0 else _edge(name, x[a - 1], x[a], predicate, first_true=True)
        hi = math.inf if b == len(x) - 1 else _edge(name, x[b], x[b + 1], predicate, first_true=False)
        out.append((lo, hi))
    return out


def _structural(intervals):
    """Drops intervals lying wholly beyond |x| = UNDERFLOW (gelu' is 0 in float64 below -37.7)."""
    return [(lo, hi) for lo, hi in intervals if hi >= -UNDERFLOW and lo <= UNDERFLOW]


def _normal_mass(intervals):
    return sum(_normal_cdf(hi) - _normal_cdf(lo) for lo, hi in intervals)


def _moments(name):
    """Mean and variance of f(x), x ~ N(0, 1), by the midpoint rule on [-12, 12]:
    symmetric, so odd functions give 0 to rounding, and a kink costs O(h^2) = 1e-8."""
    h = 1e-4
    x = (np.arange(-120000, 120000) + 0.5) * h
    w = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) * h
    y, _ = _evaluate(name, x)
    mean = float(np.sum(w * y))
    return mean, float(np.sum(w * (y - mean) ** 2))


def _row_stats(name):
    """Vector functions: mean, variance and fraction of exact zeros of f on rows of N(0, 1)."""
    rows = np.random.default_rng(0).standard_normal((ROWS, ROW_SIZE))
    with exact():
        y = np.asarray(_registry.FUNCTIONS[name](tf.constant(rows)), np.float64)
    return float(y.mean()), float(y.var()), float(np.mean(y == 0.0))


def _jumps(name):
    """Jumps of f' on [-SMOOTH_WINDOW, SMOOTH_WINDOW]: (x, size) pairs.

    A step of f' between grid points that does not shrink when the step is cut
    100-fold is a jump; a continuous f' changes 100 times less over a 100 times
    shorter step."""
    h = 1e-2
    x = np.arange(-int(SMOOTH_WINDOW / h), int(SMOOTH_WINDOW / h) + 1) * h
    _, dy = _evaluate(name, x)
    coarse = np.abs(np.diff(dy))
    cand = np.flatnonzero(coarse > 1e-6)
    if cand.size == 0:
        return []
    sub = x[cand][:, None] + np.linspace(0.0, h, 101)[None, :]
    _, sdy = _evaluate(name, sub.reshape(-1))
    steps = np.diff(sdy.reshape(sub.shape), axis=1)
    biggest = np.argmax(np.abs(steps), axis=1)
    big = np.abs(steps[np.arange(len(cand)), biggest])
    out = []
    for i in np.flatnonzero(big >= 0.5 * coarse[cand]):
        j = biggest[i]
        where = round(float(0.5 * (sub[i, j] + sub[i, j + 1])), 3) + 0.0  # + 0.0: no "-0"
        if out and where - out[-1][0] <= 2 * h:  # a jump on a grid point shows in both neighbours
            out[-1] = (out[-1][0] if abs(out[-1][1]) >= abs(steps[i, j]) else where, out[-1][1] + float(steps[i, j]))
        else:
            out.append((where, float(steps[i, j])))
    return out


def _far(name):
    """f at +-FAR (overflow to inf is expected there: exp)."""
    with np.errstate(all="ignore"):
        y, _ = _evaluate(name, np.concatenate([-FAR[::-1], FAR]))
    return y


def measure(name) -> dict:
    """The measured properties of ``name`` at its defaults, as plain data (see the module doc).

    Intervals are (low, high) pairs, +-inf where they reach the edge of the search
    window; a fresh copy each call, so a caller may change it."""
    return copy.deepcopy(_measure(_registry.canonical(name)))


@functools.lru_cache(maxsize=None)
def _measure(name) -> dict:
    elementwise = _registry.info(name)["elementwise"]
    x = _grid()
    y, dy = _evaluate(name, x)
    ady = np.abs(dy)
    zero = int(np.flatnonzero(x == 0.0)[0])
    flat = _intervals(name, x, y, dy, lambda f, d: np.abs(d) < SATURATED_BELOW)
    saturated = [(lo, hi) for lo, hi in flat if hi - lo >= MIN_SATURATION]
    dead = _structural(_intervals(name, x, y, dy, lambda f, d: d == 0.0))
    if elementwise:
        mean, var = _moments(name)
        zeros = _normal_mass(_structural(_intervals(name, x, y, dy, lambda f, d: f == 0.0)))
    else:
        mean, var, zeros = _row_stats(name)
    far = _far(name)
    both = np.concatenate([y, far])
    finite = both[np.isfinite(both)]
    scale = np.maximum(1.0, np.abs(y[1:]))
    drops = np.diff(y) < -1e-12 * scale
    return {
        "name": name,
        "elementwise": elementwise,
        "measured_on": "f(x)" if elementwise else _line_label(name),
        "mean": mean,
        "var": var,
        "moments_from": "N(0, 1) integral" if elementwise else f"{ROWS} rows of {ROW_SIZE} N(0, 1) inputs",
        "slope_at_0": float(dy[zero]),
        "max_slope": float(ady.max()),
        "max_slope_at": float(x[int(np.argmax(ady))]),
        "min_slope": float(ady.min()),
        "tail_slope_pos": float(dy[-1]),
        "saturation": saturated,
        "saturation_mass": _normal_mass(saturated),
        "flat_points": [round(0.5 * (lo + hi), 3) for lo, hi in flat if hi - lo < MIN_SATURATION],
        "dead": dead,
        "dead_mass": _normal_mass(dead),
        "sparsity": zeros,
        "monotonic": not bool(drops.any()),
        "first_drop_at": float(x[1:][drops][0]) if drops.any() else None,
        "jumps": _jumps(name),
        "output_min": float(np.min(both)),
        "output_min_at": float(x[int(np.argmin(y))]),
        "output_max": float(np.max(both)),
        "bounded_below": bool(not np.any(both == -np.inf) and finite.min() > -BOUND),
        "bounded_above": bool(not np.any(both == np.inf) and finite.max() < BOUND),
        "odd": bool(np.allclose(y[::-1], -y, rtol=1e-12, atol=1e-15)),
    }


def _line_label(name):
    """How a vector function is measured and drawn as a function of one x."""
    return _registry.SPECS[name].line.label


# ---- formatting: the numbers as a sentence cites them --------------------------------------

def num(v, digits=3):
    if v is None:
        return "n/a"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if abs(v) < 5e-10:
        return "0"
    return f"{v:.{digits}g}"


def pct(p):
    if p == 0:
        return "0%"
    return f"{100 * p:.3g}%" if p >= 1e-5 else f"{100 * p:.1e}%"


def region(intervals, limit=3):
    """'x < -6.91 and x > 6.91', '-0.5 < x < 0.5'; 'none' when empty; long lists shortened."""
    if not intervals:
        return "no interval"
    parts = []
    for lo, hi in intervals[:limit]:
        if math.isinf(lo) and math.isinf(hi):
            parts.append("every x")
        elif math.isinf(lo):
            parts.append(f"x < {num(hi)}")
        elif math.isinf(hi):
            parts.append(f"x > {num(lo)}")
        else:
            parts.append(f"{num(lo)} < x < {num(hi)}")
    more = f" and {len(intervals) - limit} more intervals" if len(intervals) > limit else ""
    return " and ".join(parts) + more


def points(xs, limit=3):
    if not xs:
        return "none"
    shown = ", ".join(num(v) for v in xs[:limit])
    return f"x = {shown}" + (f", ... ({len(xs)} points on [-{WINDOW:g}, {WINDOW:g}])" if len(xs) > limit else "")


def _smoothness(p):
    if not p["jumps"]:
        return f"f' has no jump on [-{SMOOTH_WINDOW:g}, {SMOOTH_WINDOW:g}]"
    shown = ", ".join(f"by {num(size, 3)} at x = {num(at)}" for at, size in p["jumps"][:3])
    return f"f' jumps {shown}"


def _monotonicity(p):
    if p["monotonic"]:
        return f"non-decreasing on [-{WINDOW:g}, {WINDOW:g}]"
    return f"falls to its minimum {num(p['output_min'])} at x = {num(p['output_min_at'])}, then rises"


def _range(p):
    lo = f"[{num(p['output_min'])}" if p["bounded_below"] else "(-inf"
    hi = f"{num(p['output_max'])}]" if p["bounded_above"] else "inf)"
    return f"{lo}, {hi}"


def placeholders(p, cost=None) -> dict:
    """Every name a claim's text may cite, as text."""
    return {
        "mean": num(p["mean"]),
        "var": num(p["var"]),
        "slope0": num(p["slope_at_0"]),
        "max_slope": num(p["max_slope"]),
        "max_slope_at": num(p["max_slope_at"]),
        "min_slope": num(p["min_slope"]),
        "tail_slope": num(p["tail_slope_pos"]),
        "saturated_below": SATURATED_TEXT,
        "saturation": region(p["saturation"]),
        "saturation_mass": pct(p["saturation_mass"]),
        "dead": region(p["dead"]),
        "dead_mass": pct(p["dead_mass"]),
        "sparsity": pct(p["sparsity"]),
        "range": _range(p),
        "output_min": num(p["output_min"]),
        "smoothness": _smoothness(p),
        "flat_points": points(p["flat_points"]),
        "monotonicity": _monotonicity(p),
        "cost": "not measured (add --cost)" if cost is None else f"{cost:.2g}x relu's",
    }


# ---- claims: each kind, the property it cites, and the check ---------------------------------

def _unbounded_saturation(p):
    return any(math.isinf(lo) or math.isinf(hi) for lo, hi in p["saturation"])


def _bounded(p):
    return p["bounded_below"] and p["bounded_above"]


def _cost_check(test):
    return lambda p, cost: None if cost is None else test(cost)


def _ignore_cost(check):
    return lambda p, cost: check(p)


# kind -> (check(properties, cost) -> True/False/None (not measured), placeholders that count as its number)
CLAIM_KINDS = {
    "saturates": (_ignore_cost(_unbounded_saturation), ("saturation", "saturation_mass")),
    "unsaturated_above": (_ignore_cost(lambda p: not any(math.isinf(hi) for _, hi in p["saturation"])
                                       and abs(p["tail_slope_pos"]) >= SATURATED_BELOW), ("tail_slope",)),
    "flat_at_zero": (_ignore_cost(lambda p: abs(p["slope_at_0"]) < SATURATED_BELOW), ("slope0", "saturation")),
    "zero_centred": (_ignore_cost(lambda p: abs(p["mean"]) < 0.05), ("mean",)),
    "not_zero_centred": (_ignore_cost(lambda p: abs(p["mean"]) >= 0.05), ("mean",)),
    "self_normalising": (_ignore_cost(lambda p: abs(p["mean"]) < 0.01 and abs(p["var"] - 1.0) < 0.01),
                         ("mean", "var")),
    "dead_region": (_ignore_cost(lambda p: bool(p["dead"])), ("dead", "dead_mass")),
    "no_dead_region": (_ignore_cost(lambda p: not p["dead"] and p["min_slope"] > 0.0), ("min_slope", "dead")),
    "sparse": (_ignore_cost(lambda p: p["sparsity"] >= 0.1), ("sparsity",)),
    "dense": (_ignore_cost(lambda p: p["sparsity"] == 0.0), ("sparsity",)),
    "bounded": (_ignore_cost(_bounded), ("range",)),
    "unit_interval": (_ignore_cost(lambda p: _bounded(p) and p["output_min"] >= 0.0 and p["output_max"] <= 1.0),
                      ("range",)),
    "bounded_above": (_ignore_cost(lambda p: p["bounded_above"]), ("range",)),
    "flat_points": (_ignore_cost(lambda p: bool(p["flat_points"])), ("flat_points",)),
    "unbounded_above": (_ignore_cost(lambda p: not p["bounded_above"]), ("range",)),
    "bounded_below": (_ignore_cost(lambda p: p["bounded_below"]), ("range", "output_min")),
    "smooth": (_ignore_cost(lambda p: not p["jumps"]), ("smoothness",)),
    "kink": (_ignore_cost(lambda p: bool(p["jumps"])), ("smoothness",)),
    "monotonic": (_ignore_cost(lambda p: p["monotonic"]), ("monotonicity",)),
    "non_monotonic": (_ignore_cost(lambda p: not p["monotonic"]), ("monotonicity",)),
    "gentle_slope": (_ignore_cost(lambda p: p["max_slope"] <= 0.5), ("max_slope",)),
    "unit_slope": (_ignore_cost(lambda p: p["max_slope"] >= 0.99), ("max_slope", "slope0", "tail_slope")),
    "steep": (_ignore_cost(lambda p: p["max_slope"] > 10.0), ("max_slope",)),
    "cheap": (_cost_check(lambda c: c < 1.5), ("cost",)),
    "cost": (_cost_check(lambda c: True), ("cost",)),  # the number, no verdict: it varies by machine
    "expensive": (_cost_check(lambda c: c >= 1.5), ("cost",)),
    "note": (lambda p, cost: True, ()),
}


def fields(text):
    """The placeholder names in a claim's text."""
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def check(claim, props, cost=None):
    """True if the measurement bears the claim out, False if not, None if it was not measured (cost)."""
    test, _ = CLAIM_KINDS[claim.kind]
    return test(props, cost)


def render(claim, props, cost=None) -> str:
    """The claim's sentence with its numbers; a claim the measurement contradicts says so."""
    text = claim.text.format(**placeholders(props, cost))
    if check(claim, props, cost) is False:
        text += " [not borne out by the measurement here]"
    return text


def teaching(name, cost=None) -> dict:
    """use_when, advantages and disadvantages of ``name`` with their numbers, and the numbers."""
    spec = _registry.SPECS[_registry.canonical(name)]
    props = measure(spec.name)
    return {
        "use_when": spec.use_when,
        "advantages": [{"kind": c.kind, "text": render(c, props, cost), "holds": check(c, props, cost)}
                       for c in spec.advantages],
        "disadvantages": [{"kind": c.kind, "text": render(c, props, cost), "holds": check(c, props, cost)}
                          for c in spec.disadvantages],
        "measured": {**props, "cost_vs_relu": cost},
    }


def summary_lines(props, cost=None):
    """The measured properties as (label, value) rows, for `info` and the pages."""
    ph = placeholders(props, cost)
    on = "" if props["elementwise"] else f" (along {props['measured_on']})"
    return [
        ("mean, var", f"{ph['mean']}, {ph['var']} of f(x) for x ~ N(0, 1)"
                      + ("" if props["elementwise"] else f" ({props['moments_from']})")),
        ("slope", f"f'(0) = {ph['slope0']}; largest |f'| = {ph['max_slope']} at x = {ph['max_slope_at']}{on}"),
        ("saturation", (f"|f'| < {SATURATED_TEXT} for {ph['saturation']} ({ph['saturation_mass']} of N(0, 1) inputs)"
                        if props["saturation"] else f"none (|f'| < {SATURATED_TEXT} on no stretch of length "
                                                    f">= {MIN_SATURATION:g})")
                       + (f"; |f'| touches 0 at {ph['flat_points']}" if props["flat_points"] else "")),
        ("dead region", (f"f' = 0 for {ph['dead']} ({ph['dead_mass']} of N(0, 1) inputs)" if props["dead"]
                         else "none (f' = 0 on no interval)")),
        ("sparsity", f"{ph['sparsity']} exact zeros for N(0, 1) input"
                     + ("" if props["elementwise"] else f" ({props['moments_from']})")),
        ("range", f"{ph['range']} (measured out to |x| = 1e6){on}"),
        ("monotonic", ph["monotonicity"] + on),
        ("smooth", ph["smoothness"] + on),
        ("cost", f"fwd+bwd {ph['cost']}" if cost is not None else "not measured (info NAME --cost)"),
    ]


# ---- cost: only on request -------------------------------------------------------------------

def measure_cost(names, shape=(1024, 1024), repeats=15) -> dict:
    """fwd+bwd time of each name relative to relu's, in the default mode, float32, tf.function.

    Round-robin: every repeat times each function (and relu) once, so a machine
    that speeds up or slows down during the run (another job, turbo) shifts all
    of them alike; ratios are of medians, and relu's is 1 by construction.
    Never called by an import or a test assertion."""
    x = tf.random.stateless_normal(shape, seed=(0, 0))

    def compiled(fn):
        @tf.function
        def step(t):
            with tf.GradientTape() as tape:
                tape.watch(t)
                y = fn(t)
            return y, tape.gradient(y, t)

        step(x)[1].numpy()  # trace and warm up outside the timing
        return step

    names = [_registry.canonical(n) for n in names]
    steps = {n: compiled(_registry.FUNCTIONS[n]) for n in dict.fromkeys(["relu", *names])}
    times = {n: [] for n in steps}
    for _ in range(repeats):
        for n, step in steps.items():
            t0 = time.perf_counter()
            step(x)[1].numpy()
            times[n].append(time.perf_counter() - t0)
    base = float(np.median(times["relu"]))
    return {n: float(np.median(times[n])) / base for n in names}


def write_cost(folder, ratios):
    """Writes the ratios to ``folder/cost.json`` (merged with what is there), with the machine."""
    path = os.path.join(folder, COST_FILE)
    data = load_cost_file(path) or {"ratios": {}}
    data["ratios"].update(ratios)
    data.update(machine=f"{platform.machine()}, {os.cpu_count()} cores", tensorflow=tf.__version__,
                measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                what="median fwd+bwd time of a (1024, 1024) float32 tf.function step / relu's")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    return path


def load_cost_file(path):
    """The cost cache, or None if there is none (a damaged one is also none: it is a cache)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("ratios"), dict) else None


# ---- accuracy: float32 against the float64 result, cheap enough for the gallery -------------

def accuracy(name) -> dict:
    """Max error in float32 ulp of the default and exact modes against the float64 exact result.

    Elementwise functions on 8001 points of [-20, 20]; vector functions on rows of
    3 * N(0, 1). Errors count where the float64 result is a normal float32."""
    fn = _registry.FUNCTIONS[_registry.canonical(name)]
    if _registry.info(name)["elementwise"]:
        x32 = np.linspace(-20, 20, 8001).astype(np.float32)
    else:
        x32 = (3 * np.random.default_rng(1).standard_normal((512, ROW_SIZE))).astype(np.float32)
    with exact():
        ref = np.asarray(fn(tf.constant(x32.astype(np.float64))), np.float64)
    out = {}
    for mode in ("default", "exact"):
        with exact(mode == "exact"):
            y = np.asarray(fn(tf.constant(x32)), np.float64)
        rounded = ref.astype(np.float32)
        ok = np.isfinite(rounded) & (np.abs(rounded) >= np.finfo(np.float32).tiny)
        ulp = np.spacing(np.abs(rounded[ok])).astype(np.float64)
        out[mode] = float(np.max(np.abs(y[ok] - ref[ok]) / ulp)) if ok.any() else 0.0
    return out



def info(name, measured=False, cost=None) -> dict:
    """Formula, derivative, range, paper, parameters, properties and teaching text of ``name``.

    The advantages and disadvantages come as ``{"kind", "text"}`` with ``{placeholders}``
    for their numbers. ``measured=True`` fills them in and adds ``"measured"``, the numbers
    themselves (:func:`measure`: float64, default parameters, about 0.05 s the first time
    per name); each claim then also says whether it ``"holds"``. ``cost`` is fwd+bwd time
    relative to relu, if measured (:func:`measure_cost`).
    """
    data = _registry.info(name)
    if measured:
        data.update(teaching(data["name"], cost=cost))
    return data
