"""Scoring a trained model: metrics of one split, predictions in original units, how each Reynolds number
fares, and a whole training workdir scored on its own data or on any other data directory.

    scores = evaluate_workdir("runs/default", data_dir="data/other")  # `python -m turbjax.evaluate`
    score(trainer, params, prep, "test")            # {'loss', 'r2', 'mse', 'mae'} or {'loss', 'accuracy'}

The run's config.json rebuilds the model and the preprocessing; inputs and targets are standardized with the
*training* statistics saved in standardizer.npz, never refitted. A classifier is scored against its own
classes (the run's Reynolds numbers). Metrics are in original units; R^2 is None where the test targets take
one value. Nothing is written.
"""

from __future__ import annotations

import math
from pathlib import Path

import jax
import numpy as np

from turbjax.calibration import (
    LEVEL,
    Calibration,
    clip_estimates,
    clip_labels,
    clip_spread,
    clip_truth,
    coverage,
    coverage_range,
    fit_calibration,
    interval,
    log_residuals,
    member_log_re,
    member_spread,
    reliability,
    scaled,
    width_percent,
)
from turbjax.checks import fail
from turbjax.data import discovery
from turbjax.data.dataset import missing_files
from turbjax.data.readers import reader
from turbjax.data.series import frame_spacing
from turbjax.data.splits import SPLITS
from turbjax.data.standardize import target_from_model
from turbjax.data.units import UNITS
from turbjax.novelty import Novelty, fit_novelty, run_family
from turbjax.pipeline import Prepared, prepare, trainer_for
from turbjax.training import metrics as M
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.resume import restore_state
from turbjax.workdir import (
    finite_or_none,
    load_run_config,
    read_calibration,
    read_standardizer,
    write_calibration,
    write_novelty,
)

SCORE_SPLITS = ("all",) + SPLITS  # "all": every sample of the data as the test set
CHECKPOINTS = ("best", "latest")
CLIP_PERIODS = (1.0, 2.0, 4.0)  # the clip lengths (shedding periods) each test run's clip MAE is given for


def score(trainer, params, prep: Prepared, split: str) -> dict:
    """Final metrics of one split in original units (+ R^2 of the predicted class's Re for softmax); None
    where a metric is undefined (R^2 of targets that take one value)."""
    x, y = prep.data[f"X_{split}"], prep.data[f"y_{split}"]
    ev = {k: finite_or_none(v) for k, v in jax.jit(trainer.evaluate)(params, x, y, prep.data).items()}
    if trainer.task == "softmax":
        logits = np.asarray(jax.jit(trainer.predict)(params, x))
        re_pred = np.asarray(prep.classes, np.float64)[logits.argmax(-1)]
        re_true = np.asarray(getattr(prep.ds, split).re, np.float64)
        ev["r2"] = finite_or_none(M.r2_score(re_true, re_pred))
    return ev


def predictions(trainer, params, data: dict, split: str = "test") -> np.ndarray:
    """Predictions in original units (regression) or predicted class indices / 0-1 labels."""
    out = np.asarray(jax.jit(trainer.predict)(params, data[f"X_{split}"]))
    if trainer.task == "regression":
        return target_from_model(out, np.asarray(data["y_mean"]), np.asarray(data["y_scale"]),
                                 trainer.log_target)
    return (out[:, 0] > 0).astype(np.int32) if trainer.task == "binary" else out.argmax(-1)


def member_log_predictions(trainer, params, data: dict, split: str = "test") -> np.ndarray:
    """(M, N) each ensemble member's log prediction of Re (M = 1 for a single model; NaN where a member's
    prediction is not a positive Re): what a scaled calibration's spreads come from."""
    out = np.asarray(jax.jit(trainer.predict_members)(params, data[f"X_{split}"]))[..., 0]
    return member_log_re(out, data["y_mean"], data["y_scale"], trainer.log_target)


def per_reynolds(re_true, re_pred) -> list[dict]:
    """For each true Reynolds number: samples, mean and spread of the predictions, the mean absolute error and
    that error as a percentage of Re (what "knows the Reynolds number" means per flow)."""
    re_true, re_pred = np.asarray(re_true, np.float64), np.asarray(re_pred, np.float64)
    rows = []
    for re in np.unique(re_true):
        p = re_pred[re_true == re]
        mae = float(np.mean(np.abs(p - re)))
        rows.append({
            "re": float(re), "n": int(p.size), "prediction_mean": float(p.mean()),
            "prediction_std": float(p.std()), "mae": mae, "mae_percent": 100 * mae / float(re),
        })
    return rows


