"""File IO: data directories, the course's pickled files (opt-in, restricted), validation errors."""

import pickle

import numpy as np
import pytest

from turbjax.data import io


def course_raw(frames=20, nx=16, ny=12, seed=0):
    return np.random.default_rng(seed).normal(size=(frames, nx, ny, 2)) * 0.05


def write_course(directory, re, raw):
    path = directory / io.COURSE_FILE_TEMPLATE.format(re=re)
    raw.dump(path)  # exactly how the course wrote its files
    return path


def test_course_file_round_trip_with_opt_in(tmp_path):
    raw = course_raw()
    path = write_course(tmp_path, 600, raw)
    assert path.name == "vortex_street_velocities_Re_600_largefile.npz"
    loaded = io.load_course_velocity(path, trust_pickle=True)
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, raw)
    _velocity, meta = io.read_velocity(path, "course", trust_pickle=True)
    assert meta["reynolds"] == 600 and meta["frame_stride"] == 2 and meta["first_step"] == 42000
    assert meta["layout"] == "-ux,uy"


def test_course_file_refused_without_opt_in(tmp_path):
    path = write_course(tmp_path, 300, course_raw(frames=2))
    with pytest.raises(PermissionError, match=r"refusing to read the course file .*Re_300_largefile.npz: it is a "
                       r"pickle, and loading a pickle can run arbitrary code.*trust_pickle=True.*"
                       r"python -m turbjax.data.convert --trust-pickle"):
        io.load_course_velocity(path)
    with pytest.raises(PermissionError, match="refusing to read the course file"):
        io.read_velocity(path, "course")


class Evil:
    def __reduce__(self):
        return (print, ("this would have run",))


def test_restricted_unpickler_rejects_anything_but_arrays(tmp_path, capsys):
    path = tmp_path / io.COURSE_FILE_TEMPLATE.format(re=300)
    path.write_bytes(pickle.dumps(Evil(), protocol=2))
    with pytest.raises(ValueError, match=r"cannot read the course file .*refusing to load global (__builtin__|builtins).print"):
        io.load_course_velocity(path, trust_pickle=True)
    assert "would have run" not in capsys.readouterr().out


def test_course_reader_rejects_non_pickles_and_non_arrays(tmp_path):
    path = tmp_path / io.COURSE_FILE_TEMPLATE.format(re=300)
    np.savez(path, velocity=np.zeros(3))
    with pytest.raises(ValueError, match=r"is not a course file .* it looks like a zip/.npz archive.*format='turbjax'"):
        io.load_course_velocity(path, trust_pickle=True)
    path.write_bytes(pickle.dumps([1, 2], protocol=2))
    with pytest.raises(TypeError, match=r"holds a list, expected a numpy array"):
        io.load_course_velocity(path, trust_pickle=True)
    with pytest.raises(FileNotFoundError, match=r"no course data file at .*Re_900_largefile.npz"):
        io.load_course_velocity(tmp_path / io.COURSE_FILE_TEMPLATE.format(re=900), trust_pickle=True)


def test_find_data_files_names_missing_dir_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data directory .*nowhere does not exist; `python -m turbjax.simulate "
                       r"--re 300 600 900 1200 --out .*nowhere` generates data"):
        io.find_data_files(tmp_path / "nowhere", (300.0,))
    v = np.zeros((2, 4, 3, 2), np.float32)
    io.save_snapshots(io.snapshot_path(tmp_path, 300), v, reynolds=300, dx=1, dt=1, frame_stride=10, first_step=0)
    assert io.missing_data_files(tmp_path, (300.0, 600.0)) == [tmp_path / "vortex_street_Re_600.npz"]
    with pytest.raises(FileNotFoundError, match=r"missing 1 'turbjax' data file\(s\): .*vortex_street_Re_600.npz; "
                       r"`python -m turbjax.simulate"):
        io.find_data_files(tmp_path, (300.0, 600.0))
    assert io.find_data_files(tmp_path, (300,)) == {300.0: tmp_path / "vortex_street_Re_300.npz"}
    assert io.available_reynolds(tmp_path) == [300.0]
    with pytest.raises(ValueError, match=r"unknown data format 'hdf5'; expected one of \('turbjax', 'course'\)"):
        io.data_path(tmp_path, 300, "hdf5")


def test_course_directory_listing_and_names(tmp_path):
    for re in (1200, 300):
        write_course(tmp_path, re, course_raw(frames=1, nx=3, ny=3))
    assert io.available_reynolds(tmp_path, "course") == [300.0, 1200.0]
    assert io.course_reynolds("x/vortex_street_velocities_Re_1200_largefile.npz") == 1200.0
    with pytest.raises(ValueError, match=r"cannot read a Reynolds number from the file name 'velocities.npz'"):
        io.course_reynolds("velocities.npz")
    with pytest.raises(FileNotFoundError, match=r"missing 1 'course' data file\(s\).*put the course's files there"):
        io.find_data_files(tmp_path, (300, 600), "course")


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
        io.check_velocity(array, "f.npz")


def test_check_velocity_reports_nonfinite_frames_with_count_and_location():
    v = np.zeros((30, 4, 3, 2))
    v[3, 1, 1, 0] = np.nan
    v[17, 0, 0, 1] = np.inf
    with pytest.raises(ValueError, match=r"run7.npz: 2 of 30 frames contain NaN or inf \(frames 3, 17\); the "
                       r"simulation diverged or the file is corrupt"):
        io.check_velocity(v, "run7.npz")


def test_nonfinite_course_file_is_reported_on_read(tmp_path):
    raw = course_raw(frames=5)
    raw[4, 2, 2, 1] = np.nan
    path = write_course(tmp_path, 900, raw)
    with pytest.raises(ValueError, match=r"Re_900_largefile.npz: 1 of 5 frames contain NaN or inf \(frames 4\)"):
        io.read_velocity(path, "course", trust_pickle=True)


def test_frame_stride_conversion():
    assert io.frame_stride_for(10, 2) == 5  # course files: 2 steps per frame
    assert io.frame_stride_for(10, 10) == 1  # turbjax seed files
    with pytest.raises(ValueError, match=r"sample_every_steps=7 is not a multiple of the 2 simulation steps between "
                       r"frames of a.npz; choose a multiple of 2"):
        io.frame_stride_for(7, 2, "a.npz")
    with pytest.raises(ValueError, match=r"sample_every_steps=0 must be a positive integer"):
        io.frame_stride_for(0, 2)


def test_turbjax_reader_checks_shape(tmp_path):
    path = tmp_path / "vortex_street_Re_300.npz"
    np.savez(path, velocity=np.zeros((2, 3, 4), np.float32), reynolds=300.0, dx=1.0, dt=1.0, frame_stride=10,
             first_step=0, generator="x", version="0")
    with pytest.raises(ValueError, match=r"velocity has shape \(2, 3, 4\), expected"):
        io.read_velocity(path)
