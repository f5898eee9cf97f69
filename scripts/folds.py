"""An honest split repeated with each part of the data as the test set in turn: how much error is the run's.

    python scripts/folds.py --out runs/realization_folds                  # 8 folds of the realization split
    python scripts/folds.py --split heldout_re --out runs/heldout_folds   # 6 folds of held-out Re
    python scripts/folds.py --out /tmp/f --small --epochs 1              # the quick grid (the test)

A figure of one split is one draw of its test runs: the realization split tests on one realization (2) of each
Reynolds number, heldout_re on the four seed Reynolds numbers. Each fold here is the same cell
(scripts/generalization.py's config) with another test part, everything else as the split defines it:
- realization  fold k (of N realizations) tests realization k, validates on realization (k + 1) mod N (it
               selects the checkpoint and calibrates the intervals) and trains on the other N - 2;
- heldout_re   fold k holds out the seed Reynolds numbers shifted by HELDOUT_SHIFTS[k] (300 + s, 600 + s,
               900 + s, 1200 + s; fold 0 is the table's cell), tested in their late window; validation at
               every fourth of the remaining training Reynolds numbers, as the split picks it.
Every model is honest on its own test runs; together they give many more. Each fold is a complete training
workdir (OUT/fold<k>); a fold whose workdir holds a finished run with the same config is rescored, not
retrained. Written: OUT/folds.json (every test run: fold, Re, realization, frame and clip MAE, coverage) and
OUT/folds.md: per Re the clip MAE of each test run, their mean and worst, and the frame and clip coverage of
the 90% intervals pooled over all test runs with their range over runs (calibration.coverage_range). Then,
with each fold's model on its own test runs, the clip MAE for clips of 1, 2 and 4 shedding periods
(--clip-periods, of scoring.CLIP_PERIODS) and the error of the whole recording's estimate (each test run's
"clip_length_mae_percent" in results.json, scoring.clip_length_errors): how long a recording an estimate
needs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import generalization as gen  # noqa: E402 (after the sys.path edit above)

from turbjax.configs.schema import with_overrides  # noqa: E402

CLIP_FLOOR = 3.0  # issue 21: clip MAE <= 3% of Re at every test Reynolds number (realization, heldout_re)
SPLITS = ("realization", "heldout_re")
# heldout_re folds: shifts of the seed Reynolds numbers that keep every held-out Re between training ones
# (inside 250-1350: the split tests interpolation, not the ensemble's edges 200 and 1400)
HELDOUT_SHIFTS = (0.0, 50.0, 100.0, 150.0, -50.0)


def fold_config(split: str, k: int, n: int, model: str, *, small: bool, epochs: int | None, ensemble_dir: str,
                seed_dir: str):
    """Fold k of `split`'s cell of `model` reading realizations 0..n-1 (see the module docstring)."""
    base = gen.build_config(model, split, seed_dir=seed_dir, ensemble_dir=ensemble_dir, epochs=epochs,
                            small=small, realizations=n)
    if split == "heldout_re":
        return with_overrides(base, {"data.heldout": heldout_set(k, small)})
    val = (k + 1) % n
    train = tuple(r for r in range(n) if r not in (k, val))
    return with_overrides(base, {"data.train_realizations": train, "data.val_realizations": (val,)})


def heldout_set(k: int, small: bool) -> tuple[float, ...]:
    """The Reynolds numbers fold k of heldout_re holds out: the seed four shifted (--small: the small
    ensemble's Reynolds numbers at the seed four's positions, shifted by k places)."""
    if small:
        grid = gen.SMALL_ENSEMBLE_RE
        return tuple(grid[(grid.index(r) + k) % len(grid)] for r in gen.SEED_RE)
    return tuple(r + HELDOUT_SHIFTS[k] for r in gen.SEED_RE)


def fold_numbers(split: str, n: int, small: bool) -> list[int]:
    if split == "realization":
        return list(range(n))
    return list(range(2 if small else len(HELDOUT_SHIFTS)))


def runs_of(results: dict) -> list[dict]:
    """The test runs of one fold's results.json (`test_per_run`: written for a Reynolds-number regression with
    calibrated intervals)."""
    if not results.get("test_per_run"):
        raise SystemExit("folds: a fold's results.json has no test_per_run (no calibrated intervals?); the "
                         "folds need a Reynolds-number regression of the table (e.g. --model mlp_wakestats)")
    return results["test_per_run"]


