"""The lattice Boltzmann step kernel: pull streaming, the boundary rules, the collision, for one grid.

One step (vmapped over the batch axis by the runner):
    state g* (post-collision deviations, nine ghosted planes)
      -> pull streaming (static slices) with the boundary rules of `boundaries` as `where` on iota masks:
           inlet x = 0 and walls y = 0, ny-1: bounce-back with wall velocity (U, 0): g_j = g*_opp(j) + 6 w_j
           c_j.u_w outlet x = nx-1: zero gradient, the unknown populations are those streamed into column nx-2
      -> collision (MRT by default, or BGK) -> new g*, written as whole ghosted planes (zero ring)
    and, on a small patch around the cylinder, the same update (the same collision) recomputed with Bouzidi's
    interpolated bounce-back or, for boundary "bounce_back", plain half-way bounce-back (solid nodes held at
    rest), written over the bulk's planes with a static dynamic-update-slice (in place).
By default XLA's CPU backend does no multi-output loop fusion (only behind a backend extra option): written
plainly, each step compiles to nine fused loops, one per population, and each recomputes the density, momentum
and non-equilibrium moments (~475 operations per update). `one_loop` hands the nine new planes to a variadic
reduction instead (each plane summed with a zero plane, which is exact), the one XLA:CPU construct found that
evaluates several outputs in one loop; the moments are computed once per node, so the step does about twice
the updates per CPU-second of the nine loops. The loop writes the ghosted planes themselves (the ring padded
with zeros inside the loop): a loop that wrote only the interior needed a copy of all nine planes into the
ghosted buffers every step. The shear rate comes as a plane (`rate_plane`): read as a scalar, it kept LLVM
from vectorizing the padded loop. On CPU the step is compiled with `compiler_options()` (512-bit vectors on
AVX-512 CPUs), and XLA:CPU splits the loop into row blocks over its threads; the CLI also shards the batch
axis over CPU devices. The figures behind these choices are in docs/performance_notes.md.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import boundaries, lattice
from turbjax.simulate.cylinder import CylinderPatch, cylinder_patch
from turbjax.simulate.lattice import C, W
from turbjax.simulate.presets import FlowParams, check_numerics

# The collision operators by name, each collide(g, s_nu, s_mu) -> nine planes (BGK has no bulk rate).
COLLIDE = {"mrt": lattice.collide, "bgk": lambda g, s_nu, s_mu: lattice.collide_bgk(g, s_nu)}


@dataclasses.dataclass(frozen=True, eq=False)
class Domain:
    """Static boundary configuration of a rectangular nx x ny lattice.

    inlet: x-velocity imposed at x = 0 by bounce-back (None: periodic in x unless outlet is set).
    walls: (bottom, top) x-velocities of halfway bounce-back walls at y = -1/2 and ny - 1/2 (None: periodic).
    outlet: zero-gradient outflow at x = nx - 1.
    cylinder: Bouzidi patch (or its half-way bounce-back form, q = 1/2) or None.
    """

    nx: int
    ny: int
    inlet: float | None = None
    walls: tuple[float, float] | None = None
    outlet: bool = False
    cylinder: CylinderPatch | None = None

    @property
    def periodic_x(self) -> bool:
        return self.inlet is None and not self.outlet

    @property
    def periodic_y(self) -> bool:
        return self.walls is None


def channel_domain(p: FlowParams) -> Domain:
    """The preset's channel: velocity inlet, walls moving with the inflow, outlet, `p.boundary`'s cylinder."""
    patch = cylinder_patch(p.nx, p.ny, p.dx, p.centre, p.radius, p.boundary)
    return Domain(p.nx, p.ny, inlet=p.inflow, walls=(p.inflow, p.inflow), outlet=True, cylinder=patch)


def streaming_rules(domain: Domain) -> list:
    """The domain's streaming rules in the order they apply: outlet, inlet, walls (walls win at corners)."""
    nx, ny = domain.nx, domain.ny
    rules = []
    if domain.outlet:
        rules.append(boundaries.zero_gradient_outlet(nx, ny))
    if domain.inlet is not None:
        rules.append(boundaries.velocity_inlet(nx, ny, domain.inlet))
    if domain.walls is not None:
        rules.append(boundaries.moving_walls(nx, ny, *domain.walls))
    return rules


