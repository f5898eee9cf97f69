"""Reynolds-number estimates of anyone's files: a trained model (the shipped one, or a training workdir), the
features of every frame of a run, per-frame and per-clip estimates with their calibrated 90% intervals, and
whether the run lies outside what the model learned from.

    model = load_model()                          # the pretrained model in the package (turbjax/pretrained)
    model = load_model("runs/generalize")         # or a training workdir (its best checkpoint)
    est = estimate_run(model, "flow.nc")          # RunEstimate: reynolds, low, high, frames, clips, ...

Every file is read onto the reference grid in the flow's scales (data.units = "flow", turbjax.data.units),
so files of any grid spacing and unit system go through the model's own features. A run's estimate is the
geometric mean of its frames' estimates; its interval is the one calibrated for clips of one shedding period
(the validation clips' residuals; the frames' where the model has no clip calibration; for an ensemble scaled
by the median spread of the run's one-period clips), which a run longer than a period only narrows: it is
conservative for long runs. A run whose features lie outside the training
distribution (turbjax.novelty) gets no interval: its estimate is an extrapolation.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from turbjax.calibration import (
    Calibration,
    clip_estimates,
    clip_labels,
    clip_spread,
    interval,
    member_log_re,
    member_spread,
)
from turbjax.checks import fail
from turbjax.data import discovery, readers, units
from turbjax.data.series import frame_spacing, plan_series, read_images, series_inputs
from turbjax.data.standardize import Standardizer, standardize, target_from_model
from turbjax.models import model_task
from turbjax.novelty import Novelty
from turbjax.training.loop import make_train

PRETRAINED = Path(__file__).resolve().parent / "pretrained"  # the shipped model's files


class Model(NamedTuple):
    """What estimating needs of a trained Reynolds-number regression."""

    config: object  # the run's ConfigDict
    stats: dict  # standardizer: x_mean, x_scale, y_mean, y_scale
    params: object  # the model's parameters (a pytree)
    predict: object  # (params, X standardized) -> standardized outputs, jitted
    calibration: Calibration
    novelty: Novelty | None
    source: str  # where it was loaded from
    predict_members: object = None  # (params, X standardized) -> (M, N, 1): an ensemble's members, jitted


class RunEstimate(NamedTuple):
    file: str
    reynolds: float  # the run's estimate: geometric mean of its frames'
    low: float | None  # its 90% interval (None: out of distribution, or no clip calibration)
    high: float | None
    n_frames: int
    out_of_distribution: bool
    frames: np.ndarray  # (n, 3): estimate, low, high per frame (low/high NaN out of distribution)
    clips: np.ndarray  # (m, 3): estimate, low, high per clip
    clip_steps: float  # the clips' length in steps of the file (NaN: no clips)
    true_reynolds: float  # the file's own label (NaN: none)
    step: np.ndarray  # (n,) the frames' steps


def _trainer(config, n_features: int):
    """The model's predict function, built from its config and the feature count alone."""
    from turbjax.data.dataset import image_shape_for

    data = {"X_train": jnp.zeros((1, n_features), jnp.float32), "y_train": jnp.zeros((1, 1), jnp.float32),
            "y_mean": jnp.zeros((1,), jnp.float32), "y_scale": jnp.ones((1,), jnp.float32)}
    image_shape = image_shape_for(config.data) if config.model.name == "cnn" else None
    return make_train(config, data, image_shape=image_shape, num_classes=0)


def load_model(path: str | os.PathLike | None = None) -> Model:
    """The shipped model (path None: turbjax/pretrained), a directory in its layout (params.npz), or a
    training workdir (its best checkpoint). Refused in one line unless it is a Reynolds-number regression
    with a calibration."""
    from turbjax.workdir import load_run_config, read_calibration, read_novelty, read_standardizer

    path = PRETRAINED if path is None else Path(path)
    config = load_run_config(path)
    if config.data.target != "reynolds" or model_task(config.model) != "regression":
        fail(f"{path} holds a {config.model.name!r} model with target {config.data.target!r}; estimates need "
             "a regression on the Reynolds number")
    calibration = read_calibration(path)
    if calibration is None:
        fail(f"{path} has no calibration.json (trained before intervals existed?); retrain it with "
             "`python -m turbjax.train`")
    stats = read_standardizer(path)
    trainer = _trainer(config, int(np.asarray(stats["x_mean"]).size))
    if (path / "params.npz").exists():
        params = read_params(path / "params.npz")
    else:
        from turbjax.training.checkpoint import Checkpointer
        from turbjax.training.resume import restore_state

        ckpt = Checkpointer(path / "checkpoints", read_only=True)
        step = ckpt.best_step()
        if step is None:
            fail(f"{path}/checkpoints holds no checkpoint to estimate with")
        params = restore_state(trainer, config, ckpt, step)["params"]
        ckpt.close()
    return Model(config, stats, params, jax.jit(trainer.predict), calibration, read_novelty(path), str(path),
                 jax.jit(trainer.predict_members))


def write_params(path: Path, params) -> None:
    """A parameter pytree (nested dicts of arrays) as one .npz, keys joined by '/'; atomic."""
    flat = {"/".join(str(getattr(k, "key", k)) for k in keys): np.asarray(v)
            for keys, v in jax.tree_util.tree_flatten_with_path(params)[0]}
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **flat)
    os.replace(tmp, path)


