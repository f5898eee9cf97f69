"""The lattice Boltzmann step, the chunked scan over steps, vmap over Reynolds numbers, and file generation.

One step, for one grid (vmapped over the Reynolds axis):
    state g* (post-collision deviations, (9, nx, ny))
      -> pull streaming (rolls) with the boundary rules as `where` on iota masks:
           inlet x = 0 and walls y = 0, ny-1: bounce-back with wall velocity (U, 0): g_j = g*_opp(j) + 6 w_j c_j.u_w
           outlet x = nx-1: zero gradient, the unknown populations are those streamed into column nx-2
      -> MRT collision -> new g*
    and, on a small patch around the cylinder, the same update recomputed with Bouzidi's interpolated
    bounce-back (solid nodes held at rest), written back with a static dynamic-update-slice.
XLA compiles each step to nine fused loops, one per population, each reading the shifted state planes and
writing its plane of the other buffer in place (plus nine small loops for the cylinder patch). XLA's CPU backend
does not share work between the nine loops, so each recomputes the moments; that arithmetic, not memory
traffic, bounds the speed (see scripts/benchmark_simulate.py). The in-place loops run on one thread each, so
on a multi-core CPU the Reynolds axis is sharded over several CPU devices (the CLI does this by default).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import lattice
from turbjax.simulate.boundaries import CylinderPatch, cylinder_patch
from turbjax.simulate.lattice import OPP, C, W
from turbjax.simulate.presets import PRESETS, FlowParams

DTYPES = ("float32", "float64")


@dataclasses.dataclass(frozen=True, eq=False)
class Domain:
    """Static boundary configuration of a rectangular nx x ny lattice.

    inlet: x-velocity imposed at x = 0 by bounce-back (None: periodic in x unless outlet is set).
    walls: (bottom, top) x-velocities of halfway bounce-back walls at y = -1/2 and ny - 1/2 (None: periodic).
    outlet: zero-gradient outflow at x = nx - 1.
    cylinder: Bouzidi patch or None.
    """

    nx: int
    ny: int
    inlet: float | None = None
    walls: tuple[float, float] | None = None
    outlet: bool = False
    cylinder: CylinderPatch | None = None


def channel_domain(p: FlowParams) -> Domain:
    patch = cylinder_patch(p.nx, p.ny, p.dx, p.centre, p.radius)
    return Domain(p.nx, p.ny, inlet=p.inflow, walls=(p.inflow, p.inflow), outlet=True, cylinder=patch)


def make_step(domain: Domain, *, collision: str = "mrt", naive_f32: bool = False):
    """step(src, dst, s_nu, s_mu) -> dst' for one grid: stream + boundaries + collide.

    Planes are stored with a ghost ring, nine arrays of shape (nx + 2, ny + 2) holding post-collision
    deviations g* = f* - w; the step reads `src` at shifted offsets (pull streaming is a static slice) and
    writes the interior of `dst` in place (dynamic-update-slice), so the runner double-buffers two states and
    advances two steps per loop iteration without copies. The ghosts of a channel are never read unmasked (the
    inlet, wall and outlet rules replace every population that would come from outside); periodic axes
    (a domain without inlet/outlet, or without walls) refresh their ghosts by wrapping first.

    naive_f32 rounds the full populations f = w + g to float32 after each step, emulating a solver that stores
    f itself (used only to show why the deviations are stored).
    """
    nx, ny = domain.nx, domain.ny
    periodic_x = domain.inlet is None and not domain.outlet
    periodic_y = domain.walls is None
    collide = {"mrt": lattice.collide, "bgk": lambda g, s_nu, s_mu: lattice.collide_bgk(g, s_nu)}[collision]
    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)
    iota_y = lax.broadcasted_iota(jnp.int32, (nx, ny), 1)

    def wrap(p):
        if periodic_x:
            p = jnp.concatenate([p[nx:nx + 1], p[1:nx + 1], p[1:2]], axis=0)
        if periodic_y:
            p = jnp.concatenate([p[:, ny:ny + 1], p[:, 1:ny + 1], p[:, 1:2]], axis=1)
        return p

    def at(p, sx, sy):
        """Interior view of a ghosted plane shifted for pull streaming: out[x, y] = p[x - sx, y - sy]."""
        return p[1 - sx:1 - sx + nx, 1 - sy:1 - sy + ny]

    def stream(src):
        out = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            s = at(src[j], cx, cy)
            if domain.outlet and cx == -1:
                # Zero gradient: take what streams into column nx - 2, i.e. the same y-shift without x-shift.
                s = jnp.where(iota_x == nx - 1, at(src[j], 0, cy), s)
            opp = at(src[OPP[j]], 0, 0)
            if domain.inlet is not None and cx == 1:
                s = jnp.where(iota_x == 0, opp + 6 * W[j] * cx * domain.inlet, s)
            if domain.walls is not None and cy != 0:
                u_wall = domain.walls[0] if cy == 1 else domain.walls[1]
                s = jnp.where(iota_y == (0 if cy == 1 else ny - 1), opp + 6 * W[j] * cx * u_wall, s)
            out.append(s)
        return out

    def cylinder(src, dtype, s_nu, s_mu):
        """The patch around the cylinder recomputed with Bouzidi links; solid nodes held at rest (g = 0)."""
        cyl = domain.cylinder
        x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
        bx, by = x1 - x0, y1 - y0
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
        return [jnp.where(cyl.solid, jnp.zeros((), dtype), o).astype(dtype)
                for o in lattice.collide(pgs, s_nu, s_mu)]

    def step(src, dst, s_nu, s_mu):
        dtype = src[0].dtype
        src = [wrap(p) for p in src]
        new = collide(stream(src), s_nu, s_mu)
        if naive_f32:
            new = [_round_f32(o, W[j]) for j, o in enumerate(new)]
        out = [lax.dynamic_update_slice(d, o.astype(dtype), (1, 1)) for d, o in zip(dst, new)]
        if domain.cylinder is not None:
            patch = cylinder(src, dtype, s_nu, s_mu)
            if naive_f32:
                patch = [_round_f32(o, W[j]) for j, o in enumerate(patch)]
            out = [lax.dynamic_update_slice(o, pt, (domain.cylinder.x0 + 1, domain.cylinder.y0 + 1))
                   for o, pt in zip(out, patch)]
        return tuple(out)

    return step


def _round_f32(g, w):
    """g rounded as if f = w + g were stored in float32 (reduce_precision: XLA would fold (g + w) - w)."""
    return lax.reduce_precision(g + w, exponent_bits=8, mantissa_bits=23) - w


def interior(planes):
    """Ghosted planes (..., nx + 2, ny + 2) -> stacked deviations (..., 9, nx, ny)."""
    return jnp.stack([p[..., 1:-1, 1:-1] for p in planes], axis=-3)


def ghosted(g):
    """Stacked deviations (..., 9, nx, ny) -> tuple of nine ghosted planes (ghosts zero)."""
    pad = [(0, 0)] * (g.ndim - 3) + [(1, 1), (1, 1)]
    return tuple(jnp.pad(g[..., j, :, :], pad) for j in range(9))


def make_advance(step, probe=None):
    """advance((a, b), s_nu, s_mu, n, buf) -> ((a, b), probes (buf, ...)) running n steps.

    Two steps per loop iteration (a -> b -> a) keep both buffers in place, so n must be even when traced; a
    Python int n may be odd (the last step then runs alone and copies). `probe(planes)` is recorded after
    every step into a buffer of static length `buf`.
    """

    def advance(ab, s_nu, s_mu, n, buf):
        a, b = ab
        pshape = jax.eval_shape(probe, a) if probe is not None else None

        def pair(t, carry):
            a, b, pr = carry
            b = step(a, b, s_nu, s_mu)
            a = step(b, a, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[2 * t].set(probe(b)).at[2 * t + 1].set(probe(a))
            return a, b, pr

        pr = jnp.zeros((buf,) + pshape.shape, pshape.dtype) if probe is not None else jnp.zeros((0,))
        a, b, pr = lax.fori_loop(0, n // 2, pair, (a, b, pr))
        if isinstance(n, int) and n % 2:
            b = step(a, b, s_nu, s_mu)
            if probe is not None:
                pr = pr.at[n - 1].set(probe(b))
            a, b = b, tuple(jnp.copy(q) for q in b)
        return (a, b), pr

    return advance


def run_domain(domain: Domain, g0, s_nu, s_mu, n: int, *, collision="mrt", naive_f32=False):
    """Advance stacked deviations g0 (9, nx, ny) by n steps (one grid, jitted); returns (9, nx, ny)."""
    step = make_step(domain, collision=collision, naive_f32=naive_f32)
    advance = make_advance(step)

    @jax.jit
    def run(g):
        a = ghosted(g)
        (a, _), _ = advance((a, tuple(jnp.copy(p) for p in a)), s_nu, s_mu, n, 0)
        return interior(a)

    return run(g0)


def probe_index(p: FlowParams) -> tuple[int, int]:
    px, py = p.probe_xy
    return round(px / p.dx - 0.5), round(py / p.dx - 0.5)


def velocity(g):
    """(..., 9, nx, ny) deviations -> (..., nx, ny, 2) velocity j / rho0 in lattice units."""
    jx = sum(int(C[i, 0]) * g[..., i, :, :] for i in range(9) if C[i, 0])
    jy = sum(int(C[i, 1]) * g[..., i, :, :] for i in range(9) if C[i, 1])
    return jnp.stack([jx, jy], axis=-1)


# ----------------------------------------------------------------------------------------------------- checks
def check_inputs(p: FlowParams, reynolds: Sequence[float], dtype: str) -> None:
    """Reject, before anything runs, what cannot work; each message names the value and what to do."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    if len(reynolds) == 0:
        raise ValueError("no Reynolds numbers given; pass at least one, e.g. --re 300")
    for name in ("nx", "ny", "steps", "save_every", "frames"):
        v = getattr(p, name)
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if p.frames * p.save_every > p.steps:
        raise ValueError(
            f"frames * save_every = {p.frames} * {p.save_every} = {p.frames * p.save_every} exceeds steps = "
            f"{p.steps}; lower --frames or --save-every, or raise --steps"
        )
    if not (p.dx > 0 and p.radius > 0 and p.inflow > 0):
        raise ValueError(f"dx, radius and inflow must be positive, got {p.dx}, {p.radius}, {p.inflow}")
    if p.mach >= 0.3:
        raise ValueError(
            f"Mach number U sqrt(3) = {p.mach:.3f} >= 0.3 for inflow U = {p.inflow} (lattice units): "
            "the lattice Boltzmann equation is only valid at low Mach number; lower the inflow velocity"
        )
    lx, ly = p.nx * p.dx, p.ny * p.dx
    (cx, cy), r = p.centre, p.radius
    if not (cx - r > 0 and cx + r < lx and cy - r > 0 and cy + r < ly):
        raise ValueError(
            f"cylinder of radius {r} at centre ({cx}, {cy}) is not inside the domain [0, {lx:g}] x [0, {ly:g}]"
        )
    px, py = p.probe_xy
    if not (0 < px < lx and 0 < py < ly):
        raise ValueError(f"probe position ({px}, {py}) is outside the domain [0, {lx:g}] x [0, {ly:g}]")
    for re in reynolds:
        re = float(re)
        if not (np.isfinite(re) and re > 0):
            raise ValueError(f"Reynolds number must be finite and positive, got {re!r}")
        tau = p.relaxation_time(re)
        if not tau > 0.5:
            raise ValueError(
                f"relaxation time tau = {tau!r} <= 0.5 at Re = {re:g} (nu = {p.viscosity(re):.3g}): "
                "the scheme is unstable; lower the Reynolds number or refine dx"
            )
    bulk_tau = 0.5 + 3 * p.bulk_viscosity / p.dx
    if not bulk_tau > 0.5:
        raise ValueError(f"bulk relaxation time {bulk_tau} <= 0.5; bulk_viscosity must be positive")


