"""The main job: train one model on the vortex-street data set, checkpoint it, evaluate it, plot it.

    python -m turbjax.train --config configs/default.py --workdir runs/default
    python -m turbjax.train --config configs/default.py --workdir runs/lr --config.optim.learning_rate=3e-4

`main()` only parses flags; `train_and_evaluate(config, workdir) -> results dict` does the work (tests call
it).

Order of work: validate the whole config (names, numbers, typos: before any data is generated or loaded) ->
check an existing workdir (its config.json must describe the same model) -> generate missing data with the
built-in simulator -> build and standardize the data set -> compile -> restore the latest checkpoint if any
-> train in scanned chunks of `training.epochs_per_chunk` epochs (tqdm advances per chunk; metrics.jsonl
gets one line per epoch; a checkpoint every `training.checkpoint_every` epochs) -> results.json and plots.

Workdir:
    config.json         the resolved config
    standardizer.npz    training-set statistics of X and y (evaluate.py standardizes new data with them)
    metrics.jsonl       per epoch: epoch, train_loss, val_ and test_ loss, r2, mse, mae (or accuracy), seconds
    tensorboard/        TensorBoard event files: the same values per epoch and the learning rate
                        (turbjax.tensorboard_log; `tensorboard --logdir runs`)
    results.json        val_ and test_ metrics side by side, "selected_on": "validation", epochs, timing, ...
    calibration.json    the validation residuals behind the 90% intervals (frames and clips)
    novelty.npz         the training features' distribution and the distance beyond which a flow is unlike
                        them (calibrated on validation; turbjax.novelty)
    checkpoints/        orbax: every checkpoint_every epochs, the last keep_checkpoints + the best by
                        validation loss (what evaluate scores by default; the test part never chooses)
    loss_curve.png      train, validation and test loss per epoch (semilog)
    pred_vs_true.png    test predictions against the truth
    reliability.png     coverage of the calibrated intervals on test frames against their nominal level

Rerunning on an existing workdir resumes from its latest checkpoint; since the minibatch order depends only on
(seed, epoch), a resumed run ends with the same parameters as an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import jax
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags
from tqdm.auto import tqdm

from turbjax import cli, tensorboard_log
from turbjax.checks import output_dir
from turbjax.configs.validate import validate_config
from turbjax.pipeline import ensure_data, prepare, trainer_for
from turbjax.plots import plot_reliability, plot_run
from turbjax.results import Progress, report_target, run_results
from turbjax.scoring import is_reynolds_regression, write_trust
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.chunks import Chunk, run_chunks
from turbjax.training.optimizers import default_hparams, learning_rate_after
from turbjax.training.resume import diverged_error, init_or_resume, restore_state
from turbjax.workdir import (
    check_workdir,
    metrics_row,
    read_metrics,
    write_config,
    write_json,
    write_metrics,
    write_standardizer,
)


def train_and_evaluate(config, workdir) -> dict:
    """Run the whole job (see the module docstring); returns the results dict also written to results.json."""
    validate_config(config)
    workdir = output_dir(workdir, "--workdir")
    resuming = check_workdir(config, workdir)
    ensure_data(config.data)

    t_load = time.perf_counter()
    prep = prepare(config)
    load_seconds = time.perf_counter() - t_load
    print(f"turbjax: {prep.ds.summary()} (loaded in {load_seconds:.1f} s)", flush=True)

    t_start = time.perf_counter()
    trainer = trainer_for(config, prep)
    ckpt = Checkpointer(workdir / "checkpoints", keep=int(config.training.keep_checkpoints))
    state = init_or_resume(trainer, config, ckpt)
    if not resuming:  # written only once the workdir is known to hold nothing of another model
        write_config(workdir, config)
    write_standardizer(workdir, prep.stats)
    start_epoch = int(state["epoch"])
    metrics_path = workdir / "metrics.jsonl"
    kept = read_metrics(metrics_path, start_epoch)
    write_metrics(metrics_path, kept)  # drops epochs a killed run logged
    try:
        # the event files are made to hold the same epochs as metrics.jsonl (turbjax.tensorboard_log)
        with tensorboard_log.open_run(workdir, kept, epoch_learning_rate(config, trainer)) as events:
            state, progress = train_chunks(config, trainer, state, prep.data, ckpt, metrics_path, t_start,
                                           events)
    finally:
        ckpt.wait()
    selected = ckpt.best_step()  # by validation loss: the model that is scored on test, once, and calibrated
    params = state["params"]
    if selected is not None and selected != progress.epoch:
        params = restore_state(trainer, config, ckpt, selected)["params"]
    calibration = None
    if is_reynolds_regression(trainer, prep.ds):
        epoch = selected if selected is not None else -1
        calibration = write_trust(workdir, trainer, params, prep, epoch=epoch)
    results = run_results(
        config, trainer, params, prep, progress, ckpt=ckpt, start_epoch=start_epoch,
        wall_seconds=time.perf_counter() - t_start, data_seconds=load_seconds, calibration=calibration,
    )
    write_json(workdir / "results.json", results)
    ckpt.close()
    if config.training.plots:
        plot_run(workdir, read_metrics(metrics_path, progress.epoch), trainer, params, prep.data, prep.ds)
        if results.get("test_reliability"):  # beside pred_vs_true.png: do the intervals hold what they claim?
            plot_reliability(results["test_reliability"], workdir / "reliability.png")
    return results


def epoch_learning_rate(config, trainer):
    """epoch -> the learning rate at its end, for the TensorBoard log."""
    return lambda epoch: learning_rate_after(config.optim, epoch, steps_per_epoch=trainer.steps_per_epoch,
                                             num_epochs=trainer.num_epochs)


def train_chunks(config, trainer, state, data, ckpt, metrics_path: Path, t_start: float,
                 events: tensorboard_log.EventLog | None = None):
    """Train from state["epoch"] to config.training.epochs with the shared chunk loop; after each chunk log
    its epochs (to metrics.jsonl, and to `events`, flushed at the same point), check for divergence,
    checkpoint, and stop early at stop_at_val_r2. Returns (state, Progress)."""
    rate = epoch_learning_rate(config, trainer)
    hparams = default_hparams(config.optim)
    run = jax.jit(trainer.run_epochs, static_argnames="num_epochs", donate_argnames="state")
    t = config.training
    total, every = int(t.epochs), int(t.checkpoint_every)
    progress = Progress(epoch=int(state["epoch"]))
    metric = "val_r2" if trainer.task == "regression" else "val_accuracy"
    bar = tqdm(total=total, initial=progress.epoch, unit="epoch", desc="train", dynamic_ncols=True)

    def after(state, done: Chunk) -> bool:
        m, n = done.metrics, done.epochs
        if not done.compiled:
            progress.steady_epochs += n
            progress.steady_seconds += done.seconds
        rows = log_chunk(log, m, progress, config, trainer.task, n=n, dt=done.seconds, t_start=t_start)
        if events is not None:
            for row in rows:
                events.epoch(row, rate(row["epoch"]))
            events.flush()
        progress.epoch += n
        bar.update(n)
        bar.set_postfix(loss=f"{float(m['train_loss'][-1]):.3g}", **{metric: f"{float(m[metric][-1]):.4f}"})
        if bool(state["diverged"]):
            raise diverged_error(config, state, ckpt)
        epoch = progress.epoch
        stop = (t.stop_at_val_r2 is not None and trainer.task == "regression"
                and bool(np.nanmax(m["val_r2"]) >= t.stop_at_val_r2))
        if epoch % every == 0 or epoch == total or stop:
            ckpt.save(epoch, state, m["val_loss"][-1])
        if stop:
            print(f"turbjax: validation R^2 >= {t.stop_at_val_r2} reached; stopping at epoch {epoch}",
                  flush=True)
        return stop

    try:
        with open(metrics_path, "a") as log:
            state, _ = run_chunks(lambda s, n: run(s, hparams, num_epochs=n, data=data), state,
                                  start=progress.epoch, total=total, chunk=int(t.epochs_per_chunk),
                                  after=after)
    finally:
        bar.close()
    return state, progress


def log_chunk(log, m, progress: Progress, config, task: str, *, n: int, dt: float,
              t_start: float) -> list[dict]:
    """One metrics.jsonl line per epoch of the chunk just run (epochs progress.epoch + 1 .. + n); records the
    first epoch whose test R^2 reaches the report target, and the seconds to it. Returns the lines' dicts."""
    target = report_target(config)
    rows = []
    for i in range(n):
        row = metrics_row(progress.epoch + i + 1, m, i)
        row["seconds"] = dt / n
        log.write(json.dumps(row) + "\n")
        rows.append(row)
        if target is not None and progress.seconds_to_target is None and task == "regression" and (
            m["test_r2"][i] >= target
        ):
            progress.seconds_to_target = time.perf_counter() - t_start - dt * (n - i - 1) / n
            progress.target_epoch = progress.epoch + i + 1
    log.flush()
    return rows


# ------------------------------------------------------------------------------------------------------ CLI


def main(argv=None) -> None:
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
        keys = ("val_r2", "test_r2", "val_accuracy", "test_accuracy", "test_mse", "train_r2", "epochs",
                "wall_seconds")
        print(json.dumps({k: results[k] for k in keys if k in results}, indent=2))

    app.run(_main, argv=argv, flags_parser=cli.absl_flags_parser("turbjax.train"))


if __name__ == "__main__":
    main()
