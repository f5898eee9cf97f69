"""Throughput of turbjax's lattice Boltzmann simulator on the seed grid (256 x 128), in MLUPS, against lbmpy.

    python scripts/benchmark_simulate.py [--steps 2000] [--rounds 3] [--devices N] [--no-lbmpy]

Prints million lattice updates per second (compilation excluded, reported separately) for float32 and float64,
one Reynolds number and four vmapped, with baselines measured in the same run:
  - `mrt 9 loops`: the same step with `fused=False`, i.e. XLA's nine per-population loops that each recompute
    the moments (the step before the one-loop form); `x 9 loops` divides by it (same dtype and n_Re);
  - `bgk`: a single-relaxation-time collision with the same boundaries and cylinder (one loop as well);
  - `mrt sharded` (float32, 4 Re): the four Reynolds numbers sharded over N CPU devices, as
    `python -m turbjax.simulate` does by default (N: the largest divisor of 4 up to --devices, default the
    cores of this process); every other turbjax row runs on one device, where XLA:CPU may still spread the
    step's loop over its thread pool (the one loop is split into row blocks), so a row's `threads` is the
    cores it kept busy: its `cores used` rounded up (less 0.2 for timing noise), at least its devices;
  - `lbmpy ...`, when lbmpy is importable (`pip install lbmpy`; never a dependency of turbjax): its
    code-generated C D2Q9 MRT stream-collide kernel (incompressible, float32, no boundaries: it does less work
    per update than turbjax's step, which has an inlet, walls, an outlet and the cylinder) on the same grid,
    called from Python once per step, for 1 lattice and for 4 (each run its steps in turn, the cache-friendly
    order), in the variants a practitioner would try: pystencils' explicit SIMD for the vector ISA that
    `Target.auto_cpu()` picks and for the ones /proc/cpuinfo lists (X86_AVX512; X86_AVX, i.e. AVX2 + FMA),
    plain scalar C (gcc -O3 -march=native, which vectorizes on its own), each with OpenMP off (1 thread) and
    on with N threads. A variant that fails to generate, compile or run is left out; all such failures are
    printed on ONE line (the first line of each error, no traceback), and a missing lbmpy is one line too.
The variants are interleaved over several rounds and the best round is kept, because other processes share the
CPU. Then, for 1 Re and for 4 Re,
    <k> Re: ratio turbjax/lbmpy-best (wall MLUPS, same run, N threads): X
turbjax's MRT float32 row using N threads (one device; for 4 Re also sharded over N devices) over the fastest
lbmpy variant using at most N threads; X > 1 means turbjax is faster.
The table names the CPU model, the cores and the versions. `x original` / `x XLB` divide by reference figures
quoted in issue 3 (constants from the issue, not measured here): the original generator ~22 MLUPS (one core,
float64), XLB's JAX backend ~4 MLUPS on the same cylinder grid. `cores used` is the process CPU time over the
wall time of the best round and `MLUPS/CPU-s` the updates per CPU-second actually received (best round), which
is what survives a shared machine: on an idle one, wall MLUPS approach MLUPS/CPU-s times the threads kept
busy.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np
from bench_common import (  # scripts/ is on sys.path as the running script's folder
    cores,
    machine_line,
    one_line,
    ratio_line,
    skipped_line,
    versions_line,
)

from turbjax.simulate import PRESETS, lattice
from turbjax.simulate.runner import compile_stepper
from turbjax.simulate.step import channel_domain, compiler_options, make_step, rate_plane
from turbjax.simulate.trajectory import make_advance

ORIGINAL_MLUPS = 22.0  # quoted in issue 3: the course's original generator, one core, float64
XLB_MLUPS = 4.0  # quoted in issue 3: XLB's JAX backend on the same grid
RE4 = (300.0, 600.0, 900.0, 1200.0)
DISTS = ("jax", "jaxlib", "numpy", "lbmpy", "pystencils", "py-cpuinfo")
# pystencils 2.0 reads the x86 vector ISAs with py-cpuinfo; without it Target.auto_cpu() is the scalar target
AUTO_CPU_HINT = ("Target.auto_cpu() found no vector ISA: on x86 pystencils reads them with py-cpuinfo, "
                 "pip install py-cpuinfo")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="steps per timed run (even)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is reported")
    ap.add_argument("--devices", type=int, default=cores(),
                    help="CPU devices (threads) for the sharded 4-Re row and the lbmpy OpenMP variants "
                         "(default: this process's cores, %(default)s here; 1 leaves both out)")
    ap.add_argument("--no-lbmpy", action="store_true", help="skip the lbmpy rows even if lbmpy is installed")
    args = ap.parse_args(argv)
    steps = args.steps + args.steps % 2
    n_dev = max(d for d in range(1, min(max(args.devices, 1), len(RE4)) + 1) if len(RE4) % d == 0)
    if n_dev > 1:
        try:  # before the backend starts: split the host into CPU devices, as the CLI does
            jax.config.update("jax_num_cpu_devices", n_dev)
        except RuntimeError:
            pass
    p = PRESETS["seed"]
    variants = [
        ("mrt", "float32", RE4[:1]), ("mrt", "float32", RE4),
        ("mrt 9 loops", "float32", RE4[:1]), ("mrt 9 loops", "float32", RE4),
        ("mrt", "float64", RE4[:1]), ("mrt", "float64", RE4),
        ("mrt 9 loops", "float64", RE4[:1]), ("mrt 9 loops", "float64", RE4),
        ("bgk", "float32", RE4[:1]), ("bgk", "float32", RE4),
    ]
    on_cpu = jax.default_backend() == "cpu"
    n_dev = min(n_dev, len(jax.devices())) if on_cpu else 1
    print(f"jax {jax.__version__}, {jax.devices()[0].platform} x{len(jax.devices())}, "
          f"{time.strftime('%Y-%m-%d %H:%M:%S')}; seed grid {p.nx}x{p.ny}, "
          f"{steps} steps per run, best of {args.rounds} interleaved rounds")
    print(machine_line())
    compiled, threads = {}, {}
    for v in variants:
        kernel, dtype, res = v
        with jax.enable_x64(dtype == "float64"):
            run, state, compile_s = compile_stepper(p, res, dtype, collision=kernel[:3],
                                                    fused=kernel != "mrt 9 loops")
            state = run(state, 2)  # warm-up
            jax.block_until_ready(state)
        compiled[v], threads[v] = [run, state, compile_s, 0.0, 0.0, 0.0], 1
    if n_dev > 1:
        v = ("mrt sharded", "float32", RE4)
        run, state, compile_s = sharded_stepper(p, RE4, n_dev)
        state = jax.block_until_ready(run(state, 2))
        variants.append(v)
        compiled[v], threads[v] = [run, state, compile_s, 0.0, 0.0, 0.0], n_dev
    lbm_threads = sorted({1, n_dev if on_cpu else max(args.devices, 1)})
    lbm_names = []
    if not args.no_lbmpy:
        for name, (kernel_fn, t, build_s) in lbmpy_kernels(p.nx, p.ny, lbm_threads).items():
            lbm_names.append(name)
            for res in (RE4[:1], RE4):
                run, state = lbmpy_runner(kernel_fn, p.nx, p.ny, len(res))
                v = (name, "float32", res)
                variants.append(v)
                compiled[v], threads[v] = [run, run(state, 2), build_s, 0.0, 0.0, 0.0], t
    for _ in range(args.rounds):
        for v in variants:
            kernel, dtype, res = v
            run, state, compile_s, best, used, per_cpu_s = compiled[v]
            with jax.enable_x64(dtype == "float64"):
                t0, c0 = time.perf_counter(), time.process_time()
                state = jax.block_until_ready(run(state, steps))
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            updates = len(res) * p.nx * p.ny * steps / 1e6
            if updates / dt > best:
                best, used = updates / dt, cpu / dt
            compiled[v] = [run, state, compile_s, best, used, max(per_cpu_s, updates / max(cpu, 1e-9))]
    for v in variants:  # the cores a row kept busy (XLA:CPU splits a loop over its threads), at least its own
        threads[v] = max(threads[v], math.ceil(compiled[v][4] - 0.2))
    print(f"\n=== MLUPS, best of {args.rounds} interleaved rounds; {machine_line()} ===")
    print(versions_line(DISTS))
    print(f"{'kernel':<28}{'dtype':<9}{'n_Re':>5}{'threads':>8}{'compile s':>11}{'MLUPS':>9}"
          f"{'cores used':>12}{'MLUPS/CPU-s':>13}{'x 9 loops':>11}{'x original':>12}{'x XLB':>8}")
    for v in variants:
        kernel, dtype, res = v
        mlups = compiled[v][3]
        ref = compiled.get(("mrt 9 loops", dtype, res), [0, 0, 0, float("nan")])[3]
        print(f"{kernel:<28}{dtype:<9}{len(res):>5}{threads[v]:>8}{compiled[v][2]:>11.1f}{mlups:>9.1f}"
              f"{compiled[v][4]:>12.2f}"
              f"{compiled[v][5]:>13.1f}{mlups / ref:>11.2f}{mlups / ORIGINAL_MLUPS:>12.2f}"
              f"{mlups / XLB_MLUPS:>8.1f}")
    if not args.no_lbmpy:
        where = "" if on_cpu else f"; turbjax on the {jax.default_backend()}"
        for res in (RE4[:1], RE4):
            ours = [v for v in variants if v[0] in ("mrt", "mrt sharded") and v[1:] == ("float32", res)]
            for v in ours:
                t = threads[v] if on_cpu else lbm_threads[-1]
                peers = [(n, "float32", res) for n in lbm_names if threads[(n, "float32", res)] <= t]
                best = max(peers, key=lambda w: compiled[w][3], default=None)
                detail = (f"turbjax {v[0]} {compiled[v][3]:.1f}, {best[0]} {compiled[best][3]:.1f} MLUPS; "
                          f"per CPU-second {compiled[v][5] / compiled[best][5]:.2f}{where}" if best
                          else f"no lbmpy variant ran{where}")
                print(f"{len(res)} Re: " + ratio_line(
                    "lbmpy", f"wall MLUPS, same run, {t} threads", compiled[v][3],
                    compiled[best][3] if best else None, higher_is_better=True, detail=detail))
    print(f"reference MLUPS quoted in issue 3 (not measured here): original {ORIGINAL_MLUPS:g}, "
          f"XLB {XLB_MLUPS:g}")


def sharded_stepper(p, reynolds, n_dev: int):
    """compile_stepper's MRT float32 program with the Re axis sharded over the first n_dev devices (the
    runner's layout: a 1-D mesh, the batch axis of the state and of the relaxation rates split, no
    communication): (run, state, compile_s)."""
    step = jax.vmap(make_step(channel_domain(p), collision="mrt"), in_axes=(0, 0, None))
    advance = make_advance(step)
    s_mu = float(lattice.relaxation_rate(p.bulk_viscosity / p.dx))
    mesh = jax.make_mesh((n_dev,), ("re",), (jax.sharding.AxisType.Auto,), devices=jax.devices()[:n_dev])
    put = lambda a: jax.device_put(a, jax.NamedSharding(mesh, jax.P("re")))
    s = put(jnp.asarray(rate_plane([lattice.relaxation_rate(p.viscosity(re) / p.dx) for re in reynolds],
                                   p.nx, p.ny), jnp.float32))
    state = tuple(put(jnp.zeros((len(reynolds), p.nx + 2, p.ny + 2), jnp.float32)) for _ in range(9))
    t0 = time.perf_counter()
    fn = jax.jit(lambda g, s, n: advance(g, s, s_mu, n, 0)[0], donate_argnums=0)
    fn = fn.lower(state, s, jnp.int32(0)).compile(compiler_options=compiler_options())
    compile_s = time.perf_counter() - t0
    return (lambda g, n: fn(g, s, jnp.int32(n))), state, compile_s


def cpu_flags(cpuinfo: str = "/proc/cpuinfo") -> set[str]:
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() in ("flags", "Features"):
                    return set(value.split())
    except OSError:
        pass
    return set()


def lbmpy_targets(ps, flags: set[str]) -> list[tuple[str, object, bool]]:
    """(label, pystencils target, vectorize) for each kernel variant worth trying on this CPU, without
    duplicates: the SIMD target pystencils picks itself (`Target.auto_cpu()`: GenericCPU when it cannot tell,
    e.g. without py-cpuinfo, and then vectorizing fails), the x86 ISAs /proc/cpuinfo lists, and scalar C."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Unable to determine available x86 vector CPU targets": auto fails
        auto = ps.Target.auto_cpu()
    label = f"simd {auto.name.lower().removeprefix('x86_')}" if auto.is_vector_cpu() else "simd auto"
    out = [(label, auto, True)]
    if "avx512f" in flags:
        out.append(("simd avx512", ps.Target.X86_AVX512, True))
    if {"avx", "avx2", "fma"} <= flags:
        out.append(("simd avx", ps.Target.X86_AVX, True))
    elif {"sse4_1", "sse4_2"} <= flags:
        out.append(("simd sse", ps.Target.X86_SSE, True))
    out.append(("scalar", ps.Target.CurrentCPU, False))
    seen, unique = set(), []
    for label, target, vec in out:
        if (target, vec) not in seen:
            seen.add((target, vec))
            unique.append((label, target, vec))
    return unique


