"""Closed-form ridge with leave-one-out CV against scikit-learn and a brute-force LOO."""

import numpy as np
from sklearn.linear_model import Ridge, RidgeCV

from turbjax.models.ridge import ridge_cv, ridge_fit


def problem(n=60, f=8, m=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, f))
    y = x @ rng.normal(size=(f, m)) + 2.0 + 0.5 * rng.normal(size=(n, m))
    return x, y


def test_ridge_fit_matches_sklearn_ridge():
    x, y = problem(m=2)
    fit = ridge_fit(x, y, alpha=3.0)
    sk = Ridge(alpha=3.0).fit(x, y)
    np.testing.assert_allclose(fit.coef, sk.coef_.T, rtol=1e-8)
    np.testing.assert_allclose(fit.intercept, sk.intercept_, rtol=1e-8)


def test_leave_one_out_mse_is_exact_and_picks_sklearns_alpha():
    x, y = problem(n=40, f=12, seed=1)
    alphas = (1e-3, 0.1, 1.0, 10.0, 100.0)
    fit = ridge_cv(x, y[:, 0], alphas)
    brute = []
    for a in alphas:
        errs = []
        for i in range(len(x)):
            keep = np.arange(len(x)) != i
            errs.append((Ridge(alpha=a).fit(x[keep], y[keep, 0]).predict(x[i : i + 1])[0] - y[i, 0]) ** 2)
        brute.append(np.mean(errs))
    np.testing.assert_allclose(fit.loo_mse, brute, rtol=1e-7)
    assert fit.alpha == RidgeCV(alphas=alphas).fit(x, y[:, 0]).alpha_


def test_underdetermined_least_squares_is_minimum_norm():
    x, y = problem(n=10, f=30, seed=2)
    fit = ridge_fit(x, y, alpha=0.0)
    np.testing.assert_allclose(fit.predict(x), y, atol=1e-8)  # interpolates
    xc = x - x.mean(0)
    np.testing.assert_allclose(fit.coef, np.linalg.pinv(xc) @ (y - y.mean(0)), atol=1e-8)
