"""Four ways to make a deep ensemble's 90% interval, compared on validation data first, then on test data.

    python scripts/compare_intervals.py runs/generalization/flagship/mlp_wakestats \
        runs/generalization/realization/mlp_wakestats runs/generalization/heldout_re/mlp_wakestats

For each workdir (a Reynolds-number regression on log Re with model.members > 1, its best checkpoint):
    plain    turbjax's intervals (turbjax.calibration): split-conformal quantiles of the signed log residuals
             r = mean_log_prediction - log Re, the same width in log Re everywhere
    scaled   normalized split-conformal: quantiles of r / s, s the members' standard deviation of their log
             predictions, the interval mean - q * s: wider where the members disagree
    trend    normalized by exp(b m), m the mean log prediction and b the least-squares slope of log |r| on m
             over the calibration residuals: wider at high predicted Re, where the errors are larger
    scaled+trend  both: r / (s exp(b m)), b fitted to log |r / s|
and, for clips, two sets of validation clips to calibrate on:
    whole    the validation runs cut into non-overlapping one-period clips, as the test runs are
    sliding  every one-period window of consecutive validation frames (one starting at each frame): more
             calibration clips from the same runs (a run whose recording holds 1.6 periods gives one whole
             clip but ~6 windows), correlated with each other
The choice between them is made on validation data only: leave-one-Re-out over the validation Reynolds numbers
(calibrate on the others, cover the held-out one), which asks what the interval does for a flow at a Reynolds
number it was not calibrated on. The script prints that first, then each method calibrated on the whole
validation part and scored on the test part (frames), overall and per Re, to report, not to choose.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from turbjax.calibration import LEVEL, TINY, clip_labels, conformal_offsets, scaled  # noqa: E402
from turbjax.scoring import member_log_predictions, restore_workdir  # noqa: E402
from turbjax.workdir import load_run_config  # noqa: E402


def workdir_member_logs(workdir: Path) -> dict:
    """{part: (log predictions (M, N), true Re (N,), clip labels (N,), sliding windows)} for the validation
    and test parts."""
    config = load_run_config(workdir)
    prep, trainer, params, _ = restore_workdir(workdir, config, classes=tuple(sorted(config.data.reynolds)))
    out = {}
    for part in ("val", "test"):
        sub = getattr(prep.ds, part)
        out[part] = (member_log_predictions(trainer, params, prep.data, part),
                     np.asarray(sub.re, np.float64), clip_labels(sub.series, sub.step, sub.period),
                     sliding_windows(sub.series, sub.step, sub.period))
    return out


def clip_level(logm: np.ndarray, re: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The members' log predictions of each whole clip (each member's mean over the clip's frames) and the
    clips' true Re."""
    ids = np.unique(labels[labels >= 0])
    return (np.stack([logm[:, labels == c].mean(axis=1) for c in ids], axis=1),
            np.array([re[labels == c][0] for c in ids]))


def sliding_windows(series, step, clip_steps) -> list[np.ndarray]:
    """Every window of one clip's length (`clip_steps` simulation steps) of consecutive frames of one series,
    one starting at each frame, that ends inside the series' recording; as index arrays."""
    series, step = np.asarray(series), np.asarray(step, np.float64)
    steps = np.broadcast_to(np.asarray(clip_steps, np.float64), series.shape)
    windows = []
    for sid in np.unique(series):
        idx = np.flatnonzero(series == sid)
        idx = idx[np.argsort(step[idx])]
        t, length = step[idx], float(steps[idx[0]])
        if not np.isfinite(length) or len(t) < 2:
            continue
        spacing = float(np.median(np.diff(t)))
        for i in range(len(t)):
            if t[i] + length > t[-1] + spacing + 1e-9:
                break
            windows.append(idx[i:np.searchsorted(t, t[i] + length - 1e-9)])
    return windows


def window_level(logm: np.ndarray, re: np.ndarray, windows) -> tuple[np.ndarray, np.ndarray]:
    """clip_level for windows given as index arrays."""
    return (np.stack([logm[:, w].mean(axis=1) for w in windows], axis=1),
            np.array([re[w[0]] for w in windows]))


def scores(logm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, spread) of the members' log predictions."""
    return logm.mean(0), logm.std(0, ddof=1)


METHODS = ("plain", "scaled", "trend", "scaled+trend")


def trend_slope(z, m, floor: float = 0.05) -> float:
    """Least-squares slope of log |z| on m (|z| plus `floor` times its median, so that residuals near zero do
    not dominate the fit)."""
    a = np.abs(z)
    design = np.stack([np.ones_like(m), m], axis=1)
    return float(np.linalg.lstsq(design, np.log(a + floor * np.median(a)), rcond=None)[0][1])


