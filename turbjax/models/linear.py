"""Linear and logistic regression as one-layer Flax Linen modules (the course's simplest networks)."""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from turbjax.models.layers import Dense


class Linear(nn.Module):
    """Linear regression y_BxM = x_BxF @ w_FxM + b_M, trained on (1/2) mean squared error."""

    num_outputs: int = 1

    @nn.compact
    def __call__(self, x_BxF: jnp.ndarray) -> jnp.ndarray:
        return Dense(self.num_outputs, name="dense")(x_BxF)


class Logistic(nn.Module):
    """Logistic regression: one linear layer producing logits.

    num_classes == 1: binary logistic regression as in the course. The output is one logit per example,
    p(positive) = sigmoid(logit), and the label is defined by the training loop as
    `positive = Re > median(classes)` (for Re in {300, 600, 900, 1200}: 900 and 1200 are positive, the
    "high Reynolds" regime; with an odd number of classes the median class is negative).
    num_classes >= 2: multinomial (softmax) regression over the Reynolds classes, one logit per class.
    """

    num_classes: int = 1

    @nn.compact
    def __call__(self, x_BxF: jnp.ndarray) -> jnp.ndarray:
        return Dense(self.num_classes, name="dense")(x_BxF)
