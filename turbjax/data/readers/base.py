"""The reader interface: what every data format provides, with defaults a small format can keep.

A reader is one format's knowledge of its files: how they are named (and so which (Re, realization) series a
directory holds), reading one file's header without its frames, a window of its frames, or all of it.
Velocity comes back as stored, (T, wx, wy, 2) with metadata["components"] saying which ("ux,uy" or
"-ux,uy"); metadata uses turbjax's keys (`turbjax.data.snapshots`), so the rest of the pipeline never asks
which format a file had; its "units" (`turbjax.data.units.FlowUnits`) say where the grid sits and what its
numbers mean.
"""

from __future__ import annotations

import abc
import os
import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from turbjax.checks import fail
from turbjax.data.snapshots import GENERATE_HINT
from turbjax.data.vorticity import stored_cells

PLAIN = -1  # the realization index of a plain (unperturbed) run
# What `Reader.header` returns besides shape and dtype: the keys the pipeline reads.
HEADER_KEYS = ("components", "grid_shape", "origin", "frame_stride", "first_step", "realization", "reynolds",
               "shedding_period_steps", "units")


def name_pattern(template: str) -> re.Pattern:
    """The regex of the file names `template` makes ("{re:g}": the Reynolds number, group 1)."""
    head, tail = template.split("{re:g}")
    return re.compile(re.escape(head) + r"([0-9.eE+-]+)" + re.escape(tail) + "$")


def _cells(s: slice, n: int, name: str, path) -> slice:
    start, stop, step = s.indices(n)
    if step != 1:
        fail(f"{path}: the {name} cells {s} must be a contiguous slice (step 1)")
    return slice(start, max(start, stop))


class Reader(abc.ABC):
    """One data format. Subclasses set the class attributes and implement `header` and `read_velocity`;
    the defaults name files by `file_template` (plain runs only), read a window by reading the whole file,
    and refuse gap_unit='periods'."""

    name: ClassVar[str]  # the config's data.format value
    label: ClassVar[str]  # whose files, in messages: "{label} files"
    file_template: ClassVar[str]  # a plain run's file name; "{re:g}" is the Reynolds number
    realizations: ClassVar[bool] = False  # files can hold an ensemble's realizations (_r{k})
    simulated: ClassVar[bool] = False  # the built-in simulator writes this format (generates missing files)
    trust_hint: ClassVar[str] = ""  # non-empty: reading can run code (a pickle); why it is refused, {src}
    suffixes: ClassVar[tuple[str, ...]] = ()  # a single file of any name with one of these is this format

    @property
    def needs_trust(self) -> bool:
        """Reading is refused unless trust_pickle=True."""
        return bool(self.trust_hint)

    @property
    def pattern(self) -> re.Pattern:
        """File names of this format: group 1 the Reynolds number, an optional group 2 the realization."""
        return name_pattern(self.file_template)

    def path(self, directory: str | os.PathLike, reynolds: float, realization: int = PLAIN) -> Path:
        """The file of (reynolds, realization) in `directory`."""
        if realization != PLAIN:
            fail(f"{self.label} files have no realizations (asked for realization {realization}); set "
                 f"realizations=() with format={self.name!r}")
        return Path(directory) / self.file_template.format(re=float(reynolds))

    def series(self, directory: str | os.PathLike) -> list[tuple[float, int]]:
        """Sorted (Re, realization) of this format's files in `directory`, from their names (others
        ignored)."""
        found = []
        for p in Path(directory).iterdir():
            m = self.pattern.match(p.name)
            if not m:
                continue
            try:
                re_value = float(m.group(1))
            except ValueError:
                continue
            k = m.group(2) if m.re.groups >= 2 else None
            found.append((re_value, PLAIN if k is None else int(k)))
        return sorted(found)

    def missing_hint(self, directory: str | os.PathLike) -> str:
        """What to do about missing files in `directory`."""
        hint = GENERATE_HINT.format(dir=directory)
        if self.simulated:
            return hint
        return f"put {self.label} files there, or {hint} in turbjax's format (and set format='turbjax')"

    @abc.abstractmethod
    def header(self, path: Path, trust_pickle: bool = False) -> tuple[tuple[int, ...], np.dtype, dict]:
        """(velocity shape, dtype, metadata with HEADER_KEYS) without reading any frame."""

    @abc.abstractmethod
    def read_velocity(self, path: Path, trust_pickle: bool = False, check: bool = True) -> tuple[np.ndarray,
                                                                                                dict]:
        """(velocity (T, wx, wy, 2) as stored, metadata with HEADER_KEYS) of the whole file; `check`: shape,
        dtype and finite values (`snapshots.check_velocity`)."""

    def read_frames(self, path: Path, *, stride: int = 1, x: slice = slice(None), y: slice = slice(None),
                    trust_pickle: bool = False) -> np.ndarray:
        """Frames 0, stride, 2 stride, ... of the full-grid cells [x, y]: (T', |x|, |y|, 2), as stored.

        This default reads the whole file (checked) and copies the block out, relative to the stored window's
        `origin`; an error names the cells if the file does not store them."""
        velocity, meta = self.read_velocity(path, trust_pickle=trust_pickle, check=True)
        nx, ny = (int(g) for g in meta["grid_shape"])
        xs = _cells(x, nx, "x", path)
        ys = _cells(y, ny, "y", path)
        xs, ys = stored_cells(xs, ys, meta["origin"], velocity.shape[1:3], str(path))
        return np.array(velocity[:: int(stride), xs, ys])

    def period_steps(self, path: Path, meta: dict, n_frames: int) -> float:
        """The shedding period in simulation steps (for gap_unit='periods'), from the header's metadata."""
        fail(f"{path}: {self.label} files have no probe to find the shedding period; use gap_unit='steps'")
