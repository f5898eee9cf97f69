"""netCDF / HDF5 files through the reader interface: the convention's files written by hand with xarray (other
units, another grid) give the data set the simulator's file of the same flow gives; turbjax's files exported
to netCDF read back bit for bit; every refusal is one line naming the file."""

import math

import numpy as np
import pytest

xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")

from test_data_units import flow_config, write_flow  # noqa: E402
from turbjax.data import readers  # noqa: E402
from turbjax.data.convert import main  # noqa: E402
from turbjax.data.dataset import build_dataset  # noqa: E402
from turbjax.data.readers.base import HEADER_KEYS, PLAIN  # noqa: E402
from turbjax.data.readers.netcdf import netcdf_header, read_netcdf  # noqa: E402
from turbjax.data.snapshots import save_snapshots, snapshot_path  # noqa: E402
from turbjax.data.units import on_reference_grid  # noqa: E402
from turbjax.simulate.presets import PRESETS  # noqa: E402

NC = readers.reader("netcdf")


def same_header(a: dict, b: dict) -> bool:
    """The HEADER_KEYS of two metadata dicts are equal (NaN equal to NaN)."""
    nan = lambda v: isinstance(v, float) and math.isnan(v)
    return all(a[k] == b[k] or (nan(a[k]) and nan(b[k])) for k in HEADER_KEYS)


# ----------------------------------------------------------------------------------- npz -> netCDF -> reader
def write_npz(directory, realization=-1, origin=(3, 2), frames=7, window=(12, 9)):
    v = np.random.default_rng(realization + 2).normal(size=(frames, *window, 2)).astype(np.float32)
    extra = {"realization": realization, "origin": origin, "grid_shape": (20, 14), "diameter": 0.1,
             "inflow": 0.05, "cylinder_xy": (0.3, 0.5 + 1 / 128), "shedding_period_steps": 123.5,
             "perturbation_seed": 7, "perturbation_amplitude": 0.01, "collision": "mrt",
             "boundary": "bouzidi"}
    return save_snapshots(snapshot_path(directory, 300.0, realization), v, reynolds=300.0, dx=1 / 128,
                          dt=1 / 128, frame_stride=10, first_step=42000,
                          generator="turbjax.simulate ensemble", extra=extra)


def test_a_turbjax_file_exported_to_netcdf_reads_back_bit_for_bit(tmp_path, capsys):
    src = tmp_path / "npz"
    paths = [write_npz(src, k) for k in (-1, 0, 2)]
    assert main(["--to", "netcdf", str(src), "--out", str(tmp_path / "nc")]) == 0
    assert "vortex_street_Re_300_r2.nc" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "nc").iterdir()) == [  # written atomically: no temporary left
        "vortex_street_Re_300.nc", "vortex_street_Re_300_r0.nc", "vortex_street_Re_300_r2.nc"]
    npz = readers.reader("turbjax")
    assert NC.series(tmp_path / "nc") == npz.series(src) == [(300.0, PLAIN), (300.0, 0), (300.0, 2)]
    for path in paths:
        v, meta = npz.read_velocity(path)
        k = meta["realization"]
        out = NC.path(tmp_path / "nc", 300.0, k)
        w, back = NC.read_velocity(out)
        assert w.dtype == np.float32
        np.testing.assert_array_equal(w, v)  # bit for bit
        for key in ("reynolds", "realization", "frame_stride", "first_step", "shedding_period_steps",
                    "components"):
            assert back[key] == meta[key], key
        assert back["grid_shape"] == (12, 9) and back["origin"] == (0, 0)  # the file's grid is the window
        a, b = meta["units"], back["units"]
        assert (b.diameter, b.inflow, b.cylinder) == (a.diameter, a.inflow, a.cylinder)
        assert b.dx == pytest.approx(a.dx, rel=1e-12) and b.dt == pytest.approx(a.dt, rel=1e-12)
        # the same place: stored cell (i, j) sits where it sat in the simulator's grid
        ox, oy = meta["origin"]
        np.testing.assert_allclose(b.cylinder_index, (a.cylinder_index[0] - ox, a.cylinder_index[1] - oy),
                                   rtol=0, atol=1e-9)
        # every frame's step: first_step + k frame_stride, times dt
        with xr.open_dataset(out) as ds:
            assert ds["u"].dims == ("time", "y", "x") and ds["u"].attrs["long_name"] == "velocity along x"
            assert {"units", "long_name"} <= set(ds["x"].attrs) and ds["v"].dtype == np.float32
            np.testing.assert_allclose(ds["time"].values, (42000 + 10 * np.arange(7)) / 128, rtol=1e-15)
            np.testing.assert_allclose(ds["x"].values, (ox + np.arange(12) + 0.5) / 128, rtol=1e-15)
            assert ds.attrs["collision"] == "mrt" and list(ds.attrs["source_origin"]) == [ox, oy]
            assert ds.attrs["inflow_velocity"] == 0.05 and ds.attrs["perturbation_seed"] == 7
        shape, dtype, head = NC.header(out)
        assert shape == v.shape and same_header(head, back)


