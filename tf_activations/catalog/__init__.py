"""Every activation's declaration, grouped by family."""

from tf_activations.catalog import gated, rectifiers, saturating, shrink, vector

ACTIVATIONS = (
    saturating.ACTIVATIONS
    + rectifiers.ACTIVATIONS
    + gated.ACTIVATIONS
    + shrink.ACTIVATIONS
    + vector.ACTIVATIONS
)