def is_reynolds_regression(trainer, ds) -> bool:
    """A regression on the Reynolds number (one output): the models that intervals and clips apply to."""
    return trainer.task == "regression" and ds.target == "reynolds" and ds.test.y.ndim == 1


def calibrate(trainer, params, prep: Prepared, *, epoch: int = -1, level: float = LEVEL) -> Calibration:
    """The run's calibration: residuals of its validation frames, and of its validation clips (one shedding
    period of consecutive frames of a run, where the period is known)."""
    v = prep.ds.val
    pred = predictions(trainer, params, prep.data, "val")[:, 0]
    return fit_calibration(v.re, pred, clip_labels(v.series, v.step, v.period), level=level, epoch=epoch,
                           member_log=member_log_predictions(trainer, params, prep.data, "val"))


def novelty_of(prep: Prepared) -> Novelty:
    """The novelty test (turbjax.novelty, frames and runs) of a prepared data set: fitted on its standardized
    training features and runs, its thresholds on the validation part."""
    return fit_novelty(prep.data["X_train"], prep.data["X_val"], train_series=prep.ds.train.series,
                       val_series=prep.ds.val.series, train_re=prep.ds.train.re,
                       train_family=run_family(prep.ds.train), val_steps=prep.ds.val.step)


def write_trust(workdir, trainer, params, prep: Prepared, *, epoch: int = -1) -> Calibration:
    """What a Reynolds-number regression's workdir needs to answer with intervals and to say when a flow is
    unlike its training flows: calibration.json (`calibrate`) and novelty.npz (turbjax.novelty, fitted on the
    standardized training features, its threshold on validation). Train and a sweep's best trial both write
    them here. Returns the calibration."""
    calibration = calibrate(trainer, params, prep, epoch=epoch)
    write_calibration(workdir, calibration)
    write_novelty(workdir, novelty_of(prep))
    return calibration


