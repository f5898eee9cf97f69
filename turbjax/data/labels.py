"""Classification targets from Reynolds numbers: one class per Reynolds number (softmax), or "high Re"
(binary logistic regression)."""

from __future__ import annotations

import numpy as np

from turbjax.checks import fail


def binary_labels(re, classes) -> np.ndarray:
    """1 if Re > median(classes) ('high Reynolds'), else 0."""
    return (np.asarray(re) > float(np.median(np.asarray(classes)))).astype(np.int32)


def class_labels(re, classes) -> np.ndarray:
    """Index of each sample's Reynolds number in `classes` (softmax targets); an error for one not there."""
    classes = [float(c) for c in classes]
    unknown = sorted({float(r) for r in np.unique(re)} - set(classes))
    if unknown:
        fail(
            f"Reynolds number(s) {unknown} are not among the model's classes {classes}: a softmax classifier "
            f"can only be scored on its own classes; choose those (e.g. --reynolds) or use a regression model"
        )
    return np.searchsorted(np.asarray(classes), np.asarray(re, np.float64)).astype(np.int32)
