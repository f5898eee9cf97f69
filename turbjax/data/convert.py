"""One-time converter from the course's pickled files to turbjax's safe .npz format.

    python -m turbjax.data.convert --trust-pickle SRC_DIR_OR_FILES... --out DIR

Each course file `vortex_street_velocities_Re_{Re}_largefile.npz` (a pickled float64 ndarray (T, nx, ny, 2)
with components (-ux, uy), written by `ndarray.dump`) becomes `DIR/vortex_street_Re_{Re:g}.npz` holding
float32 (ux, uy) (component 0 negated) and the course run's metadata: frame_stride=2, first_step=42000,
dx=dt=1/128, Re from the file name, generator "course". One file in memory at a time.

The converted files are float32: vorticity computed from them matches the float64 original to float32
rounding, not bit for bit. For the course's exact arrays read the originals with trust_pickle=True.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from turbjax import cli
from turbjax.checks import output_dir
from turbjax.data import course_pickle as cp
from turbjax.data.readers.course import COURSE_FILE_PATTERN, COURSE_FILE_TEMPLATE, course_reynolds
from turbjax.data.snapshots import (
    check_shape,
    nonfinite_frames,
    nonfinite_message,
    save_snapshots,
    snapshot_path,
)


def course_files(sources) -> list[Path]:
    """Expand directories (their course files) and check that each given file exists and has a course name."""
    files = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if COURSE_FILE_PATTERN.match(p.name))
            if not found:
                raise FileNotFoundError(
                    f"no course files ({COURSE_FILE_TEMPLATE.format(re=300)!r} etc.) in directory {src}"
                )
            files.extend(found)
        elif src.is_file():
            course_reynolds(src)  # the name must carry the Reynolds number
            files.append(src)
        else:
            raise FileNotFoundError(f"no such file or directory: {src}")
    return files


def convert_file(src: str | Path, out_dir: str | Path, *, trust_pickle: bool = False) -> Path:
    """Convert one course file (streamed: the float32 output plus one chunk in memory); returns the path
    written."""
    src = Path(src)
    reynolds = course_reynolds(src)
    header = cp.course_header(src, trust_pickle=trust_pickle)
    check_shape(header.shape, header.dtype, src)
    velocity = np.empty(header.shape, np.float32)
    bad = []
    for start, block in cp.iter_course_frames(header):
        bad.extend((start + nonfinite_frames(block)).tolist())
        stop = start + block.shape[0]
        np.negative(block[..., 0], out=velocity[start:stop, ..., 0], casting="same_kind")  # stored -ux -> ux
        velocity[start:stop, ..., 1] = block[..., 1]
    if bad:
        raise ValueError(nonfinite_message(bad, header.shape[0], src))
    return save_snapshots(
        snapshot_path(out_dir, reynolds),
        velocity,
        reynolds=reynolds,
        dx=cp.COURSE_DX,
        dt=cp.COURSE_DT,
        frame_stride=cp.COURSE_FRAME_STRIDE,
        first_step=cp.COURSE_FIRST_STEP,
        generator="course",
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m turbjax.data.convert",
        description="Convert the course's pickled vortex-street files to turbjax's safe .npz format.",
    )
    parser.add_argument("sources", nargs="+", help="course files or directories holding them")
    parser.add_argument("--out", required=True, help="output directory for turbjax .npz files")
    parser.add_argument(
        "--trust-pickle", action="store_true",
        help="required: the course's files are pickles, and loading a pickle can run arbitrary code",
    )
    args = parser.parse_args(argv)
    if not args.trust_pickle:
        parser.error(
            "the course's files are pickles, and loading a pickle can run arbitrary code; pass "
            "--trust-pickle if you trust them (turbjax then resolves only numpy-array globals while reading)"
        )
    from tqdm import tqdm

    with cli.user_errors("turbjax.data.convert", code=2):
        output_dir(args.out, "--out")
        files = course_files(args.sources)  # every source checked before the first (long) conversion
        for src in tqdm(files, desc="converting", unit="file"):
            out = convert_file(src, args.out, trust_pickle=True)
            tqdm.write(f"{src} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
