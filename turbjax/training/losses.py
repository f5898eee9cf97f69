"""Losses on standardized targets. `weights` (B,) masks padded rows of the last minibatch (0 = ignore)."""

from __future__ import annotations

import jax.numpy as jnp
import optax


def _weighted_mean(per_example_B: jnp.ndarray, weights_B: jnp.ndarray | None) -> jnp.ndarray:
    if weights_B is None:
        return jnp.mean(per_example_B)
    return jnp.sum(per_example_B * weights_B) / jnp.maximum(jnp.sum(weights_B), 1.0)


def mse(pred_BxM: jnp.ndarray, y_BxM: jnp.ndarray, weights_B: jnp.ndarray | None = None) -> jnp.ndarray:
    """(1/2) mean squared error, averaged over outputs and examples (the course's convention)."""
    per_example = 0.5 * jnp.mean(jnp.square(pred_BxM - y_BxM), axis=-1)
    return _weighted_mean(per_example, weights_B)


def cross_entropy(
    logits_BxC: jnp.ndarray, labels_B: jnp.ndarray, weights_B: jnp.ndarray | None = None
) -> jnp.ndarray:
    """Mean cross-entropy (natural log). C == 1: binary (sigmoid) with labels in {0, 1}; C >= 2: softmax."""
    if logits_BxC.shape[-1] == 1:
        per_example = optax.sigmoid_binary_cross_entropy(logits_BxC[..., 0],
                                                         labels_B.astype(logits_BxC.dtype))
    else:
        per_example = optax.softmax_cross_entropy_with_integer_labels(logits_BxC, labels_B)
    return _weighted_mean(per_example, weights_B)
