"""Test shim: TF Addons' import paths, backed by tf_activations.addons_compat (module swap only).

As TF Addons' own ``__init__``, importing the package imports its activations and layers, so its
conftest, which sets thread counts after ``import tensorflow_addons``, runs after our import."""
from tensorflow_addons import activations, layers  # noqa: F401