def lbmpy_kernels(nx: int, ny: int, thread_counts, log=print) -> dict:
    """{name: (kernel, threads, build_s)} for lbmpy's D2Q9 MRT float32 kernel (one ghost layer, fzyx layout)
    in every variant of lbmpy_targets x OpenMP (off for 1 thread; on, with num_threads, for more) that
    generates, compiles and runs; the update rule is generated once. A missing lbmpy is one printed line (via
    `log`), and so are all failed variants together; {} when none is left."""
    try:  # optional, imported only here: lbmpy is a benchmark reference, not a dependency
        import pystencils as ps
        from lbmpy import LBMConfig, LBMOptimisation, LBStencil, Method, Stencil, create_lb_update_rule
    except Exception as e:  # a broken install fails in many ways, not only ImportError: skipped too
        log(skipped_line("lbmpy", f"not importable ({one_line(e)}); pip install lbmpy to add its rows"))
        return {}
    try:
        src_f, dst_f = ps.fields("src(9), dst(9): float32[2D]", layout="fzyx")
        cfg = LBMConfig(stencil=LBStencil(Stencil.D2Q9), method=Method.MRT,
                        relaxation_rates=[1.9, 1.2, 1.2, 1.9], compressible=False)
        opt = LBMOptimisation(symbolic_field=src_f, symbolic_temporary_field=dst_f)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rule = create_lb_update_rule(lbm_config=cfg, lbm_optimisation=opt,
                                         config=ps.CreateKernelConfig(default_dtype="float32"))
        targets = lbmpy_targets(ps, cpu_flags())
    except Exception as e:  # the symbolic part failed: no variant can be built
        log(skipped_line("lbmpy", f"its update rule could not be generated ({one_line(e)})"))
        return {}
    built, failed = {}, {}  # failed: {one-line reason: [variant names]}
    for label, target, vectorize in targets:
        for t in thread_counts:
            name = f"lbmpy {label}" + (f" omp{t}" if t > 1 else "")
            try:
                t0 = time.perf_counter()
                kc = ps.CreateKernelConfig(target=target, default_dtype="float32", ghost_layers=1)
                if vectorize:
                    kc.cpu.vectorize.enable = True
                    kc.cpu.vectorize.assume_inner_stride_one = True
                if t > 1:
                    kc.cpu.openmp.enable = True
                    kc.cpu.openmp.num_threads = t
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    kernel = ps.create_kernel(rule, config=kc).compile()
                a, b = (np.ascontiguousarray(rest_state(nx, ny)).transpose(2, 1, 0) for _ in range(2))
                kernel(src=a, dst=b)  # runs, or fails here rather than in the timed rounds
                built[name] = (kernel, t, time.perf_counter() - t0)
            except Exception as e:  # one line per variant, all of them on one printed line below
                why = one_line(e, 160)
                if vectorize and not target.is_vector_cpu():
                    why += f" ({AUTO_CPU_HINT})"
                failed.setdefault(why, []).append(name)
    n = sum(map(len, failed.values()))
    reasons = "; ".join(f"{', '.join(names)}: {why}" for why, names in failed.items())
    if not built:
        log(skipped_line("lbmpy", f"none of its {n} kernel variants could be built or run: {reasons}"))
    elif failed:
        log(f"lbmpy variants that failed ({n} of {n + len(built)}, left out): {reasons}")
    return built


def rest_state(nx: int, ny: int):
    """The rest state f = w, (9, ny + 2, nx + 2) float32 (population slowest, x fastest: the fzyx layout,
    pystencils' loops run over x innermost)."""
    w = np.array([4 / 9] + [1 / 9] * 4 + [1 / 36] * 4, np.float32)
    return np.broadcast_to(w[:, None, None], (9, ny + 2, nx + 2))


def lbmpy_runner(kernel, nx: int, ny: int, n_lattices: int):
    """(run, state): state holds n_lattices independent (src, dst) pairs at rest; run(state, n) applies the
    kernel n times to each lattice in turn (all steps of one, then the next: the order that keeps one lattice
    in the cache), swapping buffers."""
    state = [tuple(np.ascontiguousarray(rest_state(nx, ny)).transpose(2, 1, 0) for _ in range(2))
             for _ in range(n_lattices)]

    def run(pairs, n):
        out = []
        for a, b in pairs:
            for _ in range(n):
                kernel(src=a, dst=b)
                a, b = b, a
            out.append((a, b))
        return out

    return run, state


if __name__ == "__main__":
    main()
