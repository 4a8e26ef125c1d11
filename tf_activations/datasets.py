"""Small classification datasets that need no download, for ``compare``.

``spirals`` (default) and ``checkerboard`` are generated from a seed;
``digits`` is scikit-learn's bundled 8x8 digits (1797 images, shipped inside
the sklearn wheel), available when scikit-learn is installed (it is not a
dependency of this package).
"""

from __future__ import annotations

import numpy as np


def two_spirals(n=2000, noise=0.25, turns=1.75, seed=0):
    """Two interleaved spirals in the plane: x (n, 2) float32, y (n,) int32 in {0, 1}."""
    rng = np.random.RandomState(seed)
    half = n // 2
    t = np.sqrt(rng.uniform(0.02, 1.0, half)) * turns * 2 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1)
    x = np.concatenate([arm, -arm]) + rng.normal(0.0, noise, (2 * half, 2))
    y = np.concatenate([np.zeros(half), np.ones(half)]).astype(np.int32)
    x = (x / np.abs(x).max()).astype(np.float32)
    order = rng.permutation(2 * half)
    return x[order], y[order]


def checkerboard(n=2000, squares=4, seed=0):
    """Points uniform in [-1, 1]^2 coloured by a ``squares`` x ``squares`` board."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-1.0, 1.0, (n, 2)).astype(np.float32)
    cells = np.floor((x + 1.0) / 2.0 * squares).clip(0, squares - 1).astype(np.int64)
    y = ((cells[:, 0] + cells[:, 1]) % 2).astype(np.int32)
    return x, y


def digits(seed=0):
    """scikit-learn's bundled 8x8 digits, pixels scaled to [0, 1], shuffled with ``seed``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError("the 'digits' dataset needs scikit-learn (pip install scikit-learn); "
                          "'spirals' and 'checkerboard' need nothing") from exc
    data = load_digits()
    x = (data.data / 16.0).astype(np.float32)
    y = data.target.astype(np.int32)
    order = np.random.RandomState(seed).permutation(len(y))
    return x[order], y[order]


DATASETS = {
    "spirals": lambda n, seed: two_spirals(n=n, seed=seed),
    "checkerboard": lambda n, seed: checkerboard(n=n, seed=seed),
    "digits": lambda n, seed: digits(seed=seed),
}


def load(name, n=2000, seed=0, test_fraction=0.25):
    """``(x_train, y_train, x_test, y_test, n_classes)`` of a dataset in ``DATASETS``."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    x, y = DATASETS[name](n, seed)
    split = int(round(len(y) * (1.0 - test_fraction)))
    return x[:split], y[:split], x[split:], y[split:], int(y.max()) + 1