def _mesh_for(n_re: int, devices):
    """A 1-D mesh over the largest number of devices that divides the number of Reynolds numbers."""
    if devices is None:
        devices = jax.devices()
    n = max(d for d in range(1, min(len(devices), n_re) + 1) if n_re % d == 0)
    if n == 1:
        return None
    # Auto axis: the vmapped program is partitioned by the compiler; the Reynolds numbers never interact, so
    # each device runs its own slice with no communication.
    return jax.make_mesh((n,), ("re",), (jax.sharding.AxisType.Auto,), devices=list(devices)[:n])


class Simulation(NamedTuple):
    """velocity (R, frames, nx, ny, 2) float32; probe_uy (R, steps); first_step of frame 0 (steps after start)."""

    reynolds: np.ndarray
    velocity: np.ndarray
    probe_uy: np.ndarray
    params: FlowParams
    first_step: int
    compile_s: float
    run_s: float
    n_devices: int = 1  # devices the Reynolds axis was sharded over

    @property
    def mlups(self) -> float:
        """Million lattice updates per second of the run, compilation excluded."""
        p = self.params
        return len(self.reynolds) * p.nx * p.ny * p.steps / self.run_s / 1e6


def resolve_params(preset: str | FlowParams, steps=None, save_every=None, frames=None) -> FlowParams:
    if isinstance(preset, FlowParams):
        p = preset
    elif preset in PRESETS:
        p = PRESETS[preset]
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    over = {k: v for k, v in {"steps": steps, "save_every": save_every, "frames": frames}.items() if v is not None}
    return p.replace(**over)


