"""Faults a user meets (a truncated data file or course pickle, a wrong override path, Reynolds numbers the
task cannot use, a relaxation time near 1/2), walked through as a user would, each asserting one clear line on
stderr that names the file or value, and no traceback. (The README's list of config errors:
tests/test_train.py; a damaged latest checkpoint: tests/test_resume_damaged.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import write_quick_grid_synthetic

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
ENV.pop("TURBJAX_DEBUG", None)


def run(*args, timeout=300):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=ROOT, env=ENV)


def assert_one_line(proc, prog: str, *needles: str):
    assert proc.returncode != 0
    lines = [line for line in proc.stderr.splitlines() if line.startswith(f"{prog}: ")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("faults"), (300.0, 600.0, 900.0, 1200.0))


def train(*overrides, data_dir, workdir):
    config = str(ROOT / "configs" / "test.py")
    return run("-m", "turbjax.train", "--config", config, "--workdir", str(workdir),
               f"--config.data.dir={data_dir}", *overrides)


def test_truncated_data_file_names_the_file(data_dir, tmp_path):
    bad = tmp_path / "data"
    bad.mkdir()
    for f in Path(data_dir).iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    victim = bad / "vortex_street_Re_600.npz"
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    proc = train(data_dir=bad, workdir=tmp_path / "w")
    assert_one_line(proc, "turbjax.train", str(victim), "damaged or truncated")
    assert not (tmp_path / "w" / "checkpoints").exists()  # detected before any training


def test_truncated_course_pickle_says_what_it_expected(tmp_path):
    from turbjax.data.course_pickle import load_course_velocity

    path = tmp_path / "vortex_street_velocities_Re_300_largefile.npz"
    np.zeros((4, 8, 6, 2), np.float32).dump(path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError) as e:
        load_course_velocity(path, trust_pickle=True)
    assert str(path) in str(e.value) and "bytes" in str(e.value)


def test_sweep_with_a_wrong_override_path_is_one_line(tmp_path):
    proc = run("-m", "turbjax.sweep", "--config", str(ROOT / "configs" / "sweep_lr.py"), "--workdir",
               str(tmp_path), "--config.sweep.axes.learning_rate=(0.1,)")
    assert_one_line(proc, "turbjax.sweep", "--config.sweep.axes.learning_rate", "is not a sweep field")


def test_a_single_reynolds_number_for_regression_is_refused(data_dir, tmp_path):
    proc = train("--config.data.reynolds=(300.0,)", data_dir=data_dir, workdir=tmp_path / "w")
    assert_one_line(proc, "turbjax.train", "reynolds=(300.0,)", "single Reynolds number")


def test_a_held_out_value_not_in_the_data_is_refused(data_dir, tmp_path):
    proc = train("--config.data.split=heldout_re", "--config.data.heldout=(700.0,)", data_dir=data_dir,
                 workdir=tmp_path / "w")
    assert_one_line(proc, "turbjax.train", "700")


def test_relaxation_time_near_one_half_warns(capsys):
    from turbjax.simulate.presets import PRESETS, check_inputs

    check_inputs(PRESETS["seed"], [1200.0], "float32")
    assert "warning" not in capsys.readouterr().err
    check_inputs(PRESETS["seed"], [3000.0], "float32")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "tau = 0.50064" in err and "Re = 3000" in err


@pytest.mark.parametrize("args, prog, needles", [
    (("-m", "turbjax.simulate", "--re", "300", "--out", "X", "--preset", "quick", "--frames", "100000"),
     "turbjax.simulate", ("exceeds steps",)),
    (("-m", "turbjax.data", "--dir", "no/such/dir"), "turbjax.data", ("no/such/dir",)),
    (("-m", "turbjax.data.convert", "--trust-pickle", "no_such.npz", "--out", "X"), "turbjax.data.convert",
     ("no_such.npz",)),
    (("-m", "turbjax.evaluate", "--workdir", "no/such/run"), "turbjax.evaluate", ("no/such/run",)),
])
def test_every_job_reports_in_one_line(args, prog, needles):
    assert_one_line(run(*args), prog, *needles)
