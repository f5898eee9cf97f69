"""The one-time converter: course pickle -> turbjax .npz, and its command line."""

import numpy as np
import pytest

from turbjax.data.convert import convert_file, course_files, main
from turbjax.data.discovery import COURSE_FILE_TEMPLATE, available_reynolds
from turbjax.data.snapshots import load_snapshots
from turbjax.data.vorticity import vorticity_course, vorticity_forward


def write_course(directory, re, frames=30, seed=0):
    raw = np.random.default_rng(seed).normal(size=(frames, 16, 12, 2)) * 0.05
    path = directory / COURSE_FILE_TEMPLATE.format(re=re)
    raw.dump(path)
    return path, raw


def test_round_trip_course_file_to_turbjax_file(tmp_path):
    src, raw = write_course(tmp_path, 900)
    out = convert_file(src, tmp_path / "out", trust_pickle=True)
    assert out == tmp_path / "out" / "vortex_street_Re_900.npz"
    velocity, meta = load_snapshots(out)
    assert velocity.dtype == np.float32 and velocity.shape == raw.shape
    # Stored as (ux, uy): component 0 negated, then rounded to float32.
    np.testing.assert_array_equal(velocity[..., 0], (-raw[..., 0]).astype(np.float32))
    np.testing.assert_array_equal(velocity[..., 1], raw[..., 1].astype(np.float32))
    assert meta["reynolds"] == 900.0 and meta["frame_stride"] == 2 and meta["first_step"] == 42000
    assert meta["dx"] == 1 / 128 and meta["dt"] == 1 / 128 and meta["generator"] == "course"
    # The course's vorticity from the converted file equals the original's to float32 rounding: 4 rounded
    # inputs and 3 float32 operations, each off by at most eps/2 of a value <= 4 max|raw|.
    bound = 7 * np.finfo(np.float32).eps / 2 * 4 * np.abs(raw).max()
    np.testing.assert_allclose(vorticity_forward(velocity), vorticity_course(raw), rtol=0, atol=bound)


def test_command_line_converts_a_directory(tmp_path, capsys):
    for i, re in enumerate((300, 1200)):
        write_course(tmp_path, re, frames=3, seed=i)
    assert main(["--trust-pickle", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert available_reynolds(tmp_path / "out") == [300.0, 1200.0]
    assert "vortex_street_Re_1200.npz" in capsys.readouterr().out


def test_command_line_refuses_without_trust_pickle(tmp_path, capsys):
    src, _ = write_course(tmp_path, 300, frames=2)
    with pytest.raises(SystemExit) as exc:
        main([str(src), "--out", str(tmp_path / "out")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "loading a pickle can run arbitrary code; pass --trust-pickle" in err
    assert not (tmp_path / "out").exists()


def test_command_line_errors_name_the_path(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--trust-pickle", str(tmp_path / "nope.npz"), "--out", str(tmp_path)])
    assert "no such file or directory: " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--trust-pickle", str(tmp_path), "--out", str(tmp_path / "out")])
    assert "no course files ('vortex_street_velocities_Re_300_largefile.npz' etc.) in directory" in (
        capsys.readouterr().err)


def test_course_files_needs_reynolds_in_the_name(tmp_path):
    bad = tmp_path / "velocities.npz"
    bad.write_bytes(b"x")
    with pytest.raises(ValueError, match="cannot read a Reynolds number from the file name 'velocities.npz'"):
        course_files([bad])


def test_python_api_refuses_without_trust_pickle(tmp_path):
    src, _ = write_course(tmp_path, 300, frames=2)
    with pytest.raises(PermissionError, match="refusing to read the course file"):
        convert_file(src, tmp_path / "out")


def test_nonfinite_frames_are_not_converted(tmp_path):
    src, raw = write_course(tmp_path, 300, frames=40)
    raw[7, 1, 1, 1] = np.nan
    raw.dump(src)
    with pytest.raises(ValueError, match=r"1 of 40 frames contain NaN or inf \(frames 7\)"):
        convert_file(src, tmp_path / "out", trust_pickle=True)
    assert not (tmp_path / "out" / "vortex_street_Re_300.npz").exists()
