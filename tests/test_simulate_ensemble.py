"""Ensembles of seeded runs: files and metadata per the ensemble contract, seeded perturbations (different per
seed, equal for equal seeds, nothing at amplitude 0), the stored wake window equal to the same cells of a
full-field run, and a two-process job writing exactly the files of a one-process run."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from turbjax.data import snapshots
from turbjax.simulate import PRESETS, generate, roshko_strouhal, simulate
from turbjax.simulate.__main__ import main as cli_main
from turbjax.simulate.generate import member_path
from turbjax.simulate.initial import initial_state, perturbation_uy
from turbjax.simulate.lattice import C

ROOT = Path(__file__).resolve().parents[1]
SMALL = PRESETS["ensemble_small"]
SHORT = SMALL.replace(steps=600, frames=10)  # for the identities: no need to reach shedding


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble_small")
    return out, generate(SMALL.reynolds, out, SMALL, progress=False)


def test_files_are_named_and_described_per_the_contract(small_files):
    out, paths = small_files
    p = SMALL
    expected = [out / f"vortex_street_Re_{re:g}_r{k}.npz" for re in p.reynolds for k in range(p.realizations)]
    assert paths == expected and sorted(out.iterdir()) == sorted(expected)
    (x0, x1, y0, y1) = p.window
    for path in paths:
        vel, meta = snapshots.load_snapshots(path)
        assert vel.shape == (p.frames, x1 - x0, y1 - y0, 2) and vel.dtype == np.float32
        assert meta["first_step"] == p.steps - (p.frames - 1) * p.save_every
        assert meta["probe_uy"].shape == (p.steps,)
        with np.load(path, allow_pickle=False) as f:
            k = int(path.stem.rsplit("_r", 1)[1])
            assert f["realization"].dtype == np.int64 and f["realization"] == k
            assert f["perturbation_seed"] == k and f["perturbation_amplitude"] == p.perturbation
            assert f["origin"].dtype == np.int64 and f["origin"].tolist() == [x0, y0]
            assert f["grid_shape"].tolist() == [p.nx, p.ny]
            # The shedding period in steps is D / (St U): within the coarse quick grid's 15 % of Roshko's fit.
            period = float(f["shedding_period_steps"])
            expected_period = p.diameter_cells / (roshko_strouhal(meta["reynolds"]) * p.inflow)
            assert abs(period / expected_period - 1) < 0.15, (period, expected_period)


def test_plain_runs_keep_the_old_file_names_and_say_their_geometry_and_numerics(tmp_path):
    p = SHORT.replace(realizations=0, perturbation=0.0, window=None)
    (path,) = generate([300], tmp_path, p, progress=False)
    assert path == snapshots.snapshot_path(tmp_path, 300) == member_path(tmp_path, 300, -1)
    with np.load(path) as f:
        geometry = {"diameter", "inflow", "cylinder_xy", "collision", "boundary", "bulk_viscosity"}
        assert set(f.files) == set(snapshots.REQUIRED_KEYS) | {"probe_uy", "probe_xy"} | geometry
        assert f["diameter"] == 2 * p.radius and f["inflow"] == p.inflow
        assert (f["collision"], f["boundary"], f["bulk_viscosity"]) == ("mrt", "bouzidi", p.bulk_viscosity)
        assert f["cylinder_xy"].tolist() == list(p.centre)


def test_perturbation_is_the_equilibrium_of_a_transverse_velocity_of_the_given_peak():
    p = SMALL
    g = initial_state(p, np.array([3, -1]), np.float64)
    u = np.stack([np.tensordot(C[:, 0], g, axes=(0, 1)), np.tensordot(C[:, 1], g, axes=(0, 1))], axis=-1)
    uy = perturbation_uy(p, 3)
    np.testing.assert_allclose(u[0, ..., 1], p.perturbation * uy, rtol=0, atol=1e-15)
    assert np.abs(u[0, ..., 0]).max() < 1e-15 and np.abs(g[0].sum(axis=0)).max() < 1e-15  # no flow, no mass
    assert np.abs(u[0, ..., 1]).max() == pytest.approx(p.perturbation)
    cx, cy, r = p.centre[0] / p.dx, p.centre[1] / p.dx, p.radius / p.dx
    X, Y = np.meshgrid(np.arange(p.nx) + 0.5, np.arange(p.ny) + 0.5, indexing="ij")
    assert np.all(uy[(X - cx) ** 2 + (Y - cy) ** 2 <= r * r] == 0)
    assert np.all(g[1] == 0)  # seed -1: the rest state
    assert not np.array_equal(perturbation_uy(p, 0), perturbation_uy(p, 1))


def test_realizations_differ_and_equal_seeds_give_equal_runs_whose_window_is_exact():
    """Realizations 0 and 1 differ; realization 0 alone (another batch), run on the full field, equals
    realization 0 of the pair, and the pair's stored window is exactly those cells of the full field."""
    both = simulate([900], SHORT, realizations=2, progress=False)
    full = simulate([900], SHORT.replace(window=None), realizations=1, progress=False)
    assert both.realization.tolist() == [0, 1] and full.realization.tolist() == [0]
    assert not np.array_equal(both.velocity[0], both.velocity[1])
    x0, x1, y0, y1 = SHORT.window
    assert full.velocity.shape[2:4] == (SHORT.nx, SHORT.ny) and both.velocity.shape[2:4] == (x1 - x0, y1 - y0)
    assert np.array_equal(both.velocity[0], full.velocity[0][:, x0:x1, y0:y1])
    assert np.array_equal(both.probe_uy[0], full.probe_uy[0])


