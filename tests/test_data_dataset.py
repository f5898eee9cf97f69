"""build_dataset on small synthetic files in both formats: shapes, counts, values, splits, errors."""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configs.default import get_data_config
from turbjax.data import snapshots
from turbjax.data.config import validate_data_config
from turbjax.data.convert import convert_file
from turbjax.data.dataset import build_dataset, missing_files
from turbjax.data.discovery import COURSE_FILE_TEMPLATE, data_path
from turbjax.data.snapshots import load_snapshots, save_snapshots, snapshot_path
from turbjax.data.synthetic import vortex_street_velocity
from turbjax.data.vorticity import vorticity, vorticity_course, wake_vorticity

RES = (300.0, 600.0, 900.0, 1200.0)
NX, NY, FRAMES = 24, 16, 12


@pytest.fixture(scope="module")
def turbjax_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("turbjax")
    for i, re in enumerate(RES):
        v = vortex_street_velocity(re, nx=NX, ny=NY, frames=FRAMES, dx=1 / 16, seed=i)
        save_snapshots(snapshot_path(d, re), v, reynolds=re, dx=1 / 16, dt=1 / 16, frame_stride=10,
                          first_step=1000)
    return d


def small_config(directory, **overrides):
    cfg = get_data_config()
    cfg.dir = str(directory)
    cfg.crop_x = (0, 16)  # touches the x edge: the one-sided stencil is exercised
    cfg.crop_y = (4, 12)
    cfg.test_fraction = 0.25
    cfg.gap = 2
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def test_shapes_counts_and_labels(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir))
    # 48 samples: 12 test; of the 36 on the training side, round(0.2 * 36) = 7 validate
    assert ds.train.X.shape == (29, 128) and ds.val.X.shape == (7, 128) and ds.test.X.shape == (12, 128)
    assert ds.train.X.dtype == np.float32 and ds.train.y.dtype == np.float32
    assert ds.train.labels.dtype == np.int32 and ds.train.frame.dtype == np.int64
    assert ds.image_shape == (16, 8) and ds.classes == RES and ds.n_classes == 4 and ds.n_features == 128
    np.testing.assert_array_equal(ds.train.y, ds.train.re)
    np.testing.assert_array_equal(np.asarray(ds.classes, np.float32)[ds.test.labels], ds.test.y)
    assert sorted(np.unique(ds.test.re).tolist()) == list(RES) == sorted(np.unique(ds.val.re).tolist())
    assert ds.dropped == 0
    # Together train, validation and test are every (Re, frame) exactly once.
    parts = (ds.train, ds.val, ds.test)
    pairs = list(zip(np.concatenate([p.re for p in parts]).tolist(),
                     np.concatenate([p.frame for p in parts]).tolist(), strict=True))
    assert len(pairs) == len(set(pairs)) and set(pairs) == {(r, f) for r in RES for f in range(FRAMES)}


def test_values_are_the_cropped_vorticity_of_the_named_frame_bit_for_bit(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir))
    for re in (300.0, 1200.0):
        velocity, _ = load_snapshots(snapshot_path(turbjax_dir, re))
        full = vorticity(velocity, 1.0)[:, 0:16, 4:12]  # whole grid first, crop afterwards
        rows = np.flatnonzero(ds.train.re == re)
        np.testing.assert_array_equal(ds.reshape(ds.train.X[rows]), full[ds.train.frame[rows]])


def test_dataset_protocol(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir))
    assert len(ds) == 29
    x, y = ds[3]
    np.testing.assert_array_equal(x, ds.train.X[3])
    assert y == ds.train.y[3]
    xb, yb = ds[np.array([0, 5])]
    assert xb.shape == (2, 128) and yb.shape == (2,)
    assert ds.reshape(ds.test.X).shape == (12, 16, 8)
    assert "29 train / 7 validation / 12 test samples of 16x8 = 128 features" in ds.summary()
    assert "; validation: random 0.2 of the training side" in ds.summary()


def test_deterministic_per_seed(turbjax_dir):
    a, b = build_dataset(small_config(turbjax_dir)), build_dataset(small_config(turbjax_dir))
    c = build_dataset(small_config(turbjax_dir, seed=1))
    np.testing.assert_array_equal(a.test.X, b.test.X)
    assert not np.array_equal(a.test.frame, c.test.frame) or not np.array_equal(a.test.re, c.test.re)


