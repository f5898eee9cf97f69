"""turbjax.novelty: Mahalanobis distances from the training features, the threshold calibrated on
validation."""

import numpy as np
import pytest

from turbjax import novelty
from turbjax.novelty import Novelty, fit_novelty


def test_distance_is_mahalanobis_and_the_threshold_a_validation_quantile():
    rng = np.random.default_rng(0)
    a = np.array([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.3, 1.0]])  # correlated features
    train = rng.normal(size=(20000, 3)) @ a.T
    val = rng.normal(size=(2000, 3)) @ a.T
    nov = fit_novelty(train, val)
    cov = a @ a.T
    # a point k standard deviations out along any direction of the covariance is at distance k
    w, v = np.linalg.eigh(cov)
    for k in (1.0, 3.0):
        x = k * np.sqrt(w[:, None]) * v.T  # rows: k sigma along each principal axis
        np.testing.assert_allclose(nov.distance(x), k, rtol=0.03)
    assert nov.threshold == pytest.approx(np.quantile(nov.distance(val), novelty.QUANTILE))
    assert 3.0 < nov.threshold < 5.0  # chi with 3 degrees of freedom: its 99.5% quantile is 3.58
    assert not nov.outside(val[:100]) and nov.outside(val[:100] * 3.0)


def test_arrays_round_trip_and_many_features_use_the_diagonal():
    rng = np.random.default_rng(1)
    nov = fit_novelty(rng.normal(size=(500, 4)), rng.normal(size=(100, 4)))
    back = Novelty.from_arrays(nov.arrays())
    x = rng.normal(size=(7, 4))
    np.testing.assert_array_equal(back.distance(x), nov.distance(x))
    f = novelty.MAX_FULL + 1
    scale = np.linspace(1.0, 3.0, f)
    wide = fit_novelty(rng.normal(size=(300, f)) * scale, rng.normal(size=(50, f)) * scale)
    off = wide.precision - np.diag(np.diag(wide.precision))
    assert not off.any()
    np.testing.assert_allclose(np.diag(wide.precision) * scale**2, 1.0, rtol=0.3)