def expand_runs(runs: list[dict], key: str, count: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample hits and run ids rebuilt from per-run coverages: round(coverage * count) hits of `count`
    per run, for calibration.coverage_range."""
    hits, groups = [], []
    for run, e in enumerate(runs):
        m = int(e[count])
        held = int(round(float(e[key]) * m))
        hits += [True] * held + [False] * (m - held)
        groups += [run] * m
    return np.array(hits, bool), np.array(groups)


def _mean_max(values: list) -> tuple[float | None, float | None]:
    v = [x for x in values if x is not None]
    return (float(np.mean(v)), float(np.max(v))) if v else (None, None)


def summarize(folds: dict[int, dict]) -> dict:
    """Pool the folds' test runs: per Re the runs' frame / clip MAE (% of Re; None for a run without a whole
    clip); overall frame and clip coverage with their range over the runs (None where no run has intervals or
    clips); how many runs miss the clip floor."""
    from turbjax.calibration import coverage_range

    runs = [dict(e, fold=k) for k, res in folds.items() for e in runs_of(res)]
    per_re = {}
    for e in runs:
        per_re.setdefault(e["re"], []).append(e)
    out = {"folds": sorted(folds), "runs": len(runs), "per_reynolds": [],
           "test_runs": [{k: r.get(k) for k in ("fold", "re", "realization", "num_frames", "prediction_mean",
                                                 "mae_percent", "coverage", "num_clips", "clip_coverage",
                                                 "clip_mae_percent")} for r in runs]}
    for re in sorted(per_re):
        clip = [r.get("clip_mae_percent") for r in per_re[re]]
        mean, worst = _mean_max(clip)
        out["per_reynolds"].append({
            "re": re, "runs": len(clip), "clip_mae_percent": clip,
            "mae_percent": [r["mae_percent"] for r in per_re[re]],
            "clip_mae_percent_mean": mean, "clip_mae_percent_max": worst,
            "runs_over_clip_floor": sum(c is not None and c > CLIP_FLOOR for c in clip),
        })
    for name, count in (("coverage", "num_frames"), ("clip_coverage", "num_clips")):
        scored = [r for r in runs if r.get(name) is not None and r.get(count)]
        hits, groups = expand_runs(scored, name, count)
        out[name] = float(hits.mean()) if hits.size else None
        out[f"{name}_range"] = coverage_range(hits, groups) if hits.size else None
    out["runs_over_clip_floor"] = sum(p["runs_over_clip_floor"] for p in out["per_reynolds"])
    out["re_whose_mean_run_misses_clip_floor"] = [
        p["re"] for p in out["per_reynolds"]
        if p["clip_mae_percent_mean"] is not None and p["clip_mae_percent_mean"] > CLIP_FLOOR]
    out["test_r2"] = {k: folds[k]["test_r2"] for k in sorted(folds)}
    out["val_r2"] = {k: folds[k]["val_r2"] for k in sorted(folds)}
    return out


def clip_length_rows(folds: dict, periods: tuple[float, ...]) -> list[dict]:
    """Every test run's clip MAE for each length in `periods` and for the whole recording, with its fold and
    Re, from the folds' results (test_per_run)."""
    rows = []
    for k in sorted(folds):
        for run in runs_of(folds[k]):
            lengths = run["clip_length_mae_percent"]
            rows.append({"fold": k, "re": run["re"]} | {f"{n:g}": lengths[f"{n:g}"] for n in periods}
                        | {"whole": lengths["whole"]})
    return rows


def summarize_lengths(rows: list[dict], periods: tuple[float, ...]) -> list[dict]:
    """Per Re, the mean over its test runs of each length's clip MAE and of the whole-recording error."""
    out = []
    for re in sorted({r["re"] for r in rows}):
        runs = [r for r in rows if r["re"] == re]
        entry = {"re": re, "runs": len(runs)}
        for key in (*(f"{n:g}" for n in periods), "whole"):
            entry[key] = _mean_max([r[key] for r in runs])[0]
        out.append(entry)
    return out


def _fmt(x, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def _range(r) -> str:
    return "" if r is None else f" [{r[0]:.2f}-{r[1]:.2f}]"


def table_markdown(s: dict) -> str:
    lines = [
        f"{len(s['folds'])} folds, {s['runs']} test runs. Pooled 90% interval coverage: frames "
        f"{_fmt(s['coverage'], '.3f')}{_range(s['coverage_range'])}, clips {_fmt(s['clip_coverage'], '.3f')}"
        f"{_range(s['clip_coverage_range'])} (range over runs). Runs with clip MAE > {CLIP_FLOOR:g}%: "
        f"{s['runs_over_clip_floor']} of {s['runs']}.",
        "",
        "| Re | clip MAE % of each test run (in fold order) | mean | worst | runs > 3% |",
        "|---:|---|---:|---:|---:|",
    ]
    for p in s["per_reynolds"]:
        runs = " / ".join(_fmt(c) for c in p["clip_mae_percent"])
        lines.append(f"| {p['re']:g} | {runs} | {_fmt(p['clip_mae_percent_mean'])} | "
                     f"{_fmt(p['clip_mae_percent_max'])} | {p['runs_over_clip_floor']} |")
    lengths = s.get("clip_length")
    if lengths:
        keys = [k for k in lengths[0] if k not in ("re", "runs")]
        heads = [f"{k} period(s)" if k != "whole" else "whole recording" for k in keys]
        lines += ["", "Clip MAE % of Re by clip length (mean over each Re's test runs):", "",
                  "| Re | " + " | ".join(heads) + " |", "|---:|" + "---:|" * len(keys)]
        lines += [f"| {e['re']:g} | " + " | ".join(_fmt(e[k]) for k in keys) + " |" for e in lengths]
    return "\n".join(lines) + "\n"


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/folds.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory (a workdir per fold inside)")
    ap.add_argument("--split", default="realization", choices=SPLITS, help="the split to repeat")
    ap.add_argument("--model", default="mlp_wakestats", help=f"one of {','.join(gen.MODELS)}")
    ap.add_argument("--realizations", type=int, default=None,
                    help=f"realizations read (the realization split: one fold each; default "
                         f"{gen.ENSEMBLE_SPLIT_REALIZATIONS}; --small: {gen.REALIZATIONS})")
    ap.add_argument("--folds", default="", help="comma-separated fold numbers to run (default: all)")
    ap.add_argument("--epochs", type=int, default=None, help="epochs (default: the cell's)")
    ap.add_argument("--clip-periods", default="1,2,4",
                    help="clip lengths in shedding periods for the clip-length table (comma-separated; "
                         "empty: no table)")
    ap.add_argument("--small", action="store_true", help="the quick grid and the small ensemble (seconds)")
    ap.add_argument("--ensemble-dir", type=Path, default=None,
                    help="the ensemble (default data/ensemble; --small: data/small/ensemble)")
    args = ap.parse_args(argv)
    args.ensemble_dir = args.ensemble_dir or ROOT / "data" / ("small" if args.small else "") / "ensemble"
    n = args.realizations or gen.realizations_of(args.split, args.small)
    if n < 3:
        ap.error(f"--realizations={n} must be >= 3 (one tests, one validates, the rest train)")
    models = [m for m in gen.MODELS if m not in gen.GRID_MODELS]
    if args.model not in models:
        ap.error(f"--model={args.model!r}: expected one of {','.join(models)}")
    every = fold_numbers(args.split, n, args.small)
    try:
        args.folds = [int(f) for f in args.folds.split(",") if f.strip()] or every
    except ValueError:
        ap.error(f"--folds={args.folds!r}: expected comma-separated integers, e.g. 0,1,2")
    bad = [f for f in args.folds if f not in every]
    if bad:
        ap.error(f"--folds {bad}: the {args.split} split has folds 0..{len(every) - 1}")
    try:
        args.clip_periods = tuple(float(x) for x in args.clip_periods.split(",") if x.strip())
    except ValueError:
        ap.error(f"--clip-periods={args.clip_periods!r}: expected comma-separated numbers, e.g. 1,2,4")
    from turbjax.scoring import CLIP_PERIODS

    if any(x not in CLIP_PERIODS for x in args.clip_periods):
        given = ",".join(f"{x:g}" for x in args.clip_periods)
        ap.error(f"--clip-periods={given}: each length must be one of "
                 f"{','.join(f'{x:g}' for x in CLIP_PERIODS)} (the lengths every test run is scored at)")
    if args.epochs is not None and args.epochs < 1:
        ap.error(f"--epochs={args.epochs} must be >= 1")
    args.realizations = n
    return args


def describe(config) -> str:
    d = config.data
    if d.split == "heldout_re":
        return f"held out Re {', '.join(f'{r:g}' for r in d.heldout)}"
    test = sorted(set(d.realizations) - set(d.train_realizations) - set(d.val_realizations))
    return f"test realization {test}, validation {list(d.val_realizations)}"


def main(argv=None) -> int:
    args = parse_args(argv)
    from turbjax import cli
    from turbjax.checks import output_dir
    from turbjax.configs.validate import validate_config
    from turbjax.train import train_and_evaluate
    from turbjax.workdir import write_text_atomic

    # the seed directory is named in the config but not read by these splits
    dirs = {"ensemble_dir": str(args.ensemble_dir),
            "seed_dir": str(args.ensemble_dir.parent / "vortex_street")}
    with cli.user_errors("folds"):
        output_dir(args.out, "--out")
        configs = {k: fold_config(args.split, k, args.realizations, args.model, small=args.small,
                                  epochs=args.epochs, **dirs) for k in args.folds}
        for c in configs.values():
            validate_config(c)
        gen.ensure_cell_data(next(iter(configs.values())), args.small)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folds = {}
    for i, (k, config) in enumerate(configs.items()):
        print(f"folds: [{i + 1}/{len(configs)}] {args.split} fold {k}: {describe(config)}", flush=True)
        with cli.user_errors("folds"):
            folds[k] = train_and_evaluate(config, args.out / f"fold{k}")
    s = {"split": args.split, "model": args.model} | summarize(folds)
    if args.clip_periods:
        rows = clip_length_rows(folds, args.clip_periods)
        s["clip_length_runs"] = rows
        s["clip_length"] = summarize_lengths(rows, args.clip_periods)
    write_text_atomic(args.out / "folds.json", json.dumps(s, indent=2) + "\n")
    table = table_markdown(s)
    write_text_atomic(args.out / "folds.md", table)
    print(table)
    print(f"folds: {len(folds)} folds in {time.perf_counter() - t0:.0f} s; {args.out / 'folds.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
