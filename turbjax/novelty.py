"""Is a sample like the ones a model learned from? The Mahalanobis distance of its standardized features from
the training set's, and a threshold calibrated on the validation part.

The validation part is as novel as the test part (other realizations, other Reynolds numbers, other numerics),
so its distances say how far a flow the model does answer for may lie. A frame farther than the QUANTILE
quantile of the validation frames' distances is unlike anything the model was trained or validated on; a run
whose median frame is that far is out of distribution, and its estimate is an extrapolation, not a
measurement (turbjax.predict says so instead of printing an interval).

A frame's distance is dominated by the frame's own noise (the phase of the shedding, the wandering wake), so a
flow whose statistics differ from every training flow's by less than that noise, the same way in every frame,
passes the frame test. The run test sees it: the mean of a run's standardized features (over at least
MIN_RUN_FRAMES frames spanning at least MIN_SPAN_FRACTION of the shortest validation run's time: a shorter
recording's mean carries the shedding phase, and its distance grows with that, not with novelty) against the
training runs' means, in units of the features' frame-to-frame scatter
within a run (root mean square over the features), with its threshold at the QUANTILE quantile of the
validation runs' distances. The distance is to the nearest segment joining two training runs of one family
(one directory and realization) at neighbouring Reynolds numbers: a flow between two training Reynolds
numbers lies between their runs, not at either. A run is out of distribution if either test says so.
"""

from __future__ import annotations

import dataclasses

import numpy as np

QUANTILE = 0.995
RIDGE = 1e-6  # relative to the covariance's mean eigenvalue: a finite precision for collinear features
MAX_FULL = 512  # more features (pixels, spectra): a diagonal covariance (the full one would cost F^2 memory)
MIN_RUN_FRAMES = 40  # fewer frames: too noisy a mean for the run test (the frame test still applies)
MIN_SPAN_FRACTION = 0.5  # of the validation runs' shortest span: shorter runs get the frame test alone


@dataclasses.dataclass(frozen=True)
class Novelty:
    mean: np.ndarray  # (F,) of the standardized training features
    precision: np.ndarray  # (F, F) inverse of their (ridge-regularized) covariance
    threshold: float  # distance of the QUANTILE quantile of the validation frames
    quantile: float = QUANTILE
    # the run test (None / NaN: not fitted, e.g. a novelty.npz written before it existed)
    run_means: np.ndarray | None = None  # (R, F) mean standardized features of each training run
    run_scale: np.ndarray | None = None  # (F,) the features' frame-to-frame scatter within a run, pooled
    run_pairs: np.ndarray | None = None  # (P, 2) the training runs each segment joins
    run_threshold: float = float("nan")  # run distance of the QUANTILE quantile of the validation runs
    run_span: float = float("nan")  # the shortest validation run's span in simulation steps (NaN: unknown)

    def distance(self, x) -> np.ndarray:
        """Mahalanobis distance of each row of standardized features x (N, F) from the training mean."""
        d = np.asarray(x, np.float64) - self.mean
        return np.sqrt(np.maximum(np.einsum("nf,fg,ng->n", d, self.precision, d), 0.0))

    def run_distance(self, x) -> float:
        """Distance of a run's mean features (its frames' standardized features x, (N, F)) from the nearest
        segment between training runs (`run_pairs`; with none, from the nearest run): the root mean square
        over features of the difference in units of `run_scale`."""
        p = np.asarray(x, np.float64).mean(axis=0) / self.run_scale
        runs = self.run_means / self.run_scale
        nearest = float(np.sqrt(((p - runs) ** 2).mean(axis=1)).min())
        if self.run_pairs is None or not len(self.run_pairs):
            return nearest
        a, b = runs[self.run_pairs[:, 0]], runs[self.run_pairs[:, 1]]
        ab = b - a
        t = np.clip(((p - a) * ab).sum(axis=1) / np.maximum((ab**2).sum(axis=1), 1e-300), 0.0, 1.0)
        on_segment = np.sqrt(((p - a - t[:, None] * ab) ** 2).mean(axis=1)).min()
        return float(min(on_segment, nearest))

    def run_test(self, x, span=None) -> bool:
        """Whether the run test applies to a run of these frames spanning `span` simulation steps (first to
        last frame, on the clock the model was trained on): fitted, enough frames, and long enough (a run
        of unknown span: no)."""
        return (self.run_means is not None and np.isfinite(self.run_threshold) and len(x) >= MIN_RUN_FRAMES
                and span is not None and np.isfinite(self.run_span)
                and float(span) >= MIN_SPAN_FRACTION * self.run_span)

    def outside(self, x, span=None) -> bool:
        """A run (its frames' standardized features, spanning `span` simulation steps) lies outside what the
        model saw: its median frame is farther than the frame threshold, or (where `run_test` applies) its
        mean is farther from the training runs' than the run threshold."""
        if np.median(self.distance(x)) > self.threshold:
            return True
        return bool(self.run_test(x, span) and self.run_distance(x) > self.run_threshold)

    def arrays(self) -> dict:
        """As arrays, for an .npz file (`from_arrays` reads them back)."""
        out = {"mean": self.mean, "precision": self.precision, "threshold": np.float64(self.threshold),
               "quantile": np.float64(self.quantile)}
        if self.run_means is not None:
            pairs = np.zeros((0, 2), np.int64) if self.run_pairs is None else self.run_pairs
            out |= {"run_means": self.run_means, "run_scale": self.run_scale, "run_pairs": pairs,
                    "run_threshold": np.float64(self.run_threshold), "run_span": np.float64(self.run_span)}
        return out

    @classmethod
    def from_arrays(cls, d) -> Novelty:
        run = {}
        if "run_means" in d:
            run = {"run_means": np.asarray(d["run_means"], np.float64),
                   "run_scale": np.asarray(d["run_scale"], np.float64),
                   "run_pairs": np.asarray(d["run_pairs"], np.int64),
                   "run_threshold": float(d["run_threshold"]),
                   "run_span": float(d["run_span"]) if "run_span" in d else float("nan")}
        return cls(np.asarray(d["mean"], np.float64), np.asarray(d["precision"], np.float64),
                   float(d["threshold"]), float(d["quantile"]), **run)


