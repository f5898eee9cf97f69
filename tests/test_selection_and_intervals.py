"""Nothing is chosen on the test set, and the intervals say what they measure: a training run's selected
checkpoint is the lowest validation loss it kept, its calibration is that checkpoint's validation residuals,
evaluate's interval keys are the coverage and width recomputed from its own predictions, old configs that
stopped on the test set are refused with what to do, and stop_at_val_r2 stops after the chunk that reaches
it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from configs import test as test_config
from conftest import write_quick_grid_synthetic
from turbjax import calibration as C
from turbjax.configs.schema import with_overrides
from turbjax.configs.validate import validate_config
from turbjax.pipeline import prepare, trainer_for
from turbjax.scoring import evaluate_workdir, predictions
from turbjax.train import train_and_evaluate
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.resume import restore_state
from turbjax.workdir import load_run_config, read_calibration, read_standardizer

RES = (300.0, 600.0, 900.0, 1200.0)
PER_RE_KEYS = {"coverage", "clip_coverage", "clip_mae_percent", "interval_width_percent", "interval_low_mean",
               "interval_high_mean"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    data = write_quick_grid_synthetic(tmp_path_factory.mktemp("data"), RES, frames=40)
    workdir = tmp_path_factory.mktemp("run")
    c = with_overrides(test_config.get_config(), {
        "data.dir": str(data), "data.split": "time", "data.gap": 1, "training.epochs": 8,
        "training.plots": True, "training.keep_checkpoints": 1,
    })
    results = train_and_evaluate(c, workdir)
    return workdir, results


def test_the_selected_checkpoint_has_the_lowest_validation_loss(run):
    workdir, results = run
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    saved = [r for r in rows if r["epoch"] % 2 == 0]  # a checkpoint every 2 epochs
    best = min(saved, key=lambda r: r["val_loss"])
    assert results["selected_on"] == "validation" and results["selected_epoch"] == best["epoch"]
    ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
    assert ckpt.best_step() == best["epoch"]
    ckpt.close()
    assert {"val_r2", "val_mae", "test_r2", "test_mae", "num_val"} <= set(results)
    assert all("val_loss" in r and "test_loss" in r for r in rows)
    assert results["validation"].startswith("the last 0.2 of each series' training side, after the same gap")


def test_calibration_is_the_selected_checkpoints_validation_residuals(run):
    workdir, results = run
    cal = read_calibration(workdir)
    assert cal.epoch == results["selected_epoch"] and cal.level == 0.9
    config = load_run_config(workdir)
    prep = prepare(config, read_standardizer(workdir))
    trainer = trainer_for(config, prep)
    ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
    params = restore_state(trainer, config, ckpt, cal.epoch)["params"]
    ckpt.close()
    pred = predictions(trainer, params, prep.data, "val")[:, 0]
    np.testing.assert_allclose(cal.frame, C.log_residuals(prep.ds.val.re, pred), rtol=1e-5, atol=1e-6)
    assert (workdir / "reliability.png").is_file()


def test_evaluate_gives_the_interval_keys_recomputed_from_its_predictions(run):
    workdir, _ = run
    scores = evaluate_workdir(workdir)
    test = scores["test"]
    assert {"coverage", "clip_coverage", "interval_width_percent", "clip_mae_percent"} <= set(test)
    for entry in scores["test_per_reynolds"]:
        assert PER_RE_KEYS <= set(entry)
        assert entry["interval_low_mean"] < entry["prediction_mean"] < entry["interval_high_mean"]
    config = load_run_config(workdir)
    prep = prepare(config, read_standardizer(workdir))
    trainer = trainer_for(config, prep)
    ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
    params = restore_state(trainer, config, ckpt, scores["epoch"])["params"]
    ckpt.close()
    pred = predictions(trainer, params, prep.data)[:, 0]
    low, high = C.interval(pred, read_calibration(workdir).offsets())
    re = prep.ds.test.re.astype(np.float64)
    assert test["coverage"] == pytest.approx(np.mean((low <= re) & (re <= high)), abs=1e-6)
    assert test["interval_width_percent"] == pytest.approx(np.median(100 * (high - low) / re), rel=1e-4)
    # the range over resampled test runs is the cluster bootstrap of these hits over the runs
    runs = np.asarray(prep.ds.test.series)
    assert test["num_runs"] == np.unique(runs).size >= 2
    assert test["coverage_range"] == C.coverage_range((low <= re) & (re <= high), runs, 0.9)
    assert test["coverage_range"][0] <= test["coverage"] <= test["coverage_range"][1]
    # per run: each run's own frames' hits and mean prediction; together every test frame
    assert len(test["per_run"]) == test["num_runs"]
    for row in test["per_run"]:
        m = (runs == runs[(re == row["re"]) & (prep.ds.test.realization == row["realization"])][0])
        assert row["num_frames"] == m.sum()
        assert row["coverage"] == pytest.approx(np.mean((low[m] <= re[m]) & (re[m] <= high[m])), abs=1e-6)
        assert row["prediction_mean"] == pytest.approx(pred[m].mean(), rel=1e-6)
        whole = np.exp(np.mean(np.log(pred[m])))  # the whole recording's estimate: its frames' geometric mean
        error = 100 * abs(whole - re[m][0]) / re[m][0]
        assert row["clip_length_mae_percent"]["whole"] == pytest.approx(error, rel=1e-4, abs=1e-6)
        assert set(row["clip_length_mae_percent"]) == {"1", "2", "4", "whole"}
    latest = evaluate_workdir(workdir, checkpoint="latest")
    if latest["epoch"] != scores["epoch"]:  # another checkpoint: its intervals were never calibrated
        assert "coverage" not in latest["test"] and "calibration.json is for epoch" in latest["interval_note"]


def test_an_old_config_that_stopped_on_test_is_refused_with_the_new_name():
    c = test_config.get_config()
    c.training.stop_at_test_r2 = 0.99
    renamed = r"config.training.stop_at_test_r2 is now config.training.stop_at_val_r2: early stopping watches"
    with pytest.raises(ValueError, match=renamed):
        validate_config(c)


def test_stop_at_val_r2_stops_after_the_chunk_that_reaches_it(tmp_path):
    data = write_quick_grid_synthetic(tmp_path / "data", RES, frames=40)
    c = with_overrides(test_config.get_config(), {
        "data.dir": str(data), "data.split": "time", "data.gap": 1, "training.epochs": 8,
        "training.plots": False, "training.stop_at_val_r2": -1e9,  # reached after the first chunk
    })
    results = train_and_evaluate(c, tmp_path / "w")
    assert results["epochs"] == 2  # the first chunk (2 epochs) reaches the bound
    rows = [json.loads(line) for line in (tmp_path / "w" / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == [1, 2] and rows[-1]["val_r2"] >= -1e9


def test_clip_length_errors_average_clips_of_each_length_and_the_whole_run():
    """Two runs; run 0 (Re 100, period 10 steps, 40 frames) is off by exp(+0.1) in its 1st and 3rd periods and
    by exp(-0.1) in the 2nd and 4th: 1-period clips err by |e^{+-0.1} - 1|, 2- and 4-period clips (geometric
    means) and the whole run not at all; run 1 (Re 200) holds 15 frames: one whole 1-period clip, no
    2-period one."""
    from types import SimpleNamespace

    from turbjax.scoring import clip_length_errors

    steps0, steps1 = np.arange(40.0), np.arange(15.0)
    off0 = np.where((steps0 // 10) % 2 == 0, 0.1, -0.1)
    part = SimpleNamespace(series=np.r_[np.zeros(40, int), np.ones(15, int)], step=np.r_[steps0, steps1],
                           re=np.r_[np.full(40, 100.0), np.full(15, 200.0)], period=np.full(55, 10.0))
    pred = np.r_[100 * np.exp(off0), np.full(15, 210.0)]
    rows = clip_length_errors(part, pred, (1, 2, 4))
    one = 100 * (abs(np.exp(0.1) - 1) + abs(np.exp(-0.1) - 1)) / 2
    assert rows[0]["re"] == 100.0 and rows[0]["1"] == pytest.approx(one)
    assert rows[0]["2"] == pytest.approx(0, abs=1e-9) and rows[0]["4"] == pytest.approx(0, abs=1e-9)
    assert rows[0]["whole"] == pytest.approx(0, abs=1e-9)
    assert rows[1] == {"re": 200.0, "whole": pytest.approx(5.0), "1": pytest.approx(5.0), "2": None,
                       "4": None}


def _compare_intervals():
    import runpy
    from pathlib import Path

    return runpy.run_path(str(Path(__file__).resolve().parent.parent / "scripts" / "compare_intervals.py"))


def test_the_trend_normalizer_recovers_a_power_law_and_covers_each_end_of_the_range():
    ci = _compare_intervals()
    rng = np.random.default_rng(0)
    m = rng.uniform(np.log(300.0), np.log(1200.0), 40_000)
    # |r| = exp(0.3 + 1.5 m) exactly (signs alternate): the unfloored fit is the slope itself
    exact = np.exp(0.3 + 1.5 * m) * np.where(np.arange(m.size) % 2, 1.0, -1.0)
    assert ci["trend_slope"](exact, m, floor=0.0) == pytest.approx(1.5, abs=1e-9)
    # residuals whose size grows as Re^1.5: calibrated on one half, the trend interval holds ~90% of the other
    # half's residuals at both ends of the range; the plain one over-covers the low end, under-covers the top
    r = 0.01 * rng.standard_normal(m.size) * np.exp(1.5 * (m - m.mean()))
    s = np.ones_like(m)
    cal, new = slice(0, 20_000), slice(20_000, None)
    low, high = m[new] < np.quantile(m, 0.2), m[new] > np.quantile(m, 0.8)
    for method in ("trend", "scaled+trend"):
        hit = ci["covered"](r[new], s[new], m[new], r[cal], s[cal], m[cal], method)
        assert abs(hit[low].mean() - 0.9) < 0.03 and abs(hit[high].mean() - 0.9) < 0.03
    plain = ci["covered"](r[new], s[new], m[new], r[cal], s[cal], m[cal], "plain")
    assert plain[low].mean() > 0.98 and plain[high].mean() < 0.8
