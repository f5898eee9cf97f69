"""turbjax's own snapshot format: one `.npz` per Reynolds number, no pickles.

Each file holds
  velocity     float32 (time, nx, ny, 2), components (ux, uy), x index first
  reynolds     float64 scalar
  dx, dt       float64 scalars (physical cell size and time step)
  frame_stride int64 scalar: simulation steps between consecutive frames
  first_step   int64 scalar: simulation step of frame 0
  generator    str, version str
and optionally `probe_uy` (steps,) with `probe_xy` (2,) physical position of the probe.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import turbjax

FILE_TEMPLATE = "vortex_street_Re_{re:g}.npz"
REQUIRED_KEYS = ("velocity", "reynolds", "dx", "dt", "frame_stride", "first_step", "generator", "version")


def snapshot_path(directory: str | os.PathLike, reynolds: float) -> Path:
    return Path(directory) / FILE_TEMPLATE.format(re=float(reynolds))


def save_snapshots(
    path: str | os.PathLike,
    velocity: np.ndarray,
    *,
    reynolds: float,
    dx: float,
    dt: float,
    frame_stride: int,
    first_step: int,
    generator: str = "turbjax.simulate",
    probe_uy: np.ndarray | None = None,
    probe_xy: tuple[float, float] | None = None,
) -> Path:
    """Write one Reynolds number's frames; atomic (temp file + rename) so a crash never leaves half a file."""
    velocity = np.asarray(velocity)
    if velocity.ndim != 4 or velocity.shape[-1] != 2:
        raise ValueError(f"velocity must be shaped (time, nx, ny, 2), got {velocity.shape}")
    if not np.isfinite(velocity).all():
        bad = np.argwhere(~np.isfinite(velocity).all(axis=(1, 2, 3))).ravel()
        raise ValueError(
            f"refusing to write {path}: {bad.size} frame(s) contain NaN or inf (first at frame {bad[0]})"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = dict(
        velocity=velocity.astype(np.float32),
        reynolds=np.float64(reynolds),
        dx=np.float64(dx),
        dt=np.float64(dt),
        frame_stride=np.int64(frame_stride),
        first_step=np.int64(first_step),
        generator=np.str_(generator),
        version=np.str_(turbjax.__version__),
    )
    if probe_uy is not None:
        arrays["probe_uy"] = np.asarray(probe_uy, dtype=np.float32)
        arrays["probe_xy"] = np.asarray(probe_xy if probe_xy is not None else (np.nan, np.nan), np.float64)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_snapshots(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a turbjax file: (velocity float32 (T, nx, ny, 2), metadata dict). Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no snapshot file at {path}; generate data with "
            f"`python -m turbjax.simulate --re 300 600 900 1200 --out {path.parent}`"
        )
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in REQUIRED_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} is not a turbjax snapshot file: missing keys {missing}")
        velocity = f["velocity"]
        meta = {k: f[k].item() for k in REQUIRED_KEYS if k != "velocity"}
        for k in ("probe_uy", "probe_xy"):
            if k in f.files:
                meta[k] = f[k]
    return velocity, meta
