"""The main job: train one model on the vortex-street data set, checkpoint it, evaluate it, plot it.

    python -m turbjax.train --config configs/default.py --workdir runs/default
    python -m turbjax.train --config configs/default.py --workdir runs/lr3e-4 --config.optim.learning_rate=3e-4

`main()` only parses flags; `train_and_evaluate(config, workdir) -> results dict` does the work (tests call it).

Order of work: validate the whole config (names, numbers, typos: before any data is generated or loaded) ->
check an existing workdir (its config.json must describe the same model) -> generate missing data with the
built-in simulator -> build and standardize the data set -> compile -> restore the latest checkpoint if any
-> train in scanned chunks of `training.epochs_per_chunk` epochs (tqdm advances per chunk; metrics.jsonl
gets one line per epoch; a checkpoint every `training.checkpoint_every` epochs) -> results.json and plots.

Workdir:
    config.json         the resolved config
    standardizer.npz    training-set statistics of X and y (evaluate.py standardizes new data with them)
    metrics.jsonl       per epoch: epoch, train_loss, test_loss, test_r2 (or test_accuracy), test_mse, seconds
    results.json        test_r2, test_mse, train_r2, epochs, wall_seconds, examples_per_second, ...
    checkpoints/        orbax: every checkpoint_every epochs, the last keep_checkpoints plus the best test loss
    loss_curve.png      train and test loss per epoch (semilog)
    pred_vs_true.png    test predictions against the truth

Rerunning on an existing workdir resumes from its latest checkpoint; since the minibatch order depends only on
(seed, epoch), a resumed run ends with the same parameters as an uninterrupted one.
"""

from __future__ import annotations

import difflib
import json
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from turbjax.models import ACTIVATIONS, LOGISTIC_MODES, MODEL_NAMES, model_task
from turbjax.training import metrics as M
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.loop import make_train
from turbjax.training.optimizers import OPTIMIZER_NAMES, SCHEDULE_NAMES, default_hparams


class TrainingDivergedError(RuntimeError):
    """A non-finite loss: the run stopped; the last good checkpoint is kept."""


class WorkdirMismatchError(ValueError):
    """The workdir holds a run of another model."""


# ----------------------------------------------------------------------------------------------- validation


def _fail(msg: str):
    raise ValueError(msg)


def _reference_config():
    """configs/default.py's get_config(): the schema every config must follow."""
    from turbjax.reference_config import load_default_module

    return load_default_module().get_config()


def _check_fields(config) -> None:
    """Every field must exist in configs/default.py's get_config() (catches typos in config files)."""
    ref = _reference_config()
    for section in config:
        if section not in ref:
            hint = difflib.get_close_matches(section, list(ref.keys()), n=1)
            _fail(
                f"config.{section} is not a config section; expected one of {sorted(ref.keys())}"
                + (f" (did you mean {hint[0]!r}?)" if hint else "")
            )
        for name in config[section]:
            if name not in ref[section]:
                hint = difflib.get_close_matches(name, list(ref[section].keys()), n=1)
                _fail(
                    f"config.{section}.{name} is not a known field"
                    + (f"; did you mean config.{section}.{hint[0]}?" if hint else "")
                    + f" Known fields: {sorted(ref[section].keys())}"
                )
    for section in ref:
        if section not in config:
            _fail(f"config.{section} is missing; start from configs/default.py's get_config()")


def _number(value, name: str, *, low=None, high=None, low_open=False, integer=False) -> float:
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):
        _fail(f"{name}={value!r} must be a finite {'integer' if integer else 'number'}")
    v = float(value)
    if low is not None and (v <= low if low_open else v < low):
        _fail(f"{name}={value!r} must be {'>' if low_open else '>='} {low}; set e.g. --{name}=...")
    if high is not None and v > high:
        _fail(f"{name}={value!r} must be <= {high}")
    return v