def interval_scores(part, pred, cal: Calibration, member_log=None) -> tuple[dict, list[dict]]:
    """How the calibrated intervals fare on a part of the data (a Subset with its frame predictions `pred`,
    and for a scaled calibration its members' log predictions `member_log`): (overall, per Reynolds number)
    coverage of the nominal interval for frames and clips with its range over resampled runs
    (calibration.coverage_range; None for one run), median width in % of Re, clip MAE in % of Re, mean
    interval bounds; None where there are no clips. The overall block also lists the same per run
    ("per_run": Re, realization, frames, mean prediction, frame MAE %, the interval scores, and the clip MAE
    for clips of each of CLIP_PERIODS and of the whole recording: "clip_length_mae_percent", see
    clip_length_errors)."""
    re = np.asarray(part.re, np.float64)
    labels = clip_labels(part.series, part.step, part.period)
    est, ids = clip_estimates(pred, labels)
    spread = c_spread = None
    if cal.scaled:
        if member_log is None:
            fail("a scaled calibration needs the members' predictions (member_log) to draw intervals")
        spread, c_spread = member_spread(member_log), clip_spread(member_log, labels)
    low, high = interval(pred, cal.offsets(), spread)
    clip_re = clip_truth(re, labels, ids) if ids.size else np.zeros(0)
    clip_off = cal.offsets(clips=True)
    clip_low, clip_high = ((None, None) if clip_off is None or not ids.size else
                           interval(est, clip_off, c_spread))

    series = np.asarray(part.series)
    clip_series = np.array([series[labels == c][0] for c in ids], series.dtype)
    with np.errstate(invalid="ignore"):
        held = (low <= re) & (re <= high)

    def block(frames, clips) -> dict:
        with np.errstate(invalid="ignore"):  # a frame without an interval (Re <= 0 predicted) has no bounds
            width = width_percent(low[frames], high[frames], re[frames])
            out = {"coverage": coverage(re[frames], low[frames], high[frames]),
                   "coverage_range": coverage_range(held[frames], series[frames], cal.level),
                   "num_runs": int(np.unique(series[frames]).size),
                   "interval_width_percent": finite_or_none(width),
                   "interval_low_mean": finite_or_none(np.nanmean(low[frames])),
                   "interval_high_mean": finite_or_none(np.nanmean(high[frames])),
                   "clip_coverage": None, "clip_coverage_range": None, "clip_mae_percent": None,
                   "num_clips": int(clips.sum())}
        if clips.any():
            err = 100 * np.abs(est[clips] - clip_re[clips]) / clip_re[clips]
            out["clip_mae_percent"] = finite_or_none(np.mean(err))
            if clip_low is not None:
                out["clip_coverage"] = coverage(clip_re[clips], clip_low[clips], clip_high[clips])
                out["clip_coverage_range"] = coverage_range(
                    (clip_low[clips] <= clip_re[clips]) & (clip_re[clips] <= clip_high[clips]),
                    clip_series[clips], cal.level)
                out["clip_interval_width_percent"] = finite_or_none(
                    width_percent(clip_low[clips], clip_high[clips], clip_re[clips]))
        return out

    overall = block(np.ones(re.size, bool), np.ones(ids.size, bool))
    rows = [{"re": float(r)} | block(re == r, clip_re == r) for r in np.unique(re)]
    realization = np.asarray(part.realization)
    lengths = clip_length_errors(part, pred, CLIP_PERIODS)  # one row per series, in np.unique order
    overall["per_run"] = [  # which runs are off: what pooled coverages and their ranges are rebuilt from
        {"re": float(re[m][0]), "realization": int(realization[m][0]), "num_frames": int(m.sum()),
         "prediction_mean": finite_or_none(np.nanmean(pred[m])),
         "mae_percent": finite_or_none(100 * np.mean(np.abs(pred[m] - re[m]) / re[m]))}
        | {k: v for k, v in block(m, clip_series == sid).items() if not k.endswith("_range")}
        | {"clip_length_mae_percent": {k: v for k, v in length.items() if k != "re"}}
        for sid, length in zip(np.unique(series), lengths, strict=True) for m in [series == sid]]
    overall["level"] = cal.level
    test_r = log_residuals(re, pred)
    overall["reliability"] = (reliability(scaled(cal.frame, cal.frame_spread), scaled(test_r, spread))
                              if cal.scaled else reliability(cal.frame, test_r))
    return overall, rows


def reynolds_report(part, pred, cal: Calibration | None = None, member_log=None) -> tuple[dict, list[dict]]:
    """How each Reynolds number of a part fares (per_reynolds), each row with its calibrated intervals'
    scores when `cal` is given (and the members' log predictions for a scaled one): (the overall interval
    scores, {} without `cal`; the per-Re rows)."""
    rows = per_reynolds(part.re, pred)
    if cal is None:
        return {}, rows
    overall, interval_rows = interval_scores(part, pred, cal, member_log)
    for row, extra in zip(rows, interval_rows, strict=True):
        row |= {k: v for k, v in extra.items() if k != "re"}
    return overall, rows


