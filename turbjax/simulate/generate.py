"""Simulate and write: one turbjax snapshot file per member (Reynolds number, realization),
turbjax.data.snapshots' format; ensemble files carry the keys of the ensemble contract (realization,
perturbation seed and amplitude, the stored window's origin and the full grid's shape, the shedding
period)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from turbjax.simulate.analysis import shedding_frequency
from turbjax.simulate.presets import FlowParams
from turbjax.simulate.runner import Simulation, probe_index, simulate

MIN_PERIODS = 3.0  # shedding periods the recorded window must span for shedding_period_steps (else NaN)


def generate(
    reynolds: Sequence[float] | float,
    out_dir: str | os.PathLike,
    preset: str | FlowParams = "seed",
    *,
    steps: int | None = None,
    save_every: int | None = None,
    frames: int | None = None,
    realizations: int | None = None,
    share: tuple[int, int] | None = None,
    dtype: str = "float32",
    progress: bool = True,
    only=None,
) -> list[Path]:
    """Simulate all members in one vmapped program and write one turbjax snapshot file per member.

    Returns the paths written (`member_path`), in member order (Re-major). In a multi-process job each
    process simulates and writes its own share (see `simulate`); `only` (pairs (Re, realization)) writes just
    those members (a directory's missing runs).
    """
    sim = simulate(reynolds, preset, steps=steps, save_every=save_every, frames=frames,
                   realizations=realizations,
                   share=share, dtype=dtype, progress=progress, only=only)
    return write_simulation(sim, out_dir)


def member_path(out_dir: str | os.PathLike, reynolds: float, realization: int) -> Path:
    """`vortex_street_Re_{re:g}.npz` for a plain run (realization -1), `..._r{k}.npz` for realization k."""
    from turbjax.data import snapshots  # lazy: keeps `import turbjax.simulate` from loading the data package

    return snapshots.snapshot_path(out_dir, reynolds, int(realization))


def shedding_period_steps(probe_uy, recorded_steps: int) -> float:
    """Shedding period in steps from the probe's spectrum over the last `recorded_steps` steps; NaN (with a
    warning on stderr) if that window spans fewer than MIN_PERIODS periods or the wake does not oscillate."""
    try:
        return 1.0 / shedding_frequency(np.asarray(probe_uy)[-recorded_steps:], min_periods=MIN_PERIODS)
    except ValueError as e:
        print(f"warning: shedding_period_steps = NaN: {e}", file=sys.stderr)
        return float("nan")


def _extra(sim: Simulation, m: int) -> dict:
    """The optional keys for member m: the flow's geometry and numerics always (bulk_viscosity: the one the
    run has, the shear viscosity under BGK); the ensemble contract's keys for realizations and stored
    windows."""
    p = sim.params
    out = {"diameter": 2 * p.radius, "inflow": p.inflow, "cylinder_xy": p.centre, "collision": p.collision,
           "boundary": p.boundary, "bulk_viscosity": p.bulk_viscosity_at(float(sim.reynolds[m]))}
    k = -1 if sim.realization is None else int(sim.realization[m])
    if k < 0 and p.window is None:
        return out
    x0, _, y0, _ = p.window if p.window is not None else (0, p.nx, 0, p.ny)
    return out | {
        "realization": k,
        "perturbation_seed": int(sim.perturbation_seed[m]),
        "perturbation_amplitude": p.perturbation if k >= 0 else 0.0,
        "origin": (x0, y0),
        "grid_shape": (p.nx, p.ny),
        "shedding_period_steps": shedding_period_steps(sim.probe_uy[m], p.frames * p.save_every),
    }


def write_simulation(sim: Simulation, out_dir: str | os.PathLike) -> list[Path]:
    from turbjax.data import snapshots  # lazy: see member_path

    p = sim.params
    ix, iy = probe_index(p)
    probe_xy = ((ix + 0.5) * p.dx, (iy + 0.5) * p.dx)
    paths = []
    for m, re in enumerate(sim.reynolds):
        k = -1 if sim.realization is None else int(sim.realization[m])
        path = snapshots.save_snapshots(
            member_path(out_dir, re, k), sim.velocity[m], reynolds=float(re), dx=p.dx, dt=p.dt,
            frame_stride=p.save_every, first_step=sim.first_step, generator=f"turbjax.simulate {p.name}",
            probe_uy=sim.probe_uy[m], probe_xy=probe_xy, extra=_extra(sim, m),
        )
        paths.append(path)
    return paths
