"""The one road from a config to prepared data and a trainer, used by every job and script.

    turbjax.configs.validate.validate_config(config)   # first: before any data is generated or loaded
    ensure_data(config.data)           # the simulator fills a missing data directory
    prep = prepare(config)             # Dataset + standardized device arrays + training statistics + classes
    trainer = trainer_for(config, prep)

Scoring a run (on its own data or any other) is `turbjax.scoring`; what a run reports, `turbjax.results`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np
from ml_collections import config_dict

from turbjax.configs.validate import check_batch_size
from turbjax.data import discovery
from turbjax.data.dataset import Dataset, build_dataset, missing_files
from turbjax.data.labels import binary_labels, class_labels
from turbjax.data.readers import SIMULATOR_FORMAT
from turbjax.data.standardize import Standardizer, fit_standardizer, standardize, target_to_model
from turbjax.models import model_task
from turbjax.training.augment import mirror, parse_augment
from turbjax.training.loop import Trainer, log_target_of, make_train

PARTS = ("train", "val", "test")


class Prepared(NamedTuple):
    """A data set ready for the training core."""

    ds: Dataset
    data: dict  # device arrays: X_ and y_ of train, val, test (+ y_mean, y_scale for a regression)
    stats: dict  # standardization statistics (x_mean, x_scale, + y_mean, y_scale), numpy
    classes: tuple[float, ...]  # the model's Reynolds numbers (its training data's)


def ensure_data(data_config) -> None:
    """Generate missing data files with the built-in simulator (and say so)."""
    _ensure_ensemble(data_config)
    missing = missing_files(data_config)
    if not missing:
        return
    if data_config.format != SIMULATOR_FORMAT:
        raise FileNotFoundError(
            f"missing data files {[str(p) for p in missing]}; the simulator writes only "
            f"format={SIMULATOR_FORMAT!r} files: set --config.data.format={SIMULATOR_FORMAT} or copy the "
            f"files there"
        )
    try:
        from turbjax.simulate import generate  # heavy; imported only when data must be generated
    except ImportError as e:
        raise FileNotFoundError(
            f"missing data files {[str(p) for p in missing]} and the built-in simulator cannot be imported "
            f"({e}); copy the data files into {data_config.dir} or install turbjax completely"
        ) from e

    d = data_config
    jobs = [(d.dir, d.reynolds, d.realizations, d.preset)]
    if d.split == "external":  # the test directory: plain seed-preset runs
        jobs.append((d.test_dir, d.test_reynolds, d.test_realizations, "seed"))
    for directory, reynolds, ks, preset in jobs:
        # only the runs the directory lacks: the others stay as they are (a member's flow does not depend on
        # which members share its batch)
        todo = discovery.missing_series(directory, reynolds, SIMULATOR_FORMAT, ks)
        if not todo:
            continue
        todo_re = sorted({r for r, _ in todo})
        runs = f"{len(todo)} runs of realizations 0-{max(ks)}" if ks else "plain runs"
        print(
            f"turbjax: no data for Re {todo_re} ({runs}) in {directory}; generating it with the built-in "
            f"lattice Boltzmann simulator (preset {preset!r}); it is cached there for later runs",
            flush=True,
        )
        generate(todo_re, directory, preset=preset, realizations=max(ks) + 1 if ks else 0, progress=True,
                 only=todo if ks else None)


def _ensure_ensemble(data_config) -> None:
    """data.reynolds=() with realizations and an ensemble preset: an empty data.dir gets the whole preset."""
    d = data_config
    if d.reynolds or not d.realizations or d.format != SIMULATOR_FORMAT:
        return
    from turbjax.simulate import PRESETS, generate  # heavy; imported only when data must be generated

    p = PRESETS.get(d.preset)
    if p is None or not p.reynolds or (Path(d.dir).is_dir() and discovery.available_series(d.dir, d.format)):
        return
    print(f"turbjax: {d.dir} holds no data; generating the {d.preset!r} ensemble there with the built-in "
          f"simulator ({len(p.reynolds)} Re x {p.realizations} realizations; minutes)", flush=True)
    generate(list(p.reynolds), d.dir, preset=d.preset, progress=True)


def data_config_for_training(config):
    """config.data as the data set must be built for this training config: with `training.shift` = s the
    crop window is widened by s cells on both sides along x (the trainer crops the model's window from it)."""
    _, shift = parse_augment(config.training)
    if not shift:
        return config.data
    d = config_dict.ConfigDict(config.data.to_dict())
    x0, x1 = config.data.crop_x
    d.crop_x = (int(x0) - shift, int(x1) + shift)
    return d


def prepare_arrays(ds: Dataset, config, stats: dict | None = None, classes=None) -> tuple[dict, dict]:
    """Dataset -> (device arrays for the training core, standardization stats as numpy arrays).

    X is standardized per feature with training-set statistics (or the given `stats`); regression targets
    are standardized per component (y_mean / y_scale ride along to report metrics in original units; with
    data.log_target they are the statistics of log y); classification targets are class indices (softmax)
    or 0/1 (binary, Re > median of the classes). `classes`: the model's Reynolds numbers when scoring on
    other data (default ds.classes)."""
    task = model_task(config.model)
    log_target = log_target_of(config)
    if stats is None:
        stats = fit_statistics(ds, config, task, log_target)
    sx = Standardizer(mean=stats["x_mean"], scale=stats["x_scale"])
    data = {f"X_{side}": jnp.asarray(standardize(getattr(ds, side).X, sx), jnp.float32) for side in PARTS}
    for side in PARTS:
        part = getattr(ds, side)
        if task == "regression":
            y = target_to_model(part.y.reshape(len(part.y), -1), log_target)
            y = standardize(y, Standardizer(mean=stats["y_mean"], scale=stats["y_scale"]))
        elif task == "binary":
            y = binary_labels(part.re, classes or ds.classes)
        else:
            y = part.labels if classes is None else class_labels(part.re, classes)
        data[f"y_{side}"] = jnp.asarray(y, jnp.float32 if task == "regression" else jnp.int32)
    if task == "regression":
        data["y_mean"] = jnp.asarray(stats["y_mean"], jnp.float32).reshape(-1)
        data["y_scale"] = jnp.asarray(stats["y_scale"], jnp.float32).reshape(-1)
    return data, stats


def fit_statistics(ds: Dataset, config, task: str, log_target: bool) -> dict:
    """Standardization statistics of the training set: of X per feature, and of the (log) target."""
    x_fit = ds.train.X
    if "mirror" in parse_augment(config.training)[0]:
        # fitted on the training set and its mirror image, the mean is antisymmetric and the scale symmetric
        # under the mirror, so standardizing commutes with it: the augmentation stays an exact symmetry of the
        # standardized inputs
        x_fit = np.concatenate([x_fit, np.asarray(mirror(x_fit, ds.image_shape))])
    sx = fit_standardizer(x_fit)
    stats = {"x_mean": np.asarray(sx.mean), "x_scale": np.asarray(sx.scale)}
    if task == "regression":
        y = ds.train.y
        sy = fit_standardizer(target_to_model(y.reshape(len(y), -1), log_target))
        stats |= {"y_mean": np.asarray(sy.mean), "y_scale": np.asarray(sy.scale)}
    return stats


def prepare(config, stats: dict | None = None, *, classes=None,
            every_sample_as_test: bool = False) -> Prepared:
    """Build the data set of config.data (widened for training.shift), standardize it and encode its targets.

    For training (no `stats`): the statistics are fitted on the training set and the batch size is checked
    against it. For scoring a trained run: `stats` (its standardizer.npz), `classes` (its Reynolds numbers)
    and, with `every_sample_as_test`, every sample of the data as the test set (nothing is trained)."""
    ds = build_dataset(data_config_for_training(config))
    if every_sample_as_test:
        ds = ds.every_sample_as_test()
    if stats is None:
        check_batch_size(config, len(ds.train.X))
    data, stats = prepare_arrays(ds, config, stats, classes=classes)
    return Prepared(ds, data, stats, tuple(ds.classes if classes is None else classes))


def trainer_for(config, prep: Prepared) -> Trainer:
    """The training core (turbjax.training.loop.make_train) for this config and prepared data set."""
    return make_train(config, prep.data, image_shape=prep.ds.image_shape, num_classes=len(prep.classes))
