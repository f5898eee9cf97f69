"""Ship a trained Reynolds-number model in the package: its selected parameters as one small .npz beside the
files that rebuild and calibrate it.

    python -m turbjax.train --config configs/pretrained.py --workdir runs/pretrained   # trains it (minutes)
    python scripts/export_pretrained.py runs/pretrained                               # -> turbjax/pretrained/

Writes OUT (default turbjax/pretrained/): config.json, standardizer.npz, calibration.json, novelty.npz (as the
workdir holds them), params.npz (the best-by-validation checkpoint's parameters, `turbjax.estimates.
write_params`) and model.json (what it was trained and tested on, its results.json scores, and the recorded
estimates of tests/data/pretrained_check.npz that tests/test_pretrained.py checks). Every file is written
atomically; the old ones are replaced only once every new one is ready.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

COPIED = ("config.json", "standardizer.npz", "calibration.json", "novelty.npz")
CHECK = ROOT / "tests" / "data" / "pretrained_check.npz"  # a few frames the shipped model is checked on


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="scripts/export_pretrained.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("workdir", type=Path, help="a finished turbjax.train workdir (a regression on Re)")
    ap.add_argument("--out", type=Path, default=ROOT / "turbjax" / "pretrained")
    args = ap.parse_args(argv)
    missing = [f for f in (*COPIED, "results.json") if not (args.workdir / f).is_file()]
    if missing:
        ap.error(f"{args.workdir} lacks {missing}: pass a finished training workdir of a Reynolds-number "
                 "regression (train writes them)")
    from turbjax.estimates import estimate_run, load_model, write_params

    model = load_model(args.workdir)  # refuses a classifier or a run without calibration
    d = model.config.data
    stage = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in COPIED:
        shutil.copy2(args.workdir / name, stage / name)
    write_params(stage / "params.npz", model.params)
    results = json.loads((args.workdir / "results.json").read_text())
    info = {
        "workdir": str(args.workdir),
        "trained_on": (f"split {results.get('split')!r}: trained on {[d.dir, *d.variant_dirs]} without Re "
                       f"{list(d.heldout)}; validation: {results.get('validation')}; test: "
                       f"{list(d.test_dirs) or d.test_dir}").replace(f"{ROOT}/", ""),
        "selected_on": results.get("selected_on"), "selected_epoch": results.get("selected_epoch"),
        "scores": {k: results.get(k) for k in ("val_r2", "val_mae", "test_r2", "test_mae", "test_coverage",
                                              "test_clip_coverage", "test_clip_mae_percent")},
        "test_per_reynolds": [{k: p.get(k) for k in ("re", "prediction_mean", "mae_percent", "coverage",
                                                     "clip_mae_percent")}
                              for p in results.get("test_per_reynolds", [])],
    }
    if CHECK.is_file():  # the recorded estimates the package's test compares with
        e = estimate_run(load_model(stage), CHECK, "turbjax")
        info["check"] = {"file": str(CHECK.relative_to(ROOT)), "frames": e.frames[:, 0].tolist(),
                         "reynolds": e.reynolds, "low": e.low, "high": e.high}
    (stage / "model.json").write_text(json.dumps(info, indent=1) + "\n")
    old = args.out.with_name(args.out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if args.out.exists():
        args.out.rename(old)
    stage.rename(args.out)
    shutil.rmtree(old, ignore_errors=True)
    size = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"exported {args.workdir} -> {args.out} ({size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
