"""scripts/generalization.py end to end on the quick grid (--small): the table's rows, and every row's workdir
a complete training workdir that turbjax.evaluate scores, on its own data and on another directory. Its cells'
configs without data: the flagship cell is configs/generalize.py, and every cell is a valid config."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from configs import generalize
from turbjax.configs import default
from turbjax.configs.validate import validate_config
from turbjax.scoring import evaluate_workdir

ROOT = Path(__file__).resolve().parent.parent
DIRS = {"data.dir": "/e", "data.test_dir": "/s"}  # the flagship's directory fields, as the script sets them


@pytest.fixture(scope="module")
def script():
    return runpy.run_path(str(ROOT / "scripts" / "generalization.py"))


def fields(config) -> dict:
    """{"section.field": value} of every field of a config."""
    return {f"{s}.{f}": v for s, section in config.to_dict().items() for f, v in section.items()}


def cell(script, model, split, **kw):
    return script["build_config"](model, split, seed_dir="/s", ensemble_dir="/e", long_dir="/l", **kw)


def test_the_flagship_cell_is_configs_generalize_on_the_runs_directories(script):
    built, ref = fields(cell(script, "mlp_wakestats", "flagship")), fields(generalize.get_config())
    assert built.keys() == ref.keys()
    differ = {k for k in ref if built[k] != ref[k]}
    assert differ == set(DIRS) and {k: built[k] for k in DIRS} == DIRS
    # not a comparison of two defaults: generalize.py sets the model, features, target, window and split
    assert len({k for k, v in fields(default.get_config()).items() if ref[k] != v}) >= 12
    # --epochs, when given, is the one other field a run may change
    assert fields(cell(script, "mlp_wakestats", "flagship", epochs=3))["training.epochs"] == 3


def test_other_models_on_the_flagship_split_share_its_data_but_their_features(script):
    own = {"data.features", "data.log_target", "data.crop_x", "data.crop_y", "data.resolution_input"}
    flagship = fields(cell(script, "mlp_wakestats", "flagship"))
    for model in script["MODELS"]:
        data = {k: v for k, v in fields(cell(script, model, "flagship")).items() if k.startswith("data.")}
        assert {k for k, v in data.items() if flagship[k] != v} <= own, model


def test_preset_values_written_in_configs_generalize():
    from turbjax.data.vorticity import HALO
    from turbjax.simulate import PRESETS

    c = generalize.get_config()
    assert c.data.sample_every_steps == PRESETS["ensemble"].save_every
    assert c.data.test_sample_every_steps == PRESETS["seed"].save_every
    x0, x1, y0, y1 = PRESETS["ensemble"].window
    assert (c.data.crop_x, c.data.crop_y) == ((x0 + HALO, x1 - HALO), (y0 + HALO, y1 - HALO))


def test_every_cell_is_a_valid_config_and_the_small_ensemble_is_named(script):
    from turbjax.simulate import PRESETS

    for small in (False, True):
        for split in script["REPORT_SPLITS"]:
            for model in script["MODELS"]:
                validate_config(cell(script, model, split, small=small))
    small = cell(script, "mlp_wakestats", "flagship", small=True).data
    assert small.preset == "ensemble_small"
    assert small.sample_every_steps == PRESETS["ensemble_small"].save_every
    assert tuple(small.reynolds) == script["SMALL_ENSEMBLE_RE"] and tuple(small.realizations) == (0, 1, 2, 3)


def test_the_ensemble_splits_read_eight_realizations_and_the_numerics_splits_four(script):
    """By default the realization, heldout_re and flagship splits read realizations 0-7 (the realization split
    tests on 2, validates on 3, trains on 0, 1, 4-7), the numerics splits and --small 0-3; --realizations N
    sets every ensemble-reading split to 0..N-1 and changes nothing else of a config."""
    cells = (("mlp_wakestats", "realization"), ("mlp_wakestats", "flagship"), ("cnn", "heldout_re"),
             ("mlp_wakestats", "numerics"), ("mlp_gradstats", "grid"))
    for model, split in cells:
        default = fields(cell(script, model, split))
        four, eight = fields(cell(script, model, split, realizations=4)), fields(cell(script, model, split,
                                                                                     realizations=8))
        assert four["data.realizations"] == (0, 1, 2, 3) and eight["data.realizations"] == tuple(range(8))
        assert default == (eight if split in script["ENSEMBLE_SPLITS"] else four)
        assert fields(cell(script, model, split, small=True))["data.realizations"] == (0, 1, 2, 3)
        changed = {k for k in four if four[k] != eight[k]}
        if split == "realization":
            assert four["data.train_realizations"] == (0, 1)
            assert eight["data.train_realizations"] == (0, 1, 4, 5, 6, 7)
            assert four["data.val_realizations"] == eight["data.val_realizations"] == (3,)
            assert changed == {"data.realizations", "data.train_realizations"}
        else:
            assert changed == {"data.realizations"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "generalization.py"), "--out", "/tmp/x",
                           "--realizations", "3"], capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "--realizations=3 must be >= 4" in proc.stderr


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("generalization")
    cmd = [sys.executable, str(ROOT / "scripts" / "generalization.py"), "--out", str(tmp / "out"), "--small",
           "--splits", "flagship,time", "--models", "mlp_wakestats,cnn", "--epochs", "2",
           "--seed-dir", str(tmp / "seed"), "--ensemble-dir", str(tmp / "ens")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return tmp, json.loads((tmp / "out" / "generalization.json").read_text()), proc.stdout


def test_one_row_per_cell_with_the_promised_fields(report):
    tmp, rows, stdout = report
    assert [(r["split"], r["model"]) for r in rows] == [
        ("flagship", "mlp_wakestats"), ("flagship", "cnn"), ("time", "mlp_wakestats"), ("time", "cnn")]
    for r in rows:
        assert {"model", "split", "test_r2", "test_mae", "workdir", "per_reynolds"} <= set(r)
        assert np.isfinite(r["test_mae"]) and r["test_mae"] > 0
    # the flagship tests exactly the four seed Reynolds numbers, none of which it trained on
    flagship = rows[0]
    assert [p["re"] for p in flagship["per_reynolds"]] == [300.0, 600.0, 900.0, 1200.0]
    assert [r["members"] for r in rows] == [5, 1, 5, 1]  # the MLPs are deep ensembles, the CNN one network
    assert "| flagship | mlp_wakestats x5 |" in stdout and "| flagship | cnn |" in stdout
    assert (tmp / "out" / "generalization.md").is_file() and (tmp / "out" / "generalization.png").is_file()


def test_every_workdir_is_a_training_workdir_that_evaluate_scores(report):
    tmp, rows, _ = report
    for r in rows:
        results = json.loads((Path(r["workdir"]) / "results.json").read_text())
        scores = evaluate_workdir(r["workdir"], checkpoint="latest")
        np.testing.assert_allclose(scores["test"]["mae"], results["test_mae"], rtol=1e-4)
    # and on another directory: the flagship MLP (log Re, wide window) scored on the seed files' every frame
    cli = [sys.executable, "-m", "turbjax.evaluate", "--workdir", rows[0]["workdir"],
           "--data", str(tmp / "seed"), "--checkpoint", "latest"]
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout[proc.stdout.index("{"):])["test"]["mae"] > 0


def test_realization_spread_scores_each_run_alone_and_the_reference(report):
    """scripts/realization_spread.py on the small grid: 2 + 1 new runs at Re 600 (which the flagship cell
    never trained on) and the seed run; each row is what evaluate gives for that one file."""
    tmp, rows, _ = report
    workdir = rows[0]["workdir"]  # flagship, mlp_wakestats
    out = tmp / "spread"
    cmd = [sys.executable, str(ROOT / "scripts" / "realization_spread.py"), "--workdir", workdir,
           "--re", "600", "--out", str(out), "--preset", "ensemble_small", "--seeds", "2",
           "--more-seeds", "1",
           "--perturbations", "0.01,0.001", "--reference", str(tmp / "seed")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    spread = json.loads((out / "spread.json").read_text())
    runs = [(r["perturbation"], r["seed"]) for r in spread]
    assert runs == [(0.01, 0), (0.01, 1), (0.001, 0), (None, None)]
    assert (out / "spread.png").is_file()
    one = evaluate_workdir(workdir, data_dir=out / "perturbation_0.01", checkpoint="latest",
                           reynolds=[600.0], realizations=[1])["test_per_reynolds"][0]
    ref = evaluate_workdir(workdir, data_dir=tmp / "seed", checkpoint="latest",
                           reynolds=[600.0])["test_per_reynolds"][0]
    for got, want in ((spread[1], one), (spread[3], ref)):
        assert got["n"] == want["n"]
        np.testing.assert_allclose([got["prediction_mean"], got["mae"]],
                                   [want["prediction_mean"], want["mae"]], rtol=1e-6)
    # the two seeds are different flows
    assert spread[0]["prediction_mean"] != spread[1]["prediction_mean"]


def test_realization_spread_refuses_a_classifier_or_an_unknown_preset_before_simulating(report, tmp_path):
    tmp, rows, _ = report
    config = json.loads((Path(rows[0]["workdir"]) / "config.json").read_text())
    config["model"]["name"] = "logistic"
    (tmp_path / "config.json").write_text(json.dumps(config))
    script = str(ROOT / "scripts" / "realization_spread.py")
    cases = ((tmp_path, [], "holds a 'logistic' model"),
             (Path(rows[0]["workdir"]), ["--preset", "nope"], "--preset='nope' is unknown"))
    for workdir, extra, message in cases:
        out = tmp_path / "out"
        cmd = [sys.executable, script, "--workdir", str(workdir), "--re", "600", "--out", str(out), *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
        assert not out.exists()  # nothing simulated or written


def test_folds_test_each_part_once_and_pool_their_runs(report, tmp_path):
    """scripts/folds.py: realization fold k tests realization k and validates on k + 1 (mod N), trains on the
    rest, and fold 2 of 8 is the realization cell itself; heldout_re fold 0 is the heldout_re cell and every
    fold holds out four Re between training ones. On the small ensemble the summary pools the folds' test runs
    exactly as their results.json give them, and the clip-length table's one-period clips are those runs'."""
    folds = runpy.run_path(str(ROOT / "scripts" / "folds.py"))
    script = runpy.run_path(str(ROOT / "scripts" / "generalization.py"))
    kw = {"small": False, "epochs": None, "ensemble_dir": "/e", "seed_dir": "/s"}
    for k in range(8):
        d = folds["fold_config"]("realization", k, 8, "mlp_wakestats", **kw).data
        assert d.val_realizations == ((k + 1) % 8,)
        assert sorted((*d.train_realizations, *d.val_realizations, k)) == list(range(8))
    assert fields(folds["fold_config"]("realization", 2, 8, "cnn", **kw)) == fields(cell(script, "cnn",
                                                                                          "realization"))
    assert fields(folds["fold_config"]("heldout_re", 0, 8, "mlp_wakestats", **kw)) == fields(
        cell(script, "mlp_wakestats", "heldout_re"))
    held = [folds["fold_config"]("heldout_re", k, 8, "mlp_wakestats", **kw).data.heldout
            for k in folds["fold_numbers"]("heldout_re", 8, False)]
    assert len({r for h in held for r in h}) == 4 * len(held)  # no Re held out twice
    assert all(250 <= r <= 1350 and len(h) == 4 for h in held for r in h)
    tmp, _, _ = report
    out = tmp_path / "folds"
    cmd = [sys.executable, str(ROOT / "scripts" / "folds.py"), "--out", str(out), "--small",
           "--model", "mlp_gradstats", "--epochs", "1", "--folds", "0,3", "--ensemble-dir", str(tmp / "ens")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False, cwd=ROOT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((out / "folds.json").read_text())
    results = {k: json.loads((out / f"fold{k}" / "results.json").read_text()) for k in (0, 3)}
    for k in results:
        config = json.loads((out / f"fold{k}" / "config.json").read_text())["data"]
        assert config["val_realizations"] == [(k + 1) % 4]
        assert sorted([*config["train_realizations"], (k + 1) % 4, k]) == [0, 1, 2, 3]
    per_run = [e for k in (0, 3) for e in results[k]["test_per_run"]]
    assert [e["realization"] for e in results[3]["test_per_run"]] == [3] * len(script["SMALL_ENSEMBLE_RE"])
    assert summary["runs"] == len(per_run) == 2 * len(script["SMALL_ENSEMBLE_RE"])
    frames = sum(e["num_frames"] for e in per_run)
    hits = sum(e["coverage"] * e["num_frames"] for e in per_run)
    assert summary["coverage"] == pytest.approx(hits / frames)
    for p in summary["per_reynolds"]:
        mine = [e["clip_mae_percent"] for e in per_run if e["re"] == p["re"]]
        assert p["clip_mae_percent"] == mine and p["runs"] == 2  # None: a run whose clips have no estimate
    over = [e["clip_mae_percent"] is not None and e["clip_mae_percent"] > 3 for e in per_run]
    assert summary["runs_over_clip_floor"] == sum(over)
    one = {(r["fold"], r["re"]): r["1"] for r in summary["clip_length_runs"]}
    for k in (0, 3):
        for e in results[k]["test_per_run"]:
            mae = e["clip_mae_percent"]
            assert one[k, e["re"]] == (None if mae is None else pytest.approx(mae))
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "folds.py"), "--out", str(out),
                          "--folds", "9"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--folds [9]: the realization split has folds 0..7" in bad.stderr
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "folds.py"), "--out", str(out),
                          "--clip-periods", "1,3"], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "--clip-periods=1,3: each length must be one of 1,2,4" in bad.stderr
