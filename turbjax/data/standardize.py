"""Standardization as a fitted statistics pytree: fit on the training set only, apply to anything.

    stats = fit_standardizer(X_train)           # Standardizer(mean, scale), a pytree (NamedTuple)
    Z = standardize(X_test, stats)               # (X - mean) / scale
    X = unstandardize(Z, stats)                  # Z * scale + mean
    t = target_to_model(y, log=True)             # log y (data.log_target), then standardized like X
    y = target_from_model(z, mean, scale, log=True)  # exp(z * scale + mean): back to original units

Works for X (N, features) -> per-feature statistics, and for targets y (N,) -> scalar statistics or y (N, k)
-> per-component statistics. The standard deviation is the population one (ddof = 0, like scikit-learn's
StandardScaler).

Constant features: a feature whose training values are all identical (the value range is exactly 0; e.g. a
border cell that never changes) gets mean = that value and scale = 1, so it standardizes to exactly 0 on the
training set and round-trips exactly; never a division by zero, never NaN. (An exact test instead of
`std < eps` also catches the case where float rounding makes the std of a constant column tiny but non-zero,
which would otherwise blow rounding noise up to O(1) values.)

Runs in the namespace of its input (numpy or jax.numpy); jit-able.
"""

from __future__ import annotations

from typing import NamedTuple

from turbjax.data.vorticity import _xp


class Standardizer(NamedTuple):
    mean: object  # array shaped like one sample (features,) or a scalar for y (N,)
    scale: object  # same shape; 1 where the training feature is constant


def fit_standardizer(x) -> Standardizer:
    """Mean and population std over axis 0 (the samples); scale 1 (and mean = the value) for constant
    features."""
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError("fit_standardizer needs at least one sample along axis 0, got shape "
                         f"{tuple(x.shape)}")
    xp = _xp(x)
    lo, hi = x.min(axis=0), x.max(axis=0)
    constant = hi == lo
    mean = xp.where(constant, lo, x.mean(axis=0))
    std = x.std(axis=0)
    scale = xp.where(constant, xp.ones_like(std), std)
    return Standardizer(mean=mean, scale=scale)


def standardize(x, stats: Standardizer):
    return (x - stats.mean) / stats.scale


def unstandardize(z, stats: Standardizer):
    return z * stats.scale + stats.mean


def target_to_model(y, log: bool):
    """The regression target the model is fitted on (before standardizing): y, or log y (data.log_target)."""
    if not log:
        return y
    if (y <= 0).any():
        raise ValueError("log_target needs positive targets, got a minimum of " + str(float(y.min())))
    return _xp(y).log(y)


def target_from_model(z, mean, scale, log: bool):
    """Standardized model outputs z -> targets in original units: z * scale + mean, then exp for a log
    target. The one inverse of (target_to_model, standardize) used by the metrics, predictions and ridge."""
    t = z * scale + mean
    return _xp(t).exp(t) if log else t
