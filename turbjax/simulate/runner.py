"""The runner: every member (Reynolds number x realization) in one vmapped, jitted, device-sharded program.

Steps run on the device in chunks (one compiled program: a loop over blocks of `save_every` steps, the probe
recorded every step, the velocity after every block); between chunks Python advances the progress bar and
checks for NaN, so a diverged run never reaches a file.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import lattice
from turbjax.simulate.initial import initial_state
from turbjax.simulate.lattice import C
from turbjax.simulate.presets import FlowParams, check_inputs, resolve_params
from turbjax.simulate.step import (
    Domain,
    channel_domain,
    compiler_options,
    ghosted,
    make_step,
    rate_plane,
    velocity,
)
from turbjax.simulate.trajectory import make_advance


class Simulation(NamedTuple):
    """One run's members (B = Reynolds numbers x realizations, Re-major, or this process's share of them).

    velocity (B, frames, wx, wy, 2) float32 (the window, or the full grid); probe_uy (B, steps); first_step of
    frame 0 (steps after start); realization and perturbation_seed (B,) int64, -1 for plain runs.
    """

    reynolds: np.ndarray
    velocity: np.ndarray
    probe_uy: np.ndarray
    params: FlowParams
    first_step: int
    compile_s: float
    run_s: float
    n_devices: int = 1  # devices the batch axis was sharded over
    realization: np.ndarray | None = None
    perturbation_seed: np.ndarray | None = None

    @property
    def mlups(self) -> float:
        """Million lattice updates per second of the run (members only, padding excluded; no compilation)."""
        p = self.params
        return len(self.reynolds) * p.nx * p.ny * p.steps / self.run_s / 1e6


def members(reynolds, realizations: int, share: tuple[int, int] = (0, 1), only=None):
    """(reynolds, realization) per member: every Re x range(realizations), Re-major (realizations 0: one plain
    run per Re, realization -1); `only` (pairs (Re, k), None: all) keeps those members, e.g. the runs a
    directory lacks; `share` (index, count) then keeps the index-th of count near-equal contiguous parts."""
    reynolds = np.atleast_1d(np.asarray(reynolds, dtype=np.float64))
    ks = np.arange(realizations, dtype=np.int64) if realizations else np.array([-1], np.int64)
    re_m, k_m = np.repeat(reynolds, len(ks)), np.tile(ks, len(reynolds))
    if only is not None:
        wanted = {(float(r), int(k)) for r, k in only}
        every = list(zip(re_m.tolist(), k_m.tolist(), strict=True))
        unknown = wanted - set(every)
        if unknown or not wanted:
            raise ValueError(f"only={sorted(wanted)} must name some of the members (Re, realization) of Re "
                             f"{reynolds.tolist()} x realizations {ks.tolist()}; not among them: "
                             f"{sorted(unknown)}")
        keep = np.array([m in wanted for m in every])
        re_m, k_m = re_m[keep], k_m[keep]
    i, n = share
    return np.array_split(re_m, n)[i], np.array_split(k_m, n)[i]


def plan(reynolds, preset: str | FlowParams = "seed", *, steps=None, save_every=None, frames=None,
         realizations=None, share: tuple[int, int] | None = None, dtype: str = "float32", collision=None,
         only=None):
    """(params, reynolds, realization) of the members `simulate` would run, after checking every input
    (one clear ValueError before anything runs). share None: this process's part of a multi-process job."""
    reynolds = np.atleast_1d(np.asarray(reynolds, dtype=np.float64))
    p = resolve_params(preset, steps, save_every, frames, realizations, collision)
    check_inputs(p, list(reynolds), dtype)
    share = (jax.process_index(), jax.process_count()) if share is None else share
    n_members = len(only) if only is not None else len(reynolds) * max(p.realizations, 1)
    if not (0 <= share[0] < share[1] <= n_members):
        raise ValueError(f"share {share} must be (index, count) with 0 <= index < count <= {n_members} "
                         "members (Reynolds numbers x realizations); use fewer processes")
    return (p, *members(reynolds, p.realizations, share, only))


