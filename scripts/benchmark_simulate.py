"""Throughput of turbjax's lattice Boltzmann simulator on the seed grid (256 x 128), in MLUPS.

    python scripts/benchmark_simulate.py [--steps 2000] [--rounds 3]

Prints million lattice updates per second (compilation excluded, reported separately) for float32 and float64,
one Reynolds number and four vmapped, plus a baseline measured in the same run: `bgk`, a single-relaxation-time
collision with the same boundaries and cylinder (the issue's prototype kind of step). `/ BGK` divides by the
BGK figure with the same number of Reynolds numbers. The variants are interleaved over several rounds and the best round is kept, because other
processes share the CPU. The last column divides by the reference figures quoted in issue 3 (they are constants
from the issue, not measured here): the original generator ~22 MLUPS (one core, float64), XLB's JAX backend
~4 MLUPS on the same cylinder grid. `cores used` is the process CPU time over the wall time of the best round
and `MLUPS/CPU-s` the updates per CPU-second actually received (best round), which is what survives a
shared machine: on an idle one, wall MLUPS approach MLUPS/CPU-s times the cores XLA keeps busy.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax

from turbjax.simulate import PRESETS
from turbjax.simulate.runner import compile_stepper

ORIGINAL_MLUPS = 22.0  # quoted in issue 3: the course's original generator, one core, float64
XLB_MLUPS = 4.0  # quoted in issue 3: XLB's JAX backend on the same grid
RE4 = (300.0, 600.0, 900.0, 1200.0)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=2000, help="steps per timed run (even)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is reported")
    args = ap.parse_args(argv)
    steps = args.steps + args.steps % 2
    p = PRESETS["seed"]
    variants = [
        ("mrt", "float32", RE4[:1]), ("mrt", "float32", RE4),
        ("mrt", "float64", RE4[:1]), ("mrt", "float64", RE4),
        ("bgk", "float32", RE4[:1]), ("bgk", "float32", RE4),
    ]
    print(f"jax {jax.__version__}, {jax.devices()[0].platform} x{len(jax.devices())}, "
          f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M:%S')}; seed grid {p.nx}x{p.ny}, "
          f"{steps} steps per run, best of {args.rounds} interleaved rounds")
    compiled = {}
    for v in variants:
        col, dtype, res = v
        with jax.enable_x64(dtype == "float64"):
            run, state, compile_s = compile_stepper(p, res, dtype, collision=col)
            state = run(state, 2)  # warm-up
            jax.block_until_ready(state)
        compiled[v] = [run, state, compile_s, 0.0, 0.0, 0.0]
    for _ in range(args.rounds):
        for v in variants:
            col, dtype, res = v
            run, state, compile_s, best, cores, per_cpu_s = compiled[v]
            with jax.enable_x64(dtype == "float64"):
                t0, c0 = time.perf_counter(), time.process_time()
                state = run(state, steps)
                jax.block_until_ready(state)
                dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            updates = len(res) * p.nx * p.ny * steps / 1e6
            if updates / dt > best:
                best, cores = updates / dt, cpu / dt
            compiled[v] = [run, state, compile_s, best, cores, max(per_cpu_s, updates / cpu)]
    print(f"{'collision':<11}{'dtype':<9}{'n_Re':>5}{'compile s':>11}{'MLUPS':>9}{'cores used':>12}"
          f"{'MLUPS/CPU-s':>13}{'x original':>12}{'x XLB':>8}{'/ BGK':>7}")
    for v in variants:
        col, dtype, res = v
        mlups = compiled[v][3]
        bgk = compiled[("bgk", "float32", res)][3]
        print(f"{col:<11}{dtype:<9}{len(res):>5}{compiled[v][2]:>11.1f}{mlups:>9.1f}{compiled[v][4]:>12.2f}"
              f"{compiled[v][5]:>13.1f}{mlups / ORIGINAL_MLUPS:>12.2f}{mlups / XLB_MLUPS:>8.1f}{mlups / bgk:>7.2f}")
    print(f"reference MLUPS quoted in issue 3 (not measured here): original {ORIGINAL_MLUPS:g}, XLB {XLB_MLUPS:g}")


if __name__ == "__main__":
    main()