def simulate(
    reynolds: Sequence[float] | float,
    preset: str | FlowParams = "seed",
    *,
    steps: int | None = None,
    save_every: int | None = None,
    frames: int | None = None,
    dtype: str = "float32",
    progress: bool = True,
    chunk_steps: int = 1000,
    devices=None,
    collision: str = "mrt",
    naive_f32: bool = False,
) -> Simulation:
    """Run every Reynolds number in one vmapped, jitted program (sharded over devices if there are several).

    Steps run on the device in chunks of about `chunk_steps` (one compiled program: a loop over blocks of
    `save_every` steps, probe recorded every step, velocity after every block); between chunks Python advances
    the progress bar and checks for NaN (raising FloatingPointError with the step, Re and tau), so a diverged
    run never reaches a file.
    """
    reynolds = np.atleast_1d(np.asarray(reynolds, dtype=np.float64))
    p = resolve_params(preset, steps, save_every, frames)
    check_inputs(p, list(reynolds), dtype)
    if dtype == "float64" and not jax.config.jax_enable_x64:
        with jax.enable_x64(True):
            return _simulate(reynolds, p, dtype, progress, chunk_steps, devices, collision, naive_f32)
    return _simulate(reynolds, p, dtype, progress, chunk_steps, devices, collision, naive_f32)


