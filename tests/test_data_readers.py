"""The data formats behind one reader interface: each registered reader on tiny files it wrote, the registry's
refusal of an unknown format, detect_format, and a new format added as one class plus one table entry."""

import json
import math
from pathlib import Path
from re import escape

import numpy as np
import pytest

from configs.default import get_data_config
from turbjax.data import discovery, readers
from turbjax.data.config import validate_data_config
from turbjax.data.dataset import build_dataset
from turbjax.data.readers.base import HEADER_KEYS, PLAIN, Reader
from turbjax.data.snapshots import OPTIONAL_KEYS, check_velocity, save_snapshots, snapshot_path
from turbjax.data.units import FlowUnits

GRID = (20, 14)  # the full grid (nx, ny)


def velocity(seed, frames=11, shape=GRID):
    return np.random.default_rng(seed).normal(size=(frames, *shape, 2)).astype(np.float32)


def write_turbjax(directory) -> dict:
    """Plain runs at Re 300 and 600 (the whole grid), realizations 0 and 1 at Re 300 (a stored window)."""
    written = {}
    for i, re in enumerate((300.0, 600.0)):
        written[(re, PLAIN)] = save_snapshots(snapshot_path(directory, re), velocity(i), reynolds=re, dx=1,
                                              dt=1, frame_stride=5, first_step=100)
    for k in (0, 1):
        extra = {"realization": k, "origin": (3, 2), "grid_shape": GRID}
        written[(300.0, k)] = save_snapshots(snapshot_path(directory, 300.0, k), velocity(10 + k, 9, (12, 9)),
                                             reynolds=300.0, dx=1, dt=1, frame_stride=5, first_step=0,
                                             extra=extra)
    return written


def write_course(directory) -> dict:
    written = {}
    for i, re in enumerate((300.0, 1200.0)):
        path = readers.reader("course").path(directory, re)
        np.random.default_rng(i).normal(size=(10, *GRID, 2)).dump(path)  # as the course wrote its files
        written[(re, PLAIN)] = path
    return written


def write_netcdf(directory) -> dict:
    """Plain runs at Re 300 and 600 under two names and dimension orders, realizations 0 and 1 at Re 300 (the
    last without a time coordinate); written with xarray in the convention of readers.netcdf."""
    import xarray as xr

    written = {}
    x, y = 0.5 * np.arange(GRID[0]) - 2.0, 0.5 * np.arange(GRID[1]) + 1.0
    for i, (name, re, k) in enumerate((("flow_Re_300.nc", 300.0, PLAIN), ("other_Re_600.h5", 600.0, PLAIN),
                                       ("flow_Re_300_r0.nc", 300.0, 0), ("flow_Re_300_r1.nc", 300.0, 1))):
        v = velocity(20 + i)
        coords = {"x": x, "y": y} | ({"time": 0.25 * np.arange(4, 15)} if k != 1 else {})
        if i % 2:
            data = {c: (("time", "x", "y"), v[..., j]) for j, c in enumerate("uv")}
        else:
            data = {c: (("time", "y", "x"), v[..., j].transpose(0, 2, 1)) for j, c in enumerate("uv")}
        attrs = {"diameter": 1.0, "inflow_velocity": 0.1, "cylinder_x": 2.0, "cylinder_y": 4.0}
        xr.Dataset(data, coords=coords, attrs=attrs | {"reynolds": re}).to_netcdf(directory / name)
        written[(re, k)] = directory / name
    return written


# One writer per registered format: a format added to readers.READERS needs one here too.
WRITERS = {"turbjax": write_turbjax, "course": write_course, "netcdf": write_netcdf}
# Names that are no series: not a data file, or a data file's name without a number where Re goes.
DECOYS = ("notes.txt", "vortex_street_Re_e.npz", "vortex_street_velocities_Re_e_largefile.npz", "toy_Re_.npy",
          "flow_Re_.nc", "flow_Re_300.nc.tmp", "flow_Re_300.npy")


