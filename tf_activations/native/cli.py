"""``tf-activations build`` (also ``python -m tf_activations.native build``)."""

from __future__ import annotations

import argparse
import signal
import sys

PROG = "tf-activations"


def build_main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"{PROG} build",
        description="Compile the fused C++ kernels into the cache ($TF_ACTIVATIONS_CACHE, an absolute path; "
                    "default ~/.cache/tf_activations). CXX picks the compiler (it may carry arguments, "
                    "e.g. CXX=\"g++ -O2\"); TF_ACTIVATIONS_CXXFLAGS adds flags. Exits 0 when every requested "
                    "library is built or already cached, 1 when compiling fails or the cache cannot be used.")
    parser.add_argument("--force", action="store_true", help="rebuild even if a valid library is cached")
    parser.add_argument("--sanitize", action="store_true",
                        help="build with -fsanitize=address,undefined (as TF_ACTIVATIONS_SANITIZE=1)")
    parser.add_argument("--variant", action="append", choices=["avx2", "generic"],
                        help="build only this variant (repeatable); default: all this CPU runs")
    parser.add_argument("--quiet", action="store_true", help="print only the library's path")
    args = parser.parse_args(argv)
    from tf_activations.native import builder

    try:
        path = builder.build(args.variant, sanitize=args.sanitize or None, force=args.force,
                             verbose=not args.quiet)
    except builder.BuildError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: build interrupted; compilers stopped, nothing written", file=sys.stderr)
        return 128 + signal.SIGINT
    except builder.Interrupted as stop:
        print(f"{PROG}: build stopped by signal {stop.signum}; compilers stopped, nothing written",
              file=sys.stderr)
        return 128 + stop.signum
    print(path)
    return 0


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"build": build_main}
    if not argv or argv[0] not in commands:
        print("usage: python -m tf_activations.native build [options]", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])
