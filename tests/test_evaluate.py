"""turbjax.evaluate on data other than the run's: other Reynolds numbers, the other file format, every frame
as the test set, and its one-line errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from configs import test as test_config
from conftest import write_quick_grid_synthetic
from turbjax.data import discovery, snapshots
from turbjax.data.course_pickle import COURSE_FRAME_STRIDE
from turbjax.scoring import evaluate_workdir
from turbjax.train import train_and_evaluate

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 30  # per file; configs/test.py samples every frame (sample_every_steps = frame_stride = 10)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 2-epoch configs/test.py run on synthetic files at Re 300-1200."""
    data = write_quick_grid_synthetic(tmp_path_factory.mktemp("train_data"), frames=FRAMES)
    c = test_config.get_config()
    c.data.dir = str(data)
    c.training.epochs = 2
    c.training.plots = False
    workdir = tmp_path_factory.mktemp("run")
    train_and_evaluate(c, workdir)
    return workdir


@pytest.fixture(scope="module")
def other(tmp_path_factory):
    """Synthetic files at Reynolds numbers the run never saw."""
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("other"), (450.0, 750.0), frames=FRAMES)


def as_course_files(src: Path, dst: Path) -> Path:
    """The same flows as the course's pickles: (-ux, uy) at the course's frame stride 2, i.e. each turbjax
    frame (stride 10) repeated 5 times, so that sampling every 10 steps reads back exactly the same frames."""
    dst.mkdir()
    for re in discovery.available_reynolds(src, "turbjax"):
        v, _ = snapshots.load_snapshots(snapshots.snapshot_path(src, re))
        raw = np.repeat(np.stack([-v[..., 0], v[..., 1]], axis=-1), 10 // COURSE_FRAME_STRIDE, axis=0)
        raw.dump(dst / discovery.COURSE_FILE_TEMPLATE.format(re=re))
    return dst


def test_other_reynolds_numbers_every_frame_is_test(run, other):
    scores = evaluate_workdir(run, data_dir=other, checkpoint="latest")
    assert scores["format"] == "turbjax" and scores["reynolds"] == [450.0, 750.0]
    assert scores["split"] == "all" and scores["num_test"] == 2 * FRAMES and "train" not in scores
    assert np.isfinite(scores["test"]["r2"]) and scores["test"]["mae"] > 0
    # the same frames split in two: the union's mean squared error is the count-weighted mean of the parts
    parts = evaluate_workdir(run, data_dir=other, checkpoint="latest", split="random")
    n_test = round(2 * FRAMES * 0.2)
    n_val = round((2 * FRAMES - n_test) * 0.2)
    n_train = 2 * FRAMES - n_test - n_val
    assert (parts["num_test"], parts["num_val"], parts["num_train"]) == (n_test, n_val, n_train)
    union = (n_train * parts["train"]["mse"] + n_val * parts["val"]["mse"]
             + n_test * parts["test"]["mse"]) / (2 * FRAMES)
    np.testing.assert_allclose(scores["test"]["mse"], union, rtol=1e-4)


def test_course_files_score_like_the_same_turbjax_files(run, other, tmp_path):
    course = as_course_files(other, tmp_path / "course")
    with pytest.raises(PermissionError, match="--trust-pickle"):
        evaluate_workdir(run, data_dir=course)
    a = evaluate_workdir(run, data_dir=course, trust_pickle=True)
    b = evaluate_workdir(run, data_dir=other)
    assert a["format"] == "course" and a["reynolds"] == [450.0, 750.0]
    for k in ("r2", "mse", "mae"):
        np.testing.assert_allclose(a["test"][k], b["test"][k], rtol=1e-5)


def test_reynolds_subset_and_one_value_gives_undefined_r2(run, other):
    scores = evaluate_workdir(run, data_dir=other, reynolds=[750.0])
    assert scores["reynolds"] == [750.0] and scores["num_test"] == FRAMES
    assert scores["test"]["r2"] is None and "750" in scores["test_r2_note"] and scores["test"]["mae"] > 0
    with pytest.raises(FileNotFoundError, match="Re_300"):
        evaluate_workdir(run, data_dir=other, reynolds=[300.0])


def cli(*args):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, "-m", "turbjax.evaluate", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_command_line_scores_and_errors_in_one_line(run, other, tmp_path):
    ok = cli("--workdir", str(run), "--data", str(other), "--reynolds", "450")
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert json.loads(ok.stdout)["reynolds"] == [450.0]
    bad = cli("--workdir", str(run), "--data", str(tmp_path / "nowhere"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert bad.stderr.strip().splitlines()[-1].startswith("turbjax.evaluate: error: data directory")
    assert str(tmp_path / "nowhere") in bad.stderr
    typo = cli("--workdir", str(run), "--split", "everything")
    assert typo.returncode == 2 and "Traceback" not in typo.stderr and "everything" in typo.stderr


def test_an_ensemble_directory_is_scored_file_by_file_with_per_reynolds_summaries(run, other, tmp_path):
    """A directory of realization files (_r0, _r1) is found and scored like plain files: here both
    realizations hold the same flows as `other`, so every metric equals the plain directory's, and the per-Re
    summaries (2 x FRAMES samples each) average back to the overall mean absolute error."""
    ens = tmp_path / "ens"
    ens.mkdir()
    for re in (450.0, 750.0):
        v, meta = snapshots.load_snapshots(snapshots.snapshot_path(other, re))
        for k in (0, 1):
            snapshots.save_snapshots(
                snapshots.snapshot_path(ens, re, k), v, reynolds=re, dx=float(meta["dx"]),
                dt=float(meta["dt"]), frame_stride=int(meta["frame_stride"]),
                first_step=int(meta["first_step"]), extra={"realization": k})
    a = evaluate_workdir(run, data_dir=ens, checkpoint="latest")
    b = evaluate_workdir(run, data_dir=other, checkpoint="latest")
    assert a["num_test"] == 2 * b["num_test"] == 4 * FRAMES
    for k in ("r2", "mse", "mae"):
        np.testing.assert_allclose(a["test"][k], b["test"][k], rtol=1e-5)
    rows = a["test_per_reynolds"]
    assert [(r["re"], r["n"]) for r in rows] == [(450.0, 2 * FRAMES), (750.0, 2 * FRAMES)]
    weighted = sum(r["n"] * r["mae"] for r in rows) / a["num_test"]
    np.testing.assert_allclose(weighted, a["test"]["mae"], rtol=1e-4)
    plain = [r["mae"] for r in b["test_per_reynolds"]]
    np.testing.assert_allclose([r["mae"] for r in rows], plain, rtol=1e-5)
    # one realization alone: the plain directory's frames once
    one = evaluate_workdir(run, data_dir=ens, checkpoint="latest", realizations=[1])
    assert one["num_test"] == b["num_test"]
    np.testing.assert_allclose(one["test"]["mae"], b["test"]["mae"], rtol=1e-5)
    with pytest.raises(ValueError, match=r"no 'turbjax' data files for realizations=\(3,\)"):
        evaluate_workdir(run, data_dir=ens, checkpoint="latest", realizations=[3])


def test_a_directory_of_plain_runs_and_uneven_realizations_is_scored_whole(run, other, tmp_path):
    """Plain files and realization files in one directory, realizations not at every Re, recorded every 10
    and every 20 steps: every file is scored (data.every_file), every 20 steps (the spacings' least common
    multiple), so each of the four files gives the same frames as the plain flows at half their frame rate."""
    mixed, half = tmp_path / "mixed", tmp_path / "half"
    mixed.mkdir()
    half.mkdir()
    for re, k in ((450.0, 0), (750.0, 1)):
        v, meta = snapshots.load_snapshots(snapshots.snapshot_path(other, re))
        kw = dict(reynolds=re, dx=float(meta["dx"]), dt=float(meta["dt"]), first_step=int(meta["first_step"]))
        snapshots.save_snapshots(snapshots.snapshot_path(mixed, re), v, frame_stride=10, **kw)
        snapshots.save_snapshots(snapshots.snapshot_path(mixed, re, k), v[::2], frame_stride=20,
                                 extra={"realization": k}, **kw)
        snapshots.save_snapshots(snapshots.snapshot_path(half, re), v[::2], frame_stride=20, **kw)
    a = evaluate_workdir(run, data_dir=mixed, checkpoint="latest")
    b = evaluate_workdir(run, data_dir=half, checkpoint="latest")
    assert a["reynolds"] == [450.0, 750.0] and a["num_test"] == 2 * b["num_test"] == 2 * FRAMES
    assert [(r["re"], r["n"]) for r in a["test_per_reynolds"]] == [(450.0, FRAMES), (750.0, FRAMES)]
    np.testing.assert_allclose(a["test"]["mae"], b["test"]["mae"], rtol=1e-5)
    # realizations named: those files alone (realization 0 exists at 450 only)
    one = evaluate_workdir(run, data_dir=mixed, checkpoint="latest", realizations=[0])
    assert one["reynolds"] == [450.0] and one["num_test"] == FRAMES // 2
    with pytest.raises(FileNotFoundError, match=r"missing \[.*Re_600.npz'\]"):
        evaluate_workdir(run, data_dir=mixed, checkpoint="latest", reynolds=[450.0, 600.0])
