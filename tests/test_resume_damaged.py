"""A real run whose latest checkpoint is damaged (every file cut to 100 bytes, the user's report) resumes from
the newest one that restores and ends equal to an uninterrupted run; all damaged is one clear error; evaluate
names a damaged checkpoint."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from conftest import write_quick_grid_synthetic
from test_checkpoint import cut_files, snapshot
from test_train import EPOCHS, RES, assert_identical, config, restore_params
from turbjax.scoring import evaluate_workdir
from turbjax.train import train_and_evaluate
from turbjax.training.checkpoint import CheckpointDamagedError, Checkpointer


def quiet(data_dir, epochs: int):
    """test_train's config for `epochs` epochs, without plots."""
    return config(data_dir, {"training.epochs": epochs, "training.plots": False})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("synthetic"), RES)


@pytest.fixture(scope="module")
def reference(data_dir, tmp_path_factory):
    """One uninterrupted run of EPOCHS epochs (a checkpoint every 2, the last 2 plus the best kept)."""
    workdir = tmp_path_factory.mktemp("reference")
    results = train_and_evaluate(quiet(data_dir, EPOCHS), workdir)
    return workdir, results


def rows(workdir):
    out = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in out]


def test_damaged_latest_resumes_from_the_one_before_and_ends_equal(reference, data_dir, tmp_path, capsys):
    ref_dir, ref = reference
    train_and_evaluate(quiet(data_dir, 8), tmp_path)
    cut_files(tmp_path / "checkpoints" / "8")
    damaged = snapshot(tmp_path / "checkpoints" / "8")
    capsys.readouterr()

    results = train_and_evaluate(quiet(data_dir, EPOCHS), tmp_path)
    out = capsys.readouterr().out
    assert f"the checkpoint at epoch 8 in {tmp_path / 'checkpoints' / '8'} is damaged" in out
    assert "falling back to the checkpoint at epoch 6" in out
    assert results["resumed_from_epoch"] == 6 and results["epochs"] == EPOCHS
    assert_identical(restore_params(tmp_path)[1], restore_params(ref_dir)[1])
    for k in ("test_r2", "test_mse", "test_mae", "train_r2"):
        np.testing.assert_array_equal(results[k], ref[k])
    assert rows(tmp_path) == rows(ref_dir)  # epochs 7 and 8 logged once, as in the reference
    # the new checkpoints follow the keep/best policy as if nothing had happened; the damaged one is kept
    mine, theirs = (Checkpointer(d / "checkpoints", read_only=True) for d in (tmp_path, ref_dir))
    assert mine.all_steps() == theirs.all_steps() and mine.best_step() == theirs.best_step()
    mine.close()
    theirs.close()
    assert snapshot(tmp_path / "checkpoints" / "damaged" / "8") == damaged


def test_all_checkpoints_damaged_is_one_clear_error_and_nothing_changes(reference, data_dir, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(reference[0], workdir)
    steps = Checkpointer(workdir / "checkpoints", read_only=True).all_steps()
    for s in steps:
        cut_files(workdir / "checkpoints" / str(s))
    before = snapshot(workdir)
    with pytest.raises(CheckpointDamagedError) as err:
        train_and_evaluate(quiet(data_dir, EPOCHS + 2), workdir)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"no checkpoint in {workdir / 'checkpoints'} restores (epoch ")
    assert all(f"epoch {s}: " in msg for s in steps) and "move" in msg
    assert snapshot(workdir) == before  # metrics.jsonl too: nothing dropped


def test_evaluate_names_a_damaged_checkpoint(reference, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(reference[0], workdir)
    others = [s for s in Checkpointer(workdir / "checkpoints", read_only=True).all_steps() if s != EPOCHS]
    cut_files(workdir / "checkpoints" / str(EPOCHS))
    before = snapshot(workdir)
    with pytest.raises(CheckpointDamagedError) as err:
        evaluate_workdir(workdir, checkpoint="latest")
    msg = str(err.value)
    assert (f"epoch {EPOCHS} in {workdir / 'checkpoints' / str(EPOCHS)} is damaged and cannot be restored ("
            in msg)
    assert "do not parse as JSON: _CHECKPOINT_METADATA" in msg and f"are epochs {others}" in msg
    assert snapshot(workdir) == before