def pull(view, rules) -> list:
    """The nine streamed planes: population j pulled along its lattice velocity by `view(j, sx, sy)` (the
    plane shifted by (sx, sy), in whatever layout the caller stores), then the boundary `rules` in order."""
    out = []
    for j in range(9):
        s = view(j, int(C[j, 0]), int(C[j, 1]))
        for rule in rules:
            s = rule(j, s, view)
        out.append(s)
    return out


def make_step(domain: Domain, *, collision: str = "mrt", naive_f32: bool = False, fused: bool = True):
    """step(src, s_nu, s_mu) -> new planes for one grid: stream + boundaries + collide.

    s_nu: the shear relaxation rate, a scalar or a plane of it (nx, ny) (`rate_plane`). On CPU pass a plane
    that is a buffer of its own (an argument of the compiled program): a rate read as one scalar inside the
    loop that pads the ring left LLVM's loop unvectorized (docs/performance_notes.md).

    `collision` "mrt" (`lattice.collide`) or "bgk" (`lattice.collide_bgk`, s_mu unused) for every node, the
    cylinder's patch included (the runner passes the preset's `FlowParams.collision`).

    Planes are stored with a ghost ring, nine arrays of shape (nx + 2, ny + 2) holding post-collision
    deviations g* = f* - w; the step reads `src` at shifted offsets (pull streaming is a static slice) and
    returns nine new ghosted planes whose ring is zero. The ghosts of a channel are never read unmasked (the
    inlet, wall and outlet rules replace every population that would come from outside); periodic axes
    (a domain without inlet/outlet, or without walls) refresh their ghosts by wrapping first. Two steps per
    loop iteration (`trajectory.make_advance`) let XLA write each step's planes over the buffers of the step
    before last, without copies.

    naive_f32 rounds the full populations f = w + g to float32 after each step, emulating a solver that stores
    f itself (used only to show why the deviations are stored).

    fused (default) computes the nine new planes in one loop (`one_loop`); fused=False leaves XLA its nine
    loops (the same HLO arithmetic; kept as the reference the tests and the benchmark compare against). The
    two agree to rounding, not bit for bit (after one float32 step ~18% of the values differ by about an ulp):
    LLVM compiles the two loop forms differently, presumably contracting different multiply-adds.
    """
    nx, ny = domain.nx, domain.ny
    check_numerics(collision=collision)
    collide = COLLIDE[collision]
    rules = streaming_rules(domain)
    patches = [boundaries.bouzidi_cylinder(domain.cylinder, collide)] if domain.cylinder is not None else []

    def step(src, s_nu, s_mu):
        dtype = src[0].dtype
        src = [wrap_ghosts(p, nx, ny, domain.periodic_x, domain.periodic_y) for p in src]
        new = collide(pull(lambda i, sx, sy: shifted(src[i], sx, sy, nx, ny), rules), s_nu, s_mu)
        new = [o.astype(dtype) for o in new]
        if naive_f32:
            new = [_round_f32(o, W[j]) for j, o in enumerate(new)]
        # The ring is padded inside the loop that computes the planes, so they need no copy into a buffer.
        out = [jnp.pad(o, 1) for o in new]
        if fused:
            out = one_loop(*out)
        for patch in patches:
            corner, planes = patch(src, _patch_rate(s_nu, domain.cylinder), s_mu)
            if naive_f32:
                planes = [_round_f32(o, W[j]) for j, o in enumerate(planes)]
            if fused:
                planes = one_loop(*planes)
            out = [lax.dynamic_update_slice(o, pt, corner) for o, pt in zip(out, planes, strict=True)]
        return tuple(out)

    return step


