from tf_activations.addons_compat import GELU
