"""Refit a trained model's novelty.npz (turbjax.novelty: the frame test and the run test) from the data its
config names, standardized with its own standardizer, without retraining: for models written before the run
test existed, e.g. the shipped one.

    python scripts/refit_novelty.py turbjax/pretrained   # the data of configs/pretrained.py in place

The training and validation parts are rebuilt exactly as training built them (turbjax.pipeline.prepare with
the model's standardizer); the new file replaces the old one atomically. It prints the largest difference
between the refitted frame test and the old one (zero when the data are the ones the model was trained on)
and the run test's threshold.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/refit_novelty.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path,
                    help="a training workdir or a directory in turbjax/pretrained's layout")
    ap.add_argument("--test-dirs", nargs="+", metavar="DIR",
                    help="numerics split: read these test directories instead of the config's (the test part "
                         "is not used here; they must hold the held-out Reynolds numbers)")
    args = ap.parse_args(argv)
    if not (args.model / "standardizer.npz").is_file():
        ap.error(f"{args.model} has no standardizer.npz: pass a trained model's directory")
    from turbjax import cli, pipeline
    from turbjax.scoring import novelty_of
    from turbjax.workdir import load_run_config, read_novelty, read_standardizer, write_novelty

    with cli.user_errors("refit_novelty"):  # missing or bad data files: one line
        config = load_run_config(args.model)
        if args.test_dirs:
            config.data.test_dirs = tuple(args.test_dirs)
        stats = read_standardizer(args.model)
        new = novelty_of(pipeline.prepare(config, stats=dict(stats)))  # as train fits it (write_trust)
    old = read_novelty(args.model)
    if old is not None:
        diff = max(float(np.max(np.abs(new.mean - old.mean))),
                   float(np.max(np.abs(new.precision - old.precision)) / np.max(np.abs(old.precision))),
                   abs(new.threshold - old.threshold) / old.threshold)
        print(f"frame test: largest difference from the old file {diff:.2e} (mean; precision and threshold "
              "relative)")
    write_novelty(args.model, new)
    print(f"run test: {len(new.run_means) if new.run_means is not None else 0} training runs, "
          f"{0 if new.run_pairs is None else len(new.run_pairs)} segments, threshold {new.run_threshold:.4f} "
          f"-> {args.model / 'novelty.npz'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
