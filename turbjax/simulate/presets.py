"""Flow presets: the course's setup (`seed`) and a coarse, short one that still sheds (`quick`); input
checks."""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Sequence

import numpy as np

DTYPES = ("float32", "float64")
COLLISIONS = ("mrt", "bgk")  # lattice.collide (Lallemand-Luo MRT), lattice.collide_bgk (one relaxation time)
BOUNDARIES = ("bouzidi", "bounce_back")  # the cylinder: interpolated or plain half-way bounce-back


@dataclasses.dataclass(frozen=True)
class FlowParams:
    """Flow past a cylinder in the channel [0, nx*dx] x [0, ny*dx]; lattice speed 1, so dt = dx.

    Lengths are physical (domain units); `inflow` is the inlet velocity in lattice units (= physical, c = 1).
    Node (i, j) sits at the cell centre ((i + 0.5) dx, (j + 0.5) dx); the walls are halfway links at y = 0 and
    y = ny*dx, the inlet at x = 0. Frames are saved every `save_every` steps over the last
    `frames * save_every` steps, the last frame being the final state.

    Ensembles: `realizations` > 0 runs that many realizations per Reynolds number, realization k starting
    from rest plus a seeded transverse velocity perturbation of peak `perturbation` (lattice units) behind the
    cylinder (seed k; see `initial`); 0 runs one plain, unperturbed run per Reynolds number. `window`
    (x0, x1, y0, y1) stores only the frames' cells [x0, x1) x [y0, y1) of the full grid (None: all).
    `reynolds` is the preset's default list (the CLI's --re default; empty: --re is required).

    Numerics: `collision` "mrt" (shear modes relax at 1/tau, the energy moments e, eps at the rate of the
    physical `bulk_viscosity`) or "bgk" (every moment at 1/tau: the bulk viscosity is the shear viscosity and
    `bulk_viscosity` is unused); `boundary` "bouzidi" (interpolated bounce-back at the exact wall distance) or
    "bounce_back" (plain half-way bounce-back on the staircase cylinder: the same cut links, wall distance
    taken as 1/2).
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
    reynolds: tuple[float, ...] = ()
    realizations: int = 0
    perturbation: float = 0.0
    window: tuple[int, int, int, int] | None = None
    collision: str = "mrt"
    boundary: str = "bouzidi"

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

    def bulk_viscosity_at(self, reynolds: float) -> float:
        """The physical bulk viscosity the run has: `bulk_viscosity` with MRT, the shear viscosity with BGK
        (whose one rate relaxes the energy moments too)."""
        return self.viscosity(reynolds) if self.collision == "bgk" else self.bulk_viscosity

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
    # The same runs as `seed` (same grid, flow, initial state and steps: its last 600 frames are the seed
    # files' frames), recorded 6x longer: every 10th step of the last 36,000 (3600 frames, ~30 shedding
    # periods), wake window x [150, 234), y [30, 98) only (the default crop with its halo and 8 cells of room
    # for shifts): 0.66 GB for 4 Re. For the `time` split: test on the seed files' last 20% (the last 120
    # frames here: data.test_fraction = 1/30), train on everything these runs recorded a period before that.
    "seed_long": FlowParams(
        name="seed_long", nx=256, ny=128, dx=_DX_SEED, steps=48_000, save_every=10, frames=3600,
        radius=0.05, centre=(0.3, 0.5 + _DX_SEED), inflow=1.0 / 20, window=(150, 234, 30, 98),
    ),
    # Half the resolution (cylinder diameter 6.4 cells), a faster inflow (Mach 0.17) and a shorter domain, so
    # the wake starts shedding after a few thousand steps; for first runs and tests, not for physics.
    "quick": FlowParams(
        name="quick", nx=96, ny=64, dx=1.0 / 64, steps=6_000, save_every=10, frames=100,
        radius=0.05, centre=(0.3, 0.5 + 1.0 / 64), inflow=0.1,
    ),
    # An ensemble for generalization tests. The seed preset's grid and flow (a model trained here can be
    # tested on the seed files), Re 200..1400 every 50 (25 values) x 8 realizations, each started from rest
    # plus a seeded transverse velocity perturbation of peak 0.1 U = 0.005 behind the cylinder (it shortens
    # the start-up transient). The flows keep changing slowly long after the transient at Re >= 900 (window
    # statistics such as the vorticity kurtosis drift over ~10^4 steps), and a model trained on younger flows
    # misjudges the seed files' older ones. So the ensemble runs as long as the seed preset, 48,000 steps,
    # and records the last 9,600 (38,400-48,000, the seed files' age): 80 frames every 120 steps (~8 periods
    # of ~1,200-1,250 steps, ~10 frames per period). The measured transient, and what an earlier start gave,
    # are in docs/performance_notes.md.
    # Only the wake x [96, 256) (4.6 diameters behind the cylinder to the outlet) over the channel's whole
    # width is stored: the wakes at Re >= 650 wander and tilt across the channel, and statistics of a window
    # that sees all of it vary less from one realization to the next (docs/performance_notes.md). It holds
    # the data pipeline's default crop x 160:224, y 32:96 with 62 / 30 cells of room for shifts.
    # Size: 200 files x 80 x 160 x 128 x 2 float32 = 2.6 GB (+ 38 MB of probe). Work: 200 members x 48,000
    # steps x 32,768 cells = 3.1e11 updates (~25 min on 2 CPU cores). Eight realizations: the realization
    # split trains on six, validates on one and tests on one; the numerics splits read the first four.
    "ensemble": FlowParams(
        name="ensemble", nx=256, ny=128, dx=_DX_SEED, steps=48_000, save_every=120, frames=80,
        radius=0.05, centre=(0.3, 0.5 + _DX_SEED), inflow=1.0 / 20,
        reynolds=tuple(float(r) for r in range(200, 1401, 50)), realizations=8, perturbation=0.005,
        window=(96, 256, 0, 128),
    ),
    # The ensemble's options on the quick grid, for tests (seconds): wake window x [32, 96), y [16, 48).
    "ensemble_small": FlowParams(
        name="ensemble_small", nx=96, ny=64, dx=1.0 / 64, steps=4_000, save_every=20, frames=60,
        radius=0.05, centre=(0.3, 0.5 + 1.0 / 64), inflow=0.1,
        reynolds=(300.0, 900.0), realizations=2, perturbation=0.01, window=(32, 96, 16, 48),
    ),
}


def with_numerics(p: FlowParams, *, diameter_cells: float | None = None, inflow: float | None = None,
                  collision: str | None = None, boundary: str | None = None,
                  bulk_viscosity: float | None = None, name: str | None = None) -> FlowParams:
    """The same flow (cylinder, channel, Reynolds numbers, age in convective times D/U) computed with other
    numerics: `diameter_cells` cells per cylinder diameter (grid spacing dx scaled by D_old / D_new, the grid,
    window, steps and frame spacing by its inverse) and/or the inflow velocity `inflow` in lattice units (the
    Mach number; steps and frame spacing scaled by U_old / U_new, the perturbation by U_new / U_old). The
    cylinder stays one cell above the channel's centre line, as in the seed preset. Every scaled count must be
    a whole number (e.g. 12.8 -> 19.2 or 25.6 cells, U 0.05 -> 0.1); anything else is refused.

    `collision` ("mrt", "bgk"), `boundary` ("bouzidi", "bounce_back") and `bulk_viscosity` (physical, as in
    FlowParams: the MRT's free rate of the energy moments; BGK has none, so it is refused with "bgk") replace
    the preset's. None keeps the preset's value.
    """
    f = 1.0 if diameter_cells is None else float(diameter_cells) / p.diameter_cells
    g = 1.0 if inflow is None else float(inflow) / p.inflow
    if not (f > 0 and g > 0 and math.isfinite(f) and math.isfinite(g)):
        raise ValueError(f"diameter_cells={diameter_cells!r} and inflow={inflow!r} must be positive numbers")
    if bulk_viscosity is not None and not (math.isfinite(bulk_viscosity) and bulk_viscosity > 0):
        raise ValueError(f"bulk_viscosity must be a positive number (physical, like the shear viscosity), "
                         f"got {bulk_viscosity!r}")

    def whole(value: float, what: str) -> int:
        n = round(value)
        if abs(value - n) > 1e-9 * max(1.0, abs(value)):
            raise ValueError(f"{what} = {value:g} is not a whole number with diameter_cells="
                             f"{diameter_cells!r}, inflow={inflow!r} on the {p.name!r} preset; choose values "
                             f"that scale it exactly (e.g. 19.2 or 25.6 cells, inflow 0.1)")
        return n

    numerics = {"collision": p.collision if collision is None else collision,
                "boundary": p.boundary if boundary is None else boundary}
    check_numerics(**numerics)
    if bulk_viscosity is not None and numerics["collision"] == "bgk":
        raise ValueError(f"bulk_viscosity={bulk_viscosity!r} has no effect with collision 'bgk' (BGK relaxes "
                         "the energy moments at the shear rate); use collision 'mrt' or drop bulk_viscosity")
    dx = p.dx / f
    window = None if p.window is None else tuple(whole(w * f, "a window edge") for w in p.window)
    return p.replace(
        name=name or p.name, nx=whole(p.nx * f, "nx"), ny=whole(p.ny * f, "ny"), dx=dx,
        steps=whole(p.steps * f / g, "steps"), save_every=whole(p.save_every * f / g, "save_every"),
        centre=(p.centre[0], 0.5 + (p.centre[1] - 0.5) / f), inflow=p.inflow * g,
        perturbation=p.perturbation * g, window=window,
        probe=None if p.probe is None else p.probe,
        bulk_viscosity=p.bulk_viscosity if bulk_viscosity is None else float(bulk_viscosity), **numerics,
    )


def check_numerics(collision: str | None = None, boundary: str | None = None) -> None:
    """The collision operator and the cylinder's boundary rule (those given) are known names (one line naming
    the value and the choices otherwise)."""
    for what, value, choices in (("collision", collision, COLLISIONS), ("boundary", boundary, BOUNDARIES)):
        if value is not None and value not in choices:
            raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(map(repr, choices))}")


# Variants of `ensemble`: the same flow (channel, cylinder, Reynolds numbers, the flow's age and recorded span
# in convective times, the wake window) computed with other numerics, for testing whether a model learned the
# flow or the numerics. Each changes one thing; 2 realizations each (seeds 0, 1), Re on the 250..1350 grid
# every 100 (or a subset of it where the variant is unstable or costly). Work: members x steps x cells. Costs
# measured on this round's 2-core CPU (Intel Xeon), two members at once, run time without compilation: "light"
# with the cores nearly free (load average ~1), "loaded" under other jobs (load average 5-9, 2-5x slower);
# the ensemble's time is members x the light figure. St against Roshko's fit: tests/test_simulate_variants.py.
_VARIANT_RE = tuple(float(r) for r in range(250, 1351, 100))  # 12 Reynolds numbers
_ENSEMBLE = PRESETS["ensemble"].replace(reynolds=_VARIANT_RE, realizations=2)
PRESETS |= {
    # Finer grid: 19.2 cells per diameter (384 x 192, dx 1/192, 72,000 steps), 3.4x a member's work: 24
    # members x 24 s (light; 74-115 s loaded) = ~10 min.
    "ensemble_d19": with_numerics(_ENSEMBLE, diameter_cells=19.2, name="ensemble_d19"),
    # Finer still: 25.6 cells per diameter (512 x 256, dx 1/256, 96,000 steps), 8x a member's work, so every
    # other Re (250..1250 every 200): 12 members x 46 s (light; 154-234 s loaded) = ~9 min.
    "ensemble_d26": with_numerics(_ENSEMBLE.replace(reynolds=_VARIANT_RE[::2]), diameter_cells=25.6,
                                  name="ensemble_d26"),
    # Twice the inflow, U = 0.1 (Mach 0.17 instead of 0.087): half the steps (24,000), half the work. Re 1350
    # diverges (by step 13,440; Re 1250 runs), so Re 250..1150: 20 members x 2 s (light) = ~1 min; the whole
    # `python -m turbjax.simulate --preset ensemble_mach10` took 145 s loaded.
    "ensemble_mach10": with_numerics(_ENSEMBLE.replace(reynolds=_VARIANT_RE[:10]), inflow=0.1,
                                     name="ensemble_mach10"),
    # Single-relaxation-time (BGK) collision, for the bulk and the cylinder's patch. BGK is unstable on this
    # grid above Re ~800 (tau - 1/2 = 0.0024 there; measured: Re 850 diverges by step 26,880, Re 900 by
    # 20,160, Re 1000 by 3,840, Re 1200-1400 by 2,880; Re 800 and below run), so Re 250..750: 12 members x
    # 4.5 s (light) = ~1 min; the whole `--preset ensemble_bgk` took 138 s loaded.
    "ensemble_bgk": with_numerics(_ENSEMBLE.replace(reynolds=_VARIANT_RE[:6]), collision="bgk",
                                  name="ensemble_bgk"),
    # Plain half-way bounce-back on the staircase cylinder instead of Bouzidi's interpolation: a member's
    # work, 24 members x 4.5 s (light; ~17 s loaded) = ~2 min.
    "ensemble_bounceback": with_numerics(_ENSEMBLE, boundary="bounce_back", name="ensemble_bounceback"),
    # MRT with a 10x smaller bulk viscosity (1e-4 instead of 1e-3: the energy moments relax at s = 1.86
    # instead of 1.13, damping sound waves less; 10x larger, 1e-2, diverges at Re 1350 by step 3,840, 3e-3
    # runs): a member's work, 24 members x 4.5 s (light; ~21 s loaded) = ~2 min.
    "ensemble_bulk": with_numerics(_ENSEMBLE, bulk_viscosity=1e-4, name="ensemble_bulk"),
}


def resolve_params(preset: str | FlowParams, steps=None, save_every=None, frames=None,
                   realizations=None, collision=None) -> FlowParams:
    """The preset (a name or FlowParams) with the given overrides (None: the preset's value)."""
    if isinstance(preset, FlowParams):
        p = preset
    elif preset in PRESETS:
        p = PRESETS[preset]
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    over = {"steps": steps, "save_every": save_every, "frames": frames, "realizations": realizations,
            "collision": collision}
    over = {k: v for k, v in over.items() if v is not None}
    return p.replace(**over)


TAU_MARGIN = 1e-3  # tau - 1/2 below this: the shear modes are barely damped (a warning, not an error)


def check_inputs(p: FlowParams, reynolds: Sequence[float], dtype: str) -> None:
    """Reject, before anything runs, what cannot work; each message names the value and what to do."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    check_numerics(p.collision, p.boundary)
    if len(reynolds) == 0:
        raise ValueError("no Reynolds numbers given; pass at least one, e.g. --re 300")
    for name in ("nx", "ny", "steps", "save_every", "frames"):
        v = getattr(p, name)
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if p.frames * p.save_every > p.steps:
        raise ValueError(
            f"frames * save_every = {p.frames} * {p.save_every} = {p.frames * p.save_every} exceeds steps = "
            f"{p.steps}; lower --frames or --save-every, or raise --steps"
        )
    if not (p.dx > 0 and p.radius > 0 and p.inflow > 0):
        raise ValueError(f"dx, radius and inflow must be positive, got {p.dx}, {p.radius}, {p.inflow}")
    if p.mach >= 0.3:
        raise ValueError(
            f"Mach number U sqrt(3) = {p.mach:.3f} >= 0.3 for inflow U = {p.inflow} (lattice units): "
            "the lattice Boltzmann equation is only valid at low Mach number; lower the inflow velocity"
        )
    lx, ly = p.nx * p.dx, p.ny * p.dx
    (cx, cy), r = p.centre, p.radius
    if not (cx - r > 0 and cx + r < lx and cy - r > 0 and cy + r < ly):
        raise ValueError(
            f"cylinder of radius {r} at centre ({cx}, {cy}) is not inside the domain [0, {lx:g}] x [0, "
            f"{ly:g}]"
        )
    px, py = p.probe_xy
    if not (0 < px < lx and 0 < py < ly):
        raise ValueError(f"probe position ({px}, {py}) is outside the domain [0, {lx:g}] x [0, {ly:g}]")
    for re in reynolds:
        re = float(re)
        if not (np.isfinite(re) and re > 0):
            raise ValueError(f"Reynolds number must be finite and positive, got {re!r}")
        tau = p.relaxation_time(re)
        if not tau > 0.5:
            raise ValueError(
                f"relaxation time tau = {tau!r} <= 0.5 at Re = {re:g} (nu = {p.viscosity(re):.3g}): "
                "the scheme is unstable; lower the Reynolds number or refine dx"
            )
        if tau - 0.5 < TAU_MARGIN:  # runs, but barely damped: grid-scale noise, often a NaN later
            print(
                f"turbjax.simulate: warning: relaxation time tau = {tau:.5f} is within {TAU_MARGIN:g} of "
                f"1/2 at Re = {re:g} on the {p.name!r} grid (dx = {p.dx:g}): expect grid-scale noise or a "
                f"NaN; refine dx or lower the Reynolds number",
                file=sys.stderr, flush=True,
            )
    bulk_tau = 0.5 + 3 * p.bulk_viscosity / p.dx
    if not bulk_tau > 0.5:
        raise ValueError(f"bulk relaxation time {bulk_tau} <= 0.5; bulk_viscosity must be positive")
    _check_ensemble(p)


def _check_ensemble(p: FlowParams) -> None:
    """The ensemble options: realizations, perturbation amplitude, stored window."""
    if not isinstance(p.realizations, (int, np.integer)) or p.realizations < 0:
        raise ValueError(f"realizations must be a non-negative integer (0: one plain run per Re), got "
                         f"{p.realizations!r}")
    if not (np.isfinite(p.perturbation) and 0 <= p.perturbation <= p.inflow):
        raise ValueError(f"perturbation amplitude must be finite and in [0, inflow = {p.inflow}] (lattice "
                         f"units; a small fraction of the inflow), got {p.perturbation!r}")
    if p.perturbation and not p.realizations:
        raise ValueError(f"perturbation = {p.perturbation} needs realizations >= 1 (each realization's "
                         "perturbation is seeded by its index); set realizations, or perturbation = 0 "
                         "(`--perturbation 0`) for plain runs")
    if p.window is not None:
        w = p.window
        ok = len(w) == 4 and all(isinstance(v, (int, np.integer)) for v in w)
        if not (ok and 0 <= w[0] < w[1] <= p.nx and 0 <= w[2] < w[3] <= p.ny):
            raise ValueError(f"window must be integers (x0, x1, y0, y1) with 0 <= x0 < x1 <= nx = {p.nx} and "
                             f"0 <= y0 < y1 <= ny = {p.ny}, got {w!r}")
