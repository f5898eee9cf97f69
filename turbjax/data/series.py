"""One data file as a series of samples: its header-only plan (checked before any data is read), and reading
its vorticity images.

A plan checks shape, dtype, Reynolds number and realization (name against contents), the crop window against
the full grid and the stored window (`origin`), and the time stride; with gap_unit "periods" it also finds the
shedding period (the file's `shedding_period_steps`, or the probe's spectrum).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail
from turbjax.data import course_pickle, discovery, snapshots
from turbjax.data.vorticity import stored_cells, velocity_window, wake_vorticity


class SeriesPlan(NamedTuple):
    path: Path
    reynolds: float
    realization: int  # -1: the plain run
    n_frames: int  # frames in the file
    grid: tuple[int, int]  # the full simulation grid (nx, ny)
    origin: tuple[int, int]  # full-grid cell of the stored window's first cell
    stored: tuple[int, int]  # stored window (wx, wy)
    stride: int  # frames between samples
    components: str  # "ux,uy" or "-ux,uy"
    first_step: int  # simulation step of frame 0
    frame_stride: int  # simulation steps between frames
    period_steps: float  # shedding period in simulation steps (NaN: not needed or unknown)


def frame_stride_for(sample_every_steps: int, frame_stride: int, path="") -> int:
    """Frames to skip so that samples are `sample_every_steps` simulation steps apart; error if not
    divisible."""
    steps, per_frame = int(sample_every_steps), int(frame_stride)
    if steps != sample_every_steps or steps < 1:
        fail(f"sample_every_steps={sample_every_steps!r} must be a positive integer")
    if steps % per_frame:
        fail(
            f"sample_every_steps={steps} is not a multiple of the {per_frame} simulation steps between "
            f"frames of {path}; choose a multiple of {per_frame}"
        )
    return steps // per_frame


def probe_period_steps(path: Path, n_frames: int, frame_stride: int) -> float:
    """The shedding period in steps from a file's probe_uy: from the recorded window (the probe's last
    n_frames * frame_stride entries, whether it covers only that window or the whole run), or, when that
    window spans fewer than the 10 periods a reliable estimate needs (the seed files record ~5), from the last
    half of the probe's record if it is longer (the seed runs: steps 24000-48000, long after the start-up)."""
    # Lazy: the data pipeline does not otherwise need the simulator package (and its solver).
    from turbjax.simulate.analysis import shedding_frequency

    try:
        with np.load(path, allow_pickle=False) as f:
            probe = f["probe_uy"] if "probe_uy" in f.files else None
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(snapshots.damaged_message(path, e)) from e
    if probe is None:
        fail(f"{path} has no shedding_period_steps and no probe_uy to compute it from: gap_unit='periods' "
             f"needs one; use gap_unit='steps' (or 'samples')")
    window = n_frames * frame_stride
    try:
        return 1.0 / shedding_frequency(probe[-window:], 1.0)
    except ValueError as e:
        if probe.size // 2 > window:
            try:
                return 1.0 / shedding_frequency(probe[-(probe.size // 2) :], 1.0)
            except ValueError:
                pass
        raise ValueError(
            f"{path}: cannot find the shedding period from probe_uy ({e}); use gap_unit='steps'") from e


def _header(path: Path, fmt: str, trust_pickle: bool):
    """(shape, dtype, metadata) from the header alone, in the turbjax reader's metadata keys."""
    if fmt == "course":
        header = course_pickle.course_header(path, trust_pickle=trust_pickle)
        meta = discovery.course_metadata(path) | {"grid_shape": tuple(header.shape[1:3])}
        return header.shape, header.dtype, meta
    shape, dtype, meta = snapshots.snapshot_header(path)
    return shape, dtype, meta | {"components": "ux,uy"}


def plan_series(path: Path, cfg, reynolds: float, realization: int, fmt: str,
                need_period: bool) -> SeriesPlan:
    """Everything about one file that needs only its header (see the module docstring)."""
    shape, dtype, meta = _header(path, fmt, cfg["trust_pickle"])
    if not np.isclose(float(meta["reynolds"]), reynolds):
        fail(f"{path} says reynolds={meta['reynolds']:g} but its name is for Re {reynolds:g}; "
             f"regenerate or rename the file")
    if int(meta["realization"]) != realization:
        fail(f"{path} says realization={meta['realization']} but its name is for realization {realization}; "
             f"regenerate or rename the file")
    snapshots.check_shape(shape, dtype, path)
    t, wx, wy, _ = shape
    grid, origin = tuple(meta["grid_shape"]), tuple(meta["origin"])
    xs, ys, _, _ = velocity_window(*grid, crop_x=cfg["crop_x"], crop_y=cfg["crop_y"], scheme=cfg["vorticity"],
                                   where=str(path))
    stored_cells(xs, ys, origin, (wx, wy), str(path))
    stride = frame_stride_for(cfg["sample_every_steps"], meta["frame_stride"], path)
    period = math.nan
    if need_period:
        period = float(meta["shedding_period_steps"])
        if fmt == "course":
            fail(f"{path}: the course's files have no probe to find the shedding period; "
                 "use gap_unit='steps'")
        if not math.isfinite(period) or period <= 0:
            period = probe_period_steps(path, t, int(meta["frame_stride"]))
    return SeriesPlan(path, reynolds, realization, t, grid, origin, (wx, wy), stride, meta["components"],
                      int(meta["first_step"]), int(meta["frame_stride"]), period)


def read_images(plan: SeriesPlan, cfg, fmt: str) -> np.ndarray:
    """One file -> float32 vorticity images (ceil(n_frames / stride), h, w).

    Course files are streamed: only the kept frames' window cells are ever in memory. turbjax files are read
    whole (float32, 157 MB for a seed file) and dropped before the next file is read.
    """
    kw = {"crop_x": tuple(cfg["crop_x"]), "crop_y": tuple(cfg["crop_y"]), "scheme": cfg["vorticity"],
          "factor": cfg["downsample"], "where": str(plan.path), "grid": plan.grid,
          "components": plan.components}
    if fmt == "course":
        xs, ys, _, _ = velocity_window(*plan.grid, crop_x=kw["crop_x"], crop_y=kw["crop_y"],
                                       scheme=kw["scheme"],
                                       where=kw["where"])
        block = course_pickle.read_course_frames(plan.path, trust_pickle=True, stride=plan.stride, x=xs, y=ys)
        return wake_vorticity(block, origin=(xs.start, ys.start), **kw)
    velocity, meta = discovery.read_velocity(plan.path, "turbjax")
    if velocity.shape[0] != plan.n_frames or meta["frame_stride"] * plan.stride != cfg["sample_every_steps"]:
        fail(f"{plan.path} changed while the data set was being built; run again")
    return wake_vorticity(velocity, stride=plan.stride, origin=plan.origin, **kw)
