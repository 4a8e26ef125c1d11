"""A Keras training step with Keras' activations vs this package's (kernels and not).

    python benchmarks/train_step.py [--models mlp256,mlp1024,conv64] [--activations mish,silu,gelu,elu,relu]

The same as ``python -m tf_activations bench --model``; see tf_activations/native/train_bench.py.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tf_activations.native import train_bench  # noqa: E402

if __name__ == "__main__":
    sys.exit(train_bench.main())
