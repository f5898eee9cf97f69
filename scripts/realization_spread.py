"""Is one test run typical? Score a trained model on many independent runs at one Reynolds number.

    python scripts/realization_spread.py --workdir runs/generalization/flagship/mlp_wakestats --re 1200 \
        --out runs/spread_1200                                  # 18 runs (~1.5 min of simulation) + scoring

A single run at a given Re is one sample of a chaotic flow. This script simulates `--seeds` realizations at
`--re` for each perturbation amplitude (the `ensemble` preset's grid, window and recording; amplitude in
lattice units, the preset's 0.005 = 0.1 U among them), scores the workdir's model on each run alone (every
frame, as `python -m turbjax.evaluate --data DIR --reynolds RE --realizations K` does), and the reference run
(`--reference`, default the seed data set's file at that Re). It writes DIR/spread.json (one row per run:
amplitude, seed, mean and std of the predictions, MAE and MAE in % of Re) and DIR/spread.png (mean +- std per
run, the truth, the 5% band). Choose a Reynolds number the model never trained on (the flagship's 300, 600,
900, 1200): realization seeds 0-2 at amplitude 0.005 are the ensemble's own runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/realization_spread.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", required=True, type=Path, help="a turbjax.train workdir (regression on Re)")
    ap.add_argument("--re", required=True, type=float, help="the Reynolds number of the runs")
    ap.add_argument("--out", required=True, type=Path, help="output directory (the runs are written there)")
    ap.add_argument("--seeds", type=int, default=10, help="realizations of the first amplitude")
    ap.add_argument("--more-seeds", type=int, default=4, help="realizations per amplitude for the others")
    ap.add_argument("--perturbations", default="0.005,0.0001,0.00001",
                    help="perturbation amplitudes (lattice units), comma-separated")
    ap.add_argument("--reference", type=Path, default=ROOT / "data" / "vortex_street",
                    help="directory with the plain run at --re to place among them ('' for none)")
    ap.add_argument("--preset", default="ensemble", help="simulator preset of the runs (default ensemble)")
    args = ap.parse_args(argv)
    try:
        args.perturbations = [float(a) for a in args.perturbations.split(",") if a]
    except ValueError:
        ap.error(f"--perturbations={args.perturbations!r} must be numbers separated by commas, "
                 f"e.g. 0.005,1e-4")
    if not args.perturbations or min(args.perturbations) <= 0:
        ap.error(f"--perturbations={args.perturbations} must be positive amplitudes")
    if args.seeds < 1 or args.more_seeds < 1:
        ap.error("--seeds and --more-seeds must be >= 1")
    if not (args.workdir / "config.json").is_file():
        ap.error(f"--workdir {args.workdir} has no config.json: pass a turbjax.train workdir")
    from turbjax.models import model_task
    from turbjax.simulate.presets import PRESETS
    from turbjax.workdir import load_run_config

    config = load_run_config(args.workdir)  # refused before any run is simulated
    if config.data.target != "reynolds" or model_task(config.model) != "regression":
        ap.error(f"--workdir {args.workdir} holds a {config.model.name!r} model with target "
                 f"{config.data.target!r}; this script scores a regression on the Reynolds number")
    if args.preset not in PRESETS:
        ap.error(f"--preset={args.preset!r} is unknown; expected one of {sorted(PRESETS)}")
    return args


def runs_per_amplitude(args) -> list[tuple[float, int]]:
    """(amplitude, number of seeds): --seeds for the first amplitude, --more-seeds for the others."""
    return [(amp, args.seeds if i == 0 else args.more_seeds) for i, amp in enumerate(args.perturbations)]


def run_dir(out: Path, amplitude: float) -> Path:
    return out / f"perturbation_{amplitude:g}"


def simulate_missing(args) -> None:
    """Generate the runs of every amplitude that are not on disk yet (one vmapped program per amplitude)."""
    from turbjax.data import discovery
    from turbjax.simulate import PRESETS, generate

    base = PRESETS[args.preset]
    for amp, n in runs_per_amplitude(args):
        d = run_dir(args.out, amp)
        if d.is_dir() and not discovery.missing_data_files(d, [args.re], realizations=tuple(range(n))):
            continue
        print(f"realization_spread: simulating {n} runs at Re {args.re:g}, perturbation {amp:g} -> {d}",
              flush=True)
        generate([args.re], d, preset=base.replace(perturbation=amp), realizations=n, progress=True)


def score_runs(args) -> list[dict]:
    from turbjax.scoring import evaluate_workdir

    rows = []
    for amp, n in runs_per_amplitude(args):
        for k in range(n):
            s = evaluate_workdir(args.workdir, data_dir=run_dir(args.out, amp), checkpoint="latest",
                                 reynolds=[args.re], realizations=[k])
            rows.append({"run": f"perturbation {amp:g}, seed {k}", "perturbation": amp, "seed": k}
                        | _summary(s))
    if str(args.reference):
        s = evaluate_workdir(args.workdir, data_dir=args.reference, checkpoint="latest", reynolds=[args.re])
        rows.append({"run": f"reference {args.reference}", "perturbation": None, "seed": None} | _summary(s))
    return rows


def _summary(scores: dict) -> dict:
    (p,) = scores["test_per_reynolds"]
    return {k: p[k] for k in ("n", "prediction_mean", "prediction_std", "mae", "mae_percent")}


def plot(rows: list[dict], re: float, path: Path) -> None:
    from matplotlib.figure import Figure

    from turbjax.plots import save_figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    x = np.arange(len(rows))
    ref = [r["perturbation"] is None for r in rows]
    for mask, style, label in ((~np.array(ref), "o", "independent runs"), (np.array(ref), "r*", "reference")):
        if mask.any():
            ax.errorbar(x[mask], [r["prediction_mean"] for r, m in zip(rows, mask, strict=True) if m],
                        yerr=[r["prediction_std"] for r, m in zip(rows, mask, strict=True) if m],
                        fmt=style, capsize=3, label=label, ms=9 if style == "r*" else 5)
    ax.axhline(re, color="k", lw=1, label=f"true Re {re:g}")
    ax.axhspan(0.95 * re, 1.05 * re, color="gray", alpha=0.2, label="+-5%")
    ax.set(xlabel="run", ylabel="predicted Re (mean +- std over frames)",
           title=f"one model, {len(rows)} runs at Re {re:g}")
    labels = ["ref" if r["seed"] is None else f"p={r['perturbation']:g}\ns{r['seed']}" for r in rows]
    ax.set_xticks(x, labels, fontsize=6, rotation=90)
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    from turbjax import cli
    from turbjax.workdir import write_text_atomic

    with cli.user_errors("realization_spread"):
        args.out.mkdir(parents=True, exist_ok=True)
        simulate_missing(args)
        rows = score_runs(args)
    write_text_atomic(args.out / "spread.json", json.dumps(rows, indent=2) + "\n")
    plot(rows, args.re, args.out / "spread.png")
    for r in rows:
        print(f"{r['run']:>48s}: {r['prediction_mean']:7.1f} +- {r['prediction_std']:5.1f}  "
              f"MAE {r['mae_percent']:4.1f}%")
    runs = [r for r in rows if r["perturbation"] is not None]
    means = [r["prediction_mean"] for r in runs]
    print(f"realization_spread: {len(runs)} runs at Re {args.re:g}: mean predictions {min(means):.0f}-"
          f"{max(means):.0f}, MAE above 5% in {sum(r['mae_percent'] > 5 for r in runs)} of them; "
          f"{args.out / 'spread.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
