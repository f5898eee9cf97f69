"""Prototype: D2Q9 MRT step formulations compared with the current one, interleaved in one run (temporary)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from turbjax.simulate import PRESETS, lattice
from turbjax.simulate.lattice import OPP, C, W
from turbjax.simulate.solver import channel_domain, compile_stepper, make_advance

RE4 = (300.0, 600.0, 900.0, 1200.0)


def make_step_flat(domain, barrier=None):
    """Unghosted planes (nx, ny); pull streaming by roll; outputs fresh arrays (no in-place DUS)."""
    nx, ny = domain.nx, domain.ny
    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)
    iota_y = lax.broadcasted_iota(jnp.int32, (nx, ny), 1)

    def at(p, sx, sy):
        return jnp.roll(p, (sx, sy), axis=(0, 1))

    def stream(src):
        out = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            s = at(src[j], cx, cy)
            if domain.outlet and cx == -1:
                s = jnp.where(iota_x == nx - 1, at(src[j], 0, cy), s)
            opp = src[OPP[j]]
            if domain.inlet is not None and cx == 1:
                s = jnp.where(iota_x == 0, opp + 6 * W[j] * cx * domain.inlet, s)
            if domain.walls is not None and cy != 0:
                u_wall = domain.walls[0] if cy == 1 else domain.walls[1]
                s = jnp.where(iota_y == (0 if cy == 1 else ny - 1), opp + 6 * W[j] * cx * u_wall, s)
            out.append(s)
        return out

    def cylinder(src, dtype, s_nu, s_mu):
        cyl = domain.cylinder
        x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
        bx, by = x1 - x0, y1 - y0
        region = [p[x0 - 1:x1 + 1, y0 - 1:y1 + 1] for p in src]
        star = [r[1:1 + bx, 1:1 + by] for r in region]
        pgs = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            sj = region[j][1 - cx:1 - cx + bx, 1 - cy:1 - cy + by]
            if cyl.link[j].any():
                i = OPP[j]
                si = region[i][1 + cx:1 + cx + bx, 1 + cy:1 + cy + by]
                a, b, c = (np.asarray(v[j], dtype) for v in (cyl.a, cyl.b, cyl.c))
                sj = jnp.where(cyl.link[j], a * star[i] + b * si + c * star[j], sj)
            pgs.append(sj)
        return [jnp.where(cyl.solid, jnp.zeros((), dtype), o).astype(dtype)
                for o in lattice.collide(pgs, s_nu, s_mu)]

    def step(src, s_nu, s_mu):
        dtype = src[0].dtype
        s = stream(src)
        if barrier == "stream":
            s = list(lax.optimization_barrier(tuple(s)))
        new = [o.astype(dtype) for o in lattice.collide(s, s_nu, s_mu)]
        if domain.cylinder is not None:
            patch = cylinder(src, dtype, s_nu, s_mu)
            new = [lax.dynamic_update_slice(o, pt, (domain.cylinder.x0, domain.cylinder.y0))
                   for o, pt in zip(new, patch)]
        return tuple(new)

    return step


def collide_staged(g, s_nu, s_mu, stages):
    """lattice.collide's arithmetic, op for op, with optimization barriers between stages (materialized)."""
    g = [g[i] for i in range(9)]
    g0 = g[0]
    axis = (g[1] + g[3]) + (g[2] + g[4])
    diag = (g[5] + g[7]) + (g[6] + g[8])
    drho = g0 + axis + diag
    jx = (g[1] - g[3]) + (g[5] - g[7]) + (g[8] - g[6])
    jy = (g[2] - g[4]) + (g[5] - g[7]) + (g[6] - g[8])
    if "sums" in stages:
        axis, diag, drho, jx, jy = lax.optimization_barrier((axis, diag, drho, jx, jy))
    j2 = jx * jx + jy * jy
    n_e = (axis - 2 * g0) + 4 * diag - 3 * j2
    n_eps = 3 * (g0 - axis + j2)
    k = (s_mu - s_nu) * (1.0 / 36.0)
    corr = (k * (4 * (n_eps - n_e)), k * (-n_e - 2 * n_eps), k * (2 * n_e + n_eps))
    base = drho - 1.5 * j2
    if "moments" in stages:
        corr, base, jx, jy = lax.optimization_barrier((corr, base, jx, jy))
    out = []
    for i in range(9):
        cx, cy = int(C[i, 0]), int(C[i, 1])
        if i == 0:
            geq = W[0] * base
        else:
            cu = lattice._lin([cx, cy], [jx, jy])
            geq = W[i] * (base + cu * (3.0 + 4.5 * cu))
        out.append(g[i] + s_nu * (geq - g[i]) - corr[0 if i == 0 else (1 if i < 5 else 2)])
    return out


