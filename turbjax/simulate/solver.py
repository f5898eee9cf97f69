"""The lattice Boltzmann step, the chunked scan over steps, vmap over Reynolds numbers, and file generation.

One step, for one grid (vmapped over the Reynolds axis):
    state g* (post-collision deviations, (9, nx, ny))
      -> pull streaming (rolls) with the boundary rules as `where` on iota masks:
           inlet x = 0 and walls y = 0, ny-1: bounce-back with wall velocity (U, 0): g_j = g*_opp(j) + 6 w_j c_j.u_w
           outlet x = nx-1: zero gradient, the unknown populations are those streamed into column nx-2
      -> MRT collision -> new g*
    and, on a small patch around the cylinder, the same update recomputed with Bouzidi's interpolated
    bounce-back (solid nodes held at rest), written back with a static dynamic-update-slice.
Everything but the patch is one fused elementwise kernel reading the state and writing the next one.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

import jax
import jax.numpy as jnp
from jax import lax

from turbjax.simulate import lattice
from turbjax.simulate.boundaries import CylinderPatch, cylinder_patch
from turbjax.simulate.lattice import C, OPP, W
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


def _shift(p, sx, sy):
    """Pull streaming of one plane: out[x, y] = p[x - sx, y - sy] (periodic)."""
    if sx:
        p = jnp.roll(p, sx, axis=0)
    if sy:
        p = jnp.roll(p, sy, axis=1)
    return p


def make_step(domain: Domain, *, collision: str = "mrt", naive_f32: bool = False):
    """step(g, s_nu, s_mu) -> g for one grid g (9, nx, ny) of post-collision deviations f - w.

    naive_f32 rounds the full populations f = w + g to the storage dtype after each step, emulating a solver
    that stores f itself (used only to show why the deviations are stored).
    """
    nx, ny = domain.nx, domain.ny
    collide = {"mrt": lattice.collide, "bgk": lambda g, s_nu, s_mu: lattice.collide_bgk(g, s_nu)}[collision]

    def stream(g, xi, yi, sl=None):
        """Streamed planes with inlet/wall/outlet rules; `sl` extracts a patch (then no wall rules apply)."""
        out = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            s = _shift(g[j], cx, cy)
            if domain.outlet and cx == -1:
                s = jnp.where(xi == nx - 1, _shift(g[j], 0, cy), s)
            opp = g[OPP[j]]
            if domain.inlet is not None and cx == 1:
                s = jnp.where(xi == 0, opp + 6 * W[j] * cx * domain.inlet, s)
            if domain.walls is not None and cy != 0:
                u_wall = domain.walls[0] if cy == 1 else domain.walls[1]
                s = jnp.where(yi == (0 if cy == 1 else ny - 1), opp + 6 * W[j] * cx * u_wall, s)
            out.append(s)
        return out

    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)
    iota_y = lax.broadcasted_iota(jnp.int32, (nx, ny), 1)

    def step(g, s_nu, s_mu):
        dtype = g.dtype
        planes = [g[j] for j in range(9)]
        gs = stream(planes, iota_x, iota_y)
        new = jnp.stack(collide(gs, s_nu, s_mu))
        cyl = domain.cylinder
        if cyl is not None:
            x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
            bx, by = x1 - x0, y1 - y0
            region = g[:, x0 - 1:x1 + 1, y0 - 1:y1 + 1]
            star = [region[j, 1:1 + bx, 1:1 + by] for j in range(9)]
            pgs = []
            for j in range(9):
                cx, cy = int(C[j, 0]), int(C[j, 1])
                sj = region[j, 1 - cx:1 - cx + bx, 1 - cy:1 - cy + by]
                if cyl.link[j].any():
                    i = OPP[j]
                    si = region[i, 1 + cx:1 + cx + bx, 1 + cy:1 + cy + by]  # gs_i(x) = g*_i(x - c_i)
                    a, b, c = (jnp.asarray(v[j], dtype) for v in (cyl.a, cyl.b, cyl.c))
                    sj = jnp.where(cyl.link[j], a * star[i] + b * si + c * star[j], sj)
                pgs.append(sj)
            pnew = jnp.stack(collide(pgs, s_nu, s_mu))
            pnew = jnp.where(cyl.solid[None], jnp.zeros((), dtype), pnew)
            new = lax.dynamic_update_slice(new, pnew.astype(dtype), (0, x0, y0))
        if naive_f32:
            w = jnp.asarray(W, jnp.float64 if dtype == jnp.float64 else jnp.float32)[:, None, None]
            new = ((new + w).astype(jnp.float32).astype(dtype)) - w.astype(dtype)
        return new.astype(dtype)

    return step


def probe_index(p: FlowParams) -> tuple[int, int]:
    px, py = p.probe_xy
    return int(round(px / p.dx - 0.5)), int(round(py / p.dx - 0.5))


def velocity(g):
    """(..., 9, nx, ny) deviations -> (..., nx, ny, 2) velocity j / rho0 in lattice units."""
    jx = sum(int(C[i, 0]) * g[..., i, :, :] for i in range(9) if C[i, 0])
    jy = sum(int(C[i, 1]) * g[..., i, :, :] for i in range(9) if C[i, 1])
    return jnp.stack([jx, jy], axis=-1)


def _probe(g, ix, iy):
    """Transverse velocity at node (ix, iy) of (R, 9, nx, ny) -> (R,)."""
    col = g[:, :, ix, iy]
    return sum(int(C[i, 1]) * col[:, i] for i in range(9) if C[i, 1])


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
    return jax.make_mesh((n,), ("re",), devices=list(devices)[:n])


class Simulation(NamedTuple):
    """velocity (R, frames, nx, ny, 2) float32; probe_uy (R, steps); first_step of frame 0 (steps after start)."""

    reynolds: np.ndarray
    velocity: np.ndarray
    probe_uy: np.ndarray
    params: FlowParams
    first_step: int
    compile_s: float
    run_s: float

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
    over = {k: v for k, v in dict(steps=steps, save_every=save_every, frames=frames).items() if v is not None}
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
    chunk_steps: int = 2000,
    devices=None,
    collision: str = "mrt",
    naive_f32: bool = False,
) -> Simulation:
    """Run every Reynolds number in one vmapped, jitted program (sharded over devices if there are several).

    Steps run on the device in `lax.fori_loop` chunks of about `chunk_steps`; between chunks Python advances
    the progress bar and checks for NaN (raising FloatingPointError with the step, Re and tau).
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
    step = make_step(domain, collision=collision, naive_f32=naive_f32)
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s_nu = np.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dtype)
    vstep = jax.vmap(step, in_axes=(0, 0, None))
    ix, iy = probe_index(p)
    K = max(p.save_every, chunk_steps // p.save_every * p.save_every)  # steps per spin-up chunk
    F = K // p.save_every  # frames per saving chunk
    n_save = p.frames * p.save_every
    spin = p.steps - n_save

    def spin_chunk(g, s, n):
        def body(t, carry):
            g, pr = carry
            g = vstep(g, s, s_mu)
            return g, pr.at[t].set(_probe(g, ix, iy))

        return lax.fori_loop(0, n, body, (g, jnp.zeros((K, n_re), dt)))

    def save_chunk(g, s, n):
        def inner(g, _):
            g = vstep(g, s, s_mu)
            return g, _probe(g, ix, iy)

        def body(k, carry):
            g, pr, vel = carry
            g, prk = lax.scan(inner, g, None, length=p.save_every)
            pr = lax.dynamic_update_slice(pr, prk, (k * p.save_every, 0))
            vel = lax.dynamic_update_slice(vel, velocity(g).astype(jnp.float32)[None], (k, 0, 0, 0, 0))
            return g, pr, vel

        init = (g, jnp.zeros((F * p.save_every, n_re), dt), jnp.zeros((F, n_re, p.nx, p.ny, 2), jnp.float32))
        return lax.fori_loop(0, n, body, init)

    g = jnp.zeros((n_re, 9, p.nx, p.ny), dt)
    s = jnp.asarray(s_nu)
    mesh = _mesh_for(n_re, devices)
    if mesh is not None:
        g = jax.device_put(g, jax.NamedSharding(mesh, jax.P("re")))
        s = jax.device_put(s, jax.NamedSharding(mesh, jax.P("re")))
    elif devices is not None:
        g, s = jax.device_put((g, s), devices[0])
    n_arg = jnp.int32(0)
    t0 = time.perf_counter()
    spin_fn = jax.jit(spin_chunk, donate_argnums=0).lower(g, s, n_arg).compile() if spin else None
    save_fn = jax.jit(save_chunk, donate_argnums=0).lower(g, s, n_arg).compile()
    compile_s = time.perf_counter() - t0

    probes, frames_out = [], []
    done = 0
    t0 = time.perf_counter()
    with tqdm(total=p.steps, disable=not progress, unit="step", desc=f"LBM {p.name} Re={list(reynolds)}") as bar:
        while done < spin:
            n = min(K, spin - done)
            g, pr = spin_fn(g, s, jnp.int32(n))
            _check_finite(g, done + n, reynolds, p)
            probes.append(np.asarray(pr[:n]))
            done += n
            bar.update(n)
        saved = 0
        while saved < p.frames:
            n = min(F, p.frames - saved)
            g, pr, vel = save_fn(g, s, jnp.int32(n))
            _check_finite(g, done + n * p.save_every, reynolds, p)
            probes.append(np.asarray(pr[: n * p.save_every]))
            frames_out.append(np.asarray(vel[:n]))
            saved += n
            done += n * p.save_every
            bar.update(n * p.save_every)
    run_s = time.perf_counter() - t0
    probe_uy = np.concatenate(probes, axis=0).T
    vel = np.concatenate(frames_out, axis=0).transpose(1, 0, 2, 3, 4)
    return Simulation(reynolds, vel, probe_uy, p, spin + p.save_every, compile_s, run_s)


def _check_finite(g, step, reynolds, p: FlowParams) -> None:
    ok = np.asarray(jnp.isfinite(g).all(axis=(1, 2, 3)))
    if not ok.all():
        k = int(np.argmin(ok))
        re = float(reynolds[k])
        raise FloatingPointError(
            f"lattice Boltzmann run diverged (NaN/inf) by step {step} at Re = {re:g} "
            f"(relaxation time tau = {p.relaxation_time(re):.6f}, Mach {p.mach:.3f}, dx = {p.dx:g}); "
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
    """Simulate all Reynolds numbers in one vmapped program and write one turbjax snapshot file per Re."""
    from turbjax.data import io

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


__all__ = ["Domain", "Simulation", "channel_domain", "check_inputs", "generate", "make_step", "simulate",
           "velocity", "write_simulation", "math"]