def simulate(
    reynolds: Sequence[float] | float,
    preset: str | FlowParams = "seed",
    *,
    steps: int | None = None,
    save_every: int | None = None,
    frames: int | None = None,
    realizations: int | None = None,
    share: tuple[int, int] | None = None,
    dtype: str = "float32",
    progress: bool = True,
    chunk_steps: int = 1000,
    devices=None,
    collision: str | None = None,
    naive_f32: bool = False,
    only=None,
) -> Simulation:
    """Run every member (Reynolds number x realization) in one vmapped, jitted program, sharded over the local
    devices if there are several (the batch is padded to a multiple of their number; padding is dropped).

    Steps run on the device in chunks of about `chunk_steps`; between chunks Python advances the progress bar
    and checks for NaN (raising FloatingPointError with the step, Re and tau), so a diverged run never reaches
    a file. `share` = (index, count) runs only that part of the members (default: this process's part of a
    multi-process job, `jax.process_index()` of `jax.process_count()`; all of them in a single process).
    The collision operator and the cylinder's boundary rule are the preset's (`FlowParams.collision`,
    `.boundary`); `collision` ("mrt", "bgk"; None: the preset's) overrides it like steps and frames do, and
    the result's params say what ran. `only` (pairs (Re, realization)) runs just those members (see
    `members`); each member's flow does not depend on the others in the batch.
    """
    p, re_m, k_m = plan(reynolds, preset, steps=steps, save_every=save_every, frames=frames,
                        realizations=realizations, share=share, dtype=dtype, collision=collision, only=only)
    args = (re_m, k_m, p, dtype, progress, chunk_steps, devices, naive_f32)
    if dtype == "float64" and not jax.config.jax_enable_x64:
        with jax.enable_x64(True):
            return _simulate(*args)
    return _simulate(*args)


def _simulate(re_m, k_m, p, dtype, progress, chunk_steps, devices, naive_f32) -> Simulation:
    # Realization k is seeded with k; plain runs (k = -1) start from rest.
    seeds = k_m
    prog = _compile(re_m, seeds, p, dtype, chunk_steps, devices, naive_f32)
    probe_uy, vel, run_s = _run(prog, re_m, p, progress)
    spin = p.steps - p.frames * p.save_every
    n = len(re_m)
    return Simulation(re_m, vel[:n], probe_uy[:n], p, spin + p.save_every, prog.compile_s, run_s,
                      1 if prog.mesh is None else prog.mesh.devices.size, k_m, seeds)


class _Program(NamedTuple):
    chunk_fn: object  # (g, vel, s, n) -> (g, probes, vel): n blocks of save_every steps
    lead_fn: object  # (g, s) -> (g, probes): the steps before the first whole block, or None
    lead: int
    blocks_per_chunk: int
    state: tuple  # (g, vel, s) placed on the devices
    mesh: object
    compile_s: float