def test_time_split_reports_the_gap(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir, split="time"))
    # per series of 12: 3 test, a gap of 2, then of the 7 before it 1 validates after another gap of 2
    assert ds.dropped == 16 and len(ds) + len(ds.val.X) + len(ds.test.X) + ds.dropped == 4 * FRAMES
    assert "16 samples dropped in the gaps" in ds.summary()
    for re in RES:
        assert ds.test.frame[ds.test.re == re].min() - ds.val.frame[ds.val.re == re].max() == 3
        assert ds.val.frame[ds.val.re == re].min() - ds.train.frame[ds.train.re == re].max() == 3


def test_heldout_re(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir, split="heldout_re", heldout=(600.0,)))
    assert set(ds.test.re.tolist()) == {600.0} and 600.0 not in set(ds.train.re.tolist())
    assert (ds.test.labels == 1).all() and ds.classes == RES
    # of the training Reynolds numbers 300, 900, 1200 every fourth from the third (1200) validates
    assert set(ds.val.re.tolist()) == {1200.0} and set(ds.train.re.tolist()) == {300.0, 900.0}
    assert len(ds.test.X) == len(ds.val.X) == FRAMES and len(ds) == 2 * FRAMES


def test_stride_downsample(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir, sample_every_steps=20, downsample=2, split="time", gap=0))
    assert ds.image_shape == (8, 4) and ds.train.X.shape[1] == 32
    assert set(np.concatenate([ds.train.frame, ds.val.frame, ds.test.frame]).tolist()) == {0, 2, 4, 6, 8, 10}


def test_forecast_target_stays_in_its_series(turbjax_dir):
    ds = build_dataset(small_config(turbjax_dir, target="forecast", horizon=2, split="time", gap=2))
    assert ds.train.y.shape == ds.train.X.shape and ds.train.y.dtype == np.float32
    assert len(ds) + len(ds.val.X) + len(ds.test.X) + ds.dropped == 4 * (FRAMES - 2)
    for re in RES:
        velocity, _ = load_snapshots(snapshot_path(turbjax_dir, re))
        full = vorticity(velocity, 1.0)[:, 0:16, 4:12].reshape(FRAMES, -1)
        for X, y, r, f in ((p.X, p.y, p.re, p.frame) for p in (ds.train, ds.val, ds.test)):
            rows = r == re
            assert f[rows].max() <= FRAMES - 1 - 2
            np.testing.assert_array_equal(X[rows], full[f[rows]])
            np.testing.assert_array_equal(y[rows], full[f[rows] + 2])


def write_course_files(directory, frames, nx, ny):
    raws = {}
    for i, re in enumerate(RES):
        raw = np.random.default_rng(i).normal(size=(frames, nx, ny, 2)) * 0.05
        raw.dump(directory / COURSE_FILE_TEMPLATE.format(re=re))
        raws[re] = raw
    return raws


