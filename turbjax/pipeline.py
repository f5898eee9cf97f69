"""config -> data set -> standardized device arrays -> trainer, and scoring: what every job shares.

The jobs (train, evaluate, sweep) call these in the same order:

    validate_config(config)            # before any data is generated or loaded
    ensure_data(config.data)           # the simulator fills a missing data directory
    prep = prepare(config)             # Dataset + standardized device arrays + training-set statistics
    trainer = make_trainer(config, prep)
    score(trainer, params, prep, "test")
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from turbjax.checks import closest, did_you_mean, fail, number
from turbjax.models import ACTIVATIONS, LOGISTIC_MODES, MODEL_NAMES, model_task
from turbjax.training import metrics as M
from turbjax.training.loop import make_train
from turbjax.training.optimizers import OPTIMIZER_NAMES, SCHEDULE_NAMES


def _reference_config():
    """configs/default.py's get_config(): the schema every config must follow."""
    from turbjax.reference_config import load_default_module

    return load_default_module().get_config()


def _check_fields(config) -> None:
    """Every field must exist in configs/default.py's get_config() (catches typos in config files)."""
    ref = _reference_config()
    for section in config:
        if section not in ref:
            fail(
                f"config.{section} is not a config section; expected one of {sorted(ref.keys())}"
                + did_you_mean(section, ref.keys())
            )
        for name in config[section]:
            if name not in ref[section]:
                hint = closest(name, ref[section].keys())
                fail(
                    f"config.{section}.{name} is not a known field"
                    + (f"; did you mean config.{section}.{hint}?" if hint else "")
                    + f" Known fields: {sorted(ref[section].keys())}"
                )
    for section in ref:
        if section not in config:
            fail(f"config.{section} is missing; start from configs/default.py's get_config()")


def validate_config(config) -> None:
    """Raise ValueError naming the value, what was expected and what to do, for any bad setting. Reads no
    data: run it before anything is generated or loaded."""
    from turbjax.data.dataset import validate_data_config

    _check_fields(config)
    validate_data_config(config.data)
    m, o, t = config.model, config.optim, config.training
    if m.name not in MODEL_NAMES:
        fail(f"config.model.name={m.name!r} is not a model; expected one of {MODEL_NAMES}")
    if m.activation not in ACTIVATIONS:
        fail(f"config.model.activation={m.activation!r} is unknown; expected one of {tuple(ACTIVATIONS)}")
    if m.logistic not in LOGISTIC_MODES:
        fail(f"config.model.logistic={m.logistic!r} is unknown; expected one of {LOGISTIC_MODES}")
    for field in ("hidden", "cnn_features", "cnn_dense"):
        sizes = m[field]
        if isinstance(sizes, str) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
            fail(f"config.model.{field}={sizes!r} must be a tuple of positive ints, e.g. '(100, 100)'")
    if not m.cnn_features and m.name == "cnn":
        fail("config.model.cnn_features is empty; the cnn needs at least one conv block, e.g. '(8, 16)'")
    number(m.cnn_kernel, "config.model.cnn_kernel", low=1, integer=True)
    if config.data.target == "forecast" and m.name == "logistic":
        fail("config.data.target='forecast' is a regression target; use model.name linear, mlp or cnn")

    if o.name not in OPTIMIZER_NAMES:
        fail(f"config.optim.name={o.name!r} is not an optimizer; expected one of {OPTIMIZER_NAMES}")
    if o.schedule not in SCHEDULE_NAMES:
        fail(f"config.optim.schedule={o.schedule!r} is unknown; expected one of {SCHEDULE_NAMES}")
    number(o.learning_rate, "config.optim.learning_rate", low=0, low_open=True)
    number(o.momentum, "config.optim.momentum", low=0, high=1)
    number(o.weight_decay, "config.optim.weight_decay", low=0)
    number(o.l2, "config.optim.l2", low=0)
    number(o.l1, "config.optim.l1", low=0)
    number(o.b2, "config.optim.b2", low=0, high=1)
    number(o.final_fraction, "config.optim.final_fraction", low=0, high=1)
    number(o.warmup_epochs, "config.optim.warmup_epochs", low=0, integer=True)
    number(o.lbfgs_memory, "config.optim.lbfgs_memory", low=1, integer=True)
    if o.name == "sgd" and o.momentum != 0:
        fail(f"config.optim.momentum={o.momentum} with plain sgd; set it to 0, or use --config.optim.name=momentum")
    if o.name != "adamw" and o.weight_decay != 0:
        fail(
            f"config.optim.weight_decay={o.weight_decay} is only used by adamw (decoupled decay); use "
            f"--config.optim.name=adamw, or an L2 penalty --config.optim.l2=... with {o.name}"
        )
    if o.name == "lbfgs" and o.schedule != "constant":
        fail("config.optim.schedule must be 'constant' with lbfgs (its line search sets the step length)")

    number(t.batch_size, "config.training.batch_size", low=1, integer=True)
    number(t.epochs, "config.training.epochs", low=1, integer=True)
    number(t.seed, "config.training.seed", low=0, integer=True)
    number(t.epochs_per_chunk, "config.training.epochs_per_chunk", low=1, integer=True)
    number(t.checkpoint_every, "config.training.checkpoint_every", low=1, integer=True)
    number(t.keep_checkpoints, "config.training.keep_checkpoints", low=1, integer=True)
    if t.checkpoint_every % t.epochs_per_chunk:
        fail(
            f"config.training.checkpoint_every={t.checkpoint_every} must be a multiple of "
            f"epochs_per_chunk={t.epochs_per_chunk} (checkpoints are written between chunks)"
        )
    for field in ("stop_at_test_r2", "report_test_r2"):
        if t[field] is not None:
            number(t[field], f"config.training.{field}", high=1)


