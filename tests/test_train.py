"""End to end: `train_and_evaluate(configs/test.py)` on small synthetic files; outputs, resume (also after a
real SIGKILL of a subprocess) gives identical parameters, evaluate.py, and every early error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from configs import test as test_config
from conftest import write_quick_grid_synthetic
from turbjax.configs.schema import with_overrides
from turbjax.scoring import evaluate_workdir
from turbjax.train import train_and_evaluate
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.resume import TrainingDivergedError
from turbjax.workdir import WorkdirMismatchError

ROOT = Path(__file__).resolve().parent.parent
RES = (300.0, 600.0, 900.0, 1200.0)
EPOCHS = 12  # the reference run; chunks of 2 epochs, a checkpoint after each


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("synthetic"), RES)


def config(data_dir, overrides=None):
    """configs/test.py on `data_dir` with plots, and `overrides` ({"section.field": value}) on top."""
    base = {"data.dir": str(data_dir), "training.plots": True}
    return with_overrides(test_config.get_config(), base | dict(overrides or {}))


def restore_params(workdir, step=None):
    """Params of a workdir's checkpoint, as raw numpy (no model needed)."""
    ckpt = Checkpointer(Path(workdir) / "checkpoints", read_only=True)
    step = ckpt.latest_step() if step is None else step
    tree = ckpt.manager.restore(step)
    ckpt.close()
    return step, tree["params"]


def assert_identical(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    """One uninterrupted run of EPOCHS epochs."""
    workdir = tmp_path_factory.mktemp("reference")
    results = train_and_evaluate(config(data_dir, {"training.epochs": EPOCHS}), workdir)
    return workdir, results


def test_end_to_end_outputs(reference):
    workdir, results = reference
    names = ("config.json", "metrics.jsonl", "results.json", "standardizer.npz", "loss_curve.png",
             "pred_vs_true.png")
    for name in names:
        assert (workdir / name).is_file(), name
    rows = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))
    assert {"train_loss", "test_loss", "test_r2", "test_mse", "seconds"} <= set(rows[0])
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    saved = json.loads((workdir / "results.json").read_text())
    assert saved == json.loads(json.dumps(results))
    for key in ("test_r2", "test_mse", "train_r2", "epochs", "wall_seconds", "examples_per_second"):
        assert key in results, key
    assert results["epochs"] == EPOCHS and not results["diverged"]
    assert results["test_r2"] > 0.5  # learns something on 16x16 crops of the analytic street in 12 epochs
    np.testing.assert_allclose(results["test_r2"], rows[-1]["test_r2"], rtol=1e-5)
    ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
    steps = ckpt.all_steps()
    assert EPOCHS in steps and len(steps) <= 3  # the last 2 + the best by test loss
    best_loss = min(rows[s - 1]["test_loss"] for s in steps)
    assert rows[ckpt.best_step() - 1]["test_loss"] == best_loss
    # evaluate.py restores the latest checkpoint and reproduces the final scores
    scores = evaluate_workdir(workdir, checkpoint="latest")
    assert scores["epoch"] == EPOCHS
    np.testing.assert_allclose(scores["test"]["r2"], results["test_r2"], rtol=1e-5)
    np.testing.assert_allclose(scores["train"]["r2"], results["train_r2"], rtol=1e-5)
    # the per-Reynolds-number table covers every test sample and its errors add up to the overall MAE
    table = results["test_per_reynolds"]
    assert [r["re"] for r in table] == sorted(RES)
    assert sum(r["n"] for r in table) == results["num_test"]
    overall = sum(r["n"] * r["mae"] for r in table) / results["num_test"]
    np.testing.assert_allclose(overall, results["test_mae"], rtol=1e-4)
    for r in table:
        np.testing.assert_allclose(r["mae_percent"], 100 * r["mae"] / r["re"], rtol=1e-12)


def test_one_held_out_reynolds_number_reports_r2_as_undefined(data_dir, tmp_path):
    """Test targets that all equal 600: R^2 is null (not 0) per epoch, in results.json and from evaluate,
    while the errors in Reynolds units stay numbers."""
    c = config(data_dir, {"training.epochs": 2, "data.split": "heldout_re", "data.heldout": (600.0,)})
    c.training.plots = False
    results = train_and_evaluate(c, tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["test_r2"] for r in rows] == [None, None]
    assert all(r["test_mae"] > 0 for r in rows)
    assert results["test_r2"] is None and "undefined" in results["test_r2_note"]
    assert results["test_target_values"] == [600.0] and results["train_r2"] is not None
    scores = evaluate_workdir(tmp_path, checkpoint="latest")
    assert scores["test"]["r2"] is None and scores["test"]["mae"] > 0


