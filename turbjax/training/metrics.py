"""Metrics in the original units of y. Same conventions as scikit-learn (multi-output: uniform average)."""

from __future__ import annotations

import jax.numpy as jnp


def _2d(a):
    return a[:, None] if a.ndim == 1 else a


def r2_score(y_true, y_pred) -> jnp.ndarray:
    """Coefficient of determination per output, then averaged over outputs (sklearn 'uniform_average').

    Among several outputs, one with zero variance scores 1 if predicted exactly, else 0 (as sklearn: e.g. a
    forecast pixel that never changes). If every output has zero variance (a scalar target that takes one
    value, as with one held-out Reynolds number) R^2 is undefined and this returns NaN, where scikit-learn
    would report 0 or 1: a number that looks like a score but is not one."""
    y_true, y_pred = _2d(jnp.asarray(y_true)), _2d(jnp.asarray(y_pred))
    ss_res = jnp.sum(jnp.square(y_true - y_pred), axis=0)
    ss_tot = jnp.sum(jnp.square(y_true - jnp.mean(y_true, axis=0)), axis=0)
    # "zero variance" up to rounding: targets that all equal 600 in float32 leave ss_tot ~ 1e-9 after the
    # mean's rounding, which would turn R^2 into -1e13; a spread below 16 ulps of the largest target counts as
    # none
    eps = jnp.finfo(jnp.result_type(y_true.dtype, jnp.float32)).eps
    tiny = y_true.shape[0] * jnp.square(16 * eps * jnp.max(jnp.abs(y_true), axis=0))
    varies = ss_tot > tiny
    safe = jnp.where(varies, ss_tot, 1.0)
    r2 = jnp.where(varies, 1.0 - ss_res / safe, jnp.where(ss_res == 0, 1.0, 0.0))
    return jnp.where(jnp.any(varies), jnp.mean(r2), jnp.nan)


def mean_squared_error(y_true, y_pred) -> jnp.ndarray:
    return jnp.mean(jnp.square(_2d(jnp.asarray(y_true)) - _2d(jnp.asarray(y_pred))))


def mean_absolute_error(y_true, y_pred) -> jnp.ndarray:
    return jnp.mean(jnp.abs(_2d(jnp.asarray(y_true)) - _2d(jnp.asarray(y_pred))))


def accuracy(labels_B, logits_BxC) -> jnp.ndarray:
    """Fraction of correct classes; one logit column = binary (positive when logit > 0)."""
    logits_BxC = _2d(jnp.asarray(logits_BxC))
    if logits_BxC.shape[-1] == 1:
        pred = (logits_BxC[:, 0] > 0).astype(jnp.int32)
    else:
        pred = jnp.argmax(logits_BxC, axis=-1)
    return jnp.mean((pred == jnp.asarray(labels_B)).astype(jnp.float32))