def check_batch_size(config, num_train: int) -> None:
    if config.optim.name != "lbfgs" and config.training.batch_size > num_train:
        fail(
            f"config.training.batch_size={config.training.batch_size} is larger than the training set "
            f"({num_train} samples); use --config.training.batch_size={num_train} or less"
        )




def ensure_data(data_config) -> None:
    """Generate missing data files with the built-in simulator (and say so)."""
    from turbjax.data.dataset import missing_files

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
    from turbjax.data import snapshots

    todo = [r for r in data_config.reynolds if snapshots.snapshot_path(data_config.dir, r).name in present]
    print(
        f"turbjax: no data for Re {list(todo)} in {data_config.dir}; generating it with the built-in "
        f"lattice Boltzmann simulator (preset {data_config.preset!r}); it is cached there for later runs",
        flush=True,
    )
    generate(list(todo), data_config.dir, preset=data_config.preset, progress=True)


def binary_labels(re: np.ndarray, classes) -> np.ndarray:
    """Binary logistic regression's label: 1 if Re > median(classes) ('high Reynolds'), else 0."""
    return (np.asarray(re) > float(np.median(np.asarray(classes)))).astype(np.int32)


def prepare_arrays(ds, config, stats: dict | None = None) -> tuple[dict, dict]:
    """Dataset -> (device arrays for the training core, standardization stats as numpy arrays).

    X is standardized per feature with training-set statistics (or the given `stats`); regression targets
    are standardized per component (y_mean / y_scale ride along to report metrics in original units);
    classification targets are class indices (softmax) or 0/1 (binary, Re > median of the classes)."""
    from turbjax.data.standardize import Standardizer, fit_standardizer, standardize

    task = model_task(config.model)
    if stats is None:
        sx = fit_standardizer(ds.X_train)
        stats = {"x_mean": np.asarray(sx.mean), "x_scale": np.asarray(sx.scale)}
        if task == "regression":
            y2 = ds.y_train.reshape(len(ds.y_train), -1)
            sy = fit_standardizer(y2)
            stats |= {"y_mean": np.asarray(sy.mean), "y_scale": np.asarray(sy.scale)}
    sx = Standardizer(mean=stats["x_mean"], scale=stats["x_scale"])
    data = {
        "X_train": jnp.asarray(standardize(ds.X_train, sx), jnp.float32),
        "X_test": jnp.asarray(standardize(ds.X_test, sx), jnp.float32),
    }
    if task == "regression":
        sy = Standardizer(mean=stats["y_mean"], scale=stats["y_scale"])
        for split in ("train", "test"):
            y = getattr(ds, f"y_{split}")
            data[f"y_{split}"] = jnp.asarray(standardize(y.reshape(len(y), -1), sy), jnp.float32)
        data["y_mean"] = jnp.asarray(stats["y_mean"], jnp.float32).reshape(-1)
        data["y_scale"] = jnp.asarray(stats["y_scale"], jnp.float32).reshape(-1)
    elif task == "binary":
        data["y_train"] = jnp.asarray(binary_labels(ds.re_train, ds.classes))
        data["y_test"] = jnp.asarray(binary_labels(ds.re_test, ds.classes))
    else:
        data["y_train"] = jnp.asarray(ds.labels_train, jnp.int32)
        data["y_test"] = jnp.asarray(ds.labels_test, jnp.int32)
    return data, stats


def score(trainer, params, data: dict, ds, split: str) -> dict:
    """Final metrics of one split in original units (+ R^2 of the predicted class's Re for softmax)."""
    x, y = data[f"X_{split}"], data[f"y_{split}"]
    ev = {k: _float(v) for k, v in jax.jit(trainer.evaluate)(params, x, y, data).items()}
    if trainer.task == "softmax":
        logits = np.asarray(jax.jit(trainer.predict)(params, x))
        re_pred = np.asarray(ds.classes, np.float64)[logits.argmax(-1)]
        re_true = np.asarray(getattr(ds, f"re_{split}"), np.float64)
        ev["r2"] = _float(M.r2_score(re_true, re_pred))
    return ev  # None where a metric is undefined (R^2 of targets that take one value)


def predictions(trainer, params, data: dict, split: str = "test") -> np.ndarray:
    """Test predictions in original units (regression) or predicted class indices / 0-1 labels."""
    out = np.asarray(jax.jit(trainer.predict)(params, data[f"X_{split}"]))
    if trainer.task == "regression":
        return out * np.asarray(data["y_scale"]) + np.asarray(data["y_mean"])
    return (out[:, 0] > 0).astype(np.int32) if trainer.task == "binary" else out.argmax(-1)


class Prepared(NamedTuple):
    """A data set ready for the training core: the Dataset, its device arrays, the standardization stats."""

    ds: object  # turbjax.data.dataset.Dataset
    data: dict
    stats: dict


def prepare(config, stats: dict | None = None) -> Prepared:
    """Build the data set of config.data, check the batch size against it, standardize it (with the given
    training statistics, e.g. a run's standardizer.npz, or fitted on its training set)."""
    from turbjax.data.dataset import build_dataset

    ds = build_dataset(config.data)
    check_batch_size(config, len(ds.X_train))
    data, stats = prepare_arrays(ds, config, stats)
    return Prepared(ds, data, stats)


def make_trainer(config, prep: Prepared):
    """The training core (turbjax.training.loop.make_train) for this config and data set."""
    return make_train(config, prep.data, image_shape=prep.ds.image_shape, num_classes=len(prep.ds.classes))


def _float(x):
    x = float(x)
    return x if math.isfinite(x) else None
