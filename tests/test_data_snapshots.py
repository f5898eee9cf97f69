"""Damaged files: a truncated turbjax .npz or course pickle gives one line naming the file (and, for the
pickle, the bytes expected and found), and build_dataset finds it at header time, before reading any data."""

import numpy as np
import pytest

from configs.default import get_data_config
from turbjax.data import snapshots
from turbjax.data.course_pickle import course_header, read_course_frames
from turbjax.data.dataset import build_dataset
from turbjax.data.discovery import COURSE_FILE_TEMPLATE
from turbjax.data.snapshots import load_snapshots, save_snapshots, snapshot_header, snapshot_path

RES = (300.0, 600.0)


def write(directory, re, frames=6):
    v = np.random.default_rng(int(re)).normal(size=(frames, 12, 10, 2)).astype(np.float32)
    return save_snapshots(snapshot_path(directory, re), v, reynolds=re, dx=1, dt=1, frame_stride=10,
                          first_step=0,
                          probe_uy=np.zeros(60), probe_xy=(0.1, 0.2))


def truncate(path, keep):
    data = path.read_bytes()
    path.write_bytes(data[: keep if keep >= 0 else len(data) + keep])
    return len(data)


@pytest.mark.parametrize("keep", [100, 0.5, -30])  # bytes kept: the start, half, all but the zip's end record
def test_truncated_turbjax_file_is_one_line_naming_it(tmp_path, keep):
    path = write(tmp_path, 600)
    size = path.stat().st_size
    truncate(path, int(size * keep) if isinstance(keep, float) else keep)
    for read in (load_snapshots, snapshot_header):
        with pytest.raises(ValueError, match=r"vortex_street_Re_600.npz is damaged or truncated \(.*\); "
                           r"regenerate it with `python -m turbjax.simulate --re RE --out ") as info:
            read(path)
        assert "\n" not in str(info.value)


def test_corrupt_velocity_bytes_are_found_by_the_header_check(tmp_path):
    """The zip's central directory intact but the velocity member cut short: the size check catches it."""
    import zipfile

    path = write(tmp_path, 300)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["velocity.npy"] = members["velocity.npy"][:-400]
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ValueError, match=r"Re_300.npz is damaged or truncated \(.*velocity.npy holds \d+ "
                       r"bytes, its header \(6, 12, 10, 2\) float32 needs \d+\)"):
        snapshot_header(path)


def test_build_dataset_reports_a_damaged_file_before_reading_data(tmp_path, monkeypatch):
    for re in RES:
        write(tmp_path, re)
    truncate(snapshot_path(tmp_path, 600), 5000)

    def no_read(*args, **kwargs):
        raise AssertionError("data was read before the damaged file was found")

    monkeypatch.setattr(snapshots, "load_snapshots", no_read)
    cfg = get_data_config()
    cfg.dir, cfg.reynolds, cfg.crop_x, cfg.crop_y, cfg.test_fraction = str(tmp_path), RES, (0, 8), (0, 8), 0.5
    with pytest.raises(ValueError, match=r"vortex_street_Re_600.npz is damaged or truncated"):
        build_dataset(cfg)


def test_a_pickle_named_as_a_turbjax_file(tmp_path):
    path = snapshot_path(tmp_path, 300)
    np.zeros((2, 3, 3, 2)).dump(path)
    with pytest.raises(ValueError, match=r"Re_300.npz is a pickle, not a turbjax .npz file; for the course's "
                       r"files use format='course'"):
        snapshot_header(path)


# streamed data (> 64 kB) and data small enough to read with the header
@pytest.mark.parametrize("frames", [40, 2])
def test_truncated_course_pickle_says_bytes_expected_and_found(tmp_path, frames):
    path = tmp_path / COURSE_FILE_TEMPLATE.format(re=300)
    np.random.default_rng(0).normal(size=(frames, 16, 12, 2)).dump(path)
    size = truncate(path, -1000 if frames == 40 else -100)
    found = size - (1000 if frames == 40 else 100)
    with pytest.raises(ValueError, match=r"cannot read the course file .*Re_300_largefile.npz: it is "
                       r"truncated: its array data needs (\d+) bytes \(plus a few closing ones\), the file "
                       rf"has {found}; copy the file again") as info:
        read_course_frames(path, trust_pickle=True)
    import re

    needed = int(re.search(r"needs (\d+) bytes", str(info.value)).group(1))
    assert found < needed < size
    with pytest.raises(ValueError, match="it is truncated"):
        course_header(path, trust_pickle=True)


def test_course_pickle_cut_after_its_data(tmp_path):
    """Only the closing opcodes missing: the pickle ends early; the message says so and gives the size."""
    path = tmp_path / COURSE_FILE_TEMPLATE.format(re=300)
    np.zeros((40, 16, 12, 2)).dump(path)
    size = truncate(path, -3)
    with pytest.raises(ValueError, match=r"it is truncated: the pickle ends early, after all of the file's "
                       rf"{size - 3} bytes were read; copy the file again"):
        course_header(path, trust_pickle=True)
