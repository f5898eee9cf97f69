"""Initial states: rest, or rest plus a seeded small transverse velocity perturbation behind the cylinder.

The perturbation breaks the wake's symmetry differently per seed, so each realization of an ensemble reaches
the same shedding limit cycle at its own phase (and through its own transient). It is a sum of a few Gaussian
blobs of transverse velocity (width one radius) placed at random in the near wake, scaled to the peak
`amplitude`, zero inside the cylinder; the state is its equilibrium (density unchanged), so the first
collision leaves it as it is.
"""

from __future__ import annotations

import numpy as np

from turbjax.simulate import lattice
from turbjax.simulate.presets import FlowParams

BLOBS = 4  # Gaussian blobs per perturbation


def perturbation_uy(p: FlowParams, seed: int) -> np.ndarray:
    """Transverse velocity (nx, ny) float64 of realization `seed`, peak |uy| = 1 (scale by the amplitude)."""
    rng = np.random.default_rng(seed)
    cx, cy, r = p.centre[0] / p.dx, p.centre[1] / p.dx, p.radius / p.dx  # lattice units, node i at i + 0.5
    X, Y = np.meshgrid(np.arange(p.nx) + 0.5, np.arange(p.ny) + 0.5, indexing="ij")
    # Blob centres in the near wake: 1..6 radii downstream of the centre, within 1.5 radii of the axis.
    xs = rng.uniform(cx + r, cx + 6 * r, BLOBS)
    ys = rng.uniform(cy - 1.5 * r, cy + 1.5 * r, BLOBS)
    amps = rng.uniform(-1.0, 1.0, BLOBS)
    uy = sum(a * np.exp(-((X - x) ** 2 + (Y - y) ** 2) / (2 * r * r))
             for a, x, y in zip(amps, xs, ys, strict=True))
    uy = np.where((X - cx) ** 2 + (Y - cy) ** 2 <= r * r, 0.0, uy)
    return uy / np.abs(uy).max()


def initial_state(p: FlowParams, seeds, dtype) -> np.ndarray:
    """Deviations g (B, 9, nx, ny) of the rest state plus each seed's perturbation of peak p.perturbation.

    Seeds < 0 (plain runs) get no perturbation. With amplitude 0 the state is exactly the rest state (zeros).
    """
    out = np.zeros((len(seeds), 9, p.nx, p.ny), dtype)
    for b, seed in enumerate(seeds):
        if seed >= 0:
            uy = p.perturbation * perturbation_uy(p, int(seed))
            # + 0.0 turns the -0.0 of a zero amplitude times a negative value into +0.0 (the rest state's
            # bits).
            out[b] = lattice.equilibrium(np.zeros_like(uy), np.zeros_like(uy), uy) + 0.0
    return out
