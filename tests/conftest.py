"""Shared pytest setup."""

import os

# Tests run on CPU with the default single device unless a test spawns a subprocess with more.
os.environ.setdefault("JAX_PLATFORMS", "cpu")


def write_quick_grid_synthetic(directory, reynolds=(300.0, 600.0, 900.0, 1200.0), frames: int = 30):
    """Analytic stand-in files on the `quick` preset's grid (96 x 64, cell 1/64) in turbjax's format: data for
    end-to-end runs of configs/test.py without running the simulator. Returns `directory`."""
    from turbjax.data.synthetic import write_synthetic_files

    write_synthetic_files(directory, reynolds, nx=96, ny=64, frames=frames, dx=1 / 64, frame_dt=0.25,
                          frame_stride=10)
    return directory
