"""python -m turbjax.predict PATH... [--model WORKDIR] [--clip-steps N | --per-frame] [--out FILE.json]
[--plot FILE.png]

The Reynolds number of the flow in each file (or each data file of a directory), with its 90% interval, from
the pretrained model shipped in the package (or a training workdir's, --model). Files of any grid spacing
and unit system: turbjax's .npz, the course's pickles (--trust-pickle), netCDF/HDF5 in the convention of the
README; every file is read onto the model's reference grid in the flow's own scales (turbjax.data.units).

Prints one line per run (estimate, interval, frames, whether it is out of the training distribution) and,
with --out, writes a JSON list with one entry per run: file, reynolds, low, high (the 90% interval; null when
out of distribution), n_frames, out_of_distribution, true_reynolds (the file's label, null if none),
clip_steps, frames (per frame: reynolds, low, high) and clips (per clip of one shedding period). --plot draws
the per-frame estimates over time with their interval band, per run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from turbjax import cli


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m turbjax.predict",
                                 description=__doc__.split("\n\n")[1].replace("\n", " "))
    ap.add_argument("paths", nargs="+", metavar="PATH", help="data files or directories of them")
    ap.add_argument("--model", help="a turbjax.train workdir (default: the pretrained model in the package)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--clip-steps", type=float, metavar="N",
                      help="clips of N simulation steps of the file (default: one shedding period where the "
                           "file says it, else the whole run)")
    mode.add_argument("--per-frame", action="store_true", help="also print every frame's estimate")
    ap.add_argument("--out", help="write the estimates as JSON to this file")
    ap.add_argument("--plot", help="write a figure of the per-frame estimates over time to this PNG")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="read the course's pickled files (loading a pickle can run code)")
    return ap


def _num(x):
    return None if x is None or not math.isfinite(x) else float(x)


def to_json(e) -> dict:
    rows = lambda a: [{"reynolds": _num(r), "low": _num(lo), "high": _num(hi)} for r, lo, hi in a]
    return {"file": e.file, "reynolds": _num(e.reynolds), "low": _num(e.low), "high": _num(e.high),
            "n_frames": e.n_frames, "out_of_distribution": e.out_of_distribution,
            "true_reynolds": _num(e.true_reynolds), "clip_steps": _num(e.clip_steps),
            "frames": rows(e.frames), "clips": rows(e.clips)}


def line(e) -> str:
    name = Path(e.file).name
    if e.out_of_distribution:
        return (f"{name}: Re ~ {e.reynolds:.0f} (EXTRAPOLATION: the flow lies outside what the model was "
                f"trained on; no interval), {e.n_frames} frames")
    band = f"90% interval [{e.low:.0f}, {e.high:.0f}]" if e.low is not None else "no interval"
    truth = f"; file says {e.true_reynolds:g}" if math.isfinite(e.true_reynolds) else ""
    return f"{name}: Re = {e.reynolds:.0f}, {band}, {e.n_frames} frames, {len(e.clips)} clips{truth}"


def plot(estimates, path: Path) -> None:
    from matplotlib.figure import Figure

    from turbjax.plots import save_figure

    fig = Figure(figsize=(7, 2.6 * len(estimates)))
    axes = fig.subplots(len(estimates), 1, squeeze=False)[:, 0]
    for ax, e in zip(axes, estimates, strict=True):
        ax.fill_between(e.step, e.frames[:, 1], e.frames[:, 2], alpha=0.3, label="90% interval")
        ax.plot(e.step, e.frames[:, 0], ".-", ms=3, label="estimate per frame")
        ax.axhline(e.reynolds, color="k", lw=1, label=f"run: {e.reynolds:.0f}")
        if math.isfinite(e.true_reynolds):
            ax.axhline(e.true_reynolds, color="g", ls=":", label=f"file says {e.true_reynolds:g}")
        ax.set(xlabel="step", ylabel="Re", title=Path(e.file).name + (" (out of distribution)"
                                                                       if e.out_of_distribution else ""))
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    t0 = time.perf_counter()
    try:
        from turbjax.checks import output_file
        from turbjax.estimates import estimate_run, load_model, run_files

        for target, flag in ((args.out, "--out"), (args.plot, "--plot")):
            if target:
                output_file(target, flag)
        if args.clip_steps is not None and not args.clip_steps > 0:
            raise ValueError(f"--clip-steps={args.clip_steps:g} must be a positive number of steps")
        files = run_files(args.paths)  # every path checked before the model loads
        model = load_model(args.model)
        estimates = []
        for path, fmt in files:
            e = estimate_run(model, path, fmt, trust_pickle=args.trust_pickle, clip_steps=args.clip_steps)
            estimates.append(e)
            print(line(e), flush=True)
            if args.per_frame:
                for s, (r, lo, hi) in zip(e.step, e.frames, strict=True):
                    print(f"  step {s}: {r:.0f} [{lo:.0f}, {hi:.0f}]")
    except cli.USER_ERRORS as err:
        if cli.debug_enabled():
            raise
        cli.report("turbjax.predict", err)
        return 2
    if args.out:
        from turbjax.workdir import write_text_atomic

        write_text_atomic(Path(args.out), json.dumps([to_json(e) for e in estimates], indent=1) + "\n")
    if args.plot:
        plot(estimates, Path(args.plot))
    print(f"turbjax.predict: {len(estimates)} run(s) in {time.perf_counter() - t0:.1f} s with the model of "
          f"{model.source}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
