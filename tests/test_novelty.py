"""turbjax.novelty: Mahalanobis distances from the training features, the threshold calibrated on
validation."""

import numpy as np
import pytest

from turbjax import novelty
from turbjax.novelty import Novelty, fit_novelty


def test_distance_is_mahalanobis_and_the_threshold_a_validation_quantile():
    rng = np.random.default_rng(0)
    a = np.array([[2.0, 0.0, 0.0], [1.0, 0.5, 0.0], [0.0, 0.3, 1.0]])  # correlated features
    train = rng.normal(size=(20000, 3)) @ a.T
    val = rng.normal(size=(2000, 3)) @ a.T
    nov = fit_novelty(train, val)
    cov = a @ a.T
    # a point k standard deviations out along any direction of the covariance is at distance k
    w, v = np.linalg.eigh(cov)
    for k in (1.0, 3.0):
        x = k * np.sqrt(w[:, None]) * v.T  # rows: k sigma along each principal axis
        np.testing.assert_allclose(nov.distance(x), k, rtol=0.03)
    assert nov.threshold == pytest.approx(np.quantile(nov.distance(val), novelty.QUANTILE))
    assert 3.0 < nov.threshold < 5.0  # chi with 3 degrees of freedom: its 99.5% quantile is 3.58
    assert not nov.outside(val[:100]) and nov.outside(val[:100] * 3.0)


def test_arrays_round_trip_and_many_features_use_the_diagonal():
    rng = np.random.default_rng(1)
    nov = fit_novelty(rng.normal(size=(500, 4)), rng.normal(size=(100, 4)))
    back = Novelty.from_arrays(nov.arrays())
    x = rng.normal(size=(7, 4))
    np.testing.assert_array_equal(back.distance(x), nov.distance(x))
    f = novelty.MAX_FULL + 1
    scale = np.linspace(1.0, 3.0, f)
    wide = fit_novelty(rng.normal(size=(300, f)) * scale, rng.normal(size=(50, f)) * scale)
    off = wide.precision - np.diag(np.diag(wide.precision))
    assert not off.any()
    np.testing.assert_allclose(np.diag(wide.precision) * scale**2, 1.0, rtol=0.3)


def runs_of(rng, centres, frames, noise=1.0):
    """Frames of runs whose true mean features are `centres` (R, F), each frame that plus N(0, noise^2)."""
    x = np.concatenate([c + noise * rng.normal(size=(frames, c.size)) for c in centres])
    return x, np.repeat(np.arange(len(centres)), frames)


def test_run_statistics_are_the_runs_means_and_the_pooled_within_run_scatter():
    x = np.array([[0.0, 1.0], [2.0, 3.0], [10.0, 0.0], [12.0, 0.0], [14.0, 0.0]])
    means, counts, scale = novelty.run_statistics(x, np.array([5, 5, 7, 7, 7]))
    np.testing.assert_allclose(means, [[1.0, 2.0], [12.0, 0.0]])
    np.testing.assert_array_equal(counts, [2, 3])
    # squared deviations: feature 0: 1 + 1 + 4 + 0 + 4 = 10, feature 1: 1 + 1 = 2; 5 frames - 2 runs = 3 dof
    np.testing.assert_allclose(scale, np.sqrt([10 / 3, 2 / 3]))