def read_params(path: Path) -> dict:
    out: dict = {}
    with np.load(path) as f:
        for key in f.files:
            node = out
            *parents, leaf = key.split("/")
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = jnp.asarray(f[key])
    return out


def file_format(path: Path) -> str:
    """The format of one file (discovery.file_format); one line if it is none of the registered ones."""
    fmt = discovery.file_format(path)
    if fmt is None:
        names = ", ".join(f"{r.file_template} ({r.label})" for r in readers.READERS.values())
        fail(f"{path}: not a file of a known format (expected names like {names}); convert it with "
             "`python -m turbjax.data.convert`")
    return fmt


def run_files(paths) -> list[tuple[Path, str]]:
    """(file, format) for each path: a file, or every data file of a directory (sorted). One line if a path
    does not exist or holds no data file."""
    out = []
    for p in (Path(p) for p in paths):
        if p.is_dir():
            found = sorted((q, n) for q in p.iterdir() if q.is_file()
                           for n, r in readers.READERS.items() if r.pattern.match(q.name))
            if not found:
                fail(f"{p} holds no data file of a known format; pass files or a directory of them")
            out += found
        elif p.is_file():
            out.append((p, file_format(p)))
        else:
            fail(f"{p} does not exist; pass data files or directories")
    return out


def run_data_config(model: Model, path: Path, fmt: str, trust_pickle: bool):
    """The model's data config as it applies to one file: every frame, read onto the reference grid."""
    d = dict(model.config.data.items())  # a plain dict: the frame spacing may be fractional
    d.update(format=fmt, trust_pickle=bool(trust_pickle), units="flow", dir=str(path.parent))
    _, _, meta = readers.reader(fmt).header(path, trust_pickle)
    d["sample_every_steps"] = frame_spacing(meta, "flow", path)
    return d, meta


def estimate_run(model: Model, path, fmt: str | None = None, *, trust_pickle: bool = False,
                 clip_steps: float | None = None) -> RunEstimate:
    """Every frame of one file through the model: per-frame and per-clip estimates with their intervals, the
    run's estimate, and the out-of-distribution flag. `clip_steps`: the clips' length in the file's steps
    (default: its shedding period, where the file says it; else the whole run is one clip)."""
    path = Path(path)
    fmt = fmt or file_format(path)
    d, meta = run_data_config(model, path, fmt, trust_pickle)
    label = float(meta["reynolds"])
    plan = plan_series(path, d, label, int(meta["realization"]), fmt, need_period=False)
    images = read_images(plan, d, fmt)
    x = series_inputs(images, plan, d)
    xs = standardize(x, Standardizer(mean=model.stats["x_mean"], scale=model.stats["x_scale"]))
    xs = jnp.asarray(xs, jnp.float32)
    out = np.asarray(model.predict(model.params, xs))
    y_mean, y_scale = np.asarray(model.stats["y_mean"]), np.asarray(model.stats["y_scale"])
    log_target = bool(d["log_target"])
    pred = target_from_model(out, y_mean, y_scale, log_target)[:, 0].astype(np.float64)
    cal = model.calibration
    member_log = None
    if cal.scaled:  # the members' log predictions: the spreads the intervals are scaled by
        z = np.asarray(model.predict_members(model.params, xs))[..., 0]
        member_log = member_log_re(z, y_mean, y_scale, log_target)
    step = plan.first_step + np.arange(0, plan.n_frames, plan.stride) * plan.frame_stride
    ood = model.novelty is not None and model.novelty.outside(xs, span=float(step[-1] - step[0]))
    low, high = interval(pred, cal.offsets(), None if member_log is None else member_spread(member_log))
    if clip_steps is None:
        clip_steps = plan.period_steps if math.isfinite(plan.period_steps) else float(step[-1] - step[0] + 1)
    elif plan.resampling is not None:  # given in the file's steps; the plan counts reference steps
        clip_steps = clip_steps * units.step_scale(meta["units"])
    labels = clip_labels(np.zeros(step.size, np.int64), step, clip_steps)
    whole = np.zeros(pred.size, np.int64)  # the whole run as one clip
    est, _ = clip_estimates(pred, labels)
    c_spread = r_spread = None
    if member_log is not None:
        c_spread = clip_spread(member_log, labels)
        # the run's interval is a clip's (calibrated on one-period clips): scaled by a typical clip's spread,
        # not by the whole run's, which averaging over several periods shrinks more than the run's error
        r_spread = float(np.nanmedian(c_spread)) if c_spread.size else clip_spread(member_log, whole)
    clip_off = cal.offsets(clips=True)
    c_low, c_high = (interval(est, clip_off, c_spread) if clip_off is not None and est.size else
                     (est * np.nan,) * 2)
    run = float(clip_estimates(pred, whole)[0][0])
    # a model calibrated without clips (its validation runs had no known period): the frames' interval, wider
    r_low, r_high = interval(np.array([run]), clip_off if clip_off is not None else cal.offsets(), r_spread)
    if ood:
        low, high, c_low, c_high = (a * np.nan for a in (low, high, c_low, c_high))
    keep = not ood and math.isfinite(r_low[0])
    return RunEstimate(str(path), run, float(r_low[0]) if keep else None, float(r_high[0]) if keep else None,
                       int(pred.size), bool(ood), np.stack([pred, low, high], axis=1),
                       np.stack([est, c_low, c_high], axis=1), float(clip_steps), label, step)
