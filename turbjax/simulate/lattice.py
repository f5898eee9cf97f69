"""D2Q9 lattice, the Lallemand-Luo MRT moment basis, equilibria and the collision, as pure functions.

Populations are stored as their deviation from the rest equilibrium, ``g_i = f_i - w_i`` (rho0 = 1). The MRT
collision is linear in f and the rest state is a fixed point of it, so it acts on g unchanged; the useful
information (density fluctuations and momenta of order 1e-2) then fills the float32 mantissa instead of
sitting on top of w_i ~ 0.1..0.44.

Layout: the population index is the leading axis, ``g[i, x, y]``, x first. The collision is generated at trace
time as straight-line per-direction arithmetic from the numeric matrices (zero entries skipped), so XLA fuses
the whole step into one elementwise kernel; an einsum over the 9x9 matrix would not fuse.
"""

from __future__ import annotations

import numpy as np

import jax.numpy as jnp

# Velocities in the Lallemand-Luo order: rest, the 4 axis links, the 4 diagonals.
C = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 1], [-1, 1], [-1, -1], [1, -1]], dtype=np.int64)
W = np.array([4 / 9] + [1 / 9] * 4 + [1 / 36] * 4)
OPP = np.array([0, 3, 4, 1, 2, 7, 8, 5, 6])
CS2 = 1.0 / 3.0

MOMENT_NAMES = ("rho", "jx", "jy", "e", "eps", "qx", "qy", "pxx", "pxy")


def moment_matrix() -> np.ndarray:
    """M[k, i]: moment k of population i, rows 1, X, Y, 3E-4, (9E^2-21E+8)/2, 3XE-5X, 3YE-5Y, X^2-Y^2, XY."""
    X = C[:, 0].astype(np.float64)
    Y = C[:, 1].astype(np.float64)
    E = X**2 + Y**2
    rows = [np.ones(9), X, Y, 3 * E - 4, (9 * E**2 - 21 * E + 8) / 2, 3 * X * E - 5 * X, 3 * Y * E - 5 * Y,
            X**2 - Y**2, X * Y]
    return np.stack(rows)


M = moment_matrix()
# Rows are orthogonal, so the inverse is M^T scaled by the squared row norms (exact small integers).
ROW_NORM2 = (M**2).sum(axis=1)
MINV = M.T / ROW_NORM2


def relaxation_rate(viscosity_lattice):
    """s = 1 / (0.5 + 3 nu) with nu in lattice units (nu * dt / dx^2); tau = 1/s."""
    return 1.0 / (0.5 + 3.0 * viscosity_lattice)


def equilibrium_moments(rho, jx, jy):
    """Lallemand-Luo equilibrium moments (quadratic terms over the reference density rho0 = 1)."""
    q2 = jx * jx + jy * jy
    return (rho, jx, jy, -2 * rho + 3 * q2, rho - 3 * q2, -jx, -jy, jx * jx - jy * jy, jx * jy)


def equilibrium(rho, jx, jy):
    """The incompressible (He-Luo) D2Q9 equilibrium f_i = w_i (rho + 3 c.j + 4.5 (c.j)^2 - 1.5 j^2), rho0 = 1.

    Its moments under M are exactly `equilibrium_moments`. Returns a stacked (9, ...) array.
    """
    j2 = jx * jx + jy * jy
    out = []
    for i in range(9):
        cu = C[i, 0] * jx + C[i, 1] * jy
        out.append(W[i] * (rho + 3 * cu + 4.5 * cu * cu - 1.5 * j2))
    return jnp.stack(out)


def _lin(coeffs, planes):
    """sum_i coeffs[i] * planes[i] written out term by term, skipping zeros and multiplications by +-1."""
    acc = None
    for c, p in zip(coeffs, planes):
        c = float(c)
        if c == 0:
            continue
        term = p if c == 1 else (-p if c == -1 else c * p)
        if acc is None:
            acc = term
        elif c == -1:
            acc = acc - p
        else:
            acc = acc + term
    return acc


def moments(g):
    """All nine moments of a list/array of nine planes (straight-line code)."""
    return tuple(_lin(M[k], [g[i] for i in range(9)]) for k in range(9))


def macroscopic(g):
    """(delta rho, jx, jy) of deviations g (so rho = 1 + delta rho); velocity u = j / rho0 = j."""
    planes = [g[i] for i in range(9)]
    return _lin(M[0], planes), _lin(M[1], planes), _lin(M[2], planes)


def collide(g, s_nu, s_mu):
    """MRT collision g* = g - M^-1 S (M g - m_eq) on deviations g = f - w (a sequence of nine planes).

    Rates: 0 for rho, jx, jy (conserved), s_mu for e and eps (bulk), s_nu for qx, qy, pxx, pxy (shear).
    s_nu and s_mu may be traced scalars. Returns a list of nine planes.
    """
    g = [g[i] for i in range(9)]
    drho, jx, jy = _lin(M[0], g), _lin(M[1], g), _lin(M[2], g)
    jxx, jyy = jx * jx, jy * jy
    q2 = jxx + jyy
    # Non-equilibrium parts of the non-conserved moments of g; the rest-state equilibrium cancels in g = f - w.
    n_e = _lin(M[3], g) - (-2 * drho + 3 * q2)
    n_eps = _lin(M[4], g) - (drho - 3 * q2)
    n_qx = _lin(M[5], g) + jx
    n_qy = _lin(M[6], g) + jy
    n_pxx = _lin(M[7], g) - (jxx - jyy)
    n_pxy = _lin(M[8], g) - jx * jy
    # a_k = s_k n_k / |M_k|^2, then g*_i = g_i - sum_k M[k, i] a_k.
    a = {3: (s_mu / ROW_NORM2[3]) * n_e, 4: (s_mu / ROW_NORM2[4]) * n_eps, 5: (s_nu / ROW_NORM2[5]) * n_qx,
         6: (s_nu / ROW_NORM2[6]) * n_qy, 7: (s_nu / ROW_NORM2[7]) * n_pxx, 8: (s_nu / ROW_NORM2[8]) * n_pxy}
    ks = sorted(a)
    return [g[i] - _lin([M[k, i] for k in ks], [a[k] for k in ks]) for i in range(9)]


def collide_bgk(g, s_nu):
    """Single-relaxation-time (BGK) collision with the same incompressible equilibrium; a speed baseline."""
    g = [g[i] for i in range(9)]
    drho, jx, jy = _lin(M[0], g), _lin(M[1], g), _lin(M[2], g)
    j2 = jx * jx + jy * jy
    out = []
    for i in range(9):
        cu = _lin(C[i], [jx, jy]) if i else None
        geq = W[i] * drho - W[i] * 1.5 * j2
        if cu is not None:
            geq = geq + W[i] * (3 * cu + 4.5 * cu * cu)
        out.append(g[i] + s_nu * (geq - g[i]))
    return out
