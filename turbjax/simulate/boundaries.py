"""Named boundary rules, as small factories that `step.make_step` composes.

A streaming rule `rule(j, s, view) -> s` replaces population j's pulled value `s` (nx, ny) where it applies;
`view(i, sx, sy)` is population i of the ghosted pre-streaming state seen from the interior shifted for pull
streaming (out[x, y] = g*_i[x - sx, y - sy]). Rules run in the order given; where their masks overlap (the
corners of a channel) the later rule wins. Each rule touches only the populations that enter through its
boundary and leaves the rest unchanged, so a rule costs nothing for the directions it does not concern.

A patch rule `patch(src, s_nu, s_mu) -> (corner, planes)` recomputes the post-collision planes of a small
rectangle (ghosted index of its first node, nine planes), which the step writes over the bulk update.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import lattice
from turbjax.simulate.cylinder import CylinderPatch
from turbjax.simulate.lattice import OPP, C, W


def zero_gradient_outlet(nx: int, ny: int):
    """Outflow at x = nx - 1: the unknown (leftward) populations are those streamed into column nx - 2."""
    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)

    def rule(j, s, view):
        cx, cy = int(C[j, 0]), int(C[j, 1])
        if cx != -1:
            return s
        # Zero gradient: the same y-shift without the x-shift.
        return jnp.where(iota_x == nx - 1, view(j, 0, cy), s)

    return rule


def velocity_inlet(nx: int, ny: int, u: float):
    """Inlet at x = 0 with velocity (u, 0) by bounce-back with wall velocity: g_j = g*_opp(j) + 6 w_j
    c_j.u."""
    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)

    def rule(j, s, view):
        cx = int(C[j, 0])
        if cx != 1:
            return s
        return jnp.where(iota_x == 0, view(OPP[j], 0, 0) + 6 * W[j] * cx * u, s)

    return rule


def moving_walls(nx: int, ny: int, u_bottom: float, u_top: float):
    """Halfway bounce-back walls at y = -1/2 and ny - 1/2 moving with x-velocities u_bottom and u_top."""
    iota_y = lax.broadcasted_iota(jnp.int32, (nx, ny), 1)

    def rule(j, s, view):
        cx, cy = int(C[j, 0]), int(C[j, 1])
        if cy == 0:
            return s
        u_wall = u_bottom if cy == 1 else u_top
        return jnp.where(iota_y == (0 if cy == 1 else ny - 1), view(OPP[j], 0, 0) + 6 * W[j] * cx * u_wall, s)

    return rule


def bouzidi_cylinder(cyl: CylinderPatch, collide=lattice.collide):
    """The patch around the cylinder recomputed with Bouzidi's interpolated bounce-back (see CylinderPatch;
    half-way bounce-back where the patch's q = 1/2); solid nodes held at rest (g = 0).
    `collide(g, s_nu, s_mu)` is the step's collision operator (the bulk's, so the patch's nodes collide like
    every other)."""
    x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
    bx, by = x1 - x0, y1 - y0

    def patch(src, s_nu, s_mu):
        dtype = src[0].dtype
        # Ghosted coordinates: node x sits at index x + 1; region covers [x0 - 1, x1 + 1) x [y0 - 1, y1 + 1).
        region = [p[x0:x1 + 2, y0:y1 + 2] for p in src]
        star = [r[1:1 + bx, 1:1 + by] for r in region]
        pgs = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            sj = region[j][1 - cx:1 - cx + bx, 1 - cy:1 - cy + by]
            if cyl.link[j].any():
                i = OPP[j]
                si = region[i][1 + cx:1 + cx + bx, 1 + cy:1 + cy + by]  # gs_i(x) = g*_i(x - c_i)
                a, b, c = (np.asarray(v[j], dtype) for v in (cyl.a, cyl.b, cyl.c))
                sj = jnp.where(cyl.link[j], a * star[i] + b * si + c * star[j], sj)
            pgs.append(sj)
        planes = [jnp.where(cyl.solid, jnp.zeros((), dtype), o).astype(dtype)
                  for o in collide(pgs, s_nu, s_mu)]
        return (x0 + 1, y0 + 1), planes

    return patch
