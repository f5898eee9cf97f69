"""Which data files a directory holds, and reading one file, in any registered format.

Each function looks up the format's reader (`turbjax.data.readers`) and delegates to it; the formats, their
file names and what they can hold are there. A series is one file: its key is (reynolds, realization), with
realization PLAIN (-1) for a plain run and k >= 0 for realization k of an ensemble.
"""

from __future__ import annotations

import os
from pathlib import Path

from turbjax.data import readers
from turbjax.data.readers import PLAIN, SIMULATOR_FORMAT, reader
from turbjax.data.readers.course import (  # noqa: F401 (the course's names, re-exported)
    COURSE_FILE_PATTERN,
    COURSE_FILE_TEMPLATE,
    course_metadata,
    course_reynolds,
)
from turbjax.data.readers.turbjax_npz import TURBJAX_FILE_PATTERN  # noqa: F401 (re-exported)
from turbjax.data.snapshots import GENERATE_HINT  # noqa: F401 (re-exported: the data set's hint)


def __getattr__(name: str):
    if name == "FORMATS":  # the registered formats, read from the table when asked
        return readers.FORMATS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_path(directory: str | os.PathLike, reynolds: float, fmt: str = SIMULATOR_FORMAT,
              realization: int = PLAIN) -> Path:
    """The file holding (reynolds, realization) in `directory` for format `fmt`."""
    return reader(fmt).path(directory, reynolds, realization)


def series_keys(reynolds, realizations=()) -> list[tuple[float, int]]:
    """(Re, realization) of every file: the plain files for realizations=(), else each Re x each k."""
    ks = tuple(int(k) for k in realizations) or (PLAIN,)
    return [(float(r), k) for r in reynolds for k in ks]


def missing_series(directory: str | os.PathLike, reynolds, fmt: str = SIMULATOR_FORMAT,
                   realizations=()) -> list[tuple[float, int]]:
    """The (Re, realization) keys whose files do not exist, in the order of `reynolds` (then
    `realizations`)."""
    return [(r, k) for r, k in series_keys(reynolds, realizations)
            if not data_path(directory, r, fmt, k).is_file()]


def missing_data_files(directory: str | os.PathLike, reynolds, fmt: str = SIMULATOR_FORMAT,
                       realizations=()) -> list[Path]:
    """The expected files that do not exist, in the order of `reynolds` (then `realizations`)."""
    missing = missing_series(directory, reynolds, fmt, realizations)
    return [data_path(directory, r, fmt, k) for r, k in missing]


def find_data_files(directory: str | os.PathLike, reynolds, fmt: str = SIMULATOR_FORMAT,
                    realizations=()) -> dict[tuple[float, int], Path]:
    """{(Re, realization): path} for every requested file; a clear error naming the directory or missing
    files."""
    directory = Path(directory)
    hint = reader(fmt).missing_hint(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist; {hint}")
    missing = missing_data_files(directory, reynolds, fmt, realizations)
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise FileNotFoundError(f"missing {len(missing)} {fmt!r} data file(s): {names}; {hint}")
    return {(r, k): data_path(directory, r, fmt, k) for r, k in series_keys(reynolds, realizations)}


def available_series(directory: str | os.PathLike, fmt: str = SIMULATOR_FORMAT) -> list[tuple[float, int]]:
    """Sorted (Re, realization) of every file of format `fmt` in `directory` (parsed from the file names)."""
    return reader(fmt).series(directory)


def available_reynolds(directory: str | os.PathLike, fmt: str = SIMULATOR_FORMAT,
                       realizations=()) -> list[float]:
    """Sorted Reynolds numbers with at least one of the selected files (plain files for realizations=())."""
    wanted = {int(k) for k in realizations} or {PLAIN}
    return sorted({r for r, k in available_series(directory, fmt) if k in wanted})


def detect_format(directory: str | os.PathLike, prefer: str) -> str:
    """The data format of the files in `directory`, from their names (plain runs or realizations); `prefer`
    (the run's format) when several formats are there (and say so)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist; pass an existing --data")
    found = [name for name, r in readers.READERS.items() if r.series(directory)]
    if not found:
        expected = " or ".join(f"{r.file_template.format(re=300)} ({r.label})"
                               for r in readers.READERS.values())
        raise FileNotFoundError(f"{directory} holds no data files: expected {expected} per Reynolds number")
    if len(found) == 1:
        return found[0]
    kinds = "both formats" if len(found) == 2 else f"{len(found)} formats ({', '.join(found)})"
    print(f"turbjax: {directory} holds files of {kinds}; using {prefer!r} (--format to choose)", flush=True)
    return prefer


def file_format(path: str | os.PathLike) -> str | None:
    """The registered format of one file: the one whose file names match its name, else the one whose
    suffixes its suffix is (a netCDF file of any name); None if none."""
    path = Path(path)
    for name, r in readers.READERS.items():
        if r.pattern.match(path.name):
            return name
    for name, r in readers.READERS.items():
        if path.suffix and path.suffix in r.suffixes:
            return name
    return None


def read_velocity(path: str | os.PathLike, fmt: str = SIMULATOR_FORMAT, *, trust_pickle: bool = False,
                  check: bool = True) -> tuple[object, dict]:
    """(velocity, metadata) of one file, components as stored (metadata["components"]: "ux,uy" or "-ux,uy");
    `check`: shape, dtype and finite values."""
    return reader(fmt).read_velocity(Path(path), trust_pickle=trust_pickle, check=check)
