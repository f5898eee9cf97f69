"""python -m turbjax.simulate --re 300 600 900 1200 --out data/vortex_street [--preset seed|quick|ensemble]
...

    python -m turbjax.simulate --preset ensemble --out data/ensemble [--re ...] [--realizations N]
    python -m turbjax.simulate --preset ensemble --out data/ensemble --missing-only   # only the runs it lacks

The same flow with other numerics (`presets.with_numerics` on the chosen preset; the files record them):
--collision {mrt,bgk}, --boundary {bouzidi,bounce_back}, --diameter-cells X (cells per cylinder diameter),
--inflow U (lattice units: the Mach number), --bulk-viscosity NU (MRT only).

Several hosts: run the same command on every host with --coordinator-address host:port --num-processes N
--process-id i (or JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID); each process simulates and
writes its own contiguous share of the (Reynolds number, realization) list.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from turbjax import cli
from turbjax.checks import output_dir
from turbjax.simulate.presets import BOUNDARIES, COLLISIONS, PRESETS, FlowParams, with_numerics


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m turbjax.simulate",
        description="Simulate the flow past a cylinder (D2Q9 MRT lattice Boltzmann) at several Reynolds "
        "numbers (and realizations) in one vmapped program and write one turbjax snapshot file per run.",
    )
    ap.add_argument("--re", type=float, nargs="+", metavar="RE",
                    help="Reynolds numbers (default: the preset's list; required for presets without one)")
    ap.add_argument("--out", required=True, help="output directory (created if missing)")
    ap.add_argument("--preset", default="seed", choices=sorted(PRESETS), help="flow setup (default: seed)")
    ap.add_argument("--steps", type=int, help="total time steps (default: the preset's)")
    ap.add_argument("--save-every", type=int, help="steps between saved frames (default: the preset's)")
    ap.add_argument("--frames", type=int, help="frames saved at the end of the run (default: the preset's)")
    ap.add_argument("--realizations", type=int,
                    help="perturbed realizations per Reynolds number (default: the preset's; 0: plain runs)")
    ap.add_argument("--perturbation", type=float, metavar="A",
                    help="peak of each realization's initial transverse velocity perturbation, lattice units "
                         "(default: the preset's; 0 with --realizations 0: plain runs of an ensemble preset)")
    numerics = ap.add_argument_group("numerics", "the same flow computed otherwise (default: the preset's)")
    numerics.add_argument("--collision", metavar="{" + ",".join(COLLISIONS) + "}",
                          help="collision operator: MRT or single-relaxation-time BGK")
    numerics.add_argument("--boundary", metavar="{" + ",".join(BOUNDARIES) + "}",
                          help="cylinder: Bouzidi interpolated or plain half-way bounce-back (staircase)")
    numerics.add_argument("--diameter-cells", type=float, metavar="X",
                          help="cells per cylinder diameter (grid, steps and frame spacing scaled; e.g. "
                               "19.2, 25.6 on the seed grids)")
    numerics.add_argument("--inflow", type=float, metavar="U",
                          help="inflow velocity in lattice units, i.e. the Mach number (steps scaled; e.g. "
                               "0.1)")
    numerics.add_argument("--bulk-viscosity", type=float, metavar="NU",
                          help="physical bulk viscosity of the MRT's energy moments (default 1e-3)")
    ap.add_argument("--missing-only", action="store_true",
                    help="simulate only the runs (Reynolds number, realization) whose files --out lacks, "
                         "e.g. more realizations of an ensemble; the files there are kept as they are "
                         "(matched by name only: they are assumed to hold the same preset and numerics)")
    ap.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.add_argument("--coordinator-address", help="multi-host: host:port of process 0 (or "
                                                  "JAX_COORDINATOR_ADDRESS)")
    ap.add_argument("--num-processes", type=int,
                    help="multi-host: number of processes (or JAX_NUM_PROCESSES)")
    ap.add_argument("--process-id", type=int, help="multi-host: this process's id (or JAX_PROCESS_ID)")
    return ap


def _use_all_cpu_cores(n_members: int) -> None:
    """On CPU, split the host into min(cores, members) CPU devices so that the batch axis is sharded over
    them and every core gets work (XLA:CPU also splits the step's loop over its threads; the notes compare
    the two). Only when the user has not chosen (JAX_NUM_CPU_DEVICES / XLA_FLAGS) and no backend is running
    yet."""
    import jax

    if "JAX_NUM_CPU_DEVICES" in os.environ or "device_count" in os.environ.get("XLA_FLAGS", ""):
        return
    n = min(os.cpu_count() or 1, n_members)
    if n > 1:
        try:
            jax.config.update("jax_num_cpu_devices", n)
        except RuntimeError:  # backends already initialised (called in-process after jax was used)
            pass


def _maybe_initialize_distributed(args) -> tuple[int, int]:
    """Join a multi-process job when a coordinator is given (flag or JAX_COORDINATOR_ADDRESS); (index,
    count)."""
    import jax

    address = args.coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
    if not address:
        return 0, 1
    n = args.num_processes if args.num_processes is not None else os.environ.get("JAX_NUM_PROCESSES")
    pid = args.process_id if args.process_id is not None else os.environ.get("JAX_PROCESS_ID")
    jax.distributed.initialize(coordinator_address=address, num_processes=None if n is None else int(n),
                               process_id=None if pid is None else int(pid))
    return jax.process_index(), jax.process_count()


def numerics_params(args) -> FlowParams:
    """The chosen preset with the numerics options applied (the preset itself when none is given); a variant
    is named after its options, e.g. `seed[collision=bgk,diameter_cells=19.2]`."""
    p = PRESETS[args.preset]
    if args.perturbation is not None:
        p = p.replace(perturbation=args.perturbation)
    names = ("collision", "boundary", "diameter_cells", "inflow", "bulk_viscosity")
    over = {k: getattr(args, k) for k in names if getattr(args, k) is not None}
    if not over:
        return p
    tags = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in over.items())
    return with_numerics(p, **over, name=f"{p.name}[{tags}]")


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        p = numerics_params(args)
    except ValueError as e:
        if cli.debug_enabled():
            raise
        cli.report("turbjax.simulate", e)
        return 2
    reynolds = args.re if args.re is not None else list(p.reynolds)
    if not reynolds:
        cli.report("turbjax.simulate", ValueError(
            f"preset {args.preset!r} has no default Reynolds numbers; pass --re, e.g. --re 300 600"))
        return 2
    realizations = args.realizations if args.realizations is not None else p.realizations
    only = None
    if args.missing_only:  # the (Re, realization) runs whose files --out lacks (realization -1: a plain run)
        from turbjax.data import discovery  # lazy, as generate's writer imports the data package

        only = discovery.missing_series(args.out, reynolds, realizations=range(realizations))
    if only is not None and not only:
        print(f"turbjax.simulate: {args.out} already holds every run asked for (--missing-only); "
              "nothing to do")
        return 0
    n_proc = args.num_processes or int(os.environ.get("JAX_NUM_PROCESSES", "1"))
    n_runs = len(only) if only is not None else len(reynolds) * max(realizations, 1)
    _use_all_cpu_cores(-(-n_runs // n_proc))
    from turbjax.simulate import simulate, write_simulation  # after the CPU device count is set
    from turbjax.simulate.runner import plan

    t0 = time.perf_counter()
    try:
        # Check everything before joining a job, so that bad input fails alone, in one line, on every host.
        plan(reynolds, p, steps=args.steps, save_every=args.save_every, frames=args.frames,
             realizations=realizations, share=(0, n_proc), dtype=args.dtype, only=only)
        output_dir(args.out, "--out")
        share = _maybe_initialize_distributed(args)
        sim = simulate(reynolds, p, steps=args.steps, save_every=args.save_every, frames=args.frames,
                       realizations=realizations, share=share, dtype=args.dtype,
                       progress=not args.no_progress, only=only)
        paths = write_simulation(sim, args.out)
    except cli.USER_ERRORS as e:
        if cli.debug_enabled():
            raise
        cli.report("turbjax.simulate", e)
        return 2
    q = sim.params
    print(f"{len(sim.reynolds)} runs x {q.steps} steps of {q.nx}x{q.ny} ({args.dtype}): {sim.mlups:.1f} "
          f"MLUPS (run {sim.run_s:.1f} s, compile {sim.compile_s:.1f} s, total "
          f"{time.perf_counter() - t0:.1f} s with writing; batch on {sim.n_devices} device(s); process "
          f"{share[0]} of {share[1]})")
    for path in paths:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