def _compile(re_m, seeds, p: FlowParams, dtype, chunk_steps, devices, naive_f32) -> _Program:
    dt = jnp.dtype(dtype)
    devices = jax.local_devices() if devices is None else devices
    n_dev = min(len(devices), len(re_m))
    pad = -len(re_m) % n_dev  # copies of the last member, so that every device gets the same share
    re_m = np.concatenate([re_m, re_m[-1:].repeat(pad)])
    seeds = np.concatenate([seeds, seeds[-1:].repeat(pad)])
    n_re = len(re_m)
    step = jax.vmap(make_step(channel_domain(p), collision=p.collision, naive_f32=naive_f32),
                    in_axes=(0, 0, None))
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    # One plane of each member's rate, an argument of the program (see make_step).
    s_nu = rate_plane(np.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in re_m], dtype),
                      p.nx, p.ny)
    ix, iy = probe_index(p)
    x0, x1, y0, y1 = p.window if p.window is not None else (0, p.nx, 0, p.ny)

    def probe(planes):  # transverse velocity at the probe node, (R,)
        return sum(int(C[i, 1]) * planes[i][:, ix + 1, iy + 1] for i in range(9) if C[i, 1])

    advance = make_advance(step, probe)
    F = max(1, chunk_steps // p.save_every)  # frames (blocks of save_every steps) per chunk
    lead = (p.steps - p.frames * p.save_every) % p.save_every  # steps run before the first whole block

    def chunk(g, vel, s, n):
        """n blocks of save_every steps (n <= F, traced): probe every step, velocity after every block.

        `vel` (F, R, wx, wy, 2) is donated and returned, so the frame buffer is reused between chunks."""

        def body(k, carry):
            g, pr, vel = carry
            g, prk = advance(g, s, s_mu, p.save_every, p.save_every)
            k = k.astype(jnp.int32)  # under x64 the loop index and literal offsets must agree
            zero = jnp.int32(0)
            pr = lax.dynamic_update_slice(pr, prk, (k * p.save_every, zero))
            window = jnp.stack([q[:, x0 + 1:x1 + 1, y0 + 1:y1 + 1] for q in g], axis=-3)
            frame = velocity(window).astype(jnp.float32)
            vel = lax.dynamic_update_slice(vel, frame[None], (k, zero, zero, zero, zero))
            return g, pr, vel

        return lax.fori_loop(0, n, body, (g, jnp.zeros((F * p.save_every, n_re), dt), vel))

    if (seeds >= 0).any():
        g = ghosted(jnp.asarray(initial_state(p, seeds, dtype)))
    else:
        g = _zero_planes(n_re, p.nx, p.ny, dt)
    vel = jnp.zeros((F, n_re, x1 - x0, y1 - y0, 2), jnp.float32)
    mesh = _mesh_for(n_re, devices)
    state = _place((g, vel, jnp.asarray(s_nu)), mesh, devices)
    t0 = time.perf_counter()
    opts = compiler_options(next(iter(devices)).platform if devices else None)
    lowered = jax.jit(chunk, donate_argnums=(0, 1)).lower(*state, jnp.int32(0))
    chunk_fn = lowered.compile(compiler_options=opts)
    lead_fn = (jax.jit(lambda g, s: advance(g, s, s_mu, lead, lead), donate_argnums=0,
                       compiler_options=opts)
               if lead else None)
    return _Program(chunk_fn, lead_fn, lead, F, state, mesh, time.perf_counter() - t0)


def _run(prog: _Program, reynolds, p: FlowParams, progress: bool):
    """Run the compiled program over all steps; returns probe_uy (B, steps), velocity (B, frames, ...), run_s
    (B including padding)."""
    from tqdm.auto import tqdm

    g, vel, s = prog.state
    probes, frames_out = [], []
    done = 0
    t0 = time.perf_counter()
    res = sorted(set(reynolds.tolist()))
    desc = f"LBM {p.name} Re={','.join(f'{r:g}' for r in res)}" if len(res) <= 6 else \
        f"LBM {p.name} Re={res[0]:g}..{res[-1]:g}"
    desc += f" ({len(reynolds)} runs)" if len(reynolds) > len(res) else ""
    with tqdm(total=p.steps, disable=not progress, unit="step", desc=desc) as bar:
        if prog.lead:
            g, pr = prog.lead_fn(g, s)
            probes.append(np.asarray(pr))
            done += prog.lead
            bar.update(prog.lead)
        blocks = p.steps // p.save_every
        first_saved = blocks - p.frames
        b = 0
        while b < blocks:
            n = min(prog.blocks_per_chunk, blocks - b)
            if b < first_saved:
                n = min(n, first_saved - b)  # spin-up chunks end where the saved frames begin
            g, pr, vel = prog.chunk_fn(g, vel, s, jnp.int32(n))
            done += n * p.save_every
            _check_finite(g, done, reynolds, p)
            probes.append(np.asarray(pr[: n * p.save_every]))
            if b >= first_saved:
                frames_out.append(np.asarray(vel[:n]))
            b += n
            bar.update(n * p.save_every)
    run_s = time.perf_counter() - t0
    probe_uy = np.concatenate(probes, axis=0).T
    vel = np.concatenate(frames_out, axis=0).transpose(1, 0, 2, 3, 4)
    return probe_uy, vel, run_s


def probe_index(p: FlowParams) -> tuple[int, int]:
    px, py = p.probe_xy
    return round(px / p.dx - 0.5), round(py / p.dx - 0.5)


def _zero_planes(n: int, nx: int, ny: int, dt):
    return tuple(jnp.zeros((n, nx + 2, ny + 2), dt) for _ in range(9))


def _mesh_for(n_re: int, devices):
    """A 1-D mesh over the largest number of devices that divides the batch (the runner pads it to a multiple
    of min(devices, members), so that is all of them)."""
    if devices is None:
        devices = jax.local_devices()
    n = max(d for d in range(1, min(len(devices), n_re) + 1) if n_re % d == 0)
    if n == 1:
        return None
    # Auto axis: the vmapped program is partitioned by the compiler; the Reynolds numbers never interact, so
    # each device runs its own slice with no communication.
    return jax.make_mesh((n,), ("re",), (jax.sharding.AxisType.Auto,), devices=list(devices)[:n])


def _place(state, mesh, devices):
    """(g, vel, s) onto the mesh (batch axis sharded; vel's batch axis is its second) or the first device."""
    g, vel, s = state
    if mesh is not None:
        g = jax.device_put(g, jax.NamedSharding(mesh, jax.P("re")))
        vel = jax.device_put(vel, jax.NamedSharding(mesh, jax.P(None, "re")))
        s = jax.device_put(s, jax.NamedSharding(mesh, jax.P("re")))
        return g, vel, s
    if devices is not None:
        return jax.device_put((g, vel, s), devices[0])
    return g, vel, s


def _check_finite(planes, step, reynolds, p: FlowParams) -> None:
    ok = np.asarray(jnp.all(jnp.stack([jnp.isfinite(q).all(axis=(1, 2)) for q in planes]), axis=0))
    if not ok.all():
        k = int(np.argmin(ok))
        re = float(reynolds[k])
        raise FloatingPointError(
            f"lattice Boltzmann run diverged (NaN/inf) by step {step} at Re = {re:g} "
            f"(relaxation time tau = {p.relaxation_time(re):.8g}, Mach {p.mach:.3f}, dx = {p.dx:g}, "
            f"collision {p.collision}); "
            "nothing was written. Lower the Reynolds number, lower the inflow, or refine dx."
        )


def compile_stepper(p: FlowParams, reynolds: Sequence[float], dtype: str = "float32", *,
                    collision: str | None = None,
                    domain: Domain | None = None, fused: bool = True):
    """For benchmarks: (run, state, compile_s) with run(state, n) advancing all Re n steps (n even, traced).

    Call under `jax.enable_x64(True)` for float64. The state is donated and returned. `fused`: see make_step;
    `collision`: the preset's (None) or "mrt" / "bgk".
    """
    dt = jnp.dtype(dtype)
    domain = channel_domain(p) if domain is None else domain
    collision = p.collision if collision is None else collision
    step = jax.vmap(make_step(domain, collision=collision, fused=fused), in_axes=(0, 0, None))
    advance = make_advance(step)
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s = jnp.asarray(rate_plane([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds],
                               domain.nx, domain.ny), dt)
    n_re = len(reynolds)
    state = _zero_planes(n_re, domain.nx, domain.ny, dt)
    t0 = time.perf_counter()
    fn = jax.jit(lambda g, s, n: advance(g, s, s_mu, n, 0)[0], donate_argnums=0)
    fn = fn.lower(state, s, jnp.int32(0)).compile(compiler_options=compiler_options())
    compile_s = time.perf_counter() - t0
    return (lambda g, n: fn(g, s, jnp.int32(n))), state, compile_s
