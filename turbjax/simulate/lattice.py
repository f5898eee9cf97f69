"""D2Q9 lattice, the Lallemand-Luo MRT moment basis, equilibria and the collision, as pure functions.

Populations are stored as their deviation from the rest equilibrium, ``g_i = f_i - w_i`` (rho0 = 1). The
rest state's moments are m_eq(1, 0, 0) and m_eq is linear in rho, so m(f) - m_eq(f) = m(g) - m_eq(delta rho,
j) and the collision acts on g directly (as do the bounce-back rules, whose coefficients sum to one); the
useful information (density fluctuations and momenta of order 1e-2) then fills the float32 mantissa instead of
sitting on top of w_i ~ 0.1..0.44.

Layout: the population index is the leading axis, ``g[i, x, y]``, x first. The collision is generated at trace
time as straight-line per-direction arithmetic (the matrix product M^-1 S M expanded analytically, checked
against the literal matrix form in the tests), so XLA fuses streaming, boundaries and collision into one loop
per population; an einsum over the 9x9 matrix would not fuse.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

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

    Its moments under M are exactly `equilibrium_moments`. Returns a stacked (9, ...) array (NumPy for
    NumPy inputs, else JAX).
    """
    xp = np if all(isinstance(a, (np.ndarray, float, int)) for a in (rho, jx, jy)) else jnp
    j2 = jx * jx + jy * jy
    out = []
    for i in range(9):
        cu = C[i, 0] * jx + C[i, 1] * jy
        out.append(W[i] * (rho + 3 * cu + 4.5 * cu * cu - 1.5 * j2))
    return xp.stack(out)


def _lin(coeffs, planes):
    """sum_i coeffs[i] * planes[i] written out term by term, skipping zeros and multiplications by +-1."""
    acc = None
    for c, p in zip(coeffs, planes, strict=True):
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


def collide(g, s_nu, s_mu):
    """MRT collision g* = g - M^-1 S (M g - m_eq) on deviations g = f - w (a sequence of nine planes).

    Rates: 0 for rho, jx, jy (conserved), s_mu for e and eps (bulk), s_nu for qx, qy, pxx, pxy (shear);
    s_nu and s_mu may be traced scalars. Since every non-conserved moment but e and eps relaxes at s_nu and
    M^-1 m_eq is exactly the incompressible equilibrium, M^-1 S (m - m_eq) expands analytically to
        s_nu (g - g_eq) + (s_mu - s_nu) (M[e, i] n_e + M[eps, i] n_eps) / 36,
    with the non-equilibrium moments n_e = -2 g0 + A + 4 D - 3 j^2 and n_eps = 3 (g0 - A + j^2), where
    A and D are the sums over the axis and diagonal populations. That is BGK's arithmetic plus a few
    operations per node; `collide_reference` is the literal matrix form it is tested against.
    Returns a list of nine planes.
    """
    g = [g[i] for i in range(9)]
    g0 = g[0]
    axis = (g[1] + g[3]) + (g[2] + g[4])
    diag = (g[5] + g[7]) + (g[6] + g[8])
    drho = g0 + axis + diag
    jx = (g[1] - g[3]) + (g[5] - g[7]) + (g[8] - g[6])
    jy = (g[2] - g[4]) + (g[5] - g[7]) + (g[6] - g[8])
    j2 = jx * jx + jy * jy
    n_e = (axis - 2 * g0) + 4 * diag - 3 * j2
    n_eps = 3 * (g0 - axis + j2)
    k = (s_mu - s_nu) * (1.0 / 36.0)
    corr = (k * (4 * (n_eps - n_e)), k * (-n_e - 2 * n_eps), k * (2 * n_e + n_eps))  # rest, axis, diagonal
    base = drho - 1.5 * j2
    out = []
    for i in range(9):
        cx, cy = int(C[i, 0]), int(C[i, 1])
        if i == 0:
            geq = W[0] * base
        else:
            cu = _lin([cx, cy], [jx, jy])
            geq = W[i] * (base + cu * (3.0 + 4.5 * cu))
        out.append(g[i] + s_nu * (geq - g[i]) - corr[0 if i == 0 else (1 if i < 5 else 2)])
    return out


def collide_reference(g, s_nu, s_mu):
    """The MRT collision as written, g - M^-1 S (M g - m_eq), with dense matrices (NumPy; for tests)."""
    g = np.asarray(g, dtype=np.float64)
    m = np.tensordot(M, g, axes=1)
    # m_eq is linear in rho, and the rest state's moments are m_eq(1, 0, 0), so for deviations g = f - w the
    # non-equilibrium part is m(g) - m_eq(delta rho, j).
    meq = np.stack(equilibrium_moments(m[0], m[1], m[2]))
    S = np.diag([0, 0, 0, s_mu, s_mu, s_nu, s_nu, s_nu, s_nu])
    return g - np.tensordot(MINV @ S, m - meq, axes=1)


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

