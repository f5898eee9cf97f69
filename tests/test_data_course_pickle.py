"""The course's pickled files (opt-in, restricted reader), reading either format, shape/NaN checks."""

import pickle

import numpy as np
import pytest

from turbjax.data import course_pickle as cp
from turbjax.data.discovery import (
    COURSE_FILE_TEMPLATE,
    available_reynolds,
    course_reynolds,
    data_path,
    find_data_files,
    missing_data_files,
    read_velocity,
)
from turbjax.data.series import frame_stride_for
from turbjax.data.snapshots import check_velocity, save_snapshots, snapshot_path


def course_raw(frames=20, nx=16, ny=12, seed=0):
    return np.random.default_rng(seed).normal(size=(frames, nx, ny, 2)) * 0.05


def write_course(directory, re, raw):
    path = directory / COURSE_FILE_TEMPLATE.format(re=re)
    raw.dump(path)  # exactly how the course wrote its files
    return path


def test_course_file_round_trip_with_opt_in(tmp_path):
    raw = course_raw()
    path = write_course(tmp_path, 600, raw)
    assert path.name == "vortex_street_velocities_Re_600_largefile.npz"
    loaded = cp.load_course_velocity(path, trust_pickle=True)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, raw)
    _velocity, meta = read_velocity(path, "course", trust_pickle=True)
    assert meta["reynolds"] == 600 and meta["frame_stride"] == 2 and meta["first_step"] == 42000
    assert meta["components"] == "-ux,uy"


def test_course_file_refused_without_opt_in(tmp_path):
    path = write_course(tmp_path, 300, course_raw(frames=2))
    with pytest.raises(PermissionError, match=r"refusing to read the course file .*Re_300_largefile.npz: it "
                       r"is a pickle, and loading a pickle can run arbitrary code.*trust_pickle=True.*"
                       r"python -m turbjax.data.convert --trust-pickle"):
        cp.load_course_velocity(path)
    with pytest.raises(PermissionError, match="refusing to read the course file"):
        read_velocity(path, "course")


class Evil:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_restricted_unpickler_rejects_anything_but_arrays(tmp_path, capsys):
    path = tmp_path / COURSE_FILE_TEMPLATE.format(re=300)
    path.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(ValueError, match=r"cannot read the course file .*refusing to load global "
                                         r"(__builtin__|builtins).print"):
        cp.load_course_velocity(path, trust_pickle=True)
    assert "would have run" not in capsys.readouterr().out


def test_course_reader_rejects_non_pickles_and_non_arrays(tmp_path):
    path = tmp_path / COURSE_FILE_TEMPLATE.format(re=300)
    np.savez(path, velocity=np.zeros(3))
    with pytest.raises(ValueError, match=r"is not a course file .* it looks like a zip/.npz "
                                         r"archive.*format='turbjax'"):
        cp.load_course_velocity(path, trust_pickle=True)
    path.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(TypeError, match=r"holds a list, expected a numpy array"):
        cp.load_course_velocity(path, trust_pickle=True)
    with pytest.raises(FileNotFoundError, match=r"no course data file at .*Re_900_largefile.npz"):
        cp.load_course_velocity(tmp_path / COURSE_FILE_TEMPLATE.format(re=900), trust_pickle=True)


def test_find_data_files_names_missing_dir_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data directory .*nowhere does not exist; `python -m "
                       r"turbjax.simulate --re 300 600 900 1200 --out .*nowhere` generates data"):
        find_data_files(tmp_path / "nowhere", (300.0,))
    v = np.zeros((2, 4, 3, 2), np.float32)
    save_snapshots(snapshot_path(tmp_path, 300), v, reynolds=300, dx=1, dt=1, frame_stride=10, first_step=0)
    assert missing_data_files(tmp_path, (300.0, 600.0)) == [tmp_path / "vortex_street_Re_600.npz"]
    with pytest.raises(FileNotFoundError, match=r"missing 1 'turbjax' data file\(s\): "
                       r".*vortex_street_Re_600.npz; `python -m turbjax.simulate"):
        find_data_files(tmp_path, (300.0, 600.0))
    assert find_data_files(tmp_path, (300,)) == {(300.0, -1): tmp_path / "vortex_street_Re_300.npz"}
    assert available_reynolds(tmp_path) == [300.0]
    with pytest.raises(ValueError, match=r"unknown data format 'hdf5'; expected one of \('turbjax', "
                                         r"'course', 'netcdf'\)"):
        data_path(tmp_path, 300, "hdf5")


def test_course_directory_listing_and_names(tmp_path):
    for re in (1200, 300):
        write_course(tmp_path, re, course_raw(frames=1, nx=3, ny=3))
    assert available_reynolds(tmp_path, "course") == [300.0, 1200.0]
    assert course_reynolds("x/vortex_street_velocities_Re_1200_largefile.npz") == 1200.0
    with pytest.raises(ValueError,
                       match=r"cannot read a Reynolds number from the file name 'velocities.npz'"):
        course_reynolds("velocities.npz")
    with pytest.raises(FileNotFoundError, match=r"missing 1 'course' data file\(s\).*put the course's files "
                                                r"there"):
        find_data_files(tmp_path, (300, 600), "course")


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((4, 5, 3), np.float32), r"velocity has shape \(4, 5, 3\), expected \(time, nx, ny, 2\)"),
        (np.zeros((0, 5, 3, 2), np.float32), r"velocity has shape \(0, 5, 3, 2\)"),
        (np.zeros((4, 5, 3, 2), np.int32), r"velocity has dtype int32, expected float32 or float64"),
    ],
)
def test_check_velocity_shape_and_dtype(array, message):
    with pytest.raises(ValueError, match=message):
        check_velocity(array, "f.npz")


