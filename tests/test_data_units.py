"""data.units = "flow": files of any grid spacing, cylinder position and velocity unit read onto the reference
grid (turbjax.data.units): interpolation identities, the reference mapping, and whole data sets that agree."""

import dataclasses

import numpy as np
import pytest

from configs.default import get_data_config
from turbjax.data import units
from turbjax.data.config import validate_data_config
from turbjax.data.dataset import build_dataset
from turbjax.data.snapshots import save_snapshots, snapshot_path
from turbjax.data.units import REFERENCE, FlowUnits, cubic_weights, file_coordinates, on_reference_grid
from turbjax.simulate.presets import PRESETS, with_numerics


def test_cubic_convolution_is_exact_for_quadratics_and_copies_nodes():
    rng = np.random.default_rng(0)
    nodes = np.arange(3, 20)
    a, b, c = rng.normal(size=3)
    f = a + b * nodes + c * nodes**2
    at = rng.uniform(5, 17, size=50)
    w = cubic_weights(at, 3, nodes.size)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    np.testing.assert_allclose(w @ f, a + b * at + c * at**2, rtol=1e-12)
    # a cubic is not reproduced: the check can fail
    assert np.abs(w @ nodes.astype(float) ** 3 - at**3).max() > 1e-3
    on_nodes = cubic_weights(np.array([4.0, 9.0]), 3, nodes.size)
    np.testing.assert_array_equal(on_nodes @ f, f[[1, 6]])
    np.testing.assert_array_equal(cubic_weights(np.array([3.0, 19.0]), 3, nodes.size) @ f, f[[0, -1]])
    # between the outermost two nodes, with Keys' boundary rule for the missing stencil node: still exact
    edge = np.concatenate([rng.uniform(3, 4, 10), rng.uniform(18, 19, 10)])
    with pytest.raises(ValueError, match="stencil reaches outside"):
        cubic_weights(edge, 3, nodes.size)
    w = cubic_weights(edge, 3, nodes.size, edges=(3, 20))
    np.testing.assert_allclose(w @ f, a + b * edge + c * edge**2, rtol=1e-12)


def test_the_seed_presets_are_the_reference_grid_and_their_variants_are_not():
    for name in ("seed", "seed_long", "ensemble"):
        p = PRESETS[name]
        u = FlowUnits(dx=p.dx, diameter=2 * p.radius, inflow=p.inflow, cylinder=p.centre, dt=p.dt)
        assert on_reference_grid(u), name
    assert REFERENCE.diameter_cells == pytest.approx(12.8) and REFERENCE.cylinder_index == pytest.approx(
        (37.9, 64.5))
    for kw in ({"diameter_cells": 19.2}, {"diameter_cells": 25.6}, {"inflow": 0.1}):
        p = with_numerics(PRESETS["ensemble"], **kw)
        assert not on_reference_grid(FlowUnits(p.dx, 2 * p.radius, p.inflow, p.centre, p.dt))


def test_a_reference_node_and_the_file_node_it_maps_to_sit_at_the_same_place_in_diameters():
    p = with_numerics(PRESETS["seed"], diameter_cells=25.6)
    u = FlowUnits(p.dx, 2 * p.radius, p.inflow, p.centre, p.dt)
    ref = np.arange(0, 256)
    fx = file_coordinates(u, 0, ref)
    np.testing.assert_allclose(((fx + 0.5) * p.dx - p.centre[0]) / (2 * p.radius),
                               ((ref + 0.5) * REFERENCE.dx - REFERENCE.cylinder[0]) / REFERENCE.diameter,
                               atol=1e-12)
    np.testing.assert_allclose(fx - np.floor(fx), 0.5, atol=1e-9)  # D = 25.6: halfway between file nodes
    assert units.reference_extent(u, (p.nx, p.ny)) == (256, 128)
    assert units.step_scale(u) == pytest.approx(0.5)  # dt halves with dx at the same U


# ------------------------------------------------------------------- whole data sets on three grids, one flow
def quadratic_flow(p, frames: int, re: float):
    """A velocity field quadratic in (x, y) / D around the cylinder, in units of the file's inflow, changing
    from frame to frame; its vorticity is exact under central differences on any grid."""
    x = ((np.arange(p.nx) + 0.5) * p.dx - p.centre[0]) / (2 * p.radius)
    y = ((np.arange(p.ny) + 0.5) * p.dx - p.centre[1]) / (2 * p.radius)
    X, Y = np.meshgrid(x, y, indexing="ij")
    out = np.empty((frames, p.nx, p.ny, 2), np.float32)
    for t in range(frames):
        a = 0.01 * (t + 1) * re / 300
        out[t, ..., 0] = p.inflow * (1 + a * X - 0.003 * Y**2 + 0.002 * X * Y)
        out[t, ..., 1] = p.inflow * (0.004 * X**2 - a * Y + 0.001 * t)
    return out


