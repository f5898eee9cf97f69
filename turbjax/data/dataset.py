"""Build the train/test data set from a data config (see `configs/default.get_data_config`).

    validate_data_config(cfg)      # turbjax.data.config: every name and number first; raises ValueError
    missing_files(cfg)             # files the train job would have to generate first
    ds = build_dataset(cfg)        # Dataset(train=Subset(X, y, ...), test=Subset(...), classes, ...)

First the files are listed (every Reynolds number found in `dir` for reynolds=(); the plain files, or the
ensemble's `_r{k}` files for `realizations`), every file's header is checked (shape, dtype, Reynolds number,
realization, common grid, frame stride, crop window inside the stored window) and the split is made from the
sample metadata, so configuration errors and damaged files are found before any data is read. Then, one file
at a time: keep every `stride`-th frame and only the cells the crop window needs (plus a halo for the
difference stencil; the course's pickles are streamed, so nothing else is ever in memory), compute the
vorticity in lattice units (dx = 1 cell), crop, downsample, compute the features (`data.features`), cast to
float32, and drop the file's array before the next. Cropping before differencing gives bit-for-bit the numbers
of differencing the whole grid and cropping afterwards.

`gap` (time split, with gap_unit "samples") and `horizon` (forecast target) count samples, i.e. frames after
the time stride.

With the defaults (course files or turbjax seed files, sample_every_steps=10, crop (160, 224) x (32, 96)) the
data set is the course's: 4 x 600 = 2400 samples of 64 x 64 = 4096 features, 1920 train / 480 test.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail
from turbjax.data import discovery
from turbjax.data.features import feature_shape
from turbjax.data.readers import SIMULATOR_FORMAT
from turbjax.data.series import plan_series, read_images, series_inputs
from turbjax.data.splits import make_split, time_split, with_validation
from turbjax.data.transforms import unflatten

__all__ = ["Dataset", "Subset", "build_dataset", "image_shape_for", "missing_files"]

log = logging.getLogger(__name__)


class Subset(NamedTuple):
    """The samples of one side of the split (numpy, host memory), row i of every field is sample i.

    X            float32 (N, features): flattened, unstandardized features (row-major, y fastest)
    y            float32 (N,) Reynolds numbers for target "reynolds"; float32 (N, features) for target
                 "forecast" (the flattened vorticity `horizon` samples later in the same series)
    labels       int32 (N,) index of the sample's Reynolds number in `Dataset.classes` (for classification)
    re           float32 (N,) the sample's Reynolds number (also for target "forecast")
    frame        int64 (N,) index of the sample's frame in its file (before the time stride)
    realization  int64 (N,) the file's realization (-1: a plain run)
    step         int64 (N,) the simulation step of the sample's frame
    period       float64 (N,) the shedding period of the sample's run in simulation steps (NaN: unknown)
    series       int64 (N,) which file (run) the sample comes from: clips are consecutive samples of one
                 series
    source       int64 (N,) which directory of the data config the sample's file is in (0: data.dir; then
                 test_dir, or the variant, validation and test directories: dataset._sources' order)
    """

    X: np.ndarray
    y: np.ndarray
    labels: np.ndarray
    re: np.ndarray
    frame: np.ndarray
    realization: np.ndarray
    step: np.ndarray
    period: np.ndarray
    series: np.ndarray
    source: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test subsets, like the course's data set object (plus validation).

    train, val, test  Subset (X, y, labels, re, frame, realization, step, period, series); validation is
                 carved from the training side, as novel relative to training as the test part (see
                 turbjax.data.splits), and is what every choice (checkpoint, stopping, hyperparameters,
                 calibration) looks at
    classes      sorted tuple of the Reynolds numbers in the data (the held-out / test-only ones included)
    image_shape  (h, w) of one sample's features; `reshape(X)` turns (N, h*w) back into (N, h, w)
    dropped      samples in no part (the gaps of the time splits), reported, never silent
    description  one line: what the split's test and validation parts test

    `len(ds)` is the number of training samples and `ds[i]` is the training pair (train.X[i], train.y[i]);
    i may be an int, a slice or an index array (a minibatch).
    """

    train: Subset
    val: Subset
    test: Subset
    classes: tuple[float, ...]
    image_shape: tuple[int, int]
    target: str = "reynolds"
    split: str = "random"
    dropped: int = 0
    features: str = "pixels"
    description: str = ""

    def reshape(self, X):
        """(N, h*w) -> (N, h, w) images (or (h*w,) -> (h, w))."""
        return unflatten(X, self.image_shape)

    def __len__(self) -> int:
        return int(self.train.X.shape[0])

    def __getitem__(self, index):
        return self.train.X[index], self.train.y[index]

    @property
    def n_features(self) -> int:
        return int(self.train.X.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def every_sample_as_test(self) -> Dataset:
        """The data set with every sample (all parts, in (Re, realization, frame) order) as its test set, for
        scoring a trained model on all of it; the train and validation parts are kept as they are (the
        training core needs them to build; they are not scored)."""
        parts = (self.train, self.val, self.test)
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in Subset._fields}
        order = np.lexsort((joined["frame"], joined["realization"], joined["re"]))
        test = Subset(**{f: v[order] for f, v in joined.items()})
        return dataclasses.replace(self, test=test, split="all")

    def summary(self) -> str:
        h, w = self.image_shape
        text = (
            f"{len(self.train.X)} train / {len(self.val.X)} validation / {len(self.test.X)} test samples of "
            f"{h}x{w} = {self.n_features} "
            f"features ({self.features}), Re {list(self.classes)}, split {self.split!r}, target "
            f"{self.target!r}"
        )
        if self.dropped:
            text += f", {self.dropped} samples dropped in the gaps between the parts"
        return text + (f"; tests: {self.description}" if self.description else "")


