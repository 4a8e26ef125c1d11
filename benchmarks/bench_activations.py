"""Kernels vs pure TF (graph, XLA), Keras 3, torch and a copy: see tf_activations/native/bench.py.

    python benchmarks/bench_activations.py --sizes 20,24 [--activations mish,gelu] [--quick]
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from tf_activations.native.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