def test_check_velocity_reports_nonfinite_frames_with_count_and_location():
    v = np.zeros((30, 4, 3, 2))
    v[3, 1, 1, 0] = np.nan
    v[17, 0, 0, 1] = np.inf
    with pytest.raises(ValueError, match=r"run7.npz: 2 of 30 frames contain NaN or inf \(frames 3, 17\); the "
                       r"simulation diverged or the file is corrupt"):
        check_velocity(v, "run7.npz")


def test_nonfinite_course_file_is_reported_on_read(tmp_path):
    raw = course_raw(frames=5)
    raw[4, 2, 2, 1] = np.nan
    path = write_course(tmp_path, 900, raw)
    with pytest.raises(ValueError, match=r"Re_900_largefile.npz: 1 of 5 frames contain NaN or inf \(frames "
                                         r"4\)"):
        read_velocity(path, "course", trust_pickle=True)


def test_frame_stride_conversion():
    assert frame_stride_for(10, 2) == 5  # course files: 2 steps per frame
    assert frame_stride_for(10, 10) == 1  # turbjax seed files
    with pytest.raises(ValueError, match=r"sample_every_steps=7 is not a multiple of the 2 simulation steps "
                       r"between frames of a.npz; choose a multiple of 2"):
        frame_stride_for(7, 2, "a.npz")
    with pytest.raises(ValueError, match=r"sample_every_steps=0 must be a positive number of steps"):
        frame_stride_for(0, 2)
    # on the reference clock a frame spacing may be fractional; a sample spacing is a whole number of frames
    assert frame_stride_for(12.8, 6.4) == 2
    with pytest.raises(ValueError, match=r"sample_every_steps=10 is not a multiple of the 6.4 simulation"):
        frame_stride_for(10, 6.4)


def test_turbjax_reader_checks_shape(tmp_path):
    path = tmp_path / "vortex_street_Re_300.npz"
    np.savez(path, velocity=np.zeros((2, 3, 4), np.float32), reynolds=300.0, dx=1.0, dt=1.0, frame_stride=10,
             first_step=0, generator="x", version="0")
    with pytest.raises(ValueError, match=r"velocity has shape \(2, 3, 4\), expected"):
        read_velocity(path)


@pytest.mark.parametrize("chunk_bytes", [997, 4096, 1 << 23])
@pytest.mark.parametrize(("stride", "x", "y"), [(1, slice(None), slice(None)), (5, slice(3, 9), slice(0, 4)),
                                               (7, slice(15, 16), slice(2, 12))])
def test_streamed_read_strides_and_crops_exactly(tmp_path, chunk_bytes, stride, x, y):
    raw = course_raw(frames=40)  # 120 kB of data: above STREAM_MIN_BYTES, so it is streamed
    path = write_course(tmp_path, 300, raw)
    header = cp.course_header(path, trust_pickle=True)
    assert header.data is None and header.shape == raw.shape and header.dtype == np.float64
    assert header.length > raw.nbytes  # latin1-as-UTF-8: bytes >= 0x80 take two
    out = cp.read_course_frames(path, trust_pickle=True, stride=stride, x=x, y=y, chunk_bytes=chunk_bytes)
    np.testing.assert_array_equal(out, raw[::stride, x, y])


def test_small_course_file_is_read_with_its_header(tmp_path):
    raw = course_raw(frames=3, nx=4, ny=3)
    path = write_course(tmp_path, 300, raw)
    assert cp.course_header(path, trust_pickle=True).data is not None
    np.testing.assert_array_equal(cp.read_course_frames(path, trust_pickle=True, stride=2), raw[::2])
    np.testing.assert_array_equal(cp.load_course_velocity(path, trust_pickle=True), raw)


def test_fortran_ordered_course_file(tmp_path):
    raw = np.asfortranarray(course_raw(frames=40))
    path = write_course(tmp_path, 300, raw)
    assert cp.course_header(path, trust_pickle=True).fortran
    np.testing.assert_array_equal(cp.load_course_velocity(path, trust_pickle=True), raw)


def test_streamed_read_reports_nonfinite_frames_it_skips_too(tmp_path):
    raw = course_raw(frames=40)
    raw[3, 0, 0, 0] = np.inf  # not a kept frame with stride 5, still reported
    raw[20, 15, 11, 1] = np.nan
    path = write_course(tmp_path, 300, raw)
    with pytest.raises(ValueError, match=r"Re_300_largefile.npz: 2 of 40 frames contain NaN or inf \(frames "
                                         r"3, 20\)"):
        cp.read_course_frames(path, trust_pickle=True, stride=5, chunk_bytes=5000)


def test_truncated_course_file(tmp_path):
    path = write_course(tmp_path, 300, course_raw(frames=40))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read the course file .*Re_300_largefile.npz"):
        cp.read_course_frames(path, trust_pickle=True)


def test_course_file_with_wrong_shape_or_dtype_is_refused_before_its_data_is_read(tmp_path):
    path = write_course(tmp_path, 300, course_raw(frames=40)[..., 0])
    with pytest.raises(ValueError, match=r"velocity has shape \(40, 16, 12\), expected \(time, nx, ny, 2\)"):
        cp.read_course_frames(path, trust_pickle=True)
    path = write_course(tmp_path, 300, (course_raw(frames=40) * 100).astype(np.int64))
    with pytest.raises(ValueError, match=r"velocity has dtype int64, expected float32 or float64"):
        cp.read_course_frames(path, trust_pickle=True)
