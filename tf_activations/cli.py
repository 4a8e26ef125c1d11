"""``python -m tf_activations``: list, info, plot, gallery, compare, build, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
import time


def _names(values):
    """Names from ``a b`` or ``a,b`` (or both)."""
    out = []
    for value in values:
        out.extend(v for v in value.split(",") if v.strip())
    return [v.strip() for v in out]


def cmd_list(args):
    from tf_activations import _registry

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
    field("keras", "a Keras built-in name (computed here more accurately)" if info["keras_builtin"]
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
    return "\n".join(lines)


def cmd_info(args):
    from tf_activations import _registry

    info = _registry.info(args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(_format_info(info))
    return 0


def cmd_plot(args):
    from tf_activations import _registry
    from tf_activations.plotting import plot

    names = [_registry.canonical(n) for n in _names(args.names)]
    out = args.out or ("_".join(names)[:80] + ".png")
    fig = plot(names, derivative=not args.no_derivative, x_range=tuple(args.x_range))
    fig.savefig(out, dpi=args.dpi)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(out)
    return 0


def cmd_gallery(args):
    from tf_activations.plotting import render_gallery

    t0 = time.perf_counter()
    index = render_gallery(args.out, names=_names(args.names) if args.names else None)
    n = len([f for f in os.listdir(args.out) if f.endswith(".png")])
    print(f"{index}  ({n} pictures, {time.perf_counter() - t0:.1f}s)")
    return 0


def cmd_compare(args):
    from tf_activations import compare

    config = dict(activations=_names(args.activations), dataset=args.dataset, depth=args.depth,
                  width=args.width, epochs=args.epochs, batch_size=args.batch_size,
                  learning_rate=args.lr, samples=args.samples, seed=args.seed)
    for key in ("depth", "width", "epochs", "batch_size", "samples"):
        if config[key] < 1:
            raise ValueError(f"--{key.replace('_', '-')} must be at least 1; got {config[key]}")
    t0 = time.perf_counter()
    results = compare.run(progress=not args.quiet, **config)
    wall = time.perf_counter() - t0
    print(f"{args.dataset}: {args.depth} hidden layers x {args.width} units, {args.epochs} epochs, "
          f"batch {args.batch_size}, seed {args.seed}; diagnostics at the end, averaged over hidden layers "
          f"(|g|: norm of d loss / d pre-activation on a fixed batch of 256)")
    print(compare.format_table(results))
    if args.out:
        paths = compare.save(results, args.out, config={**config, "wall_seconds": wall})
        print(f"saved {', '.join(sorted(os.path.basename(p) for p in paths.values()))} in {args.out}")
    print(f"wall time {wall:.1f}s")
    return 0


def _native(which):
    def run(args):
        from tf_activations.native import cli as native_cli

        return int(getattr(native_cli, f"{which}_main")(list(args.rest)) or 0)

    return run


def make_parser():
    from tf_activations import compare

    parser = argparse.ArgumentParser(
        prog="python -m tf_activations",
        description="Every activation function for TensorFlow/Keras: look them up, draw them, compare them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("list", help="every activation with its family and formula")
    p.add_argument("--full", action="store_true", help="do not shorten long formulas")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="formula, derivative, range, parameters and paper of NAME")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--json", action="store_true", help="print info() as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("plot", help="draw NAMES and their derivatives into a PNG")
    p.add_argument("names", nargs="+", metavar="NAMES", help="names, space- or comma-separated")
    p.add_argument("--out", help="the PNG to write (default: NAMES joined by _ .png)")
    p.add_argument("--x-range", nargs=2, type=float, default=(-6.0, 6.0), metavar=("LOW", "HIGH"))
    p.add_argument("--no-derivative", action="store_true")
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("gallery", help="a PNG per activation and an index.html table")
    p.add_argument("--out", default="gallery", help="the folder to write (default: gallery)")
    p.add_argument("--names", nargs="*", help="only these (default: every activation)")
    p.set_defaults(func=cmd_gallery)

    d = compare.DEFAULTS
    p = sub.add_parser(
        "compare", help="train the same network with several activations; table and plots",
        description="Trains the same MLP with each activation on a dataset that needs no download and "
                    "prints accuracy, loss, time per epoch and activation diagnostics. Seeds are fixed: "
                    "a rerun prints the same table (except timings).")
    p.add_argument("--activations", nargs="+", default=[",".join(compare.DEFAULT_ACTIVATIONS)],
                   help=f"names, space- or comma-separated (default: {','.join(compare.DEFAULT_ACTIVATIONS)})")
    p.add_argument("--dataset", default=d["dataset"], choices=["spirals", "checkerboard", "digits"],
                   help="spirals/checkerboard: generated; digits: scikit-learn's bundled digits "
                        "(needs scikit-learn) (default: %(default)s)")
    p.add_argument("--depth", type=int, default=d["depth"], help="hidden layers (default: %(default)s)")
    p.add_argument("--width", type=int, default=d["width"], help="units per hidden layer (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=d["epochs"], help="(default: %(default)s)")
    p.add_argument("--batch-size", type=int, default=d["batch_size"], help="(default: %(default)s)")
    p.add_argument("--lr", type=float, default=d["learning_rate"], help="Adam learning rate (default: %(default)s)")
    p.add_argument("--samples", type=int, default=d["samples"],
                   help="points generated for spirals/checkerboard (default: %(default)s)")
    p.add_argument("--seed", type=int, default=d["seed"], help="(default: %(default)s)")
    p.add_argument("--out", default="compare_out",
                   help="folder for table.txt, results.json and the plots; '' for none (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_compare)

    for which, text in (("build", "build the fused C++ kernels (tf_activations.native)"),
                        ("bench", "benchmark the kernels against the pure-TF ops")):
        p = sub.add_parser(which, help=text, add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_native(which))
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in ("build", "bench"):
        # everything after the command belongs to the native CLI (argparse's REMAINDER
        # would reject a first argument that starts with "-")
        return _native(argv[0])(argparse.Namespace(rest=argv[1:]))
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:  # an unknown name or a bad value: the registry's message, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # an optional extra is missing (matplotlib, scikit-learn)
        print(f"error: {exc}", file=sys.stderr)
        return 2
