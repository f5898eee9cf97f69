"""Calibrated intervals for the Reynolds number: split-conformal on validation data, for single frames and for
clips of consecutive frames of one run.

A model's point prediction p of Re is turned into an interval through the signed log residual
r = log p - log Re of validation samples, which it never trained on. For a nominal level 1 - a the interval
is [p exp(-q_hi), p exp(-q_lo)], where q_lo and q_hi are the conformal a/2 and 1 - a/2 quantiles of the
validation residuals (the order statistics ceil((n + 1) q)): if validation and test residuals are
exchangeable, each side misses with probability at most a/2. Signed quantiles, not |r|, because a model
that is biased on unseen flows (too low, say) should get an interval shifted the same way; log space because
the errors grow with Re (the widths come out in % of Re).

For a deep ensemble (model.members > 1) the residuals are scaled by the members' spread s, the standard
deviation of their log predictions (normalized split-conformal): the quantiles are those of r / s and the
interval is [p exp(-q_hi s), p exp(-q_lo s)], wider where the members disagree. Chosen on validation data
(scripts/compare_intervals.py: leaving one validation Re out at a time, the scaled intervals' worst held-out
coverage was higher on the flagship, realization and heldout_re splits); a single model has no spread and
keeps the plain residuals.

A clip is K consecutive frames of one run (one shedding period by default): its estimate is the geometric
mean of the frames' predictions, and its interval is calibrated on validation clips in the same way. The
frames of a clip are correlated, so dividing the frame interval by sqrt(K) would be too narrow; the clips'
own residuals measure how much averaging helps.

    cal = fit_calibration(re_val, pred_val, clip_labels(series_val, step_val, period_val), level=0.9)
    low, high = interval(pred_test, cal.offsets())
    est, ids = clip_estimates(pred_test, clip_labels(series_test, step_test, period_test))
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail
from turbjax.data.standardize import target_from_model

LEVEL = 0.9  # the nominal coverage of the reported intervals
RELIABILITY_LEVELS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


class Offsets(NamedTuple):
    """Conformal quantiles (q_lo, q_hi) of validation log residuals at one level, and how many there were."""

    lo: float
    hi: float
    n: int


class Calibration(NamedTuple):
    """The validation residuals an interval is calibrated on (any level can be drawn from them), and, for an
    ensemble, the members' spreads they are scaled by (empty: plain residuals)."""

    level: float  # the nominal coverage reported by default
    frame: np.ndarray  # signed log residuals of validation frames
    clip: np.ndarray  # of validation clips (empty: no whole clip)
    epoch: int = -1  # the checkpoint whose predictions they are (-1: not recorded)
    frame_spread: np.ndarray = np.zeros(0)  # members' spread of each validation frame (empty: not scaled)
    clip_spread: np.ndarray = np.zeros(0)

    @property
    def scaled(self) -> bool:
        return self.frame_spread.size > 0

    def offsets(self, level: float | None = None, *, clips: bool = False) -> Offsets | None:
        r = self.clip if clips else self.frame
        if self.scaled:
            r = scaled(r, self.clip_spread if clips else self.frame_spread)
        return conformal_offsets(r, self.level if level is None else level) if r.size else None

    def to_json(self) -> dict:
        return {"level": self.level, "epoch": self.epoch, "frame_residuals": self.frame.tolist(),
                "clip_residuals": self.clip.tolist(), "frame_spreads": self.frame_spread.tolist(),
                "clip_spreads": self.clip_spread.tolist(), "method": SCALED if self.scaled else METHOD}

    @classmethod
    def from_json(cls, d: dict) -> Calibration:
        return cls(float(d["level"]), np.asarray(d["frame_residuals"], np.float64),
                   np.asarray(d["clip_residuals"], np.float64), int(d.get("epoch", -1)),
                   np.asarray(d.get("frame_spreads", []), np.float64),
                   np.asarray(d.get("clip_spreads", []), np.float64))


METHOD = ("split-conformal on validation: signed log residuals log(pred) - log(Re), quantiles a/2 and "
          "1 - a/2 (frames; clips of one shedding period, their geometric mean)")
SCALED = ("normalized split-conformal on validation: signed log residuals log(pred) - log(Re) divided by "
          "the ensemble members' standard deviation of log(pred), quantiles a/2 and 1 - a/2 (frames; "
          "clips of one shedding period, their geometric mean and the spread of the members' clip means)")
TINY = 1e-12  # a spread floor: members that agree to the last bit must not divide by zero


