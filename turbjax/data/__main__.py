"""Build the data set from a directory and print what it holds.

    python -m turbjax.data --dir data/vortex_street                      # turbjax files (default config)
    python -m turbjax.data --dir COURSE_DIR --format course --trust-pickle --vorticity course
    python -m turbjax.data --dir data/synthetic --synthetic             # write analytic stand-in files first

`--synthetic` writes any missing file with `turbjax.data.synthetic` (an analytic stand-in for a vortex street,
not physics; 600 frames of 256 x 128 at frame_stride 10 per Reynolds number, like the seed files). Real data:
`python -m turbjax.simulate --re 300 600 900 1200 --out DIR`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from turbjax import cli
from turbjax.checks import output_dir
from turbjax.configs import default
from turbjax.data import readers
from turbjax.data.config import validate_data_config
from turbjax.data.dataset import build_dataset, missing_files
from turbjax.data.snapshots import snapshot_path


def write_synthetic(cfg, frames: int = 600) -> list:
    """Write the missing files of `cfg` with the analytic stand-in, shaped like the seed files (256 x 128,
    every 10th step); each seeded by the index of its Reynolds number in cfg.reynolds."""
    from turbjax.data.synthetic import write_synthetic_files

    missing = set(missing_files(cfg))
    todo = [(float(re), i) for i, re in enumerate(cfg.reynolds) if snapshot_path(cfg.dir, re) in missing]
    written = write_synthetic_files(cfg.dir, [re for re, _ in todo], seeds=[i for _, i in todo], nx=256,
                                    ny=128, frames=frames, dx=1 / 128, frame_dt=10 / 128, frame_stride=10)
    for path, (re, _) in zip(written, todo, strict=True):
        print(f"wrote {path} (synthetic stand-in, Re {re:g})")
    return written


def main(argv=None) -> int:
    cfg = default.get_data_config()
    p = argparse.ArgumentParser(prog="python -m turbjax.data", description=__doc__.split("\n\n")[0])
    p.add_argument("--dir", default=cfg.dir)
    p.add_argument("--format", default=cfg.format, choices=readers.FORMATS)
    p.add_argument("--trust-pickle", action="store_true", 
                   help="read the course's pickled files (can run code)")
    p.add_argument("--vorticity", default=cfg.vorticity)
    p.add_argument("--split", default=cfg.split)
    p.add_argument("--target", default=cfg.target)
    p.add_argument("--synthetic", action="store_true", 
                   help="first write missing files with the analytic stand-in")
    p.add_argument("--frames", type=int, default=600, help="frames per synthetic file")
    p.add_argument("--plots", metavar="OUT",
                   help="also write OUT/class_balance.png and OUT/pca.png (of the training set)")
    args = p.parse_args(argv)
    cfg.dir, cfg.format, cfg.trust_pickle = args.dir, args.format, args.trust_pickle
    cfg.vorticity, cfg.split, cfg.target = args.vorticity, args.split, args.target
    with cli.user_errors("turbjax.data"):
        validate_data_config(cfg)
        if args.plots:
            output_dir(args.plots, "--plots")
        if args.synthetic:
            if cfg.format != readers.SIMULATOR_FORMAT:
                p.error(f"--synthetic writes {readers.SIMULATOR_FORMAT!r} files; drop --format {cfg.format}")
            write_synthetic(cfg, args.frames)
        ds = build_dataset(cfg)
    print(ds.summary())
    for k, re in enumerate(ds.classes):
        counts = ", ".join(f"{np.sum(getattr(ds, p).labels == k)} {p}" for p in ("train", "val", "test"))
        print(f"  Re {re:g}: {counts}")
    x = ds.train.X
    print(f"  train X: mean {x.mean():.3g}, std {x.std():.3g}, range [{x.min():.3g}, {x.max():.3g}]")
    if args.plots:
        write_plots(ds, Path(args.plots))
    return 0


def write_plots(ds, out: Path) -> list[Path]:
    """The course's looks at the data: samples per Re and the 2-component PCA of the training frames."""
    from turbjax.data.explore import class_balance, pca
    from turbjax.plots import plot_class_balance, plot_pca

    out.mkdir(parents=True, exist_ok=True)
    paths = [plot_class_balance(class_balance(ds.train.re, ds.classes), out / "class_balance.png"),
             plot_pca(pca(ds.train.X, k=2), ds.train.re, out / "pca.png")]
    for path in paths:
        print(f"wrote {path}")
    return paths


if __name__ == "__main__":
    sys.exit(main())
