"""The flow's own scales at the data boundary (data.units = "flow"): files of any grid spacing, domain and
units are read onto one reference grid before the vorticity, the crop and the features.

The reference grid is the seed preset's: square cells of D / 12.8, the cylinder's centre at node coordinates
(37.9, 64.5) (node (i, j) at the centre of cell (i, j)), velocity in units where the inflow U is 0.05, time
in steps of D / (256 U). So the crop window (data.crop_x, crop_y) is a region fixed relative to the cylinder,
in diameters: reference node i sits (i - 37.9) / 12.8 diameters downstream of the centre (the default crop
x 160:224 spans 9.5-14.5 D), node j (j - 64.5) / 12.8 diameters above it. Vorticity, computed on the
reference grid per cell, is omega D / U / 256.

These are the simulator's lattice units on the seed grid: a file on that grid (the seed, seed_long and
ensemble presets, the course's files) is read unchanged, bit for bit, and every earlier number stays as it
was. Any other file is resampled: its velocity, scaled by 0.05 / U, interpolated at the reference nodes the
crop window needs with separable cubic convolution (Keys, a = -1/2: exact for fields quadratic in x and y, so
the central-difference vorticity that follows sees what it would on a reference-grid file of a smooth flow),
and its steps counted in reference steps (times U dt / D * 256, fractional if the clocks do not divide). A
file that does not say its time step (dt NaN: e.g. frames without times) keeps counting its frames: it can be
scored, every frame, but not sampled in time alongside others.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from turbjax.checks import fail

UNITS = ("file", "flow")  # data.units: as stored, or on the reference grid in the flow's scales


@dataclasses.dataclass(frozen=True)
class FlowUnits:
    """Where a file's grid sits and what its numbers mean, in its own length unit L and velocity unit V.

    dx: node spacing (L); diameter: the cylinder's (L); inflow: U (V, as the velocity is stored); cylinder:
    the centre (L); dt: time per step (L / V; NaN: unknown, the frames are the steps); node0: position of the
    full grid's node (0, 0) (L; the simulator's files: the first cell's centre (dx / 2, dx / 2)).
    """

    dx: float
    diameter: float
    inflow: float
    cylinder: tuple[float, float]
    dt: float
    node0: tuple[float, float] | None = None

    @property
    def origin(self) -> tuple[float, float]:
        return self.node0 if self.node0 is not None else (self.dx / 2, self.dx / 2)

    @property
    def diameter_cells(self) -> float:
        return self.diameter / self.dx

    @property
    def cylinder_index(self) -> tuple[float, float]:
        """The cylinder's centre in node coordinates of the full grid."""
        return tuple((c - o) / self.dx for c, o in zip(self.cylinder, self.origin, strict=True))

    @property
    def convective_per_step(self) -> float:
        """Time per step in D / U."""
        return self.dt * self.inflow / self.diameter

    def check(self, where) -> None:
        for name in ("dx", "diameter", "inflow", "dt"):
            v = getattr(self, name)
            if name == "dt" and math.isnan(v):
                continue
            if not (math.isfinite(v) and v > 0):
                fail(f"{where}: {name} = {v!r}; data.units='flow' needs a positive {name} (say it in the "
                     "file, or use data.units='file')")
        if not all(math.isfinite(c) for c in (*self.cylinder, *self.origin)):
            fail(f"{where}: the cylinder's centre {self.cylinder} is not known; data.units='flow' needs it "
                 "(say it in the file, or use data.units='file')")


_SEED_DX = 1.0 / 128
REFERENCE = FlowUnits(dx=_SEED_DX, diameter=0.1, inflow=0.05, cylinder=(0.3, 0.5 + _SEED_DX), dt=_SEED_DX)


def on_reference_grid(u: FlowUnits) -> bool:
    """The file's nodes, velocity and time unit are the reference grid's (read unchanged)."""
    ref = REFERENCE
    close = lambda a, b: abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return (close(u.diameter_cells, ref.diameter_cells) and close(u.inflow, ref.inflow)
            and close(u.convective_per_step, ref.convective_per_step)
            and all(abs(a - b) < 1e-6 for a, b in zip(u.cylinder_index, ref.cylinder_index, strict=True)))


