"""PCA agrees with scikit-learn's; class balance counts what it says."""

import numpy as np
import pytest

from turbjax.data.explore import class_balance, pca


def test_pca_matches_sklearn():
    sklearn = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 30)) @ rng.normal(size=(30, 30)) + 5.0
    ours = pca(X, k=3)
    ref = sklearn.PCA(n_components=3).fit(X)
    np.testing.assert_allclose(np.asarray(ours.explained_variance_ratio), ref.explained_variance_ratio_,
                               rtol=1e-4)
    # axes agree up to sign; the scores are the centred data in those axes
    for i in range(3):
        c = np.asarray(ours.components[i])
        assert abs(abs(c @ ref.components_[i]) - 1) < 1e-4
    np.testing.assert_allclose(np.asarray(ours.scores), (X - X.mean(0)) @ np.asarray(ours.components).T,
                               atol=1e-3)


def test_pca_recovers_the_direction_of_a_line():
    t = np.linspace(-1, 1, 101)
    direction = np.array([3.0, 4.0]) / 5
    X = t[:, None] * direction + np.array([1.0, 2.0])
    p = pca(X, k=1)
    np.testing.assert_allclose(np.asarray(p.components[0]), direction, atol=1e-6)
    np.testing.assert_allclose(float(p.explained_variance_ratio[0]), 1.0, atol=1e-6)
    np.testing.assert_allclose(np.asarray(p.scores[:, 0]), t, atol=1e-5)


def test_pca_refuses_too_many_components():
    with pytest.raises(ValueError, match="k=5"):
        pca(np.zeros((4, 3)), k=5)


def test_class_balance_counts_every_class():
    re = np.array([300, 300, 600, 1200, 300.0])
    assert class_balance(re) == {300.0: 3, 600.0: 1, 1200.0: 1}
    assert class_balance(re, classes=(300, 600, 900, 1200)) == {300.0: 3, 600.0: 1, 900.0: 0, 1200.0: 1}
