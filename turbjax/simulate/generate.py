"""Simulate and write: one turbjax snapshot file per Reynolds number (turbjax.data.snapshots' format)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from turbjax.simulate.presets import FlowParams
from turbjax.simulate.runner import Simulation, probe_index, simulate


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

    Returns the paths written (`turbjax.data.snapshots.snapshot_path(out_dir, re)`), in the order of `reynolds`.
    """
    sim = simulate(reynolds, preset, steps=steps, save_every=save_every, frames=frames, dtype=dtype,
                   progress=progress)
    return write_simulation(sim, out_dir)


def write_simulation(sim: Simulation, out_dir: str | os.PathLike) -> list[Path]:
    from turbjax.data import snapshots  # lazy: keeps `import turbjax.simulate` from loading the data package

    p = sim.params
    ix, iy = probe_index(p)
    probe_xy = ((ix + 0.5) * p.dx, (iy + 0.5) * p.dx)
    paths = []
    for k, re in enumerate(sim.reynolds):
        path = snapshots.save_snapshots(
            snapshots.snapshot_path(out_dir, re), sim.velocity[k], reynolds=float(re), dx=p.dx, dt=p.dt,
            frame_stride=p.save_every, first_step=sim.first_step, generator=f"turbjax.simulate {p.name}",
            probe_uy=sim.probe_uy[k], probe_xy=probe_xy,
        )
        paths.append(path)
    return paths
