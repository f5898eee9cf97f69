"""Losses against scikit-learn / direct formulas, and the masking of padded rows."""

import jax.numpy as jnp
import numpy as np
from sklearn.metrics import log_loss, mean_squared_error

from turbjax.training import losses


def test_mse_is_half_sklearn_mse():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    np.testing.assert_allclose(losses.mse(jnp.asarray(p), jnp.asarray(y)), 0.5 * mean_squared_error(y, p),
                               rtol=1e-6)


def test_weights_mask_padded_rows():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(8, 2)).astype(np.float32), rng.normal(size=(8, 2)).astype(np.float32)
    w = np.array([1, 1, 1, 1, 1, 0, 0, 0], np.float32)
    p_garbage = p.copy()
    p_garbage[5:] = 1e6  # padded rows carry anything
    np.testing.assert_allclose(losses.mse(p_garbage, y, w), losses.mse(p[:5], y[:5]), rtol=1e-6)
    labels = np.array([0, 1, 2, 1, 0, 2, 2, 2])
    logits = rng.normal(size=(8, 3)).astype(np.float32)
    np.testing.assert_allclose(
        losses.cross_entropy(logits, labels, w), losses.cross_entropy(logits[:5], labels[:5]), rtol=1e-6
    )


def test_cross_entropy_matches_sklearn_log_loss():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(40, 4))
    labels = np.arange(40) % 4
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(losses.cross_entropy(jnp.asarray(logits), labels), log_loss(labels, prob),
                               rtol=1e-5)
    z = rng.normal(size=(40, 1))
    b = (np.arange(40) % 2).astype(np.int32)
    np.testing.assert_allclose(
        losses.cross_entropy(jnp.asarray(z), b), log_loss(b, 1 / (1 + np.exp(-z[:, 0]))), rtol=1e-5
    )
