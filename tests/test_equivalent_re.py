"""scripts/equivalent_re.py: the Reynolds number at which the reference curve of time-mean statistics passes
nearest a run's, on statistics whose exact dependence on Re is known."""

import runpy
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
RES = np.arange(200.0, 1401.0, 50.0)


@pytest.fixture(scope="module")
def eq():
    return runpy.run_path(str(ROOT / "scripts" / "equivalent_re.py"))


def statistics(re, slopes, offsets):
    """K statistics linear in log Re: offsets_k + slopes_k log Re."""
    return offsets + slopes * np.log(re)


def reference_runs(slopes, offsets, noise):
    """Realizations 0..3 at every RES: the exact statistics plus +-noise (two runs up, two down: their mean
    is exact and their scatter is known)."""
    signs = (1.0, -1.0, 1.0, -1.0)
    return [{"re": float(re), "realization": k, "frames": 10,
             "mean": statistics(re, slopes, offsets) + signs[k] * noise}
            for re in RES for k in range(4)]


def test_pooled_scatter_is_the_runs_standard_deviation_about_their_mean(eq):
    noise = np.array([0.1, 0.02, 0.5])
    runs = reference_runs(np.ones(3), np.zeros(3), noise)
    # four runs at +-noise about their mean: sum of squares 4 noise^2 over 3 degrees of freedom
    np.testing.assert_allclose(eq["pooled_scatter"](runs), noise * np.sqrt(4 / 3), rtol=1e-12)


def test_a_run_of_a_higher_reynolds_number_is_found_there_by_every_informative_statistic(eq):
    slopes, offsets = np.array([1.0, -2.0, 0.5, 0.0]), np.array([0.0, 3.0, -1.0, 2.0])
    noise = np.array([0.01, 0.01, 0.01, 0.01])
    runs = reference_runs(slopes, offsets, noise)
    res, means = eq["reference_curve"](runs)
    np.testing.assert_allclose(means, statistics(res[:, None], slopes, offsets), atol=1e-12)
    scatter = eq["pooled_scatter"](runs)
    for nominal, truth in ((300.0, 315.0), (600.0, 570.0), (1200.0, 1260.0)):
        e = eq["equivalent"](statistics(truth, slopes, offsets), nominal, res, means, scatter)
        # the search grid's step in log Re: 2 ln(1.6) / 2000 = 4.7e-4
        assert e["combined"] == pytest.approx(truth, rel=5e-4)
        np.testing.assert_allclose(e["per_statistic"][:3], truth, rtol=5e-4)
        assert np.isnan(e["per_statistic"][3])  # flat in Re: not informative


def test_a_statistic_whose_change_is_within_its_scatter_is_not_informative(eq):
    # slope 0.01 per unit log Re: over Re * [1/1.1, 1.1] it changes by 0.0019, less than 2 x its scatter
    slopes, offsets = np.array([1.0, 0.01]), np.zeros(2)
    runs = reference_runs(slopes, offsets, np.array([0.01, 0.01]))
    res, means = eq["reference_curve"](runs)
    e = eq["equivalent"](statistics(600.0, slopes, offsets), 600.0, res, means, eq["pooled_scatter"](runs))
    assert e["per_statistic"][0] == pytest.approx(600.0, rel=5e-4) and np.isnan(e["per_statistic"][1])


def test_leaving_a_realization_out_scores_a_reference_run_against_the_others(eq):
    slopes, offsets = np.array([1.0, 2.0]), np.zeros(2)
    runs = reference_runs(slopes, offsets, np.array([0.02, 0.04]))
    scatter = eq["pooled_scatter"](runs)
    rows = eq["score_runs"]("ref", [r for r in runs if r["re"] == 600.0], runs, scatter, leave_one_out=True)
    # a run +noise (realizations 0, 2) against the mean of three runs (+noise, -noise, -noise: -noise / 3)
    # looks like a higher Re, a run -noise like a lower one, by the same factor:
    # ln(Re' / Re) = +-(4/3) noise / slope = +-0.0267 for both statistics
    log_shift = [np.log1p(r["shift_percent"] / 100) for r in rows]
    np.testing.assert_allclose(log_shift, [4 / 3 * 0.02, -4 / 3 * 0.02] * 2, atol=5e-4)
    up = 100 * (np.exp(4 / 3 * 0.02) - 1)
    assert rows[0]["statistic_shift_percent"] == pytest.approx([up, up], abs=0.05)
    table = eq["summary"](rows)
    assert table[0]["runs"] == 4 and table[0]["statistics_shifted_up"] == pytest.approx(0.5)
    assert eq["table_markdown"](table).splitlines()[2].startswith("| ref | 600 | 4 | ")


def test_a_flow_beyond_the_reference_range_is_a_bound_at_its_edge(eq):
    slopes, offsets = np.array([1.0, -1.0]), np.zeros(2)
    runs = reference_runs(slopes, offsets, np.array([0.01, 0.01]))
    res, means = eq["reference_curve"](runs)
    scatter = eq["pooled_scatter"](runs)
    beyond = eq["equivalent"](statistics(1800.0, slopes, offsets), 1200.0, res, means, scatter)
    assert beyond["at_edge"] and beyond["combined"] == pytest.approx(res[-1], rel=5e-4)
    inside = eq["equivalent"](statistics(1250.0, slopes, offsets), 1200.0, res, means, scatter)
    assert not inside["at_edge"] and inside["combined"] == pytest.approx(1250.0, rel=5e-4)
