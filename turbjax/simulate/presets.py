"""Flow presets: the course's setup (`seed`) and a coarse, short one that still sheds (`quick`)."""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class FlowParams:
    """Flow past a cylinder in the channel [0, nx*dx] x [0, ny*dx]; lattice speed 1, so dt = dx.

    Lengths are physical (domain units); `inflow` is the inlet velocity in lattice units (= physical, c = 1).
    Node (i, j) sits at the cell centre ((i + 0.5) dx, (j + 0.5) dx); the walls are halfway links at y = 0 and
    y = ny*dx, the inlet at x = 0. Frames are saved every `save_every` steps over the last
    `frames * save_every` steps, the last frame being the final state.
    """

    name: str
    nx: int
    ny: int
    dx: float
    steps: int
    save_every: int
    frames: int
    radius: float
    centre: tuple[float, float]
    inflow: float
    bulk_viscosity: float = 1e-3
    probe: tuple[float, float] | None = None  # physical position; None -> 4 radii behind the centre

    @property
    def dt(self) -> float:
        return self.dx

    @property
    def diameter_cells(self) -> float:
        return 2 * self.radius / self.dx

    @property
    def probe_xy(self) -> tuple[float, float]:
        if self.probe is not None:
            return self.probe
        return (self.centre[0] + 4 * self.radius, self.centre[1])

    def viscosity(self, reynolds: float) -> float:
        """Physical shear viscosity nu = U 2r / Re (c = 1 so U is the same number in both unit systems)."""
        return self.inflow * 2 * self.radius / reynolds

    def relaxation_time(self, reynolds: float) -> float:
        """tau = 1 / s_nu = 0.5 + 3 nu / dx (lattice viscosity nu dt / dx^2 = nu / dx)."""
        return 0.5 + 3 * self.viscosity(reynolds) / self.dx

    @property
    def mach(self) -> float:
        return self.inflow * math.sqrt(3.0)

    def replace(self, **kw) -> FlowParams:
        return dataclasses.replace(self, **kw)


_DX_SEED = 1.0 / 128
PRESETS: dict[str, FlowParams] = {
    # The course's data set: 256 x 128, t = 375, 600 frames (every 10th step of the last 6000).
    "seed": FlowParams(
        name="seed", nx=256, ny=128, dx=_DX_SEED, steps=48_000, save_every=10, frames=600,
        radius=0.05, centre=(0.3, 0.5 + _DX_SEED), inflow=1.0 / 20,
    ),
    # Half the resolution (cylinder diameter 6.4 cells), a faster inflow (Mach 0.17) and a shorter domain, so
    # the wake starts shedding after a few thousand steps; for first runs and tests, not for physics.
    "quick": FlowParams(
        name="quick", nx=96, ny=64, dx=1.0 / 64, steps=6_000, save_every=10, frames=100,
        radius=0.05, centre=(0.3, 0.5 + 1.0 / 64), inflow=0.1,
    ),
}
