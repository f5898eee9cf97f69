"""Build the train/test data set from a data config (see `configs/default.get_data_config`).

    validate_data_config(cfg)      # every name and number, before any long work; raises ValueError
    missing_files(cfg)             # files the train job would have to generate first
    ds = build_dataset(cfg)        # Dataset(X_train, X_test, y_train, y_test, labels_*, re_*, frame_*, ...)

First every file's header is checked (shape, dtype, Reynolds number, common grid, frame stride, crop
window) and the split is made from the sample metadata, so configuration errors arrive before any data is
read. Then, one file at a time: keep every `stride`-th frame and only the cells the crop window needs (plus
a halo for the difference stencil; the course's pickles are streamed, so nothing else is ever in memory),
compute the vorticity in lattice units (dx = 1 cell), crop, downsample, cast to float32, and drop the file's
array before the next. Cropping before differencing gives bit-for-bit the numbers of differencing the whole
grid and cropping afterwards.

`gap` (time split) and `horizon` (forecast target) count samples, i.e. frames after the time stride.

With the defaults (course files or turbjax seed files, sample_every_steps=10, crop (160, 224) x (32, 96)) the
data set is the course's: 4 x 600 = 2400 samples of 64 x 64 = 4096 features, 1920 train / 480 test.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from turbjax.data import io
from turbjax.data.splits import SPLITS, make_split
from turbjax.data.transforms import check_window, downsample, flatten, unflatten
from turbjax.data.vorticity import (
    SCHEMES,
    vorticity,
    vorticity_course,
    vorticity_forward,
    vorticity_grid_shape,
)

TARGETS = ("reynolds", "forecast")
_HALO = 2  # cells of velocity kept around the crop window: the one-sided edge stencil reaches 2 cells in

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train and test arrays (numpy, host memory), like the course's data set object.

    X_*       float32 (N, features): flattened, unstandardized vorticity images (row-major, y fastest)
    y_*       float32 (N,) Reynolds numbers for target "reynolds"; float32 (N, features) for target "forecast"
              (the flattened vorticity `horizon` samples later in the same series)
    labels_*  int32 (N,) index of the sample's Reynolds number in `classes` (for classification)
    re_*      float32 (N,) the sample's Reynolds number (also for target "forecast")
    frame_*   int64 (N,) index of the sample's frame in its file (before the time stride)
    classes   sorted tuple of the Reynolds numbers in the data (the held-out ones included)
    image_shape  (h, w) of one sample; `reshape(X)` turns (N, h*w) back into (N, h, w)
    dropped   samples in neither set (the "time" split's gap), reported, never silent

    `len(ds)` is the number of training samples and `ds[i]` is the training pair (X_train[i], y_train[i]);
    i may be an int, a slice or an index array (a minibatch).
    """

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    labels_train: np.ndarray
    labels_test: np.ndarray
    re_train: np.ndarray
    re_test: np.ndarray
    frame_train: np.ndarray
    frame_test: np.ndarray
    classes: tuple[float, ...]
    image_shape: tuple[int, int]
    target: str = "reynolds"
    split: str = "random"
    dropped: int = 0

    def reshape(self, X):
        """(N, h*w) -> (N, h, w) images (or (h*w,) -> (h, w))."""
        return unflatten(X, self.image_shape)

    def __len__(self) -> int:
        return int(self.X_train.shape[0])

    def __getitem__(self, index):
        return self.X_train[index], self.y_train[index]

    @property
    def n_features(self) -> int:
        return int(self.X_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def summary(self) -> str:
        h, w = self.image_shape
        text = (
            f"{len(self.X_train)} train / {len(self.X_test)} test samples of {h}x{w} = {self.n_features} "
            f"features, Re {list(self.classes)}, split {self.split!r}, target {self.target!r}"
        )
        if self.dropped:
            text += f", {self.dropped} samples dropped in the gap between train and test"
        return text


def _get(cfg, name: str):
    try:
        return cfg[name]
    except (KeyError, AttributeError):
        raise ValueError(
            f"the data config has no field {name!r}; start from configs/default.get_data_config()"
        ) from None


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def _window(value, name: str) -> tuple[int, int]:
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        raise ValueError(f"{name}={value!r} must be a pair of integers (start, stop) on the vorticity grid")
    start, stop = int(value[0]), int(value[1])
    if not 0 <= start < stop:
        raise ValueError(f"{name}=({start}, {stop}) must satisfy 0 <= start < stop (a half-open window)")
    return start, stop


def validate_data_config(cfg, grid: tuple[int, int] | None = None) -> None:
    """Check every field of a data config; raise ValueError (PermissionError for an un-opted-in pickle format)
    naming the value, what was expected and what to do. Reads no file. Call before any long work.

    `grid`: the velocity grid (nx, ny) the files will have (e.g. the simulator preset's), to check the crop
    window against it before generating data; without it the window is checked when the first file is read.
    """
    fmt = _get(cfg, "format")
    if fmt not in io.FORMATS:
        raise ValueError(f"unknown data format {fmt!r}; expected one of {io.FORMATS}")
    if not isinstance(_get(cfg, "trust_pickle"), bool):
        raise ValueError(f"trust_pickle={cfg['trust_pickle']!r} must be True or False")  # noqa: TRY004
    if fmt == "course" and not cfg["trust_pickle"]:
        src = io.data_path(_get(cfg, "dir"), _get(cfg, "reynolds")[0], "course") if cfg["reynolds"] else "FILES"
        raise PermissionError(
            "format='course' reads the course's original files, but " + io.PICKLE_HINT.format(src=src)
        )
    for name, allowed in (("vorticity", SCHEMES), ("target", TARGETS), ("split", SPLITS)):
        if _get(cfg, name) not in allowed:
            raise ValueError(f"unknown {name} {cfg[name]!r}; expected one of {allowed}")
    reynolds = _get(cfg, "reynolds")
    if (
        not isinstance(reynolds, Sequence)
        or len(reynolds) < 1
        or not all(isinstance(r, (int, float, np.integer, np.floating)) and not isinstance(r, bool) and r > 0
                   for r in reynolds)
    ):
        raise ValueError(f"reynolds={reynolds!r} must be a non-empty sequence of positive numbers")
    if len({float(r) for r in reynolds}) != len(reynolds):
        raise ValueError(f"reynolds={tuple(reynolds)} contains duplicates; list each Reynolds number once")
    _positive_int(_get(cfg, "sample_every_steps"), "sample_every_steps")
    x0, x1 = _window(_get(cfg, "crop_x"), "crop_x")
    y0, y1 = _window(_get(cfg, "crop_y"), "crop_y")
    factor = _positive_int(_get(cfg, "downsample"), "downsample")
    if (x1 - x0) % factor or (y1 - y0) % factor:
        raise ValueError(
            f"downsample={factor} does not divide the crop window {x1 - x0} x {y1 - y0} "
            f"(crop_x={(x0, x1)}, crop_y={(y0, y1)}); choose sides that are multiples of {factor}"
        )
    if grid is not None:
        velocity_window(int(grid[0]), int(grid[1]), crop_x=(x0, x1), crop_y=(y0, y1), scheme=cfg["vorticity"])
    test_fraction = _get(cfg, "test_fraction")
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction={test_fraction!r} must lie strictly between 0 and 1, e.g. 0.2")
    gap = _positive_int(_get(cfg, "gap"), "gap", minimum=0)
    horizon = _positive_int(_get(cfg, "horizon"), "horizon")
    _positive_int(_get(cfg, "seed"), "seed", minimum=0)
    if cfg["split"] == "time" and cfg["target"] == "forecast" and gap < horizon:
        raise ValueError(
            f"gap={gap} < horizon={horizon}: with the 'time' split and target 'forecast' the targets of the last "
            f"training samples would be test inputs; set gap >= horizon"
        )
    if cfg["split"] == "heldout_re":
        heldout = _get(cfg, "heldout")
        if not isinstance(heldout, Sequence) or len(heldout) < 1:
            raise ValueError(f"heldout={heldout!r} must name at least one Reynolds number from {tuple(reynolds)}")
        known = {float(r) for r in reynolds}
        absent = [h for h in heldout if float(h) not in known]
        if absent:
            raise ValueError(
                f"held-out Reynolds number(s) {absent} are not in reynolds={tuple(reynolds)}; "
                f"hold out a subset of these"
            )
        if {float(h) for h in heldout} >= known:
            raise ValueError(
                f"heldout={tuple(heldout)} holds out every Reynolds number in reynolds={tuple(reynolds)}, "
                f"leaving no training data; keep at least one for training"
            )


def missing_files(cfg) -> list[Path]:
    """The data files `build_dataset(cfg)` needs that do not exist (empty when all are there)."""
    return io.missing_data_files(_get(cfg, "dir"), _get(cfg, "reynolds"), _get(cfg, "format"))


def velocity_window(nx: int, ny: int, *, crop_x, crop_y, scheme: str = "central", where: str = ""):
    """The velocity cells that the vorticity crop window needs, and the window relative to them.

    Returns (x, y, local_x, local_y): slices of the velocity grid, and crop_x, crop_y shifted to the block
    velocity[:, x, y]. "course" (forward differences) needs one extra cell after the window; "central" keeps
    up to `_HALO` = 2 cells on each side (clamped at the grid), so the stencil, one-sided at a true grid edge,
    is the same as on the whole grid. Error if the window leaves the scheme's vorticity grid.
    """
    gx, gy = vorticity_grid_shape(nx, ny, scheme)
    grid = f"the {gx}x{gy} {scheme!r} vorticity grid of a {nx}x{ny} velocity grid" + (f" ({where})" if where else "")
    x0, x1 = check_window(crop_x, gx, "crop_x", f" x range [0, {gx}) of {grid}")
    y0, y1 = check_window(crop_y, gy, "crop_y", f" y range [0, {gy}) of {grid}")
    if scheme == "course":
        a, b, c, d = x0, x1 + 1, y0, y1 + 1
    else:
        a, b = max(0, x0 - _HALO), min(nx, x1 + _HALO)
        c, d = max(0, y0 - _HALO), min(ny, y1 + _HALO)
    return slice(a, b), slice(c, d), (x0 - a, x1 - a), (y0 - c, y1 - c)


def wake_vorticity(velocity, *, layout: str = "ux,uy", stride: int = 1, crop_x, crop_y, scheme: str = "central",
                   factor: int = 1, where: str = ""):
    """Velocity (T, nx, ny, 2) -> float32 vorticity images (ceil(T / stride), h, w), cropping before differencing.

    `layout` is "ux,uy" (turbjax) or "-ux,uy" (the course's files). Scheme "course" on "-ux,uy" is the course's
    exact formula; on "ux,uy" the same forward differences (bit-for-bit the same numbers); scheme "central" is
    `vorticity(., dx=1)`. The crop window is on the vorticity grid of the scheme (course: (nx - 1, ny - 1)).
    The result equals differencing the whole grid and cropping afterwards, bit for bit.
    """
    if layout not in ("ux,uy", "-ux,uy"):
        raise ValueError(f"unknown velocity layout {layout!r}; expected 'ux,uy' or '-ux,uy'")
    _, nx, ny, _ = velocity.shape
    xs, ys, (x0, x1), (y0, y1) = velocity_window(nx, ny, crop_x=crop_x, crop_y=crop_y, scheme=scheme, where=where)
    v = velocity[::stride, xs, ys]
    if scheme == "course":
        omega = vorticity_course(v) if layout == "-ux,uy" else vorticity_forward(v)
    else:
        if layout == "-ux,uy":
            v = np.stack([-v[..., 0], v[..., 1]], axis=-1)
        omega = vorticity(v, dx=1.0)[:, x0:x1, y0:y1]
    return np.asarray(downsample(omega, factor), dtype=np.float32)


def _check_grid(path, shape, grid):
    if grid is not None and shape != grid:
        raise ValueError(
            f"{path} has a {shape[0]}x{shape[1]} grid but the files before it have {grid[0]}x{grid[1]}; "
            f"all Reynolds numbers must share one grid (regenerate with the same preset)"
        )


class _SeriesPlan(NamedTuple):
    path: Path
    reynolds: float
    n_frames: int  # frames in the file
    grid: tuple[int, int]  # velocity grid (nx, ny)
    stride: int  # frames between samples
    layout: str  # "ux,uy" or "-ux,uy"


def _plan_series(path: Path, cfg, reynolds: float, grid: tuple | None) -> _SeriesPlan:
    """Everything about one file that needs only its header: shape, dtype, Re, grid, stride, crop window."""
    if cfg["format"] == "course":
        header = io.course_header(path, trust_pickle=cfg["trust_pickle"])
        shape, dtype, frame_stride, layout = header.shape, header.dtype, io.COURSE_FRAME_STRIDE, "-ux,uy"
    else:
        shape, dtype, meta = io.snapshot_header(path)
        frame_stride, layout = meta["frame_stride"], "ux,uy"
        if not np.isclose(float(meta["reynolds"]), reynolds):
            raise ValueError(
                f"{path} says reynolds={meta['reynolds']:g} but its name is for Re {reynolds:g}; "
                f"regenerate or rename the file"
            )
    io.check_layout(shape, dtype, path)
    t, nx, ny, _ = shape
    if grid is not None and (nx, ny) != grid:
        raise ValueError(
            f"{path} has a {nx}x{ny} grid but the files before it have {grid[0]}x{grid[1]}; "
            f"all Reynolds numbers must share one grid (regenerate with the same preset)"
        )
    velocity_window(nx, ny, crop_x=cfg["crop_x"], crop_y=cfg["crop_y"], scheme=cfg["vorticity"], where=str(path))
    stride = io.frame_stride_for(cfg["sample_every_steps"], frame_stride, path)
    return _SeriesPlan(path, reynolds, t, (nx, ny), stride, layout)


def _read_images(plan: _SeriesPlan, cfg) -> np.ndarray:
    """One file -> float32 images (ceil(n_frames / stride), h, w).

    Course files are streamed: only the kept frames' window cells are ever in memory. turbjax files are read
    whole (float32, 157 MB for a seed file) and dropped before the next file is read.
    """
    kw = {"crop_x": tuple(cfg["crop_x"]), "crop_y": tuple(cfg["crop_y"]), "scheme": cfg["vorticity"],
          "factor": cfg["downsample"], "where": str(plan.path)}
    if cfg["format"] == "course":
        xs, ys, kw["crop_x"], kw["crop_y"] = velocity_window(
            *plan.grid, crop_x=kw["crop_x"], crop_y=kw["crop_y"], scheme=kw["scheme"], where=kw["where"])
        block = io.read_course_frames(plan.path, trust_pickle=True, stride=plan.stride, x=xs, y=ys)
        return wake_vorticity(block, layout=plan.layout, **kw)
    velocity, meta = io.read_velocity(plan.path, "turbjax")
    if velocity.shape[0] != plan.n_frames or meta["frame_stride"] * plan.stride != cfg["sample_every_steps"]:
        raise ValueError(f"{plan.path} changed while the data set was being built; run again")
    return wake_vorticity(velocity, layout=plan.layout, stride=plan.stride, **kw)


def build_dataset(cfg) -> Dataset:
    """Validate `cfg`; check every file's header and make the split (errors before any data is read); then read
    one file at a time, preprocess, and gather the samples. See the module docstring."""
    validate_data_config(cfg)
    files = io.find_data_files(cfg["dir"], cfg["reynolds"], cfg["format"])
    classes = tuple(sorted(float(r) for r in cfg["reynolds"]))
    horizon = int(cfg["horizon"]) if cfg["target"] == "forecast" else 0
    plans, grid = [], None
    for r in classes:
        plans.append(_plan_series(files[r], cfg, r, grid))
        grid = plans[-1].grid
    # Samples: per series, frames 0, stride, 2 stride, ...; for a forecast the last `horizon` have no target.
    res, frames, labels, offsets = [], [], [], [0]
    for label, plan in enumerate(plans):
        series = np.arange(0, plan.n_frames, plan.stride, dtype=np.int64)
        if series.size <= horizon:
            raise ValueError(
                f"{plan.path} gives {series.size} samples, too few for forecast horizon={horizon}; "
                f"lower the horizon or sample_every_steps"
            )
        n = series.size - horizon
        frames.append(series[:n])
        res.append(np.full(n, plan.reynolds))
        labels.append(np.full(n, label, np.int32))
        offsets.append(offsets[-1] + n)
    re, frame, label = np.concatenate(res), np.concatenate(frames), np.concatenate(labels)
    split = make_split(
        cfg["split"], re, frame, test_fraction=cfg["test_fraction"], gap=cfg["gap"], heldout=cfg["heldout"],
        seed=cfg["seed"],
    )
    X = y = None
    image_shape = image_shape_for(cfg)
    for k, plan in enumerate(plans):
        x = flatten(_read_images(plan, cfg))
        if X is None:
            X = np.empty((offsets[-1], x.shape[1]), np.float32)
            y = np.empty_like(X) if horizon else re.astype(np.float32)
        X[offsets[k] : offsets[k + 1]] = x[: x.shape[0] - horizon]
        if horizon:
            y[offsets[k] : offsets[k + 1]] = x[horizon:]
    ds = Dataset(
        X_train=X[split.train], X_test=X[split.test],
        y_train=y[split.train], y_test=y[split.test],
        labels_train=label[split.train], labels_test=label[split.test],
        re_train=re[split.train].astype(np.float32), re_test=re[split.test].astype(np.float32),
        frame_train=frame[split.train], frame_test=frame[split.test],
        classes=classes, image_shape=image_shape, target=cfg["target"], split=cfg["split"],
        dropped=int(split.dropped),
    )
    log.info("data set: %s", ds.summary())
    return ds


def image_shape_for(cfg) -> tuple[int, int]:
    """(h, w) of one sample, from the config alone: the crop window divided by the downsample factor."""
    (x0, x1), (y0, y1), f = cfg["crop_x"], cfg["crop_y"], int(cfg["downsample"])
    return int(x1 - x0) // f, int(y1 - y0) // f