def scoring_data_config(data_config, *, data_dir=None, fmt=None, trust_pickle=None, reynolds=None,
                        split=None, realizations=None, units=None):
    """The run's data config pointed at other data: `data_dir` (its format detected from the file names
    unless `fmt`), at the Reynolds numbers it holds (or `reynolds`), with `split` ("all" by default when the
    data is another directory, else the run's own split), every file it holds at those Re, plain runs and
    realizations alike (data.every_file; or the `realizations` given).
    Returns (data config, split); for "all" the data config's split is "random" (which drops no sample) and
    the caller scores every sample (prepare(..., every_sample_as_test=True))."""
    d = data_config.copy_and_resolve_references()
    if units is not None:
        if units not in UNITS:
            fail(f"units={units!r}; expected one of {UNITS}")
        d.units = units
    if data_dir is not None:
        d.dir = str(data_dir)
        d.format = fmt or discovery.detect_format(data_dir, prefer=d.format)
    elif fmt is not None:
        d.format = fmt
    if trust_pickle is not None or data_dir is not None:  # other files: the run's opt-in does not carry over
        d.trust_pickle = bool(trust_pickle)
    r = reader(d.format)
    if r.needs_trust and not d.trust_pickle:
        raise PermissionError(f"{d.dir} holds {r.label} files: {r.trust_hint.format(src=d.dir)} (here: pass "
                              f"--trust-pickle)")
    if data_dir is not None:  # what the run trained on says nothing about which files another directory holds
        series = discovery.available_series(d.dir, d.format)
        d.realizations = tuple(sorted({k for _, k in series if k != discovery.PLAIN}))
        d.every_file = realizations is None  # the directory's every run, whichever realizations it holds
        d.exclude_reynolds, d.test_dir, d.test_reynolds, d.test_realizations = (), "", (), ()
    if realizations is not None:
        d.realizations = tuple(int(k) for k in realizations)
    if reynolds is not None:
        d.reynolds = tuple(float(x) for x in reynolds)
    elif data_dir is not None and d.every_file:
        d.reynolds = tuple(sorted({re for re, _ in series}))
    elif data_dir is not None:
        d.reynolds = tuple(discovery.available_reynolds(d.dir, d.format, d.realizations))
    if data_dir is not None and r.simulated:
        # the simulator's files: every recorded frame (the directory's own spacing; for files recorded at
        # different spacings, their least common multiple: the finest spacing every file read can be sampled
        # at); other formats keep the run's sampling (the course's files: every 5th of their 2-step frames)
        ks = set(d.realizations) or {discovery.PLAIN}
        read = [(re, k) for re, k in series if re in d.reynolds and (d.every_file or k in ks)]
        if read:
            d.sample_every_steps = math.lcm(*(_whole_spacing(r, d, re, k) for re, k in read))
    split = split or ("all" if data_dir is not None else d.split)
    if split not in SCORE_SPLITS:
        fail(f"split={split!r} is unknown; expected one of {SCORE_SPLITS}")
    d.split = "random" if split == "all" else split
    return d, split


def _whole_spacing(r, d, re: float, k: int) -> int:
    """Steps between the frames of the file of (re, k) on the reference clock, a whole number."""
    path = discovery.data_path(d.dir, re, d.format, k)
    _, _, meta = r.header(path, trust_pickle=d.trust_pickle)
    spacing = frame_spacing(meta, d.units, path)
    if not float(spacing).is_integer():
        fail(f"{path}: its frames are {spacing:g} steps apart on the reference clock, not a whole "
             "number; score it with `python -m turbjax.predict` (every frame), or with --units file")
    return int(spacing)


def evaluate_workdir(workdir, data_dir=None, checkpoint: str = "best", *, fmt: str | None = None,
                     trust_pickle: bool | None = None, reynolds=None, split: str | None = None,
                     realizations=None, units: str | None = None) -> dict:
    """{'epoch', 'checkpoint', 'data_dir', 'format', 'reynolds', 'split', 'summary', 'num_test', 'test':
    metrics, 'val' and 'train': metrics (absent for split 'all'), 'test_per_reynolds' (Reynolds-number
    regressions)}
    for the chosen checkpoint: 'best' (lowest validation loss among those kept) or 'latest'. For a
    Reynolds-number regression whose calibration.json belongs to that checkpoint, the test block and each
    per-Re entry also give the 90% intervals' coverage and width for frames and clips (interval_scores).
    `data_dir` and the rest: see scoring_data_config."""
    if checkpoint not in CHECKPOINTS:
        fail(f"checkpoint={checkpoint!r}; expected one of {CHECKPOINTS}")
    workdir = Path(workdir)
    config = load_run_config(workdir)
    classes = tuple(sorted(float(r) for r in config.data.reynolds))  # the model's (its training data's)
    config.data, split = scoring_data_config(
        config.data, data_dir=data_dir, fmt=fmt, trust_pickle=trust_pickle, reynolds=reynolds, split=split,
        realizations=realizations, units=units,
    )
    missing = missing_files(config.data)
    if missing:
        raise FileNotFoundError(
            f"no data to evaluate on: missing {[str(p) for p in missing]}; pass --data DIR with the files, "
            f"or generate them with `python -m turbjax.simulate`"
        )
    prep, trainer, params, step = restore_workdir(workdir, config, checkpoint, classes=classes,
                                                  every_sample_as_test=split == "all")
    ds = prep.ds
    scores = {
        "epoch": int(step),
        "checkpoint": checkpoint,
        "data_dir": str(config.data.dir),
        "format": config.data.format,
        "reynolds": sorted(float(r) for r in config.data.reynolds),
        "split": split,
        "summary": ds.summary() if split != "all" else _all_frames_summary(ds),
        "num_test": len(ds.test.X),
        "test": score(trainer, params, prep, "test"),
    }
    if split != "all":
        scores["val"] = score(trainer, params, prep, "val")
        scores["train"] = score(trainer, params, prep, "train")
        scores["num_val"], scores["num_train"] = len(ds.val.X), len(ds.train.X)
    if is_reynolds_regression(trainer, ds):  # the Reynolds number: how each flow fares, with intervals
        pred = predictions(trainer, params, prep.data)[:, 0]
        cal = read_calibration(workdir)
        usable = cal is not None and cal.epoch == int(step)
        members = member_log_predictions(trainer, params, prep.data) if usable and cal.scaled else None
        overall, scores["test_per_reynolds"] = reynolds_report(ds.test, pred, cal if usable else None,
                                                               members)
        scores["test"] |= overall
        if not usable:
            scores["interval_note"] = (
                "no intervals: " + ("the run has no calibration.json" if cal is None else
                                    f"calibration.json is for epoch {cal.epoch}, this checkpoint is {step}")
            )
        if np.ptp(ds.test.y) == 0:
            scores["test_r2_note"] = (
                f"undefined: every test sample has Re {float(ds.test.y[0]):g}; see test mae")
    return scores