def test_only_runs_the_named_members_and_each_equals_its_run_in_the_whole_batch():
    """`only` keeps the named (Re, realization) members in the batch's order; each is bit-identical to the
    same member run with all the others; a pair outside Re x realizations is refused, naming it."""
    whole = simulate([300, 900], SHORT, realizations=2, progress=False)
    some = simulate([300, 900], SHORT, realizations=2, progress=False, only=[(900, 0), (300.0, 1)])
    pairs = list(zip(some.reynolds.tolist(), some.realization.tolist(), strict=True))
    assert pairs == [(300.0, 1), (900.0, 0)]
    for i, j in ((0, 1), (1, 2)):  # some's members are whole's members 1 (300, r1) and 2 (900, r0)
        assert some.velocity[i].tobytes() == whole.velocity[j].tobytes()
        assert some.probe_uy[i].tobytes() == whole.probe_uy[j].tobytes()
    with pytest.raises(ValueError, match=r"not among them: \[\(600.0, 0\)\]"):
        simulate([300, 900], SHORT, realizations=2, progress=False, only=[(600, 0)])


def test_ensure_data_simulates_only_the_runs_a_directory_lacks(tmp_path, capsys):
    """A directory with realization 0 of Re 300 gets realization 1 (and Re 900's two) from ensure_data;
    the file that was there is not rewritten."""
    from turbjax import pipeline
    from turbjax.configs import default
    from turbjax.configs.schema import with_overrides

    generate([300], tmp_path, SMALL, realizations=1, progress=False)
    kept = member_path(tmp_path, 300, 0)
    before = (kept.stat().st_mtime_ns, kept.read_bytes())
    over = {"data.dir": str(tmp_path), "data.preset": "ensemble_small", "data.reynolds": (300.0, 900.0),
            "data.realizations": (0, 1)}
    d = with_overrides(default.get_config(), over).data
    pipeline.ensure_data(d)
    assert "no data for Re [300.0, 900.0] (3 runs of realizations 0-1)" in capsys.readouterr().out
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == before
    assert all(member_path(tmp_path, r, k).is_file() for r in (300, 900) for k in (0, 1))
    pipeline.ensure_data(d)  # nothing left to do
    assert "no data" not in capsys.readouterr().out


def test_cli_missing_only_writes_the_runs_the_directory_lacks(tmp_path, capsys):
    """--missing-only with realization 0 of Re 300 present: writes realization 1 and Re 900's two, leaves the
    present file as it was; run again, it has nothing to do."""
    short = ["--preset", "ensemble_small", "--steps", "400", "--frames", "10", "--no-progress",
             "--out", str(tmp_path)]
    assert cli_main(short + ["--re", "300", "--realizations", "1"]) == 0
    short += ["--re", "300", "900", "--realizations", "2"]
    kept = member_path(tmp_path, 300, 0)
    before = (kept.stat().st_mtime_ns, kept.read_bytes())
    capsys.readouterr()
    assert cli_main(short + ["--missing-only"]) == 0
    wrote = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wrote")]
    assert sorted(wrote) == sorted(f"wrote {member_path(tmp_path, r, k)}" for r, k in ((300, 1), (900, 0),
                                                                                         (900, 1)))
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == before
    assert cli_main(short + ["--missing-only"]) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_zero_amplitude_reproduces_the_unperturbed_run_bit_for_bit():
    zero = simulate([300, 900], SHORT.replace(perturbation=0.0), realizations=1, progress=False)
    plain = simulate([300, 900], SHORT.replace(perturbation=0.0, realizations=0), progress=False)
    assert zero.realization.tolist() == [0, 0] and plain.realization.tolist() == [-1, -1]
    assert zero.velocity.tobytes() == plain.velocity.tobytes()
    assert zero.probe_uy.tobytes() == plain.probe_uy.tobytes()
    assert np.abs(plain.probe_uy).max() > 0


