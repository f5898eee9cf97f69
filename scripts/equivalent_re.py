"""The Reynolds number a run's flow looks like, without a trained model: its time-mean wake statistics against
the reference ensemble's, feature by feature.

    python scripts/equivalent_re.py --reference data/ensemble --variant bounceback=data/variants/bounceback \
        --variant bgk=data/variants/bgk --out docs/equivalent_re

Every file is read as the shipped model reads it (configs/pretrained.py's data config: data.units "flow",
the 45 `wakestats` statistics of the widest window, every stored frame), and each run is summarized by the
mean of each statistic over its frames. The reference curve m_k(Re) of statistic k is the mean over the
reference directory's realizations at each of its Reynolds numbers, linear in log Re between them; s_k is
the pooled scatter of the runs' means about it (the run-to-run scatter of the flows). A run's equivalent Re:
  - for statistic k alone: the Re' within a factor SEARCH of the run's nominal Re where m_k(Re') is nearest
    the run's mean, for the statistics that are informative there (m_k changes over Re * [1/1.1, 1.1] by
    more than INFORMATIVE s_k);
  - all statistics at once: the Re' minimizing sum_k ((F_k - m_k(Re')) / s_k)^2 (a nearest point on the
    reference curve; the statistics are correlated, so this is a transparent summary, not a likelihood).
A reference run is scored against the curve of the other realizations (leave one realization out): its
equivalent Re's scatter is what the flows' own run-to-run differences leave to any estimator of
whole-recording means. A variant's shift that every informative statistic shares (the same sign, a similar
size) says its flow is a flow of another Reynolds number in everything the models read; a shift that only
a few statistics show is a numerical signature that a model could learn to ignore.

Written: OUT.json (every run: nominal and combined equivalent Re, the per-statistic shifts) and OUT.md (per
directory and Re: the combined equivalent Re of the runs, their range, the median per-statistic shift and
the fraction of informative statistics shifted upwards), OUT.png (the per-statistic shifts).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the checkout's configs/ (and turbjax) when run as a script
    sys.path.insert(0, str(ROOT))

SEARCH = 1.6  # equivalent Re searched within nominal / SEARCH .. nominal * SEARCH
GRID_POINTS = 2001  # of that search range, uniform in log Re
INFORMATIVE = 2.0  # a statistic informs at Re if m_k(1.1 Re) - m_k(Re / 1.1) exceeds this many s_k
REFERENCE = "reference"  # the rows of the reference's own runs (each against the other realizations)


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/equivalent_re.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", type=Path, default=Path("data/ensemble"),
                    help="directory of realizations at many Reynolds numbers (default: data/ensemble)")
    ap.add_argument("--realizations", type=int, nargs="+", default=[0, 1, 2, 3],
                    help="the reference's realizations to read (default: 0 1 2 3)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                    help="a directory of runs to compare (every file read); repeatable")
    ap.add_argument("--model", default="pretrained",
                    help="also the run estimate of this model beside each variant run's: a training workdir, "
                         "'pretrained' (the package's, the default) or 'none'")
    ap.add_argument("--out", type=Path, required=True, help="OUT.json, OUT.md and OUT.png are written")
    args = ap.parse_args(argv)
    variants = []
    for v in args.variant:
        name, sep, directory = v.partition("=")
        if not (sep and name and directory):
            ap.error(f"--variant {v!r}: expected NAME=DIR, e.g. bounceback=data/variants/bounceback")
        if not Path(directory).is_dir():
            ap.error(f"--variant {v!r}: {directory} is not a directory")
        variants.append((name, Path(directory)))
    if not args.reference.is_dir():
        ap.error(f"--reference {args.reference} is not a directory; simulate it with `python -m "
                 f"turbjax.simulate --preset ensemble --out {args.reference} --realizations 4`")
    args.variants = variants
    return args


def data_config(directory: Path, realizations=None):
    """configs/pretrained.py's data config on one directory: every file (or the given realizations), every
    frame, all parts read as one."""
    from configs import pretrained

    cfg = pretrained.get_config().data
    cfg.update(dict(dir=str(directory), reynolds=(), exclude_reynolds=(), split="random", variant_dirs=(),
                    val_dirs=(), test_dirs=(), heldout=()))
    if realizations is None:
        cfg.every_file = True
    else:
        cfg.realizations = tuple(realizations)
    return cfg


def run_means(directory: Path, realizations=None) -> list[dict]:
    """One entry per run: Reynolds number, realization, frames, and the mean of each statistic."""
    from turbjax.data import discovery
    from turbjax.data.dataset import build_dataset
    from turbjax.novelty import run_statistics

    t = build_dataset(data_config(directory, realizations)).every_sample_as_test().test
    means, counts, _ = run_statistics(t.X, t.series)
    _, first = np.unique(t.series, return_index=True)  # run_statistics' order of the runs
    runs = []
    for i, mean, n in zip(first, means, counts, strict=True):
        re, k = float(t.re[i]), int(t.realization[i])
        runs.append({"re": re, "realization": k, "frames": int(n),
                     "path": str(discovery.data_path(directory, re, realization=k)), "mean": mean})
    return sorted(runs, key=lambda r: (r["re"], r["realization"]))


def reference_curve(runs: list[dict], leave_out: int | None = None):
    """(Reynolds numbers, (n_re, K) mean statistics) over the reference runs, without realization
    `leave_out`."""
    keep = [r for r in runs if r["realization"] != leave_out]
    res = np.array(sorted({r["re"] for r in keep}))
    means = np.stack([np.mean([r["mean"] for r in keep if r["re"] == re], axis=0) for re in res])
    return res, means


def interpolate(res: np.ndarray, means: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """m_k at the Reynolds numbers `grid`, linear in log Re (held constant outside the reference's range)."""
    x = np.log(res)
    return np.stack([np.interp(np.log(grid), x, means[:, k]) for k in range(means.shape[1])], axis=1)


def pooled_scatter(runs: list[dict]) -> np.ndarray:
    """s_k: the runs' standard deviation about their Reynolds number's mean, pooled over Reynolds numbers."""
    dev, dof = [], 0
    for re in sorted({r["re"] for r in runs}):
        group = np.stack([r["mean"] for r in runs if r["re"] == re])
        if len(group) > 1:
            dev.append(((group - group.mean(axis=0)) ** 2).sum(axis=0))
            dof += len(group) - 1
    if dof == 0:
        raise ValueError("the reference needs at least two realizations at some Reynolds number")
    return np.sqrt(np.sum(dev, axis=0) / dof)


def equivalent(features: np.ndarray, nominal: float, res: np.ndarray, means: np.ndarray,
               scatter: np.ndarray) -> dict:
    """The combined and the per-statistic equivalent Reynolds numbers of one run (see the module
    docstring); statistics with zero scatter or not informative at `nominal` get NaN; `at_edge`: the combined
    estimate sits at the end of the searched range (the reference's range or SEARCH), so it is a bound."""
    grid = nominal * np.exp(np.linspace(-np.log(SEARCH), np.log(SEARCH), GRID_POINTS))
    grid = grid[(grid >= res[0]) & (grid <= res[-1])]
    curve = interpolate(res, means, grid)
    s = np.where(scatter > 0, scatter, np.inf)
    z = (features[None, :] - curve) / s[None, :]
    ends = interpolate(res, means, np.clip(np.array([nominal / 1.1, nominal * 1.1]), res[0], res[-1]))
    informative = np.abs(ends[1] - ends[0]) > INFORMATIVE * scatter
    best = int(np.argmin((z[:, informative] ** 2).sum(axis=1))) if informative.any() else -1
    per = np.where(informative, grid[np.argmin(np.abs(z), axis=0)], np.nan)
    # at the search range's edge (the reference's last Re, or SEARCH): the flow lies beyond it, a bound
    edge = best in (0, grid.size - 1)
    return {"combined": float(grid[best]) if best >= 0 else np.nan, "per_statistic": per, "at_edge": edge}


def score_runs(name: str, runs: list[dict], reference: list[dict], scatter: np.ndarray,
               leave_one_out: bool, model=None) -> list[dict]:
    """One row per run: its equivalent Re (against the reference without the run's realization if
    `leave_one_out`), the per-statistic shifts and, with a model (turbjax.estimates.Model), the model's
    estimate of the run (the geometric mean of its frames')."""
    rows = []
    full = reference_curve(reference)
    for r in runs:
        res, means = reference_curve(reference, r["realization"]) if leave_one_out else full
        e = equivalent(r["mean"], r["re"], res, means, scatter)
        shifts = 100 * (e["per_statistic"] / r["re"] - 1)
        row = {"directory": name, "re": r["re"], "realization": r["realization"], "frames": r["frames"],
               "equivalent_re": e["combined"], "at_search_edge": e["at_edge"],
               "shift_percent": 100 * (e["combined"] / r["re"] - 1),
               "statistic_shift_percent": [None if np.isnan(v) else float(v) for v in shifts]}
        if model is not None:
            from turbjax.estimates import estimate_run

            row["model_re"] = estimate_run(model, r["path"]).reynolds
        rows.append(row)
    return rows


def summary(rows: list[dict]) -> list[dict]:
    """Per (directory, Re): the runs' combined equivalent Re (mean, range), the median per-statistic shift
    over the runs' informative statistics and the fraction of them shifted upwards."""
    out = []
    for name in dict.fromkeys(r["directory"] for r in rows):
        for re in sorted({r["re"] for r in rows if r["directory"] == name}):
            group = [r for r in rows if r["directory"] == name and r["re"] == re]
            eq = np.array([r["equivalent_re"] for r in group])
            stat = np.array([v for r in group for v in r["statistic_shift_percent"] if v is not None])
            out.append({"directory": name, "re": re, "runs": len(group),
                        "runs_at_search_edge": sum(r["at_search_edge"] for r in group),
                        "equivalent_re_mean": float(eq.mean()),
                        "equivalent_re_min": float(eq.min()), "equivalent_re_max": float(eq.max()),
                        "shift_percent": float(100 * (eq.mean() / re - 1)),
                        "run_mae_percent": float(np.mean(np.abs(eq / re - 1)) * 100),
                        "informative_statistics": int(stat.size / len(group)),
                        "statistic_shift_median_percent": float(np.median(stat)) if stat.size else None,
                        "statistics_shifted_up": float(np.mean(stat > 0)) if stat.size else None,
                        "model_re_mean": (float(np.mean([r["model_re"] for r in group]))
                                          if all("model_re" in r for r in group) else None)})
    return out


def table_markdown(rows: list[dict]) -> str:
    head = ("| directory | Re | runs | equivalent Re (runs' range) | shift % | run MAE % | informative "
            "statistics | their median shift % | shifted up | model reads (shift %) |")
    lines = [head, "|---|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        med, up, model = r["statistic_shift_median_percent"], r["statistics_shifted_up"], r["model_re_mean"]
        reads = "" if model is None else f"{model:.0f} ({100 * (model / r['re'] - 1):+.1f})"
        edge = f", {r['runs_at_search_edge']} at the search's edge" if r["runs_at_search_edge"] else ""
        lines.append(
            f"| {r['directory']} | {r['re']:g} | {r['runs']} | {r['equivalent_re_mean']:.0f} "
            f"({r['equivalent_re_min']:.0f}-{r['equivalent_re_max']:.0f}{edge}) | "
            f"{r['shift_percent']:+.1f} | "
            f"{r['run_mae_percent']:.1f} | {r['informative_statistics']} | "
            f"{'' if med is None else f'{med:+.1f}'} | {'' if up is None else f'{up:.2f}'} | "
            f"{reads} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, seed_re) -> None:
    """Per Reynolds number: each run's per-statistic shifts (dots), its all-at-once shift (black bar) and the
    model's reading (red cross), per directory."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from turbjax.plots import save_figure

    names = list(dict.fromkeys(r["directory"] for r in rows))
    fig, axes = plt.subplots(1, len(seed_re), figsize=(3.0 * len(seed_re), 4.2), sharey=True, squeeze=False)
    for ax, re in zip(axes[0], seed_re, strict=True):
        for i, name in enumerate(names):
            group = [r for r in rows if r["directory"] == name and r["re"] == re]
            stat = [v for r in group for v in r["statistic_shift_percent"] if v is not None]
            jitter = np.random.default_rng(i).uniform(-0.25, 0.25, len(stat))
            ax.scatter(i + jitter, stat, s=4, alpha=0.35, color=f"C{i}")
            ax.scatter([i] * len(group), [r["shift_percent"] for r in group], marker="_", s=300, color="k",
                       zorder=3, label="run, all statistics" if i == 0 else None)
            model = [100 * (r["model_re"] / re - 1) for r in group if "model_re" in r]
            ax.scatter([i + 0.3] * len(model), model, marker="x", s=25, color="red", zorder=4,
                       label="model's reading of the run" if model and i == len(names) - 1 else None)
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
        ax.set_title(f"Re {re:g}")
    axes[0][0].set_ylabel("equivalent Re vs nominal, %\n(dots: single statistics)")
    handles, labels = [], []
    for ax in axes[0]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    axes[0][-1].legend(handles, labels, fontsize=7, loc="upper right")
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    args = parse_args(argv)
    from turbjax import cli
    from turbjax.workdir import write_json, write_text_atomic

    model = None
    with cli.user_errors("equivalent_re"):  # a model or data file that cannot be read: one line
        if args.model != "none":
            from turbjax.estimates import load_model

            model = load_model(None if args.model == "pretrained" else args.model)
        reference = run_means(args.reference, args.realizations)
        scatter = pooled_scatter(reference)
        variants = {name: run_means(directory) for name, directory in args.variants}
    variant_re = sorted({r["re"] for runs in variants.values() for r in runs})
    # the reference's own runs at the variants' Reynolds numbers (all of them when no variant is given)
    own = [r for r in reference if not variant_re or r["re"] in variant_re]
    rows = score_runs(REFERENCE, own, reference, scatter, leave_one_out=True)
    for name, runs in variants.items():
        rows += score_runs(name, runs, reference, scatter, leave_one_out=False, model=model)
    table = summary(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.out.with_suffix(".json"), {
        "reference": str(args.reference), "realizations": args.realizations,
        "model": None if model is None else args.model,
        "search_factor": SEARCH, "informative_threshold": INFORMATIVE,
        "summary": table, "runs": rows})
    md = (f"Equivalent Reynolds numbers against {args.reference} (realizations {args.realizations}); rows "
          f"'{REFERENCE}': each of its runs against the other realizations' curve. `python "
          f"scripts/equivalent_re.py {' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
          + table_markdown(table))
    write_text_atomic(args.out.with_suffix(".md"), md)
    plot(rows, args.out.with_suffix(".png"), variant_re or sorted({r["re"] for r in own})[:4])
    print(md, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