def resampled(u: FlowUnits, data_units: str) -> bool:
    """Whether the data pipeline reads this file through `plan_resampling` and the reference clock."""
    return data_units == "flow" and not on_reference_grid(u)


def file_coordinates(u: FlowUnits, axis: int, ref_nodes) -> np.ndarray:
    """Full-grid node coordinates in the file of reference nodes `ref_nodes` along `axis` (0: x, 1: y)."""
    scale = u.diameter_cells / REFERENCE.diameter_cells
    offset = np.asarray(ref_nodes, np.float64) - REFERENCE.cylinder_index[axis]
    return u.cylinder_index[axis] + offset * scale


def reference_extent(u: FlowUnits, grid: tuple[int, int]) -> tuple[int, int]:
    """(nx, ny) of the reference grid the file covers: reference nodes 0.. whose file coordinate is at most
    the file's last node (a crop window must also not start before the file's first node)."""
    out = []
    for axis in (0, 1):
        scale = u.diameter_cells / REFERENCE.diameter_cells
        last = (grid[axis] - 1 - u.cylinder_index[axis]) / scale + REFERENCE.cylinder_index[axis]
        out.append(max(0, math.floor(last + 1e-9) + 1))
    return out[0], out[1]


def step_scale(u: FlowUnits) -> float:
    """Reference steps per step of the file (1 where the file does not say its time step)."""
    if math.isnan(u.dt):
        return 1.0
    return u.convective_per_step / REFERENCE.convective_per_step


def reference_steps(steps: float, u: FlowUnits) -> float:
    """`steps` of the file in reference steps (fractional where the clocks do not divide: a sample spacing
    must then still be a whole number of the file's frames, `series.frame_stride_for`)."""
    value = float(steps) * step_scale(u)
    if not math.isfinite(value):  # an unknown period stays unknown
        return value
    n = round(value)
    return float(n) if abs(value - n) <= 1e-9 * max(1.0, abs(value)) else value


# ----------------------------------------------------------------------------------------------- resampling
CUBIC_REACH = (1, 2)  # nodes before / after floor(coordinate) that cubic convolution reads


def cubic_weights(coords, first: int, n: int, edges: tuple[int, int] | None = None) -> np.ndarray:
    """(len(coords), n) weights of Keys' cubic convolution (a = -1/2) interpolating at `coords` from the nodes
    first, ..., first + n - 1 (which must hold floor(c) - 1 ... floor(c) + 2 of every c). Exact for
    polynomials of degree <= 2; a coordinate on a node copies it (and needs only that node). `edges` (a, b):
    the file's nodes a, ..., b - 1 along the axis are all there is (its grid, or the window it stores); a
    stencil node one beyond them is then Keys' boundary extrapolation, f(a - 1) = 3 f(a) - 3 f(a + 1) +
    f(a + 2) (likewise past b - 1; exact for quadratics too), so coordinates between the outermost two nodes
    can be read."""
    coords = np.asarray(coords, np.float64)
    base = np.floor(coords).astype(np.int64)
    t = coords - base
    w = np.stack([(-t**3 + 2 * t**2 - t) / 2, (3 * t**3 - 5 * t**2 + 2) / 2,
                  (-3 * t**3 + 4 * t**2 + t) / 2, (t**3 - t**2) / 2], axis=1)
    out = np.zeros((coords.size, n))
    rows = np.arange(coords.size)

    def add(node, weight):
        col = node - first
        inside = (col >= 0) & (col < n)
        if np.any(weight[~inside] != 0):
            raise ValueError("internal error: the cubic stencil reaches outside the nodes given")
        np.add.at(out, (rows[inside], col[inside]), weight[inside])

    for k in range(4):
        node = base + k - 1
        if edges is None:
            add(node, w[:, k])
            continue
        a, b = edges
        below, above = node == a - 1, node == b
        plain = ~(below | above)
        add(np.where(plain, node, first), np.where(plain, w[:, k], 0.0))
        for nodes, factors, where in (((a, a + 1, a + 2), (3, -3, 1), below),
                                      ((b - 1, b - 2, b - 3), (3, -3, 1), above)):
            for j, f in zip(nodes, factors, strict=True):
                add(np.full(coords.size, j), np.where(where, f * w[:, k], 0.0))
    return out


