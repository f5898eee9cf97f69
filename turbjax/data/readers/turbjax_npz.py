"""turbjax's own format: one safe `.npz` per (Re, realization), written by the simulator
(`turbjax.data.snapshots`). A file may store a window of the full grid (its `origin`, `grid_shape`), and may
carry the shedding period or the probe signal to find it."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from turbjax.checks import fail
from turbjax.data import snapshots
from turbjax.data.readers.base import PLAIN, Reader
from turbjax.data.units import FlowUnits

TURBJAX_FILE_PATTERN = re.compile(r"vortex_street_Re_([0-9.eE+-]+?)(?:_r([0-9]+))?\.npz$")


def probe_period_steps(path: Path, n_frames: int, frame_stride: int) -> float:
    """The shedding period in steps from a file's probe_uy: from the recorded window (the probe's last
    n_frames * frame_stride entries, whether it covers only that window or the whole run), or, when that
    window spans fewer than the 10 periods a reliable estimate needs (the seed files record ~5), from the last
    half of the probe's record if it is longer (the seed runs: steps 24000-48000, long after the start-up)."""
    # Lazy: the data pipeline does not otherwise need the simulator package (and its solver).
    from turbjax.simulate.analysis import shedding_frequency

    try:
        with np.load(path, allow_pickle=False) as f:
            probe = f["probe_uy"] if "probe_uy" in f.files else None
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(snapshots.damaged_message(path, e)) from e
    if probe is None:
        fail(f"{path} has no shedding_period_steps and no probe_uy to compute it from: gap_unit='periods' "
             f"needs one; use gap_unit='steps' (or 'samples')")
    window = n_frames * frame_stride
    try:
        return 1.0 / shedding_frequency(probe[-window:], 1.0)
    except ValueError as e:
        if probe.size // 2 > window:
            try:
                return 1.0 / shedding_frequency(probe[-(probe.size // 2) :], 1.0)
            except ValueError:
                pass
        raise ValueError(
            f"{path}: cannot find the shedding period from probe_uy ({e}); use gap_unit='steps'") from e


def file_units(meta: dict, path) -> FlowUnits:
    """The file's FlowUnits: its diameter, inflow and cylinder_xy keys; a file written before those keys
    existed (NaN) reads them from the simulator preset its `generator` names ("turbjax.simulate seed"), and
    stays unknown (NaN: refused by data.units='flow') otherwise."""
    diameter, inflow = float(meta["diameter"]), float(meta["inflow"])
    cylinder = tuple(float(c) for c in meta["cylinder_xy"])
    words = str(meta.get("generator", "")).split()
    if not math.isfinite(diameter) and len(words) == 2 and words[0] == "turbjax.simulate":
        from turbjax.simulate.presets import PRESETS  # lazy: see probe_period_steps

        p = PRESETS.get(words[1])
        if p is not None and math.isclose(p.dx, float(meta["dx"])):
            diameter, inflow, cylinder = 2 * p.radius, p.inflow, p.centre
    return FlowUnits(dx=float(meta["dx"]), diameter=diameter, inflow=inflow, cylinder=cylinder,
                     dt=float(meta["dt"]))


class TurbjaxNpz(Reader):
    """`vortex_street_Re_{re:g}.npz` (plain run) and `vortex_street_Re_{re:g}_r{k}.npz` (realization k)."""

    name = "turbjax"
    label = "turbjax"
    file_template = snapshots.FILE_TEMPLATE
    realizations = True
    simulated = True
    pattern = TURBJAX_FILE_PATTERN

    def path(self, directory, reynolds, realization=PLAIN):
        return snapshots.snapshot_path(directory, reynolds, realization)

    def header(self, path, trust_pickle=False):
        shape, dtype, meta = snapshots.snapshot_header(path)
        return shape, dtype, meta | {"components": "ux,uy", "units": file_units(meta, path)}

    def read_velocity(self, path, trust_pickle=False, check=True):
        path = Path(path)
        velocity, meta = snapshots.load_snapshots(path)
        meta["components"] = "ux,uy"
        meta["units"] = file_units(meta, path)
        if check:
            snapshots.check_velocity(velocity, path)
        return velocity, meta

    def period_steps(self, path, meta, n_frames):
        """The file's `shedding_period_steps`, else the probe's spectrum (`probe_period_steps`)."""
        period = float(meta["shedding_period_steps"])
        if not math.isfinite(period) or period <= 0:
            period = probe_period_steps(path, n_frames, int(meta["frame_stride"]))
        return period