def test_course_files_give_the_courses_counts_and_arrays_bit_for_bit(tmp_path):
    raws = write_course_files(tmp_path, 3000, 6, 5)
    cfg = small_config(tmp_path, format="course", trust_pickle=True, vorticity="course", crop_x=(1, 5),
                       crop_y=(0, 3), test_fraction=0.2)
    ds = build_dataset(cfg)
    # the course's 1920 / 480, its training side now split into 1536 train / 384 validation
    assert ds.train.X.shape == (1536, 12) and ds.val.X.shape == (384, 12) and ds.test.X.shape == (480, 12)
    for re, raw in raws.items():
        # The course's pipeline: formula on the whole array, every 5th frame, then the window.
        course = vorticity_course(raw)[::5][:, 1:5, 0:3].astype(np.float32).reshape(600, -1)
        rows = ds.test.re == re
        np.testing.assert_array_equal(ds.test.X[rows], course[ds.test.frame[rows] // 5])
    frames = set(ds.train.frame.tolist()) | set(ds.val.frame.tolist()) | set(ds.test.frame.tolist())
    assert frames == set(range(0, 3000, 5))


def test_course_files_and_converted_files_give_the_same_data(tmp_path):
    src, out = tmp_path / "course", tmp_path / "converted"
    src.mkdir()
    write_course_files(src, 10, 12, 10)
    for re in RES:
        convert_file(data_path(src, re, "course"), out, trust_pickle=True)
    for scheme in ("course", "central"):
        kw = {"vorticity": scheme, "crop_x": (2, 10), "crop_y": (1, 9), "sample_every_steps": 4,
              "split": "time", "gap": 0}  # 5 samples per Re: too few for a random part of each in every set
        a = build_dataset(small_config(src, format="course", trust_pickle=True, **kw))
        b = build_dataset(small_config(out, **kw))
        for part in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(a, part).frame, getattr(b, part).frame)
            np.testing.assert_allclose(getattr(a, part).X, getattr(b, part).X, rtol=0, atol=1e-7)
        assert set(a.train.frame.tolist()) <= set(range(0, 10, 2))


def test_default_crop_gives_4096_features(tmp_path):
    for re in RES:
        v = np.random.default_rng(int(re)).normal(size=(5, 256, 128, 2)).astype(np.float32)
        save_snapshots(snapshot_path(tmp_path, re), v, reynolds=re, dx=1 / 128, dt=1 / 128, frame_stride=10,
                          first_step=0)
    cfg = get_data_config()
    cfg.dir, cfg.split, cfg.gap = str(tmp_path), "time", 0
    for scheme in ("central", "course"):
        cfg.vorticity = scheme
        ds = build_dataset(cfg)
        assert ds.train.X.shape == (12, 4096) and ds.val.X.shape == (4, 4096) and ds.test.X.shape == (4, 4096)
        assert ds.image_shape == (64, 64)


@pytest.mark.slow
def test_seed_size_files_give_the_courses_2400_by_4096(tmp_path):
    for re in RES:
        v = np.random.default_rng(int(re)).normal(size=(600, 256, 128, 2)).astype(np.float32)
        save_snapshots(snapshot_path(tmp_path, re), v, reynolds=re, dx=1 / 128, dt=1 / 128, frame_stride=10,
                          first_step=0)
    cfg = get_data_config()
    cfg.dir = str(tmp_path)
    ds = build_dataset(cfg)
    assert ds.train.X.shape == (1536, 4096) and ds.val.X.shape == (384, 4096)
    assert ds.test.X.shape == (480, 4096)


def test_only_one_files_velocity_is_alive_at_a_time(turbjax_dir, monkeypatch):
    alive = []
    read = snapshots.load_snapshots

    def tracking_read(*args, **kwargs):
        gc.collect()
        assert all(ref() is None for ref in alive), "a previous file's velocity is still in memory"
        velocity, meta = read(*args, **kwargs)
        alive.append(weakref.ref(velocity))
        return velocity, meta

    monkeypatch.setattr(snapshots, "load_snapshots", tracking_read)
    build_dataset(small_config(turbjax_dir))
    assert len(alive) == 4


def test_cropping_before_differencing_equals_cropping_after():
    v = np.random.default_rng(0).normal(size=(3, 10, 9, 2)).astype(np.float32)
    for cx, cy in (((0, 10), (0, 9)), ((0, 1), (8, 9)), ((3, 6), (2, 7)), ((9, 10), (0, 2))):
        np.testing.assert_array_equal(
            wake_vorticity(v, crop_x=cx, crop_y=cy), vorticity(v, 1.0)[:, slice(*cx), slice(*cy)]
        )


def test_missing_files(tmp_path, turbjax_dir):
    assert missing_files(small_config(turbjax_dir)) == []
    assert missing_files(small_config(tmp_path, reynolds=(300.0, 450.0))) == [
        tmp_path / "vortex_street_Re_300.npz", tmp_path / "vortex_street_Re_450.npz"]
    assert missing_files(small_config(tmp_path, format="course", trust_pickle=True, reynolds=(300.0,))) == [
        tmp_path / "vortex_street_velocities_Re_300_largefile.npz"]


def test_default_config_is_valid():
    validate_data_config(get_data_config())


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        ({"format": "hdf5"}, ValueError, r"unknown data format 'hdf5'; expected one of \('turbjax', "
                                         r"'course', 'netcdf'\)"),
        ({"format": "course"}, PermissionError, (r"format='course' reads the course's original files, but it "
                                                r"is a pickle.*trust_pickle=True.*turbjax.data.convert")),
        ({"vorticity": "upwind"}, ValueError, r"unknown vorticity 'upwind'; expected one of \('central', "
                                              r"'course'\)"),
        ({"target": "class"}, ValueError, r"unknown target 'class'; expected one of \('reynolds', "
                                          r"'forecast'\)"),
        ({"split": "kfold"}, ValueError, r"unknown split 'kfold'; expected one of \('random', 'time', "
                                         r"'realization', 'heldout_re', 'external', 'numerics'\)"),
        ({"crop_x": (224, 160)}, ValueError, r"crop_x=\(224, 160\) must satisfy 0 <= start < stop"),
        ({"crop_y": (-2, 10)}, ValueError, r"crop_y=\(-2, 10\) must satisfy 0 <= start < stop"),
        ({"crop_y": (1, 2, 3)}, ValueError, r"crop_y=\(1, 2, 3\) must be a pair of integers"),
        ({"downsample": 3}, ValueError, r"downsample=3 does not divide the crop window 64 x 64"),
        ({"downsample": 0}, ValueError, r"downsample=0 must be an integer >= 1"),
        ({"test_fraction": 1.0}, ValueError, r"test_fraction=1.0 must lie strictly between 0 and 1"),
        ({"test_fraction": 0.0}, ValueError, r"test_fraction=0.0 must lie strictly between 0 and 1"),
        ({"gap": -1}, ValueError, r"gap=-1 must be an integer >= 0"),
        ({"horizon": 0}, ValueError, r"horizon=0 must be an integer >= 1"),
        ({"sample_every_steps": 0}, ValueError, r"sample_every_steps=0 must be an integer >= 1"),
        ({"reynolds": (300.0, -1.0)}, ValueError, r"reynolds=\(300.0, -1.0\) must be a sequence of positive "
                                                  r"numbers"),
        ({"reynolds": (300.0, 300.0)}, ValueError, r"reynolds=\(300.0, 300.0\) contains duplicates"),
        ({"split": "heldout_re", "heldout": (450.0,)}, ValueError,
         r"held-out Reynolds number\(s\) \[450.0\] are not in the data \(which has \[300.0, 600.0, 900.0, "
         r"1200.0\]\)"),
        ({"split": "heldout_re", "heldout": (300.0, 600.0, 900.0, 1200.0)}, ValueError,
         r"holds out every Reynolds number"),
        ({"split": "heldout_re", "heldout": ()}, ValueError,
         r"heldout=\(\) must name at least one held-out Reynolds number"),
        ({"split": "time", "target": "forecast", "horizon": 5, "gap": 2}, ValueError,
         r"gap=2 samples < horizon=5 samples: with the 'time' split and target 'forecast'"),
    ],
)
def test_validate_data_config_errors(overrides, error, message):
    cfg = get_data_config()
    for k, v in overrides.items():
        cfg[k] = v
    with pytest.raises(error, match=message):
        validate_data_config(cfg)


