"""Small synthetic arrays for the training tests (no simulator, no data pipeline)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from turbjax.data.synthetic import vortex_street_velocity

RES = (300.0, 600.0, 900.0, 1200.0)


def vorticity_arrays(frames: int = 30, crop: int = 12, res=RES, seed: int = 0):
    """Flattened vorticity crops (N, crop*crop) float32 and Reynolds targets (N,) from the analytic street."""
    xs, ys = [], []
    for i, re in enumerate(res):
        u = vortex_street_velocity(re, nx=64, ny=32, frames=frames, dx=1.0 / 32, frame_dt=0.3, seed=seed + i)
        w = np.gradient(u[..., 1], axis=1) - np.gradient(u[..., 0], axis=2)
        w = w[:, 20 : 20 + crop, 16 - crop // 2 : 16 + crop // 2]
        xs.append(w.reshape(frames, -1))
        ys.append(np.full(frames, re))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.float32)


def standardized_data(x, y, test_every: int = 5, val_every: int | None = None) -> dict:
    """Every `test_every`-th row to the test set (and, with `val_every`, every `val_every`-th of the others to
    a validation set); X and y standardized on the training rows."""
    y = y.reshape(len(y), -1)
    test = np.zeros(len(x), bool)
    test[::test_every] = True
    val = np.zeros(len(x), bool)
    if val_every:
        val[np.flatnonzero(~test)[::val_every]] = True
    train = ~test & ~val
    xm, xs = x[train].mean(0), x[train].std(0) + 1e-8
    ym, ys = y[train].mean(0), y[train].std(0)
    parts = {"train": train, "test": test} | ({"val": val} if val_every else {})
    out = {f"X_{k}": jnp.asarray((x[m] - xm) / xs) for k, m in parts.items()}
    out |= {f"y_{k}": jnp.asarray((y[m] - ym) / ys) for k, m in parts.items()}
    return out | {"y_mean": jnp.asarray(ym), "y_scale": jnp.asarray(ys)}
