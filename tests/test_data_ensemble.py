"""Many Reynolds numbers and realizations (the ensemble contract's files), stored windows, and the splits that
cannot leak, on small synthetic files with the contract's keys."""

import numpy as np
import pytest

from configs.default import get_data_config
from turbjax.data.config import validate_data_config
from turbjax.data.dataset import build_dataset, missing_files
from turbjax.data.discovery import available_reynolds, available_series
from turbjax.data.snapshots import load_snapshots, save_snapshots, snapshot_path
from turbjax.data.synthetic import vortex_street_velocity

NX, NY, FRAMES, STRIDE = 24, 16, 12, 10
PERIOD = 40.0  # shedding period written into the files, in steps


def write_series(directory, re, k=-1, *, origin=(0, 0), window=None, period=PERIOD, probe_period=None,
                 first_step=1000):
    """One contract file: the full NX x NY field of (re, k), stored as the window from `origin` of shape
    `window` (default: the full grid). Returns the full-grid velocity."""
    v = vortex_street_velocity(re, nx=NX, ny=NY, frames=FRAMES, dx=1 / 16, seed=int(re) + 7 * (k + 1))
    wx, wy = window or (NX, NY)
    stored = v[:, origin[0] : origin[0] + wx, origin[1] : origin[1] + wy]
    extra = {"realization": k, "perturbation_seed": 100 + k, "perturbation_amplitude": 1e-3 * (k >= 0),
             "origin": origin, "grid_shape": (NX, NY), "shedding_period_steps": period}
    probe = None
    if probe_period is not None:
        probe = np.sin(2 * np.pi * np.arange(FRAMES * STRIDE) / probe_period)
    save_snapshots(snapshot_path(directory, re, k), stored, reynolds=re, dx=1 / 16, dt=1 / 16,
                   frame_stride=STRIDE,
                   first_step=first_step, probe_uy=probe, probe_xy=(0.5, 0.5), extra=extra)
    return v


def config(directory, **overrides):
    cfg = get_data_config()
    cfg.dir, cfg.crop_x, cfg.crop_y, cfg.test_fraction, cfg.gap = str(directory), (8, 16), (4, 12), 0.25, 0
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


@pytest.fixture(scope="module")
def ensemble(tmp_path_factory):
    d = tmp_path_factory.mktemp("ensemble")
    for re in (300.0, 450.0, 600.0, 750.0, 900.0):  # five: held-out Re splits validate on a held-out one
        for k in (0, 1, 2):
            write_series(d, re, k)
    write_series(d, 300.0)  # a plain run too
    return d


def test_discovery_lists_every_series(ensemble):
    assert len(available_series(ensemble)) == 16 and (450.0, 2) in available_series(ensemble)
    assert available_reynolds(ensemble) == [300.0]
    assert available_reynolds(ensemble, realizations=(1,)) == [300.0, 450.0, 600.0, 750.0, 900.0]


def test_every_reynolds_number_and_realization_found(ensemble):
    ds = build_dataset(config(ensemble, reynolds=(), realizations=(0, 1, 2), split="time"))
    assert ds.classes == (300.0, 450.0, 600.0, 750.0, 900.0)
    n = 5 * 3 * FRAMES
    assert len(ds) + len(ds.val.X) + len(ds.test.X) + ds.dropped == n
    keys = {(r, k, f) for sub in (ds.train, ds.val, ds.test)
            for r, k, f in zip(sub.re.tolist(), sub.realization.tolist(), sub.frame.tolist(), strict=True)}
    assert len(keys) == n and {k for _, k, _ in keys} == {0, 1, 2}
    # realizations=(): the plain files only
    plain = build_dataset(config(ensemble, reynolds=(), split="time"))
    assert plain.classes == (300.0,) and set(plain.train.realization.tolist()) == {-1}


