"""``python -m tf_activations build`` / ``bench`` entry points (also ``python -m tf_activations.native``)."""

from __future__ import annotations

import argparse
import sys


def build_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tf_activations build",
                                     description="Compile the fused C++ kernels into the cache.")
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--sanitize", action="store_true",
                        help="build with -fsanitize=address,undefined (as TF_ACTIVATIONS_SANITIZE=1)")
    parser.add_argument("--variant", action="append", choices=["avx2", "generic"],
                        help="build only this variant (repeatable); default: all this CPU runs")
    args = parser.parse_args(argv)
    from tf_activations.native import builder

    try:
        path = builder.build(args.variant, sanitize=args.sanitize or None, force=args.force)
    except builder.BuildError as err:
        print(f"tf_activations: {err}", file=sys.stderr)
        return 1
    print(path)
    return 0


def bench_main(argv=None) -> int:
    from tf_activations.native import bench

    return bench.main(argv)


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"build": build_main, "bench": bench_main}
    if not argv or argv[0] not in commands:
        print("usage: python -m tf_activations.native {build,bench} [options]", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])