def test_a_run_shifted_by_less_than_the_frame_noise_passes_the_frame_test_and_fails_the_run_test():
    rng = np.random.default_rng(3)
    f = 8
    # training and validation runs along a line in feature space (a Reynolds number axis), frame noise 1
    axis = np.ones(f) / np.sqrt(f)
    ts = np.linspace(-3, 3, 25)
    train, train_series = runs_of(rng, [t * axis for t in ts], 80)
    val, val_series = runs_of(rng, [t * axis for t in np.linspace(-2.9, 2.9, 6)], 80)
    steps = np.tile(np.arange(80) * 120.0, 6)  # each validation run: 80 frames every 120 steps
    nov = fit_novelty(train, val, train_series=train_series, val_series=val_series,
                      train_re=np.repeat(ts, 80), train_family=np.zeros(25 * 80, np.int64), val_steps=steps)
    assert nov.run_span == 79 * 120.0
    span = 79 * 120.0
    assert nov.run_means.shape == (25, f) and np.isfinite(nov.run_threshold)
    # one family: each run joined to the next Reynolds number's
    np.testing.assert_array_equal(nov.run_pairs, [[i, i + 1] for i in range(24)])
    np.testing.assert_allclose(nov.run_scale, 1.0, atol=0.05)
    # a new run on the line is inside; the same run moved off the line by 0.6 frame-noise units in every
    # feature (a flow unlike every training flow in the same way in each frame) is outside, though its
    # frames are each as close to the training frames as the validation ones
    on_line = 1.0 * axis + rng.normal(size=(80, f))
    off = np.tile([0.6, -0.6], f // 2)
    assert not nov.outside(on_line, span) and nov.run_distance(on_line) < nov.run_threshold
    assert np.median(nov.distance(on_line + off)) <= nov.threshold  # the frame test alone passes it
    assert nov.outside(on_line + off, span) and nov.run_distance(on_line + off) > 3 * nov.run_threshold
    # too few frames for a reliable mean: only the frame test applies
    assert not nov.run_test((on_line + off)[: novelty.MIN_RUN_FRAMES - 1], span)
    assert not nov.outside((on_line + off)[: novelty.MIN_RUN_FRAMES - 1], span)
    # a recording shorter than half the validation runs' (its mean carries the shedding phase), or of
    # unknown length: the frame test alone
    assert not nov.outside(on_line + off, 0.49 * span) and nov.outside(on_line + off, 0.5 * span)
    assert not nov.outside(on_line + off)
    # the run test round-trips through the arrays; arrays without it (older files) give the frame test alone
    back = Novelty.from_arrays(nov.arrays())
    assert back.run_distance(on_line + off) == nov.run_distance(on_line + off) and back.run_span == span
    assert back.outside(on_line + off, span)
    old = Novelty.from_arrays({k: v for k, v in nov.arrays().items() if not k.startswith("run_")})
    assert old.run_means is None and not old.run_test(on_line + off, span)
    assert not old.outside(on_line + off, span)


def test_a_run_between_two_training_runs_lies_on_their_segment():
    # two training runs far apart along feature 0; a run halfway between them is at distance 0 from their
    # segment, though far from either run
    means = np.array([[0.0, 0.0], [4.0, 0.0]])
    pairs = novelty.neighbour_pairs(np.array([300.0, 600.0]), np.array([0, 0]))
    nov = Novelty(np.zeros(2), np.eye(2), 10.0, run_means=means, run_scale=np.ones(2), run_pairs=pairs,
                  run_threshold=0.5, run_span=1000.0)
    np.testing.assert_array_equal(nov.run_pairs, [[0, 1]])
    half = np.array([[2.0, 0.0]] * 50)
    assert nov.run_distance(half) == pytest.approx(0.0, abs=1e-12) and not nov.outside(half, 1000.0)
    # off the segment by 1 in feature 1: rms over the 2 features, 1 / sqrt(2)
    off = half + [0.0, 1.0]
    assert nov.run_distance(off) == pytest.approx(np.sqrt(0.5)) and nov.outside(off, 1000.0)
    # beyond an end the nearest run counts: 2 past run 1 along feature 0
    assert nov.run_distance(np.array([[6.0, 0.0]] * 50)) == pytest.approx(np.sqrt(2.0))
    # runs at the same Reynolds number, or of different families, are never joined
    assert novelty.neighbour_pairs(np.array([300.0, 300.0]), np.array([0, 0])).shape == (0, 2)
    assert novelty.neighbour_pairs(np.array([300.0, 600.0]), np.array([0, 1])).shape == (0, 2)


def test_families_are_joined_along_their_own_reynolds_numbers():
    # two directories (0, 1) x two realizations, runs listed out of order; families by (directory,
    # realization) rows
    re = np.array([600.0, 300.0, 900.0, 300.0, 900.0, 600.0, 300.0])
    family = np.array([[0, 0], [0, 0], [0, 0], [1, 0], [1, 0], [0, 1], [0, 1]])
    assert {tuple(p) for p in novelty.neighbour_pairs(re, family)} == {(0, 1), (0, 2), (3, 4), (5, 6)}
