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
import codecs
import contextlib
import math
import os
import pickle
import re
import struct
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np

import turbjax

FILE_TEMPLATE = "vortex_street_Re_{re:g}.npz"
REQUIRED_KEYS = ("velocity", "reynolds", "dx", "dt", "frame_stride", "first_step", "generator", "version")
# Optional keys of ensemble files (/work/notes/ensemble_format.md) and the dtype and shape each is written with.
EXTRA_KEYS = {"realization": (np.int64, ()), "perturbation_seed": (np.int64, ()),
              "perturbation_amplitude": (np.float64, ()), "origin": (np.int64, (2,)),
              "grid_shape": (np.int64, (2,)), "shedding_period_steps": (np.float64, ())}


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
    extra: dict | None = None,
) -> Path:
    """Write one Reynolds number's frames; atomic (temp file + rename) so a crash never leaves half a file.

    `extra`: optional ensemble keys (EXTRA_KEYS: realization, perturbation_seed, ...), written as npz arrays."""
    extra = dict(extra or {})
    unknown = sorted(set(extra) - set(EXTRA_KEYS))
    if unknown:
        raise ValueError(f"refusing to write {path}: unknown extra key(s) {unknown}; allowed: {sorted(EXTRA_KEYS)}")
    extra = {k: np.asarray(v, EXTRA_KEYS[k][0]) for k, v in extra.items()}
    for k, v in extra.items():
        if v.shape != EXTRA_KEYS[k][1]:
            raise ValueError(f"refusing to write {path}: extra key {k!r} must have shape {EXTRA_KEYS[k][1]}, "
                             f"got {v.shape}")
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
        "velocity": velocity.astype(np.float32, copy=False),
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
    arrays.update(extra)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


@contextlib.contextmanager
def _open_snapshot(path: Path):
    """Open a turbjax file (never unpickling) after checking it exists and has every required key; yields the
    open NpzFile and the metadata dict. One place for the checks that reading and header-peeking share."""
    if not path.is_file():
        raise FileNotFoundError(
            f"no snapshot file at {path}; generate data with "
            f"`python -m turbjax.simulate --re 300 600 900 1200 --out {path.parent}`"
        )
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in REQUIRED_KEYS if k not in f.files]
        if missing:
            raise ValueError(f"{path} is not a turbjax snapshot file: missing keys {missing}")
        yield f, {k: f[k].item() for k in REQUIRED_KEYS if k != "velocity"}


def load_snapshots(path: str | os.PathLike) -> tuple[np.ndarray, dict]:
    """Read a turbjax file: (velocity float32 (T, nx, ny, 2), metadata dict). Never unpickles."""
    with _open_snapshot(Path(path)) as (f, meta):
        velocity = f["velocity"]
        for k in ("probe_uy", "probe_xy"):
            if k in f.files:
                meta[k] = f[k]
    return velocity, meta


def snapshot_header(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype, dict]:
    """(velocity shape, dtype, metadata) of a turbjax file without reading its velocity array."""
    with _open_snapshot(Path(path)) as (f, meta), f.zip.open("velocity.npy") as member:
        version = np.lib.format.read_magic(member)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(member)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(member)
    return tuple(shape), np.dtype(dtype), meta


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


# numpy 2 pickles arrays via numpy._core.multiarray._reconstruct, numpy 1 via numpy.core.multiarray.
_RECONSTRUCT_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
STREAM_MIN_BYTES = 1 << 16  # pickled strings at least this long are streamed from the file, not loaded


class _Deferred(NamedTuple):
    """A long pickled string left in the file: its UTF-8 bytes start at `offset` and are `length` long."""

    offset: int
    length: int


class _ArrayRecipe:
    """Stands in for the array `_reconstruct` would make; keeps the arguments of its `__setstate__`."""

    def __init__(self, *args):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def _latin1_encode(text, encoding="latin1"):
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"only latin1-encoded array bytes are allowed in a course file, got {encoding!r}")
    if isinstance(text, _Deferred):
        return text
    if isinstance(text, str):
        return _codecs.encode(text, "latin1")
    raise pickle.UnpicklingError(f"expected the array's bytes as a string, got {type(text).__name__}")