def test_excluded_and_missing(ensemble, tmp_path):
    ds = build_dataset(config(ensemble, reynolds=(), realizations=(0,), exclude_reynolds=(450.0, 750.0),
                              split="time"))
    assert ds.classes == (300.0, 600.0, 900.0)
    assert missing_files(config(ensemble, reynolds=(300.0, 1050.0), realizations=(0, 5))) == [
        snapshot_path(ensemble, 300.0, 5), snapshot_path(ensemble, 1050.0, 0),
        snapshot_path(ensemble, 1050.0, 5)]
    with pytest.raises(FileNotFoundError, match=r"missing 1 'turbjax' data file\(s\): "
                                                r".*vortex_street_Re_450_r3.npz"):
        build_dataset(config(ensemble, reynolds=(450.0,), realizations=(3,)))
    with pytest.raises(ValueError, match=r"no 'turbjax' data files for realizations=\(7,\) in .*; `python -m "
                       r"turbjax.simulate"):
        build_dataset(config(ensemble, reynolds=(), realizations=(7,)))


def test_old_files_read_with_the_contract_defaults(tmp_path):
    v = np.zeros((2, 4, 3, 2), np.float32)
    save_snapshots(snapshot_path(tmp_path, 300), v, reynolds=300, dx=1, dt=1, frame_stride=10, first_step=0)
    _, meta = load_snapshots(snapshot_path(tmp_path, 300))
    assert (meta["realization"] == -1 and meta["perturbation_seed"] == -1
            and meta["perturbation_amplitude"] == 0)
    assert (meta["origin"] == (0, 0) and meta["grid_shape"] == (4, 3)
            and np.isnan(meta["shedding_period_steps"]))
    with pytest.raises(ValueError, match=r"extra key 'seed' is not one of the format's optional keys"):
        save_snapshots(snapshot_path(tmp_path, 600), v, reynolds=600, dx=1, dt=1, frame_stride=10,
                       first_step=0,
                       extra={"seed": 3})
    assert not snapshot_path(tmp_path, 600).exists()


def test_stored_window_gives_the_full_grids_numbers_bit_for_bit(tmp_path):
    full, part = tmp_path / "full", tmp_path / "part"
    for re in (300.0, 600.0):
        write_series(full, re, 0)
        write_series(part, re, 0, origin=(5, 1), window=(14, 14))  # x [5, 19), y [1, 15)
    for scheme, crop_x, crop_y in (("central", (8, 16), (4, 12)), ("course", (6, 17), (2, 13))):
        kw = {"reynolds": (300.0, 600.0), "realizations": (0,), "vorticity": scheme, "crop_x": crop_x,
              "crop_y": crop_y, "downsample": 1, "split": "time"}
        a, b = build_dataset(config(full, **kw)), build_dataset(config(part, **kw))
        for side in ("train", "val", "test"):
            np.testing.assert_array_equal(getattr(a, side).X, getattr(b, side).X)
    with pytest.raises(ValueError, match=r"needs velocity cells x \[2, 14\) .* stores only x \[5, 19\) "
                       r"y \[1, 15\); choose crop_x, crop_y \(full-grid coordinates\) "
                       r"inside the stored window"):
        build_dataset(config(part, reynolds=(300.0,), realizations=(0,), crop_x=(4, 12), split="time"))


def _keys(sub):
    return set(zip(sub.re.tolist(), sub.realization.tolist(), sub.step.tolist(), strict=True))


def _no_leak(ds, gap_steps=0):
    """Train, validation and test are disjoint in (Re, realization, step), and within each series every
    validation sample is at least `gap_steps` after every train sample and every test sample at least
    `gap_steps` after every validation (and train) sample."""
    train, val, test = _keys(ds.train), _keys(ds.val), _keys(ds.test)
    assert not train & test and not train & val and not val & test
    for early, late in ((train, test), (train, val), (val, test)):
        for r, k in {(r, k) for r, k, _ in late}:
            before = [s for rr, kk, s in early if (rr, kk) == (r, k)]
            after = [s for rr, kk, s in late if (rr, kk) == (r, k)]
            if before:
                assert min(after) - max(before) >= gap_steps


