"""Which data files a directory holds, and reading one file of either format.

Two formats (FORMATS):
  "turbjax"  turbjax's .npz files (`turbjax.data.snapshots`): `vortex_street_Re_{re:g}.npz` for the plain run
             (realization -1) and `vortex_street_Re_{re:g}_r{k}.npz` for realization k of an ensemble;
  "course"   the course's pickled files `vortex_street_velocities_Re_{re:g}_largefile.npz`
             (`turbjax.data.course_pickle`; plain runs only).
A series is one file: its key is (reynolds, realization).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from turbjax.data import course_pickle, snapshots
from turbjax.data.snapshots import GENERATE_HINT, snapshot_path

FORMATS = ("turbjax", "course")
COURSE_FILE_TEMPLATE = "vortex_street_velocities_Re_{re:g}_largefile.npz"
COURSE_FILE_PATTERN = re.compile(r"vortex_street_velocities_Re_([0-9.eE+-]+)_largefile\.npz$")
TURBJAX_FILE_PATTERN = re.compile(r"vortex_street_Re_([0-9.eE+-]+?)(?:_r([0-9]+))?\.npz$")
PLAIN = -1  # the realization index of a plain (unperturbed) run


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown data format {fmt!r}; expected one of {FORMATS}")


def data_path(directory: str | os.PathLike, reynolds: float, fmt: str = "turbjax",
              realization: int = PLAIN) -> Path:
    """The file holding (reynolds, realization) in `directory` for format "turbjax" or "course"."""
    _check_format(fmt)
    if fmt == "turbjax":
        return snapshot_path(directory, reynolds, realization)
    if realization != PLAIN:
        raise ValueError(f"the course's files have no realizations (asked for realization {realization}); "
                         f"set realizations=() with format='course'")
    return Path(directory) / COURSE_FILE_TEMPLATE.format(re=float(reynolds))


def series_keys(reynolds, realizations=()) -> list[tuple[float, int]]:
    """(Re, realization) of every file: the plain files for realizations=(), else each Re x each k."""
    ks = tuple(int(k) for k in realizations) or (PLAIN,)
    return [(float(r), k) for r in reynolds for k in ks]


def missing_data_files(directory: str | os.PathLike, reynolds, fmt: str = "turbjax",
                       realizations=()) -> list[Path]:
    """The expected files that do not exist, in the order of `reynolds` (then `realizations`)."""
    paths = (data_path(directory, r, fmt, k) for r, k in series_keys(reynolds, realizations))
    return [p for p in paths if not p.is_file()]


def find_data_files(directory: str | os.PathLike, reynolds, fmt: str = "turbjax",
                    realizations=()) -> dict[tuple[float, int], Path]:
    """{(Re, realization): path} for every requested file; a clear error naming the directory or missing
    files."""
    directory = Path(directory)
    hint = GENERATE_HINT.format(dir=directory)
    if fmt == "course":
        hint = f"put the course's files there, or {hint} in turbjax's format (and set format='turbjax')"
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist; {hint}")
    missing = missing_data_files(directory, reynolds, fmt, realizations)
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise FileNotFoundError(f"missing {len(missing)} {fmt!r} data file(s): {names}; {hint}")
    return {(r, k): data_path(directory, r, fmt, k) for r, k in series_keys(reynolds, realizations)}


def available_series(directory: str | os.PathLike, fmt: str = "turbjax") -> list[tuple[float, int]]:
    """Sorted (Re, realization) of every file of format `fmt` in `directory` (parsed from the file names)."""
    _check_format(fmt)
    pattern = TURBJAX_FILE_PATTERN if fmt == "turbjax" else COURSE_FILE_PATTERN
    found = []
    for p in Path(directory).iterdir():
        m = pattern.match(p.name)
        if m:
            try:
                re_value = float(m.group(1))
            except ValueError:
                continue
            k = int(m.group(2)) if fmt == "turbjax" and m.group(2) is not None else PLAIN
            found.append((re_value, k))
    return sorted(found)


def available_reynolds(directory: str | os.PathLike, fmt: str = "turbjax", realizations=()) -> list[float]:
    """Sorted Reynolds numbers with at least one of the selected files (plain files for realizations=())."""
    wanted = {int(k) for k in realizations} or {PLAIN}
    return sorted({r for r, k in available_series(directory, fmt) if k in wanted})


def course_reynolds(path: str | os.PathLike) -> float:
    """The Reynolds number in a course file name `vortex_street_velocities_Re_{Re}_largefile.npz`."""
    m = COURSE_FILE_PATTERN.match(Path(path).name)
    if not m:
        raise ValueError(
            f"cannot read a Reynolds number from the file name {Path(path).name!r}; expected "
            f"{COURSE_FILE_TEMPLATE.format(re=300)!r} (the course's naming)"
        )
    return float(m.group(1))


def course_metadata(path: str | os.PathLike) -> dict:
    """A course file's metadata: the known constants of the course's run, in the turbjax reader's keys."""
    meta = {
        "reynolds": course_reynolds(path),
        "dx": course_pickle.COURSE_DX,
        "dt": course_pickle.COURSE_DT,
        "frame_stride": course_pickle.COURSE_FRAME_STRIDE,
        "first_step": course_pickle.COURSE_FIRST_STEP,
        "generator": "course",
        "version": "",
        "components": "-ux,uy",
    }
    return meta | {k: v for k, v in snapshots.OPTIONAL_KEYS.items() if k != "grid_shape"}


def read_velocity(path: str | os.PathLike, fmt: str = "turbjax", *, trust_pickle: bool = False,
                  check: bool = True) -> tuple[object, dict]:
    """(velocity, metadata) of one file. Components are as stored: (ux, uy) for "turbjax", (-ux, uy) for
    "course" (metadata["components"] says which). Course metadata is the known constants of the course's
    run."""
    _check_format(fmt)
    path = Path(path)
    if fmt == "turbjax":
        velocity, meta = snapshots.load_snapshots(path)
        meta["components"] = "ux,uy"
    else:
        velocity = course_pickle.load_course_velocity(path, trust_pickle=trust_pickle)
        meta = course_metadata(path) | {"grid_shape": tuple(velocity.shape[1:3])}
    if check:
        snapshots.check_velocity(velocity, path)
    return velocity, meta
