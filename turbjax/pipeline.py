"""config -> data set -> standardized device arrays -> trainer, and scoring: what every job shares.

The jobs (train, evaluate, sweep) call these in the same order:

    validate_config(config)            # before any data is generated or loaded
    ensure_data(config.data)           # the simulator fills a missing data directory
    prep = prepare(config)             # Dataset + standardized device arrays + training-set statistics
    trainer = make_trainer(config, prep)
    state = init_or_resume(trainer, config, checkpointer)
    score(trainer, params, prep.data, prep.ds, "test")
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from ml_collections import config_dict

from turbjax.checks import fail
from turbjax.configs import schema
from turbjax.data import discovery, snapshots
from turbjax.data.dataset import build_dataset, missing_files, validate_data_config
from turbjax.data.splits import SPLITS
from turbjax.data.standardize import (
    Standardizer,
    fit_standardizer,
    standardize,
    target_from_model,
    target_to_model,
)
from turbjax.models import model_task, validate_model_config
from turbjax.training import metrics as M
from turbjax.training.augment import mirror, parse_augment
from turbjax.training.loop import log_target_of, make_train
from turbjax.training.optimizers import default_hparams, validate_optim_config


def validate_config(config) -> None:
    """Raise ValueError naming the value, what was expected and what to do, for any bad setting. Reads no
    data: run it before anything is generated or loaded.

    Each section is checked by its owner (the field names and the training section by turbjax.configs.schema,
    data by turbjax.data, model by turbjax.models, optim by turbjax.training.optimizers); what is checked here
    spans sections."""
    schema.check_fields(config)
    validate_data_config(config.data)
    validate_model_config(config.model)
    validate_optim_config(config.optim)
    schema.validate_training_config(config.training)
    check_sections_agree(config)


def check_sections_agree(config) -> None:
    """Rules between sections: the target against the model, and a target that varies (for training)."""
    d, m = config.data, config.model
    if d.target == "forecast" and m.name == "logistic":
        fail("config.data.target='forecast' is a regression target; use model.name linear, mlp or cnn")
    if d.target != "reynolds":
        return
    if d.log_target and model_task(m) != "regression":
        fail(
            f"config.data.log_target=True regresses log Re, but model.name={m.name!r} is a classifier; use "
            f"model.name linear, mlp or cnn, or --config.data.log_target=False"
        )
    augment, shift = parse_augment(config.training)
    if (augment or shift) and d.features != "pixels":
        fail(
            f"config.training.augment={tuple(augment)} (shift {shift}) transforms images, but "
            f"config.data.features={d.features!r} are spectra (already invariant to shifts and the mirror); "
            f"use --config.data.features=pixels or --config.training.augment='()' --config.training.shift=0"
        )
    if m.name == "cnn" and d.features not in ("pixels", "fft2"):
        fail(
            f"config.data.features={d.features!r} gives a 1 x n row per sample, not an image: the cnn needs "
            f"features 'pixels' or 'fft2'; use --config.model.name=mlp for {d.features!r}"
        )
    heldout = {float(h) for h in d.heldout} if d.split == "heldout_re" else set()
    train_re = sorted({float(r) for r in d.reynolds} - heldout)
    if len(train_re) == 1:
        what = (
            "a regression on it has an undefined R^2 (its targets do not vary) and learns only a constant"
            if model_task(m) == "regression" else "a classifier needs at least two classes"
        )
        fail(
            f"config.data.reynolds={tuple(d.reynolds)} leaves a single Reynolds number, {train_re[0]:g}, to "
            f"train on ({'split heldout_re holds out the others' if heldout else 'only one given'}): {what}; "
            f"give at least two, e.g. --config.data.reynolds='(300.0, 600.0)'"
        )


def check_batch_size(config, num_train: int) -> None:
    if config.optim.name != "lbfgs" and config.training.batch_size > num_train:
        fail(
            f"config.training.batch_size={config.training.batch_size} is larger than the training set "
            f"({num_train} samples); use --config.training.batch_size={num_train} or less"
        )


def ensure_data(data_config) -> None:
    """Generate missing data files with the built-in simulator (and say so)."""
    _ensure_ensemble(data_config)
    missing = missing_files(data_config)
    if not missing:
        return
    if data_config.format != "turbjax":
        raise FileNotFoundError(
            f"missing data files {[str(p) for p in missing]}; the simulator writes only format='turbjax' "
            f"files: set --config.data.format=turbjax or copy the course's files there"
        )
    try:
        from turbjax.simulate import generate  # heavy; imported only when data must be generated
    except ImportError as e:
        raise FileNotFoundError(
            f"missing data files {[str(p) for p in missing]} and the built-in simulator cannot be imported "
            f"({e}); copy the data files into {data_config.dir} or install turbjax completely"
        ) from e

    present = {p.name for p in missing}
    jobs = [(data_config.dir, data_config.reynolds, data_config.preset)]
    if data_config.split == "external":  # the test directory: plain seed-preset runs
        jobs.append((data_config.test_dir, data_config.test_reynolds, "seed"))
    for directory, reynolds, preset in jobs:
        todo = [r for r in reynolds if snapshots.snapshot_path(directory, r).name in present]
        if not todo:
            continue
        print(
            f"turbjax: no data for Re {list(todo)} in {directory}; generating it with the built-in "
            f"lattice Boltzmann simulator (preset {preset!r}); it is cached there for later runs",
            flush=True,
        )
        generate(list(todo), directory, preset=preset, progress=True)


def _ensure_ensemble(data_config) -> None:
    """data.reynolds=() with realizations and an ensemble preset: an empty data.dir gets the whole preset."""
    d = data_config
    if d.reynolds or not d.realizations or d.format != "turbjax":
        return
    from turbjax.simulate import PRESETS, generate  # heavy; imported only when data must be generated

    p = PRESETS.get(d.preset)
    if p is None or not p.reynolds or (Path(d.dir).is_dir() and discovery.available_series(d.dir, d.format)):
        return
    print(f"turbjax: {d.dir} holds no data; generating the {d.preset!r} ensemble there with the built-in "
          f"simulator ({len(p.reynolds)} Re x {p.realizations} realizations; minutes)", flush=True)
    generate(list(p.reynolds), d.dir, preset=d.preset, progress=True)


def binary_labels(re: np.ndarray, classes) -> np.ndarray:
    """Binary logistic regression's label: 1 if Re > median(classes) ('high Reynolds'), else 0."""
    return (np.asarray(re) > float(np.median(np.asarray(classes)))).astype(np.int32)


