"""Splits: disjoint, complete (train + test + gap = all), deterministic, no time overlap within the gap."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turbjax.data.splits import (
    external_split,
    heldout_re_split,
    make_split,
    numerics_split,
    random_split,
    realization_split,
    time_split,
)

RES = (300.0, 600.0, 900.0, 1200.0)


def samples(n_per=50, res=RES):
    re = np.repeat(np.asarray(res), n_per)
    position = np.tile(np.arange(n_per) * 5, len(res))  # frame indices, stride 5
    return re, position


def test_random_split_counts_disjoint_complete_deterministic():
    re, _ = samples(600)
    s = random_split(re, 0.2, seed=0)
    assert len(s.train) == 1920 and len(s.test) == 480 and s.dropped == 0
    assert not set(s.train) & set(s.test)
    np.testing.assert_array_equal(np.sort(np.concatenate([s.train, s.test])), np.arange(2400))
    again = random_split(re, 0.2, seed=0)
    np.testing.assert_array_equal(s.train, again.train)
    np.testing.assert_array_equal(s.test, again.test)
    other = random_split(re, 0.2, seed=1)
    assert not np.array_equal(s.test, other.test)


def test_random_split_error_when_a_class_gets_no_test_sample():
    re = np.array([300.0] * 9 + [600.0])  # a single 600 sample can never be on both sides
    with pytest.raises(ValueError, match=r"the 'random' split leaves no (train|test) sample for Reynolds "
                       r"number\(s\) \[600.0\]; use more samples or another test_fraction \(now 0.5, 5 of 10 "
                       r"samples\)"):
        random_split(re, 0.5, seed=0)


@given(n_per=st.integers(12, 40), frac=st.floats(0.1, 0.5), gap=st.integers(0, 5))
@settings(max_examples=30, deadline=None)
def test_time_split_properties(n_per, frac, gap):
    re, position = samples(n_per)
    s = time_split(re, position, frac, gap)
    train, test = set(s.train.tolist()), set(s.test.tolist())
    assert not train & test
    assert len(train) + len(test) + s.dropped == re.size
    assert s.dropped == gap * len(RES)
    for r in RES:
        tr = position[s.train][re[s.train] == r]
        te = position[s.test][re[s.test] == r]
        assert len(te) == round(n_per * frac)
        # Every test frame comes after every train frame, with `gap` samples (stride 5) in between.
        assert te.min() - tr.max() == 5 * (gap + 1)


def test_time_split_on_shuffled_input_uses_positions_not_order():
    re, position = samples(20)
    perm = np.random.default_rng(0).permutation(re.size)
    s = time_split(re[perm], position[perm], 0.25, 2)
    for r in RES:
        assert sorted(position[perm][s.test][re[perm][s.test] == r]) == [75, 80, 85, 90, 95]


def test_time_split_errors():
    re, position = samples(10)
    with pytest.raises(ValueError, match=r"leaves Reynolds number 300 with 0 train and 2 test samples "
                       r"\(series of 10 samples, test_fraction=0.2, gap=8\)"):
        time_split(re, position, 0.2, 8)
    with pytest.raises(ValueError, match=r"gap=-1 must be a non-negative integer"):
        time_split(re, position, 0.2, -1)
    with pytest.raises(ValueError, match=r"test_fraction=1.0 must lie strictly between 0 and 1"):
        time_split(re, position, 1.0, 0)
    with pytest.raises(ValueError, match=r"with 9 train and 0 test samples"):
        time_split(re, position, 0.01, 1)


def test_heldout_re_split_sets():
    re, _ = samples(7)
    s = heldout_re_split(re, (600.0, 1200))
    assert set(re[s.test]) == {600.0, 1200.0} and set(re[s.train]) == {300.0, 900.0}
    assert len(s.train) + len(s.test) == re.size and s.dropped == 0


def test_heldout_re_errors():
    re, _ = samples(3)
    with pytest.raises(ValueError, match=r"held-out Reynolds number\(s\) \[450.0\] are not in the data "
                       r"\(which has \[300.0, 600.0, 900.0, 1200.0\]\)"):
        heldout_re_split(re, (450.0,))
    with pytest.raises(ValueError, match="holds out every Reynolds number in the data"):
        heldout_re_split(re, RES)
    with pytest.raises(ValueError, match=r"heldout=\(\) must name at least one held-out Reynolds number"):
        heldout_re_split(re, ())


def test_make_split_dispatch_and_unknown_name():
    re, position = samples(10)
    s = make_split("time", re, position, test_fraction=0.2, gap=1, heldout=(), seed=0)
    assert s.dropped == 4
    with pytest.raises(ValueError, match=r"unknown split 'kfold'; expected one of \('random', 'time', "
                                         r"'realization', 'heldout_re', 'external', 'numerics'\)"):
        make_split("kfold", re, position, test_fraction=0.2, gap=1, heldout=(), seed=0)


@given(n_per=st.integers(12, 40), frac=st.floats(0.1, 0.5), sep=st.integers(0, 30), k=st.integers(1, 3))
@settings(max_examples=30, deadline=None)
def test_time_split_with_a_time_separation_per_series(n_per, frac, sep, k):
    """Series = (Re, realization); every test sample is >= sep after every train sample of its series, and the
    dropped ones are exactly those closer than that."""
    re, position = samples(n_per)
    re, position = np.tile(re, k), np.tile(position, k)
    group = np.repeat(np.arange(k), n_per * len(RES)) * 10 + np.searchsorted(RES, re)
    s = time_split(re, position, frac, 0, separation=sep, group=group)
    assert not set(s.train.tolist()) & set(s.test.tolist())
    assert len(s.train) + len(s.test) + s.dropped == re.size
    for g in np.unique(group):
        tr, te = position[s.train][group[s.train] == g], position[s.test][group[s.test] == g]
        assert len(te) == round(n_per * frac) and te.min() - tr.max() >= sep
        # the sample after the last train one: the first test one, or too close to it
        following = tr.max() + 5
        assert following == te.min() or te.min() - following < sep


def test_realization_split_sets_and_errors():
    realization = np.repeat([0, 1, 2], 4)
    s = realization_split(realization, (2, 0))
    assert set(realization[s.train]) == {0, 2} and set(realization[s.test]) == {1} and s.dropped == 0
    for bad in ((), (0, 1, 2), (5,)):
        with pytest.raises(ValueError, match=r"must be a non-empty proper subset of the realizations in the "
                           r"data \(0, 1, 2\)"):
            realization_split(realization, bad)


def test_heldout_re_with_a_heldout_time_window():
    re, position = samples(20)
    time = time_split(re, position, 0.25, 2)
    s = heldout_re_split(re, (600.0,), time=time)
    assert set(re[s.test]) == {600.0} and 600.0 not in set(re[s.train])
    # test: last 5; train: before the gap
    assert position[s.test].min() == 75 and position[s.train].max() == 60
    assert len(s.train) == 3 * 13 and len(s.test) == 5 and s.dropped == re.size - 44


def test_external_split_by_source():
    source = np.array([0, 0, 1, 0, 1])
    s = external_split(source)
    assert s.train.tolist() == [0, 1, 3] and s.test.tolist() == [2, 4]
    with pytest.raises(ValueError, match=r"needs samples from both data.dir and data.test_dir"):
        external_split(np.zeros(3))


def test_validation_is_carved_from_the_training_side_as_novel_as_test():
    """random: a part of the training side; time: a later window of it, after the same gap; realization:
    realizations neither trained nor tested on; held-out Re: every val_every-th training Re from the middle;
    the test indices never move."""
    from turbjax.data.splits import validation_reynolds, with_validation

    re, position = samples(40)  # 4 Re x 40 positions
    base = random_split(re, 0.25, 0)
    s = with_validation("random", base, re, position, val_fraction=0.2, gap=0)
    np.testing.assert_array_equal(s.test, base.test)
    assert s.val.size == round(0.2 * base.train.size) and s.val.size + s.train.size == base.train.size
    assert not set(s.val) & set(s.train)
    base = time_split(re, position, 0.25, 2)
    s = with_validation("time", base, re, position, val_fraction=0.2, gap=2)
    for r in np.unique(re):
        tr, va, te = (position[i[re[i] == r]] for i in (s.train, s.val, s.test))
        assert va.min() - tr.max() == 15 and te.min() - va.max() == 15  # the same gap: 2 samples, 5 apart
    assert s.dropped == base.dropped + 2 * 4
    assert validation_reynolds(range(200, 1401, 50), 4) == [300.0, 500.0, 700.0, 900.0, 1100.0, 1300.0]
    with pytest.raises(ValueError, match=r"needs at least 3 to train on"):
        validation_reynolds([300.0, 600.0], 4)
    realization = np.tile([0, 1, 2, 3], 40)
    base = realization_split(realization, (0, 1))
    s = with_validation("realization", base, re, position, val_fraction=0.2, gap=0,
                        realization=realization, val_realizations=(3,))
    assert set(realization[s.val]) == {3} and set(realization[s.test]) == {2}
    assert set(realization[s.train]) == {0, 1}


def test_numerics_split_tests_unseen_variants_at_unseen_reynolds_numbers():
    # two training variants at Re 100..900, a validation variant and a test variant at every Re
    grid = np.arange(100.0, 1000.0, 100.0)
    role = np.repeat(["train", "train", "val", "test"], grid.size)
    re = np.tile(grid, 4)
    s = numerics_split(re, role, heldout=(300.0, 800.0), val_every=3)
    train_re = sorted(set(grid.tolist()) - {300.0, 800.0})  # 100 200 400 500 600 700 900
    val_re = train_re[1::3]  # 200, 600
    assert sorted(set(re[s.test].tolist())) == [300.0, 800.0] and set(role[s.test]) == {"test"}
    assert sorted(set(re[s.val].tolist())) == val_re and set(role[s.val]) == {"val"}
    assert set(role[s.train]) == {"train"}
    assert not set(re[s.train].tolist()) & ({300.0, 800.0} | set(val_re))
    assert s.train.size == 2 * (len(train_re) - 2) and s.dropped == re.size - s.train.size - s.val.size - 2
    with pytest.raises(ValueError, match=r"heldout=\(1000.0,\) must name the test Reynolds numbers"):
        numerics_split(re, role, heldout=(1000.0,), val_every=3)
    with pytest.raises(ValueError, match="val_dirs hold no file at the validation Reynolds numbers"):
        numerics_split(re[role != "val"], role[role != "val"], heldout=(300.0,), val_every=3)