def restore_workdir(workdir, config=None, checkpoint: str = "best", *, classes=None,
                    every_sample_as_test: bool = False):
    """(prep, trainer, params, step): a workdir's data prepared with its training statistics (its own
    config.json, or `config` pointed at other data) and the parameters of its 'best' or 'latest'
    checkpoint."""
    workdir = Path(workdir)
    config = load_run_config(workdir) if config is None else config
    ckpt_dir = workdir / "checkpoints"
    if not ckpt_dir.exists():
        raise FileNotFoundError(f"{ckpt_dir} does not exist: no checkpoint to evaluate")
    ckpt = Checkpointer(ckpt_dir, read_only=True)
    step = ckpt.best_step() if checkpoint == "best" else ckpt.latest_step()
    if step is None:
        raise FileNotFoundError(f"{ckpt_dir} holds no checkpoint")
    prep = prepare(config, read_standardizer(workdir), classes=classes,
                   every_sample_as_test=every_sample_as_test)
    trainer = trainer_for(config, prep)
    params = restore_state(trainer, config, ckpt, step)["params"]
    ckpt.close()
    return prep, trainer, params, step


def clip_length_errors(part, pred, periods) -> list[dict]:
    """How long a recording an estimate needs: for each run (series) of a part, its true Re ("re"), the
    error (% of Re) of the estimate from the whole run ("whole") and the mean absolute error of the
    estimates from non-overlapping clips of each length in `periods` (shedding periods; key f"{n:g}"; None
    where the run's recording is shorter than that or an estimate is undefined)."""
    rows = []
    for sid in np.unique(part.series):
        m = part.series == sid
        re, p, step, period = float(part.re[m][0]), pred[m], part.step[m], float(part.period[m][0])
        whole = clip_estimates(p, np.zeros(p.size, np.int64))[0][0]
        row = {"re": re, "whole": float(100 * abs(whole - re) / re) if np.isfinite(whole) else None}
        span = np.ptp(step) + (np.median(np.diff(np.sort(step))) if step.size > 1 else 0.0)  # recorded steps
        for n in periods:
            est, _ = clip_estimates(p, clip_labels(np.zeros(p.size, np.int64), step, n * period))
            ok = est.size and np.all(np.isfinite(est)) and span >= n * period * (1 - 1e-9)
            row[f"{n:g}"] = float(100 * np.mean(np.abs(est - re)) / re) if ok else None
        rows.append(row)
    return rows


def _all_frames_summary(ds) -> str:
    h, w = ds.image_shape
    return (f"{len(ds.test.X)} test samples (every frame) of {h}x{w} = {ds.n_features} features, "
            f"Re {list(ds.classes)}, target {ds.target!r}")
