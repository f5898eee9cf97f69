"""Shared building blocks of config validation: one clear ValueError per bad value.

Each config section is checked by the module that owns it; these helpers keep the messages alike.
"""

from __future__ import annotations

import difflib
import math
import os
from pathlib import Path

import numpy as np


def fail(msg: str):
    raise ValueError(msg)


def closest(name: str, known) -> str | None:
    """The known name closest to a mistyped one, or None."""
    hint = difflib.get_close_matches(name, list(known), n=1)
    return hint[0] if hint else None


def did_you_mean(name: str, known) -> str:
    """' (did you mean 'x'?)' for the closest known name, or ''."""
    hint = closest(name, known)
    return f" (did you mean {hint!r}?)" if hint else ""


def number(value, name: str, *, low=None, high=None, low_open=False, integer=False) -> float:
    """A finite number (an int if `integer`) within [low, high] (low excluded if `low_open`)."""
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type or not math.isfinite(float(value)):
        fail(f"{name}={value!r} must be a finite {'integer' if integer else 'number'}")
    v = float(value)
    if low is not None and (v <= low if low_open else v < low):
        fail(f"{name}={value!r} must be {'>' if low_open else '>='} {low}; set e.g. --{name}=...")
    if high is not None and v > high:
        fail(f"{name}={value!r} must be <= {high}")
    return v


def positive_int(value, name: str, minimum: int = 1) -> int:
    """An int (not a bool) >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        fail(f"{name}={value!r} must be an integer >= {minimum}")
    return int(value)


def window(value, name: str, where: str = "on the vorticity grid") -> tuple[int, int]:
    """A half-open window (start, stop) of ints with 0 <= start < stop."""
    if (
        isinstance(value, str)
        or not hasattr(value, "__len__")
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)
    ):
        fail(f"{name}={value!r} must be a pair of integers (start, stop) {where}")
    start, stop = int(value[0]), int(value[1])
    if not 0 <= start < stop:
        fail(f"{name}=({start}, {stop}) must satisfy 0 <= start < stop (a half-open window)")
    return start, stop


def output_dir(path, flag: str) -> Path:
    """A directory a job may write into: `path` itself, or its nearest existing ancestor, must be a writable
    directory (missing ones are created later). One line naming the path and what to do, before any long
    work."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        fail(f"{flag}={path} is a file, not a directory; give a directory (it is created if missing)")
    existing = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        fail(f"{flag}={path} lies under {existing}, which is a file, not a directory; give a directory path")
    if not os.access(existing, os.W_OK | os.X_OK):
        fail(f"{flag}={path}: {existing} is not writable; give a directory you can write to")
    return path


def output_file(path, flag: str) -> Path:
    """A file a job may write: not a directory, in a directory that exists (or can be made) and is
    writable. One line naming the path and what to do, before any long work."""
    path = Path(path)
    if path.is_dir():
        fail(f"{flag}={path} is a directory; give a file name")
    output_dir(path.parent if str(path.parent) else ".", flag)
    return path
