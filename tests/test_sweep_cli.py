"""End to end: `python -m turbjax.sweep --config configs/sweep_test.py` on small synthetic files (a
subprocess, flags and overrides included), the best trial restorable by turbjax.evaluate, early errors; and
(slow) scripts/gpu_check.sh and scripts/benchmark_sweep.py at their smallest settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from configs import sweep_test
from conftest import write_quick_grid_synthetic
from turbjax import sweep

ROOT = Path(__file__).resolve().parent.parent
RES = (300.0, 600.0, 900.0, 1200.0)


def env():
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    e = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=path)
    e.pop("JAX_NUM_CPU_DEVICES", None)
    return e


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("synthetic"), RES)


def test_command_line_sweep_and_evaluate_the_best_trial(data_dir, tmp_path):
    from turbjax.scoring import evaluate_workdir

    workdir = tmp_path / "sweep"
    cmd = [
        sys.executable, "-m", "turbjax.sweep", "--config", "configs/sweep_test.py", "--workdir", str(workdir),
        f"--config.data.dir={data_dir}", "--config.training.epochs=4", "--config.sweep.seed=(0, 3)",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "learning_rate" in proc.stdout and "epoch 1" in proc.stdout  # the table, with the diverged trials
    results = json.loads((workdir / "results.json").read_text())
    assert results["num_trials"] == 6 and [r["seed"] for r in results["trials"]] == [0, 3] * 3
    assert [r["diverged"] for r in results["trials"]] == [True, True, False, False, False, False]
    best = results["trials"][results["best_trial"]]
    assert (workdir / "loss_curves.png").is_file()
    scores = evaluate_workdir(workdir / "best")
    assert scores["epoch"] == 4
    assert scores["test"]["r2"] == pytest.approx(best["test_r2"], rel=1e-4, abs=1e-5)
    assert scores["test"]["loss"] == pytest.approx(best["final_test_loss"], rel=1e-4, abs=1e-6)


def test_a_sweep_trial_sees_the_data_of_train_and_reaches_its_parameters(data_dir, tmp_path):
    """With streamwise shifts the data window is widened by the shift: the sweep builds it through the same
    pipeline as train, so its one trial trains on the same window, ends at the same parameters, and its best/
    workdir is scored by evaluate exactly like the train run's."""
    import jax
    import numpy as np

    from turbjax.configs.schema import with_overrides
    from turbjax.pipeline import prepare, trainer_for
    from turbjax.scoring import evaluate_workdir
    from turbjax.train import train_and_evaluate
    from turbjax.training.checkpoint import Checkpointer
    from turbjax.training.resume import restore_state

    c = with_overrides(sweep_test.get_config(), {
        "data.dir": str(data_dir), "optim.name": "adam", "training.epochs": 4, "training.plots": False,
        "training.augment": ("shift",), "training.shift": 4,
    })
    c.sweep.learning_rate, c.sweep.seed = (1e-3,), (0,)
    sweep.run_sweep(c, tmp_path / "sweep")
    trained = sweep.trial_config(c, {"learning_rate": 1e-3, "seed": 0})
    train_and_evaluate(trained, tmp_path / "train")

    prep = prepare(trained)
    trainer = trainer_for(trained, prep)

    def final_params(workdir):
        ckpt = Checkpointer(workdir / "checkpoints", read_only=True)
        step = ckpt.latest_step()
        params = restore_state(trainer, trained, ckpt, step)["params"]
        ckpt.close()
        return step, params

    (step_a, a), (step_b, b) = final_params(tmp_path / "sweep" / "best"), final_params(tmp_path / "train")
    assert step_a == step_b == 4
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=2e-4, atol=2e-5)
    sa, sb = evaluate_workdir(tmp_path / "sweep" / "best"), evaluate_workdir(tmp_path / "train")
    assert sa["summary"] == sb["summary"]  # the same samples, window and features
    assert sa["test"]["r2"] == pytest.approx(sb["test"]["r2"], rel=1e-4, abs=1e-5)
    # the best trial is calibrated like a train run: the same intervals
    assert sa["test"]["coverage"] == pytest.approx(sb["test"]["coverage"], abs=1e-6)
    # and it says, like a train run, how far a flow may lie from its training features (predict's flag)
    from turbjax.workdir import read_novelty

    na, nb = read_novelty(tmp_path / "sweep" / "best"), read_novelty(tmp_path / "train")
    assert na is not None and na.threshold == pytest.approx(nb.threshold, rel=1e-3)
    width_a, width_b = sa["test"]["interval_width_percent"], sb["test"]["interval_width_percent"]
    assert width_a == pytest.approx(width_b, rel=1e-3)