@pytest.fixture(params=list(readers.READERS))
def files(request, tmp_path):
    """(reader, {(Re, realization): path}) of tiny files of one format, in a directory holding other names
    too."""
    fmt = request.param
    if fmt not in WRITERS:
        pytest.fail(f"format {fmt!r} is registered but this test has no writer for it; add one to WRITERS")
    written = WRITERS[fmt](tmp_path)
    for name in DECOYS:
        (tmp_path / name).write_text("not data")
    for other, write in WRITERS.items():  # the other formats' files are not this format's
        if other != fmt:
            (tmp_path / other).mkdir()
            for path in write(tmp_path / other).values():
                path.rename(tmp_path / path.name)
    return readers.reader(fmt), written


def test_series_finds_exactly_the_files_written(files, tmp_path):
    reader, written = files
    assert reader.series(tmp_path) == sorted(written)
    for (re, k), path in written.items():
        assert reader.path(tmp_path, re, k) == path


def test_header_agrees_with_the_whole_file(files):
    reader, written = files
    trust = reader.needs_trust
    for path in written.values():
        shape, dtype, head = reader.header(path, trust)
        v, meta = reader.read_velocity(path, trust, check=True)
        assert tuple(shape) == v.shape and np.dtype(dtype) == v.dtype
        assert set(HEADER_KEYS) <= set(head) and set(HEADER_KEYS) <= set(meta)
        for key in HEADER_KEYS:
            a, b = head[key], meta[key]
            assert a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b)), key
        assert head["components"] in ("ux,uy", "-ux,uy")
        ox, oy = head["origin"]
        assert ox + shape[1] <= head["grid_shape"][0] and oy + shape[2] <= head["grid_shape"][1]


@pytest.mark.parametrize("stride", [1, 3])
def test_read_frames_is_the_window_of_the_whole_file(files, stride):
    reader, written = files
    trust = reader.needs_trust
    for path in written.values():
        v, meta = reader.read_velocity(path, trust)
        ox, oy = meta["origin"]
        x, y = slice(ox + 1, ox + 7), slice(oy + 2, oy + 6)  # full-grid cells inside the stored window
        block = reader.read_frames(path, stride=stride, x=x, y=y, trust_pickle=trust)
        expected = v[::stride, x.start - ox : x.stop - ox, y.start - oy : y.stop - oy]
        assert block.dtype == v.dtype
        np.testing.assert_array_equal(block, expected)


def test_reading_a_trusted_format_is_refused_without_trust(files):
    reader, written = files
    if not reader.needs_trust:
        return
    path = next(iter(written.values()))
    for read in (lambda: reader.header(path), lambda: reader.read_velocity(path),
                 lambda: reader.read_frames(path)):
        with pytest.raises(PermissionError, match="trust_pickle=True"):
            read()


def test_a_format_without_realizations_refuses_them(tmp_path):
    for reader in readers.READERS.values():
        if reader.realizations:
            assert reader.path(tmp_path, 300, 2) != reader.path(tmp_path, 300)
            continue
        with pytest.raises(ValueError, match=rf"files have no realizations \(asked for realization 2\); set "
                                             rf"realizations=\(\) with format='{reader.name}'"):
            reader.path(tmp_path, 300, 2)


def test_the_registry():
    assert readers.FORMATS == tuple(readers.READERS) == discovery.FORMATS
    assert all(name == r.name and isinstance(r, Reader) for name, r in readers.READERS.items())
    assert [r.name for r in readers.READERS.values() if r.simulated] == [readers.SIMULATOR_FORMAT]
    assert readers.reader(readers.SIMULATOR_FORMAT).realizations


@pytest.mark.parametrize("fmt", ["hdf5", "Course", None])
def test_an_unknown_format_is_one_line_naming_it_and_the_known_ones(fmt, tmp_path):
    known = escape(str(readers.FORMATS))
    for call in (lambda: readers.reader(fmt), lambda: discovery.data_path(tmp_path, 300, fmt),
                 lambda: validate_data_config(get_data_config().to_dict() | {"format": fmt})):
        with pytest.raises(ValueError, match=rf"^unknown data format {fmt!r}; expected one of {known}") as e:
            call()
        assert "\n" not in str(e.value)