def test_validate_names_a_missing_field():
    cfg = get_data_config()
    del cfg["gap"]
    with pytest.raises(ValueError, match=r"the data config has no field 'gap'"):
        validate_data_config(cfg)


def test_build_errors_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data directory .*absent does not exist; `python -m "
                       r"turbjax.simulate --re 300 600 900 1200 --out .*absent` generates data"):
        build_dataset(small_config(tmp_path / "absent"))


def test_build_errors_crop_outside_the_grid(turbjax_dir):
    with pytest.raises(ValueError, match=r"crop_x=\(0, 30\) lies outside the grid x range \[0, 24\) of the "
                       r"24x16 'central' vorticity grid of a 24x16 velocity grid "
                       r"\(.*vortex_street_Re_300.npz\)"):
        build_dataset(small_config(turbjax_dir, crop_x=(0, 30)))
    with pytest.raises(ValueError, match=r"crop_y=\(4, 16\) lies outside the grid y range \[0, 15\) of the "
                       r"23x15 'course' vorticity grid"):
        build_dataset(small_config(turbjax_dir, crop_y=(4, 16), vorticity="course"))


def test_build_errors_stride_not_divisible(turbjax_dir):
    with pytest.raises(ValueError, match=r"sample_every_steps=15 is not a multiple of the 10 simulation "
                       r"steps between frames of .*vortex_street_Re_300.npz; choose a multiple of 10"):
        build_dataset(small_config(turbjax_dir, sample_every_steps=15))


def test_build_errors_forecast_horizon_too_long(turbjax_dir):
    with pytest.raises(ValueError, match=r"gives 12 samples, too few for forecast horizon=12"):
        build_dataset(small_config(turbjax_dir, target="forecast", horizon=12))


