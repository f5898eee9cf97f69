"""Metrics against scikit-learn (single and multi-output), including edge cases."""

import numpy as np
import pytest
from sklearn import metrics as skm

from turbjax.training import metrics


@pytest.mark.parametrize("shape", [(60,), (60, 1), (60, 5)])
def test_regression_metrics_match_sklearn(shape):
    rng = np.random.default_rng(0)
    y = rng.normal(size=shape) * 300 + 750
    p = y + rng.normal(size=shape) * 40
    np.testing.assert_allclose(metrics.r2_score(y, p), skm.r2_score(y, p), rtol=1e-5)
    np.testing.assert_allclose(metrics.mean_squared_error(y, p), skm.mean_squared_error(y, p), rtol=1e-5)
    np.testing.assert_allclose(metrics.mean_absolute_error(y, p), skm.mean_absolute_error(y, p), rtol=1e-5)


def test_r2_constant_output_column_follows_sklearn():
    y = np.stack([np.arange(10.0), np.full(10, 3.0)], 1)
    p = y.copy()
    p[:, 0] += 0.5
    np.testing.assert_allclose(metrics.r2_score(y, p), skm.r2_score(y, p), rtol=1e-6)
    p[:, 1] += 1.0
    np.testing.assert_allclose(metrics.r2_score(y, p), skm.r2_score(y, p), rtol=1e-6)


def test_accuracy_softmax_and_binary():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(50, 4))
    labels = rng.integers(0, 4, 50)
    np.testing.assert_allclose(metrics.accuracy(labels, logits), skm.accuracy_score(labels, logits.argmax(1)))
    z = rng.normal(size=(50, 1))
    b = rng.integers(0, 2, 50)
    np.testing.assert_allclose(metrics.accuracy(b, z), skm.accuracy_score(b, (z[:, 0] > 0).astype(int)))


def test_r2_of_targets_that_take_one_value_is_undefined():
    # one held-out Reynolds number: every test target is 600; no prediction makes R^2 meaningful
    y = np.full(20, 600.0)
    assert np.isnan(metrics.r2_score(y, y + 10.0))
    assert np.isnan(metrics.r2_score(y, y))
    assert np.isnan(metrics.r2_score(y[:, None], y[:, None] - 3.0))
    # in float32 the mean of 480 values of 600 is off by rounding (sum of squares ~2e-6, not 0): still
    # undefined
    y32 = np.full(480, 600.0, np.float32)
    assert np.isnan(metrics.r2_score(y32, y32 + 1.0))
