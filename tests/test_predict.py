"""turbjax.predict / turbjax.estimates: a model trained in the flow's units estimates the Reynolds number of
files on other grids, with intervals; out-of-distribution flows are flagged; bad input is one line."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from configs import test as test_config
from turbjax.data.snapshots import save_snapshots, snapshot_path
from turbjax.data.synthetic import write_synthetic_files
from turbjax.estimates import estimate_run, load_model, read_params, write_params
from turbjax.train import train_and_evaluate

ROOT = Path(__file__).resolve().parent.parent
RES = (300.0, 600.0, 900.0, 1200.0)
SYNTH = dict(frames=24, frame_dt=0.25, frame_stride=10)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """configs/test.py in the flow's units: the analytic street on the quick grid (D = 6.4 cells), read onto
    the reference grid; a 32 x 32 reference-cell window (files' cells 56-72 x 24-40), 4 epochs."""
    data = tmp_path_factory.mktemp("train_data")
    write_synthetic_files(data, RES, nx=96, ny=64, dx=1 / 64, **SYNTH)
    c = test_config.get_config()
    # one file step of 1/64 at U = 0.05 is 2 reference steps: frames every 20
    c.data.update(dir=str(data), units="flow", crop_x=(112, 144), crop_y=(48, 80), downsample=2,
                  sample_every_steps=20)
    c.training.update(epochs=4, plots=False)
    workdir = tmp_path_factory.mktemp("run")
    train_and_evaluate(c, workdir)
    return workdir


@pytest.fixture(scope="module")
def model(run):
    return load_model(run)


def test_an_estimate_per_frame_per_clip_and_per_run_with_its_interval(model, tmp_path):
    (path,) = write_synthetic_files(tmp_path, (600.0,), nx=96, ny=64, dx=1 / 64, seeds=(7,), **SYNTH)
    e = estimate_run(model, path, clip_steps=60)
    assert e.n_frames == 24 and e.frames.shape == (24, 3) and e.true_reynolds == 600.0
    frames = e.frames[:, 0]
    assert e.reynolds == pytest.approx(np.exp(np.log(frames).mean()))  # the run: geometric mean of frames
    assert len(e.clips) == 4  # 24 frames of 10 steps in clips of 60 steps
    np.testing.assert_allclose(e.clips[:, 0], np.exp(np.log(frames).reshape(4, 6).mean(axis=1)))
    assert np.all(e.frames[:, 1] < frames) and np.all(frames < e.frames[:, 2])
    assert e.low < e.reynolds < e.high and not e.out_of_distribution


def test_the_same_flow_on_a_twice_finer_grid_gives_the_same_estimates(model, tmp_path):
    coarse = write_synthetic_files(tmp_path / "coarse", (900.0,), nx=96, ny=64, dx=1 / 64, seeds=(3,),
                                   **SYNTH)[0]
    fine = write_synthetic_files(tmp_path / "fine", (900.0,), nx=192, ny=128, dx=1 / 128, seeds=(3,),
                                 frames=24, frame_dt=0.25, frame_stride=20)[0]
    a, b = estimate_run(model, coarse), estimate_run(model, fine)
    assert b.n_frames == a.n_frames
    np.testing.assert_allclose(b.frames[:, 0], a.frames[:, 0], rtol=0.02)
    np.testing.assert_array_equal(b.step, a.step)  # both on the reference clock (D / (256 U) per step)


def flat_file(directory, kind: str, nx=96, ny=64, frames=8):
    rng = np.random.default_rng(0)
    v = np.zeros((frames, nx, ny, 2), np.float32)
    v[..., 0] = 0.05
    if kind == "noise":
        v += rng.normal(scale=0.05, size=v.shape).astype(np.float32)
    return save_snapshots(snapshot_path(directory, 500.0), v, reynolds=500.0, dx=1 / 64, dt=1 / 64,
                          frame_stride=10, first_step=0, generator="test",
                          extra={"diameter": 0.1, "inflow": 0.05, "cylinder_xy": (0.3, 0.5)})


@pytest.mark.parametrize("kind", ["uniform", "noise"])
def test_a_flow_unlike_any_training_flow_is_flagged_and_gets_no_interval(model, tmp_path, kind):
    e = estimate_run(model, flat_file(tmp_path, kind))
    assert e.out_of_distribution and e.low is None and e.high is None
    assert np.isnan(e.frames[:, 1:]).all()


def test_params_round_trip_through_npz(model, tmp_path):
    write_params(tmp_path / "params.npz", model.params)
    back = read_params(tmp_path / "params.npz")
    x = np.zeros((2, int(np.asarray(model.stats["x_mean"]).size)), np.float32)
    np.testing.assert_array_equal(np.asarray(model.predict(back, x)),
                                  np.asarray(model.predict(model.params, x)))


def cli(*args):
    return subprocess.run([sys.executable, "-m", "turbjax.predict", *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT)


def test_command_line_json_and_figure(run, tmp_path):
    data = tmp_path / "data"
    write_synthetic_files(data, (450.0, 750.0), nx=96, ny=64, dx=1 / 64, **SYNTH)
    out, fig = tmp_path / "p.json", tmp_path / "p.png"
    r = cli(data, "--model", run, "--out", out, "--plot", fig)
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())
    assert [Path(e["file"]).name for e in rows] == ["vortex_street_Re_450.npz", "vortex_street_Re_750.npz"]
    for e in rows:
        assert set(e) >= {"file", "reynolds", "low", "high", "n_frames", "out_of_distribution", "frames"}
        assert len(e["frames"]) == e["n_frames"] == 24 and set(e["frames"][0]) == {"reynolds", "low", "high"}
    assert fig.stat().st_size > 0 and "vortex_street_Re_450.npz: Re = " in r.stdout


@pytest.mark.parametrize("args, message", [
    (["nowhere.npz"], "nowhere.npz does not exist"),
    (["README.md"], "README.md: not a file of a known format"),
    (["README.md", "--clip-steps", "-1"], "--clip-steps=-1 must be a positive number"),
    (["README.md", "--out", "README.md/x.json"], "is a file, not a directory"),
])
def test_bad_input_is_one_line(args, message):
    r = cli(*args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_a_workdir_without_calibration_is_refused(run, tmp_path):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(run, bare)
    (bare / "calibration.json").unlink()
    with pytest.raises(ValueError, match="has no calibration.json"):
        load_model(bare)


def test_a_netcdf_file_of_any_name_in_other_units_gives_the_npz_estimates(model, tmp_path):
    """The same flow as an .npz of the quick grid and as netCDF in metres and m/s, named freely, without a
    Reynolds number: the same estimates (the reference grid and clock do not see the units)."""
    from turbjax.data.readers.netcdf import write_netcdf
    from turbjax.data.snapshots import load_snapshots
    from turbjax.data.units import FlowUnits

    (npz,) = write_synthetic_files(tmp_path, (600.0,), nx=96, ny=64, dx=1 / 64, seeds=(5,), **SYNTH)
    v, _ = load_snapshots(npz)
    length, speed = 0.3, 7.0  # metres per file unit, m/s per file unit of velocity
    u = FlowUnits(dx=length / 64, diameter=0.1 * length, inflow=0.05 * speed,
                  cylinder=(0.3 * length, 0.5 * length), dt=length / 64 / speed)
    nc = write_netcdf(tmp_path / "experiment.nc", v * speed, u, reynolds=float("nan"), frame_stride=10)
    a, b = estimate_run(model, npz), estimate_run(model, nc)
    assert np.isnan(b.true_reynolds) and b.n_frames == a.n_frames
    np.testing.assert_allclose(b.frames[:, 0], a.frames[:, 0], rtol=1e-4)


def test_export_writes_a_model_that_predicts_as_the_workdir(run, model, tmp_path):
    """scripts/export_pretrained.py: the workdir's best checkpoint as params.npz beside its calibration, and
    model.json saying what it was trained on; the exported directory estimates exactly as the workdir."""
    import runpy

    export = runpy.run_path(str(ROOT / "scripts" / "export_pretrained.py"))["main"]
    out = tmp_path / "pretrained"
    assert export([str(run), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} >= {"config.json", "standardizer.npz", "calibration.json",
                                                 "novelty.npz", "params.npz", "model.json"}
    info = json.loads((out / "model.json").read_text())
    assert info["selected_on"] == "validation" and "split 'random'" in info["trained_on"]
    (path,) = write_synthetic_files(tmp_path / "d", (900.0,), nx=96, ny=64, dx=1 / 64, seeds=(2,), **SYNTH)
    a, b = estimate_run(model, path), estimate_run(load_model(out), path)
    np.testing.assert_array_equal(a.frames, b.frames)


def test_refit_novelty_rebuilds_the_frame_test_from_the_models_data(run, tmp_path, capsys):
    """scripts/refit_novelty.py: the model's own data and standardizer give back the novelty train wrote
    (here with validation runs too short for the run test, which is then left out)."""
    import runpy
    import shutil

    from turbjax.workdir import read_novelty

    copy = tmp_path / "model"
    shutil.copytree(run, copy)
    (copy / "novelty.npz").unlink()
    runpy.run_path(str(ROOT / "scripts" / "refit_novelty.py"))["main"]([str(copy)])
    new, old = read_novelty(copy), read_novelty(run)
    np.testing.assert_array_equal(new.mean, old.mean)
    np.testing.assert_array_equal(new.precision, old.precision)
    assert new.threshold == old.threshold and new.run_means is None and old.run_means is None
    assert "run test: 0 training runs" in capsys.readouterr().out