def test_detect_format(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match=r"data directory .*nowhere does not exist; pass an existing"):
        discovery.detect_format(tmp_path / "nowhere", "turbjax")
    with pytest.raises(FileNotFoundError) as e:
        discovery.detect_format(tmp_path, "turbjax")
    assert str(e.value) == (f"{tmp_path} holds no data files: expected vortex_street_Re_300.npz (turbjax) or "
                            "vortex_street_velocities_Re_300_largefile.npz (the course's) or *_Re_300.nc "
                            "(netCDF) per Reynolds number")
    for fmt, write in WRITERS.items():
        (tmp_path / fmt).mkdir()
        write(tmp_path / fmt)
        assert discovery.detect_format(tmp_path / fmt, "x") == fmt
        write(tmp_path)
    assert discovery.detect_format(tmp_path, "course") == "course"
    assert "holds files of 3 formats (turbjax, course, netcdf); using 'course'" in capsys.readouterr().out


# ---------------------------------------------------------------- a new format: one class, one table entry


class NpyJson(Reader):
    """A toy format: `toy_Re_{re:g}.npy` holds the velocity (ux, uy), a `.json` beside it the run's
    numbers."""

    name = label = "toy"
    file_template = "toy_Re_{re:g}.npy"

    def _meta(self, path, shape):
        numbers = json.loads(Path(path).with_suffix(".json").read_text())
        units = FlowUnits(dx=1.0, diameter=4.0, inflow=0.1, cylinder=(3.0, 4.0), dt=1.0)
        keys = {"grid_shape": tuple(shape[1:3]), "components": "ux,uy", "units": units}
        return OPTIONAL_KEYS | keys | numbers

    def header(self, path, trust_pickle=False):
        v = np.load(path, mmap_mode="r")
        return v.shape, v.dtype, self._meta(path, v.shape)

    def read_velocity(self, path, trust_pickle=False, check=True):
        v = np.load(path)
        if check:
            check_velocity(v, path)
        return v, self._meta(path, v.shape)


def test_a_new_format_is_one_reader_and_one_entry_in_the_table(tmp_path, monkeypatch):
    toy, npz = tmp_path / "toy", tmp_path / "npz"
    toy.mkdir()
    for i, re in enumerate((300.0, 600.0, 900.0)):
        v = velocity(i, 12)
        save_snapshots(snapshot_path(npz, re), v, reynolds=re, dx=1, dt=1, frame_stride=5, first_step=10)
        np.save(toy / f"toy_Re_{re:g}.npy", v)
        (toy / f"toy_Re_{re:g}.json").write_text(json.dumps({"reynolds": re, "frame_stride": 5,
                                                             "first_step": 10}))

    monkeypatch.setitem(readers.READERS, "toy", NpyJson())
    assert "toy" in readers.FORMATS and "toy" in discovery.FORMATS
    assert discovery.available_series(toy, "toy") == [(300.0, PLAIN), (600.0, PLAIN), (900.0, PLAIN)]
    assert discovery.detect_format(toy, "turbjax") == "toy"

    def config(directory, fmt):
        cfg = get_data_config()
        cfg.dir, cfg.format, cfg.reynolds = str(directory), fmt, ()
        cfg.crop_x, cfg.crop_y, cfg.sample_every_steps, cfg.test_fraction = (2, 14), (3, 11), 10, 0.25
        cfg.split, cfg.gap = "time", 0  # 6 samples per run: each part gets some of every run
        return cfg

    a, b = build_dataset(config(toy, "toy")), build_dataset(config(npz, "turbjax"))
    assert len(a) > 0 and len(a.test.X) > 0 and a.n_features == 96
    for side in ("train", "test"):
        for field in ("X", "y", "re", "frame", "step"):
            np.testing.assert_array_equal(getattr(getattr(a, side), field), getattr(getattr(b, side), field))
    cfg = config(toy, "toy")
    cfg.realizations = (0,)
    with pytest.raises(ValueError, match=r"toy files have no realizations"):
        validate_data_config(cfg)  # the config check reads the new format's settings from the table