def validate_config(config) -> None:
    """Raise ValueError naming the value, what was expected and what to do, for any bad setting. Reads no
    data: run it before anything is generated or loaded."""
    from turbjax.data.dataset import validate_data_config

    _check_fields(config)
    validate_data_config(config.data)
    m, o, t = config.model, config.optim, config.training
    if m.name not in MODEL_NAMES:
        _fail(f"config.model.name={m.name!r} is not a model; expected one of {MODEL_NAMES}")
    if m.activation not in ACTIVATIONS:
        _fail(f"config.model.activation={m.activation!r} is unknown; expected one of {tuple(ACTIVATIONS)}")
    if m.logistic not in LOGISTIC_MODES:
        _fail(f"config.model.logistic={m.logistic!r} is unknown; expected one of {LOGISTIC_MODES}")
    for field in ("hidden", "cnn_features", "cnn_dense"):
        sizes = m[field]
        if isinstance(sizes, str) or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in sizes):
            _fail(f"config.model.{field}={sizes!r} must be a tuple of positive ints, e.g. '(100, 100)'")
    if not m.cnn_features and m.name == "cnn":
        _fail("config.model.cnn_features is empty; the cnn needs at least one conv block, e.g. '(8, 16)'")
    _number(m.cnn_kernel, "config.model.cnn_kernel", low=1, integer=True)
    if config.data.target == "forecast" and m.name == "logistic":
        _fail("config.data.target='forecast' is a regression target; use model.name linear, mlp or cnn")

    if o.name not in OPTIMIZER_NAMES:
        _fail(f"config.optim.name={o.name!r} is not an optimizer; expected one of {OPTIMIZER_NAMES}")
    if o.schedule not in SCHEDULE_NAMES:
        _fail(f"config.optim.schedule={o.schedule!r} is unknown; expected one of {SCHEDULE_NAMES}")
    _number(o.learning_rate, "config.optim.learning_rate", low=0, low_open=True)
    _number(o.momentum, "config.optim.momentum", low=0, high=1)
    _number(o.weight_decay, "config.optim.weight_decay", low=0)
    _number(o.l2, "config.optim.l2", low=0)
    _number(o.l1, "config.optim.l1", low=0)
    _number(o.b2, "config.optim.b2", low=0, high=1)
    _number(o.final_fraction, "config.optim.final_fraction", low=0, high=1)
    _number(o.warmup_epochs, "config.optim.warmup_epochs", low=0, integer=True)
    _number(o.lbfgs_memory, "config.optim.lbfgs_memory", low=1, integer=True)
    if o.name == "sgd" and o.momentum != 0:
        _fail(f"config.optim.momentum={o.momentum} with plain sgd; set it to 0, or use --config.optim.name=momentum")
    if o.name != "adamw" and o.weight_decay != 0:
        _fail(
            f"config.optim.weight_decay={o.weight_decay} is only used by adamw (decoupled decay); use "
            f"--config.optim.name=adamw, or an L2 penalty --config.optim.l2=... with {o.name}"
        )
    if o.name == "lbfgs" and o.schedule != "constant":
        _fail("config.optim.schedule must be 'constant' with lbfgs (its line search sets the step length)")

    _number(t.batch_size, "config.training.batch_size", low=1, integer=True)
    _number(t.epochs, "config.training.epochs", low=1, integer=True)
    _number(t.seed, "config.training.seed", low=0, integer=True)
    _number(t.epochs_per_chunk, "config.training.epochs_per_chunk", low=1, integer=True)
    _number(t.checkpoint_every, "config.training.checkpoint_every", low=1, integer=True)
    _number(t.keep_checkpoints, "config.training.keep_checkpoints", low=1, integer=True)
    if t.checkpoint_every % t.epochs_per_chunk:
        _fail(
            f"config.training.checkpoint_every={t.checkpoint_every} must be a multiple of "
            f"epochs_per_chunk={t.epochs_per_chunk} (checkpoints are written between chunks)"
        )
    for field in ("stop_at_test_r2", "report_test_r2"):
        if t[field] is not None:
            _number(t[field], f"config.training.{field}", high=1)


def check_batch_size(config, num_train: int) -> None:
    if config.optim.name != "lbfgs" and config.training.batch_size > num_train:
        _fail(
            f"config.training.batch_size={config.training.batch_size} is larger than the training set "
            f"({num_train} samples); use --config.training.batch_size={num_train} or less"
        )


# ----------------------------------------------------------------------------------------------------- data


def _config_json(config) -> dict:
    return json.loads(config.to_json_best_effort())


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
    from turbjax.data import io

    todo = [r for r in data_config.reynolds if io.snapshot_path(data_config.dir, r).name in present]
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


# -------------------------------------------------------------------------------------------------- workdir