def rate_plane(s_nu, nx: int, ny: int):
    """Relaxation rates (...) -> (..., nx, ny) planes (NumPy): the form of s_nu that `make_step`'s step reads
    fastest on CPU, passed to the compiled program as an argument."""
    s_nu = np.asarray(s_nu)
    return np.ascontiguousarray(np.broadcast_to(s_nu[..., None, None], s_nu.shape + (nx, ny)))


def _patch_rate(s_nu, cyl: CylinderPatch):
    """The cylinder patch's part of a rate plane (a scalar rate as it is)."""
    return s_nu[cyl.x0:cyl.x1, cyl.y0:cyl.y1] if jnp.ndim(s_nu) == 2 else s_nu


def one_loop(*planes):
    """The planes, computed together in one loop: XLA:CPU fuses each elementwise output into a loop of its own
    and recomputes shared subexpressions in each; a variadic reduction is a single loop with several outputs.
    Each plane is summed over a stacked zero plane (p + 0 = p exactly; -0.0 becomes +0.0)."""
    ops = [jnp.stack([p, jnp.zeros_like(p)]) for p in planes]
    return lax.reduce(ops, [jnp.zeros((), p.dtype) for p in planes],
                      lambda a, b: tuple(x + y for x, y in zip(a, b, strict=True)), (0,))


def compiler_options(platform: str | None = None) -> dict:
    """XLA options for programs that run the step: on CPU, prefer 512-bit vectors (XLA:CPU otherwise emits
    256-bit ones even on AVX-512 CPUs; LLVM caps the preference at the widest vectors a CPU has). The gain is
    in docs/performance_notes.md."""
    platform = jax.default_backend() if platform is None else platform
    return {"xla_cpu_prefer_vector_width": 512} if platform == "cpu" else {}


# ------------------------------------------------------------------------------------------------ ghost ring
def shifted(p, sx: int, sy: int, nx: int, ny: int):
    """Interior view of a ghosted plane shifted for pull streaming: out[x, y] = p[x - sx, y - sy]."""
    return p[1 - sx:1 - sx + nx, 1 - sy:1 - sy + ny]


def wrap_ghosts(p, nx: int, ny: int, periodic_x: bool, periodic_y: bool):
    """Refresh the ghost ring of a periodic axis with the opposite edge of the interior."""
    if periodic_x:
        p = jnp.concatenate([p[nx:nx + 1], p[1:nx + 1], p[1:2]], axis=0)
    if periodic_y:
        p = jnp.concatenate([p[:, ny:ny + 1], p[:, 1:ny + 1], p[:, 1:2]], axis=1)
    return p


def interior(planes):
    """Ghosted planes (..., nx + 2, ny + 2) -> stacked deviations (..., 9, nx, ny)."""
    return jnp.stack([p[..., 1:-1, 1:-1] for p in planes], axis=-3)


def ghosted(g):
    """Stacked deviations (..., 9, nx, ny) -> tuple of nine ghosted planes (ghosts zero)."""
    pad = [(0, 0)] * (g.ndim - 3) + [(1, 1), (1, 1)]
    return tuple(jnp.pad(g[..., j, :, :], pad) for j in range(9))


def velocity(g):
    """(..., 9, nx, ny) deviations -> (..., nx, ny, 2) velocity j / rho0 in lattice units."""
    jx = sum(int(C[i, 0]) * g[..., i, :, :] for i in range(9) if C[i, 0])
    jy = sum(int(C[i, 1]) * g[..., i, :, :] for i in range(9) if C[i, 1])
    return jnp.stack([jx, jy], axis=-1)


def _round_f32(g, w):
    """g rounded as if f = w + g were stored in float32 (reduce_precision: XLA would fold (g + w) - w)."""
    return lax.reduce_precision(g + w, exponent_bits=8, mantissa_bits=23) - w