def class_labels(re: np.ndarray, classes) -> np.ndarray:
    """Index of each sample's Reynolds number in `classes` (softmax targets); an error for one not there."""
    classes = [float(c) for c in classes]
    unknown = sorted({float(r) for r in np.unique(re)} - set(classes))
    if unknown:
        fail(
            f"Reynolds number(s) {unknown} are not among the model's classes {classes}: a softmax classifier "
            f"can only be scored on its own classes; choose those (e.g. --reynolds) or use a regression model"
        )
    return np.searchsorted(np.asarray(classes), np.asarray(re, np.float64)).astype(np.int32)


def prepare_arrays(ds, config, stats: dict | None = None, classes=None) -> tuple[dict, dict]:
    """Dataset -> (device arrays for the training core, standardization stats as numpy arrays).

    X is standardized per feature with training-set statistics (or the given `stats`); regression targets
    are standardized per component (y_mean / y_scale ride along to report metrics in original units; with
    data.log_target they are the statistics of log y);
    classification targets are class indices (softmax) or 0/1 (binary, Re > median of the classes).
    `classes`: the Reynolds numbers the model was trained on, when scoring on other data (default
    ds.classes)."""
    task = model_task(config.model)
    log_target = log_target_of(config)
    if stats is None:
        x_fit = ds.train.X
        if "mirror" in parse_augment(config.training)[0]:
            # fitted on the training set and its mirror image, the mean is antisymmetric and the scale
            # symmetric under the mirror, so standardizing commutes with it: the augmentation stays an exact
            # symmetry of the standardized inputs
            x_fit = np.concatenate([x_fit, np.asarray(mirror(x_fit, ds.image_shape))])
        sx = fit_standardizer(x_fit)
        stats = {"x_mean": np.asarray(sx.mean), "x_scale": np.asarray(sx.scale)}
        if task == "regression":
            y2 = target_to_model(ds.train.y.reshape(len(ds.train.y), -1), log_target)
            sy = fit_standardizer(y2)
            stats |= {"y_mean": np.asarray(sy.mean), "y_scale": np.asarray(sy.scale)}
    sx = Standardizer(mean=stats["x_mean"], scale=stats["x_scale"])
    data = {
        "X_train": jnp.asarray(standardize(ds.train.X, sx), jnp.float32),
        "X_test": jnp.asarray(standardize(ds.test.X, sx), jnp.float32),
    }
    if task == "regression":
        sy = Standardizer(mean=stats["y_mean"], scale=stats["y_scale"])
        for split in ("train", "test"):
            y = getattr(ds, split).y
            y = target_to_model(y.reshape(len(y), -1), log_target)
            data[f"y_{split}"] = jnp.asarray(standardize(y, sy), jnp.float32)
        data["y_mean"] = jnp.asarray(stats["y_mean"], jnp.float32).reshape(-1)
        data["y_scale"] = jnp.asarray(stats["y_scale"], jnp.float32).reshape(-1)
    elif task == "binary":
        data["y_train"] = jnp.asarray(binary_labels(ds.train.re, classes or ds.classes))
        data["y_test"] = jnp.asarray(binary_labels(ds.test.re, classes or ds.classes))
    elif classes is None:
        data["y_train"] = jnp.asarray(ds.train.labels, jnp.int32)
        data["y_test"] = jnp.asarray(ds.test.labels, jnp.int32)
    else:
        data["y_train"] = jnp.asarray(class_labels(ds.train.re, classes))
        data["y_test"] = jnp.asarray(class_labels(ds.test.re, classes))
    return data, stats


