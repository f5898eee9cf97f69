"""Split-conformal intervals (turbjax.calibration): exact order statistics, the coverage guarantee on
exchangeable residuals, the identity between interval membership and residual bounds, clips of whole windows
of one run, and the geometric mean of a clip."""

from __future__ import annotations

import numpy as np
import pytest

from turbjax import calibration as C


def test_offsets_are_the_conformal_order_statistics():
    r = np.arange(1.0, 20.0)  # n = 19: (n + 1) * 0.05 = 1 and (n + 1) * 0.95 = 19
    off = C.conformal_offsets(np.random.default_rng(0).permutation(r), 0.9)
    assert (off.lo, off.hi, off.n) == (1.0, 19.0, 19)
    off = C.conformal_offsets(np.arange(1.0, 40.0), 0.9)  # n = 39: floor(2) = 2nd, ceil(38) = 38th
    assert (off.lo, off.hi) == (2.0, 38.0)
    off = C.conformal_offsets([0.3, -0.1], 0.9)  # too few residuals: the range
    assert (off.lo, off.hi) == (-0.1, 0.3)


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9])
def test_coverage_holds_on_exchangeable_residuals(level):
    """Averaged over many calibration draws, the coverage of a fresh sample is at least the level (the
    conformal guarantee) and not much more (n = 200)."""
    rng = np.random.default_rng(1)
    hits = []
    for _ in range(400):
        val, test = rng.standard_t(4, 200) * 0.05 + 0.02, rng.standard_t(4, 500) * 0.05 + 0.02
        off = C.conformal_offsets(val, level)
        hits.append(np.mean((test >= off.lo) & (test <= off.hi)))
    assert level - 0.005 <= np.mean(hits) <= level + 0.02


def test_an_interval_holds_the_truth_exactly_when_the_residual_is_within_the_offsets():
    rng = np.random.default_rng(2)
    truth = rng.uniform(200, 1400, 1000)
    pred = truth * np.exp(rng.normal(0.03, 0.05, truth.size))  # biased high by 3%
    off = C.conformal_offsets(C.log_residuals(truth[:500], pred[:500]), 0.9)
    low, high = C.interval(pred[500:], off)
    r = C.log_residuals(truth[500:], pred[500:])
    inside = (low <= truth[500:]) & (truth[500:] <= high)
    np.testing.assert_array_equal(inside, (r >= off.lo - 1e-12) & (r <= off.hi + 1e-12))
    assert C.coverage(truth[500:], low, high) == pytest.approx(inside.mean())
    # the bias moves the interval: the prediction lies above its interval's centre (in log space)
    assert np.all(np.log(pred[500:]) > 0.5 * (np.log(low) + np.log(high)))


def test_clips_are_whole_windows_of_one_series():
    series = np.repeat([0, 1], 10)
    step = np.tile(np.arange(10) * 10.0, 2) + np.repeat([0.0, 1000.0], 10)  # 0..90 and 1000..1090
    labels = C.clip_labels(series, step, clip_steps=30)
    # windows of 3 samples: [0, 30), [30, 60), [60, 90) whole, [90, ...) one sample: dropped
    np.testing.assert_array_equal(labels[:10], [0, 0, 0, 1, 1, 1, 2, 2, 2, -1])
    np.testing.assert_array_equal(labels[10:], [3, 3, 3, 4, 4, 4, 5, 5, 5, -1])
    # a period of 25 steps at a spacing of 10: windows of 3, 2, 3, 2 samples are all clips; the last
    # window (1 sample) is not
    np.testing.assert_array_equal(C.clip_labels(np.zeros(11), np.arange(11) * 10.0, 25.0),
                                  [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, -1])
    with pytest.raises(ValueError, match="clip_steps=0"):
        C.clip_labels(series, step, 0)
    # one clip length per sample; NaN: that series has no clips
    per_sample = np.where(series == 0, 30.0, np.nan)
    np.testing.assert_array_equal(C.clip_labels(series, step, per_sample), np.r_[labels[:10], [-1] * 10])


def test_clip_estimate_is_the_geometric_mean_and_calibrates_on_clips():
    labels = np.array([0, 0, 1, 1, -1])
    pred = np.array([100.0, 400.0, 300.0, 300.0, 5.0])
    est, ids = C.clip_estimates(pred, labels)
    np.testing.assert_allclose(est, [200.0, 300.0])
    np.testing.assert_array_equal(ids, [0, 1])
    truth = np.array([200.0, 200.0, 250.0, 250.0, 250.0])
    np.testing.assert_array_equal(C.clip_truth(truth, labels, ids), [200.0, 250.0])
    cal = C.fit_calibration(truth, pred, labels, level=0.5, epoch=7)
    assert cal.clip.size == 2 and cal.frame.size == 5
    np.testing.assert_allclose(cal.clip, np.log([200.0 / 200.0, 300.0 / 250.0]), atol=1e-12)
    back = C.Calibration.from_json(cal.to_json())
    np.testing.assert_array_equal(back.frame, cal.frame)
    np.testing.assert_array_equal(back.clip, cal.clip)
    assert (back.level, back.epoch) == (0.5, 7) and back.offsets(0.9) == cal.offsets(0.9)


def test_reliability_of_the_validation_set_on_itself_is_at_least_nominal():
    r = np.random.default_rng(3).normal(0, 0.1, 300)
    for row in C.reliability(r, r):
        assert row["coverage"] >= row["level"]