def _simulate(reynolds, p, dtype, progress, chunk_steps, devices, collision, naive_f32) -> Simulation:
    from tqdm.auto import tqdm

    dt = jnp.dtype(dtype)
    n_re = len(reynolds)
    domain = channel_domain(p)
    step = jax.vmap(make_step(domain, collision=collision, naive_f32=naive_f32), in_axes=(0, 0, 0, None))
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s_nu = np.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dtype)
    ix, iy = probe_index(p)

    def probe(planes):  # transverse velocity at the probe node, (R,)
        return sum(int(C[i, 1]) * planes[i][:, ix + 1, iy + 1] for i in range(9) if C[i, 1])

    advance = make_advance(step, probe)
    F = max(1, chunk_steps // p.save_every)  # frames (blocks of save_every steps) per chunk
    spin = p.steps - p.frames * p.save_every
    lead = spin % p.save_every  # steps run before the first whole block

    def chunk(ab, vel, s, n):
        """n blocks of save_every steps (n <= F, traced): probe every step, velocity after every block.

        `vel` (F, R, nx, ny, 2) is donated and returned, so the frame buffer is reused between chunks."""

        def body(k, carry):
            ab, pr, vel = carry
            ab, prk = advance(ab, s, s_mu, p.save_every, p.save_every)
            k = k.astype(jnp.int32)  # under x64 the loop index and literal offsets must agree
            zero = jnp.int32(0)
            pr = lax.dynamic_update_slice(pr, prk, (k * p.save_every, zero))
            frame = velocity(interior(ab[0])).astype(jnp.float32)
            vel = lax.dynamic_update_slice(vel, frame[None], (k, zero, zero, zero, zero))
            return ab, pr, vel

        return lax.fori_loop(0, n, body, (ab, jnp.zeros((F * p.save_every, n_re), dt), vel))

    def zeros():
        return tuple(jnp.zeros((n_re, p.nx + 2, p.ny + 2), dt) for _ in range(9))

    ab = (zeros(), zeros())
    vel = jnp.zeros((F, n_re, p.nx, p.ny, 2), jnp.float32)
    s = jnp.asarray(s_nu)
    mesh = _mesh_for(n_re, devices)
    if mesh is not None:
        ab = jax.device_put(ab, jax.NamedSharding(mesh, jax.P("re")))
        vel = jax.device_put(vel, jax.NamedSharding(mesh, jax.P(None, "re")))
        s = jax.device_put(s, jax.NamedSharding(mesh, jax.P("re")))
    elif devices is not None:
        ab, vel, s = jax.device_put((ab, vel, s), devices[0])
    t0 = time.perf_counter()
    chunk_fn = jax.jit(chunk, donate_argnums=(0, 1)).lower(ab, vel, s, jnp.int32(0)).compile()
    lead_fn = jax.jit(lambda ab, s: advance(ab, s, s_mu, lead, lead), donate_argnums=0) if lead else None
    compile_s = time.perf_counter() - t0

    probes, frames_out = [], []
    done = 0
    t0 = time.perf_counter()
    desc = f"LBM {p.name} Re={','.join(f'{r:g}' for r in reynolds)}"
    with tqdm(total=p.steps, disable=not progress, unit="step", desc=desc) as bar:
        if lead:
            ab, pr = lead_fn(ab, s)
            probes.append(np.asarray(pr))
            done += lead
            bar.update(lead)
        blocks = p.steps // p.save_every
        first_saved = blocks - p.frames
        b = 0
        while b < blocks:
            n = min(F, blocks - b)
            if b < first_saved:
                n = min(n, first_saved - b)  # spin-up chunks end where the saved frames begin
            ab, pr, vel = chunk_fn(ab, vel, s, jnp.int32(n))
            done += n * p.save_every
            _check_finite(ab[0], done, reynolds, p)
            probes.append(np.asarray(pr[: n * p.save_every]))
            if b >= first_saved:
                frames_out.append(np.asarray(vel[:n]))
            b += n
            bar.update(n * p.save_every)
    run_s = time.perf_counter() - t0
    probe_uy = np.concatenate(probes, axis=0).T
    vel = np.concatenate(frames_out, axis=0).transpose(1, 0, 2, 3, 4)
    return Simulation(reynolds, vel, probe_uy, p, spin + p.save_every, compile_s, run_s,
                      1 if mesh is None else mesh.devices.size)


def _check_finite(planes, step, reynolds, p: FlowParams) -> None:
    ok = np.asarray(jnp.all(jnp.stack([jnp.isfinite(q).all(axis=(1, 2)) for q in planes]), axis=0))
    if not ok.all():
        k = int(np.argmin(ok))
        re = float(reynolds[k])
        raise FloatingPointError(
            f"lattice Boltzmann run diverged (NaN/inf) by step {step} at Re = {re:g} "
            f"(relaxation time tau = {p.relaxation_time(re):.8g}, Mach {p.mach:.3f}, dx = {p.dx:g}); "
            "nothing was written. Lower the Reynolds number, lower the inflow, or refine dx."
        )


def generate(
    reynolds: Sequence[float] | float,
    out_dir: str | os.PathLike,
    preset: str | FlowParams = "seed",
    *,
    steps: int | None = None,
    save_every: int | None = None,
    frames: int | None = None,
    dtype: str = "float32",
    progress: bool = True,
) -> list[Path]:
    """Simulate all Reynolds numbers in one vmapped program and write one turbjax snapshot file per Re.

    Returns the paths written (`turbjax.data.io.snapshot_path(out_dir, re)`), in the order of `reynolds`.
    """
    sim = simulate(reynolds, preset, steps=steps, save_every=save_every, frames=frames, dtype=dtype,
                   progress=progress)
    return write_simulation(sim, out_dir)


def write_simulation(sim: Simulation, out_dir: str | os.PathLike) -> list[Path]:
    from turbjax.data import io

    p = sim.params
    ix, iy = probe_index(p)
    probe_xy = ((ix + 0.5) * p.dx, (iy + 0.5) * p.dx)
    paths = []
    for k, re in enumerate(sim.reynolds):
        path = io.save_snapshots(
            io.snapshot_path(out_dir, re), sim.velocity[k], reynolds=float(re), dx=p.dx, dt=p.dt,
            frame_stride=p.save_every, first_step=sim.first_step, generator=f"turbjax.simulate {p.name}",
            probe_uy=sim.probe_uy[k], probe_xy=probe_xy,
        )
        paths.append(path)
    return paths


def mlups(n_re: int, p: FlowParams, steps: int, seconds: float) -> float:
    return n_re * p.nx * p.ny * steps / seconds / 1e6




def compile_stepper(p: FlowParams, reynolds: Sequence[float], dtype: str = "float32", *, collision: str = "mrt",
                    domain: Domain | None = None):
    """For benchmarks: (run, state, compile_s) with run(state, n) advancing all Re n steps (n even, traced).

    Call under `jax.enable_x64(True)` for float64. The state is donated and returned.
    """
    dt = jnp.dtype(dtype)
    domain = channel_domain(p) if domain is None else domain
    step = jax.vmap(make_step(domain, collision=collision), in_axes=(0, 0, 0, None))
    advance = make_advance(step)
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s = jnp.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dt)
    n_re = len(reynolds)

    def zeros():
        return tuple(jnp.zeros((n_re, domain.nx + 2, domain.ny + 2), dt) for _ in range(9))

    state = (zeros(), zeros())
    t0 = time.perf_counter()
    fn = jax.jit(lambda ab, n: advance(ab, s, s_mu, n, 0)[0], donate_argnums=0)
    fn = fn.lower(state, jnp.int32(0)).compile()
    compile_s = time.perf_counter() - t0
    return (lambda ab, n: fn(ab, jnp.int32(n))), state, compile_s
