"""The rules between config sections (turbjax.configs.validate), checked before any data is generated or
loaded, and output paths checked before any long work: each a single line naming the value and what to do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from configs import test as test_config
from turbjax.configs.schema import with_overrides
from turbjax.configs.validate import check_batch_size, validate_config
from turbjax.train import train_and_evaluate

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
ENV.pop("TURBJAX_DEBUG", None)

FORECAST = {"data.target": "forecast", "data.split": "time", "data.gap": 2, "data.horizon": 1}


def config(overrides: dict | None = None, data_dir="absent"):
    return with_overrides(test_config.get_config(), {"data.dir": str(data_dir)} | (overrides or {}))


@pytest.mark.parametrize("augment", [{"training.augment": ("mirror",)},
                                     {"training.augment": ("shift",), "training.shift": 2},
                                     {"training.shift": 2}])
def test_a_forecast_with_augmentation_is_refused_before_any_data(tmp_path, augment):
    """Mirrored or shifted inputs with unchanged target frames would train on wrong pairs."""
    c = config(FORECAST | augment, data_dir=tmp_path / "no_data_here")
    with pytest.raises(ValueError, match=r"transforms the inputs but not the forecast target"):
        train_and_evaluate(c, tmp_path / "w")
    assert not (tmp_path / "no_data_here").exists() and not (tmp_path / "w").exists()


def test_a_forecast_without_augmentation_passes():
    validate_config(config(FORECAST))


def test_lbfgs_with_augmentation_is_refused_before_any_data(tmp_path):
    lbfgs = {"optim.name": "lbfgs", "optim.schedule": "constant", "optim.momentum": 0.0,
             "optim.learning_rate": 1.0}
    c = config(lbfgs | {"training.augment": ("mirror",)}, data_dir=tmp_path / "no_data_here")
    with pytest.raises(ValueError, match=r"L-BFGS assumes one fixed objective"):
        train_and_evaluate(c, tmp_path / "w")
    assert not (tmp_path / "no_data_here").exists()
    validate_config(config(lbfgs))  # the same optimizer without augmentation is fine


def test_a_classifier_of_forecasts_is_refused():
    with pytest.raises(ValueError, match=r"'forecast' is a regression target"):
        validate_config(config(FORECAST | {"model.name": "logistic"}))


def test_the_batch_size_rule_names_both_sizes():
    with pytest.raises(ValueError, match=r"batch_size=16 is larger than the training set \(10 samples\)"):
        check_batch_size(config(), 10)
    check_batch_size(config(), 16)
    check_batch_size(config({"optim.name": "lbfgs"}), 10)  # full batch: the batch size is not used


def test_an_unknown_override_path_is_named():
    with pytest.raises(ValueError, match=r"'data.dri' names no config field \(did you mean 'data.dir'\?\)"):
        config({"data.dri": "x"})


def run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, check=False,
                          cwd=ROOT, env=ENV)


def one_line(proc, prog: str) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith(f"{prog}: ")]
    assert proc.returncode != 0 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return lines[0]


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "notes.md"
    path.write_text("not a directory\n")
    return path


def test_simulate_refuses_a_file_as_out_before_simulating(a_file):
    line = one_line(run("-m", "turbjax.simulate", "--re", "300", "--preset", "quick", "--out", str(a_file)),
                    "turbjax.simulate")
    assert f"--out={a_file} is a file, not a directory" in line
    assert a_file.read_text() == "not a directory\n"


def test_train_refuses_a_file_as_workdir_before_loading_data(a_file, tmp_path):
    proc = run("-m", "turbjax.train", "--config", str(ROOT / "configs" / "test.py"), "--workdir", str(a_file),
               f"--config.data.dir={tmp_path / 'no_data_here'}")
    assert f"--workdir={a_file} is a file, not a directory" in one_line(proc, "turbjax.train")
    assert not (tmp_path / "no_data_here").exists()  # nothing was generated


def test_sweep_refuses_a_path_under_a_file(a_file, tmp_path):
    proc = run("-m", "turbjax.sweep", "--config", str(ROOT / "configs" / "sweep_test.py"), "--workdir",
               str(a_file / "sub"), f"--config.data.dir={tmp_path / 'no_data_here'}")
    assert f"lies under {a_file}, which is a file" in one_line(proc, "turbjax.sweep")
    assert not (tmp_path / "no_data_here").exists()


def test_data_convert_and_data_plots_refuse_a_file_as_output(a_file, tmp_path):
    line = one_line(run("-m", "turbjax.data.convert", "--trust-pickle", str(tmp_path), "--out", str(a_file)),
                    "turbjax.data.convert")
    assert f"--out={a_file} is a file, not a directory" in line
    line = one_line(run("-m", "turbjax.data", "--dir", str(tmp_path), "--plots", str(a_file)), "turbjax.data")
    assert f"--plots={a_file} is a file, not a directory" in line
