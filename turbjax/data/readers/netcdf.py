"""netCDF / HDF5 files in a minimal convention, read with xarray (netCDF4/HDF5 through h5netcdf; netCDF3 too
where xarray has a backend for it), lazily: only the frames and cells asked for are read.

The convention, one file per run:
  dimensions   time, y, x (or time, x, y)
  coordinates  x, y: 1-D, increasing, uniform and equal spacing (square cells), in a length unit L of your
               choice (the cells' centres); time (optional): increasing, uniform, in L / V (e.g. seconds with
               metres and m/s)
  variables    u, v: the velocity along x and y, in a velocity unit V (float32 or float64)
  attributes   diameter (the cylinder's, in L), inflow_velocity (V), cylinder_x, cylinder_y (its centre,
               in L); the flow goes along +x. NaN says "unknown" (data.units='flow' then refuses the file).
  optional     reynolds (the label; without it the name's Re_{re}, else NaN: the file can be predicted on,
               not trained or scored), frame_stride (simulation steps per frame, default 1: the time step is
               the time spacing / frame_stride), realization (default: the name's _r{k}, else -1),
               shedding_period_steps (in steps; for gap_unit='periods')
A directory's files are `{anything}_Re_{re:g}.nc` (or .nc4, .h5, .hdf5), `..._Re_{re:g}_r{k}.nc` for
realization k; `read_netcdf(path)` reads any one file, whatever its name.

The file's grid is its own full grid: grid_shape (nx, ny), origin (0, 0), node (i, j) at (x[i], y[j]);
units = FlowUnits(dx, diameter, inflow_velocity, (cylinder_x, cylinder_y), dt = time spacing / frame_stride
(NaN without a time coordinate), node0 = (x[0], y[0])); first_step = time[0] / dt, rounded (0 without time).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail
from turbjax.data import snapshots
from turbjax.data.readers.base import PLAIN, Reader, _cells
from turbjax.data.units import FlowUnits

NETCDF_FILE_PATTERN = re.compile(r"(?:.*_)?Re_([0-9.eE+-]+?)(?:_r([0-9]+))?\.(?:nc|nc4|h5|hdf5)$")
# The names the exporter (`turbjax.data.convert --to netcdf`) writes, and the name a missing file is given.
NETCDF_TEMPLATE = "vortex_street_Re_{re:g}.nc"
NETCDF_REALIZATION_TEMPLATE = "vortex_street_Re_{re:g}_r{k}.nc"
VELOCITY = ("u", "v")
DIMS = (("time", "y", "x"), ("time", "x", "y"))
REQUIRED_ATTRS = {
    "diameter": "the cylinder's diameter, in the length unit of x and y",
    "inflow_velocity": "the inflow velocity, in the unit of u and v",
    "cylinder_x": "the x of the cylinder's centre",
    "cylinder_y": "the y of the cylinder's centre",
}
INSTALL_HINT = "pip install xarray h5netcdf h5py (turbjax's dependencies: pip install -e .)"
# Coordinates: a node may sit this far (in cells) from its place on a uniform grid, beside the rounding of the
# coordinate's own dtype; two spacings this close (relative) are equal.
SPACING_RTOL = 1e-6


def _xarray():
    try:
        import xarray  # lazy: only netCDF files need it (and it imports pandas)
    except ImportError as e:
        fail(f"reading or writing netCDF files needs xarray and a backend ({e}); {INSTALL_HINT}")
    return xarray


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


@contextlib.contextmanager
def open_netcdf(path: str | os.PathLike):
    """The file as a lazy xarray Dataset (times not decoded: the numbers as stored); one error naming the
    file if it is missing or xarray cannot open it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no netCDF file at {path}")
    xr = _xarray()
    try:
        ds = xr.open_dataset(path, decode_times=False, decode_timedelta=False, cache=False)
    except Exception as e:  # xarray's backends raise many kinds (OSError, ValueError, TypeError, ...)
        fail(f"{path}: xarray cannot open it as a netCDF/HDF5 file ({type(e).__name__}: {_one_line(e)}); "
             f"write it with xarray's Dataset.to_netcdf (the convention: turbjax.data.readers.netcdf), or "
             f"{INSTALL_HINT}")
    with ds:
        yield ds