def scaled(residuals, spread) -> np.ndarray:
    """r / s: residuals in units of the members' spread."""
    return np.asarray(residuals, np.float64) / np.maximum(np.asarray(spread, np.float64), TINY)


def member_spread(member_log) -> np.ndarray | None:
    """(N,) standard deviation over an ensemble's members of their log predictions (M, N); None for a single
    model (M = 1). NaN where a member's prediction was not a positive Re."""
    m = np.asarray(member_log, np.float64)
    return m.std(axis=0, ddof=1) if m.shape[0] > 1 else None


def clip_spread(member_log, labels) -> np.ndarray | None:
    """The members' spread of their clips' estimates (each member's mean log prediction over the clip)."""
    m, labels = np.asarray(member_log, np.float64), np.asarray(labels)
    if m.shape[0] < 2:
        return None
    ids = np.unique(labels[labels >= 0])
    return np.array([m[:, labels == c].mean(axis=1).std(ddof=1) for c in ids])


def log_re(re_pred) -> np.ndarray:
    """log of predicted Reynolds numbers; NaN where a prediction is not positive (log Re is undefined)."""
    re_pred = np.asarray(re_pred, np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(re_pred > 0, np.log(np.where(re_pred > 0, re_pred, 1.0)), np.nan)


def member_log_re(z, y_mean, y_scale, log_target: bool) -> np.ndarray:
    """Standardized model outputs z (an ensemble's members', (M, N)) -> log Re (NaN where a member's Re is not
    positive): on a log target the unstandardized output itself."""
    z = np.asarray(z, np.float64)
    t = np.asarray(target_from_model(z, np.asarray(y_mean), np.asarray(y_scale), False))
    return t if log_target else log_re(t)


def log_residuals(re_true, re_pred) -> np.ndarray:
    """log(prediction) - log(truth); NaN where a prediction is not positive (log Re is undefined there: such a
    frame counts as a miss of every interval, and in calibration as the largest residual)."""
    re_true = np.asarray(re_true, np.float64)
    if np.any(re_true <= 0):
        fail(f"true Reynolds numbers must be > 0; got {re_true.min():g}")
    return log_re(re_pred) - np.log(re_true)


def conformal_offsets(residuals, level: float = LEVEL) -> Offsets:
    """Split-conformal quantiles of signed residuals: the ceil((n+1)(a/2))-th and ceil((n+1)(1-a/2))-th
    smallest, a = 1 - level (clamped to the sample: with too few residuals the interval is the range)."""
    r = np.asarray(residuals, np.float64).ravel()
    r = np.sort(np.where(np.isnan(r), np.inf, r))  # an undefined residual: the worst there is
    if r.size == 0:
        fail("no validation residuals to calibrate on; the split's validation part is empty")
    if not 0 < level < 1:
        fail(f"level={level!r} must lie strictly between 0 and 1, e.g. 0.9")
    a = 1.0 - level
    n = r.size
    eps = 1e-9  # (n + 1) * a / 2 is often an integer, which rounding must not move
    k_lo = max(math.floor((n + 1) * (a / 2) + eps), 1)
    k_hi = min(math.ceil((n + 1) * (1 - a / 2) - eps), n)
    return Offsets(lo=float(r[k_lo - 1]), hi=float(r[k_hi - 1]), n=int(n))


def interval(pred, offsets: Offsets, spread=None) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) around predictions of Re: log p - q_hi <= log Re <= log p - q_lo, the offsets in units of
    the members' spread where one is given (a scaled calibration)."""
    pred = np.asarray(pred, np.float64)
    pred = np.where(pred > 0, pred, np.nan)  # no interval around a non-positive Re
    s = 1.0 if spread is None else np.maximum(np.asarray(spread, np.float64), TINY)
    with np.errstate(over="ignore", invalid="ignore"):
        return pred * np.exp(-offsets.hi * s), pred * np.exp(-offsets.lo * s)


def clip_labels(series, step, clip_steps) -> np.ndarray:
    """Clip index per sample (-1: not in a whole clip): within each series (an integer id per sample), the
    samples are cut into non-overlapping windows of `clip_steps` simulation steps (a number, or one per
    sample: the series' first value counts; NaN: that series has no clips) from the series' first sample; a
    window is a clip if it holds as many samples as the series' fullest window, up to one (a period that is
    not a whole number of sample spacings alternates between n and n + 1; a last, partial window is
    dropped). Clip ids are consecutive integers over all series."""
    series, step = np.asarray(series), np.asarray(step, np.float64)
    steps = np.broadcast_to(np.asarray(clip_steps, np.float64), series.shape)
    labels = np.full(series.shape, -1, np.int64)
    next_id = 0
    for s in np.unique(series):
        idx = np.flatnonzero(series == s)
        length = float(steps[idx[0]])
        if not np.isfinite(length):
            continue
        if not length > 0:
            fail(f"clip_steps={length!r} must be > 0 (simulation steps per clip)")
        window = np.floor((step[idx] - step[idx].min()) / length).astype(np.int64)
        counts = np.bincount(window)
        full = counts >= max(counts.max() - 1, 1)
        ids = np.cumsum(full) - 1 + next_id
        labels[idx] = np.where(full[window], ids[window], -1)
        next_id += int(full.sum())
    return labels