class _CourseUnpickler(pickle._Unpickler):
    """Reads the structure of a pickled numpy array without its data, and without calling anything but numpy's
    dtype constructor: globals are resolved from an allowlist (a file that names any other callable is refused),
    `_reconstruct` is replaced by a recipe that records shape, dtype and order, and the long latin1 string that
    holds the data (protocol 2, as written by `ndarray.dump`) is skipped and recorded as an offset."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, stream_min_bytes: int):
        super().__init__(file)
        self._source = file
        self._stream_min_bytes = stream_min_bytes

    def _load_binunicode(self):
        (n,) = struct.unpack("<I", self.read(4))
        if n >= self._stream_min_bytes and self.proto < 4:  # no framing below protocol 4: offsets are file offsets
            offset = self._source.tell()
            self._source.seek(n, os.SEEK_CUR)
            self.append(_Deferred(offset, n))
            return
        self.append(str(self.read(n), "utf-8", "surrogatepass"))

    dispatch[pickle.BINUNICODE[0]] = _load_binunicode

    def find_class(self, module, name):
        if name == "_reconstruct" and module in _RECONSTRUCT_MODULES:
            return _ArrayRecipe
        if module == "numpy" and name == "ndarray":
            return np.ndarray
        if module == "numpy" and name == "dtype":
            return np.dtype
        if module == "_codecs" and name == "encode":
            return _latin1_encode
        raise pickle.UnpicklingError(
            f"refusing to load global {module}.{name}: turbjax reads only pickled numpy arrays"
        )


class CourseArray(NamedTuple):
    """The header of a course file: where and how its array is stored (the data itself is not read)."""

    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    data: bytes | None  # the array's bytes when small enough to have been read with the header
    offset: int  # else: UTF-8 (latin1-as-unicode) encoded bytes at [offset, offset + length) of the file
    length: int


def course_header(path: str | os.PathLike, *, trust_pickle: bool = False,
                  stream_min_bytes: int = STREAM_MIN_BYTES) -> CourseArray:
    """Parse a course file's pickle up to, not into, its data. Refuses unless `trust_pickle=True`."""
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
            recipe = _CourseUnpickler(f, stream_min_bytes).load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, struct.error, UnicodeError) as e:
            raise ValueError(f"cannot read the course file {path}: {e}") from e
    if not isinstance(recipe, _ArrayRecipe):
        raise TypeError(f"{path} holds a {type(recipe).__name__}, expected a numpy array (T, nx, ny, 2)")
    state = recipe.state
    if not (isinstance(state, tuple) and len(state) == 5 and isinstance(state[2], np.dtype)
            and isinstance(state[4], (bytes, _Deferred))):
        raise ValueError(f"cannot read the course file {path}: not a plain numeric numpy array pickle")
    _, shape, dtype, fortran, data = state
    shape = tuple(int(s) for s in shape)
    if isinstance(data, bytes):
        if len(data) != dtype.itemsize * math.prod(shape):
            raise ValueError(f"cannot read the course file {path}: {len(data)} data bytes for shape {shape} {dtype}")
        return CourseArray(path, shape, dtype, bool(fortran), data, 0, 0)
    return CourseArray(path, shape, dtype, bool(fortran), None, data.offset, data.length)


def iter_course_frames(header: CourseArray, *, chunk_bytes: int = 1 << 23):
    """Yield (first_frame, frames (k, *shape[1:])) blocks of a course file's array, in order, decoding its data
    from the file a chunk at a time: memory stays at a few frames plus `chunk_bytes`, whatever the file size.
    (Small arrays, read with the header, and Fortran-ordered ones come as a single block.)"""
    shape, dtype = header.shape, header.dtype
    if header.data is not None or header.fortran or len(shape) < 1:
        order = "F" if header.fortran else "C"
        data = header.data if header.data is not None else b"".join(_decoded_chunks(header, chunk_bytes))
        yield 0, np.frombuffer(data, dtype).reshape(shape, order=order)
        return
    per_frame = math.prod(shape[1:])
    frame_bytes = dtype.itemsize * per_frame
    buf = bytearray()
    frame = 0
    for data in _decoded_chunks(header, chunk_bytes):
        buf += data
        k = len(buf) // frame_bytes if frame_bytes else 0
        if k:
            block = np.array(np.frombuffer(buf, dtype, count=k * per_frame)).reshape(k, *shape[1:])
            del buf[: k * frame_bytes]
            yield frame, block
            frame += k
    if frame != shape[0] or buf:
        raise ValueError(
            f"cannot read the course file {header.path}: its data holds {frame} whole frames (+{len(buf)} bytes), "
            f"its header says {shape[0]}"
        )


