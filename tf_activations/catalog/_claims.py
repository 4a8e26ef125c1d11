"""Claims that many declarations make in the same words (kind and text as in _spec.Claim).

One place for the wording, so the same property reads the same on every page.
"""

from tf_activations._spec import claim

ARITHMETIC_COST = claim("cost", "No exp or log, only comparisons and arithmetic; fwd+bwd time: {cost}.")
CHEAP = claim("cheap", "Cheap, no exp or log: fwd+bwd time {cost}.")
DEAD_REGION = claim("dead_region", "No gradient at all for {dead} ({dead_mass} of N(0, 1) inputs): a unit whose inputs all land there stops learning.")
EXPENSIVE = claim("expensive", "An exp, log or erf per element: fwd+bwd time {cost}.")
EXP_COST = claim("cost", "An exp per element; fwd+bwd time: {cost}.")
KINKED = claim("kink", "Kinked: {smoothness}.")
NON_MONOTONIC = claim("non_monotonic", "Not monotonic: {monotonicity}.")
NOT_ZERO_CENTRED = claim("not_zero_centred", "Not zero-centred: mean output {mean} for N(0, 1) input, so the next layer's inputs share a sign and its weight updates zig-zag.")
NO_DEAD_REGION = claim("no_dead_region", "No dead region (f' = 0 on {dead}): negative inputs still pass some gradient, so units cannot die.")
POSITIVE = claim("bounded_below", "Always positive: output in {range}.")
SATURATES = claim("saturates", "Vanishing gradients: |f'| < {saturated_below} for {saturation} ({saturation_mass} of N(0, 1) inputs), where a unit barely learns.")
SMOOTH = claim("smooth", "Smooth: {smoothness}, so no kink upsets gradient-based optimisers.")
SPARSE = claim("sparse", "Sparse: {sparsity} of N(0, 1) inputs give exactly 0.")
UNSATURATED_ABOVE = claim("unsaturated_above", "Does not saturate for large positive inputs: f' tends to {tail_slope}.")
ZERO_CENTRED = claim("zero_centred", "Zero-centred: mean output {mean} for N(0, 1) input.")
