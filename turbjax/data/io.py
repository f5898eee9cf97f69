"""turbjax's own snapshot format: one `.npz` per Reynolds number, no pickles.

Each file holds
  velocity     float32 (time, nx, ny, 2), components (ux, uy), x index first
  reynolds     float64 scalar
  dx, dt       float64 scalars (physical cell size and time step)
  frame_stride int64 scalar: simulation steps between consecutive frames
  first_step   int64 scalar: simulation step of frame 0
  generator    str, version str
and optionally `probe_uy` (steps,) with `probe_xy` (2,) physical position of the probe.
"""

from __future__ import annotations

import _codecs
import os
import pickle
import re
from pathlib import Path

import numpy as np

import turbjax

FILE_TEMPLATE = "vortex_street_Re_{re:g}.npz"
REQUIRED_KEYS = ("velocity", "reynolds", "dx", "dt", "frame_stride", "first_step", "generator", "version")


def snapshot_path(directory: str | os.PathLike, reynolds: float) -> Path:
    return Path(directory) / FILE_TEMPLATE.format(re=float(reynolds))


def save_snapshots(
    path: str | os.PathLike,
    velocity: np.ndarray,
    *,
    reynolds: float,
    dx: float,
    dt: float,
    frame_stride: int,
    first_step: int,
    generator: str = "turbjax.simulate",
    probe_uy: np.ndarray | None = None,
    probe_xy: tuple[float, float] | None = None,
) -> Path:
    """Write one Reynolds number's frames; atomic (temp file + rename) so a crash never leaves half a file."""
    velocity = np.asarray(velocity)
    if velocity.ndim != 4 or velocity.shape[-1] != 2:
        raise ValueError(f"velocity must be shaped (time, nx, ny, 2), got {velocity.shape}")
    if not np.isfinite(velocity).all():
        bad = np.argwhere(~np.isfinite(velocity).all(axis=(1, 2, 3))).ravel()
        raise ValueError(
            f"refusing to write {path}: {bad.size} frame(s) contain NaN or inf (first at frame {bad[0]})"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {
        "velocity": velocity.astype(np.float32),
        "reynolds": np.float64(reynolds),
        "dx": np.float64(dx),
        "dt": np.float64(dt),
        "frame_stride": np.int64(frame_stride),
        "first_step": np.int64(first_step),
        "generator": np.str_(generator),
        "version": np.str_(turbjax.__version__),
    }
    if probe_uy is not None:
        arrays["probe_uy"] = np.asarray(probe_uy, dtype=np.float32)
        arrays["probe_xy"] = np.asarray(probe_xy if probe_xy is not None else (np.nan, np.nan), np.float64)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load_snapshots(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a turbjax file: (velocity float32 (T, nx, ny, 2), metadata dict). Never unpickles."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no snapshot file at {path}; generate data with "
            f"`python -m turbjax.simulate --re 300 600 900 1200 --out {path.parent}`"
        )
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in REQUIRED_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} is not a turbjax snapshot file: missing keys {missing}")
        velocity = f["velocity"]
        meta = {k: f[k].item() for k in REQUIRED_KEYS if k != "velocity"}
        for k in ("probe_uy", "probe_xy"):
            if k in f.files:
                meta[k] = f[k]
    return velocity, meta


# --------------------------------------------------------------------------------------------------------------
# Data directories, the course's pickled files, validation.

FORMATS = ("turbjax", "course")
COURSE_FILE_TEMPLATE = "vortex_street_velocities_Re_{re:g}_largefile.npz"
COURSE_FILE_PATTERN = re.compile(r"vortex_street_velocities_Re_([0-9.eE+-]+)_largefile\.npz$")
# The course's files: every 2nd step of the last 6000 of a 48000-step run, components (-ux, uy), float64.
COURSE_FRAME_STRIDE = 2
COURSE_FIRST_STEP = 42000
COURSE_DX = 1.0 / 128
COURSE_DT = 1.0 / 128
COURSE_SHAPE = (3000, 256, 128, 2)
GENERATE_HINT = "`python -m turbjax.simulate --re 300 600 900 1200 --out {dir}` generates data"
PICKLE_HINT = (
    "it is a pickle, and loading a pickle can run arbitrary code. If you trust the file, opt in with "
    "trust_pickle=True (config: --config.data.trust_pickle=True), or convert it once to turbjax's safe format "
    "with `python -m turbjax.data.convert --trust-pickle {src} --out DIR` and use format='turbjax'"
)


