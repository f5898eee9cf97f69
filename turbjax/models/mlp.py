"""Multilayer perceptron: hidden Dense layers with a chosen activation, linear output."""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
from flax import linen as nn

from turbjax.models.layers import Dense

ACTIVATIONS: dict[str, Callable[[jnp.ndarray], jnp.ndarray]] = {
    "relu": nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": nn.sigmoid,
    "identity": lambda x: x,
}


class MLP(nn.Module):
    """x_BxF -> [Dense(h) -> activation] for h in hidden -> Dense(num_outputs) (linear output)."""

    hidden: tuple[int, ...] = (100, 100)
    activation: str = "relu"
    num_outputs: int = 1

    @nn.compact
    def __call__(self, x_BxF: jnp.ndarray) -> jnp.ndarray:
        act = ACTIVATIONS[self.activation]
        h = x_BxF
        for i, width in enumerate(self.hidden):
            h = act(Dense(width, name=f"hidden_{i}")(h))
        return Dense(self.num_outputs, name="out")(h)
