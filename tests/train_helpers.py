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


def standardized_data(x, y, test_every: int = 5) -> dict:
    """Every `test_every`-th row to the test set; X and y standardized on the training rows."""
    y = y.reshape(len(y), -1)
    test = np.zeros(len(x), bool)
    test[::test_every] = True
    xm, xs = x[~test].mean(0), x[~test].std(0) + 1e-8
    ym, ys = y[~test].mean(0), y[~test].std(0)
    return {
        "X_train": jnp.asarray((x[~test] - xm) / xs),
        "y_train": jnp.asarray((y[~test] - ym) / ys),
        "X_test": jnp.asarray((x[test] - xm) / xs),
        "y_test": jnp.asarray((y[test] - ym) / ys),
        "y_mean": jnp.asarray(ym),
        "y_scale": jnp.asarray(ys),
    }
