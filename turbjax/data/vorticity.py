"""Vorticity of 2-D velocity snapshots.

Velocity arrays are shaped (time, nx, ny, 2), x index first, components (ux, uy), unless stated otherwise.
Every function here is written with slicing and arithmetic only, so it runs in the namespace of its input:
a numpy array is computed in numpy and keeps its dtype (that is how the course's float64 files are reproduced
bit for bit), a jax array is computed in jax.numpy and the function is jit-able.

Schemes
  `vorticity(velocity, dx)`        second-order central differences inside; at the four edges the second-order
                                   one-sided stencil (-3 f0 + 4 f1 - f2) / (2 dx) (mirrored at the far edge), so
                                   the output keeps the grid (T, nx, ny) and is exact for fields that are
                                   quadratic in x and y, edges included.
  `vorticity_forward(velocity)`    the course notebook's first-order forward differences on (ux, uy) in lattice
                                   units (dx = 1): (T, nx - 1, ny - 1).
  `vorticity_course(raw)`          the course notebook's exact expression on its own files, which store
                                   (-ux, uy); bit-for-bit equal to
                                   np.diff(raw, axis=1)[..., :-1, 1] + np.diff(raw, axis=2)[:, :-1, :, 0].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

SCHEMES = ("central", "course")


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
    last = (3.0 * _take(f, axis, n - 1, n) - 4.0 * _take(f, axis, n - 2, n - 1) + _take(f, axis, n - 3, n - 2)) / h2
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
    """The course notebook's formula on its own files (components (-ux, uy)): (T, nx, ny, 2) -> (T, nx-1, ny-1).

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