class Layout(NamedTuple):
    """What the header says: velocity shape (T, nx, ny, 2) and dtype, and the metadata (HEADER_KEYS)."""

    shape: tuple[int, int, int, int]
    dtype: np.dtype
    meta: dict


def _attr(attrs: dict, key: str, path, *, required: bool, default=math.nan) -> float:
    if key not in attrs:
        if required:
            fail(f"{path}: no global attribute {key!r} ({REQUIRED_ATTRS[key]}); the convention needs "
                 f"diameter, inflow_velocity, cylinder_x and cylinder_y: set ds.attrs[{key!r}] = ... "
                 "(NaN if unknown)")
        return default
    value = np.asarray(attrs[key])
    if value.size != 1 or not np.issubdtype(value.dtype, np.number):
        fail(f"{path}: global attribute {key}={attrs[key]!r} must be one number")
    return float(value.reshape(()))


def _whole(attrs: dict, key: str, path, default: int, low: int) -> int:
    value = _attr(attrs, key, path, required=False, default=float(default))
    if not (math.isfinite(value) and value == round(value) and value >= low):
        fail(f"{path}: global attribute {key}={attrs[key]!r} must be a whole number >= {low}")
    return int(value)


def _uniform(ds, name: str, path, *, least: int) -> tuple[float, float, float]:
    """(first value, spacing, the spacing's rounding error from the coordinate's dtype) of the 1-D coordinate
    `name`; refused unless increasing and uniform (a single value: spacing NaN)."""
    values = np.asarray(ds[name].values)
    n = values.size
    if values.ndim != 1 or ds[name].dims != (name,):
        fail(f"{path}: coordinate {name} has dimensions {ds[name].dims}; the convention needs a 1-D "
             f"coordinate along dimension {name}")
    if n < least:
        fail(f"{path}: {n} node(s) along {name}; at least {least} are needed to know the spacing")
    if not np.issubdtype(values.dtype, np.number) or not np.all(np.isfinite(values)):
        fail(f"{path}: coordinate {name} must be finite numbers (dtype {values.dtype}); give the positions "
             f"as numbers" + (" (times as numbers, not dates)" if name == "time" else ""))
    c = values.astype(np.float64)
    if n == 1:
        return float(c[0]), math.nan, 0.0
    step = (c[-1] - c[0]) / (n - 1)
    if not step > 0:
        fail(f"{path}: coordinate {name} runs from {c[0]:g} to {c[-1]:g}; it must increase (sort it: "
             f"ds.sortby({name!r}), flipping the velocity component along it if it was reversed)")
    eps = np.finfo(values.dtype).eps if np.issubdtype(values.dtype, np.floating) else 0.0
    off = np.abs(c - (c[0] + step * np.arange(n)))
    worst = int(np.argmax(off))
    if off[worst] > SPACING_RTOL * step + 4 * eps * np.abs(c).max():
        fail(f"{path}: coordinate {name} is not uniformly spaced: {name}[{worst}] = {c[worst]:.9g} is "
             f"{off[worst] / step:.3g} spacings from its place on a uniform grid of spacing {step:.9g}; "
             "resample the file onto a uniform grid (e.g. ds.interp)")
    return float(c[0]), float(step), float(eps * np.abs(c).max() / (n - 1))


def _velocity_names(ds, path) -> None:
    missing = [n for n in VELOCITY if n not in ds.data_vars]
    if not missing:
        return
    have = sorted(str(k) for k in ds.data_vars)
    vorticity = [n for n in have if "vort" in n.lower() or n == "omega"]
    if len(missing) == len(VELOCITY) and vorticity:
        fail(f"{path} holds vorticity ({', '.join(vorticity)}) but no velocity: turbjax needs u and v, the "
             "velocity along x and y (its pipeline computes the vorticity itself, by differencing the "
             "velocity)")
    fail(f"{path}: no data variable {' or '.join(repr(n) for n in missing)}; the convention needs u and v, "
         f"the velocity along x and y (its variables: {have or 'none'}); rename them (ds.rename)")


