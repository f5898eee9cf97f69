"""A Dense layer whose kernel is stored (out, in), like PyTorch's `nn.Linear.weight`.

Same function as `flax.linen.Dense` (y = x W + b with the same LeCun-normal initialization statistics), but
on CPU the products of the wide first layer run faster in this layout: for a (32, 4096) minibatch and 100
units the forward product contracts two contiguous rows and the weight gradient is a (100, 32) x (32, 4096)
product with a long contiguous output, instead of (4096, 32) x (32, 100). The measurement is in
docs/performance_notes.md.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn
from jax import lax


class Dense(nn.Module):
    """y_BxO = x_BxI @ kernel_OxI^T + bias_O."""

    features: int

    @nn.compact
    def __call__(self, x_BxI: jnp.ndarray) -> jnp.ndarray:
        kernel_OxI = self.param(
            "kernel", nn.initializers.lecun_normal(in_axis=-1, out_axis=-2), (self.features, x_BxI.shape[-1])
        )
        bias_O = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        y = lax.dot_general(x_BxI, kernel_OxI.astype(x_BxI.dtype), (((x_BxI.ndim - 1,), (1,)), ((), ())))
        return y + bias_O