def image_shape_for(cfg) -> tuple[int, int]:
    """(h, w) of one sample's features, from the config alone: the crop window divided by the downsample
    factor, then the shape of the chosen features (one more column with data.resolution_input)."""
    (x0, x1), (y0, y1), f = cfg["crop_x"], cfg["crop_y"], int(cfg["downsample"])
    h, w = feature_shape(cfg["features"], (int(x1 - x0) // f, int(y1 - y0) // f))
    return (h, w + 1) if cfg.get("resolution_input", False) else (h, w)


class _Source(NamedTuple):
    directory: Path
    fmt: str
    reynolds: tuple | None  # None: every Reynolds number found
    realizations: tuple | None  # None: every file found (plain runs and realizations) at `reynolds`
    exclude: tuple
    role: str = "train"  # the part its samples may go to: "train" (or validation), "val" or "test"


def _sources(cfg) -> list[_Source]:
    """data.dir first, then (split "external") test_dir, or (split "numerics") the variant, validation and
    test directories, each with the role its samples can have."""
    train = _Source(Path(cfg["dir"]), cfg["format"], tuple(cfg["reynolds"]) or None,
                    None if cfg["every_file"] else tuple(cfg["realizations"]),
                    tuple(float(r) for r in cfg["exclude_reynolds"]))
    if cfg["split"] == "external":
        test = _Source(Path(cfg["test_dir"]), SIMULATOR_FORMAT, tuple(cfg["test_reynolds"]) or None,
                       tuple(cfg["test_realizations"]), (), "test")
        return [train, test]
    if cfg["split"] == "numerics":  # every file of a variant's directory (plain runs and realizations)
        return [train] + [_Source(Path(d), SIMULATOR_FORMAT, None, None, (), role)
                          for field, role in (("variant_dirs", "train"), ("val_dirs", "val"),
                                              ("test_dirs", "test"))
                          for d in cfg[field]]
    return [train]


def source_config(cfg, source: _Source):
    """The data config as it applies to one source: a test directory (split "external", "numerics") may be
    sampled at its own spacing (test_sample_every_steps; 0: the same as the training data), e.g. every frame
    of the seed files (10 steps) against an ensemble recorded every 120 steps."""
    every = int(cfg.get("test_sample_every_steps", 0) or 0)
    if source.role != "test" or every == 0:
        return cfg
    out = dict(cfg.items())
    out["sample_every_steps"] = every
    return out


def _source_files(src: _Source) -> dict:
    """{(Re, realization): path} of one source; every Re found when src.reynolds is None, every file found
    (at src.reynolds, if given) when src.realizations is None."""
    if (src.reynolds is None or src.realizations is None) and not src.directory.is_dir():
        discovery.find_data_files(src.directory, (), src.fmt)  # the missing-directory error
    if src.realizations is None:
        found = {(r, k): discovery.data_path(src.directory, r, src.fmt, k)
                 for r, k in discovery.available_series(src.directory, src.fmt)
                 if r not in src.exclude and (src.reynolds is None or r in src.reynolds)}
        absent = sorted(set(src.reynolds or ()) - {r for r, _ in found})
        if not found or absent:
            what = f"data file at Reynolds number(s) {absent}" if absent else "data files"
            fail(f"{src.directory} holds no {src.fmt!r} {what}; "
                 f"{discovery.GENERATE_HINT.format(dir=src.directory)}")
        return found
    reynolds = src.reynolds
    if reynolds is None:
        reynolds = discovery.available_reynolds(src.directory, src.fmt, src.realizations)
    reynolds = [float(r) for r in reynolds if float(r) not in src.exclude]
    if not reynolds:
        fail(f"no {src.fmt!r} data files for realizations={src.realizations} in {src.directory} (after "
             f"excluding {list(src.exclude)}); {discovery.GENERATE_HINT.format(dir=src.directory)}")
    return discovery.find_data_files(src.directory, sorted(reynolds), src.fmt, src.realizations)


def missing_files(cfg) -> list[Path]:
    """The data files `build_dataset(cfg)` needs that do not exist (empty when all are there; for
    reynolds=() nothing specific is missing: `build_dataset` says so if no file is found; for every file of a
    directory at given Reynolds numbers, the plain file of each Re that has no file at all)."""
    out = []
    for src in _sources(cfg):
        if src.reynolds is None:
            continue
        keep = [r for r in src.reynolds if float(r) not in src.exclude]
        if src.realizations is None:
            found = {r for r, _ in discovery.available_series(src.directory, src.fmt)} \
                if src.directory.is_dir() else set()
            out += [discovery.data_path(src.directory, r, src.fmt) for r in keep if float(r) not in found]
        else:
            out += discovery.missing_data_files(src.directory, keep, src.fmt, src.realizations)
    return out


class _Samples(NamedTuple):
    plans: list  # SeriesPlan per series, in order
    sources: list  # _Source per series
    offsets: list  # first sample of each series
    re: np.ndarray
    realization: np.ndarray
    frame: np.ndarray
    step: np.ndarray
    group: np.ndarray  # series index
    source: np.ndarray  # index of the series' source in _sources(cfg)
    role: np.ndarray  # its source's role


def _plan(cfg) -> _Samples:
    need_period = cfg["gap_unit"] == "periods" and (cfg["split"] == "time" or cfg["heldout_time"])
    plans, sources, index, grid = [], [], [], None
    for s, src in enumerate(_sources(cfg)):
        for (r, k), path in _source_files(src).items():
            plan = plan_series(path, source_config(cfg, src), r, k, src.fmt, need_period)
            # data.units "flow" reads every file onto the reference grid's nodes, and each plan has checked
            # that its file covers the crop window: their extents may differ (a coarser file ends earlier)
            if grid is not None and plan.grid != grid and cfg["units"] != "flow":
                fail(f"{path} has a {plan.grid[0]}x{plan.grid[1]} grid but the files before it have "
                     f"{grid[0]}x{grid[1]}; all files must share one grid (regenerate with the same preset, "
                     "or set data.units='flow': one reference grid for every file)")
            grid = plan.grid
            plans.append(plan)
            sources.append(src)
            index.append(s)
    horizon = int(cfg["horizon"]) if cfg["target"] == "forecast" else 0
    cols = {k: [] for k in ("re", "realization", "frame", "step", "group", "source", "role")}
    offsets = [0]
    for g, plan in enumerate(plans):
        series = np.arange(0, plan.n_frames, plan.stride, dtype=np.int64)
        if series.size <= horizon:
            fail(f"{plan.path} gives {series.size} samples, too few for forecast horizon={horizon}; "
                 f"lower the horizon or sample_every_steps")
        frames = series[: series.size - horizon]  # for a forecast the last `horizon` samples have no target
        n = frames.size
        cols["frame"].append(frames)
        cols["step"].append(plan.first_step + frames * plan.frame_stride)
        for name, value in (("re", plan.reynolds), ("realization", plan.realization), ("group", g),
                            ("source", index[g]), ("role", sources[g].role)):
            cols[name].append(np.full(n, value))
        offsets.append(offsets[-1] + n)
    arrays = {k: np.concatenate(v) for k, v in cols.items()}
    step = np.rint(arrays["step"]).astype(np.int64)  # the reference clock's steps may be fractional
    return _Samples(plans, sources, offsets, arrays["re"].astype(np.float64),
                    arrays["realization"].astype(np.int64), arrays["frame"], step,
                    arrays["group"], arrays["source"], arrays["role"])


def _split(cfg, s: _Samples):
    """The split of the samples, and the one line saying what it tests."""
    unit, gap = cfg["gap_unit"], cfg["gap"]
    position, separation = s.frame, None
    if unit != "samples":
        position = s.step
        periods = np.array([p.period_steps for p in s.plans])
        separation = float(gap) if unit == "steps" else float(gap) * periods[s.group]
    name = cfg["split"]
    split = make_split(
        name, s.re, position, test_fraction=cfg["test_fraction"], gap=gap, heldout=cfg["heldout"],
        seed=cfg["seed"], separation=separation, group=s.group, realization=s.realization,
        train_realizations=cfg["train_realizations"], heldout_time=cfg["heldout_time"], source=s.source,
        role=s.role, val_every=cfg["val_every"],
    )
    time = None
    if name == "heldout_re" and cfg["heldout_time"]:
        time = time_split(s.re, position, cfg["test_fraction"], gap, separation=separation, group=s.group)
    split = with_validation(
        name, split, s.re, position, val_fraction=cfg["val_fraction"], gap=gap,
        separation=separation, group=s.group, realization=s.realization,
        val_realizations=cfg["val_realizations"], val_every=cfg["val_every"],
        heldout_time=cfg["heldout_time"], time=time,
    )
    return split, describe_split(cfg, s, split) + "; validation: " + describe_validation(cfg, s, split)


def describe_split(cfg, s: _Samples, split) -> str:
    """One line: what the split's test set measures."""
    name, frac = cfg["split"], cfg["test_fraction"]
    gap = f"{cfg['gap']} {cfg['gap_unit']}"
    if cfg["gap_unit"] == "periods":
        steps = [p.period_steps for p in s.plans]
        gap += f" (periods of {min(steps):.0f}-{max(steps):.0f} steps)"
    test_re = sorted(set(s.re[split.test].tolist()))
    if name == "random":
        return (f"random {frac:g} of all frames: interpolation in time "
                "(test frames have near-twins in training)")
    if name == "time":
        return f"the last {frac:g} of each series, after a gap of {gap}: later frames of the same runs"
    if name == "realization":
        test_k = sorted(set(s.realization[split.test].tolist()))
        return (f"independent realizations {test_k} (trained on "
                f"{sorted(int(k) for k in cfg['train_realizations'])}) at the same Reynolds numbers")
    if name == "heldout_re":
        late = f", only their last {frac:g} after a gap of {gap} (training on the others' early frames)"
        return f"Reynolds numbers {test_re} never seen in training" + (late if cfg["heldout_time"] else "")
    train_re = sorted(set(s.re[split.train].tolist()))
    if name == "numerics":
        return (f"numerical variants {list(cfg['test_dirs'])} never trained on, at Reynolds numbers "
                f"{test_re} never trained on (trained on {[cfg['dir'], *cfg['variant_dirs']]}, Re "
                f"{train_re[0]:g}-{train_re[-1]:g}, {len(train_re)} values)")
    return (f"every frame of {cfg['test_dir']} (Re {test_re}), trained on {cfg['dir']} (Re {train_re[0]:g}-"
            f"{train_re[-1]:g}, {len(train_re)} values, without "
            f"{sorted(float(r) for r in cfg['exclude_reynolds'])})")


def describe_validation(cfg, s: _Samples, split) -> str:
    """One line: what the validation part measures (as novel relative to training as the test part)."""
    name = cfg["split"]
    if name == "random":
        return f"random {cfg['val_fraction']:g} of the training side"
    if name == "time":
        return (f"the last {cfg['val_fraction']:g} of each series' training side, after the same gap: a "
                "later window than training, before the test window")
    if name == "realization":
        return f"independent realizations {sorted(int(k) for k in cfg['val_realizations'])}"
    val_re = sorted(set(s.re[split.val].tolist()))
    if name == "numerics":
        return f"variants {list(cfg['val_dirs'])} at training Reynolds numbers {val_re} held out"
    late = " (their late window)" if name == "heldout_re" and cfg["heldout_time"] else ""
    return f"training Reynolds numbers {val_re} held out{late}"


def _gather(cfg, s: _Samples):
    """Read each file once, in order, into the (X, y) arrays of all samples."""
    horizon = int(cfg["horizon"]) if cfg["target"] == "forecast" else 0
    X = y = None
    for k, plan in enumerate(s.plans):
        images = read_images(plan, source_config(cfg, s.sources[k]), s.sources[k].fmt)
        x = series_inputs(images, plan, cfg)
        if X is None:
            X = np.empty((s.offsets[-1], x.shape[1]), np.float32)
            y = np.empty_like(X) if horizon else s.re.astype(np.float32)
        X[s.offsets[k] : s.offsets[k + 1]] = x[: x.shape[0] - horizon]
        if horizon:
            y[s.offsets[k] : s.offsets[k + 1]] = x[horizon:]
    return X, y


def build_dataset(cfg) -> Dataset:
    """List the files, check every header and make the split (errors before any data is read); then read
    one file at a time, preprocess, and gather the samples. `cfg` is trusted to have passed
    `validate_data_config` (the pipeline checks the whole config first). See the module docstring."""
    s = _plan(cfg)
    split, description = _split(cfg, s)
    X, y = _gather(cfg, s)
    classes = tuple(sorted(set(s.re.tolist())))
    labels = np.searchsorted(np.asarray(classes), s.re).astype(np.int32)

    def subset(idx) -> Subset:
        return Subset(X=X[idx], y=y[idx], labels=labels[idx], re=s.re[idx].astype(np.float32),
                      frame=s.frame[idx], realization=s.realization[idx], step=s.step[idx],
                      period=periods[s.group[idx]], series=s.group[idx].astype(np.int64),
                      source=s.source[idx].astype(np.int64))

    periods = np.array([p.period_steps for p in s.plans], np.float64)
    ds = Dataset(train=subset(split.train), val=subset(split.val), test=subset(split.test), classes=classes,
                 image_shape=image_shape_for(cfg), target=cfg["target"], split=cfg["split"],
                 dropped=int(split.dropped), features=cfg["features"], description=description)
    log.info("data set: %s", ds.summary())
    return ds
