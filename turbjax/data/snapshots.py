"""turbjax's own snapshot format: one `.npz` per (Reynolds number, realization), never a pickle.

Each file holds
  velocity     float32 (time, wx, wy, 2), components (ux, uy), x index first
  reynolds     float64 scalar
  dx, dt       float64 scalars (physical cell size and time step)
  frame_stride int64 scalar: simulation steps between consecutive frames
  first_step   int64 scalar: simulation step of frame 0
  generator    str, version str
optionally `probe_uy` (steps,) with `probe_xy` (2,) physical position of the probe, and the ensemble keys of
OPTIONAL_KEYS (a missing one reads as its default there, so older files keep working):
  realization, perturbation_seed, perturbation_amplitude   which perturbed run this is (-1: unperturbed)
  origin (x0, y0), grid_shape (nx, ny)   the stored window's first cell and the full grid it was cut from
  shedding_period_steps                  from the probe's spectrum (NaN: unknown)
  diameter, inflow, cylinder_xy (x, y)   the cylinder's diameter, the inflow velocity and the cylinder's
                                         centre, in the file's units (dx's length unit; velocity as stored;
                                         node (i, j) at ((i + 0.5) dx, (j + 0.5) dx)); NaN: unknown, read as
                                         the values of the preset named in `generator` (`data.units`)
  collision, boundary                    the simulator's collision operator and cylinder boundary rule
                                         ("": unknown, read as the preset's)
  bulk_viscosity                         the physical bulk viscosity the run had (dx's length unit, c = 1;
                                         BGK: the shear viscosity); NaN: unknown
Files are named `vortex_street_Re_{re:g}.npz` (the plain run) or `vortex_street_Re_{re:g}_r{k}.npz`.
"""

from __future__ import annotations

import contextlib
import math
import os
import zipfile
from pathlib import Path

import numpy as np

import turbjax

FILE_TEMPLATE = "vortex_street_Re_{re:g}.npz"
REALIZATION_TEMPLATE = "vortex_street_Re_{re:g}_r{k}.npz"
REQUIRED_KEYS = ("velocity", "reynolds", "dx", "dt", "frame_stride", "first_step", "generator", "version")
# The ensemble contract's keys and the value a file without them reads as (grid_shape: the stored shape).
OPTIONAL_KEYS = {
    "realization": -1,
    "perturbation_seed": -1,
    "perturbation_amplitude": 0.0,
    "origin": (0, 0),
    "grid_shape": None,
    "shedding_period_steps": math.nan,
    "diameter": math.nan,
    "inflow": math.nan,
    "cylinder_xy": (math.nan, math.nan),
    "collision": "",
    "boundary": "",
    "bulk_viscosity": math.nan,
}
_PAIRS = ("origin", "grid_shape", "cylinder_xy")  # the optional keys of shape (2,)
_OPTIONAL_DTYPES = {"realization": np.int64, "perturbation_seed": np.int64,
                    "perturbation_amplitude": np.float64,
                    "origin": np.int64, "grid_shape": np.int64, "shedding_period_steps": np.float64,
                    "diameter": np.float64, "inflow": np.float64, "cylinder_xy": np.float64,
                    "collision": np.str_, "boundary": np.str_, "bulk_viscosity": np.float64}
GENERATE_HINT = "`python -m turbjax.simulate --re 300 600 900 1200 --out {dir}` generates data"
# Damaged-file errors numpy and zipfile raise on a truncated or corrupt archive.
_DAMAGE = (zipfile.BadZipFile, EOFError, ValueError, OSError, KeyError)


def snapshot_path(directory: str | os.PathLike, reynolds: float, realization: int = -1) -> Path:
    """The file of Reynolds number `reynolds`: the plain run (realization -1) or realization k >= 0."""
    if realization == -1:
        return Path(directory) / FILE_TEMPLATE.format(re=float(reynolds))
    return Path(directory) / REALIZATION_TEMPLATE.format(re=float(reynolds), k=int(realization))


