"""Test shim: TF Addons' import paths, backed by tf_activations.addons_compat (module swap only)."""
