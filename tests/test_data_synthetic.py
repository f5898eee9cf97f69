"""turbjax.data.synthetic.write_synthetic_files: one simulator-like file per Reynolds number, its header, and
the same bytes of velocity for the same seed."""

import numpy as np
import pytest

from turbjax.data.snapshots import load_snapshots, snapshot_path
from turbjax.data.synthetic import GENERATOR, vortex_street_velocity, write_synthetic_files

GRID = dict(nx=24, ny=16, frames=6, dx=1 / 16, frame_dt=0.25)


def test_one_file_per_reynolds_number_with_the_simulator_header(tmp_path):
    paths = write_synthetic_files(tmp_path, (300.0, 900), **GRID, frame_stride=20, first_step=100)
    assert paths == [snapshot_path(tmp_path, 300.0), snapshot_path(tmp_path, 900.0)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)  # no temporary left
    for k, (path, re) in enumerate(zip(paths, (300.0, 900.0), strict=True)):
        velocity, meta = load_snapshots(path)
        assert velocity.shape == (6, 24, 16, 2) and velocity.dtype == np.float32
        assert meta["reynolds"] == re and meta["dx"] == meta["dt"] == 1 / 16
        assert meta["frame_stride"] == 20 and meta["first_step"] == 100 and meta["generator"] == GENERATOR
        # the default seed of a file is the index of its Reynolds number
        np.testing.assert_array_equal(velocity, vortex_street_velocity(re, **GRID, seed=k))


def test_the_seed_fixes_the_data(tmp_path):
    a = write_synthetic_files(tmp_path / "a", (600.0,), **GRID, seeds=(3,))[0]
    b = write_synthetic_files(tmp_path / "b", (600.0,), **GRID, seeds=(3,))[0]
    c = write_synthetic_files(tmp_path / "c", (600.0,), **GRID, seeds=(4,))[0]
    np.testing.assert_array_equal(load_snapshots(a)[0], load_snapshots(b)[0])
    assert not np.array_equal(load_snapshots(a)[0], load_snapshots(c)[0])  # another phase of the street
    with pytest.raises(ValueError, match="2 seeds for 1 Reynolds numbers"):
        write_synthetic_files(tmp_path / "d", (600.0,), **GRID, seeds=(0, 1))
