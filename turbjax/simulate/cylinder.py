"""Cylinder geometry for Bouzidi interpolated bounce-back: solid nodes, cut links, exact wall distances q.

Plain half-way bounce-back on the staircase cylinder (boundary "bounce_back") is the same rule on the same cut
links with every wall distance taken as q = 1/2, where Bouzidi's coefficients are a = 1, b = c = 0.
Everything here is NumPy, computed once per geometry; the boundary rule `boundaries.bouzidi_cylinder` embeds
the results as constants.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from turbjax.simulate.lattice import OPP, C
from turbjax.simulate.presets import check_numerics

MARGIN = 3  # cells between the cylinder's bounding box and the patch edge (Bouzidi reads 2 cells outward)


@dataclasses.dataclass(frozen=True, eq=False)
class CylinderPatch:
    """The rectangle [x0, x1) x [y0, y1) of nodes whose update involves the cylinder.

    For incoming direction j at fluid node x whose link x - c_j crosses the wall (i = opp(j) points to the
    wall, the wall sits at x + q c_i, 0 < q <= 1), Bouzidi's linear interpolation gives the post-streaming
        q <  1/2:  g_j(x) = 2q g*_i(x) + (1 - 2q) g*_i(x - c_i)        [= 2q g*_i(x) + (1-2q) gs_i(x)]
        q >= 1/2:  g_j(x) = g*_i(x) / (2q) + (1 - 1/(2q)) g*_j(x)
    with g* post-collision values at the previous step and gs_i(x) = g*_i(x - c_i) the streamed value. So each
    update is  a_j g*_i + b_j gs_i + c_j g*_j  at the node itself: arrays a, b, c of shape (9, bx, by).
    """

    x0: int
    x1: int
    y0: int
    y1: int
    solid: np.ndarray  # (bx, by) bool
    link: np.ndarray  # (9, bx, by) bool: incoming direction j at this node comes through the wall
    q: np.ndarray  # (9, bx, by) wall distance along opp(j), nan where no link
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray


def cylinder_patch(nx: int, ny: int, dx: float, centre: tuple[float, float], radius: float,
                   boundary: str = "bouzidi") -> CylinderPatch:
    """Solid mask, cut links and Bouzidi coefficients of a circle, restricted to a patch around it.

    boundary "bouzidi": q is the exact wall distance along each cut link; "bounce_back": q = 1/2 on every cut
    link (half-way bounce-back on the staircase of solid nodes)."""
    check_numerics(boundary=boundary)
    # Work in lattice units: node (i, j) at (i + 0.5, j + 0.5).
    cx, cy, r = centre[0] / dx, centre[1] / dx, radius / dx
    x0 = int(np.floor(cx - r - 0.5)) - MARGIN
    x1 = int(np.ceil(cx + r - 0.5)) + MARGIN + 1
    y0 = int(np.floor(cy - r - 0.5)) - MARGIN
    y1 = int(np.ceil(cy + r - 0.5)) + MARGIN + 1
    if x0 < 1 or y0 < 1 or x1 > nx - 1 or y1 > ny - 1:
        raise ValueError(
            f"cylinder at centre {centre} with radius {radius} is within {MARGIN + 1} cells of the domain "
            f"boundary (patch x {x0}..{x1}, y {y0}..{y1} of a {nx}x{ny} grid); move it inward or refine dx"
        )
    X, Y = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5, indexing="ij")
    solid = (X - cx) ** 2 + (Y - cy) ** 2 <= r * r
    bx, by = X.shape
    link = np.zeros((9, bx, by), bool)
    q = np.full((9, bx, by), np.nan)
    for j in range(1, 9):
        i = OPP[j]
        ex, ey = C[i]
        # Neighbour in direction i (towards the wall) is x + c_i = x - c_j.
        nb_solid = (X + ex - cx) ** 2 + (Y + ey - cy) ** 2 <= r * r
        cut = ~solid & nb_solid
        # Smallest t in (0, 1] with |x + t c_i - centre| = r: a t^2 + b t + c = 0.
        dxn, dyn = X - cx, Y - cy
        qa = ex * ex + ey * ey
        qb = 2 * (dxn * ex + dyn * ey)
        qc = dxn**2 + dyn**2 - r * r
        disc = np.maximum(qb * qb - 4 * qa * qc, 0.0)
        t = (-qb - np.sqrt(disc)) / (2 * qa)
        link[j] = cut
        q[j] = np.where(cut, t, np.nan)
    if np.any(link & ~((q > 0) & (q <= 1 + 1e-12))):
        raise AssertionError("internal error: Bouzidi wall distance outside (0, 1]")
    if boundary == "bounce_back":
        q = np.where(link, 0.5, np.nan)
    return CylinderPatch(x0, x1, y0, y1, solid, link, q, *bouzidi_coefficients(link, q))


def bouzidi_coefficients(link: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, c) of CylinderPatch for wall distances q on the cut links (zero elsewhere); q = 1/2 gives
    a = 1, b = c = 0: half-way bounce-back, g_j(x) = g*_i(x)."""
    qq = np.where(link, q, 1.0)
    lo = qq < 0.5
    a = np.where(link, np.where(lo, 2 * qq, 1 / (2 * qq)), 0.0)
    b = np.where(link & lo, 1 - 2 * qq, 0.0)
    c = np.where(link & ~lo, 1 - 1 / (2 * qq), 0.0)
    return a, b, c