def test_build_errors_mismatched_files(tmp_path):
    v = np.zeros((4, 8, 6, 2), np.float32)
    save_snapshots(snapshot_path(tmp_path, 300), v, reynolds=300, dx=1, dt=1, frame_stride=10, first_step=0)
    save_snapshots(snapshot_path(tmp_path, 600), v, reynolds=650, dx=1, dt=1, frame_stride=10, first_step=0)
    kw = {"reynolds": (300.0, 600.0), "crop_x": (0, 4), "crop_y": (0, 4), "split": "time", "gap": 0}
    with pytest.raises(ValueError, match=r"vortex_street_Re_600.npz says reynolds=650 but its name is for Re "
                                         r"600"):
        build_dataset(small_config(tmp_path, **kw))
    save_snapshots(snapshot_path(tmp_path, 600), v[:, :7], reynolds=600, dx=1, dt=1, frame_stride=10,
                      first_step=0)
    with pytest.raises(ValueError, match=r"vortex_street_Re_600.npz has a 7x6 grid but the files before it "
                                         r"have 8x6"):
        build_dataset(small_config(tmp_path, **kw))


def test_validate_checks_the_crop_against_a_given_grid():
    cfg = get_data_config()
    validate_data_config(cfg, grid=(256, 128))
    cfg.vorticity = "course"
    validate_data_config(cfg, grid=(256, 128))
    with pytest.raises(ValueError, match=r"crop_x=\(160, 224\) lies outside the grid x range \[0, 199\) of "
                       r"the 199x99 'course' vorticity grid of a 200x100 velocity grid"):
        validate_data_config(cfg, grid=(200, 100))


def test_header_errors_come_before_any_data_is_read(tmp_path, monkeypatch):
    for re in RES:
        v = np.zeros((3, 8, 6, 2), np.float32)
        save_snapshots(snapshot_path(tmp_path, re), v, reynolds=re, dx=1, dt=1, frame_stride=10, first_step=0)

    def no_read(*args, **kwargs):
        raise AssertionError("data was read before the configuration errors were found")

    monkeypatch.setattr(snapshots, "load_snapshots", no_read)
    kw = {"crop_x": (0, 4), "crop_y": (0, 4), "test_fraction": 0.1}
    with pytest.raises(ValueError, match=r"the 'random' split leaves no test sample for Reynolds number"):
        build_dataset(small_config(tmp_path, **kw))
    with pytest.raises(ValueError, match=r"crop_x=\(0, 9\) lies outside the grid"):
        build_dataset(small_config(tmp_path, **{**kw, "crop_x": (0, 9)}))
    with pytest.raises(ValueError, match=r"sample_every_steps=25 is not a multiple"):
        build_dataset(small_config(tmp_path, **{**kw, "sample_every_steps": 25}))


def test_image_shape_for_config():
    from turbjax.data.dataset import image_shape_for

    assert image_shape_for(get_data_config()) == (64, 64)
    cfg = get_data_config()
    cfg.downsample = 4
    assert image_shape_for(cfg) == (16, 16)


@given(x0=st.integers(0, 11), wx=st.integers(1, 12), y0=st.integers(0, 8), wy=st.integers(1, 9),
       scheme=st.sampled_from(["central", "course"]), components=st.sampled_from(["ux,uy", "-ux,uy"]))
@settings(max_examples=60, deadline=None)
def test_cropping_before_differencing_is_bit_for_bit_any_window(x0, wx, y0, wy, scheme, components):
    v = np.random.default_rng(0).normal(size=(2, 12, 9, 2))
    gx, gy = (12, 9) if scheme == "central" else (11, 8)
    cx, cy = (min(x0, gx - 1), min(x0 + wx, gx)), (min(y0, gy - 1), min(y0 + wy, gy))
    if components == "-ux,uy":
        full = vorticity_course(v) if scheme == "course" else vorticity(v * np.array([-1.0, 1.0]), 1.0)
    else:
        full = vorticity(v, 1.0) if scheme == "central" else vorticity_course(v * np.array([-1.0, 1.0]))
    expected = full[:, slice(*cx), slice(*cy)].astype(np.float32)
    got = wake_vorticity(v, components=components, crop_x=cx, crop_y=cy, scheme=scheme)
    np.testing.assert_array_equal(got, expected)