def test_rerun_resumes_and_ends_identical(reference, data_dir, tmp_path):
    train_and_evaluate(config(data_dir, {"training.epochs": 4, "training.plots": False}), tmp_path)
    assert restore_params(tmp_path)[0] == 4
    results = train_and_evaluate(config(data_dir, {"training.epochs": EPOCHS, "training.plots": False}),
                                 tmp_path)
    assert results["resumed_from_epoch"] == 4 and results["epochs"] == EPOCHS
    assert_identical(restore_params(tmp_path)[1], restore_params(reference[0])[1])
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1))


def test_sigkilled_run_resumes_to_identical_parameters(reference, data_dir, tmp_path):
    workdir = tmp_path / "killed"
    cmd = [
        sys.executable, "-m", "turbjax.train", "--config", str(ROOT / "configs" / "test.py"),
        "--workdir", str(workdir), f"--config.data.dir={data_dir}", f"--config.training.epochs={EPOCHS}",
        "--config.training.plots=False",
    ]
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    ckpt_dir = workdir / "checkpoints"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if ckpt_dir.is_dir() and any(p.name.isdigit() for p in ckpt_dir.iterdir()):
            break
        time.sleep(0.005)
    assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (workdir / "results.json").exists()  # killed mid-training
    done = sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit())
    assert done and max(done) < EPOCHS, done
    results = train_and_evaluate(config(data_dir, {"training.epochs": EPOCHS, "training.plots": False}),
                                 workdir)
    assert 0 < results["resumed_from_epoch"] < EPOCHS
    assert_identical(restore_params(workdir)[1], restore_params(reference[0])[1])


def test_checkpoint_of_another_architecture_is_an_error_and_untouched(reference, data_dir, tmp_path):
    workdir = tmp_path / "other"
    import shutil

    shutil.copytree(reference[0], workdir)
    before = sorted(p.name for p in (workdir / "checkpoints").iterdir())
    with pytest.raises(WorkdirMismatchError, match="hidden"):
        train_and_evaluate(config(data_dir, {"model.hidden": (8,)}), workdir)
    # without config.json the checkpoint itself is checked against the model
    (workdir / "config.json").unlink()
    from turbjax.training.checkpoint import CheckpointMismatchError

    with pytest.raises(CheckpointMismatchError, match="does not match the configured model"):
        train_and_evaluate(config(data_dir, {"model.hidden": (8,)}), workdir)
    assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == before
    assert not (workdir / "config.json").exists()
    assert_identical(restore_params(workdir)[1], restore_params(reference[0])[1])


def test_divergence_stops_with_epoch_and_learning_rate(data_dir, tmp_path):
    c = config(data_dir, {"optim.name": "sgd", "optim.momentum": 0.0, "optim.learning_rate": 1e3,
                          "training.plots": False})
    with pytest.raises(TrainingDivergedError, match=r"epoch 1 with learning_rate 1000"):
        train_and_evaluate(c, tmp_path)
    assert Checkpointer(tmp_path / "checkpoints", read_only=True).all_steps() == []  # nothing bad saved
    assert not (tmp_path / "results.json").exists()


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"model.name": "resnet"}, r"config.model.name='resnet' is not a model"),
        ({"optim.name": "rmsprop"}, r"config.optim.name='rmsprop' is not an optimizer"),
        ({"optim.learning_rate": 0.0}, r"learning_rate=0.0 must be > 0"),
        ({"optim.learning_rate": -1e-3}, r"learning_rate=-0.001 must be > 0"),
        ({"training.batch_size": 0}, r"batch_size=0 must be >= 1"),
        ({"optim.weight_decay": 1e-4}, r"only used by adamw"),
        ({"model.activation": "gelu"}, r"activation='gelu'"),
        ({"data.split": "kfold"}, r"kfold"),
        ({"data.reynolds": (300.0,)}, r"data.reynolds=\(300.0,\) leaves a single Reynolds number, 300"),
        ({"data.reynolds": (300.0, 600.0), "data.split": "heldout_re"}, r"single Reynolds number, 300"),
        ({"optim.name": "lbfgs", "optim.schedule": "cosine"}, r"schedule='cosine' with lbfgs: it must be"),
    ],
)
def test_bad_config_fails_before_any_data_is_touched(tmp_path, overrides, match):
    missing = tmp_path / "no_data_here"
    c = config(missing, overrides)
    with pytest.raises(ValueError, match=match):
        train_and_evaluate(c, tmp_path / "run")
    assert not missing.exists() and not (tmp_path / "run").exists()


def test_config_typo_is_caught_with_a_suggestion(tmp_path):
    c = config(tmp_path / "no_data_here")
    c.training.unlock()
    c.training.batchsize = 64
    match = r"config.training.batchsize is not a known field; did you mean config.training.batch_size"
    with pytest.raises(ValueError, match=match):
        train_and_evaluate(c, tmp_path / "run")


def test_batch_larger_than_training_set(data_dir, tmp_path):
    with pytest.raises(ValueError, match=r"batch_size=5000 is larger than the training set \(77 samples\)"):
        train_and_evaluate(config(data_dir, {"training.batch_size": 5000}), tmp_path)
    assert not (tmp_path / "config.json").exists()
