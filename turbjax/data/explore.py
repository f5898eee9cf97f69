"""Looking at the data before fitting a model, as the course does: a 2-component PCA embedding of the training
set and the class balance (training samples per Reynolds number).

The course's own plot scattered two raw pixels (not principal components) and its balance printout named the
wrong class; these compute what was meant. Pure functions; the figures are in turbjax.plots.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class PCA(NamedTuple):
    scores: jax.Array  # (N, k): the samples in the principal axes (centred data @ components.T)
    components: jax.Array  # (k, F): unit principal axes, by decreasing variance; sign: largest |entry| > 0
    explained_variance_ratio: jax.Array  # (k,): fraction of the total variance along each axis
    mean: jax.Array  # (F,): the centre that was subtracted


def pca(X_NxF, k: int = 2) -> PCA:
    """Principal components of the rows of X: a thin SVD of the centred data, in float32 on the device."""
    X_NxF = jnp.asarray(X_NxF, jnp.float32)
    n, f = X_NxF.shape
    if not 1 <= k <= min(n, f):
        raise ValueError(f"pca: k={k} must lie in 1..min(samples, features) = 1..{min(n, f)}")
    mean_F = X_NxF.mean(axis=0)
    Xc_NxF = X_NxF - mean_F
    _, s, vt_KxF = jnp.linalg.svd(Xc_NxF, full_matrices=False)
    vt_KxF = vt_KxF[:k]
    # an SVD's signs are arbitrary: fix them so the figure does not flip between runs or backends
    sign_K = jnp.sign(vt_KxF[jnp.arange(k), jnp.argmax(jnp.abs(vt_KxF), axis=1)])
    vt_KxF = vt_KxF * sign_K[:, None]
    var = s**2
    return PCA(Xc_NxF @ vt_KxF.T, vt_KxF, var[:k] / var.sum(), mean_F)


def class_balance(re, classes=None) -> dict[float, int]:
    """{Reynolds number: number of samples}, for every class (0 for a class with no sample)."""
    re = np.asarray(re, np.float64).ravel()
    values = np.unique(re) if classes is None else np.asarray(classes, np.float64)
    return {float(v): int(np.sum(re == v)) for v in values}