def test_a_non_positive_prediction_misses_every_interval_and_is_the_worst_residual():
    r = C.log_residuals([300.0, 300.0], [-5.0, 330.0])
    assert np.isnan(r[0]) and r[1] == pytest.approx(np.log(1.1))
    off = C.conformal_offsets(np.r_[np.zeros(18), np.nan], 0.9)
    assert off.hi == np.inf and off.lo == 0.0
    low, high = C.interval([-5.0, 330.0], C.Offsets(-0.2, 0.2, 10))
    assert C.coverage([300.0, 300.0], low, high) == 0.5
    est, _ = C.clip_estimates([-5.0, 330.0, 330.0, 330.0], [0, 0, 1, 1])
    assert np.isnan(est[0]) and est[1] == pytest.approx(330.0)
    with pytest.raises(ValueError, match="true Reynolds numbers must be > 0"):
        C.log_residuals([0.0], [300.0])


def test_scaled_intervals_hold_the_truth_exactly_when_the_scaled_residual_is_within_the_offsets():
    rng = np.random.default_rng(3)
    members = np.log(500.0) + rng.normal(0, 0.05, size=(5, 200))  # (M, N) log predictions
    re_true = 500.0 * np.exp(rng.normal(0, 0.05, size=200))
    pred = np.exp(members.mean(axis=0))
    cal = C.fit_calibration(re_true, pred, member_log=members)
    s = members.std(axis=0, ddof=1)
    assert cal.scaled and np.allclose(cal.frame_spread, s)
    off = cal.offsets()
    low, high = C.interval(pred, off, s)
    np.testing.assert_allclose(low, pred * np.exp(-off.hi * s))
    r = C.log_residuals(re_true, pred) / s
    inside = (low <= re_true) & (re_true <= high)
    assert np.array_equal(inside, (r >= off.lo - 1e-12) & (r <= off.hi + 1e-12))
    # a single model has no spread: the plain residuals
    assert not C.fit_calibration(re_true, pred, member_log=members[:1]).scaled


def test_scaled_intervals_cover_evenly_where_the_error_grows_with_the_spread():
    """Residuals r = s z with z exchangeable: the scaled interval covers ~90% in every spread bin, the plain
    one over-covers the narrow-spread half and under-covers the wide one."""
    rng = np.random.default_rng(4)

    def draw(n):
        s = np.exp(rng.uniform(np.log(0.01), np.log(0.1), n))
        return s, s * rng.standard_normal(n)

    s_val, r_val = draw(4000)
    s_test, r_test = draw(20000)
    scaled_off = C.conformal_offsets(C.scaled(r_val, s_val), 0.9)
    plain_off = C.conformal_offsets(r_val, 0.9)
    narrow = s_test < np.median(s_test)
    for part in (narrow, ~narrow):
        z = r_test[part] / s_test[part]
        assert abs(np.mean((z >= scaled_off.lo) & (z <= scaled_off.hi)) - 0.9) < 0.02
    plain = (r_test >= plain_off.lo) & (r_test <= plain_off.hi)
    assert plain[narrow].mean() > 0.95 and plain[~narrow].mean() < 0.85


def test_clip_spread_is_the_spread_of_the_members_clip_means_and_json_keeps_it():
    members = np.array([[0.0, 0.2, 1.0, 1.0], [0.2, 0.4, 3.0, 3.0]])  # 2 members, 2 clips of 2 frames
    labels = np.array([0, 0, 1, 1])
    np.testing.assert_allclose(C.clip_spread(members, labels), [np.std([0.1, 0.3], ddof=1),
                                                               np.std([1.0, 3.0], ddof=1)])
    re_true = np.full(4, 2.0)
    cal = C.fit_calibration(re_true, np.exp(members.mean(axis=0)), labels, member_log=members)
    back = C.Calibration.from_json(cal.to_json())
    assert back.scaled and np.array_equal(back.clip_spread, cal.clip_spread)
    assert back.to_json()["method"] == C.SCALED
    old = {k: v for k, v in cal.to_json().items() if "spreads" not in k}  # a file from before the spreads
    assert not C.Calibration.from_json(old).scaled


def test_coverage_range_resamples_whole_runs():
    """Two runs, one covered and one missed: resampling the two runs gives coverage 0, 1/2 or 1 with
    probabilities 1/4, 1/2, 1/4 (frames weighted by their runs' sizes: run A 1 frame, run B 3 frames gives
    1, 1/4, 0), so the central 90% range is [0, 1] and the central 40% range the middle value."""
    assert C.coverage_range([1, 0], [7, 9], 0.9) == [0.0, 1.0]
    assert C.coverage_range([1, 0], [7, 9], 0.4) == [0.5, 0.5]
    assert C.coverage_range([1, 0, 0, 0], [0, 1, 1, 1], 0.4) == [0.25, 0.25]
    # every run covered at the same rate: no spread; one run: no range at all
    assert C.coverage_range([1, 0, 1, 0, 1, 0], [0, 0, 1, 1, 2, 2]) == [0.5, 0.5]
    assert C.coverage_range([1, 0, 1], [4, 4, 4]) is None


def test_coverage_range_of_many_independent_runs_matches_the_binomial_spread():
    """One frame per run: the bootstrap range of 400 runs with coverage 0.9 is the binomial one,
    0.9 +- 1.645 sqrt(0.9 * 0.1 / 400) = 0.9 +- 0.025 (to within the bootstrap's resolution)."""
    hits = np.arange(400) % 10 != 0
    lo, hi = C.coverage_range(hits, np.arange(400), 0.9)
    half = 1.645 * np.sqrt(0.9 * 0.1 / 400)
    assert abs(lo - (0.9 - half)) < 0.006 and abs(hi - (0.9 + half)) < 0.006