def data_path(directory: str | os.PathLike, reynolds: float, fmt: str = "turbjax") -> Path:
    """The file holding Reynolds number `reynolds` in `directory` for format "turbjax" or "course"."""
    if fmt == "turbjax":
        return snapshot_path(directory, reynolds)
    if fmt == "course":
        return Path(directory) / COURSE_FILE_TEMPLATE.format(re=float(reynolds))
    raise ValueError(f"unknown data format {fmt!r}; expected one of {FORMATS}")


def missing_data_files(directory: str | os.PathLike, reynolds, fmt: str = "turbjax") -> list[Path]:
    """The expected files (one per Reynolds number) that do not exist, in the order of `reynolds`."""
    return [p for p in (data_path(directory, r, fmt) for r in reynolds) if not p.is_file()]


def find_data_files(directory: str | os.PathLike, reynolds, fmt: str = "turbjax") -> dict[float, Path]:
    """{Re: path} for every requested Reynolds number; a clear error naming the directory or missing files."""
    directory = Path(directory)
    hint = GENERATE_HINT.format(dir=directory)
    if fmt == "course":
        hint = f"put the course's files there, or {hint} in turbjax's format (and set format='turbjax')"
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist; {hint}")
    missing = missing_data_files(directory, reynolds, fmt)
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise FileNotFoundError(f"missing {len(missing)} {fmt!r} data file(s): {names}; {hint}")
    return {float(r): data_path(directory, r, fmt) for r in reynolds}


def available_reynolds(directory: str | os.PathLike, fmt: str = "turbjax") -> list[float]:
    """Sorted Reynolds numbers that have a file of format `fmt` in `directory` (parsed from the file names)."""
    if fmt == "turbjax":
        pattern = re.compile(re.escape(FILE_TEMPLATE).replace(r"\{re:g\}", r"([0-9.eE+-]+)") + "$")
    elif fmt == "course":
        pattern = COURSE_FILE_PATTERN
    else:
        raise ValueError(f"unknown data format {fmt!r}; expected one of {FORMATS}")
    found = []
    for p in Path(directory).iterdir():
        m = pattern.match(p.name)
        if m:
            try:
                found.append(float(m.group(1)))
            except ValueError:
                continue
    return sorted(found)


def course_reynolds(path: str | os.PathLike) -> float:
    """The Reynolds number in a course file name `vortex_street_velocities_Re_{Re}_largefile.npz`."""
    m = COURSE_FILE_PATTERN.match(Path(path).name)
    if not m:
        raise ValueError(
            f"cannot read a Reynolds number from the file name {Path(path).name!r}; expected "
            f"{COURSE_FILE_TEMPLATE.format(re=300)!r} (the course's naming)"
        )
    return float(m.group(1))


def _reconstruct_function():
    # numpy 2 pickles arrays via numpy._core.multiarray._reconstruct, numpy 1 via numpy.core.multiarray.
    return np.zeros(1).__reduce__()[0]