def _check_dims(ds, path) -> None:
    for name in VELOCITY:
        dims = tuple(str(d) for d in ds[name].dims)
        if dims in DIMS:
            continue
        hint = ("add a time dimension of length 1: ds.expand_dims('time')" if sorted(dims) == ["x", "y"]
                else "rename them (ds.rename) and order them (ds.transpose)")
        fail(f"{path}: {name} has dimensions {dims}; the convention needs ('time', 'y', 'x') or "
             f"('time', 'x', 'y'): {hint}")


def _layout(ds, path) -> Layout:
    """Everything but the frames, checked: each refusal is one line naming the file, the value and what to
    do."""
    _velocity_names(ds, path)
    _check_dims(ds, path)
    for name in ("x", "y"):
        if name not in ds.coords:
            fail(f"{path}: no coordinate {name}; the convention needs the positions of the cells' centres "
                 f"along x and y as 1-D coordinates (ds.assign_coords({name}=...))")
    x0, dx, ex = _uniform(ds, "x", path, least=2)
    y0, dy, ey = _uniform(ds, "y", path, least=2)
    nx, ny = int(ds.sizes["x"]), int(ds.sizes["y"])
    if abs(dx - dy) > SPACING_RTOL * dx + 2 * (ex + ey):
        fail(f"{path}: the x spacing {dx:.9g} and the y spacing {dy:.9g} differ; turbjax needs square cells "
             "(resample the file onto a grid of equal spacings, e.g. ds.interp)")
    nt = int(ds.sizes["time"])
    attrs = dict(ds.attrs)
    stride = _whole(attrs, "frame_stride", path, 1, 1)
    if "time" in ds.coords and nt >= 2:
        t0, dt_frame, _ = _uniform(ds, "time", path, least=2)
        dt = dt_frame / stride
        first_step = int(round(t0 / dt))
    else:
        if "time" in ds.coords and nt == 1:
            _uniform(ds, "time", path, least=1)  # finite numbers
        dt, first_step = math.nan, 0
    geometry = {k: _attr(attrs, k, path, required=True) for k in REQUIRED_ATTRS}
    for key in ("diameter", "inflow_velocity"):
        if not geometry[key] > 0 and not math.isnan(geometry[key]):
            fail(f"{path}: global attribute {key}={geometry[key]:g} must be positive (NaN if unknown)"
                 + ("; the flow must go along +x: flip x (x -> -x, u -> -u)" if key == "inflow_velocity"
                    else ""))
    m = NETCDF_FILE_PATTERN.match(Path(path).name)
    reynolds = _attr(attrs, "reynolds", path, required=False)
    if "reynolds" not in attrs and m:
        with contextlib.suppress(ValueError):
            reynolds = float(m.group(1))
    if "reynolds" in attrs and not (math.isnan(reynolds) or reynolds > 0):
        fail(f"{path}: global attribute reynolds={reynolds:g} must be positive (or NaN: unknown)")
    named_k = int(m.group(2)) if m and m.group(2) is not None else PLAIN
    realization = _whole(attrs, "realization", path, named_k, PLAIN)
    units = FlowUnits(dx=dx, diameter=geometry["diameter"], inflow=geometry["inflow_velocity"],
                      cylinder=(geometry["cylinder_x"], geometry["cylinder_y"]), dt=dt, node0=(x0, y0))
    dtype = np.result_type(*(ds[n].dtype for n in VELOCITY))
    shape = (nt, nx, ny, 2)
    snapshots.check_shape(shape, dtype, path)
    meta = {
        "components": "ux,uy",
        "grid_shape": (nx, ny),
        "origin": (0, 0),
        "frame_stride": stride,
        "first_step": first_step,
        "realization": realization,
        "reynolds": reynolds,
        "shedding_period_steps": _attr(attrs, "shedding_period_steps", path, required=False),
        "units": units,
        "dx": dx,
        "dt": dt,
        "generator": str(attrs.get("generator", "")),
    }
    return Layout(shape, np.dtype(dtype), meta)


def netcdf_header(path: str | os.PathLike) -> tuple[tuple[int, ...], np.dtype, dict]:
    """(velocity shape (T, nx, ny, 2), dtype, metadata) from the file's coordinates and attributes only."""
    with open_netcdf(path) as ds:
        layout = _layout(ds, path)
    return layout.shape, layout.dtype, layout.meta