def test_exported_seed_grid_files_give_the_data_set_of_the_originals_bit_for_bit(tmp_path):
    p = PRESETS["seed"].replace(nx=140, ny=128)
    write_flow(tmp_path / "npz", p)
    assert main(["--to", "netcdf", str(tmp_path / "npz"), "--out", str(tmp_path / "nc")]) == 0
    _, _, meta = netcdf_header(tmp_path / "nc" / "vortex_street_Re_300.nc")
    assert on_reference_grid(meta["units"])  # read unchanged, not resampled
    for data_units in ("file", "flow"):
        a = build_dataset(flow_config(tmp_path / "npz", units=data_units, features="gradstats"))
        b = build_dataset(flow_config(tmp_path / "nc", units=data_units, features="gradstats",
                                      format="netcdf"))
        for part in ("train", "val", "test"):
            for field in ("X", "y", "re", "step"):
                np.testing.assert_array_equal(getattr(getattr(b, part), field),
                                              getattr(getattr(a, part), field))


# ------------------------------------------------------------- a file written by hand: metres, m/s, seconds
D, U, CX, CY = 0.02, 0.5, 0.05, 0.04  # m, m/s, m: the cylinder's diameter, the inflow, the centre
CELLS = 19.2  # cells per diameter (the reference grid has 12.8)


def hand_written(path, re, frames=4, dims=("time", "y", "x"), engine=None, **attrs):
    """The same quadratic flow as test_data_units' files, in metres and m/s on a grid of D / 19.2, its frames
    10 reference steps (of D / (256 U)) apart from reference step 47970: the README's example."""
    dx = D / CELLS
    x = CX + (np.arange(-20, 155) + 0.3) * dx  # -1 D .. 8 D around the centre, nodes off the centre
    y = CY + (np.arange(-48, 49) - 0.4) * dx
    t = (47970 + 10 * np.arange(frames)) * D / (256 * U)  # seconds
    X, Y = np.meshgrid((x - CX) / D, (y - CY) / D, indexing="ij")
    u, v = np.empty((2, frames, x.size, y.size), np.float32)
    for k in range(frames):  # quadratic_flow's, in units of this file's inflow
        a = 0.01 * (k + 1) * re / 300
        u[k] = U * (1 + a * X - 0.003 * Y**2 + 0.002 * X * Y)
        v[k] = U * (0.004 * X**2 - a * Y + 0.001 * k)
    if dims == ("time", "y", "x"):
        u, v = u.transpose(0, 2, 1), v.transpose(0, 2, 1)
    # the README's five lines:
    ds = xr.Dataset({"u": (dims, u), "v": (dims, v)},
                    coords={"time": t, "x": x, "y": y},
                    attrs={"diameter": D, "inflow_velocity": U, "cylinder_x": CX, "cylinder_y": CY,
                           "reynolds": re} | attrs)
    ds.to_netcdf(path, engine=engine)
    return path


@pytest.mark.parametrize("dims", [("time", "y", "x"), ("time", "x", "y")])
def test_a_hand_written_file_in_metres_gives_the_data_set_of_the_simulators_file_of_that_flow(tmp_path, dims):
    p = PRESETS["seed"].replace(nx=140, ny=128)
    write_flow(tmp_path / "npz", p)
    (tmp_path / "nc").mkdir()
    for re in (300.0, 900.0):
        hand_written(tmp_path / "nc" / f"cylinder_run_Re_{re:g}.nc", re, dims=dims)
    assert NC.series(tmp_path / "nc") == [(300.0, PLAIN), (900.0, PLAIN)]
    v, meta = NC.read_velocity(tmp_path / "nc" / "cylinder_run_Re_300.nc")
    assert v.shape == (4, 175, 97, 2) and meta["first_step"] == 4797 and meta["frame_stride"] == 1
    assert meta["units"].diameter_cells == pytest.approx(CELLS)
    assert not on_reference_grid(meta["units"])
    for features in ("pixels", "gradstats"):
        ref = build_dataset(flow_config(tmp_path / "npz", features=features))
        ds = build_dataset(flow_config(tmp_path / "nc", features=features, format="netcdf"))
        for part in ("train", "val", "test"):
            a, b = getattr(ref, part), getattr(ds, part)
            np.testing.assert_array_equal(a.step, b.step)  # the reference clock: steps of D / (256 U)
            np.testing.assert_array_equal(a.re, b.re)
            np.testing.assert_allclose(b.X, a.X, rtol=2e-4, atol=2e-4 * np.abs(a.X).max())
        assert np.ptp(ref.train.X) > 0


