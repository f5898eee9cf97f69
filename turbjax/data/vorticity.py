"""Vorticity of 2-D velocity snapshots.

Velocity arrays are shaped (time, nx, ny, 2), x index first, components (ux, uy), unless stated otherwise.
Every function here is written with slicing and arithmetic only, so it runs in the namespace of its input:
a numpy array is computed in numpy and keeps its dtype (that is how the course's float64 files are reproduced
bit for bit), a jax array is computed in jax.numpy and the function is jit-able.

Schemes
  `vorticity(velocity, dx)`        second-order central differences inside; at the four edges the second-order
                                   one-sided stencil (-3 f0 + 4 f1 - f2) / (2 dx) (mirrored at the far edge),
                                   so the output keeps the grid (T, nx, ny) and is exact for fields that are
                                   quadratic in x and y, edges included.
  `vorticity_forward(velocity)`    the course notebook's first-order forward differences on (ux, uy) in
                                   lattice units (dx = 1): (T, nx - 1, ny - 1).
  `vorticity_course(raw)`          the course notebook's exact expression on its own files, which store
                                   (-ux, uy); bit-for-bit equal to
                                   np.diff(raw, axis=1)[..., :-1, 1] + np.diff(raw, axis=2)[:, :-1, :, 0].

The wake window of the data pipeline
  `velocity_window(...)`           the velocity cells a crop window of the vorticity grid needs (with a halo)
  `wake_vorticity(velocity, ...)`  velocity -> cropped, downsampled float32 vorticity images, differencing
                                   only the cells the window needs; bit-for-bit equal to differencing the
                                   whole grid and cropping afterwards. Works on a stored sub-window of the
                                   grid (`origin`).
Velocity components are "ux,uy" (turbjax) or "-ux,uy" (the course's files): COMPONENTS.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from turbjax.data.transforms import check_window, downsample

SCHEMES = ("central", "course")
COMPONENTS = ("ux,uy", "-ux,uy")
HALO = 2  # cells of velocity kept around the crop window: the one-sided edge stencil reaches 2 cells in


def _xp(x):
    return jnp if isinstance(x, jax.Array) else np


def _check_velocity(velocity, name: str = "velocity") -> None:
    if velocity.ndim != 4 or velocity.shape[-1] != 2:
        raise ValueError(f"{name} must be shaped (time, nx, ny, 2), got {tuple(velocity.shape)}")


def _take(f, axis: int, start, stop):
    index = [slice(None)] * f.ndim
    index[axis] = slice(start, stop)
    return f[tuple(index)]


def derivative(f, axis: int, dx: float = 1.0):
    """d f / d(axis) on a uniform grid: second-order central inside, second-order one-sided at both edges.

    Needs at least 3 points along `axis`. Exact (up to rounding) for polynomials of degree <= 2.
    """
    n = f.shape[axis]
    if n < 3:
        raise ValueError(f"second-order differences need at least 3 points along axis {axis}, got {n}")
    xp = _xp(f)
    h2 = 2.0 * dx
    inner = (_take(f, axis, 2, None) - _take(f, axis, None, -2)) / h2
    first = (-3.0 * _take(f, axis, 0, 1) + 4.0 * _take(f, axis, 1, 2) - _take(f, axis, 2, 3)) / h2
    last = (3.0 * _take(f, axis, n - 1, n) - 4.0 * _take(f, axis, n - 2, n - 1)
            + _take(f, axis, n - 3, n - 2)) / h2
    return xp.concatenate([first, inner, last], axis=axis)


def vorticity(velocity, dx: float = 1.0):
    """omega = d(uy)/dx - d(ux)/dy, (T, nx, ny, 2) -> (T, nx, ny); see the module docstring for the edges.

    `dx` is the cell size in the units you want omega in; the data pipeline uses dx = 1 (lattice units, one
    cell), which gives the course's magnitudes (its colour scale is +-0.005).
    """
    _check_velocity(velocity)
    return derivative(velocity[..., 1], axis=1, dx=dx) - derivative(velocity[..., 0], axis=2, dx=dx)


def vorticity_forward(velocity):
    """The course's forward differences on (ux, uy), lattice units: (T, nx, ny, 2) -> (T, nx - 1, ny - 1).

    omega[t, i, j] = (uy[i+1, j] - uy[i, j]) - (ux[i, j+1] - ux[i, j]); bit-for-bit equal to
    `vorticity_course` applied to the course's layout (-ux, uy), because IEEE negation is exact.
    """
    _check_velocity(velocity)
    ux, uy = velocity[..., 0], velocity[..., 1]
    return (uy[:, 1:, :-1] - uy[:, :-1, :-1]) - (ux[:, :-1, 1:] - ux[:, :-1, :-1])


def vorticity_course(raw):
    """The course notebook's formula on its own files (components (-ux, uy)): (T, nx, ny, 2) -> (T, nx-1,
    ny-1).

    Exactly `np.diff(raw, axis=1)[..., :-1, 1] + np.diff(raw, axis=2)[:, :-1, :, 0]`, term for term, so a
    float64 numpy input gives the course's float64 array bit for bit.
    """
    _check_velocity(raw, "raw (course layout)")
    d_dx = raw[:, 1:] - raw[:, :-1]  # np.diff(raw, axis=1)
    d_dy = raw[:, :, 1:] - raw[:, :, :-1]  # np.diff(raw, axis=2)
    return d_dx[..., :-1, 1] + d_dy[:, :-1, :, 0]


def vorticity_grid_shape(nx: int, ny: int, scheme: str) -> tuple[int, int]:
    """Shape (nx', ny') of the vorticity grid that `scheme` produces from an nx x ny velocity grid."""
    if scheme == "central":
        return nx, ny
    if scheme == "course":
        return nx - 1, ny - 1
    raise ValueError(f"unknown vorticity scheme {scheme!r}; expected one of {SCHEMES}")


def velocity_window(nx: int, ny: int, *, crop_x, crop_y, scheme: str = "central", where: str = ""):
    """The velocity cells that the vorticity crop window needs, and the window relative to them.

    Returns (x, y, local_x, local_y): slices of the nx x ny velocity grid, and crop_x, crop_y shifted to the
    block velocity[:, x, y]. "course" (forward differences) needs one extra cell after the window; "central"
    keeps up to HALO = 2 cells on each side (clamped at the grid), so the stencil, one-sided at a true grid
    edge, is the same as on the whole grid. Error if the window leaves the scheme's vorticity grid.
    """
    gx, gy = vorticity_grid_shape(nx, ny, scheme)
    grid = (f"the {gx}x{gy} {scheme!r} vorticity grid of a {nx}x{ny} velocity grid"
            + (f" ({where})" if where else ""))
    x0, x1 = check_window(crop_x, gx, "crop_x", f" x range [0, {gx}) of {grid}")
    y0, y1 = check_window(crop_y, gy, "crop_y", f" y range [0, {gy}) of {grid}")
    if scheme == "course":
        a, b, c, d = x0, x1 + 1, y0, y1 + 1
    else:
        a, b = max(0, x0 - HALO), min(nx, x1 + HALO)
        c, d = max(0, y0 - HALO), min(ny, y1 + HALO)
    return slice(a, b), slice(c, d), (x0 - a, x1 - a), (y0 - c, y1 - c)


def stored_cells(xs: slice, ys: slice, origin, stored_shape, where: str = "") -> tuple[slice, slice]:
    """Full-grid cell slices -> slices of a stored window that starts at full-grid cell `origin` and has
    `stored_shape` cells; error (naming the file) if the cells are not all stored."""
    (ox, oy), (wx, wy) = (int(o) for o in origin), (int(s) for s in stored_shape)
    if xs.start < ox or xs.stop > ox + wx or ys.start < oy or ys.stop > oy + wy:
        raise ValueError(
            f"the crop window needs velocity cells x [{xs.start}, {xs.stop}) y [{ys.start}, {ys.stop}) of "
            f"the full grid (crop plus its {HALO}-cell vorticity halo), but {where or 'the file'} stores "
            f"only x [{ox}, {ox + wx}) y [{oy}, {oy + wy}); choose crop_x, crop_y (full-grid coordinates) "
            "inside the stored window"
        )
    return slice(xs.start - ox, xs.stop - ox), slice(ys.start - oy, ys.stop - oy)


def wake_vorticity(velocity, *, components: str = "ux,uy", stride: int = 1, crop_x, crop_y,
                   scheme: str = "central", factor: int = 1, where: str = "", grid=None, origin=(0, 0)):
    """Velocity (T, wx, wy, 2) -> float32 vorticity images (ceil(T / stride), h, w), cropping before
    differencing.

    `components` is "ux,uy" (turbjax) or "-ux,uy" (the course's files). Scheme "course" on "-ux,uy" is the
    course's exact formula; on "ux,uy" the same forward differences (bit-for-bit the same numbers); scheme
    "central" is `vorticity(., dx=1)`. The crop window is on the vorticity grid of the scheme (course:
    (nx - 1, ny - 1)) of the full grid `grid` (nx, ny); `velocity` holds the cells from full-grid cell
    `origin` on (default: the whole grid). The result equals differencing the whole grid and cropping
    afterwards.
    """
    if components not in COMPONENTS:
        raise ValueError(f"unknown velocity components {components!r}; expected one of {COMPONENTS}")
    _, wx, wy, _ = velocity.shape
    nx, ny = (int(g) for g in grid) if grid is not None else (wx + int(origin[0]), wy + int(origin[1]))
    xs, ys, (x0, x1), (y0, y1) = velocity_window(nx, ny, crop_x=crop_x, crop_y=crop_y, scheme=scheme,
                                                 where=where)
    xs, ys = stored_cells(xs, ys, origin, (wx, wy), where)
    v = velocity[::stride, xs, ys]
    if scheme == "course":
        omega = vorticity_course(v) if components == "-ux,uy" else vorticity_forward(v)
    else:
        if components == "-ux,uy":
            v = np.stack([-v[..., 0], v[..., 1]], axis=-1)
        omega = vorticity(v, dx=1.0)[:, x0:x1, y0:y1]
    return np.asarray(downsample(omega, factor), dtype=np.float32)
