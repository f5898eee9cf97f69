"""Converters: the course's pickled files to turbjax's safe .npz format, and turbjax's .npz files to netCDF.

    python -m turbjax.data.convert --trust-pickle SRC_DIR_OR_FILES... --out DIR
    python -m turbjax.data.convert --to netcdf SRC_DIR_OR_FILES... --out DIR
    python -m turbjax.data.convert --coarsen K SRC_DIR_OR_FILES... --out DIR

Each course file `vortex_street_velocities_Re_{Re}_largefile.npz` (a pickled float64 ndarray (T, nx, ny, 2)
with components (-ux, uy), written by `ndarray.dump`) becomes `DIR/vortex_street_Re_{Re:g}.npz` holding
float32 (ux, uy) (component 0 negated) and the course run's metadata: frame_stride=2, first_step=42000,
dx=dt=1/128, Re from the file name, generator "course". One file in memory at a time.

The converted files are float32: vorticity computed from them matches the float64 original to float32
rounding, not bit for bit. For the course's exact arrays read the originals with trust_pickle=True.

`--to netcdf`: each turbjax file `vortex_street_Re_{Re:g}[_r{k}].npz` (the simulator's; a directory: all of
them) becomes `DIR/vortex_street_Re_{Re:g}[_r{k}].nc` in the convention of `turbjax.data.readers.netcdf`:
u, v (time, y, x) as stored (float32), x, y the cells' centres ((i + 0.5) dx from the stored window's
origin), time (first_step + k frame_stride) dt, the geometry (`readers.turbjax_npz.file_units`) and Re as
global attributes, with the file's numerics metadata (dx, dt, frame_stride, first_step, generator, version,
realization, perturbation_*, shedding_period_steps (from the probe where the file has only that), collision,
boundary; origin and grid_shape as source_origin, source_grid_shape). The probe signal is not exported.
Read back with format='netcdf', the velocity is the same bit for bit and the grid, geometry and clock the
same. One file in memory at a time; each written atomically.

`--coarsen K`: each turbjax file becomes a turbjax file of the same name in DIR holding every K-th node of the
full grid in x and y (the nodes whose full-grid index is a multiple of K), as if the flow had been recorded on
a K times coarser grid: dx K times larger, the geometry (diameter, inflow, the cylinder's centre shifted so
that it sits where it was relative to the kept nodes, whose centres are now at (j + 1/2) K dx) and every
other metadata as they were; the probe signal is kept. A coarser observation of the same flow, not a coarser
simulation: for studies and training that must not depend on how finely a field was sampled.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from turbjax import cli
from turbjax.checks import fail, output_dir
from turbjax.data import course_pickle as cp
from turbjax.data.readers.course import COURSE_FILE_PATTERN, COURSE_FILE_TEMPLATE, course_reynolds
from turbjax.data.readers.netcdf import write_netcdf
from turbjax.data.readers.turbjax_npz import TURBJAX_FILE_PATTERN, TurbjaxNpz
from turbjax.data.snapshots import (
    FILE_TEMPLATE,
    check_shape,
    nonfinite_frames,
    nonfinite_message,
    save_snapshots,
    snapshot_path,
)

TARGETS = ("turbjax", "netcdf")  # --to: what the sources become
# The simulator's units: lengths in its domain unit (the seed channel is 1 high), velocity in lattice units
# (c = 1: the same unit per time unit), time = steps x dt.
SIMULATOR_UNITS_COMMENT = (
    "nondimensional simulator units: x, y, diameter and cylinder_x/y in the simulator's length unit (dx per "
    "cell), u, v and inflow_velocity in lattice units (length per time unit, lattice speed 1, dt = dx), "
    "time = step x dt")


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


def turbjax_files(sources) -> list[Path]:
    """Expand directories (their turbjax files: plain runs and realizations) and check that each given file
    exists; the output names must not collide."""
    files = []
    for src in map(Path, sources):
        if src.is_dir():
            found = sorted(p for p in src.iterdir() if TURBJAX_FILE_PATTERN.match(p.name))
            if not found:
                raise FileNotFoundError(f"no turbjax files ({FILE_TEMPLATE.format(re=300)!r} etc.) in "
                                        f"directory {src}")
            files.extend(found)
        elif src.is_file():
            files.append(src)
        else:
            raise FileNotFoundError(f"no such file or directory: {src}")
    names = [netcdf_name(p) for p in files]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        fail(f"several sources would be written to the same netCDF file ({', '.join(twice)}); convert them "
             "into different --out directories")
    return files


def netcdf_name(src: Path) -> str:
    """`vortex_street_Re_300_r2.npz` -> `vortex_street_Re_300_r2.nc`."""
    return Path(src).stem + ".nc"


def export_netcdf(src: str | Path, out_dir: str | Path) -> Path:
    """One turbjax .npz file -> `out_dir/{its stem}.nc` (see the module docstring); returns the path
    written."""
    src = Path(src)
    reader = TurbjaxNpz()
    velocity, meta = reader.read_velocity(src, check=True)
    units = meta["units"]
    period = float(meta["shedding_period_steps"])
    if not (period > 0) and "probe_uy" in meta:  # what format='turbjax' would find from the probe
        try:
            period = reader.period_steps(src, meta, velocity.shape[0])
        except ValueError:
            period = float("nan")
    attrs = {"title": "flow past a cylinder (turbjax's netCDF convention: turbjax.data.readers.netcdf)",
             "source": f"{src.name}, converted by python -m turbjax.data.convert --to netcdf"}
    attrs |= {k: meta[k] for k in ("dx", "dt", "first_step", "generator", "version", "realization",
                                   "perturbation_seed", "perturbation_amplitude", "collision", "boundary")}
    attrs |= {"shedding_period_steps": period, "source_origin": np.asarray(meta["origin"], np.int64),
              "source_grid_shape": np.asarray(meta["grid_shape"], np.int64)}
    return write_netcdf(Path(out_dir) / netcdf_name(src), velocity, units, reynolds=float(meta["reynolds"]),
                        first_step=int(meta["first_step"]), frame_stride=int(meta["frame_stride"]),
                        origin=tuple(int(o) for o in meta["origin"]), attrs=attrs,
                        comment=SIMULATOR_UNITS_COMMENT)


def coarsen_file(src: str | Path, out_dir: str | Path, every: int) -> Path:
    """One turbjax file -> `out_dir/{its name}` with every `every`-th full-grid node (see the module
    docstring); returns the path written."""
    src = Path(src)
    velocity, meta = TurbjaxNpz().read_velocity(src, check=True)
    u, k = meta["units"], int(every)
    (ox, oy), (nx, ny) = (int(o) for o in meta["origin"]), (int(n) for n in meta["grid_shape"])
    first = (-ox % k, -oy % k)  # the first stored cell whose full-grid index is a multiple of k
    kept = velocity[:, first[0]::k, first[1]::k]
    if min(kept.shape[1:3]) < 4:
        fail(f"{src}: --coarsen {k} leaves {kept.shape[1]} x {kept.shape[2]} nodes of its stored window; "
             "choose a smaller factor")
    shift = (k - 1) / 2 * u.dx  # node j of the coarse grid: (j k + 1/2) dx in the file, (j + 1/2) k dx here
    extra = {key: meta[key] for key in ("realization", "perturbation_seed", "perturbation_amplitude",
                                        "shedding_period_steps", "collision", "boundary", "bulk_viscosity")
             if key in meta}
    extra |= {"origin": ((ox + first[0]) // k, (oy + first[1]) // k),
              "grid_shape": (-(-nx // k), -(-ny // k)), "diameter": u.diameter, "inflow": u.inflow,
              "cylinder_xy": (u.cylinder[0] + shift, u.cylinder[1] + shift)}
    probe = {}
    if "probe_uy" in meta:
        probe = {"probe_uy": meta["probe_uy"],
                 "probe_xy": tuple(float(c) + shift for c in meta.get("probe_xy", (math.nan, math.nan)))}
    return save_snapshots(Path(out_dir) / src.name, kept, reynolds=float(meta["reynolds"]), dx=u.dx * k,
                          dt=float(meta["dt"]), frame_stride=int(meta["frame_stride"]),
                          first_step=int(meta["first_step"]), generator=str(meta["generator"]), extra=extra,
                          **probe)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m turbjax.data.convert",
        description="Convert the course's pickled vortex-street files to turbjax's safe .npz format (--to "
                    "turbjax, the default), or turbjax's .npz files to netCDF (--to netcdf).",
    )
    parser.add_argument("sources", nargs="+", help="course files (--to turbjax) or turbjax files (--to "
                                                   "netcdf), or directories holding them")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--to", choices=TARGETS, default="turbjax",
                        help="turbjax: course pickles -> turbjax .npz; netcdf: turbjax .npz -> netCDF (.nc)")
    parser.add_argument("--coarsen", type=int, default=None, metavar="K",
                        help="turbjax .npz -> turbjax .npz keeping every K-th grid node (a coarser "
                             "observation of the same flow)")
    parser.add_argument(
        "--trust-pickle", action="store_true",
        help="required with --to turbjax: the course's files are pickles, and loading a pickle can run "
             "arbitrary code",
    )
    args = parser.parse_args(argv)
    from tqdm import tqdm

    if args.coarsen is not None and (args.coarsen < 2 or args.to != "turbjax"):
        parser.error(f"--coarsen {args.coarsen}: expected an integer >= 2 (and no --to netcdf)")
    if args.coarsen is not None or args.to == "netcdf":  # turbjax files in, one output file each
        with cli.user_errors("turbjax.data.convert", code=2):
            output_dir(args.out, "--out")
            files = turbjax_files(args.sources)
            for src in tqdm(files, desc="converting", unit="file"):
                out = (export_netcdf(src, args.out) if args.coarsen is None
                       else coarsen_file(src, args.out, args.coarsen))
                tqdm.write(f"{src} -> {out}")
        return 0
    if not args.trust_pickle:
        parser.error(
            "the course's files are pickles, and loading a pickle can run arbitrary code; pass "
            "--trust-pickle if you trust them (turbjax then resolves only numpy-array globals while reading)"
        )

    with cli.user_errors("turbjax.data.convert", code=2):
        output_dir(args.out, "--out")
        files = course_files(args.sources)  # every source checked before the first (long) conversion
        for src in tqdm(files, desc="converting", unit="file"):
            out = convert_file(src, args.out, trust_pickle=True)
            tqdm.write(f"{src} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
