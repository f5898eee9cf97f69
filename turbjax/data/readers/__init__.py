"""The data formats, each behind the small `Reader` interface (`readers.base`), registered in `READERS`.

    reader(fmt)                        the Reader of data.format `fmt` (unknown: one ValueError naming it)
    r.path(dir, re, realization)       the file of one series
    r.series(dir)                      sorted (Re, realization) of the files there, from their names
    r.header(path, trust_pickle)       (shape, dtype, metadata) without reading a frame
    r.read_frames(path, stride=, x=, y=, trust_pickle=)   a window of full-grid cells, every stride-th frame
    r.read_velocity(path, trust_pickle, check)            the whole file
    r.period_steps(path, meta, n_frames)                  the shedding period (gap_unit='periods')
    r.realizations, r.simulated, r.needs_trust / r.trust_hint, r.missing_hint(dir), r.label, r.file_template

Adding a format is one module (a `Reader` subclass) and one entry in the tuple below. Everything else
(discovery, the config check, the data set) looks the format up here when it is called, so `FORMATS` and
`reader` always follow the table.
"""

from __future__ import annotations

from turbjax.checks import did_you_mean, fail
from turbjax.data.readers.base import PLAIN, Reader
from turbjax.data.readers.course import CoursePickle
from turbjax.data.readers.netcdf import NetCDF
from turbjax.data.readers.turbjax_npz import TurbjaxNpz

__all__ = ["FORMATS", "PLAIN", "READERS", "SIMULATOR_FORMAT", "Reader", "reader"]

READERS: dict[str, Reader] = {reader.name: reader for reader in (TurbjaxNpz(), CoursePickle(), NetCDF())}
SIMULATOR_FORMAT = TurbjaxNpz.name  # the format the built-in simulator writes


def __getattr__(name: str):
    # FORMATS is computed from the table on each access, so a format registered later (a test's) is in it.
    if name == "FORMATS":
        return tuple(READERS)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def reader(fmt: str) -> Reader:
    """The Reader registered for data.format `fmt`; an unknown name is one ValueError listing the known."""
    if not isinstance(fmt, str) or fmt not in READERS:
        known = tuple(READERS)
        fail(f"unknown data format {fmt!r}; expected one of {known}"
             + (did_you_mean(fmt, known) if isinstance(fmt, str) else ""))
    return READERS[fmt]