def score(trainer, params, data: dict, ds, split: str, classes=None) -> dict:
    """Final metrics of one split in original units (+ R^2 of the predicted class's Re for softmax;
    `classes`: the model's classes when they are not ds.classes)."""
    x, y = data[f"X_{split}"], data[f"y_{split}"]
    ev = {k: finite_or_none(v) for k, v in jax.jit(trainer.evaluate)(params, x, y, data).items()}
    if trainer.task == "softmax":
        logits = np.asarray(jax.jit(trainer.predict)(params, x))
        re_pred = np.asarray(classes or ds.classes, np.float64)[logits.argmax(-1)]
        re_true = np.asarray(getattr(ds, split).re, np.float64)
        ev["r2"] = finite_or_none(M.r2_score(re_true, re_pred))
    return ev  # None where a metric is undefined (R^2 of targets that take one value)


def predictions(trainer, params, data: dict, split: str = "test") -> np.ndarray:
    """Test predictions in original units (regression) or predicted class indices / 0-1 labels."""
    out = np.asarray(jax.jit(trainer.predict)(params, data[f"X_{split}"]))
    if trainer.task == "regression":
        return target_from_model(out, np.asarray(data["y_mean"]), np.asarray(data["y_scale"]),
                                 trainer.log_target)
    return (out[:, 0] > 0).astype(np.int32) if trainer.task == "binary" else out.argmax(-1)


class Prepared(NamedTuple):
    """A data set ready for the training core: the Dataset, its device arrays, the standardization stats."""

    ds: object  # turbjax.data.dataset.Dataset
    data: dict
    stats: dict


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


def prepare(config, stats: dict | None = None) -> Prepared:
    """Build the data set of config.data, check the batch size against it, standardize it (with the given
    training statistics, e.g. a run's standardizer.npz, or fitted on its training set)."""
    ds = build_dataset(data_config_for_training(config))
    check_batch_size(config, len(ds.train.X))
    data, stats = prepare_arrays(ds, config, stats)
    return Prepared(ds, data, stats)


def make_trainer(config, prep: Prepared, num_classes: int | None = None):
    """The training core (turbjax.training.loop.make_train) for this config and data set (`num_classes`: the
    model's, when scoring on data with other Reynolds numbers)."""
    n = len(prep.ds.classes) if num_classes is None else int(num_classes)
    return make_train(config, prep.data, image_shape=prep.ds.image_shape, num_classes=n)


def restore_state(trainer, config, ckpt, step: int) -> dict:
    """The training state saved at `step` by `ckpt` (a Checkpointer), for this trainer's model."""
    abstract = jax.eval_shape(trainer.init, default_hparams(config.optim), jax.random.key(0))
    return ckpt.restore(abstract, step)


def init_or_resume(trainer, config, ckpt) -> dict:
    """The latest checkpoint's state if there is one (and say so), else a new one (config.training.seed)."""
    hparams = default_hparams(config.optim)
    latest = ckpt.latest_step()
    if latest is None:
        return jax.jit(trainer.init)(hparams, jax.random.key(int(config.training.seed)))
    abstract = jax.eval_shape(trainer.init, hparams, jax.random.key(0))
    state, latest = ckpt.restore_latest_good(abstract)  # falls back past damaged checkpoints (and says so)
    print(f"turbjax: resuming from the checkpoint at epoch {latest} in {ckpt.directory}", flush=True)
    return state


