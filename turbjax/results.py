"""What a finished training run reports (results.json): final scores, timing, checkpoints, and the baselines
that put the scores in context (closed-form ridge for linear runs, persistence for forecasts).

    results = run_results(config, trainer, params, prep, progress, ckpt=ckpt, start_epoch=0, ...)
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from turbjax.data.standardize import target_from_model
from turbjax.models.ridge import DEFAULT_ALPHAS, ridge_cv
from turbjax.pipeline import Prepared
from turbjax.scoring import member_log_predictions, predictions, reynolds_report, score
from turbjax.training import metrics as M


@dataclasses.dataclass
class Progress:
    """What the chunk loop measured. The first chunk (compilation) is left out of the steady rate."""

    epoch: int
    steady_epochs: int = 0
    steady_seconds: float = 0.0
    seconds_to_target: float | None = None  # from the start of training (compilation included)
    target_epoch: int | None = None

    @property
    def epochs_per_second(self) -> float | None:
        return self.steady_epochs / self.steady_seconds if self.steady_seconds > 0 else None


def run_results(config, trainer, params, prep: Prepared, progress: Progress, *, ckpt, start_epoch: int,
                wall_seconds: float, data_seconds: float, calibration=None) -> dict:
    """The results dict of a run (written to results.json by the train job): `params` are the selected
    model's (the checkpoint with the lowest validation loss), scored on every part; the test part chooses
    nothing."""
    ds = prep.ds
    test = score(trainer, params, prep, "test")
    val = score(trainer, params, prep, "val")
    train = score(trainer, params, prep, "train")
    rate = progress.epochs_per_second
    results = {
        "model": config.model.name,
        "task": trainer.task,
        "split": config.data.split,
        "target": config.data.target,
        "num_train": len(ds.train.X),
        "num_val": len(ds.val.X),
        "num_test": len(ds.test.X),
        "selected_on": "validation",
        "selected_epoch": ckpt.best_step(),
        "validation": ds.description.partition("; validation: ")[2],
        "num_params": int(sum(x.size for x in jax.tree_util.tree_leaves(params))),
        "epochs": progress.epoch,
        "resumed_from_epoch": start_epoch if start_epoch else None,
        "wall_seconds": wall_seconds,
        "data_seconds": data_seconds,
        "examples_per_second": len(ds.train.X) * rate if rate is not None else None,
        "seconds_per_epoch": (
            progress.steady_seconds / progress.steady_epochs if progress.steady_epochs else None
        ),
        "test_loss": test["loss"],
        "val_loss": val["loss"],
        "train_loss": train["loss"],
        "diverged": False,
        "best_checkpoint_epoch": ckpt.best_step(),
        "latest_checkpoint_epoch": ckpt.latest_step(),
        "backend": jax.default_backend(),
    }
    target = report_target(config)
    if target is not None and trainer.task == "regression":
        # seconds from the start of training (compilation included) to the first epoch with test R^2 >= target
        results["target_test_r2"] = target
        results["seconds_to_target"] = progress.seconds_to_target
        results["target_epoch"] = progress.target_epoch
    for name in ("r2", "mse", "mae", "accuracy"):
        if name in test:
            results[f"test_{name}"] = test[name]
            results[f"val_{name}"] = val[name]
            results[f"train_{name}"] = train[name]
    if trainer.task == "regression" and np.asarray(prep.data["y_test"]).shape[1] == 1:
        results |= scalar_target_summary(trainer, params, prep, has_r2="test_r2" in results,
                                         calibration=calibration)
    if config.model.name == "linear" and trainer.task == "regression":
        results["ridge_cv"] = ridge_cv_baseline(prep, log_target=trainer.log_target)
    if config.data.target == "forecast":
        results |= persistence_baseline(ds)
    return results


def report_target(config) -> float | None:
    """The test R^2 whose first epoch and time results.json records (a measurement; it chooses nothing)."""
    return config.training.report_test_r2


def scalar_target_summary(trainer, params, prep: Prepared, has_r2: bool, calibration=None) -> dict:
    """Mean and spread of the test predictions and the test target values, per Re too (with the calibrated
    intervals' scores, as test_*, given a `calibration`); R^2 null when the targets do not vary (one held-out
    Reynolds number: score() and metrics.jsonl already say so), with a note why."""
    ds = prep.ds
    out = {}
    if np.ptp(np.asarray(ds.test.y)) == 0 and has_r2:
        out["test_r2"] = None
        out["test_r2_note"] = (
            "undefined: every test target has the same value; see test_mae and test_prediction_*"
        )
    pred = predictions(trainer, params, prep.data)[:, 0]
    out["test_prediction_mean"] = float(pred.mean())
    out["test_prediction_std"] = float(pred.std())
    out["test_target_values"] = sorted({float(v) for v in np.unique(ds.test.y)})[:10]
    members = (member_log_predictions(trainer, params, prep.data)
               if calibration is not None and calibration.scaled else None)
    intervals, out["test_per_reynolds"] = reynolds_report(ds.test, pred, calibration, members)
    return out | {f"test_{k}": v for k, v in intervals.items()}


def ridge_cv_baseline(prep: Prepared, alphas=DEFAULT_ALPHAS, log_target: bool = False) -> dict:
    """The closed-form baseline on the same standardized data: ridge with leave-one-out choice of alpha."""
    data = prep.data
    fit = ridge_cv(np.asarray(data["X_train"]), np.asarray(data["y_train"]), alphas)
    scale, mean = np.asarray(data["y_scale"]), np.asarray(data["y_mean"])
    pred = target_from_model(fit.predict(np.asarray(data["X_test"])), mean, scale, log_target)
    y_test = target_from_model(np.asarray(data["y_test"]), mean, scale, log_target)
    return {
        "alpha": fit.alpha,
        "alphas": list(alphas),
        "test_r2": float(M.r2_score(y_test, pred)),
        "equivalent_l2": fit.alpha / len(prep.ds.train.X),
    }


def persistence_baseline(ds) -> dict:
    """Forecast baseline: predict that nothing changes (the target frame = the input frame)."""
    return {
        "persistence_test_r2": float(M.r2_score(ds.test.y, ds.test.X)),
        "persistence_test_mse": float(M.mean_squared_error(ds.test.y, ds.test.X)),
    }
