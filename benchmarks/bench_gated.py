"""The gated units (swiglu, geglu, reglu): ours against the plain float32 formula a user would write.

    python benchmarks/bench_gated.py [--sizes 16,20,23]

For each size (log2 of the elements per half; x is [1024, 2 * n / 1024], split along its last
axis), forward+backward with y and both halves' gradients returned, in one process,
round-robin (benchmarks/_timing.py), medians in ms:

    ours       tf_activations.NAME in tf.function, default mode (reglu: the fused kernel, where built)
    composite  the same with the kernels disabled (the declared composite)
    graph      a * tf.nn.silu(b) / tf.nn.gelu(b) / tf.nn.relu(b) in tf.function
    xla        the same formula under jit_compile=True

and ours / the fastest of composite, graph and xla. Hold /work/QUIET (or keep the machine
otherwise idle) while it runs: nothing else should share the cores.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _timing import environment, interleaved_medians, tf_calls  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="16,20,23", help="log2 elements per half, comma separated")
    parser.add_argument("--rows", type=int, default=1024, help="rows of x (the split axis is the last)")
    args = parser.parse_args(argv)

    import tensorflow as tf

    import tf_activations as ta

    def halves(x):
        return tf.split(x, 2, axis=-1)

    units = {
        "swiglu": (ta.swiglu, lambda x: (lambda a, b: a * tf.nn.silu(b))(*halves(x))),
        "geglu": (ta.geglu, lambda x: (lambda a, b: a * tf.nn.gelu(b))(*halves(x))),
        "geglu_tanh": (lambda x: ta.geglu(x, approximate=True),
                       lambda x: (lambda a, b: a * tf.nn.gelu(b, approximate=True))(*halves(x))),
        "reglu": (ta.reglu, lambda x: (lambda a, b: a * tf.nn.relu(b))(*halves(x))),
    }
    print("\n".join(environment()))
    print(f"kernels: {'loaded from ' + ta.native.library_path() if ta.native.available() else 'not loaded'}")
    for log2 in (int(v) for v in args.sizes.split(",")):
        n = 2 ** log2
        x = tf.random.stateless_normal([args.rows, 2 * n // args.rows], seed=(0, 1))
        dy = tf.random.stateless_normal([args.rows, n // args.rows], seed=(0, 2))
        calls = {}
        for name, (ours, plain) in units.items():
            calls[(name, "ours")] = tf_calls(ours, x, dy)[1]
            calls[(name, "composite")] = tf_calls(ours, x, dy, pure=True)[1]
            calls[(name, "graph")] = tf_calls(plain, x, dy)[1]
            calls[(name, "xla")] = tf_calls(plain, x, dy, jit=True)[1]
        repeats = 41 if log2 <= 20 else 11
        res = interleaved_medians(calls, repeats)
        print(f"\n2^{log2} elements per half (x {args.rows} x {2 * n // args.rows}), fwd+bwd ms, "
              f"medians of {repeats}:")
        print(f"  {'':11s} {'ours':>8s} {'composite':>9s} {'graph':>8s} {'xla':>8s} {'ours/best':>9s}")
        for name in units:
            o, c, g, xl = (res[(name, path)] for path in ("ours", "composite", "graph", "xla"))
            print(f"  {name:11s} {o:8.2f} {c:9.2f} {g:8.2f} {xl:8.2f} {o / min(c, g, xl):9.2f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
