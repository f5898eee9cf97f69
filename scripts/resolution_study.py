"""The resolution study: how the flow at given Reynolds numbers changes with the grid, and what a model reads.

    python scripts/resolution_study.py --grid 12.8=data/vortex_street --grid 19.2=data/resolution/d19.2 \
        --grid 25.6=data/resolution/d25.6 --model runs/generalization/flagship/mlp_wakestats \
        --out docs/resolution

Each --grid is one directory of plain runs of the same flow (cylinder, channel, inflow, age in D / U) on a
grid of that many cells per diameter (the `seed` preset and `presets.with_numerics` variants of it), at
the same Reynolds numbers. For every grid and Re it reports
  - the Strouhal number St = f D / U from the probe's second half (the flow's age 188-375 D/U on every grid),
    and its change from the first (coarsest) grid;
  - time averages of wake statistics the models read (data.features "wakestats" of the flagship's window,
    every file read onto the reference grid with data.units = "flow");
  - with --model, the model's mean prediction and the MAE of its one-period clips (`python -m
    turbjax.evaluate --units flow`): for a model trained on the seed grid, the Reynolds number at which the
    seed grid computes a flow that looks like this one to the model, i.e. how far the seed grid is from the
    resolved flow, in Reynolds number.
(The seed grid's own St(Re) cannot serve as that measure: over Re 200-1400 the ensemble's St stays within
0.205-0.217 and is not monotonic.)
It writes OUT.json (one row per grid and Re), OUT.md (the table) and OUT.png (St and the model's prediction
against the cells per diameter).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# The wake statistics reported: index into data.features' wakestats vector, and a name.
STATS = {"log_w2": 0, "log_grad2": 1, "log_lap2": 2, "kurtosis": 6, "width2": -2}
CROP = {"crop_x": (98, 254), "crop_y": (2, 126)}  # the flagship's window (configs/generalize.py)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/resolution_study.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--grid", action="append", required=True, metavar="CELLS=DIR",
                    help="cells per diameter and a directory of plain runs on that grid (repeat)")
    ap.add_argument("--model", type=Path, help="a turbjax.train workdir to score on every grid (optional)")
    ap.add_argument("--out", type=Path, required=True, help="output path without suffix (.json .md .png)")
    args = ap.parse_args(argv)
    grids = []
    for g in args.grid:
        cells, _, directory = g.partition("=")
        try:
            cells = float(cells)
        except ValueError:
            ap.error(f"--grid {g!r} must be CELLS=DIR, e.g. 19.2=data/resolution/d19.2")
        if not Path(directory).is_dir():
            ap.error(f"--grid {g!r}: {directory} is not a directory")
        grids.append((cells, Path(directory)))
    args.grid = sorted(grids)
    if args.model is not None and not (args.model / "config.json").is_file():
        ap.error(f"--model {args.model} has no config.json: pass a turbjax.train workdir")
    return args


def strouhal(path: Path) -> float:
    """St = f D / U of one file, from its probe's last half (the same span of the flow's age in D / U on every
    grid: about 20 shedding periods), by the spectral peak (turbjax.simulate.analysis)."""
    from turbjax.data.readers import reader
    from turbjax.simulate.analysis import shedding_frequency

    _, _, meta = reader("turbjax").header(path)
    u = meta["units"]
    with np.load(path) as f:
        probe = f["probe_uy"]
    f_step = shedding_frequency(probe[probe.size // 2:], 1.0)
    return f_step * u.diameter / (u.inflow * u.dt)


def wake_statistics(directory: Path) -> dict[float, dict[str, float]]:
    """Per Re, the time averages of STATS over every frame, on the reference grid."""
    from configs.default import get_data_config
    from turbjax.data import discovery
    from turbjax.data.dataset import build_dataset
    from turbjax.data.readers import reader
    from turbjax.data.series import frame_spacing

    reynolds = discovery.available_reynolds(directory)
    path = discovery.data_path(directory, reynolds[0])
    _, _, meta = reader("turbjax").header(path)
    cfg = get_data_config()
    cfg.update(dict(dir=str(directory), reynolds=tuple(reynolds), units="flow", features="wakestats",
                    sample_every_steps=round(frame_spacing(meta, "flow", path)), **CROP))
    ds = build_dataset(cfg).every_sample_as_test()
    return {float(r): {name: float(ds.test.X[ds.test.re == r, i].mean()) for name, i in STATS.items()}
            for r in reynolds}


def rows_for(cells: float, directory: Path, model: Path | None) -> list:
    from turbjax.data import discovery

    stats = wake_statistics(directory)
    scores = {}
    if model is not None:
        from turbjax.scoring import evaluate_workdir

        out = evaluate_workdir(model, data_dir=directory, units="flow")
        scores = {float(e["re"]): e for e in out["test_per_reynolds"]}
    rows = []
    for re in discovery.available_reynolds(directory):
        st = strouhal(discovery.data_path(directory, re))
        row = {"cells_per_diameter": cells, "re": re, "strouhal": st, **stats[re]}
        if re in scores:
            e = scores[re]
            row |= {"model_prediction_mean": e["prediction_mean"], "model_mae_percent": e["mae_percent"],
                    "model_clip_mae_percent": e.get("clip_mae_percent")}
        rows.append(row)
    return rows


def table_markdown(rows: list[dict]) -> str:
    keys = ["cells_per_diameter", "re", "strouhal", "strouhal_change_percent", *STATS,
            "model_prediction_mean", "model_mae_percent"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        cells = []
        for k in keys:
            v = r.get(k)
            cells.append("" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [("strouhal", "Strouhal number"), ("model_prediction_mean", "model's mean prediction")]
    panels = [p for p in panels if any(p[0] in r for r in rows)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6))
    for ax, (key, label) in zip(np.atleast_1d(axes), panels, strict=True):
        for re in sorted({r["re"] for r in rows}):
            pts = sorted((r["cells_per_diameter"], r[key]) for r in rows if r["re"] == re and key in r)
            ax.plot(*zip(*pts, strict=True), "o-", label=f"Re {re:g}")
            if key == "model_prediction_mean":
                ax.axhline(re, color=ax.lines[-1].get_color(), lw=0.7, ls=":")
        ax.set_xlabel("cells per diameter D")
        ax.set_title(label, fontsize=10)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def main(argv=None) -> int:
    args = parse_args(argv)
    rows = []
    for cells, directory in args.grid:
        rows += rows_for(cells, directory, args.model)
        print(f"D = {cells:g} cells: done", flush=True)
    first = {r["re"]: r["strouhal"] for r in rows if r["cells_per_diameter"] == args.grid[0][0]}
    for r in rows:
        if r["re"] in first:
            r["strouhal_change_percent"] = 100 * (r["strouhal"] / first[r["re"]] - 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for suffix, text in ((".json", json.dumps({"rows": rows}, indent=1)), (".md", table_markdown(rows))):
        target = args.out.with_suffix(suffix)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text)
        tmp.replace(target)
    plot(rows, args.out.with_suffix(".png"))
    print(table_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