GRIDS = {"reference": {}, "d19": {"diameter_cells": 19.2},
         "d26_mach": {"diameter_cells": 25.6, "inflow": 0.1}}


def write_flow(directory, p, frames=4, reynolds=(300.0, 900.0)):
    for re in reynolds:
        save_snapshots(snapshot_path(directory, re), quadratic_flow(p, frames, re), reynolds=re, dx=p.dx,
                       dt=p.dt, frame_stride=p.save_every, first_step=p.steps - (frames - 1) * p.save_every,
                       extra={"diameter": 2 * p.radius, "inflow": p.inflow, "cylinder_xy": p.centre})


@pytest.fixture(scope="module")
def three_grids(tmp_path_factory):
    base = PRESETS["seed"].replace(nx=140, ny=128)  # the cylinder and the default crop's region, no more
    out = {}
    for name, kw in GRIDS.items():
        p = with_numerics(base, **kw)
        d = tmp_path_factory.mktemp(name)
        write_flow(d, p)
        out[name] = (d, p)
    return out


def flow_config(directory, **kw):
    cfg = get_data_config()
    fields = dict(dir=str(directory), units="flow", reynolds=(300.0, 900.0), crop_x=(100, 132),
                  crop_y=(40, 88), val_fraction=0.25, test_fraction=0.25)
    cfg.update(fields | kw)
    return cfg


@pytest.mark.parametrize("features, crop_y", [("pixels", (40, 88)), ("gradstats", (40, 88)),
                                              ("pixels", (2, 126))])  # up to the walls' halo
def test_one_flow_on_three_grids_and_two_velocity_units_gives_one_data_set(three_grids, features, crop_y):
    sets = {name: build_dataset(flow_config(d, features=features, crop_y=crop_y))
            for name, (d, _) in three_grids.items()}
    ref = sets["reference"]
    for name, ds in sets.items():
        for part in ("train", "val", "test"):
            a, b = getattr(ref, part), getattr(ds, part)
            np.testing.assert_array_equal(a.step, b.step)  # the reference clock: steps of D / (256 U)
            np.testing.assert_allclose(b.X, a.X, rtol=2e-4, atol=2e-4 * np.abs(a.X).max(), err_msg=name)
    assert np.ptp(ref.train.X) > 0


def test_the_resolution_input_is_the_files_own_dx_over_d_squared_after_the_same_features(three_grids):
    """data.resolution_input: the statistics of the flow on the reference grid, then (dx / D)^2 of the file's
    own grid (1 / 12.8^2, 1 / 19.2^2, 1 / 25.6^2), one more column; the image shape says so."""
    for name, (d, p) in three_grids.items():
        plain = build_dataset(flow_config(d, features="gradstats"))
        ds = build_dataset(flow_config(d, features="gradstats", resolution_input=True))
        cells = 2 * p.radius / p.dx
        for part in ("train", "val", "test"):
            a, b = getattr(plain, part).X, getattr(ds, part).X
            np.testing.assert_array_equal(b[:, :-1], a)
            np.testing.assert_allclose(b[:, -1], 1 / cells**2, rtol=1e-6, err_msg=name)
        assert ds.image_shape == (1, 8) and plain.image_shape == (1, 7)
    assert {round(2 * p.radius / p.dx, 6) for _, p in three_grids.values()} == {12.8, 19.2, 25.6}


def test_the_resolution_input_is_refused_for_image_features_in_one_line():
    with pytest.raises(ValueError, match="resolution_input=True with features='pixels'") as err:
        validate_data_config(flow_config("data", features="pixels", resolution_input=True))
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("grid", ["reference", "d19"])
def test_a_coarsened_file_is_the_same_flow_on_every_second_node(three_grids, tmp_path, grid):
    """convert --coarsen 2 keeps every second node and shifts the cylinder with them: the quadratic flow read
    back in the flow's units is the same data set (the window up to the walls' halo)."""
    from turbjax.data.convert import main as convert

    d, _ = three_grids[grid]
    assert convert(["--coarsen", "2", str(d), "--out", str(tmp_path / "c2")]) == 0
    a = build_dataset(flow_config(d, features="gradstats", crop_y=(2, 126)))
    b = build_dataset(flow_config(tmp_path / "c2", features="gradstats", crop_y=(2, 126)))
    np.testing.assert_allclose(b.train.X, a.train.X, rtol=2e-4, atol=2e-4 * np.abs(a.train.X).max())


