"""``tf-activations`` (or ``python -m tf_activations``): list, info, plot, gallery, compare, status,
build.

Names are passed the same way everywhere: ``--names a,b`` (repeatable, comma- or
space-separated); ``info NAME``, ``plot NAMES`` and ``compare --activations`` are kept as
aliases. Every command that writes a file prints its path. TensorFlow's C++ log lines are
kept out of the output unless TF_CPP_MIN_LOG_LEVEL is set (:mod:`tf_activations._quiet`).
Anything a user can get wrong (a name, a path, a missing extra) is one line
``tf-activations: error: ...`` on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
import time

PROG = "tf-activations"


class UsageError(Exception):
    """A mistake in the command line that is found after parsing (exit 2)."""


def _names(values):
    """Names from ``a b`` or ``a,b`` (or both)."""
    out = []
    for value in values or ():
        out.extend(v for v in value.split(",") if v.strip())
    return [v.strip() for v in out]


def _canonical_names(values):
    """The canonical names, checked before any work is done (an unknown one raises ValueError)."""
    from tf_activations import _registry

    return [_registry.canonical(n) for n in _names(values)]


def _version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("tf-activations")
    except PackageNotFoundError:  # run from a checkout that is not installed
        from tf_activations import __version__

        return __version__


def _check_out_file(path):
    """--out of a file: its folder must exist and be writable (checked before drawing)."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise UsageError(f"--out {path!r} is a folder; give a file name such as {os.path.join(path, 'plot.png')!r}")
    if not os.path.isdir(folder):
        raise UsageError(f"--out {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--out {path!r}: the folder {folder!r} is not writable")


def _check_out_folder(path):
    """--out of a folder: an existing writable folder, or one that can be created (not created here)."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise UsageError(f"--out {path!r} exists and is not a folder")
        if not os.access(path, os.W_OK):
            raise UsageError(f"--out {path!r} is not writable")
        return
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK):
        raise UsageError(f"--out {path!r} cannot be created: {parent!r} is not a writable folder")


def _markdown_default(value):
    """A parameter default as a reader would type it (1/3 as 0.3333, not 0.3333333333333333)."""
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _markdown_cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_activations() -> str:
    """The activations as a Markdown table, grouped by family in declaration order: each name
    with its parameters and defaults, its aliases or what it is a variant of, and its paper."""
    from tf_activations import _registry

    by_family = {}
    for name in _registry.SPECS:  # declaration order: each family's names as the catalog groups them
        info = _registry.info(name)
        by_family.setdefault(info["family"], []).append(info)
    lines = ["| family | name (parameters and defaults) | paper |", "|---|---|---|"]
    for family, infos in by_family.items():
        for info in infos:
            params = ", ".join(f"{k}={_markdown_default(p['default'])}" for k, p in info["parameters"].items())
            cell = f"`{info['name']}({params})`" if params else f"`{info['name']}`"
            if info["variant_of"]:
                fixed = ", ".join(f"{k}={_markdown_default(v)}" for k, v in info["variant_of"]["parameters"].items())
                cell += f" = `{info['variant_of']['name']}({fixed})`"
            if info["aliases"]:
                cell += " (alias " + ", ".join(f"`{a}`" for a in info["aliases"]) + ")"
            lines.append(f"| {family} | {_markdown_cell(cell)} | {_markdown_cell(info['paper'])} |")
    return "\n".join(lines)


def markdown_kernels() -> str:
    """Which names have a C++ kernel and whether the dispatch code runs it (eagerly and in a
    tf.function on a CPU) in the default and in exact mode, as a Markdown table. Read from
    tf_activations.status()'s routes, so it needs the kernels loaded."""
    import tf_activations
    from tf_activations import _registry, _status, native

    found = _status.kernel_status()
    if not found.active:
        raise UsageError(f"the kernel table is read from the dispatch code with the kernels loaded; they are "
                         f"{found.state}{': ' + found.fix if found.fix else ''}")
    with_kernel = set(native.kernel_names())
    names = [n for n in _registry.available() if native.has_kernel(n) or n in with_kernel]
    routes = {}
    for mode in (False, True):
        with tf_activations.exact(mode):
            routes[mode] = _status.path_table(names)

    def runs(name, mode):
        """`name`, `name` (eager only), ... where the kernel runs in this mode; None where it does not."""
        sites = [s for s in ("eager", "tf.function") if routes[mode][name][s] == "kernel"]
        if not sites:
            return None
        return f"`{name}`" + ("" if len(sites) == 2 else f" ({sites[0]} only)")

    rows = [("by default", [runs(n, False) for n in names]), ("in exact mode", [runs(n, True) for n in names])]
    unused = [f"`{n}`" for n in names if runs(n, False) is None and runs(n, True) is None]
    lines = ["| C++ kernel runs | names |", "|---|---|"]
    lines += [f"| {label} | {', '.join(c for c in cells if c)} |" for label, cells in rows]
    if unused:
        lines.append(f"| built, never chosen | {', '.join(unused)} |")
    return "\n".join(lines)