def run_family(part) -> np.ndarray:
    """(N, 2) family labels of a data set part's samples (a turbjax.data Subset): directory and realization,
    the runs whose features trace one curve in Reynolds number."""
    return np.stack([np.asarray(part.source), np.asarray(part.realization)], axis=1)


def neighbour_pairs(run_re, run_family) -> np.ndarray:
    """(P, 2) pairs (i, j) of training runs of one family (`run_family`: e.g. directory and realization) at
    neighbouring Reynolds numbers of that family (`run_re`)."""
    re, family = np.asarray(run_re, np.float64), np.asarray(run_family)
    pairs = []
    for f in np.unique(family, axis=0):
        members = np.flatnonzero(np.all(family.reshape(len(family), -1) == np.reshape(f, -1), axis=1))
        members = members[np.argsort(re[members], kind="stable")]
        pairs += [(int(min(a, b)), int(max(a, b))) for a, b in zip(members[:-1], members[1:], strict=True)
                  if re[a] != re[b]]
    return np.array(sorted(pairs), np.int64).reshape(-1, 2)


def run_statistics(x, series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(runs' mean features (R, F), their frame counts (R,), the features' within-run frame-to-frame standard
    deviation pooled over the runs (F,)) of frames x (N, F) labelled by run `series` (N,)."""
    x, series = np.asarray(x, np.float64), np.asarray(series)
    runs, index, counts = np.unique(series, return_inverse=True, return_counts=True)
    means = np.zeros((runs.size, x.shape[1]))
    np.add.at(means, index, x)
    means /= counts[:, None]
    dof = max(int(x.shape[0] - runs.size), 1)
    scale = np.sqrt(((x - means[index]) ** 2).sum(axis=0) / dof)
    return means, counts, scale


def fit_novelty(x_train, x_val, quantile: float = QUANTILE, train_series=None, val_series=None,
                train_re=None, train_family=None, val_steps=None) -> Novelty:
    """The training features' mean and precision (diagonal beyond MAX_FULL features); the threshold from the
    validation frames' distances. With the runs of each frame (train_series, val_series) also the run test:
    the training runs' means, their within-run scale and (with each training frame's Reynolds number and
    family, train_re and train_family: (N,) or (N, k) labels such as directory and realization) the segments
    between runs of a family at neighbouring Reynolds numbers; the threshold from the validation runs of at
    least MIN_RUN_FRAMES frames (none: no run test), and with their frames' simulation steps (val_steps) the
    shortest one's span, which a run must reach half of to be tested."""
    x = np.asarray(x_train, np.float64)
    mean = x.mean(axis=0)
    if x.shape[1] > MAX_FULL:
        var = x.var(axis=0)
        precision = np.diag(1.0 / (var + RIDGE * max(float(var.mean()), 1e-12)))
    else:
        cov = np.atleast_2d(np.cov(x - mean, rowvar=False))
        cov += RIDGE * max(float(np.trace(cov)) / cov.shape[0], 1e-12) * np.eye(cov.shape[0])
        precision = np.linalg.inv(cov)
    novelty = Novelty(mean, precision, 0.0, quantile)
    threshold = float(np.quantile(novelty.distance(x_val), quantile))
    novelty = dataclasses.replace(novelty, threshold=threshold)
    if train_series is None or val_series is None:
        return novelty
    means, _, scale = run_statistics(x, train_series)
    scale = np.where(scale > 0, scale, 1.0)
    pairs = None
    if train_re is not None and train_family is not None:
        _, first = np.unique(np.asarray(train_series), return_index=True)
        pairs = neighbour_pairs(np.asarray(train_re, np.float64)[first], np.asarray(train_family)[first])
    novelty = dataclasses.replace(novelty, run_means=means, run_scale=scale, run_pairs=pairs)
    xv, val_series = np.asarray(x_val, np.float64), np.asarray(val_series)
    runs = [s for s in np.unique(val_series) if np.sum(val_series == s) >= MIN_RUN_FRAMES]
    if not runs:
        return dataclasses.replace(novelty, run_means=None, run_scale=None, run_pairs=None)
    dist = [novelty.run_distance(xv[val_series == s]) for s in runs]
    span = float("nan")
    if val_steps is not None:
        steps = np.asarray(val_steps, np.float64)
        span = min(float(np.ptp(steps[val_series == s])) for s in runs)
    return dataclasses.replace(novelty, run_threshold=float(np.quantile(dist, quantile)), run_span=span)