def _read(ds, layout: Layout, path, stride: int, xs: slice, ys: slice) -> np.ndarray:
    """Frames 0, stride, ... of the cells [xs, ys]: only they are read from the file; refused if any holds
    NaN or inf (a fill value reads as NaN)."""
    parts = []
    for name in VELOCITY:
        var = ds[name].isel(time=slice(None, None, stride), x=xs, y=ys).transpose("time", "x", "y")
        parts.append(np.asarray(var.values, dtype=layout.dtype))
    block = np.stack(parts, axis=-1)
    bad = snapshots.nonfinite_frames(block)
    if bad.size:
        i, j, c = (int(a) for a in np.argwhere(~np.isfinite(block[bad[0]]))[0])
        frames = [int(b) * stride for b in bad]
        shown = ", ".join(map(str, frames[:10])) + (", ..." if len(frames) > 10 else "")
        fail(f"{path}: {len(frames)} of the {block.shape[0]} frames read hold NaN or inf (frames {shown}; "
             f"the first in {VELOCITY[c]} at cell x={xs.start + i}, y={ys.start + j}); fill masked cells "
             "(e.g. the cylinder's interior: ds.fillna(0)) or drop those frames")
    return block


def read_netcdf(path: str | os.PathLike, check: bool = True) -> tuple[np.ndarray, dict]:
    """(velocity (T, nx, ny, 2) x index first, components (ux, uy); metadata) of any netCDF/HDF5 file of the
    convention, whatever its name (reynolds NaN when neither an attribute nor the name says it). `check`:
    refuse NaN or inf frames."""
    with open_netcdf(path) as ds:
        layout = _layout(ds, path)
        nt, nx, ny, _ = layout.shape
        if check:
            velocity = _read(ds, layout, path, 1, slice(0, nx), slice(0, ny))
        else:
            velocity = np.stack([np.asarray(ds[n].transpose("time", "x", "y").values, layout.dtype)
                                 for n in VELOCITY], axis=-1)
    return velocity, layout.meta


class NetCDF(Reader):
    """netCDF / HDF5 files of the convention above: `*_Re_{re:g}.nc` (plain run), `*_Re_{re:g}_r{k}.nc`."""

    name = "netcdf"
    label = "netCDF"
    file_template = "*_Re_{re:g}.nc"
    realizations = True
    pattern = NETCDF_FILE_PATTERN
    suffixes = (".nc", ".nc4", ".h5", ".hdf5")  # a single file of any name (turbjax.predict FILE)

    def path(self, directory, reynolds, realization=PLAIN):
        """The one file of the directory named for (Re, realization), whatever stands before `_Re_`; when
        there is none, the name the exporter would give it; several: refused, naming them."""
        directory = Path(directory)
        found = []
        if directory.is_dir():
            for p in directory.iterdir():
                m = self.pattern.match(p.name)
                if not m:
                    continue
                with contextlib.suppress(ValueError):
                    k = PLAIN if m.group(2) is None else int(m.group(2))
                    if float(m.group(1)) == float(reynolds) and k == realization:
                        found.append(p)
        if len(found) > 1:
            names = ", ".join(sorted(p.name for p in found))
            fail(f"{directory} holds {len(found)} netCDF files for Re {float(reynolds):g}"
                 + (f" realization {realization}" if realization != PLAIN else "")
                 + f" ({names}); keep one, or move the others to another directory")
        if found:
            return found[0]
        if realization == PLAIN:
            return directory / NETCDF_TEMPLATE.format(re=float(reynolds))
        return directory / NETCDF_REALIZATION_TEMPLATE.format(re=float(reynolds), k=int(realization))

    def missing_hint(self, directory):
        return (f"put netCDF files named NAME_Re_{{Re}}.nc there (the convention: "
                f"turbjax.data.readers.netcdf), or convert turbjax's: `python -m turbjax.data.convert --to "
                f"netcdf SRC --out {directory}`")

    def header(self, path, trust_pickle=False):
        return netcdf_header(path)

    def read_velocity(self, path, trust_pickle=False, check=True):
        return read_netcdf(path, check=check)

    def read_frames(self, path, *, stride=1, x=slice(None), y=slice(None), trust_pickle=False):
        """Only frames 0, stride, ... of the cells [x, y] are read from the file (and checked for NaN/inf)."""
        with open_netcdf(path) as ds:
            layout = _layout(ds, path)
            _, nx, ny, _ = layout.shape
            return _read(ds, layout, path, int(stride), _cells(x, nx, "x", path), _cells(y, ny, "y", path))

    def period_steps(self, path, meta, n_frames):
        """The file's `shedding_period_steps` attribute (in steps)."""
        period = float(meta["shedding_period_steps"])
        if not (math.isfinite(period) and period > 0):
            fail(f"{path}: no shedding_period_steps attribute (the shedding period, in steps) to find the "
                 "shedding period; set it, or use gap_unit='steps'")
        return period


