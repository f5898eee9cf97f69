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

import json
import time
from pathlib import Path

import jax
import numpy as np

from turbjax import cli
from turbjax.pipeline import _float, ensure_data, make_trainer, predictions, prepare, score, validate_config
from turbjax.plots import plot_run
from turbjax.training import metrics as M
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.optimizers import default_hparams
from turbjax.workdir import (
    WorkdirMismatchError,  # noqa: F401  (re-exported: tests and notebooks catch it from here)
    check_workdir,
    read_metrics,
    write_config,
    write_json,
    write_metrics,
    write_standardizer,
)


class TrainingDivergedError(RuntimeError):
    """A non-finite loss: the run stopped; the last good checkpoint is kept."""


def train_and_evaluate(config, workdir) -> dict:
    """Run the whole job (see the module docstring); returns the results dict also written to results.json."""
    from tqdm.auto import tqdm

    validate_config(config)
    workdir = Path(workdir)
    resuming = check_workdir(config, workdir)
    ensure_data(config.data)

    t_load = time.perf_counter()
    prep = prepare(config)
    ds, data, stats = prep
    load_seconds = time.perf_counter() - t_load
    print(f"turbjax: {ds.summary()} (loaded in {load_seconds:.1f} s)", flush=True)

    t_start = time.perf_counter()
    trainer = make_trainer(config, prep)
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
        write_config(workdir, config)
    write_standardizer(workdir, stats)
    start_epoch = int(state["epoch"])
    metrics_path = workdir / "metrics.jsonl"
    rows = read_metrics(metrics_path, start_epoch)
    write_metrics(metrics_path, rows)  # drops epochs logged after the checkpoint by a killed run

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
    rows = read_metrics(metrics_path, epoch)
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
    write_json(workdir / "results.json", results)
    ckpt.close()
    if config.training.plots:
        plot_run(workdir, rows, trainer, params, data, ds)
    return results


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
        with cli.user_errors("turbjax.train"):
            results = train_and_evaluate(cfg, flags.FLAGS.workdir)
        keys = ("test_r2", "test_accuracy", "test_mse", "train_r2", "epochs", "wall_seconds")
        print(json.dumps({k: results[k] for k in keys if k in results}, indent=2))

    app.run(_main, argv=argv, flags_parser=cli.absl_flags_parser("turbjax.train"))


if __name__ == "__main__":
    main()