def cmd_list(args):
    from tf_activations import _registry

    if args.markdown:
        print(markdown_kernels() if args.markdown == "kernels" else markdown_activations())
        return 0
    names = _registry.available()
    width = max(map(len, names))
    for name in names:
        info = _registry.info(name)
        formula = info["formula"]
        if not args.full and len(formula) > 90:
            formula = formula[:87] + "..."
        print(f"{name:<{width}}  {info['family']:<10}  {formula}")
    return 0


def _format_info(info):
    lines = [f"{info['name']}  ({info['family']})", f"  {info['summary']}", ""]

    def field(label, value):
        wrapped = textwrap.wrap(str(value), 88, subsequent_indent=" " * 14) or [""]
        lines.append(f"  {label:<11} {wrapped[0]}")
        lines.extend(wrapped[1:])

    field("formula", info["formula"])
    field("derivative", info["derivative"])
    field("range", info["range"])
    props = info["properties"]
    field("properties", ", ".join(f"{k.replace('_', ' ')}: {'yes' if v else 'no'}" for k, v in props.items()))
    field("elementwise", "yes" if info["elementwise"] else "no (works along an axis)")
    if info.get("kinks"):
        field("kinks", info["kinks"])
    if info["aliases"]:
        field("aliases", ", ".join(info["aliases"]))
    field("keras", ("a Keras built-in name: Keras' own function by default (or a faster kernel), the "
                   "exact formula in exact mode") if info["default_is_keras"]
          else "a Keras built-in name, computed here in both modes (Keras' own is wrong)" if info["keras_builtin"]
          else f"activation=\"{info['name']}\" after import tf_activations")
    field("paper", info["paper"])
    if info["parameters"]:
        lines.append("  parameters")
        for name, p in info["parameters"].items():
            trainable = ", trainable in the layer" if p["trainable"] else ""
            lines.append(f"    {name} = {p['default']!r}  ({p['allowed']}{trainable})")
            for w in textwrap.wrap(p["doc"], 84):
                lines.append(f"        {w}")
    if info.get("notes"):
        lines.append("")
        field("notes", info["notes"])
    if "measured" in info:
        lines.extend(_format_teaching(info))
    return "\n".join(lines)


def _bullets(mark, items):
    out = []
    for item in items:
        wrapped = textwrap.wrap(item["text"], 84) or [""]
        out.append(f"    {mark} {wrapped[0]}")
        out.extend(f"      {w}" for w in wrapped[1:])
    return out


def _format_teaching(info):
    """When to use, advantages and disadvantages with their numbers, then the numbers."""
    from tf_activations import properties

    lines = [""]
    if info["use_when"]:
        wrapped = textwrap.wrap(info["use_when"], 84)
        lines += ["  when to use", *(f"    {w}" for w in wrapped)]
    if info["advantages"]:
        lines += ["  advantages", *_bullets("+", info["advantages"])]
    if info["disadvantages"]:
        lines += ["  disadvantages", *_bullets("-", info["disadvantages"])]
    lines += ["", "  measured (float64, default parameters; tf_activations.properties)"]
    for label, value in properties.summary_lines(info["measured"], info["measured"]["cost_vs_relu"]):
        wrapped = textwrap.wrap(value, 76) or [""]
        lines.append(f"    {label:<12}{wrapped[0]}")
        lines.extend(f"    {'':<12}{w}" for w in wrapped[1:])
    return lines