# --------------------------------------------------------------------------------------------------- writing
def write_netcdf(path: str | os.PathLike, velocity: np.ndarray, units: FlowUnits, *, reynolds: float,
                 first_step: int = 0, frame_stride: int = 1, origin: tuple[int, int] = (0, 0),
                 attrs: dict | None = None, unit_names: tuple[str, str, str] = ("1", "1", "1"),
                 comment: str = "") -> Path:
    """Write velocity (T, nx, ny, 2), components (ux, uy), x index first, as a file of the convention:
    u, v (time, y, x) as given (float32 stays float32), coordinates x, y of the cells' centres (cell (i, j)
    of a window whose first cell is `origin` of the full grid: units.origin + (origin + (i, j)) dx), time
    (first_step + k frame_stride) dt where dt is known, the geometry and `reynolds` as global attributes,
    `frame_stride`, then `attrs`. `unit_names`: the CF `units` of lengths, velocities and times. Atomic (a
    temporary name, then a rename); netCDF4 through h5netcdf."""
    xr = _xarray()
    if importlib.util.find_spec("h5netcdf") is None:
        fail(f"writing {path} needs the h5netcdf backend; {INSTALL_HINT}")
    path = Path(path)
    velocity = np.asarray(velocity)
    if velocity.ndim != 4 or velocity.shape[-1] != 2:
        fail(f"refusing to write {path}: velocity must be shaped (time, nx, ny, 2), got {velocity.shape}")
    bad = snapshots.nonfinite_frames(velocity)
    if bad.size:
        fail(f"refusing to write {path}: {bad.size} frame(s) contain NaN or inf (first at frame {bad[0]})")
    nt, nx, ny, _ = velocity.shape
    length, speed, duration = unit_names
    x = units.origin[0] + (origin[0] + np.arange(nx)) * units.dx
    y = units.origin[1] + (origin[1] + np.arange(ny)) * units.dx
    coords = {
        "x": ("x", x, {"units": length, "long_name": "x of the cells' centres (streamwise)", "axis": "X"}),
        "y": ("y", y, {"units": length, "long_name": "y of the cells' centres (cross-stream)", "axis": "Y"}),
    }
    if math.isfinite(units.dt):
        t = (int(first_step) + np.arange(nt, dtype=np.float64) * int(frame_stride)) * units.dt
        coords["time"] = ("time", t, {"units": duration, "long_name": "time", "axis": "T"})
    dims = ("time", "y", "x")
    data = {name: (dims, velocity[..., c].transpose(0, 2, 1),
                   {"units": speed, "long_name": f"velocity along {axis}"})
            for c, (name, axis) in enumerate((("u", "x"), ("v", "y")))}
    head = {"diameter": float(units.diameter), "inflow_velocity": float(units.inflow),
            "cylinder_x": float(units.cylinder[0]), "cylinder_y": float(units.cylinder[1]),
            "reynolds": float(reynolds), "frame_stride": int(frame_stride)}
    if comment:
        head["comment"] = comment
    ds = xr.Dataset(data, coords=coords, attrs=head | dict(attrs or {}))
    encoding = {name: {"_FillValue": None} for name in (*data, *coords)}  # no missing values
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        ds.to_netcdf(tmp, engine="h5netcdf", encoding=encoding)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