def _decoded_chunks(header: CourseArray, chunk_bytes: int):
    """The array's bytes, a chunk at a time: the file holds them as a latin1 string encoded in UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(header.path, "rb") as f:
        f.seek(header.offset)
        remaining = header.length
        while remaining > 0:
            chunk = f.read(min(chunk_bytes, remaining))
            if not chunk:
                raise ValueError(f"{header.path} is truncated: its array data ends {remaining} bytes early")
            remaining -= len(chunk)
            try:
                yield decoder.decode(chunk, final=remaining == 0).encode("latin1")
            except UnicodeError as e:
                raise ValueError(f"cannot read the course file {header.path}: corrupt array data ({e})") from e


def read_course_frames(path: str | os.PathLike, *, trust_pickle: bool = False, stride: int = 1,
                       x: slice = slice(None), y: slice = slice(None), chunk_bytes: int = 1 << 23) -> np.ndarray:
    """Frames 0, stride, 2 stride, ... of a course file, restricted to the cells [x, y], as read.

    Returns the raw layout (n, len(x), len(y), 2), components (-ux, uy), in the file's dtype (float64).
    Checks shape and dtype from the header before reading data, and every frame (all of it, kept or not)
    for NaN or inf while streaming; the error lists the bad frames. Only one chunk of the file is in memory.
    """
    header = course_header(path, trust_pickle=trust_pickle)
    check_layout(header.shape, header.dtype, header.path)
    t, nx, ny, _ = header.shape
    stride = int(stride)
    kept_x, kept_y = len(range(nx)[x]), len(range(ny)[y])
    out = np.empty((len(range(0, t, stride)), kept_x, kept_y, 2), header.dtype)
    bad = []
    for start, block in iter_course_frames(header, chunk_bytes=chunk_bytes):
        finite = np.isfinite(block).reshape(block.shape[0], -1).all(axis=1)
        bad.extend((start + np.flatnonzero(~finite)).tolist())
        first = -start % stride  # first index in this block that is a multiple of stride
        take = block[first::stride, x, y]
        out[(start + first) // stride : (start + first) // stride + take.shape[0]] = take
    if bad:
        raise ValueError(nonfinite_message(bad, t, header.path))
    return out


def load_course_velocity(path: str | os.PathLike, *, trust_pickle: bool = False) -> np.ndarray:
    """The course's whole raw array (T, nx, ny, 2) float64, components (-ux, uy), written by `ndarray.dump`.

    Refuses unless `trust_pickle=True`. Even then the pickle is parsed, not executed: only numpy-array globals
    are resolved, so a file that names any other callable is rejected. About 1.5 GB for the course's 3000
    frames; prefer `read_course_frames`, which strides and crops as it reads.
    """
    header = course_header(path, trust_pickle=trust_pickle)
    if header.data is not None or header.fortran:
        return next(iter_course_frames(header))[1].copy()
    out = np.empty(header.shape, header.dtype)
    for start, block in iter_course_frames(header):
        out[start : start + block.shape[0]] = block
    return out


def check_layout(shape, dtype, path: str | os.PathLike, expected: str = "(time, nx, ny, 2)") -> None:
    """Shape (T, nx, ny, 2) with T >= 1 and a float32/float64 dtype; the error names the file and what to do."""
    shape = tuple(shape)
    if len(shape) != 4 or shape[-1] != 2 or shape[0] < 1:
        raise ValueError(
            f"{path}: velocity has shape {shape}, expected {expected} with x index first and two "
            f"components; regenerate or reconvert the file"
        )
    if np.dtype(dtype) not in (np.float32, np.float64):
        raise ValueError(f"{path}: velocity has dtype {np.dtype(dtype)}, expected float32 or float64")


def nonfinite_message(bad, n_frames, path) -> str:
    shown = ", ".join(str(b) for b in bad[:10]) + (", ..." if len(bad) > 10 else "")
    return (
        f"{path}: {len(bad)} of {n_frames} frames contain NaN or inf (frames {shown}); the "
        f"simulation diverged or the file is corrupt: regenerate it"
    )


def check_velocity(velocity: np.ndarray, path: str | os.PathLike, expected: str = "(time, nx, ny, 2)") -> None:
    """Shape (T, nx, ny, 2) with T >= 1, a floating dtype, and finite values; errors name file and frames."""
    check_layout(velocity.shape, velocity.dtype, path, expected)
    bad = []
    chunk = max(1, 2**24 // max(1, velocity[0].size))
    for start in range(0, velocity.shape[0], chunk):
        block = velocity[start : start + chunk]
        finite = np.isfinite(block).reshape(block.shape[0], -1).all(axis=1)
        bad.extend((start + np.flatnonzero(~finite)).tolist())
    if bad:
        raise ValueError(nonfinite_message(bad, velocity.shape[0], path))


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
