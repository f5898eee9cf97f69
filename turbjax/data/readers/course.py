"""The course's original files: `vortex_street_velocities_Re_{re:g}_largefile.npz`, each a pickled float64
array (T, nx, ny, 2) of components (-ux, uy) written by `ndarray.dump` (plain runs only). Read with
`turbjax.data.course_pickle`: parsed, never executed, streamed (only the kept frames' cells are in memory),
and only with trust_pickle=True. The metadata is the known constants of the course's run."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from turbjax.data import course_pickle, snapshots
from turbjax.data.readers.base import Reader, name_pattern
from turbjax.data.units import REFERENCE

COURSE_FILE_TEMPLATE = "vortex_street_velocities_Re_{re:g}_largefile.npz"
COURSE_FILE_PATTERN = name_pattern(COURSE_FILE_TEMPLATE)


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
        # the course's run is the seed preset's: the reference grid, with its own time step
        "units": dataclasses.replace(REFERENCE, dt=course_pickle.COURSE_DT),
    }
    return meta | {k: v for k, v in snapshots.OPTIONAL_KEYS.items() if k != "grid_shape"}


class CoursePickle(Reader):
    """The course's pickles (no probe: gap_unit='periods' is refused)."""

    name = "course"
    label = "the course's"
    file_template = COURSE_FILE_TEMPLATE
    trust_hint = course_pickle.PICKLE_HINT

    def header(self, path, trust_pickle=False):
        header = course_pickle.course_header(path, trust_pickle=trust_pickle)
        meta = course_metadata(path) | {"grid_shape": tuple(header.shape[1:3])}
        return header.shape, header.dtype, meta

    def read_velocity(self, path, trust_pickle=False, check=True):
        path = Path(path)
        velocity = course_pickle.load_course_velocity(path, trust_pickle=trust_pickle)
        meta = course_metadata(path) | {"grid_shape": tuple(velocity.shape[1:3])}
        if check:
            snapshots.check_velocity(velocity, path)
        return velocity, meta

    def read_frames(self, path, *, stride=1, x=slice(None), y=slice(None), trust_pickle=False):
        """Streamed: only the kept frames' cells are ever in memory (every frame is checked for NaN/inf)."""
        return course_pickle.read_course_frames(path, trust_pickle=trust_pickle, stride=stride, x=x, y=y)
