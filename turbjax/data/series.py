"""One data file as a series of samples: its header-only plan (checked before any data is read), and reading
its vorticity images.

A plan checks shape, dtype, Reynolds number and realization (name against contents), the crop window against
the full grid and the stored window (`origin`), and the time stride; with gap_unit "periods" it also asks the
format's reader for the shedding period (turbjax's: the file's `shedding_period_steps`, or the probe's
spectrum). Files are read through the format's reader (`turbjax.data.readers`). With data.units = "flow"
a file not on the reference grid is resampled onto it (`turbjax.data.units`): the plan's grid, steps and
period are then the reference grid's and clock's. `series_inputs` turns the images into the model's input rows
(the features, and with data.resolution_input the file's (dx / D)^2), for training and for estimates alike.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail
from turbjax.data import readers, snapshots, units
from turbjax.data.features import compute_features
from turbjax.data.transforms import flatten
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
    first_step: float  # simulation step of frame 0 (on the reference clock: may be fractional)
    frame_stride: float  # simulation steps between frames
    period_steps: float  # shedding period in simulation steps (NaN: unknown)
    resampling: units.Resampling | None = None  # data.units "flow" off the reference grid: how to get there
    cells_per_diameter: float = float("nan")  # of the file's own grid: D / dx


def frame_stride_for(sample_every_steps, frame_stride, path="") -> int:
    """Frames to skip so that samples are `sample_every_steps` simulation steps apart; error if not
    divisible. Both may be fractional on the reference clock (data.units "flow"); the samples' spacing must
    then be a whole number of frames, to a millionth."""
    steps, per_frame = float(sample_every_steps), float(frame_stride)
    if not (math.isfinite(steps) and steps > 0):
        fail(f"sample_every_steps={sample_every_steps!r} must be a positive number of steps")
    n = round(steps / per_frame)
    if n < 1 or abs(steps / per_frame - n) > 1e-6:
        fail(
            f"sample_every_steps={sample_every_steps:g} is not a multiple of the {per_frame:g} simulation "
            f"steps between frames of {path}; choose a multiple of {per_frame:g}"
        )
    return n


def plan_series(path: Path, cfg, reynolds: float, realization: int, fmt: str,
                need_period: bool) -> SeriesPlan:
    """Everything about one file that needs only its header (see the module docstring)."""
    reader = readers.reader(fmt)
    shape, dtype, meta = reader.header(path, cfg["trust_pickle"])
    unlabelled = np.isnan(float(meta["reynolds"])) and np.isnan(reynolds)  # a file to estimate Re of
    if not unlabelled and not np.isclose(float(meta["reynolds"]), reynolds):
        fail(f"{path} says reynolds={meta['reynolds']:g} but its name is for Re {reynolds:g}; "
             f"regenerate or rename the file")
    if int(meta["realization"]) != realization:
        fail(f"{path} says realization={meta['realization']} but its name is for realization {realization}; "
             f"regenerate or rename the file")
    snapshots.check_shape(shape, dtype, path)
    t, wx, wy, _ = shape
    grid, origin = tuple(meta["grid_shape"]), tuple(meta["origin"])
    first_step, frame_stride, resampling = int(meta["first_step"]), int(meta["frame_stride"]), None
    u = meta["units"]
    if cfg["units"] == "flow":
        u.check(path)
    if units.resampled(u, cfg["units"]):
        ref_grid = units.reference_extent(u, grid)
        xs, ys, _, _ = velocity_window(*ref_grid, crop_x=cfg["crop_x"], crop_y=cfg["crop_y"],
                                       scheme=cfg["vorticity"], where=str(path))
        resampling = units.plan_resampling(u, grid, xs, ys, path,
                                           needed=_stencil_nodes(xs, ys, cfg, cfg["vorticity"]),
                                           stored=(slice(origin[0], origin[0] + wx),
                                                   slice(origin[1], origin[1] + wy)))
        stored_cells(resampling.x, resampling.y, origin, (wx, wy), str(path))
        first_step = units.reference_steps(first_step, u)
        frame_stride = units.reference_steps(frame_stride, u)
        grid = ref_grid
    else:
        xs, ys, _, _ = velocity_window(*grid, crop_x=cfg["crop_x"], crop_y=cfg["crop_y"],
                                       scheme=cfg["vorticity"], where=str(path))
        stored_cells(xs, ys, origin, (wx, wy), str(path))
    stride = frame_stride_for(cfg["sample_every_steps"], frame_stride, path)
    if need_period:
        period = reader.period_steps(path, meta, t)
    else:  # for clips of one period when scoring; NaN where the file cannot say
        try:
            period = reader.period_steps(path, meta, t)
        except ValueError:
            period = float("nan")
    if resampling is not None:
        period = units.reference_steps(period, u)
    return SeriesPlan(path, reynolds, realization, t, grid, origin, (wx, wy), stride, meta["components"],
                      first_step, frame_stride, period, resampling, float(u.diameter / u.dx))


def frame_spacing(meta: dict, data_units: str, path) -> float:
    """The steps between a file's frames as the data pipeline counts them (data.units "flow": on the
    reference clock)."""
    if units.resampled(meta["units"], data_units):
        return units.reference_steps(int(meta["frame_stride"]), meta["units"])
    return int(meta["frame_stride"])


def _stencil_nodes(xs: slice, ys: slice, cfg, scheme: str) -> tuple[slice, slice]:
    """The velocity nodes of the block xs x ys that the vorticity of the crop window reads: the window and
    one node around it for central differences (the halo's outer ring only serves the one-sided stencil at
    the block's edge, which is cropped away); all of them for the course's forward differences."""
    if scheme != "central":
        return xs, ys
    (x0, x1), (y0, y1) = cfg["crop_x"], cfg["crop_y"]
    return (slice(max(xs.start, x0 - 1), min(xs.stop, x1 + 1)),
            slice(max(ys.start, y0 - 1), min(ys.stop, y1 + 1)))


def read_images(plan: SeriesPlan, cfg, fmt: str) -> np.ndarray:
    """One file -> float32 vorticity images (ceil(n_frames / stride), h, w).

    Only the kept frames of the cells the crop window needs are passed on: the course's files are streamed
    (nothing else is ever in memory), turbjax's are read whole and dropped before the next file is read.
    """
    kw = {"crop_x": tuple(cfg["crop_x"]), "crop_y": tuple(cfg["crop_y"]), "scheme": cfg["vorticity"],
          "factor": cfg["downsample"], "where": str(plan.path), "grid": plan.grid,
          "components": plan.components}
    xs, ys, _, _ = velocity_window(*plan.grid, crop_x=kw["crop_x"], crop_y=kw["crop_y"], scheme=kw["scheme"],
                                   where=kw["where"])
    r = plan.resampling
    block = readers.reader(fmt).read_frames(plan.path, stride=plan.stride, x=xs if r is None else r.x,
                                            y=ys if r is None else r.y, trust_pickle=cfg["trust_pickle"])
    if block.shape[0] != len(range(0, plan.n_frames, plan.stride)):
        fail(f"{plan.path} changed while the data set was being built; run again")
    if r is not None:
        if plan.components == "-ux,uy":  # resampling mixes cells, not components: (ux, uy) either way
            block = np.stack([-block[..., 0], block[..., 1]], axis=-1)
            kw["components"] = "ux,uy"
        block = units.resample(block, r)
    return wake_vorticity(block, origin=(xs.start, ys.start), **kw)


def series_inputs(images: np.ndarray, plan: SeriesPlan, cfg) -> np.ndarray:
    """(n, F) float32 model inputs of one series' images: the flattened features, and with
    data.resolution_input one more column, (dx / D)^2 of the file's own grid (the same for every frame)."""
    x = flatten(compute_features(images, cfg["features"], remove_mean=cfg["remove_mean"]))
    if not cfg.get("resolution_input", False):
        return x
    if not (plan.cells_per_diameter > 0):
        fail(f"{plan.path} does not say its grid spacing in cylinder diameters (D / dx), which the model's "
             "resolution input needs; give the file's diameter and grid spacing")
    h2 = np.full((x.shape[0], 1), 1.0 / plan.cells_per_diameter**2, np.float32)
    return np.concatenate([x, h2], axis=1)