def clip_estimates(pred, labels) -> tuple[np.ndarray, np.ndarray]:
    """(estimate per clip, clip ids): the geometric mean of each clip's frame predictions."""
    labels = np.asarray(labels)
    ids = np.unique(labels[labels >= 0])
    logp = log_re(pred)
    return np.array([np.exp(logp[labels == c].mean()) for c in ids]), ids


def clip_truth(re_true, labels, ids) -> np.ndarray:
    """The true Re of each clip (one value per clip: its frames share a run)."""
    re_true, labels = np.asarray(re_true, np.float64), np.asarray(labels)
    return np.array([re_true[labels == c][0] for c in ids])


def fit_calibration(re_true, re_pred, clip_ids=None, *, member_log=None, level: float = LEVEL,
                    epoch: int = -1) -> Calibration:
    """Validation residuals of every frame, and of the whole clips in `clip_ids` (None or no whole clip:
    none); with an ensemble's member log predictions `member_log` (M > 1, N), their spreads too (a scaled
    calibration)."""
    frame = log_residuals(re_true, re_pred)
    clip = np.zeros(0)
    has_clips = clip_ids is not None and np.any(np.asarray(clip_ids) >= 0)
    if has_clips:
        est, ids = clip_estimates(re_pred, clip_ids)
        clip = log_residuals(clip_truth(re_true, clip_ids, ids), est)
    spread = None if member_log is None else member_spread(member_log)
    if spread is None:
        f_spread = c_spread = np.zeros(0)
    else:
        f_spread = spread
        c_spread = clip_spread(member_log, clip_ids) if has_clips else np.zeros(0)
    conformal_offsets(frame, level)  # refuses an empty validation part or a bad level now
    return Calibration(level=float(level), frame=frame, clip=clip, epoch=int(epoch), frame_spread=f_spread,
                       clip_spread=c_spread)


def coverage(re_true, low, high) -> float:
    """Fraction of intervals that hold the truth (an undefined interval holds nothing)."""
    re_true = np.asarray(re_true, np.float64)
    return float(np.mean((low <= re_true) & (re_true <= high)))


def coverage_range(hits, groups, level: float = LEVEL, draws: int = 4000, seed: int = 0):
    """How far a measured coverage could move with other runs like these: [low, high], the central `level`
    range of the coverage over resamplings of whole groups (runs) with replacement (a cluster bootstrap: the
    frames and clips of one run share its flow, so they do not count as independent); None with fewer than
    two groups. `hits`: whether each interval held the truth; `groups`: the run of each."""
    hits, groups = np.asarray(hits, bool), np.asarray(groups)
    names, index = np.unique(groups, return_inverse=True)
    if names.size < 2:
        return None
    held = np.bincount(index, weights=hits, minlength=names.size)
    size = np.bincount(index, minlength=names.size).astype(np.float64)
    counts = np.random.default_rng(seed).multinomial(names.size, np.full(names.size, 1 / names.size), draws)
    resampled = (counts @ held) / (counts @ size)
    tail = (1 - level) / 2
    return [float(np.quantile(resampled, tail)), float(np.quantile(resampled, 1 - tail))]


def width_percent(low, high, re_true) -> float:
    """Median interval width in % of the true Re (over the defined intervals; NaN if none is)."""
    w = 100 * (np.asarray(high) - np.asarray(low)) / np.asarray(re_true, np.float64)
    return float(np.nanmedian(w)) if np.any(np.isfinite(w)) else float("nan")


def reliability(val_residuals, test_residuals, levels=RELIABILITY_LEVELS) -> list[dict]:
    """Coverage of test residuals by the conformal intervals of validation residuals, per nominal level
    (both scaled by their spreads for a scaled calibration)."""
    rows = []
    for level in levels:
        off = conformal_offsets(val_residuals, level)
        r = np.asarray(test_residuals, np.float64)  # NaN: a miss
        rows.append({"level": float(level), "coverage": float(np.mean((r >= off.lo) & (r <= off.hi)))})
    return rows