def test_bad_trial_configs_fail_before_any_data_is_read(tmp_path):
    c = sweep_test.get_config()
    c.data.dir = str(tmp_path / "nothing_here")  # would be generated by the simulator if validation passed
    c.sweep.learning_rate = (0.1, -1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        sweep.run_sweep(c, tmp_path / "w")
    c = sweep_test.get_config()
    c.data.dir = str(tmp_path / "nothing_here")
    c.optim.name = "adam"
    c.sweep.weight_decay = (0.0, 1e-4)  # decoupled weight decay is adamw only: train.py's check, per trial
    with pytest.raises(ValueError, match="weight_decay"):
        sweep.run_sweep(c, tmp_path / "w")
    assert not (tmp_path / "nothing_here").exists() and not (tmp_path / "w").exists()


@pytest.mark.parametrize(
    "override, named",
    [
        ("--config.sweep.axes.learning_rate=(0.1,)",
         "--config.sweep.axes.learning_rate is not a sweep field: config.sweep has no field 'axes'"),
        ("--config.sweep.learning_rates=(0.1,)", "did you mean 'learning_rate'?"),
        ("--config.sweep.seed.x=1", "config.sweep.seed is set whole"),
    ],
)
def test_wrong_sweep_override_path_is_one_line_listing_the_sweep_fields(tmp_path, override, named):
    cmd = [sys.executable, "-m", "turbjax.sweep", "--config", "configs/sweep_lr.py", "--workdir",
           str(tmp_path / "w"), override]
    proc = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300, check=False)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith("turbjax.sweep: error in the command line: ") and named in lines[0], lines[0]
    fields = "batch_size, hidden, learning_rate, weight_decay, momentum, l2, l1, seed, mode, share_data_order"
    assert fields in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "w").exists()


def test_a_trials_bad_value_names_the_trial(data_dir, tmp_path):
    c = sweep_test.get_config()
    c.data.dir = str(tmp_path / "nothing_here")
    c.sweep.learning_rate = (0.1, 0.0)  # a valid sweep value (>= 0) that training rejects (> 0)
    with pytest.raises(ValueError, match=r"sweep trial \{'learning_rate': 0.0, 'seed': 0\}: "
                                         r"config.optim.learning_rate=0.0 must be > 0"):
        sweep.run_sweep(c, tmp_path / "w")
    assert not (tmp_path / "nothing_here").exists()
    c = sweep_test.get_config()
    c.data.dir = str(data_dir)  # 96 training samples
    c.sweep.batch_size = (16, 500)
    trial = r"sweep trial \{'batch_size': 500, 'learning_rate': 10.0, 'seed': 0\}: "
    with pytest.raises(ValueError, match=trial + "config.training.batch_size=500 is larger than"):
        sweep.run_sweep(c, tmp_path / "w")
    assert not (tmp_path / "w").exists()


@pytest.mark.slow
def test_gpu_check_script_runs_on_cpu_at_small_settings(tmp_path):
    e = env() | {"OUT": str(tmp_path), "GPU_CHECK_SIZE": "small", "PYTHON": sys.executable}
    proc = subprocess.run(["bash", "scripts/gpu_check.sh"], cwd=ROOT, env=e, capture_output=True, text=True,
                          timeout=900, check=False)
    text = (tmp_path / "gpu_check.txt").read_text()
    assert "backend cpu" in text and "sweep benchmark: done" in text, text[-3000:]
    assert "speed-up" in text
    benchmark_failed = "!! training benchmark" in text or "!! simulator benchmark" in text
    assert proc.returncode == 0 or benchmark_failed, text[-3000:]