def _strict_json(value):
    """Infinite interval ends as the strings "inf"/"-inf": json.dumps would write Infinity,
    which strict JSON readers (jq, JavaScript's JSON.parse) reject."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    return value


def cmd_info(args):
    # unknown names fail before any measuring
    names = list(dict.fromkeys(_canonical_names(list(args.name or ()) + list(args.names or ()))))
    if not names:
        raise UsageError("info needs a name: info mish, or --names mish,gelu")
    from tf_activations import properties

    costs = properties.measure_cost(names) if args.cost else {}
    infos = [properties.info(name, measured=True, cost=costs.get(name)) for name in names]
    if args.json:  # one name: its object, as before; several: a list of them
        print(json.dumps(_strict_json(infos[0] if len(infos) == 1 else infos), indent=2, default=str))
    else:
        print("\n\n".join(_format_info(info) for info in infos))
    return 0


def cmd_plot(args):
    from tf_activations import plotting

    names = _canonical_names(list(args.names or ()) + list(args.names_opt or ()))
    if not names:
        raise UsageError("plot needs at least one name: --names relu,gelu")
    out = args.out or ("_".join(names)[:80] + ".png")
    _check_out_file(out)
    plotting.require_matplotlib()
    fig = plotting.plot(names, derivative=not args.no_derivative, x_range=tuple(args.x_range))
    fig.savefig(out, dpi=args.dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(out)
    return 0


def cmd_gallery(args):
    from tf_activations import plotting

    names = _canonical_names(args.names) if args.names else None
    if names == []:
        raise UsageError("--names is empty; leave it out to draw every activation")
    _check_out_folder(args.out)
    plotting.require_matplotlib()  # before the folder is made: a missing extra leaves nothing behind
    t0 = time.perf_counter()
    index = plotting.render_gallery(args.out, names=names, cost=args.cost)
    n = len([f for f in os.listdir(args.out) if f.endswith(".png")])
    print(f"{n} pages and pictures in {args.out} ({time.perf_counter() - t0:.1f}s); open:")
    print(index)
    return 0


def cmd_compare(args):
    from tf_activations import compare

    names = _canonical_names(args.names)
    if not names:
        raise UsageError("compare needs at least one name: --names relu,gelu")
    if args.out:
        _check_out_folder(args.out)
    config = dict(activations=names, dataset=args.dataset, depth=args.depth,
                  width=args.width, epochs=args.epochs, batch_size=args.batch_size,
                  learning_rate=args.lr, samples=args.samples, seed=args.seed)
    for key in ("depth", "width", "epochs", "batch_size", "samples"):
        if config[key] < 1:
            raise UsageError(f"--{key.replace('_', '-')} must be at least 1; got {config[key]}")
    t0 = time.perf_counter()
    results = compare.run(progress=not args.quiet, **config)
    wall = time.perf_counter() - t0
    print(f"{args.dataset}: {args.depth} hidden layers x {args.width} units, {args.epochs} epochs, "
          f"batch {args.batch_size}, seed {args.seed}; diagnostics at the end, averaged over hidden layers "
          f"(|g|: norm of d loss / d pre-activation on a fixed batch of 256)")
    print(compare.format_table(results))
    if args.out:
        paths = compare.save(results, args.out, config={**config, "wall_seconds": wall})
    print(f"wall time {wall:.1f}s")
    if args.out:
        print("wrote:")
        for path in sorted(paths.values()):
            print(path)
    return 0


def cmd_status(args):
    from tf_activations import _status

    names = _canonical_names(args.names) if args.names else None
    if names == []:
        raise UsageError("--names is empty; leave it out for every activation")
    found = _status.status(names)
    print(found.to_json() if args.json else found)
    return 0


BENCH_MOVED = ("the benchmarks are not part of the installed package; from a clone of the repository "
               "run: python benchmarks/bench.py")


def cmd_bench(args):
    """``bench`` moved to the repository's benchmarks/ (the package carries no timing code):
    one line saying where, with the user's own options carried over."""
    rest = " ".join(args.rest)
    raise UsageError(f"{BENCH_MOVED}{' ' + rest if rest else ''} (--help lists every mode)")