def test_a_file_without_reynolds_number_time_or_name_is_still_read(tmp_path):
    path = hand_written(tmp_path / "anything.h5", 300.0)
    with xr.open_dataset(path) as ds:
        bare = ds.load().drop_vars("time")
    del bare.attrs["reynolds"]
    bare.to_netcdf(tmp_path / "snapshot.nc")
    v, meta = read_netcdf(tmp_path / "snapshot.nc")
    assert math.isnan(meta["reynolds"]) and math.isnan(meta["units"].dt) and meta["first_step"] == 0
    _, _, head = netcdf_header(tmp_path / "snapshot.nc")
    assert math.isnan(head["reynolds"]) and set(HEADER_KEYS) <= set(head)
    np.testing.assert_array_equal(v, read_netcdf(path)[0])
    assert read_netcdf(path)[1]["reynolds"] == 300.0
    # without the attribute, a directory's file takes its Re from its name
    bare.to_netcdf(tmp_path / "run_Re_450_r3.nc")
    _, _, named = netcdf_header(tmp_path / "run_Re_450_r3.nc")
    assert named["reynolds"] == 450.0 and named["realization"] == 3
    # frame_stride: steps per frame
    hand_written(tmp_path / "strided_Re_300.nc", 300.0, frame_stride=10)
    _, _, strided = netcdf_header(tmp_path / "strided_Re_300.nc")
    assert strided["frame_stride"] == 10 and strided["first_step"] == 47970
    assert strided["units"].dt == pytest.approx(D / (256 * U))


def test_a_netcdf3_file_reads_as_its_netcdf4_twin(tmp_path):
    pytest.importorskip("scipy")  # xarray's netCDF3 backend
    a = read_netcdf(hand_written(tmp_path / "a_Re_300.nc", 300.0, frame_stride=10))
    b = read_netcdf(hand_written(tmp_path / "b_Re_300.nc", 300.0, engine="scipy", frame_stride=10))
    assert (tmp_path / "b_Re_300.nc").read_bytes()[:3] == b"CDF"
    np.testing.assert_array_equal(a[0], b[0])
    assert same_header(a[1], b[1])


def test_read_frames_reads_only_the_frames_asked_for(tmp_path):
    path = hand_written(tmp_path / "f_Re_300.nc", 300.0, frames=5)
    with xr.open_dataset(path) as ds:
        broken = ds.load()
    broken["u"][3, 10, 20] = np.nan
    broken.to_netcdf(tmp_path / "g_Re_300.nc")
    v, _ = read_netcdf(path)
    block = NC.read_frames(tmp_path / "g_Re_300.nc", stride=2, x=slice(5, 30), y=slice(4, 9))
    np.testing.assert_array_equal(block, v[::2, 5:30, 4:9])  # frame 3 is not read
    with pytest.raises(ValueError, match=r"g_Re_300.nc: 1 of the 5 frames read hold NaN or inf \(frames 3; "
                                         r"the first in u at cell x=20, y=10\)"):
        NC.read_frames(tmp_path / "g_Re_300.nc", stride=1, x=slice(5, 30), y=slice(4, 12))
    NC.read_frames(tmp_path / "g_Re_300.nc", stride=1, x=slice(5, 30), y=slice(4, 9))  # not that cell


def test_path_finds_the_one_file_of_a_reynolds_number_whatever_its_prefix(tmp_path):
    assert NC.path(tmp_path, 300.0) == tmp_path / "vortex_street_Re_300.nc"  # none yet: the exporter's name
    hand_written(tmp_path / "mine_Re_300.h5", 300.0)
    assert NC.path(tmp_path, 300) == tmp_path / "mine_Re_300.h5"
    assert NC.path(tmp_path, 300.0, 1) == tmp_path / "vortex_street_Re_300_r1.nc"
    hand_written(tmp_path / "yours_Re_300.0.nc", 300.0)
    with pytest.raises(ValueError, match=r"holds 2 netCDF files for Re 300 \(mine_Re_300.h5, "
                                         r"yours_Re_300.0.nc\); keep one"):
        NC.path(tmp_path, 300.0)


