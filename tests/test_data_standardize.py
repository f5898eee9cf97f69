"""Standardization: fitted on train, zero mean / unit std there, exact inverse, constant features."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.data.standardize import Standardizer, fit_standardizer, standardize, unstandardize


def data(n=50, d=7, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(3.0, 2.0, size=(n, d)) * np.arange(1, d + 1)


def test_zero_mean_unit_std_on_train_and_round_trip():
    x = data()
    stats = fit_standardizer(x)
    z = standardize(x, stats)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(z.std(axis=0), 1, rtol=1e-12)
    np.testing.assert_allclose(unstandardize(z, stats), x, rtol=1e-12)


def test_test_set_uses_train_statistics():
    train, test = data(seed=0), data(seed=1) + 5.0
    stats = fit_standardizer(train)
    np.testing.assert_allclose(standardize(test, stats), (test - train.mean(0)) / train.std(0), rtol=1e-12)


def test_agrees_with_scikit_learn():
    from sklearn.preprocessing import StandardScaler

    x = data()
    stats = fit_standardizer(x)
    sk = StandardScaler().fit(x)
    np.testing.assert_allclose(stats.mean, sk.mean_, rtol=1e-12)
    np.testing.assert_allclose(stats.scale, sk.scale_, rtol=1e-12)


def test_scalar_and_vector_targets():
    y = np.array([300.0, 600.0, 900.0, 1200.0])
    stats = fit_standardizer(y)
    assert np.shape(stats.mean) == () and np.isclose(stats.mean, 750.0)
    np.testing.assert_allclose(unstandardize(standardize(y, stats), stats), y)
    y2 = data(d=3)
    assert fit_standardizer(y2).scale.shape == (3,)


def test_constant_features_get_scale_one_and_standardize_to_exact_zero():
    x = data(n=30, d=4).astype(np.float32)
    x[:, 1] = 0.1  # a value whose float32 mean is not exactly 0.1 after summation
    x[:, 3] = 0.0
    stats = fit_standardizer(x)
    assert stats.scale[1] == 1 and stats.scale[3] == 1
    z = standardize(x, stats)
    assert np.isfinite(z).all()
    assert (z[:, 1] == 0).all() and (z[:, 3] == 0).all()
    np.testing.assert_array_equal(unstandardize(z, stats)[:, 1], x[:, 1])


def test_stats_are_a_pytree_and_jit():
    x = jnp.asarray(data(), jnp.float32)
    stats = jax.jit(fit_standardizer)(x)
    assert isinstance(stats, Standardizer)
    assert len(jax.tree.leaves(stats)) == 2
    z = jax.jit(standardize)(x, stats)
    np.testing.assert_allclose(np.asarray(jax.jit(unstandardize)(z, stats)), np.asarray(x), rtol=1e-5,
                               atol=1e-4)


def test_needs_a_sample():
    with pytest.raises(ValueError, match=r"at least one sample along axis 0, got shape \(0, 3\)"):
        fit_standardizer(np.zeros((0, 3)))