def all_frames_as_test(ds):
    """The data set with every sample (train and test parts, in (Re, realization, frame) order) as its test
    set; the train part is kept as is (the training core needs one to build; it is not scored)."""
    fields = ds.test._fields
    joined = {f: np.concatenate([getattr(ds.train, f), getattr(ds.test, f)]) for f in fields}
    order = np.lexsort((joined["frame"], joined["realization"], joined["re"]))
    test = type(ds.test)(**{f: v[order] for f, v in joined.items()})
    return dataclasses.replace(ds, test=test, split="all")


class TrainingDivergedError(RuntimeError):
    """A non-finite loss: the run stopped; the last good checkpoint is kept."""


def finite_or_none(x):
    """A finite float, or None (JSON has no NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


# ------------------------------------------------------------------------------ scoring a run on other data

SCORE_SPLITS = ("all",) + SPLITS  # "all": every sample of the data as the test set


def detect_format(directory, prefer: str) -> str:
    """The data format of the files in `directory` ("turbjax" or "course"), from their names; `prefer` (the
    run's format) when both kinds are there (and say so)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist; pass an existing --data")
    # any file counts: plain runs or an ensemble's realizations (_r{k})
    found = [fmt for fmt in discovery.FORMATS if discovery.available_series(directory, fmt)]
    if not found:
        raise FileNotFoundError(
            f"{directory} holds no data files: expected {snapshots.FILE_TEMPLATE.format(re=300)} (turbjax) "
            f"or {discovery.COURSE_FILE_TEMPLATE.format(re=300)} (the course's) per Reynolds number"
        )
    if len(found) == 1:
        return found[0]
    print(f"turbjax: {directory} holds files of both formats; using {prefer!r} (--format to choose)",
          flush=True)
    return prefer


def scoring_data_config(data_config, *, data_dir=None, fmt=None, trust_pickle=None, reynolds=None,
                        split=None, realizations=None):
    """The run's data config pointed at other data: `data_dir` (its format detected from the file names
    unless `fmt`), at the Reynolds numbers it holds (or `reynolds`), with `split` ("all" by default when the
    data is another directory, else the run's own split), at the realizations it holds (or `realizations`).
    Returns (data config, split); for "all" the data config's split is "random" (which drops no sample) and
    the caller joins its parts (all_frames_as_test)."""
    d = data_config.copy_and_resolve_references()
    if data_dir is not None:
        d.dir = str(data_dir)
        d.format = fmt or detect_format(data_dir, prefer=d.format)
    elif fmt is not None:
        d.format = fmt
    if trust_pickle is not None or data_dir is not None:  # other files: the run's opt-in does not carry over
        d.trust_pickle = bool(trust_pickle)
    if d.format == "course" and not d.trust_pickle:
        raise PermissionError(
            f"{d.dir} holds the course's pickled files, and loading a pickle can run code: pass "
            f"--trust-pickle if you trust them, or convert them once with "
            f"`python -m turbjax.data.convert --trust-pickle "
            f"{d.dir} --out DIR`"
        )
    if data_dir is not None:  # what the run trained on says nothing about which files another directory holds
        series = discovery.available_series(d.dir, d.format)
        plain = [r for r, k in series if k == discovery.PLAIN]
        d.realizations = () if plain or not series else tuple(sorted({k for _, k in series}))
        d.exclude_reynolds, d.test_dir, d.test_reynolds, d.test_realizations = (), "", (), ()
        if d.format == "turbjax" and series:  # every frame: sample at the directory's own frame spacing
            files = discovery.find_data_files(d.dir, [series[0][0]], d.format, d.realizations)
            first = next(iter(files.values()))
            d.sample_every_steps = int(snapshots.snapshot_header(first)[2]["frame_stride"])
    if realizations is not None:
        d.realizations = tuple(int(k) for k in realizations)
    if reynolds is not None:
        d.reynolds = tuple(float(r) for r in reynolds)
    elif data_dir is not None:
        d.reynolds = tuple(discovery.available_reynolds(d.dir, d.format, d.realizations))
    split = split or ("all" if data_dir is not None else d.split)
    if split not in SCORE_SPLITS:
        fail(f"split={split!r} is unknown; expected one of {SCORE_SPLITS}")
    d.split = "random" if split == "all" else split
    return d, split
