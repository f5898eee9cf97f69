"""Shared pytest setup."""

import os

# Tests run on CPU with the default single device unless a test spawns a subprocess with more.
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def write_quick_grid_synthetic(directory, reynolds=(300.0, 600.0, 900.0, 1200.0), frames: int = 30):
    """Analytic stand-in files on the `quick` preset's grid (96 x 64, cell 1/64) in turbjax's format: data for
    end-to-end runs of configs/test.py without running the simulator. Returns `directory`."""
    from turbjax.data import snapshots
    from turbjax.data.synthetic import vortex_street_velocity

    for i, re in enumerate(reynolds):
        v = vortex_street_velocity(re, nx=96, ny=64, frames=frames, dx=1 / 64, frame_dt=0.25, seed=i)
        snapshots.save_snapshots(snapshots.snapshot_path(directory, re), v, reynolds=re, dx=1 / 64, dt=1 / 64,
                                 frame_stride=10,
                          first_step=0)
    return directory