@pytest.mark.parametrize(("unit", "gap", "steps"),
                         [("samples", 2, 30), ("steps", 25, 25), ("periods", 1, PERIOD)])
def test_time_split_gap_units(ensemble, unit, gap, steps):
    ds = build_dataset(config(ensemble, reynolds=(300.0, 600.0), realizations=(0, 1), split="time", gap=gap,
                              gap_unit=unit))
    _no_leak(ds, steps)
    # per series of 12: 3 test (0.25), a gap, then the last round(0.2 n) of the n before it validate after
    # another gap; samples 10 steps apart: 25 steps drop 2, 40 drop 3
    gap_samples = {"samples": 2, "steps": 2, "periods": 3}[unit]
    side = FRAMES - 3 - gap_samples
    n_val = round(0.2 * side)
    assert ds.dropped == 4 * 2 * gap_samples and len(ds.val.X) == 4 * n_val
    assert len(ds) == 4 * (side - n_val - gap_samples)
    assert "after a gap of" in ds.summary() and unit in ds.description


def test_period_from_the_probe_when_the_file_has_none(tmp_path):
    for re in (300.0, 600.0):
        write_series(tmp_path, re, 0, period=np.nan, probe_period=11.0)
    ds = build_dataset(config(tmp_path, reynolds=(), realizations=(0,), split="time", gap=2,
                              gap_unit="periods"))
    _no_leak(ds, 22)
    # 22 steps: the 2 samples 10 and 20 steps before the first test sample, and again before validation
    assert ds.dropped == 2 * (2 + 2)
    assert "periods of 11-11 steps" in ds.description


def test_realization_split(ensemble):
    ds = build_dataset(config(ensemble, reynolds=(), realizations=(0, 1, 2), split="realization",
                              train_realizations=(0,), val_realizations=(2,)))
    assert set(ds.train.realization.tolist()) == {0} and set(ds.test.realization.tolist()) == {1}
    assert set(ds.val.realization.tolist()) == {2} and len(ds.val.X) == len(ds.test.X) == 5 * FRAMES
    assert ds.dropped == 0
    _no_leak(ds)
    assert "independent realizations [1]" in ds.summary()
    assert "validation: independent realizations [2]" in ds.summary()


def test_heldout_reynolds_numbers_in_a_heldout_time_window(ensemble):
    kw = {"reynolds": (), "realizations": (0, 1), "split": "heldout_re", "heldout": (450.0, 750.0)}
    plain = build_dataset(config(ensemble, **kw))
    assert set(plain.test.re.tolist()) == {450.0, 750.0} and set(plain.train.re.tolist()) == {300.0, 600.0}
    assert set(plain.val.re.tolist()) == {900.0}  # of the training 300, 600, 900: every fourth from the third
    ds = build_dataset(config(ensemble, **kw, heldout_time=True, gap=30, gap_unit="steps"))
    assert set(ds.test.re.tolist()) == {450.0, 750.0} and set(ds.train.re.tolist()) == {300.0, 600.0}
    # Test and validation: only the held-out series' last 3 samples; train: only the others' samples >= 30
    # steps earlier.
    assert len(ds.test.X) == 4 * 3 and len(ds.val.X) == 2 * 3 and len(ds) == 4 * (FRAMES - 3 - 2)
    first_test_step = ds.test.step.min()
    assert ds.train.step.max() <= first_test_step - 30 and ds.val.step.min() == first_test_step
    assert len(ds) + len(ds.val.X) + len(ds.test.X) + ds.dropped == 10 * FRAMES
    assert "never seen in training, only their last 0.25" in ds.description


