"""The course's data files, read without executing them: a restricted, streaming reader of pickled arrays.

The course wrote each Reynolds number's velocity (T, nx, ny, 2) float64, components (-ux, uy), with
`ndarray.dump`: a pickle, and loading a pickle can run arbitrary code. So turbjax never unpickles these files
with `pickle.load`. It parses the pickle's structure with an unpickler whose globals come from an allowlist
(numpy's array reconstructor, ndarray, dtype, and a latin1 `_codecs.encode`; any other callable is refused),
records the array's shape, dtype and where its bytes start, and streams the bytes itself. Reading still needs
the explicit opt-in `trust_pickle=True`.
"""

from __future__ import annotations

import _codecs
import codecs
import math
import os
import pickle
import struct
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np

from turbjax.data.snapshots import GENERATE_HINT, check_shape, nonfinite_frames, nonfinite_message

# The course's files: every 2nd step of the last 6000 of a 48000-step run, components (-ux, uy), float64.
COURSE_FRAME_STRIDE = 2
COURSE_FIRST_STEP = 42000
COURSE_DX = 1.0 / 128
COURSE_DT = 1.0 / 128
COURSE_SHAPE = (3000, 256, 128, 2)
PICKLE_HINT = (
    "it is a pickle, and loading a pickle can run arbitrary code. If you trust the file, opt in with "
    "trust_pickle=True (config: --config.data.trust_pickle=True), or convert it once to turbjax's safe "
    "format with `python -m turbjax.data.convert --trust-pickle {src} --out DIR` and use format='turbjax'"
)
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
        raise pickle.UnpicklingError("only latin1-encoded array bytes are allowed in a course file, got "
                                     f"{encoding!r}")
    if isinstance(text, _Deferred):
        return text
    if isinstance(text, str):
        return _codecs.encode(text, "latin1")
    raise pickle.UnpicklingError(f"expected the array's bytes as a string, got {type(text).__name__}")


class Truncated(ValueError):
    """The file ends before the pickle says its data does."""


class _CourseUnpickler(pickle._Unpickler):
    """Reads the structure of a pickled numpy array without its data, and without calling anything but numpy's
    dtype constructor: globals are resolved from an allowlist (a file that names any other callable is
    refused), `_reconstruct` is replaced by a recipe that records shape, dtype and order, and the long latin1
    string that holds the data (protocol 2, as written by `ndarray.dump`) is skipped and recorded as an
    offset."""

    dispatch: ClassVar[dict] = dict(pickle._Unpickler.dispatch)

    def __init__(self, file, stream_min_bytes: int, size: int):
        super().__init__(file)
        self._source = file
        self._stream_min_bytes = stream_min_bytes
        self._size = size

    def _load_binunicode(self):
        (n,) = struct.unpack("<I", self.read(4))
        offset = self._source.tell()
        if offset + n > self._size:
            raise Truncated(
                f"it is truncated: its array data needs {offset + n} bytes (plus a few closing ones), the "
                f"file has {self._size}"
            )
        # no framing below protocol 4: offsets are file offsets
        if n >= self._stream_min_bytes and self.proto < 4:
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


def _parse(path: Path, stream_min_bytes: int):
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(2)
        f.seek(0)
        if head[:1] != b"\x80":
            kind = ("a zip/.npz archive" if head == b"PK" else
                    "an .npy file" if head == b"\x93N" else "unknown")
            raise ValueError(
                f"{path} is not a course file (a pickled numpy array written by ndarray.dump); it looks like "
                f"{kind}. For turbjax's own .npz files use format='turbjax'"
            )
        try:
            return _CourseUnpickler(f, stream_min_bytes, size).load()
        # an opcode's argument runs past the end of the file
        except (EOFError, IndexError, struct.error) as e:
            raise ValueError(
                f"cannot read the course file {path}: it is truncated: the pickle ends early, after all of "
                f"the file's {size} bytes were read; copy the file again"
            ) from e
        except Truncated as e:
            raise ValueError(f"cannot read the course file {path}: {e}; copy the file again") from e
        except (pickle.UnpicklingError, ValueError, TypeError, UnicodeError) as e:
            raise ValueError(f"cannot read the course file {path}: {e}") from e


def course_header(path: str | os.PathLike, *, trust_pickle: bool = False,
                  stream_min_bytes: int = STREAM_MIN_BYTES) -> CourseArray:
    """Parse a course file's pickle up to, not into, its data. Refuses unless `trust_pickle=True`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no course data file at {path}; {GENERATE_HINT.format(dir=path.parent)} "
                                f"in turbjax's format (format='turbjax')")
    if not trust_pickle:
        raise PermissionError(f"refusing to read the course file {path}: " + PICKLE_HINT.format(src=path))
    recipe = _parse(path, stream_min_bytes)
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
            raise ValueError(f"cannot read the course file {path}: {len(data)} data bytes for shape {shape} "
                             f"{dtype}")
        return CourseArray(path, shape, dtype, bool(fortran), data, 0, 0)
    return CourseArray(path, shape, dtype, bool(fortran), None, data.offset, data.length)


def iter_course_frames(header: CourseArray, *, chunk_bytes: int = 1 << 23):
    """Yield (first_frame, frames (k, *shape[1:])) blocks of a course file's array, in order, decoding its
    data from the file a chunk at a time: memory stays at a few frames plus `chunk_bytes`, whatever the file
    size. (Small arrays, read with the header, and Fortran-ordered ones come as a single block.)"""
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
            f"cannot read the course file {header.path}: its data holds {frame} whole frames (+{len(buf)} "
            f"bytes), its header says {shape[0]}"
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
                raise ValueError(
                    f"cannot read the course file {header.path}: it is truncated: expected "
                    f"{header.offset + header.length} bytes of data, found "
                    f"{header.offset + header.length - remaining}"
                )
            remaining -= len(chunk)
            try:
                yield decoder.decode(chunk, final=remaining == 0).encode("latin1")
            except UnicodeError as e:
                raise ValueError(
                    f"cannot read the course file {header.path}: corrupt array data ({e})") from e


def read_course_frames(path: str | os.PathLike, *, trust_pickle: bool = False, stride: int = 1,
                       x: slice = slice(None), y: slice = slice(None),
                       chunk_bytes: int = 1 << 23) -> np.ndarray:
    """Frames 0, stride, 2 stride, ... of a course file, restricted to the cells [x, y], as read.

    Returns the raw components (n, len(x), len(y), 2), (-ux, uy), in the file's dtype (float64).
    Checks shape and dtype from the header before reading data, and every frame (all of it, kept or not)
    for NaN or inf while streaming; the error lists the bad frames. Only one chunk of the file is in memory.
    """
    header = course_header(path, trust_pickle=trust_pickle)
    check_shape(header.shape, header.dtype, header.path)
    t, nx, ny, _ = header.shape
    stride = int(stride)
    kept_x, kept_y = len(range(nx)[x]), len(range(ny)[y])
    out = np.empty((len(range(0, t, stride)), kept_x, kept_y, 2), header.dtype)
    bad = []
    for start, block in iter_course_frames(header, chunk_bytes=chunk_bytes):
        bad.extend((start + nonfinite_frames(block)).tolist())
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