def materialize(*xs):
    """All xs computed in one loop (XLA:CPU has no multi-output loop fusion; a variadic reduce is one):
    each x is summed with a zero plane, exact, and the shared subexpressions are evaluated once per node."""
    ops = [jnp.stack([x, jnp.zeros_like(x)]) for x in xs]
    return lax.reduce(ops, [jnp.zeros((), x.dtype) for x in xs],
                      lambda a, b: tuple(ai + bi for ai, bi in zip(a, b)), (0,))


def make_step_ghost(domain, stages=()):
    """solver.make_step (ghosted planes, in-place interior update) with barriers between stages."""
    nx, ny = domain.nx, domain.ny
    iota_x = lax.broadcasted_iota(jnp.int32, (nx, ny), 0)
    iota_y = lax.broadcasted_iota(jnp.int32, (nx, ny), 1)

    def at(p, sx, sy):
        return p[1 - sx:1 - sx + nx, 1 - sy:1 - sy + ny]

    def stream(src):
        out = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            s = at(src[j], cx, cy)
            if domain.outlet and cx == -1:
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
        cyl = domain.cylinder
        x0, x1, y0, y1 = cyl.x0, cyl.x1, cyl.y0, cyl.y1
        bx, by = x1 - x0, y1 - y0
        region = [p[x0:x1 + 2, y0:y1 + 2] for p in src]
        star = [r[1:1 + bx, 1:1 + by] for r in region]
        pgs = []
        for j in range(9):
            cx, cy = int(C[j, 0]), int(C[j, 1])
            sj = region[j][1 - cx:1 - cx + bx, 1 - cy:1 - cy + by]
            if cyl.link[j].any():
                i = OPP[j]
                si = region[i][1 + cx:1 + cx + bx, 1 + cy:1 + cy + by]
                a, b, c = (np.asarray(v[j], dtype) for v in (cyl.a, cyl.b, cyl.c))
                sj = jnp.where(cyl.link[j], a * star[i] + b * si + c * star[j], sj)
            pgs.append(sj)
        out = [jnp.where(cyl.solid, jnp.zeros((), dtype), o).astype(dtype)
               for o in collide_staged(pgs, s_nu, s_mu, stages)]
        return materialize(*out) if "vredcyl" in stages else out

    def step(src, dst, s_nu, s_mu):
        dtype = src[0].dtype
        s = stream(src)
        if "stream" in stages:
            s = list(lax.optimization_barrier(tuple(s)))
        new = [o.astype(dtype) for o in collide_staged(s, s_nu, s_mu, stages)]
        if "vred" in stages and "pad" in stages:
            out = materialize(*[jnp.pad(o, 1) for o in new])
        elif "vred" in stages:
            out = [lax.dynamic_update_slice(d, o, (1, 1)) for d, o in zip(dst, materialize(*new))]
        else:
            out = [lax.dynamic_update_slice(d, o, (1, 1)) for d, o in zip(dst, new)]
        if domain.cylinder is not None:
            patch = cylinder(src, dtype, s_nu, s_mu)
            out = [lax.dynamic_update_slice(o, pt, (domain.cylinder.x0 + 1, domain.cylinder.y0 + 1))
                   for o, pt in zip(out, patch)]
        return tuple(out)

    return step