def _extra_arrays(extra: dict | None, path) -> dict:
    """The contract's optional keys as npz arrays; an unknown key is refused (a typo would be lost
    silently)."""
    out = {}
    for key, value in (extra or {}).items():
        if key not in OPTIONAL_KEYS:
            raise ValueError(
                f"refusing to write {path}: extra key {key!r} is not one of the format's optional keys "
                f"{tuple(OPTIONAL_KEYS)}"
            )
        out[key] = np.asarray(value, dtype=_OPTIONAL_DTYPES[key])
        shape = (2,) if key in _PAIRS else ()
        if out[key].shape != shape:
            raise ValueError(
                f"refusing to write {path}: extra key {key!r} must have shape {shape}, got {out[key].shape}"
            )
    return out


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
    extra: dict | None = None,
) -> Path:
    """Write one series' frames; atomic (temp file + rename) so a crash never leaves half a file.

    `extra`: entries of OPTIONAL_KEYS (e.g. {"realization": 2, "origin": (96, 0)}), written as npz arrays."""
    velocity = np.asarray(velocity)
    if velocity.ndim != 4 or velocity.shape[-1] != 2:
        raise ValueError(f"velocity must be shaped (time, nx, ny, 2), got {velocity.shape}")
    if not np.isfinite(velocity).all():
        bad = np.argwhere(~np.isfinite(velocity).all(axis=(1, 2, 3))).ravel()
        raise ValueError(
            f"refusing to write {path}: {bad.size} frame(s) contain NaN or inf (first at frame {bad[0]})"
        )
    path = Path(path)
    arrays = {
        "velocity": velocity.astype(np.float32, copy=False),
        "reynolds": np.float64(reynolds),
        "dx": np.float64(dx),
        "dt": np.float64(dt),
        "frame_stride": np.int64(frame_stride),
        "first_step": np.int64(first_step),
        "generator": np.str_(generator),
        "version": np.str_(turbjax.__version__),
    }
    if probe_uy is not None:
        arrays["probe_uy"] = np.asarray(probe_uy, dtype=np.float32)
        arrays["probe_xy"] = np.asarray(probe_xy if probe_xy is not None else (np.nan, np.nan), np.float64)
    arrays |= _extra_arrays(extra, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def damaged_message(path: Path, error: BaseException) -> str:
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return (
        f"{path} is damaged or truncated ({reason}); regenerate it with "
        f"`python -m turbjax.simulate --re RE --out {path.parent}` (or copy it again)"
    )


def _optional(f, shape) -> dict:
    meta = {}
    for key, default in OPTIONAL_KEYS.items():
        if key in f.files:
            value = f[key]
            meta[key] = tuple(v.item() for v in value) if value.ndim else value.item()
        else:
            meta[key] = tuple(int(s) for s in shape[1:3]) if key == "grid_shape" else default
    return meta


@contextlib.contextmanager
def _open_snapshot(path: Path):
    """Open a turbjax file (never unpickling) after checking it exists and has every required key; yields the
    open NpzFile and the scalar metadata. A truncated or corrupt archive is one ValueError naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"no snapshot file at {path}; {GENERATE_HINT.format(dir=path.parent)}")
    with open(path, "rb") as head:
        if head.read(1) == b"\x80":
            raise ValueError(f"{path} is a pickle, not a turbjax .npz file; for the course's files use "
                             "format='course'")
    try:
        f = np.load(path, allow_pickle=False)
    except _DAMAGE as e:
        raise ValueError(damaged_message(path, e)) from e
    with f:
        missing = [k for k in REQUIRED_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} is not a turbjax snapshot file: missing keys {missing}")
        try:
            meta = {k: f[k].item() for k in REQUIRED_KEYS if k != "velocity"}
        except _DAMAGE as e:
            raise ValueError(damaged_message(path, e)) from e
        yield f, meta


def load_snapshots(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a turbjax file: (velocity float32 (T, wx, wy, 2), metadata dict with every optional key)."""
    path = Path(path)
    with _open_snapshot(path) as (f, meta):
        try:
            velocity = f["velocity"]
            for k in ("probe_uy", "probe_xy"):
                if k in f.files:
                    meta[k] = f[k]
            meta |= _optional(f, velocity.shape)
        except _DAMAGE as e:
            raise ValueError(damaged_message(path, e)) from e
    return velocity, meta


def snapshot_header(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype, dict]:
    """(velocity shape, dtype, metadata) of a turbjax file without reading its velocity array.

    Also checks that the archive holds as many velocity bytes as the header promises, so a damaged file is
    found here, before any long work."""
    path = Path(path)
    with _open_snapshot(path) as (f, meta):
        try:
            info = f.zip.getinfo("velocity.npy")
            with f.zip.open(info) as member:
                version = np.lib.format.read_magic(member)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else (
                    np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(member)
                header_bytes = member.tell()
            meta |= _optional(f, shape)
        except _DAMAGE as e:
            raise ValueError(damaged_message(path, e)) from e
    expected = header_bytes + math.prod(shape) * np.dtype(dtype).itemsize
    if info.file_size != expected:
        raise ValueError(damaged_message(path, ValueError(
            f"velocity.npy holds {info.file_size} bytes, its header {tuple(shape)} {np.dtype(dtype)} needs "
            f"{expected}")))
    return tuple(shape), np.dtype(dtype), meta


def check_shape(shape, dtype, path: str | os.PathLike, expected: str = "(time, nx, ny, 2)") -> None:
    """Shape (T, nx, ny, 2) with T >= 1 and a float32/float64 dtype; the error names the file and what to
    do."""
    shape = tuple(shape)
    if len(shape) != 4 or shape[-1] != 2 or shape[0] < 1:
        raise ValueError(
            f"{path}: velocity has shape {shape}, expected {expected} with x index first and two "
            f"components; regenerate or reconvert the file"
        )
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"{path}: velocity has dtype {np.dtype(dtype)}, expected float32 or float64")


def nonfinite_message(bad, n_frames, path) -> str:
    shown = ", ".join(str(b) for b in bad[:10]) + (", ..." if len(bad) > 10 else "")
    return (
        f"{path}: {len(bad)} of {n_frames} frames contain NaN or inf (frames {shown}); the "
        f"simulation diverged or the file is corrupt: regenerate it"
    )


def nonfinite_frames(block: np.ndarray) -> np.ndarray:
    """Indices of the frames (axis 0) of `block` that hold a NaN or inf."""
    return np.flatnonzero(~np.isfinite(block).reshape(block.shape[0], -1).all(axis=1))


def check_velocity(velocity: np.ndarray, path: str | os.PathLike,
                   expected: str = "(time, nx, ny, 2)") -> None:
    """Shape (T, nx, ny, 2) with T >= 1, a floating dtype, and finite values; errors name file and frames."""
    check_shape(velocity.shape, velocity.dtype, path, expected)
    bad = []
    chunk = max(1, 2**24 // max(1, velocity[0].size))
    for start in range(0, velocity.shape[0], chunk):
        bad.extend((start + nonfinite_frames(velocity[start : start + chunk])).tolist())
    if bad:
        raise ValueError(nonfinite_message(bad, velocity.shape[0], path))