class Resampling(NamedTuple):
    """How one file's block of velocity becomes the reference grid's: read the file's full-grid cells [x, y],
    then `resample`."""

    x: slice  # file cells read
    y: slice
    weights_x: np.ndarray  # (reference nodes, block x) interpolation weights
    weights_y: np.ndarray
    scale: float  # velocity: reference units per file unit (0.05 / U)


def plan_resampling(u: FlowUnits, grid: tuple[int, int], ref_x: slice, ref_y: slice, where, *,
                    needed: tuple[slice, slice] | None = None,
                    stored: tuple[slice, slice] | None = None) -> Resampling:
    """The file cells and weights that give reference nodes ref_x x ref_y; refused in one line if the file
    does not cover them. `needed` (within ref_x, ref_y): the nodes the vorticity of the crop window reads;
    the others (the outer ring of the difference stencil's halo, which central differences never read inside
    the window) copy their nearest needed node, so a window up to a wall or the file's edge can be read.
    `stored` (file cells x, y; default the whole grid): the nodes the file holds, whose edges the cubic
    stencil may reach one node past (Keys' boundary rule, `cubic_weights`)."""
    slices, weights = [], []
    for axis, ref in ((0, ref_x), (1, ref_y)):
        need = ref if needed is None else needed[axis]
        nodes = np.clip(np.arange(ref.start, ref.stop), need.start, need.stop - 1)
        coords = file_coordinates(u, axis, nodes)
        exact = np.abs(coords - np.round(coords)) < 1e-9
        coords = np.where(exact, np.round(coords), coords)
        base = np.floor(coords).astype(np.int64)
        lo = int(np.min(np.where(exact, base, base - CUBIC_REACH[0])))
        hi = int(np.max(np.where(exact, base, base + CUBIC_REACH[1]))) + 1
        # one node short at an edge, between the file's outermost two nodes: Keys' boundary extrapolation
        a, b = (0, grid[axis]) if stored is None else (stored[axis].start, stored[axis].stop)
        if lo == a - 1 and coords.min() >= a:
            lo = a
        if hi == b + 1 and coords.max() <= b - 1:
            hi = b
        lo_d = float(coords.min() - u.cylinder_index[axis]) / u.diameter_cells
        hi_d = float(coords.max() - u.cylinder_index[axis]) / u.diameter_cells
        if lo < 0 or hi > grid[axis]:
            name = "xy"[axis]
            fail(f"{where}: the crop window needs the flow from {lo_d:.2f} to {hi_d:.2f} diameters from the "
                 f"cylinder along {name} (file nodes {lo}..{hi - 1} with the interpolation's reach), but the "
                 f"file's grid has {grid[axis]} nodes along {name}; choose data.crop_x / crop_y inside what "
                 "the file covers")
        slices.append(slice(lo, hi))
        weights.append(cubic_weights(coords, lo, hi - lo, edges=(a, b)))
    return Resampling(slices[0], slices[1], weights[0], weights[1], REFERENCE.inflow / u.inflow)


def resample(block: np.ndarray, r: Resampling) -> np.ndarray:
    """Velocity block (T, |x|, |y|, 2) of the file -> (T, nodes x, nodes y, 2) float32 on the reference grid,
    in reference velocity units."""
    wx = r.weights_x.astype(np.float32)
    wy = (r.weights_y * r.scale).astype(np.float32)
    out = np.einsum("ia,tabc->tibc", wx, np.asarray(block, np.float32), optimize=True)
    return np.einsum("jb,tibc->tijc", wy, out, optimize=True)