# -------------------------------------------------------------------------------------------------- refusals
def _mutate(ds, case):
    dx = float(ds.x[1] - ds.x[0])
    if case == "missing attribute":
        del ds.attrs["diameter"]
    elif case == "attribute not a number":
        ds.attrs["inflow_velocity"] = "fast"
    elif case == "negative inflow":
        ds.attrs["inflow_velocity"] = -0.5
    elif case == "non-uniform x":
        ds = ds.assign_coords(x=ds.x.values + np.where(np.arange(ds.x.size) == 30, 0.1 * dx, 0))
    elif case == "non-uniform y":
        ds = ds.assign_coords(y=ds.y.values * (1 + 1e-3 * np.linspace(0, 1, ds.y.size) ** 2))
    elif case == "non-uniform time":
        ds = ds.assign_coords(time=ds.time.values * [1, 1, 1.01, 1])
    elif case == "decreasing y":
        ds = ds.assign_coords(y=ds.y.values[::-1])
    elif case == "x and y spacing differ":
        ds = ds.assign_coords(y=ds.y.values[0] + 1.5 * dx * np.arange(ds.y.size))
    elif case == "missing u":
        ds = ds.drop_vars("u")
    elif case == "missing v":
        ds = ds.rename({"v": "w"})
    elif case == "vorticity only":
        ds = ds.drop_vars(["u", "v"]).assign(vorticity=ds.u * 0)
    elif case == "wrong dims":
        ds = ds.rename({"time": "t"})
    elif case == "no time dimension":
        ds = ds.isel(time=0).drop_vars("time")
    elif case == "no x coordinate":
        ds = ds.drop_vars("x")
    return ds


REFUSALS = {
    "missing attribute": r"no global attribute 'diameter' \(the cylinder's diameter.*set "
                         r"ds.attrs\['diameter'\]",
    "attribute not a number": r"global attribute inflow_velocity='fast' must be one number",
    "negative inflow": r"inflow_velocity=-0.5 must be positive .*flip x",
    "non-uniform x": r"coordinate x is not uniformly spaced: x\[30\] = .* is 0.1 spacings from its place.*"
                     r"resample",
    "non-uniform y": r"coordinate y is not uniformly spaced",
    "non-uniform time": r"coordinate time is not uniformly spaced",
    "decreasing y": r"coordinate y runs from .*; it must increase \(sort it: ds.sortby\('y'\)",
    "x and y spacing differ": r"the x spacing 0.0010416666\d* and the y spacing 0.001562\d* differ; turbjax "
                              r"needs square cells",
    "missing u": r"no data variable 'u'; the convention needs u and v",
    "missing v": r"no data variable 'v'; .*\(its variables: \['u', 'w'\]\)",
    "vorticity only": r"holds vorticity \(vorticity\) but no velocity: turbjax needs u and v.*differencing",
    "wrong dims": r"u has dimensions \('t', 'y', 'x'\); the convention needs \('time', 'y', 'x'\) or "
                  r"\('time', 'x', 'y'\): rename them",
    "no time dimension": r"u has dimensions \('y', 'x'\);.*ds.expand_dims\('time'\)",
    "no x coordinate": r"no coordinate x; the convention needs the positions",
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_each_refusal_is_one_line_naming_the_file_and_what_to_do(tmp_path, case):
    good = hand_written(tmp_path / "good_Re_300.nc", 300.0)
    with xr.open_dataset(good) as ds:
        bad = _mutate(ds.load(), case)
    path = tmp_path / "bad_Re_300.nc"
    bad.to_netcdf(path)
    for call in (lambda: NC.header(path), lambda: NC.read_velocity(path), lambda: NC.read_frames(path)):
        with pytest.raises(ValueError, match=REFUSALS[case]) as e:
            call()
        assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_non_finite_frames_and_damaged_files_are_refused(tmp_path):
    good = hand_written(tmp_path / "good_Re_300.nc", 300.0)
    with xr.open_dataset(good) as ds:
        bad = ds.load()
    bad["v"][1:3] = np.inf
    bad.to_netcdf(tmp_path / "inf_Re_300.nc")
    NC.header(tmp_path / "inf_Re_300.nc")  # the header reads no frame
    with pytest.raises(ValueError, match=r"inf_Re_300.nc: 2 of the 4 frames read hold NaN or inf \(frames 1, "
                                         r"2; the first in v at cell x=0, y=0\).*ds.fillna\(0\)"):
        NC.read_velocity(tmp_path / "inf_Re_300.nc")
    (tmp_path / "text_Re_300.nc").write_text("not a netCDF file")
    with pytest.raises(ValueError, match=r"text_Re_300.nc: xarray cannot open it as a netCDF/HDF5 file") as e:
        NC.header(tmp_path / "text_Re_300.nc")
    assert "\n" not in str(e.value)
    with pytest.raises(FileNotFoundError, match="no netCDF file at"):
        read_netcdf(tmp_path / "nowhere.nc")


def test_the_converter_refuses_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as e:
        main(["--to", "netcdf", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    assert e.value.code == 2 and "no turbjax files ('vortex_street_Re_300.npz' etc.) in directory" in (
        capsys.readouterr().err)
    for d in ("a", "b"):
        write_npz(tmp_path / d)
    with pytest.raises(SystemExit):
        main(["--to", "netcdf", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "out")])
    assert "same netCDF file (vortex_street_Re_300.nc)" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
