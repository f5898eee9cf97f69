"""A cheap analytic stand-in for a vortex street, for tests and demos (not physics).

Two rows of Gaussian vortices of alternating sign advect downstream on a uniform stream U; the shedding
frequency follows Roshko's Strouhal fit and the core size shrinks with Re, so snapshots at different Reynolds
numbers are distinguishable the way the simulator's are. The velocity is the exact curl of a stream function,
so it is divergence-free.

    write_synthetic_files("data/synthetic", (300, 600, 900, 1200), nx=96, ny=64, frames=30, dx=1 / 64,
                          frame_dt=0.25)   # one turbjax snapshot file per Reynolds number
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from turbjax.data.snapshots import save_snapshots, snapshot_path

GENERATOR = "turbjax.data.synthetic"  # the files' `generator` header: not the simulator's output
DIAMETER, INFLOW, X0 = 0.1, 1.0 / 20, 0.3  # the stand-in's "cylinder" (where the street starts) and stream


def vortex_street_velocity(
    reynolds: float,
    *,
    nx: int = 256,
    ny: int = 128,
    frames: int = 60,
    dx: float = 1.0 / 128,
    frame_dt: float = 10.0 / 128,
    inflow: float = INFLOW,
    diameter: float = DIAMETER,
    seed: int = 0,
) -> np.ndarray:
    """Velocity (frames, nx, ny, 2) float32, x index first, in lattice-like units (stream speed `inflow`)."""
    rng = np.random.default_rng(seed)
    # Physical time in units where the free stream moves 1 per unit time; x, y in [0, nx*dx) x [0, ny*dx).
    strouhal = 0.212 * (1.0 - 21.2 / reynolds)
    freq = strouhal / diameter  # shedding frequency in 1/time (U = 1)
    sigma = diameter * (0.25 + 6.0 / np.sqrt(reynolds))
    x = (np.arange(nx) + 0.5) * dx
    y = (np.arange(ny) + 0.5) * dx
    X, Y = np.meshgrid(x, y, indexing="ij")
    x0, yc = X0, ny * dx / 2
    convect = 0.85
    phase0 = rng.uniform(0, 1.0 / freq)
    out = np.empty((frames, nx, ny, 2), np.float32)
    period = 1.0 / freq
    n_vortices = int(np.ceil((nx * dx - x0) / (convect * period / 2))) + 2
    for t_idx in range(frames):
        t = phase0 + t_idx * frame_dt
        ux = np.ones_like(X)
        uy = np.zeros_like(X)
        for k in range(n_vortices):
            # Vortex k was shed at time t_k = (floor(2 t f) - k) / (2 f); alternating sign and side.
            n = np.floor(2 * t * freq) - k
            age = t - n / (2 * freq)
            xv = x0 + convect * age
            sign = 1.0 if n % 2 == 0 else -1.0
            yv = yc + sign * 0.6 * diameter
            gamma = -sign * 0.5 * diameter * (1 - np.exp(-age / (0.3 * period)))
            dxv, dyv = X - xv, Y - yv
            g = gamma * np.exp(-(dxv**2 + dyv**2) / sigma**2)
            # psi = g; u = d psi / dy, v = -d psi / dx
            ux += g * (-2 * dyv / sigma**2)
            uy -= g * (-2 * dxv / sigma**2)
        out[t_idx, ..., 0] = inflow * ux
        out[t_idx, ..., 1] = inflow * uy
    return out


def small_reynolds_arrays(
    reynolds=(300.0, 600.0, 900.0, 1200.0), frames: int = 50, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A seconds-to-build regression set from the analytic stand-in (not physics): (x_train, y_train, x_test,
    y_test), random 80/20 split, raw Reynolds-number targets, float64.

    Vorticity by central differences (np.gradient): omega = d uy/dx - d ux/dy on a 64 x 32 grid with cell size
    1/64; the window x in [24, 56) behind the formation point, all of y: 32 * 32 = 1024 features per frame."""
    xs, ys = [], []
    for i, re in enumerate(reynolds):
        u = vortex_street_velocity(float(re), nx=64, ny=32, frames=frames, dx=1.0 / 64, seed=i)
        omega = np.gradient(u[..., 1], axis=1) - np.gradient(u[..., 0], axis=2)
        xs.append(omega[:, 24:56, :].reshape(frames, -1))
        ys.append(np.full(frames, float(re)))
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys)
    perm = np.random.default_rng(seed).permutation(len(y))
    tr, te = perm[: int(0.8 * len(y))], perm[int(0.8 * len(y)) :]
    return x[tr], y[tr], x[te], y[te]


def write_synthetic_files(
    directory: str | os.PathLike,
    reynolds: Sequence[float],
    *,
    nx: int,
    ny: int,
    frames: int,
    dx: float,
    frame_dt: float,
    frame_stride: int = 10,
    first_step: int = 0,
    seeds: Sequence[int] | None = None,
) -> list[Path]:
    """Write one turbjax snapshot file per Reynolds number of the analytic stand-in, as the simulator names
    them (turbjax.data.snapshots.snapshot_path), so the data pipeline reads them like simulator output.

    The header says what a simulator file would: dt = dx (lattice speed 1), `frame_stride` steps between
    frames from `first_step`, generator GENERATOR, and the stand-in's geometry (diameter, inflow, the street's
    origin as the cylinder's centre). `frame_dt` is the stand-in's own time between frames (the
    vortices' advance per frame), free so that a short file still spans several shedding periods. `seeds`:
    one per file (default 0, 1, ...: the index of its Reynolds number), so each file's phase is reproducible
    whichever others are written. Writes are atomic (save_snapshots). Returns the paths, in order."""
    seeds = range(len(reynolds)) if seeds is None else seeds
    if len(seeds) != len(reynolds):
        raise ValueError(f"{len(seeds)} seeds for {len(reynolds)} Reynolds numbers; give one per file")
    paths = []
    for re, seed in zip(reynolds, seeds, strict=True):
        re = float(re)
        velocity = vortex_street_velocity(re, nx=nx, ny=ny, frames=frames, dx=dx, frame_dt=frame_dt,
                                          seed=int(seed))
        geometry = {"diameter": DIAMETER, "inflow": INFLOW, "cylinder_xy": (X0, ny * dx / 2)}
        paths.append(save_snapshots(snapshot_path(directory, re), velocity, reynolds=re, dx=dx, dt=dx,
                                    frame_stride=frame_stride, first_step=first_step, generator=GENERATOR,
                                    extra=geometry))
    return paths
