"""Plot the vorticity of the last frame of each Reynolds number in a data directory as a 2x2 figure.

    python scripts/plot_vorticity.py data/vortex_street --out vorticity.png [--frame -1]

Vorticity w = d(uy)/dx - d(ux)/dy in lattice units (velocity in lattice units, derivatives per cell), the
course's colour scale: coolwarm, -0.005..0.005.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from turbjax.data import snapshots


def vorticity(velocity: np.ndarray) -> np.ndarray:
    """(nx, ny, 2) velocity -> (nx, ny) vorticity, central differences (one-sided at the edges), lattice
    units."""
    ux, uy = velocity[..., 0].astype(np.float64), velocity[..., 1].astype(np.float64)
    return np.gradient(uy, axis=0) - np.gradient(ux, axis=1)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--out", type=Path, default=Path("vorticity.png"))
    ap.add_argument("--frame", type=int, default=-1, help="frame index (default: the last)")
    args = ap.parse_args(argv)
    files = sorted(args.data_dir.glob("vortex_street_Re_*.npz"),
                   key=lambda p: snapshots.load_snapshots(p)[1]["reynolds"])
    if not files:
        raise SystemExit(f"no vortex_street_Re_*.npz files in {args.data_dir}; generate them with "
                         f"`python -m turbjax.simulate --re 300 600 900 1200 --out {args.data_dir}`")
    files = files[:4]
    fig, axes = plt.subplots(2, 2, figsize=(11, 6), constrained_layout=True, squeeze=False)
    im = None
    # 4 axes, up to 4 files: with fewer files the remaining axes stay empty
    for ax, path in zip(axes.ravel(), files, strict=False):
        vel, meta = snapshots.load_snapshots(path)
        w = vorticity(vel[args.frame])
        nx, ny = w.shape
        dx = meta["dx"]
        im = ax.imshow(w.T, origin="lower", cmap="coolwarm", vmin=-0.005, vmax=0.005,
                       extent=(0, nx * dx, 0, ny * dx))
        step = meta["first_step"] + (args.frame % vel.shape[0]) * meta["frame_stride"]
        ax.set_title(f"Re = {meta['reynolds']:g}, step {step}")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    for ax in axes.ravel()[len(files):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes, shrink=0.8, label="vorticity (lattice units)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
