"""Prototype (behind docs/performance_notes.md, "The padded one loop"): step layouts timed interleaved in one
process, MRT float32 on the seed grid, the relaxation rate a runtime argument as in the runner.

    python scripts/prototype_step_layouts.py STEPS [MODE ...]   (default modes: old padout rows2)

Modes: `old` the previous step (the one loop writes the interior, copied into the ghosted buffers of a second
state); `padout` the padded loop with a scalar rate; `padout_splane` the same with the rate as a plane (what
`step.make_step` does now); `rows2` planes (nx + 4, ny), two ghost rows and no ghost columns, y shifts as 1D
shifts of the flattened plane; `flat1d` the same with 1D state arrays. Each mode is checked bit for bit
against the first after 1000 steps, for 1 and 4 Re; prints MLUPS and MLUPS per CPU-second, best of 5
rounds, as ratios to `old`. Use `taskset -c 0` for one core."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import PRESETS, boundaries, lattice
from turbjax.simulate.lattice import OPP, C
from turbjax.simulate.step import channel_domain, compiler_options, one_loop, pull, shifted, streaming_rules

p = PRESETS["seed"]
NX, NY = p.nx, p.ny
S_MU = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
D = channel_domain(p)
RULES = streaming_rules(D)
collide = lattice.collide


def patch_rows2(src, s_nu, s_mu):
    """bouzidi patch on rows2 planes: node (x, y) at [x + 2, y]."""
    cyl = D.cylinder
    x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
    bx, by = x1 - x0, y1 - y0
    region = [q[x0 + 1:x1 + 3, y0 - 1:y1 + 1] for q in src]
    star = [r[1:1 + bx, 1:1 + by] for r in region]
    pgs = []
    dtype = src[0].dtype
    for j in range(9):
        cx, cy = int(C[j, 0]), int(C[j, 1])
        sj = region[j][1 - cx:1 - cx + bx, 1 - cy:1 - cy + by]
        if cyl.link[j].any():
            i = OPP[j]
            si = region[i][1 + cx:1 + cx + bx, 1 + cy:1 + cy + by]
            a, b, c = (np.asarray(v[j], dtype) for v in (cyl.a, cyl.b, cyl.c))
            sj = jnp.where(cyl.link[j], a * star[i] + b * si + c * star[j], sj)
        pgs.append(sj)
    planes = [jnp.where(cyl.solid, jnp.zeros((), dtype), o).astype(dtype) for o in collide(pgs, s_nu, s_mu)]
    return (x0 + 2, y0), planes


def step_rows2(src, s_nu, s_mu):
    L = (NX + 4) * NY
    flat = [q.reshape(L) for q in src]

    def view(i, sx, sy):
        off = sx * NY + sy
        start = 2 * NY - off
        return flat[i][start:start + NX * NY].reshape(NX, NY)

    s = pull(view, RULES)
    new = collide(s, s_nu, s_mu)
    out = one_loop(*[jnp.pad(o, ((2, 2), (0, 0))) for o in new])
    corner, planes = patch_rows2(src, s_nu, s_mu)
    planes = one_loop(*planes)
    return tuple(lax.dynamic_update_slice(o, pt, corner) for o, pt in zip(out, planes, strict=True))


def step_flat1d(src, s_nu, s_mu):
    """rows2 with 1D planes ((nx + 4) * ny,): the state itself flat, 2D views by reshape."""
    def view(i, sx, sy):
        start = 2 * NY - (sx * NY + sy)
        return src[i][start:start + NX * NY].reshape(NX, NY)

    s = pull(view, RULES)
    new = collide(s, s_nu, s_mu)
    out = one_loop(*[jnp.pad(o, ((2, 2), (0, 0))) for o in new])
    corner, planes = patch_rows2([q.reshape(NX + 4, NY) for q in src], s_nu, s_mu)
    planes = one_loop(*planes)
    out = [lax.dynamic_update_slice(o, pt, corner) for o, pt in zip(out, planes, strict=True)]
    return tuple(o.reshape(-1) for o in out)


def step_padout(src, s_nu, s_mu):
    """Ghosted planes, the one loop writes whole ghosted planes (zero ring by pad); s_nu scalar or a plane."""
    def view(i, sx, sy):
        return shifted(src[i], sx, sy, NX, NY)
    s = pull(view, RULES)
    out = one_loop(*[jnp.pad(o, 1) for o in collide(s, s_nu, s_mu)])
    cyl = D.cylinder
    s_p = s_nu[cyl.x0:cyl.x1, cyl.y0:cyl.y1] if jnp.ndim(s_nu) else s_nu
    corner, planes = boundaries.bouzidi_cylinder(cyl)(src, s_p, s_mu)
    planes = one_loop(*planes)
    return tuple(lax.dynamic_update_slice(o, pt, corner) for o, pt in zip(out, planes, strict=True))


def step_old(src, dst, s_nu, s_mu):
    def view(i, sx, sy):
        return shifted(src[i], sx, sy, NX, NY)
    s = pull(view, RULES)
    new = one_loop(*collide(s, s_nu, s_mu))
    out = [lax.dynamic_update_slice(d, o, (1, 1)) for d, o in zip(dst, new, strict=True)]
    corner, planes = boundaries.bouzidi_cylinder(D.cylinder)(src, s_nu, s_mu)
    planes = one_loop(*planes)
    return tuple(lax.dynamic_update_slice(o, pt, corner) for o, pt in zip(out, planes, strict=True))


def compile_mode(mode, reynolds):
    dt = jnp.float32
    s = jnp.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dt)
    B = len(reynolds)
    if mode == "old":
        st = jax.vmap(step_old, in_axes=(0, 0, 0, None))
        z = lambda: tuple(jnp.zeros((B, NX + 2, NY + 2), dt) for _ in range(9))
        state = (z(), z())
        def adv(ab, s, n):
            def pair(t, ab):
                a, b = ab
                b = st(a, b, s, S_MU)
                return st(b, a, s, S_MU), b
            return lax.fori_loop(0, n // 2, pair, ab)
    else:
        fn = {"rows2": step_rows2, "flat1d": step_flat1d}.get(mode, step_padout)
        st = jax.vmap(fn, in_axes=(0, 0, None))
        shape = {"rows2": (B, NX + 4, NY), "flat1d": (B, (NX + 4) * NY)}.get(mode, (B, NX + 2, NY + 2))
        state = tuple(jnp.zeros(shape, dt) for _ in range(9))
        def adv(g, s, n):
            return lax.fori_loop(0, n // 2, lambda t, g: st(st(g, s, S_MU), s, S_MU), g)
    if mode == "padout_splane":
        s = jnp.broadcast_to(s[:, None, None], (B, NX, NY)) + jnp.zeros((B, NX, NY), dt)
    c = jax.jit(adv, donate_argnums=0).lower(state, s, jnp.int32(0))
    c = c.compile(compiler_options=compiler_options())
    return (lambda g, n: c(g, s, jnp.int32(n))), state


def interior(mode, g):
    if mode == "old":
        g = g[0]
    a = np.stack([np.asarray(q) for q in g])
    if mode == "flat1d":
        a = a.reshape(a.shape[0], a.shape[1], NX + 4, NY)
    return a[:, :, 2:-2, :] if mode in ("rows2", "flat1d") else a[:, :, 1:-1, 1:-1]


def bench(comp, steps, rounds):
    res, cpu = {}, {}
    for _ in range(rounds):
        for key, e in comp.items():
            t0, c0 = time.perf_counter(), time.process_time()
            e[1] = jax.block_until_ready(e[0](e[1], steps))
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            m = key[1] * NX * NY * steps / dt / 1e6
            if m > res.get(key, 0):
                res[key] = m
            cpu[key] = max(cpu.get(key, 0), key[1] * NX * NY * steps / dc / 1e6)
    for key, m in res.items():
        print(f"{key[0]:<14} nRe={key[1]}  {m:7.1f} MLUPS (x old {m / res[('old', key[1])]:4.2f})  "
              f"{cpu[key]:7.1f} MLUPS/CPU-s (x old {cpu[key] / cpu[('old', key[1])]:4.2f})", flush=True)


if __name__ == "__main__":
    modes = sys.argv[2:] or ["old", "padout", "rows2"]
    comp = {}
    for nre in (1, 4):
        res = (300.0, 600.0, 900.0, 1200.0)[:nre]
        ref = None
        for m in modes:
            run, st = compile_mode(m, res)
            g = interior(m, run(st, 1000))
            if ref is None:
                ref = g
            else:
                print(f"{m} nRe={nre}: identical to {modes[0]} after 1000 steps: {np.array_equal(ref, g)}, "
                      f"max diff {np.abs(ref - g).max():.3g}")
            comp[(m, nre)] = [run, compile_mode(m, res)[1]]
    for e in comp.values():
        e[1] = jax.block_until_ready(e[0](e[1], 2))
    bench(comp, int(sys.argv[1]), 5)
