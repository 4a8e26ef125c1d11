# tf_activations has no separate custom-op switch for these names; both settings run the same code.
_disabled = False
def is_custom_kernel_disabled(): return _disabled
def enable_custom_kernel():
    global _disabled; _disabled = False
def disable_custom_kernel():
    global _disabled; _disabled = True