def _native(which):
    def run(args):
        from tf_activations.native import cli as native_cli

        return int(getattr(native_cli, f"{which}_main")(list(args.rest)) or 0)

    return run


def _names_option(p, help_text, dest="names"):
    p.add_argument("--names", dest=dest, nargs="+", action="extend", metavar="NAMES", help=help_text)


def make_parser():
    from tf_activations import compare

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Every activation function for TensorFlow/Keras: look them up, draw them, compare them, "
                    "build the fused C++ kernels. Also runs as `python -m tf_activations`.",
        epilog=f"`{PROG} COMMAND --help` describes a command's options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}",
                        help="print the installed version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="every activation with its family and formula")
    p.add_argument("--full", action="store_true", help="do not shorten long formulas")
    p.add_argument("--markdown", nargs="?", const="activations", choices=["activations", "kernels"],
                   help="print a Markdown table instead (the README's): `activations` (the default) by family, "
                        "with parameters, defaults and papers; `kernels`: which names have a C++ kernel and "
                        "what runs in the default and in exact mode (needs the kernels built)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser(
        "info", help="formula, parameters, paper, when to use, advantages and disadvantages of NAME, with numbers",
        description="Formula, derivative, parameters and paper of NAME; when to use it; its advantages and "
                    "disadvantages, each citing a number measured from the declaration (float64, default "
                    "parameters): saturation and dead regions, mean and variance for N(0, 1) input, slopes, "
                    "sparsity, range, monotonicity, smoothness.")
    p.add_argument("name", nargs="*", metavar="NAME", help="an activation name or alias (see `list`); "
                   "the same as --names")
    _names_option(p, "names to describe, comma- or space-separated")
    p.add_argument("--json", action="store_true",
                   help="print info(NAME, measured=True) as JSON (a list of them for several names)")
    p.add_argument("--cost", action="store_true",
                   help="also time fwd+bwd against relu on this machine (a few seconds)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plot", help="draw activations and their derivatives into a PNG")
    p.add_argument("names", nargs="*", metavar="NAMES",
                   help="names, space- or comma-separated (the same as --names)")
    _names_option(p, "names to draw, comma- or space-separated", dest="names_opt")
    p.add_argument("--out", help="the PNG to write; its folder must exist (default: NAMES joined by _ .png)")
    p.add_argument("--x-range", nargs=2, type=float, default=(-6.0, 6.0), metavar=("LOW", "HIGH"),
                   help="the x interval drawn (default: -6 6)")
    p.add_argument("--no-derivative", action="store_true", help="draw the functions only, not f'(x)")
    p.add_argument("--dpi", type=int, default=100, help="resolution of the PNG (default: %(default)s)")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser(
        "gallery", help="a reference page and a PNG per activation, and an index.html comparison table",
        description="Writes, for every activation, NAME.png (f and f', saturated and dead regions shaded) and "
                    "NAME.html (formula, derivative, parameters, when to use, advantages and disadvantages with "
                    "their numbers, measured properties, accuracy, speed, paper), and index.html, a sortable "
                    "table of them all. Static files: open index.html in any browser, offline.")
    p.add_argument("--out", default="gallery", help="the folder to write, created if missing (default: gallery)")
    _names_option(p, "only these, comma- or space-separated (default: every activation)")
    p.add_argument("--cost", action="store_true",
                   help="time fwd+bwd of each against relu on this machine first (seconds per activation) and "
                        "keep it in OUT/cost.json; without it the speed shown is that file's, or 'not measured'")
    p.set_defaults(func=cmd_gallery)

    d = compare.DEFAULTS
    p = sub.add_parser(
        "compare", help="train the same network with several activations; table and plots",
        description="Trains the same MLP with each activation on a dataset that needs no download and "
                    "prints accuracy, loss, time per epoch and activation diagnostics. Seeds are fixed: "
                    "a rerun prints the same table (except timings).")
    p.add_argument("--names", "--activations", dest="names", nargs="+", action="extend", metavar="NAMES",
                   help=f"names, comma- or space-separated; --activations is an alias "
                        f"(default: {','.join(compare.DEFAULT_ACTIVATIONS)})")
    p.add_argument("--dataset", default=d["dataset"], choices=["spirals", "checkerboard", "digits"],
                   help="spirals/checkerboard: generated; digits: scikit-learn's bundled digits "
                        "(needs scikit-learn) (default: %(default)s)")
    p.add_argument("--depth", type=int, default=d["depth"], help="hidden layers (default: %(default)s)")
    p.add_argument("--width", type=int, default=d["width"], help="units per hidden layer (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=d["epochs"], help="training epochs (default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"],
                   help="examples per training step (default: %(default)s)")
    p.add_argument("--lr", type=float, default=d["learning_rate"], help="Adam learning rate (default: %(default)s)")
    p.add_argument("--samples", type=int, default=d["samples"],
                   help="points generated for spirals/checkerboard (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d["seed"],
                   help="seed of the dataset and of Keras (weights, shuffling) (default: %(default)s)")
    p.add_argument("--out", default="compare_out",
                   help="folder for table.txt, results.json and the plots; '' for none (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare, names=None, default_names=list(compare.DEFAULT_ACTIVATIONS))

    p = sub.add_parser(
        "status", help="versions, exact mode, the C++ kernels (loaded from where, or why not) and what each "
                       "name runs eagerly, in tf.function, under XLA and on a GPU/TPU",
        description="What this installation runs: TensorFlow and Keras versions, exact mode on or off, whether "
                    "the C++ kernels are loaded and from which file (or why not, and what to do), and for each "
                    "activation the implementation a call takes eagerly, in a tf.function, under XLA and on a "
                    "GPU/TPU -- a C++ kernel, a tf.nn op, Keras' own function or this package's composite. Found "
                    "by the dispatch code itself (tf_activations.status()). Environment variables such as "
                    "TF_ACTIVATIONS_EXACT=1 or TF_ACTIVATIONS_PURE=1 change what it reports, as they change "
                    "what runs.")
    _names_option(p, "only these, comma- or space-separated (default: every activation)")
    p.add_argument("--json", action="store_true", help="print it as JSON (tf_activations.status().to_dict())")
    p.set_defaults(func=cmd_status)

    for which, text, func in (
            ("build", "build the fused C++ kernels into the cache (see `build --help`)", _native("build")),
            ("bench", "moved: run `python benchmarks/bench.py` from a clone of the repository", cmd_bench)):
        p = sub.add_parser(which, help=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER, help="the options of the command")
        p.set_defaults(func=func)
    return parser


_EXTRAS = {"matplotlib": "plot", "sklearn": "digits", "tensorflow": "tf"}


def _error(message) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _quiet_broken_pipe() -> int:
    """The reader went away (`tf-activations list | head -1`): no traceback, no flush error at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, as a shell reports a command stopped by a closed pipe


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if argv and argv[0] == "build":
            # everything after the command belongs to the native CLI (argparse's REMAINDER
            # would reject a first argument that starts with "-")
            code = _native("build")(argparse.Namespace(rest=argv[1:]))
        elif argv and argv[0] == "bench":
            code = cmd_bench(argparse.Namespace(rest=argv[1:]))
        else:
            args = make_parser().parse_args(argv)
            if args.command == "compare" and not args.names:
                args.names = args.default_names
            code = args.func(args)
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except UsageError as exc:
        return _error(exc)
    except ValueError as exc:  # an unknown name or a bad value: the registry's message
        return _error(exc)
    except ImportError as exc:  # an optional extra is missing
        extra = _EXTRAS.get((exc.name or "").split(".")[0])
        hint = f" (pip install 'tf-activations[{extra}]')" if extra and "pip install" not in str(exc) else ""
        return _error(f"{exc}{hint}")
    except OSError as exc:  # a path that cannot be written, a full disk, ...
        where = f" {exc.filename!r}" if exc.filename else ""
        return _error(f"cannot write{where}: {exc.strerror or exc}")