def test_a_reference_grid_file_is_read_bit_for_bit_as_with_file_units(three_grids):
    d, _ = three_grids["reference"]
    a, b = build_dataset(flow_config(d)), build_dataset(flow_config(d, units="file"))
    np.testing.assert_array_equal(a.train.X, b.train.X)


def test_file_units_refuse_mixed_grids_and_flow_units_refuse_a_window_the_file_lacks(three_grids, tmp_path):
    (_, p), (d19, p19) = three_grids["reference"], three_grids["d19"]
    mixed = tmp_path / "mixed"
    write_flow(mixed, p, reynolds=(300.0,))
    write_flow(mixed, p19, reynolds=(900.0,))
    with pytest.raises(ValueError, match="all files must share one grid.*data.units='flow'"):
        build_dataset(flow_config(mixed, units="file", sample_every_steps=30))
    assert build_dataset(flow_config(mixed)).train.X.shape[1] == 32 * 48
    with pytest.raises(ValueError, match=r"crop_x=\(100, 142\) lies outside.*vortex_street_Re_300.npz"):
        build_dataset(flow_config(d19, crop_x=(100, 142)))  # past the file's last node


def test_a_window_up_to_the_files_last_node_is_read_with_keys_boundary_extrapolation(three_grids):
    """The window x 100:140 ends at the reference grid's edge: on the D = 19.2 file its last nodes need one
    file node beyond the last (Keys' boundary rule stands in for it), and the quadratic flow still comes out
    as on the reference grid."""
    sets = {name: build_dataset(flow_config(d, crop_x=(100, 140), features="gradstats"))
            for name, (d, _) in three_grids.items()}
    for name, ds in sets.items():
        a, b = sets["reference"].train.X, ds.train.X
        np.testing.assert_allclose(b, a, rtol=2e-4, atol=2e-4 * np.abs(a).max(), err_msg=name)


def test_a_file_that_does_not_say_its_geometry_is_refused_by_flow_units(tmp_path):
    p = with_numerics(PRESETS["seed"].replace(nx=140), diameter_cells=19.2)
    save_snapshots(snapshot_path(tmp_path, 300.0), quadratic_flow(p, 2, 300.0), reynolds=300.0, dx=p.dx,
                   dt=p.dt, frame_stride=p.save_every, first_step=0, generator="my code")
    with pytest.raises(ValueError, match="diameter = nan; data.units='flow' needs"):
        build_dataset(flow_config(tmp_path, reynolds=(300.0,)))


def test_old_simulator_files_take_their_geometry_from_the_preset_they_name():
    from turbjax.data.readers.turbjax_npz import file_units

    nan = float("nan")
    meta = {"dx": 1 / 64, "dt": 1 / 64, "diameter": nan, "inflow": nan, "cylinder_xy": (nan, nan),
            "generator": "turbjax.simulate quick"}
    u = file_units(meta, "x.npz")
    q = PRESETS["quick"]
    assert dataclasses.astuple(u)[:5] == (q.dx, 2 * q.radius, q.inflow, q.centre, q.dt)
    assert np.isnan(file_units(meta | {"generator": "elsewhere"}, "x.npz").diameter)


def test_numerics_split_reads_each_variant_directory_into_its_part(tmp_path):
    base = PRESETS["seed"].replace(nx=140, ny=128)
    dirs = {}
    for name, kw in {"train": {}, "variant": {"inflow": 0.1}, "val": {"diameter_cells": 19.2},
                     "test": {"diameter_cells": 25.6}}.items():
        dirs[name] = tmp_path / name
        write_flow(dirs[name], with_numerics(base, **kw), frames=2,
                   reynolds=(300.0, 500.0, 700.0, 900.0, 1100.0))
    cfg = flow_config(dirs["train"], reynolds=(), split="numerics", heldout=(700.0,), val_every=2,
                      variant_dirs=(str(dirs["variant"]),), val_dirs=(str(dirs["val"]),),
                      test_dirs=(str(dirs["test"]),))
    validate_data_config(cfg)
    ds = build_dataset(cfg)
    # training Re 300 500 900 1100; every second from the second validates
    assert sorted(set(ds.test.re.tolist())) == [700.0] and sorted(set(ds.val.re.tolist())) == [500.0, 1100.0]
    assert sorted(set(ds.train.re.tolist())) == [300.0, 900.0]
    assert ds.train.X.shape[0] == 2 * 2 * 2 and ds.val.X.shape[0] == 2 * 2 and ds.test.X.shape[0] == 2
    assert "never trained on" in ds.summary() and str(dirs["val"]) in ds.description
    with pytest.raises(ValueError, match="each variant belongs to one part"):
        validate_data_config(flow_config(dirs["train"], split="numerics", heldout=(700.0,),
                                         val_dirs=(str(dirs["val"]),), test_dirs=(str(dirs["val"]),)))