def test_external_split(ensemble, tmp_path):
    for re in (450.0, 600.0):
        write_series(tmp_path, re)
    cfg = config(ensemble, reynolds=(), realizations=(0, 1, 2), exclude_reynolds=(450.0, 600.0),
                 split="external",
                 test_dir=str(tmp_path))
    ds = build_dataset(cfg)
    assert set(ds.train.re.tolist()) == {300.0, 750.0} and set(ds.test.re.tolist()) == {450.0, 600.0}
    assert set(ds.val.re.tolist()) == {900.0} and len(ds.val.X) == 3 * FRAMES
    assert len(ds.test.X) == 2 * FRAMES and len(ds) == 2 * 3 * FRAMES
    assert ds.classes == (300.0, 450.0, 600.0, 750.0, 900.0)
    np.testing.assert_array_equal(np.asarray(ds.classes, np.float32)[ds.test.labels], ds.test.re)
    assert f"every frame of {tmp_path}" in ds.summary()
    one = build_dataset(config(
        ensemble, reynolds=(), realizations=(0,), exclude_reynolds=(450.0, 600.0), split="external",
        test_dir=str(tmp_path), test_reynolds=(600.0,)))
    assert set(one.test.re.tolist()) == {600.0}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"realizations": (0, -1)}, r"realizations=\(0, -1\) must be a tuple of realization indices k >= 0"),
        ({"realizations": (1, 1)}, r"realizations=\(1, 1\) contains duplicates"),
        ({"gap_unit": "seconds"}, r"unknown gap_unit 'seconds'; expected one of \('samples', 'steps', "
                                  r"'periods'\)"),
        ({"features": "wavelets"}, r"unknown features 'wavelets'; expected one of \('pixels', 'fft2'"),
        ({"heldout_time": 1}, r"heldout_time=1 must be True or False"),
        ({"remove_mean": "yes"}, r"remove_mean='yes' must be True or False"),
        ({"exclude_reynolds": (300.0, 600.0, 900.0, 1200.0)},
         r"exclude_reynolds=.* removes every Reynolds number"),
        ({"exclude_reynolds": ("a",)}, r"exclude_reynolds=\('a',\) must be a sequence of positive numbers"),
        ({"test_reynolds": (0.0,)}, r"test_reynolds=\(0.0,\) must be a sequence of positive numbers"),
        ({"split": "realization", "realizations": (0, 1), "train_realizations": (0, 1)},
         r"train_realizations=\(0, 1\) and val_realizations=\(\) must be non-empty, disjoint and leave at "
         r"least one of realizations=\(0, 1\) to test on"),
        ({"split": "realization", "realizations": (0, 1, 2), "val_realizations": (1,)},
         r"train_realizations=\(0, 1\) and val_realizations=\(1,\) must be non-empty, disjoint"),
        ({"split": "realization"}, r"train_realizations=\(0, 1\) and val_realizations=\(\) must be "
                                   r"non-empty, disjoint and leave at least one of realizations=\(\)"),
        ({"val_fraction": 1.0}, r"val_fraction=1.0 must lie strictly between 0 and 1"),
        ({"val_every": 1}, r"val_every=1 must be an integer >= 2"),
        ({"split": "external"}, r"split='external' tests on all frames of data.test_dir: set "
                                r"--config.data.test_dir"),
        ({"format": "course", "trust_pickle": True, "realizations": (0,)},
         r"the course's files have no realizations"),
        ({"target": "forecast", "features": "fft2"}, r"features='fft2' with target 'forecast'"),
        ({"split": "time", "target": "forecast", "gap_unit": "steps", "gap": 100},
         r"gap=100 steps < horizon=1 samples"),
    ],
)
def test_validate_new_fields(overrides, message):
    # a plain dict: ConfigDict's type safety would refuse some of these first
    cfg = get_data_config().to_dict()
    for key, value in overrides.items():
        cfg[key] = value
    with pytest.raises(ValueError, match=message):
        validate_data_config(cfg)


def test_default_config_keeps_todays_behaviour():
    cfg = get_data_config()
    assert cfg.realizations == () and cfg.features == "pixels" and cfg.gap_unit == "samples" and cfg.gap == 10
    assert cfg.reynolds == (300.0, 600.0, 900.0, 1200.0) and cfg.split == "random"