def normalizer(method: str, cal_r, cal_s, cal_m):
    """scale(s, m): what a method divides the residuals by, fitted on the calibration residuals."""
    if method == "plain":
        return lambda s, m: np.ones_like(m)
    if method == "scaled":
        return lambda s, m: np.maximum(s, TINY)
    if method == "trend":
        b = trend_slope(cal_r, cal_m)
        return lambda s, m: np.exp(b * m)
    b = trend_slope(scaled(cal_r, cal_s), cal_m)
    return lambda s, m: np.maximum(s, TINY) * np.exp(b * m)


def calibrated(method: str, cal_r, cal_s, cal_m):
    """(scale, offsets): a method's normalizer and the conformal quantiles of the normalized calibration
    residuals."""
    scale = normalizer(method, cal_r, cal_s, cal_m)
    return scale, conformal_offsets(cal_r / scale(cal_s, cal_m), LEVEL)


def covered(r, s, m, cal_r, cal_s, cal_m, method: str) -> np.ndarray:
    """Which residuals r (spreads s, mean log predictions m) the interval calibrated on (cal_r, cal_s, cal_m)
    holds."""
    scale, off = calibrated(method, cal_r, cal_s, cal_m)
    z = r / scale(s, m)
    return (z >= off.lo) & (z <= off.hi)


def width_percent(s, m, cal_r, cal_s, cal_m, method: str) -> float:
    scale, off = calibrated(method, cal_r, cal_s, cal_m)
    return float(np.median(100 * (np.exp((off.hi - off.lo) * scale(s, m)) - 1)))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workdirs", nargs="+", type=Path)
    args = p.parse_args()
    for wd in args.workdirs:  # every workdir checked before any is loaded
        if not (wd / "config.json").is_file() or not (wd / "checkpoints").is_dir():
            p.error(f"{wd} is not a turbjax.train workdir (no config.json and checkpoints/ in it)")
        config = load_run_config(wd)
        if not config.data.get("log_target", False) or int(config.model.members) < 2:
            p.error(f"{wd}: needs a log-Re regression with model.members > 1 (has log_target="
                    f"{config.data.get('log_target', False)}, members={config.model.members})")
    for wd in args.workdirs:
        parts = workdir_member_logs(wd)
        print(f"\n== {wd}: validation Re {sorted(set(parts['val'][1].tolist()))}")
        (lv, re_v, lab_v, win_v), (lt, re_t, lab_t, _) = parts["val"], parts["test"]
        compare("frames", (lv, re_v), (lv, re_v), (lt, re_t), METHODS)
        whole, test = clip_level(lv, re_v, lab_v), clip_level(lt, re_t, lab_t)
        print(f"   clips: {whole[1].size} whole validation clips, {len(win_v)} sliding windows")
        for name, cal in (("whole", whole), ("sliding", window_level(lv, re_v, win_v))):
            compare(f"clips, calibrated on {name} validation clips", cal, whole, test, METHODS)


def compare(level: str, cal, val, test, methods) -> None:
    """Leave one validation Re out (calibrate on `cal` at the other Re, cover `val`'s clips or frames at the
    held-out one), then calibrated on all of `cal` and scored on `test`. Each: (member logs, true Re)."""
    (lc, re_c), (lv, re_v), (lt, re_t) = cal, val, test
    mc, sc = scores(lc)
    rc = mc - np.log(re_c)
    mv, sv = scores(lv)
    rv = mv - np.log(re_v)
    print(f"   {level}: validation, leave one Re out (the choice):")
    for m in methods:
        cov = [covered(rv[re_v == re], sv[re_v == re], mv[re_v == re], rc[re_c != re], sc[re_c != re],
                       mc[re_c != re], m).mean()
               for re in np.unique(re_v)]
        print(f"     {m:12s} coverage mean {np.mean(cov):.3f}, worst {np.min(cov):.3f}, "
              f"{np.sum(np.array(cov) < 0.85)}/{len(cov)} Re below 0.85; per Re "
              + " ".join(f"{c:.2f}" for c in cov))
    mt, st = scores(lt)
    rt = mt - np.log(re_t)
    print(f"   {level}: test, calibrated on all of them (reported, not chosen on):")
    for m in methods:
        c = covered(rt, st, mt, rc, sc, mc, m)
        per = " ".join(f"{re:g}: {c[re_t == re].mean():.2f}" for re in np.unique(re_t))
        w = width_percent(st, mt, rc, sc, mc, m)
        print(f"     {m:12s} coverage {c.mean():.3f}, median width {w:.1f}% of Re; per Re {per}")


if __name__ == "__main__":
    main()
