"""Train/test splits over samples described by their Reynolds number and their position in its time series.

Every split returns a `Split(train, test, dropped)` of sorted-or-shuffled int64 index arrays into the samples
and the number of samples that belong to neither set (only the `time` split drops samples, in its gap).
All splits are deterministic: the same inputs and seed give the same indices.

  random      a seeded shuffled fraction, like the course. Neighbouring frames of one series are nearly
              identical, so this split leaks: it measures interpolation in time, not generalization.
  time        per Reynolds number, the last `test_fraction` of the series is test; the `gap` samples just
              before it are dropped, so no training sample is within `gap` samples of a test sample.
  heldout_re  train on the Reynolds numbers not in `heldout`, test on those in `heldout`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

SPLITS = ("random", "time", "heldout_re")


class Split(NamedTuple):
    train: np.ndarray  # int64 indices into the samples
    test: np.ndarray
    dropped: int  # samples in neither set (the time split's gap); reported, never silent


def _check_fraction(test_fraction: float) -> float:
    f = float(test_fraction)
    if not 0.0 < f < 1.0:
        raise ValueError(f"test_fraction={test_fraction!r} must lie strictly between 0 and 1, e.g. 0.2")
    return f


def _n_test(n: int, test_fraction: float) -> int:
    return round(n * test_fraction)


def _require_every_class(re, idx, which: str, split: str, hint: str) -> None:
    missing = sorted(set(np.unique(re).tolist()) - set(np.unique(re[idx]).tolist()))
    if missing:
        raise ValueError(
            f"the {split!r} split leaves no {which} sample for Reynolds number(s) {missing}; {hint}"
        )


def random_split(re, test_fraction: float, seed: int) -> Split:
    """Shuffle all samples with `np.random.default_rng(seed)`; the first round(N * test_fraction) are test.

    Both index arrays come in shuffled order. Error if a Reynolds number ends up with no train or no test
    sample.
    """
    re = np.asarray(re)
    f = _check_fraction(test_fraction)
    n = re.shape[0]
    n_test = _n_test(n, f)
    perm = np.random.default_rng(int(seed)).permutation(n)
    split = Split(train=perm[n_test:].astype(np.int64), test=perm[:n_test].astype(np.int64), dropped=0)
    hint = f"use more samples or another test_fraction (now {f}, {n_test} of {n} samples)"
    _require_every_class(re, split.train, "train", "random", hint)
    _require_every_class(re, split.test, "test", "random", hint)
    return split


def time_split(re, position, test_fraction: float, gap: int) -> Split:
    """Per Reynolds number: order by `position` (frame), the last round(n * test_fraction) are test, the
    `gap` samples before them are dropped, the rest is train. Indices are sorted by (Re, position)."""
    re, position = np.asarray(re), np.asarray(position)
    f = _check_fraction(test_fraction)
    if int(gap) != gap or gap < 0:
        raise ValueError(f"gap={gap!r} must be a non-negative integer (samples dropped between train and test)")
    gap = int(gap)
    train, test, dropped = [], [], 0
    for r in np.unique(re):
        idx = np.flatnonzero(re == r)
        idx = idx[np.argsort(position[idx], kind="stable")]
        n = idx.size
        n_test = _n_test(n, f)
        n_train = n - n_test - gap
        if n_test < 1 or n_train < 1:
            raise ValueError(
                f"the 'time' split leaves Reynolds number {r:g} with {max(n_train, 0)} train and {n_test} test "
                f"samples (series of {n} samples, test_fraction={f}, gap={gap}); use a longer series, a "
                f"smaller gap or another test_fraction"
            )
        train.append(idx[:n_train])
        test.append(idx[n - n_test :])
        dropped += gap
    return Split(train=np.concatenate(train).astype(np.int64), test=np.concatenate(test).astype(np.int64),
                 dropped=dropped)


def heldout_re_split(re, heldout) -> Split:
    """Train on every sample whose Reynolds number is not in `heldout`, test on those that are (sorted)."""
    re = np.asarray(re)
    present = sorted(np.unique(re).tolist())
    heldout = sorted(float(h) for h in heldout)
    if not heldout:
        raise ValueError(f"the 'heldout_re' split needs at least one held-out Reynolds number, one of {present}")
    absent = [h for h in heldout if not np.any(re == h)]
    if absent:
        raise ValueError(
            f"held-out Reynolds number(s) {absent} are not in the data (which has {present}); "
            f"set heldout to a subset of these"
        )
    if set(heldout) >= set(present):
        raise ValueError(
            f"heldout={heldout} holds out every Reynolds number in the data {present}, leaving no training "
            f"data; keep at least one for training"
        )
    is_test = np.isin(re, heldout)
    return Split(train=np.flatnonzero(~is_test).astype(np.int64), test=np.flatnonzero(is_test).astype(np.int64),
                 dropped=0)


def make_split(name: str, re, position, *, test_fraction: float, gap: int, heldout, seed: int) -> Split:
    """Dispatch on the split name ("random", "time", "heldout_re")."""
    if name == "random":
        return random_split(re, test_fraction, seed)
    if name == "time":
        return time_split(re, position, test_fraction, gap)
    if name == "heldout_re":
        return heldout_re_split(re, heldout)
    raise ValueError(f"unknown split {name!r}; expected one of {SPLITS}")
