"""The vortex-street runner: the quick preset sheds and writes valid files, bad input is refused before
running, a diverging run stops without writing, the CLI, the Strouhal estimator, and sharding over devices."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from turbjax.data import snapshots
from turbjax.simulate import PRESETS, generate, roshko_strouhal, shedding_frequency, simulate, strouhal
from turbjax.simulate.__main__ import main as cli_main
from turbjax.simulate.cylinder import cylinder_patch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def quick_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    paths = generate([300, 1200], out, preset="quick", progress=False)
    return out, paths


def test_quick_preset_writes_valid_files(quick_files):
    out, paths = quick_files
    p = PRESETS["quick"]
    assert paths == [snapshots.snapshot_path(out, 300), snapshots.snapshot_path(out, 1200)]
    for re, path in zip([300, 1200], paths, strict=True):
        vel, meta = snapshots.load_snapshots(path)
        assert vel.shape == (p.frames, p.nx, p.ny, 2) and vel.dtype == np.float32
        assert np.isfinite(vel).all()
        assert meta["reynolds"] == re and meta["dx"] == p.dx and meta["dt"] == p.dx
        assert meta["frame_stride"] == p.save_every
        assert meta["first_step"] == p.steps - (p.frames - 1) * p.save_every
        assert meta["generator"] == "turbjax.simulate quick"
        assert meta["probe_uy"].shape == (p.steps,)
        # Velocity in lattice units: the mean streamwise velocity is about the inflow, at rest in the
        # cylinder.
        assert 0.8 * p.inflow < vel[..., 0].mean() < 1.2 * p.inflow
        ic, jc = int(p.centre[0] / p.dx), int(p.centre[1] / p.dx)
        assert np.all(vel[:, ic, jc] == 0)


def test_quick_preset_sheds(quick_files):
    _, paths = quick_files
    p = PRESETS["quick"]
    for re, path in zip([300, 1200], paths, strict=True):
        _, meta = snapshots.load_snapshots(path)
        late = meta["probe_uy"][p.steps // 2 :]
        # The wake oscillates: large transverse velocity swings with many sign changes ...
        assert late.std() > 0.1 * p.inflow
        assert np.sum(np.diff(np.sign(late)) != 0) >= 10
        # ... at a vortex-shedding frequency (coarse grid: only a loose check here; the seed preset is
        # validated against Roshko's fit in test_simulate_shedding.py).
        st = strouhal(late, 1, p.diameter_cells, p.inflow, min_periods=5)
        assert abs(st / roshko_strouhal(re) - 1) < 0.15, st


def test_strouhal_of_a_pure_tone():
    t = np.arange(20_000)
    period = 1234.5
    sig = np.sin(2 * np.pi * t / period + 0.3) + 0.01 * np.random.default_rng(0).normal(size=t.size)
    assert abs(shedding_frequency(sig) * period - 1) < 2e-3
    # St = f D / U with f in 1/steps, D in cells, U in lattice units.
    assert strouhal(sig, 1, 12.8, 0.05) == pytest.approx(12.8 / 0.05 / period, rel=2e-3)
    with pytest.raises(ValueError, match="covers only .* periods"):
        shedding_frequency(sig[:5000])
    with pytest.raises(ValueError, match="constant"):
        shedding_frequency(np.ones(100))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"reynolds": [300, -5]}, r"Reynolds number must be finite and positive, got -5\.0"),
        ({"reynolds": [float("inf")]}, "Reynolds number must be finite and positive"),
        ({"params": {"inflow": 0.2}}, r"Mach number .* = 0\.346 >= 0\.3"),
        ({"params": {"centre": (1.99, 0.5)}}, r"cylinder of radius 0\.05 at centre \(1\.99, 0\.5\) is not "
                                              r"inside"),
        ({"params": {"centre": (0.3, 0.97)}}, "not inside the domain"),
        ({"params": {"bulk_viscosity": 0.0}}, "bulk relaxation time"),
        ({"frames": 700, "save_every": 10, "steps": 6000}, r"frames \* save_every = 700 \* 10 = 7000 exceeds "
                                                           r"steps"),
        ({"steps": 0}, "steps must be a positive integer"),
        ({"dtype": "float16"}, "dtype must be one of"),
        ({"preset": "fast"}, "unknown preset 'fast'"),
        ({"reynolds": []}, "no Reynolds numbers"),
    ],
)
def test_bad_input_is_rejected_before_running(kwargs, match):
    kwargs = dict(kwargs)
    reynolds = kwargs.pop("reynolds", [300])
    preset = kwargs.pop("preset", "quick")
    if "params" in kwargs:
        preset = PRESETS["quick"].replace(**kwargs.pop("params"))
    with pytest.raises(ValueError, match=match):
        simulate(reynolds, preset, progress=False, **kwargs)


def test_relaxation_time_at_or_below_one_half_is_rejected():
    # tau = 0.5 + 3 nu / dx is > 0.5 for any finite positive Re; a zero viscosity (Re = inf) is tau = 0.5.
    p = PRESETS["seed"]
    assert p.relaxation_time(300) == pytest.approx(0.5 + 3 * (0.05 * 0.1 / 300) * 128)
    with pytest.raises(ValueError, match=r"finite and positive, got inf"):
        simulate([np.inf], p, progress=False)


def test_cylinder_too_close_to_a_wall_is_rejected():
    with pytest.raises(ValueError, match="within 4 cells of the domain boundary"):
        cylinder_patch(96, 64, 1 / 64, (0.3, 0.93), 0.05)


def test_diverging_run_stops_with_step_re_and_tau_and_writes_nothing(tmp_path):
    # Mach 0.29 and a vanishing bulk and shear viscosity: valid input that blows up within a few hundred
    # steps.
    p = PRESETS["quick"].replace(inflow=0.17, bulk_viscosity=1e-6)
    with pytest.raises(FloatingPointError, match=r"diverged .* by step \d+ at Re = 1e\+07 .*tau = 0\.5"):
        generate([1e7], tmp_path, preset=p, steps=2000, frames=10, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_bad_input_clearly(capsys):
    assert cli_main(["--re", "300", "--out", "unused", "--preset", "quick", "--frames", "10000"]) == 2
    assert "exceeds steps" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["--re", "300", "--out", "unused", "--preset", "huge"])
    assert "invalid choice: 'huge'" in capsys.readouterr().err


SHARDED = r"""
import json, sys
import numpy as np
import jax
from turbjax.simulate import PRESETS, simulate
p = PRESETS["quick"].replace(steps=400, frames=4)
res = [300.0, 600.0, 900.0, 1200.0]
many = simulate(res, p, progress=False)
one = simulate(res, p, progress=False, devices=jax.devices()[:1])
print(json.dumps(dict(devices=len(jax.devices()), sharded_over=many.n_devices, single=one.n_devices,
                      equal=bool(np.array_equal(many.velocity, one.velocity)
                                 and np.array_equal(many.probe_uy, one.probe_uy)),
                      maxdiff=float(np.abs(many.velocity - one.velocity).max()),
                      moving=float(np.abs(many.probe_uy).max()))))
"""


def test_reynolds_axis_sharded_over_four_cpu_devices_gives_identical_results():
    env = dict(os.environ, JAX_NUM_CPU_DEVICES="4", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", SHARDED], check=False, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["devices"] == 4 and r["sharded_over"] == 4 and r["single"] == 1
    assert r["moving"] > 0
    assert r["equal"], r


def test_cli_float64_run_writes_files_and_reports_mlups(tmp_path, capsys):
    out = tmp_path / "data"
    rc = cli_main(["--re", "500", "--out", str(out), "--preset", "quick", "--steps", "200", "--save-every",
                   "5",
                   "--frames", "4", "--dtype", "float64", "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "MLUPS" in text and f"wrote {snapshots.snapshot_path(out, 500)}" in text
    vel, meta = snapshots.load_snapshots(snapshots.snapshot_path(out, 500))
    assert vel.shape == (4, 96, 64, 2) and np.isfinite(vel).all() and vel[..., 0].max() > 0
    assert meta["first_step"] == 185 and meta["frame_stride"] == 5