def check_workdir(config, workdir: Path) -> bool:
    """True if the workdir holds an earlier run of this config. Raises WorkdirMismatchError if its
    config.json describes another model or data set (nothing is overwritten)."""
    path = workdir / "config.json"
    if not path.exists():
        return False
    old = json.loads(path.read_text())
    new = _config_json(config)
    for section in ("model", "data", "optim", "training"):
        diff = {
            k: (old.get(section, {}).get(k), v)
            for k, v in new[section].items()
            if old.get(section, {}).get(k) != v and not (section == "data" and k == "dir")
        }
        if diff and section in ("optim", "training"):
            print(
                f"turbjax: note: resuming {workdir} with a different config.{section}: {diff} (old, new); the new "
                f"settings apply from the restored epoch on (config.json keeps the first run's)",
                flush=True,
            )
        elif diff:
            raise WorkdirMismatchError(
                f"{workdir} holds a run with another config.{section} (changed: {diff}, as (old, new)); "
                f"its checkpoints cannot be resumed with this config and are not overwritten. Use another "
                f"--workdir, or delete {workdir} to start afresh."
            )
    return True


def _read_metrics(path: Path, upto_epoch: int) -> list[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["epoch"] <= upto_epoch]


def _write_metrics(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def _float(x):
    x = float(x)
    return x if math.isfinite(x) else None


def train_and_evaluate(config, workdir) -> dict:
    """Run the whole job (see the module docstring); returns the results dict also written to results.json."""
    from tqdm.auto import tqdm

    from turbjax.data.dataset import build_dataset

    validate_config(config)
    workdir = Path(workdir)
    resuming = check_workdir(config, workdir)
    ensure_data(config.data)

    t_load = time.perf_counter()
    ds = build_dataset(config.data)
    check_batch_size(config, len(ds.X_train))
    data, stats = prepare_arrays(ds, config)
    load_seconds = time.perf_counter() - t_load
    print(f"turbjax: {ds.summary()} (loaded in {load_seconds:.1f} s)", flush=True)

    t_start = time.perf_counter()
    trainer = make_train(config, data, image_shape=ds.image_shape, num_classes=len(ds.classes))
    hparams = default_hparams(config.optim)
    key = jax.random.key(int(config.training.seed))
    ckpt = Checkpointer(workdir / "checkpoints", keep=int(config.training.keep_checkpoints))
    latest = ckpt.latest_step()
    if latest is not None:
        abstract = jax.eval_shape(trainer.init, hparams, key)
        state, latest = ckpt.restore_latest_good(abstract)  # falls back past damaged checkpoints
        print(f"turbjax: resuming from the checkpoint at epoch {latest} in {ckpt.directory}", flush=True)
    else:
        state = jax.jit(trainer.init)(hparams, key)
    # written only once the workdir is known to hold nothing of another model
    if not resuming:
        (workdir / "config.json").write_text(json.dumps(_config_json(config), indent=2) + "\n")
    np.savez(workdir / "standardizer.npz", **stats)
    start_epoch = int(state["epoch"])
    metrics_path = workdir / "metrics.jsonl"
    rows = _read_metrics(metrics_path, start_epoch)
    _write_metrics(metrics_path, rows)  # drops epochs logged after the checkpoint by a killed run

    run = jax.jit(trainer.run_epochs, static_argnames="num_epochs", donate_argnames="state")
    total = int(config.training.epochs)
    chunk = int(config.training.epochs_per_chunk)
    every = int(config.training.checkpoint_every)
    metric_key = "test_r2" if trainer.task == "regression" else "test_accuracy"
    stop = config.training.stop_at_test_r2
    target = stop if stop is not None else config.training.report_test_r2
    seconds_to_target = target_epoch = None
    steady = {"epochs": 0, "seconds": 0.0}
    first_chunk = True
    epoch = start_epoch
    bar = tqdm(total=total, initial=start_epoch, unit="epoch", desc="train", dynamic_ncols=True)
    try:
        with open(metrics_path, "a") as log:
            while epoch < total:
                n = min(chunk, total - epoch)
                t0 = time.perf_counter()
                state, m = run(state, hparams, num_epochs=n, data=data)
                m = jax.device_get(m)
                dt = time.perf_counter() - t0
                if not first_chunk:
                    steady["epochs"] += n
                    steady["seconds"] += dt
                first_chunk = False
                for i in range(n):
                    row = {"epoch": epoch + i + 1, "train_loss": _float(m["train_loss"][i])}
                    row |= {k: _float(v[i]) for k, v in m.items() if k.startswith("test_")}
                    row["seconds"] = dt / n
                    log.write(json.dumps(row) + "\n")
                    if (
                        target is not None and seconds_to_target is None and trainer.task == "regression"
                        and m["test_r2"][i] >= target
                    ):
                        seconds_to_target = time.perf_counter() - t_start - dt * (n - i - 1) / n
                        target_epoch = epoch + i + 1
                log.flush()
                epoch += n
                bar.update(n)
                bar.set_postfix(loss=f"{float(m['train_loss'][-1]):.3g}", **{metric_key: f"{float(m[metric_key][-1]):.4f}"})
                if bool(state["diverged"]):
                    bad = int(state["diverged_epoch"])
                    ckpt.wait()
                    last = ckpt.latest_step()
                    raise TrainingDivergedError(
                        f"training diverged: non-finite loss in epoch {bad + 1} with learning_rate "
                        f"{float(config.optim.learning_rate):g} ({config.optim.name}); the last good checkpoint "
                        f"is {'epoch ' + str(last) if last is not None else 'none (none was written yet)'} in "
                        f"{ckpt.directory}. Lower --config.optim.learning_rate."
                    )
                if epoch % every == 0 or epoch == total:
                    ckpt.save(epoch, state, m["test_loss"][-1])
                if stop is not None and seconds_to_target is not None:
                    print(f"turbjax: test R^2 >= {target} reached; stopping at epoch {epoch}", flush=True)
                    if epoch % every and epoch != total:
                        ckpt.save(epoch, state, m["test_loss"][-1])
                    break
    finally:
        bar.close()
        ckpt.wait()
    train_seconds = time.perf_counter() - t_start

    params = state["params"]
    test = score(trainer, params, data, ds, "test")
    train = score(trainer, params, data, ds, "train")
    rows = _read_metrics(metrics_path, epoch)
    results = {
        "model": config.model.name,
        "task": trainer.task,
        "split": config.data.split,
        "target": config.data.target,
        "num_train": len(ds.X_train),
        "num_test": len(ds.X_test),
        "num_params": int(sum(x.size for x in jax.tree_util.tree_leaves(params))),
        "epochs": epoch,
        "resumed_from_epoch": start_epoch if start_epoch else None,
        "wall_seconds": train_seconds,
        "data_seconds": load_seconds,
        "examples_per_second": (
            len(ds.X_train) * steady["epochs"] / steady["seconds"] if steady["seconds"] > 0 else None
        ),
        "seconds_per_epoch": steady["seconds"] / steady["epochs"] if steady["epochs"] else None,
        "test_loss": test["loss"],
        "train_loss": train["loss"],
        "diverged": False,
        "best_checkpoint_epoch": ckpt.best_step(),
        "latest_checkpoint_epoch": ckpt.latest_step(),
        "backend": jax.default_backend(),
    }
    if target is not None and trainer.task == "regression":
        # seconds from the start of training (compilation included) to the first epoch with test R^2 >= target
        results["target_test_r2"] = target
        results["seconds_to_target"] = seconds_to_target
        results["target_epoch"] = target_epoch
    for name in ("r2", "mse", "mae", "accuracy"):
        if name in test:
            results[f"test_{name}"] = test[name]
            results[f"train_{name}"] = train[name]
    if trainer.task == "regression" and np.asarray(data["y_test"]).shape[1] == 1:
        # R^2 is undefined when the test targets do not vary (one held-out Reynolds number): null (score()
        # and metrics.jsonl already say so), and the note says why.
        if np.ptp(np.asarray(ds.y_test)) == 0 and "test_r2" in results:
            results["test_r2"] = None
            results["test_r2_note"] = "undefined: every test target has the same value; see test_mae and test_prediction_*"
        pred = predictions(trainer, params, data)[:, 0]
        results["test_prediction_mean"] = float(pred.mean())
        results["test_prediction_std"] = float(pred.std())
        results["test_target_values"] = sorted({float(v) for v in np.unique(ds.y_test)})[:10]
    if config.model.name == "linear" and trainer.task == "regression":
        # the closed-form baseline on the same standardized data: ridge with leave-one-out choice of alpha
        from turbjax.models.ridge import DEFAULT_ALPHAS, ridge_cv

        alphas = DEFAULT_ALPHAS
        fit = ridge_cv(np.asarray(data["X_train"]), np.asarray(data["y_train"]), alphas)
        scale, mean = np.asarray(data["y_scale"]), np.asarray(data["y_mean"])
        pred = fit.predict(np.asarray(data["X_test"])) * scale + mean
        y_test = np.asarray(data["y_test"]) * scale + mean
        results["ridge_cv"] = {
            "alpha": fit.alpha,
            "alphas": list(alphas),
            "test_r2": float(M.r2_score(y_test, pred)),
            "equivalent_l2": fit.alpha / len(ds.X_train),
        }
    if config.data.target == "forecast":
        # persistence: predict that nothing changes (the target frame = the input frame)
        results["persistence_test_r2"] = float(M.r2_score(ds.y_test, ds.X_test))
        results["persistence_test_mse"] = float(M.mean_squared_error(ds.y_test, ds.X_test))
    (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    ckpt.close()
    if config.training.plots:
        plot_run(workdir, rows, trainer, params, data, ds)
    return results


# ---------------------------------------------------------------------------------------------------- plots


def plot_run(workdir: Path, rows: list[dict], trainer, params, data, ds) -> None:
    # Bare Figures (no pyplot): no backend switch, so a notebook's inline plots keep working.
    from matplotlib.figure import Figure

    epochs = [r["epoch"] for r in rows]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    for k, label in (("train_loss", "train"), ("test_loss", "test")):
        ax.semilogy(epochs, [r[k] if r[k] is not None else np.nan for r in rows], label=label)
    ax.set(xlabel="epoch", ylabel="loss (standardized units)", title=f"{trainer.task}: {len(ds.X_train)} train / {len(ds.X_test)} test, split {ds.split!r}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(workdir / "loss_curve.png", dpi=120)

    pred = predictions(trainer, params, data)
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    if trainer.task == "regression":
        y = ds.y_test.reshape(len(ds.y_test), -1)
        if y.shape[1] == 1:
            ax.scatter(y[:, 0], pred[:, 0], s=6, alpha=0.5)
            ax.set(xlabel="true Re", ylabel="predicted Re")
        else:  # forecast: a subsample of pixel values
            idx = np.random.default_rng(0).choice(y.size, size=min(y.size, 5000), replace=False)
            ax.scatter(y.ravel()[idx], pred.ravel()[idx], s=2, alpha=0.3)
            ax.set(xlabel="true vorticity", ylabel="predicted vorticity")
        lo, hi = float(np.min(y)), float(np.max(y))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    else:
        truth = np.asarray(data["y_test"])
        k = 2 if trainer.task == "binary" else len(ds.classes)
        cm = np.zeros((k, k), int)
        np.add.at(cm, (truth, pred), 1)
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center")
        names = ["low Re", "high Re"] if trainer.task == "binary" else [f"{c:g}" for c in ds.classes]
        ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names,
               xlabel="predicted", ylabel="true")
    ax.set_title("test set")
    fig.tight_layout()
    fig.savefig(workdir / "pred_vs_true.png", dpi=120)


# ------------------------------------------------------------------------------------------------------ CLI


def main(argv=None) -> None:
    from absl import app, flags, logging
    from ml_collections import config_flags

    config_flags.DEFINE_config_file("config", None, "training config file (configs/*.py)", lock_config=True)
    flags.DEFINE_string("workdir", None, "directory for checkpoints, metrics, results and plots")
    flags.mark_flags_as_required(["config", "workdir"])

    def _main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}")
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
        cfg = flags.FLAGS.config
        try:
            results = train_and_evaluate(cfg, flags.FLAGS.workdir)
        except (ValueError, TrainingDivergedError, OSError) as e:  # OSError: also an unreadable config file
            print(f"turbjax.train: error: {e}", file=sys.stderr)
            sys.exit(1)
        keys = ("test_r2", "test_accuracy", "test_mse", "train_r2", "epochs", "wall_seconds")
        print(json.dumps({k: results[k] for k in keys if k in results}, indent=2))

    def parse(args):  # a mistyped override is one clear line, not a traceback
        try:
            return flags.FLAGS(args)
        except (flags.Error, AttributeError, KeyError, ValueError, TypeError, OSError) as e:
            msg = str(e).replace("\\n", " ").replace("\n", " ")
            print(f"turbjax.train: error in the command line: {msg}", file=sys.stderr)
            sys.exit(2)

    app.run(_main, argv=argv, flags_parser=parse)


if __name__ == "__main__":
    main()
