"""Is a sample like the ones a model learned from? The Mahalanobis distance of its standardized features from
the training set's, and a threshold calibrated on the validation part.

The validation part is as novel as the test part (other realizations, other Reynolds numbers, other numerics),
so its distances say how far a flow the model does answer for may lie. A frame farther than the QUANTILE
quantile of the validation frames' distances is unlike anything the model was trained or validated on; a run
whose median frame is that far is out of distribution, and its estimate is an extrapolation, not a
measurement (turbjax.predict says so instead of printing an interval).
"""

from __future__ import annotations

import dataclasses

import numpy as np

QUANTILE = 0.995
RIDGE = 1e-6  # relative to the covariance's mean eigenvalue: a finite precision for collinear features
MAX_FULL = 512  # more features (pixels, spectra): a diagonal covariance (the full one would cost F^2 memory)


@dataclasses.dataclass(frozen=True)
class Novelty:
    mean: np.ndarray  # (F,) of the standardized training features
    precision: np.ndarray  # (F, F) inverse of their (ridge-regularized) covariance
    threshold: float  # distance of the QUANTILE quantile of the validation frames
    quantile: float = QUANTILE

    def distance(self, x) -> np.ndarray:
        """Mahalanobis distance of each row of standardized features x (N, F) from the training mean."""
        d = np.asarray(x, np.float64) - self.mean
        return np.sqrt(np.maximum(np.einsum("nf,fg,ng->n", d, self.precision, d), 0.0))

    def outside(self, x) -> bool:
        """A run (its frames' standardized features) lies outside what the model saw: its median frame is
        farther than the threshold."""
        return bool(np.median(self.distance(x)) > self.threshold)

    def arrays(self) -> dict:
        """As arrays, for an .npz file (`from_arrays` reads them back)."""
        return {"mean": self.mean, "precision": self.precision, "threshold": np.float64(self.threshold),
                "quantile": np.float64(self.quantile)}

    @classmethod
    def from_arrays(cls, d) -> Novelty:
        return cls(np.asarray(d["mean"], np.float64), np.asarray(d["precision"], np.float64),
                   float(d["threshold"]), float(d["quantile"]))


def fit_novelty(x_train, x_val, quantile: float = QUANTILE) -> Novelty:
    """The training features' mean and precision (diagonal beyond MAX_FULL features); the threshold from the
    validation frames' distances."""
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
    return dataclasses.replace(novelty, threshold=threshold)