def _latin1_encode(text, encoding="latin1"):
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError("only latin1-encoded array bytes are allowed in a course file")
    return _codecs.encode(text, "latin1")


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Defence in depth: resolves only the globals that a pickled numpy array needs (never arbitrary callables)."""

    def find_class(self, module, name):
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _reconstruct_function()
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: turbjax reads only pickled numpy arrays"
        )


def load_course_velocity(path: str | os.PathLike, *, trust_pickle: bool = False) -> np.ndarray:
    """The course's raw array (T, nx, ny, 2) float64, components (-ux, uy), written by `ndarray.dump`.

    Refuses unless `trust_pickle=True`. Even then only numpy-array globals are resolved (a restricted
    unpickler), so a file that tries to call anything else is rejected. The whole file is read (about 1.5 GB
    for the course's 3000 frames); callers keep one at a time.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no course data file at {path}; {GENERATE_HINT.format(dir=path.parent)} "
                                f"in turbjax's format (format='turbjax')")
    if not trust_pickle:
        raise PermissionError(f"refusing to read the course file {path}: " + PICKLE_HINT.format(src=path))
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        if head[:1] != b"\x80":
            kind = "a zip/.npz archive" if head == b"PK" else ("an .npy file" if head == b"\x93N" else "unknown")
            raise ValueError(
                f"{path} is not a course file (a pickled numpy array written by ndarray.dump); it looks like "
                f"{kind}. For turbjax's own .npz files use format='turbjax'"
            )
        try:
            raw = _ArrayOnlyUnpickler(f).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise ValueError(f"cannot read the course file {path}: {e}") from e
    if not isinstance(raw, np.ndarray):
        raise TypeError(f"{path} holds a {type(raw).__name__}, expected a numpy array (T, nx, ny, 2)")
    return raw


def check_velocity(velocity: np.ndarray, path: str | os.PathLike, expected: str = "(time, nx, ny, 2)") -> None:
    """Shape (T, nx, ny, 2) with T >= 1, a floating dtype, and finite values; errors name file and frames."""
    if velocity.ndim != 4 or velocity.shape[-1] != 2 or velocity.shape[0] < 1:
        raise ValueError(
            f"{path}: velocity has shape {velocity.shape}, expected {expected} with x index first and two "
            f"components; regenerate or reconvert the file"
        )
    if velocity.dtype not in (np.float32, np.float64):
        raise ValueError(f"{path}: velocity has dtype {velocity.dtype}, expected float32 or float64")
    bad = []
    chunk = max(1, 2**24 // max(1, velocity[0].size))
    for start in range(0, velocity.shape[0], chunk):
        block = velocity[start : start + chunk]
        finite = np.isfinite(block).reshape(block.shape[0], -1).all(axis=1)
        bad.extend((start + np.flatnonzero(~finite)).tolist())
    if bad:
        shown = ", ".join(str(b) for b in bad[:10]) + (", ..." if len(bad) > 10 else "")
        raise ValueError(
            f"{path}: {len(bad)} of {velocity.shape[0]} frames contain NaN or inf (frames {shown}); the "
            f"simulation diverged or the file is corrupt: regenerate it"
        )


def frame_stride_for(sample_every_steps: int, frame_stride: int, path: str | os.PathLike = "") -> int:
    """Frames to skip so that samples are `sample_every_steps` simulation steps apart; error if not divisible."""
    steps, per_frame = int(sample_every_steps), int(frame_stride)
    if steps != sample_every_steps or steps < 1:
        raise ValueError(f"sample_every_steps={sample_every_steps!r} must be a positive integer")
    if steps % per_frame:
        raise ValueError(
            f"sample_every_steps={steps} is not a multiple of the {per_frame} simulation steps between frames "
            f"of {path}; choose a multiple of {per_frame}"
        )
    return steps // per_frame


def read_velocity(path: str | os.PathLike, fmt: str = "turbjax", *, trust_pickle: bool = False,
                  check: bool = True) -> tuple[np.ndarray, dict]:
    """(velocity, metadata) of one file. Components are as stored: (ux, uy) for "turbjax", (-ux, uy) for
    "course" (metadata["layout"] says which). Course metadata is the known constants of the course's run."""
    path = Path(path)
    if fmt == "turbjax":
        velocity, meta = load_snapshots(path)
        meta["layout"] = "ux,uy"
    elif fmt == "course":
        velocity = load_course_velocity(path, trust_pickle=trust_pickle)
        meta = {
            "reynolds": course_reynolds(path),
            "dx": COURSE_DX,
            "dt": COURSE_DT,
            "frame_stride": COURSE_FRAME_STRIDE,
            "first_step": COURSE_FIRST_STEP,
            "generator": "course",
            "version": "",
            "layout": "-ux,uy",
        }
    else:
        raise ValueError(f"unknown data format {fmt!r}; expected one of {FORMATS}")
    if check:
        check_velocity(velocity, path)
    return velocity, meta