@pytest.mark.parametrize(
    "over, match",
    [
        ({"window": (0, 97, 0, 10)}, r"window must be integers .* nx = 96"),
        ({"window": (10, 5, 0, 10)}, "window must be"),
        ({"realizations": -1}, "realizations must be a non-negative integer"),
        ({"perturbation": 0.5}, r"perturbation amplitude must be finite and in \[0, inflow = 0.1\]"),
        ({"realizations": 0}, "needs realizations >= 1"),
    ],
)
def test_bad_ensemble_options_are_rejected_before_running(over, match):
    with pytest.raises(ValueError, match=match):
        simulate([300], SMALL.replace(**over), progress=False)


def test_more_processes_than_runs_is_rejected():
    with pytest.raises(ValueError, match=r"share \(0, 5\) .* <= 4 members"):
        simulate([300, 900], SMALL, share=(0, 5), progress=False)


def test_writer_refuses_unknown_extra_keys(tmp_path):
    vel = np.zeros((1, 4, 4, 2), np.float32)
    kw = {"reynolds": 1.0, "dx": 1.0, "dt": 1.0, "frame_stride": 1, "first_step": 0}
    with pytest.raises(ValueError, match=r"extra key 'seed' is not one of"):
        snapshots.save_snapshots(tmp_path / "a.npz", vel, extra={"seed": 3}, **kw)
    with pytest.raises(ValueError, match=r"'origin' must have shape \(2,\)"):
        snapshots.save_snapshots(tmp_path / "a.npz", vel, extra={"origin": 3}, **kw)
    assert list(tmp_path.iterdir()) == []


def test_cli_reports_bad_ensemble_input_in_one_line(capsys):
    assert cli_main(["--preset", "ensemble_small", "--out", "unused", "--realizations", "-2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("turbjax.simulate: error: realizations must be a non-negative integer")
    assert err.count("\n") == 1
    assert cli_main(["--preset", "quick", "--out", "unused"]) == 2
    assert "has no default Reynolds numbers; pass --re" in capsys.readouterr().err


def _cli(args, extra_env, ndev=1):
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES=str(ndev),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               **extra_env)
    return subprocess.Popen([sys.executable, "-m", "turbjax.simulate", *args, "--no-progress"], cwd=ROOT,
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_two_processes_write_exactly_the_files_of_one_process(tmp_path):
    """`python -m turbjax.simulate` as a 2-process jax.distributed job on one machine (each process its share
    of the 3 Re x 2 realizations) writes the same files with the same contents as a single process."""
    args = ["--preset", "ensemble_small", "--re", "300", "600", "900", "--steps", "400", "--frames", "5"]
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    procs = [_cli([*args, "--out", str(tmp_path / "two")], {"JAX_COORDINATOR_ADDRESS": f"localhost:{port}",
                  "JAX_NUM_PROCESSES": "2", "JAX_PROCESS_ID": str(i)}) for i in range(2)]
    procs.append(_cli([*args, "--out", str(tmp_path / "one")], {}, ndev=2))
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    assert ("process 0 of 2" in outs[0][0] and "process 1 of 2" in outs[1][0]
            and "process 0 of 1" in outs[2][0])
    assert outs[0][0].count("wrote ") == outs[1][0].count("wrote ") == 3
    one, two = sorted((tmp_path / "one").iterdir()), sorted((tmp_path / "two").iterdir())
    assert [f.name for f in one] == [f.name for f in two] and len(one) == 6
    for a, b in zip(one, two, strict=True):
        with np.load(a) as fa, np.load(b) as fb:
            assert fa.files == fb.files
            for k in fa.files:
                assert np.array_equal(fa[k], fb[k], equal_nan=fa[k].dtype.kind == "f"), (a.name, k)


def test_cli_perturbation_zero_gives_plain_runs_of_an_ensemble_preset(tmp_path, capsys):
    """--perturbation 0 --realizations 0: the ensemble preset's recording as plain runs (no _r suffix), the
    same flow as a zero-amplitude realization bit for bit; without --perturbation the preset refuses, saying
    what to set."""
    short = ["--preset", "ensemble_small", "--steps", "400", "--frames", "10", "--no-progress", "--re", "300"]
    assert cli_main(short + ["--out", str(tmp_path / "a"), "--realizations", "0", "--perturbation", "0"]) == 0
    assert cli_main(short + ["--out", str(tmp_path / "b"), "--realizations", "1", "--perturbation", "0"]) == 0
    plain, meta = snapshots.load_snapshots(member_path(tmp_path / "a", 300, -1))
    zero, _ = snapshots.load_snapshots(member_path(tmp_path / "b", 300, 0))
    assert plain.tobytes() == zero.tobytes() and float(meta["perturbation_amplitude"]) == 0.0
    capsys.readouterr()
    assert cli_main(short + ["--out", str(tmp_path / "c"), "--realizations", "0"]) == 2
    assert "set realizations, or perturbation = 0 (`--perturbation 0`)" in capsys.readouterr().err