def compile_ghost(p, reynolds, dtype="float32", stages=()):
    dt = jnp.dtype(dtype)
    domain = channel_domain(p)
    step = jax.vmap(make_step_ghost(domain, stages), in_axes=(0, 0, 0, None))
    advance = make_advance(step)
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s = jnp.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dt)

    def zeros():
        return tuple(jnp.zeros((len(reynolds), p.nx + 2, p.ny + 2), dt) for _ in range(9))

    state = (zeros(), zeros())
    t0 = time.perf_counter()
    fn = jax.jit(lambda ab, n: advance(ab, s, s_mu, n, 0)[0], donate_argnums=0)
    fn = fn.lower(state, jnp.int32(0)).compile()
    return (lambda ab, n: fn(ab, jnp.int32(n))), state, time.perf_counter() - t0, fn


def compile_flat(p, reynolds, dtype="float32", **kw):
    dt = jnp.dtype(dtype)
    domain = channel_domain(p)
    step = jax.vmap(make_step_flat(domain, **kw), in_axes=(0, 0, None))
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    s = jnp.asarray([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds], dt)
    state = tuple(jnp.zeros((len(reynolds), p.nx, p.ny), dt) for _ in range(9))

    def advance(g, n):
        return lax.fori_loop(0, n, lambda t, g: step(g, s, s_mu), g)

    t0 = time.perf_counter()
    fn = jax.jit(advance, donate_argnums=0).lower(state, jnp.int32(0)).compile()
    return (lambda g, n: fn(g, jnp.int32(n))), state, time.perf_counter() - t0, fn


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--nre", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--variants", nargs="+", default=["current", "flat", "flat_stream_barrier"])
    ap.add_argument("--hlo", action="store_true")
    ap.add_argument("--check", type=int, default=0, help="compare each variant's state with current's after N steps")
    args = ap.parse_args()
    p = PRESETS["seed"]
    comp = {}
    for nre in args.nre:
        res = RE4[:nre]
        for v in args.variants:
            if v == "current":
                run, st, c = compile_stepper(p, res)
                fn = None
            elif v == "flat":
                run, st, c, fn = compile_flat(p, res)
            elif v == "flat_stream_barrier":
                run, st, c, fn = compile_flat(p, res, barrier="stream")
            elif v.startswith("ghost"):
                run, st, c, fn = compile_ghost(p, res, stages=tuple(v.split("_")[1:]))
            if args.hlo and fn is not None:
                txt = fn.as_text()
                n_fus = sum(1 for line in txt.splitlines() if " fusion(" in line)
                print(v, nre, "fusion calls in HLO:", n_fus)
                Path(f"/tmp/sp/{v}_{nre}.hlo").write_text(txt)
            st = run(st, 2)
            jax.block_until_ready(st)
            comp[(v, nre)] = [run, st, c, 0.0, 0.0, 0.0]
    if args.check:
        for nre in args.nre:
            ref = comp[("current", nre)][0](comp[("current", nre)][1], args.check)
            comp[("current", nre)][1] = ref
            for v in args.variants:
                if v == "current":
                    continue
                e = comp[(v, nre)]
                st = e[0](e[1], args.check)
                e[1] = st
                a, b = np.stack([np.asarray(q) for q in ref[0]]), np.stack([np.asarray(q) for q in st[0]])
                print(f"check {v} nRe={nre} after {args.check + 2} steps: identical {np.array_equal(a, b)}, "
                      f"max |diff| {np.abs(a - b).max():.3g}, max |g| {np.abs(a).max():.3g}")
    for _ in range(args.rounds):
        for key, e in comp.items():
            run, st = e[0], e[1]
            t0, c0 = time.perf_counter(), time.process_time()
            st = run(st, args.steps)
            jax.block_until_ready(st)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            m = key[1] * p.nx * p.ny * args.steps / dt / 1e6
            e[1] = st
            if m > e[3]:
                e[3], e[4] = m, cpu / dt
            e[5] = max(e[5], m * dt / cpu)
    for nre in args.nre:
        base = comp[("current", nre)][3] if ("current", nre) in comp else float("nan")
        for v in args.variants:
            e = comp[(v, nre)]
            print(f"{v:<24} nRe={nre}  compile {e[2]:5.1f} s  {e[3]:7.1f} MLUPS  cores {e[4]:4.2f}  "
                  f"x current {e[3] / base:5.2f}  MLUPS/CPU-s {e[5]:6.1f}")


if __name__ == "__main__":
    main()
