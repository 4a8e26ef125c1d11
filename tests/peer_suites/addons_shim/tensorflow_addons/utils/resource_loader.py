"""Test shim: the one name TF Addons' test_utils reads (its ``--skip-custom-ops`` switch)."""
SKIP_CUSTOM_OPS = False
