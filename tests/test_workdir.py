"""Run-directory files: writes are atomic (an interrupted write leaves the old file whole and no half file),
the standardizer and config round-trip."""

import json
import os

import numpy as np
import pytest

from turbjax import workdir as W
from turbjax.configs import default


class Interrupted(Exception):
    pass


def fail_rename(*args, **kwargs):
    raise Interrupted("killed between writing and renaming")


@pytest.mark.parametrize("write,name", [
    (lambda d: W.write_json(d / "results.json", {"test_r2": 0.5}), "results.json"),
    (lambda d: W.write_config(d, default.get_config()), "config.json"),
])
def test_failed_rename_keeps_the_old_json_and_leaves_no_temporary(tmp_path, monkeypatch, write, name):
    old = '{"old": true}\n'
    (tmp_path / name).write_text(old)
    monkeypatch.setattr(os, "replace", fail_rename)
    with pytest.raises(Interrupted):
        write(tmp_path)
    assert (tmp_path / name).read_text() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_write_that_dies_halfway_keeps_the_old_standardizer(tmp_path, monkeypatch):
    old = {"x_mean": np.arange(3.0), "x_scale": np.ones(3)}
    W.write_standardizer(tmp_path, old)
    real_savez = np.savez

    def half_savez(file, **arrays):  # writes a truncated archive, then dies
        real_savez(file, **arrays)
        path = file if str(file).endswith(".npz") else f"{file}.npz"
        with open(path, "r+b") as f:
            f.truncate(20)
        raise Interrupted("killed while writing")

    monkeypatch.setattr(np, "savez", half_savez)
    with pytest.raises(Interrupted):
        W.write_standardizer(tmp_path, {"x_mean": np.zeros(5), "x_scale": np.ones(5)})
    back = W.read_standardizer(tmp_path)
    np.testing.assert_array_equal(back["x_mean"], old["x_mean"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["standardizer.npz"]


def test_config_round_trips_through_config_json(tmp_path):
    c = default.get_config()
    W.write_config(tmp_path, c)
    back = W.load_run_config(tmp_path)
    assert json.loads(back.to_json_best_effort()) == json.loads(c.to_json_best_effort())
    assert back.data.reynolds == c.data.reynolds and isinstance(back.model.hidden, tuple)


def test_a_config_json_from_before_a_field_existed_reads_with_that_fields_default(tmp_path):
    """Runs written before a field was added load (evaluate) and resume (train) as if it had its default."""
    import json

    from turbjax.configs import default
    from turbjax.workdir import check_workdir, config_json, load_run_config

    c = default.get_config()
    old = config_json(c)
    del old["data"]["test_sample_every_steps"], old["training"]["augment"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    loaded = load_run_config(tmp_path)
    assert loaded.data.test_sample_every_steps == c.data.test_sample_every_steps
    assert tuple(loaded.training.augment) == tuple(c.training.augment)
    assert check_workdir(c, tmp_path)  # no "another config" error
