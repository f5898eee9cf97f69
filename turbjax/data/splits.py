"""Train/test splits over samples described by their series (Reynolds number, realization) and time.

Every split returns a `Split(train, test, dropped)` of int64 index arrays into the samples and the number of
samples in neither set (the `time` split's gap, or the late window of the held-out Reynolds numbers' training
side with `heldout_time`). All splits are deterministic: the same inputs and seed give the same indices.

  random       a seeded shuffled fraction, like the course. Neighbouring frames of one series are nearly
               identical, so this split leaks: it measures interpolation in time, not generalization.
  time         per series, the last `test_fraction` is test; the samples within the gap before it are dropped.
               The gap counts samples (`gap_unit="samples"`), or is a time `separation` (simulation steps or
               shedding periods, converted to steps by the data set): no training sample is closer in time to
               the first test sample than that.
  realization  train on the realizations in `train_realizations`, test on the others (independent runs).
  heldout_re   train on the Reynolds numbers not in `heldout`, test on those in `heldout`; with
               `heldout_time` the training side keeps only the early window and the test side only the late
               one (the time split's parts), so test frames are new in Reynolds number and in time.
  external     train on the samples of the training directory, test on those of another directory.
  numerics     train on the training directories (data.dir and the numerical variants' variant_dirs) at the
               Reynolds numbers not in `heldout`, test on other variants (test_dirs) at the `heldout` ones;
               validation (made here, not by `with_validation`) on yet other variants (val_dirs) at every
               val_every-th training Reynolds number, which training then leaves out. Samples of a
               directory at Reynolds numbers its part does not use are dropped (counted).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from turbjax.checks import fail

SPLITS = ("random", "time", "realization", "heldout_re", "external", "numerics")


class Split(NamedTuple):
    train: np.ndarray  # int64 indices into the samples
    test: np.ndarray
    dropped: int  # samples in no part; reported, never silent
    val: np.ndarray = np.zeros(0, np.int64)  # carved from the training side by `with_validation`


def check_fraction(fraction, name: str = "test_fraction") -> float:
    """The one check of a split fraction: a number strictly between 0 and 1."""
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.number)) or not (
            0.0 < float(fraction) < 1.0):
        fail(f"{name}={fraction!r} must lie strictly between 0 and 1, e.g. 0.2")
    return float(fraction)


def check_heldout(heldout, present) -> list[float]:
    """The one check of held-out Reynolds numbers against those present: a non-empty proper subset."""
    present = sorted(float(p) for p in present)
    if isinstance(heldout, str) or not hasattr(heldout, "__len__") or len(heldout) < 1:
        fail(f"heldout={heldout!r} must name at least one held-out Reynolds number, one of {present}")
    held = sorted(float(h) for h in heldout)
    absent = [h for h in held if h not in present]
    if absent:
        fail(f"held-out Reynolds number(s) {absent} are not in the data (which has {present}); "
             f"set heldout to a subset of these")
    if set(held) >= set(present):
        fail(f"heldout={held} holds out every Reynolds number in the data {present}, leaving no training "
             f"data; keep at least one for training")
    return held


def _n_test(n: int, test_fraction: float) -> int:
    return round(n * test_fraction)


def _require_every_class(re, idx, which: str, split: str, hint: str) -> None:
    missing = sorted(set(np.unique(re).tolist()) - set(np.unique(re[idx]).tolist()))
    if missing:
        fail(f"the {split!r} split leaves no {which} sample for Reynolds number(s) {missing}; {hint}")


def random_split(re, test_fraction: float, seed: int) -> Split:
    """Shuffle all samples with `np.random.default_rng(seed)`; the first round(N * test_fraction) are test.

    Both index arrays come in shuffled order. Error if a Reynolds number ends up with no train or no test
    sample.
    """
    re = np.asarray(re)
    f = check_fraction(test_fraction)
    n = re.shape[0]
    n_test = _n_test(n, f)
    perm = np.random.default_rng(int(seed)).permutation(n)
    split = Split(train=perm[n_test:].astype(np.int64), test=perm[:n_test].astype(np.int64), dropped=0)
    hint = f"use more samples or another test_fraction (now {f}, {n_test} of {n} samples)"
    _require_every_class(re, split.train, "train", "random", hint)
    _require_every_class(re, split.test, "test", "random", hint)
    return split


def _series_label(re, group, g) -> str:
    r = float(re[np.flatnonzero(group == g)[0]])
    return f"Reynolds number {r:g}" if np.array_equal(group, re) else f"series {g} (Re {r:g})"


def time_split(re, position, test_fraction: float, gap, *, separation=None, group=None,
               later: str = "test") -> Split:
    """Per series (`group`, default: per Reynolds number): order by `position`; the last round(n *
    test_fraction) are test. Without `separation` the `gap` samples before them are dropped; with it (a
    scalar or one value per sample, in the units of `position`), every sample with first_test_position -
    position < separation is dropped. Indices are sorted by (series, position)."""
    re, position = np.asarray(re), np.asarray(position)
    group = re if group is None else np.asarray(group)
    fraction_name = "test_fraction" if later == "test" else "val_fraction"
    f = check_fraction(test_fraction, fraction_name)
    if separation is None and (isinstance(gap, bool) or int(gap) != gap or gap < 0):
        fail(f"gap={gap!r} must be a non-negative integer (samples dropped between train and test)")
    sep = None if separation is None else np.broadcast_to(np.asarray(separation, np.float64), re.shape)
    train, test, dropped = [], [], 0
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        idx = idx[np.argsort(position[idx], kind="stable")]
        n = idx.size
        n_test = _n_test(n, f)
        if sep is None:
            n_train = n - n_test - int(gap)
            what = f"gap={int(gap)}"
        else:
            first_test = position[idx[n - n_test]] if n_test else np.inf
            n_train = int(np.sum(first_test - position[idx[: n - n_test]] >= sep[idx[: n - n_test]]))
            what = f"a gap of {float(np.max(sep[idx])):g} in time"
        if n_test < 1 or n_train < 1:
            fail(
                f"the 'time' split leaves {_series_label(re, group, g)} with {max(n_train, 0)} train and "
                f"{n_test} {later} samples ({'training side' if later != 'test' else 'series'} of {n} "
                f"samples, {fraction_name}={f}, {what}); use a longer series, a smaller gap or another "
                f"{fraction_name}"
            )
        train.append(idx[:n_train])
        test.append(idx[n - n_test :])
        dropped += n - n_test - n_train
    return Split(train=np.concatenate(train).astype(np.int64), test=np.concatenate(test).astype(np.int64),
                 dropped=dropped)


def heldout_re_split(re, heldout, *, time: Split | None = None) -> Split:
    """Train on every sample whose Reynolds number is not in `heldout`, test on those that are (sorted).

    With `time` (a time split of the same samples), train only on its train part and test only on its test
    part: the held-out Reynolds numbers' early frames and the others' late frames are dropped (counted)."""
    re = np.asarray(re)
    held = check_heldout(heldout, np.unique(re).tolist())
    is_test = np.isin(re, held)
    if time is None:
        return Split(train=np.flatnonzero(~is_test).astype(np.int64),
                     test=np.flatnonzero(is_test).astype(np.int64), dropped=0)
    train, test = time.train[~is_test[time.train]], time.test[is_test[time.test]]
    return Split(train=train, test=test, dropped=int(re.size - train.size - test.size))


def realization_split(realization, train_realizations) -> Split:
    """Train on the samples of the realizations in `train_realizations`, test on all the others."""
    realization = np.asarray(realization)
    present = sorted(np.unique(realization).tolist())
    wanted = sorted(int(k) for k in train_realizations)
    absent = [k for k in wanted if k not in present]
    if not wanted or absent or set(wanted) >= set(present):
        fail(
            f"train_realizations={tuple(wanted)} must be a non-empty proper subset of the realizations in "
            f"the data {tuple(present)} (set data.realizations to at least two of the ensemble's "
            "realizations)"
        )
    is_train = np.isin(realization, wanted)
    return Split(train=np.flatnonzero(is_train).astype(np.int64),
                 test=np.flatnonzero(~is_train).astype(np.int64),
                 dropped=0)


def external_split(source) -> Split:
    """Source 0 (the training directory) is train, source 1 (the test directory) is test."""
    source = np.asarray(source)
    if not np.any(source == 0) or not np.any(source == 1):
        fail("the 'external' split needs samples from both data.dir and data.test_dir")
    return Split(train=np.flatnonzero(source == 0).astype(np.int64),
                 test=np.flatnonzero(source == 1).astype(np.int64),
                 dropped=0)


def numerics_split(re, role, heldout, val_every: int) -> Split:
    """The "numerics" split (module docstring) from each sample's Reynolds number and its directory's role
    ("train", "val" or "test")."""
    re, role = np.asarray(re, np.float64), np.asarray(role)
    held = sorted(float(h) for h in heldout)
    test_re = set(re[role == "test"].tolist())
    absent = [h for h in held if h not in test_re]
    if not held or absent:
        fail(f"heldout={tuple(held)} must name the test Reynolds numbers, each present in data.test_dirs "
             f"(which hold {sorted(test_re)})")
    train_side = (role == "train") & ~np.isin(re, held)
    val_re = validation_reynolds(re[train_side], val_every)
    train = np.flatnonzero(train_side & ~np.isin(re, val_re))
    val = np.flatnonzero((role == "val") & np.isin(re, val_re))
    test = np.flatnonzero((role == "test") & np.isin(re, held))
    if val.size == 0:
        fail(f"data.val_dirs hold no file at the validation Reynolds numbers {val_re} (every "
             f"val_every={val_every}-th training Reynolds number); generate them there")
    return Split(train=train.astype(np.int64), test=test.astype(np.int64),
                 dropped=int(re.size - train.size - val.size - test.size), val=val.astype(np.int64))


def make_split(name: str, re, position, *, test_fraction: float, gap, heldout, seed: int, separation=None,
               group=None, realization=None, train_realizations=(), heldout_time: bool = False,
               source=None, role=None, val_every: int = 4) -> Split:
    """Dispatch on the split name (SPLITS); the keyword arguments a split does not use are ignored."""
    if name == "random":
        return random_split(re, test_fraction, seed)
    if name == "time":
        return time_split(re, position, test_fraction, gap, separation=separation, group=group)
    if name == "heldout_re":
        time = time_split(re, position, test_fraction, gap, separation=separation,
                          group=group) if heldout_time \
            else None
        return heldout_re_split(re, heldout, time=time)
    if name == "realization":
        return realization_split(realization, train_realizations)
    if name == "external":
        return external_split(source)
    if name == "numerics":
        return numerics_split(re, role, heldout, val_every)
    fail(f"unknown split {name!r}; expected one of {SPLITS}")


def validation_reynolds(train_re, every: int) -> list[float]:
    """Every `every`-th of the sorted training Reynolds numbers, starting at index every // 2 (interior ones:
    the extremes stay in training, so validation never extrapolates where test does not)."""
    train_re = sorted({float(r) for r in train_re})
    every = int(every)
    if every < 2:
        fail(f"val_every={every!r} must be an integer >= 2 (every val_every-th training Reynolds number "
             "validates)")
    val = train_re[every // 2 :: every]
    if not val or len(train_re) - len(val) < 2:
        fail(f"val_every={every} leaves {len(train_re) - len(val)} training and {len(val)} validation "
             f"Reynolds number(s) of {train_re}: validation by held-out Reynolds numbers needs at least 3 to "
             "train on; use more Reynolds numbers or a larger val_every")
    return val


def with_validation(name: str, split: Split, re, position, *, val_fraction: float, gap, separation=None,
                    group=None, realization=None, val_realizations=(), val_every: int = 4,
                    heldout_time: bool = False, time: Split | None = None) -> Split:
    """`split` with a validation part as novel relative to training as the test part is: carved from its
    training side (for "realization": the val_realizations, out of the realizations not trained on). What
    each split's validation tests is in the module docstring."""
    re = np.asarray(re)
    train = split.train
    if name == "numerics":  # made with the split
        return split
    if name == "random":
        n_val = round(train.size * check_fraction(val_fraction, "val_fraction"))
        val, train = train[:n_val], train[n_val:]  # random_split's training side is already shuffled
        hint = f"use more samples or another val_fraction (now {val_fraction})"
        side = re[split.train]  # every Reynolds number of the training side in both parts
        _require_every_class(side, np.arange(n_val, side.size), "train", name, hint)
        _require_every_class(side, np.arange(n_val), "validation", name, hint)
    elif name == "time":
        sub = _time_subset(train, re, position, val_fraction, gap, separation, group)
        return Split(train=sub.train, test=split.test, dropped=split.dropped + sub.dropped, val=sub.val)
    elif name == "realization":  # the validation realizations, neither trained nor tested on
        is_val = np.isin(np.asarray(realization)[split.test], [int(k) for k in val_realizations])
        val, test = split.test[is_val], split.test[~is_val]
        if val.size == 0 or test.size == 0:
            fail(f"val_realizations={tuple(val_realizations)} leaves {val.size} validation and {test.size} "
                 f"test samples of the realizations not trained on; keep at least one realization for each")
        return Split(train=train, test=test, dropped=split.dropped, val=val)
    else:  # heldout_re, external: held-out training Reynolds numbers
        val_re = validation_reynolds(re[train], val_every)
        is_val = np.isin(re[train], val_re)
        val, train = train[is_val], train[~is_val]
        if name == "heldout_re" and heldout_time and time is not None:
            # like the test Reynolds numbers: validate on their late window (time's test part) only
            val = time.test[np.isin(re[time.test], val_re)]
            dropped = re.size - train.size - val.size - split.test.size
            return Split(train=train, test=split.test, dropped=int(dropped), val=val)
    if val.size == 0 or train.size == 0:
        fail(f"the {name!r} split leaves {train.size} training and {val.size} validation samples; see the "
             "data section's val_* settings")
    return Split(train=train, test=split.test, dropped=split.dropped, val=val)


def _time_subset(train, re, position, val_fraction, gap, separation, group) -> Split:
    """The time split of the training side alone: its last val_fraction (after the same gap) validates."""
    sep = None if separation is None else np.broadcast_to(np.asarray(separation, np.float64), re.shape)[train]
    grp = None if group is None else np.asarray(group)[train]
    fraction = check_fraction(val_fraction, "val_fraction")
    sub = time_split(re[train], np.asarray(position)[train], fraction, gap, separation=sep, group=grp,
                     later="validation")
    return Split(train=train[sub.train], test=np.zeros(0, np.int64), dropped=sub.dropped, val=train[sub.test])
