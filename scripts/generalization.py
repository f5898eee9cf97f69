"""Does a model know the Reynolds number of a flow it has never seen? The generalization report.

    python scripts/generalization.py --out runs/generalization          # the README's table
    python scripts/generalization.py --out runs/g --splits flagship --models cnn  # one cell
    python scripts/generalization.py --out /tmp/g --small               # tiny grids, minutes (the test)

Trains a small table of models on each honest split with `turbjax.train.train_and_evaluate` (one complete
training workdir per cell: `python -m turbjax.evaluate --workdir W --data D` scores it on any other data) and
writes DIR/generalization.json (one row per cell: model, split, test_r2, test_mae, per-Re predictions,
workdir), DIR/generalization.md (the table) and DIR/generalization.png (predicted against true Re, mean and
spread, for the splits that test Reynolds numbers the model never saw).

What each split tests:
- random       the course's shuffled 20% of the seed data: every test frame has a near-twin in the training
               set (it measures memory, reported for contrast only);
- time         the seed runs' last 20% of frames, trained on their earlier frames, with a gap of at least one
               shedding period between: a later time window of the same flows;
- realization  the ensemble: trained on realizations 0, 1 and 4-7 (seeded perturbations of the initial state)
               of every Re, validated on 3, tested on 2: independent flows at Reynolds numbers it has seen
               (the ensemble splits read eight realizations, the numerics splits four: realizations_of);
- heldout_re   the ensemble without Re 300, 600, 900, 1200; tested on those four in the late time window:
               Reynolds numbers between the training values, and a time window it has not seen;
- flagship     trained on the ensemble without Re 300, 600, 900, 1200, tested on every frame of the seed data
               set (the course's four Reynolds numbers): Reynolds numbers, initial states and a recording
               window it has never seen.
- numerics     trained on the ensemble and two numerical variants of it (a finer grid, D = 19.2 cells; twice
               the inflow velocity in lattice units), all without Re 300, 600, 900, 1200; validated at
               held-out training Reynolds numbers on another variant (MRT with another bulk viscosity) and on
               new runs of the finer grid (the models told each file's grid spacing, `_dx2`, see how
               resolution enters on a grid they were not fitted at); tested at Re
               300, 600, 900, 1200 on variants never trained on: the grid D = 25.6, plain bounce-back on the
               cylinder, BGK collision (data.split "numerics", every file read on the reference grid in the
               flow's scales, data.units "flow");
- grid         the same, tested on the D = 25.6 variant alone: an unseen, finer grid.

Missing data is generated with the built-in simulator first, cell by cell through the library
(turbjax.pipeline.ensure_data; `python -m turbjax.simulate --preset ensemble --out DIR` generates the ensemble
alone; --small's data go to data/small/; the numerical variants go to --variants-dir/NAME, see VARIANT_RUNS;
the numerics splits need the full grids, not --small). The flagship cell is configs/generalize.py itself, on
this run's directories.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the checkout's configs/ (and turbjax) when run as a script
    sys.path.insert(0, str(ROOT))

from configs import generalize, pretrained  # noqa: E402 (after the sys.path edit above)
from turbjax.configs import default  # noqa: E402
from turbjax.configs.schema import with_overrides  # noqa: E402

SEED_RE = generalize.SEED_RE  # the seed data set's (the course's) four Reynolds numbers
# Realizations of the ensemble each split reads by default, chosen on validation (README, "More
# realizations"): eight for the splits that hold out part of the ensemble itself (validation R^2 rose in 17 of
# their 18 cells against four), four for the numerics splits (there it fell for four of six models: eight
# seed-grid realizations against four of D = 19.2 tilt training towards the seed grid) and for --small.
ENSEMBLE_SPLIT_REALIZATIONS = 8
REALIZATIONS = 4
# the realization split tests on realization 2 and validates on 3 and trains on every other one it reads
TEST_REALIZATION, VAL_REALIZATION = 2, 3
DEFAULT_EPOCHS = 30  # of the minibatch models (the flagship cell: configs/generalize.py's)
# deep-ensemble members of the MLPs (model.members; the CNN stays one network: its epoch costs ~10x the
# MLP's). Chosen on validation: 5 members raised the validation R^2 of 22 of the 26 MLP cells (README, "Deep
# ensembles").
MLP_MEMBERS = 5
# --small: the quick grid (96 x 64); Reynolds numbers of the small ensemble (the seed four among them, so that
# heldout_re has something to hold out), and a 24 x 24 crop with room for shifts of 4 cells
SMALL_ENSEMBLE_RE = (200.0, 300.0, 450.0, 600.0, 750.0, 900.0, 1050.0, 1200.0, 1400.0)
SMALL_CROP = ((56, 80), (20, 44))


# ------------------------------------------------------------------------------------------------ the table


def model_overrides(name: str, epochs: int, small: bool, members: int = MLP_MEMBERS) -> dict:
    """Config overrides ('section.field': value) of one model of the table (`members`: of the MLPs)."""
    common = {"training.epochs": epochs, "training.epochs_per_chunk": 5, "training.checkpoint_every": 5}
    mlp = common | {"model.name": "mlp", "model.members": members}
    if name in GRID_MODELS:  # the statistics and the file's own (dx / D)^2 (data.resolution_input)
        return model_overrides(name.removesuffix("_dx2"), epochs, small, members) | {
            "data.resolution_input": True}
    if name == "linear":  # full-batch L-BFGS on the standardized pixels; results.json also has ridge_cv
        return {
            "model.name": "linear",
            "optim.name": "lbfgs",
            "optim.learning_rate": 1.0,
            "optim.momentum": 0.0,
            "optim.schedule": "constant",
            "optim.l2": 1e-3,
            "training.epochs": 200,
            "training.epochs_per_chunk": 50,
            "training.checkpoint_every": 50,
        }
    if name == "mlp_pixels":
        return mlp | {"model.hidden": (100, 100)}
    if name == "mlp_fft2":  # the log power spectrum of the window: blind to where the vortices are
        return mlp | {"model.hidden": (100, 100), "data.features": "fft2"}
    if name == "mlp_gradstats":  # seven statistics of the window (enstrophy, gradient moments, kurtosis, ...)
        return mlp | {"model.hidden": (64, 64), "data.features": "gradstats"}
    if name == "mlp_wakestats":  # 45 statistics of the widest window the split's data stores, on log Re
        return mlp | {"model.hidden": (64, 64), "data.features": "wakestats", "data.log_target": True}
    if name == "cnn":  # global average pooling (translation invariance) + the mirror and streamwise shifts
        return common | {  # fewer epochs: on the CPU its epoch costs ~10x the MLP's
            "model.name": "cnn",
            "model.cnn_features": (8, 16, 16),
            "model.cnn_dense": (32,),
            "model.cnn_head": "gap",
            "training.augment": ("mirror", "shift"),
            "training.shift": 4 if small else 8,
            "training.epochs": max(1 if small else 5, epochs // 2),
        }
    raise ValueError(f"unknown model {name!r}; expected one of {MODELS}")


# the statistics MLPs told the grid spacing of each file: only on the numerics splits (elsewhere every file
# has the seed grid's)
GRID_MODELS = ("mlp_gradstats_dx2", "mlp_wakestats_dx2")
MODELS = ("linear", "mlp_pixels", "mlp_fft2", "mlp_gradstats", "mlp_wakestats", *GRID_MODELS, "cnn")
FLAGSHIP = ("mlp_wakestats", "flagship")  # (model, split): configs/generalize.py
NUMERICS_CELL = ("mlp_wakestats", "numerics")  # configs/pretrained.py: the shipped model


def widest_crop(preset: str, small: bool) -> dict:
    """The largest crop whose velocity cells, with the data pipeline's full halo on every side
    (turbjax.data.vorticity.HALO; not using the clamping at the grid's edge), lie in the preset's stored wake
    window; for a preset that stores the whole grid (cylinder included), the ensemble's window. As overrides
    of data.crop_x and data.crop_y."""
    from turbjax.data.vorticity import HALO
    from turbjax.simulate import PRESETS

    window = PRESETS[preset].window or PRESETS[ensemble_preset(small)].window
    x0, x1, y0, y1 = window
    return {"data.crop_x": (x0 + HALO, x1 - HALO), "data.crop_y": (y0 + HALO, y1 - HALO)}


REPORT_SPLITS = ("flagship", "numerics", "grid", "time", "realization", "heldout_re", "random")
ENSEMBLE_SPLITS = ("realization", "heldout_re", "flagship")  # hold out part of the ensemble (or all of it)

# The numerical variants (turbjax.simulate presets derived from `ensemble` by presets.with_numerics): name ->
# runs, each (preset, Reynolds numbers, realizations: () for plain runs). The training variants hold the
# ensemble's training Reynolds numbers but the validation ones (at Mach 0.17 those up to 1150: Re 1350
# diverges there); the validation variants hold those (every val_every-th of the training Re, as
# data.splits.validation_reynolds picks them); the test variants the seed four, in four realizations each, so
# that a test Re's error is not one run's (BGK only 300 and 600: it diverges above Re ~800 on this grid, and
# at 600 from some perturbed starts).
VAL_RE = (350.0, 550.0, 800.0, 1050.0, 1300.0)
D19_TRAIN_RE = (200.0, 250.0, 400.0, 450.0, 500.0, 650.0, 700.0, 750.0, 850.0, 950.0, 1000.0, 1100.0, 1150.0,
                1250.0, 1350.0, 1400.0)
BGK_600 = (0, 1, 3)  # realization 2 of BGK at Re 600 diverges (by step 7,680)
VARIANT_RUNS = {
    "d19": (("ensemble_d19", D19_TRAIN_RE, (0, 1, 2, 3)),),  # D = 19.2 cells, 4 realizations (as ensemble)
    "mach10": (("ensemble_mach10", tuple(r for r in D19_TRAIN_RE if r <= 1150.0), (0,)),),  # inflow 0.1
    "bulk": (("ensemble_bulk", VAL_RE, (0,)),),  # MRT with a 10x smaller bulk viscosity
    "d19val": (("ensemble_d19", VAL_RE, (0,)),),  # the finer grid at the validation Reynolds numbers
    # D = 25.6 cells: the resolution study's plain runs and 4 realizations
    "d26": (("ensemble_d26", SEED_RE, ()), ("ensemble_d26", SEED_RE, (0, 1, 2, 3))),
    "bounceback": (("ensemble_bounceback", SEED_RE, (0, 1, 2, 3)),),  # plain bounce-back on the cylinder
    "bgk": (("ensemble_bgk", (300.0,), (0, 1, 2, 3)), ("ensemble_bgk", (600.0,), BGK_600)),  # BGK collision
}
# Coarser observations of variants (python -m turbjax.data.convert --coarsen K: every K-th node, D = 6.4 cells
# for K = 2), derived from files, not simulated: name -> (source directory name, or "ensemble", K, Reynolds
# numbers, realizations). Training on them (and validating) asks the models for an answer that does not
# depend on how finely a field was sampled.
COARSENED = {
    "coarse2": ("ensemble", 2, D19_TRAIN_RE, (0, 1)),
    "bulk_coarse2": ("bulk", 2, VAL_RE, (0,)),
}
# split -> (training variants besides the ensemble, validation variants, test variants)
TRAIN_VARIANTS, VAL_VARIANTS = ("d19", "mach10", "coarse2"), ("bulk", "d19val", "bulk_coarse2")
NUMERICS_SPLITS = {
    "numerics": (TRAIN_VARIANTS, VAL_VARIANTS, ("d26", "bounceback", "bgk")),
    "grid": (TRAIN_VARIANTS, VAL_VARIANTS, ("d26",)),
}


def seed_preset(small: bool) -> str:
    return "quick" if small else "seed"


def ensemble_preset(small: bool) -> str:
    return "ensemble_small" if small else "ensemble"


def realizations_of(split: str, small: bool, given: int | None = None) -> int:
    """How many realizations of the ensemble (0 to n - 1) a split reads: `given` (--realizations) if set,
    else ENSEMBLE_SPLIT_REALIZATIONS for the realization, heldout_re and flagship splits, REALIZATIONS for the
    others and for --small."""
    if given is not None:
        return given
    return ENSEMBLE_SPLIT_REALIZATIONS if split in ENSEMBLE_SPLITS and not small else REALIZATIONS


def seed_data(seed_dir: str, small: bool) -> dict:
    """The seed data set: one plain run per seed Reynolds number (the quick grid's for --small)."""
    return {"data.dir": seed_dir, "data.preset": seed_preset(small), "data.reynolds": SEED_RE}


def ensemble_data(ensemble_dir: str, small: bool, realizations: int = REALIZATIONS) -> dict:
    """Every frame the ensemble stored, of realizations 0 to `realizations` - 1 of each of its Reynolds
    numbers (data.reynolds = (): its preset's list when generated); the small one's are named
    (SMALL_ENSEMBLE_RE, not its preset's default list)."""
    from turbjax.simulate import PRESETS

    preset = ensemble_preset(small)
    return {
        "data.dir": ensemble_dir, "data.preset": preset,
        "data.reynolds": SMALL_ENSEMBLE_RE if small else (),
        "data.realizations": tuple(range(realizations)),
        "data.sample_every_steps": PRESETS[preset].save_every,
    }


def split_overrides(name: str, seed_dir: str, ensemble_dir: str, small: bool, long_dir: str = "",
                    variants_dir: str = "data/variants", realizations: int | None = None) -> dict:
    """Config overrides of one split (see the module docstring for what each tests), reading `realizations`
    of the ensemble (None: the split's default, realizations_of)."""
    from turbjax.simulate import PRESETS

    realizations = realizations_of(name, small, realizations)
    seed = seed_data(seed_dir, small)
    ens = ensemble_data(ensemble_dir, small, realizations)
    if name in NUMERICS_SPLITS:
        train, val, test = ([str(Path(variants_dir) / v) for v in part] for part in NUMERICS_SPLITS[name])
        return ens | {"data.split": "numerics", "data.units": "flow", "data.exclude_reynolds": SEED_RE,
                      "data.heldout": SEED_RE, "data.variant_dirs": tuple(train), "data.val_dirs": tuple(val),
                      "data.test_dirs": tuple(test)}
    if name == "random":
        return seed | {"data.split": "random"}
    if name == "time" and long_dir:
        # the seed runs recorded longer: test = what the seed files' time split tests (their last 20%)
        test_frames = round(PRESETS["seed"].frames * default.get_data_config().test_fraction)
        return seed | {
            "data.dir": long_dir,
            "data.preset": "seed_long",
            "data.split": "time",
            "data.gap": 1,
            "data.gap_unit": "periods",
            "data.test_fraction": test_frames / PRESETS["seed_long"].frames,
        }
    if name == "time" and small:  # the quick runs are too short for a period of gap
        return seed | {"data.split": "time", "data.gap": 2, "data.gap_unit": "samples"}
    if name == "time":  # the seed window alone: its last 20%, a period of gap, 3 periods to train on
        return seed | {"data.split": "time", "data.gap": 1, "data.gap_unit": "periods"}
    if name == "realization":
        train = tuple(k for k in range(realizations) if k not in (TEST_REALIZATION, VAL_REALIZATION))
        return ens | {"data.split": "realization", "data.train_realizations": train,
                      "data.val_realizations": (VAL_REALIZATION,)}
    if name == "heldout_re":
        return ens | {
            "data.split": "heldout_re",
            "data.heldout": SEED_RE,
            "data.heldout_time": True,
            "data.gap": 1,
            "data.gap_unit": "periods",
        }
    if name == "flagship":
        return ens | {
            "data.split": "external",
            "data.exclude_reynolds": SEED_RE,
            "data.test_dir": seed_dir,
            "data.test_reynolds": SEED_RE,
            "data.test_sample_every_steps": PRESETS[seed_preset(small)].save_every,  # every seed frame
        }
    raise ValueError(f"unknown split {name!r}; expected one of {REPORT_SPLITS}")


def build_config(model: str, split: str, *, seed_dir: str, ensemble_dir: str, epochs: int | None = None,
                 small: bool = False, long_dir: str = "", variants_dir: str = "data/variants",
                 members: int | None = None, realizations: int | None = None):
    """The config of one cell. The flagship cell is configs/generalize.py with this run's directories (and,
    for --small, the small grid's data; --epochs and --members if given), the numerics cell
    configs/pretrained.py likewise; every other cell is the default config with the split's and the model's
    overrides (members: the MLPs' ensemble size, default MLP_MEMBERS; realizations: of the ensemble, read by
    every split that reads it; None: the split's default, realizations_of)."""
    realizations = realizations_of(split, small, realizations)
    given = {"training.epochs": epochs} if epochs is not None else {}
    given["data.realizations"] = tuple(range(realizations))
    if members is not None and model.startswith("mlp"):
        given["model.members"] = members
    if (model, split) == FLAGSHIP:
        over = {"data.dir": ensemble_dir, "data.test_dir": seed_dir}
        if small:
            grid = split_overrides(split, seed_dir, ensemble_dir, small,
                                   realizations=realizations) | widest_crop(ensemble_preset(small), small)
            over |= {k: grid[k] for k in ("data.preset", "data.reynolds", "data.sample_every_steps",
                                          "data.test_sample_every_steps", "data.crop_x", "data.crop_y")}
        return with_overrides(generalize.get_config(), over | given)
    over = split_overrides(split, seed_dir, ensemble_dir, small, long_dir, variants_dir, realizations)
    if (model, split) == NUMERICS_CELL:
        keep = ("data.dir", "data.variant_dirs", "data.val_dirs", "data.test_dirs")
        return with_overrides(pretrained.get_config(), {k: over[k] for k in keep} | given)
    if small:  # the quick grid: a small crop inside the small ensemble's stored window
        over = {"data.crop_x": SMALL_CROP[0], "data.crop_y": SMALL_CROP[1]} | over
    over |= model_overrides(model, DEFAULT_EPOCHS if epochs is None else epochs, small,
                            MLP_MEMBERS if members is None else members)
    if model.startswith("mlp_wakestats"):  # the widest window of the training data (the test data store more)
        over |= widest_crop(over["data.preset"], small)
    return with_overrides(default.get_config(), over)


# -------------------------------------------------------------------------------------------------- data


def ensure_cell_data(config, small: bool) -> None:
    """Generate what one cell reads and is missing, with the library (turbjax.pipeline.ensure_data). An
    external split's test directory is the seed data set: ensured first as the seed set's own data config, so
    that the --small one gets the quick preset (ensure_data generates a missing test_dir with the seed
    preset)."""
    from turbjax import pipeline

    d = config.data
    if d.split == "external":
        pipeline.ensure_data(with_overrides(default.get_config(), seed_data(d.test_dir, small)).data)
    pipeline.ensure_data(d)
    for directory in (*d.variant_dirs, *d.val_dirs, *d.test_dirs):  # the numerics splits' variants
        name = Path(directory).name
        if name in COARSENED:
            continue
        for preset, reynolds, realizations in VARIANT_RUNS[name]:
            pipeline.ensure_data(with_overrides(default.get_config(), {
                "data.dir": directory, "data.preset": preset, "data.reynolds": reynolds,
                "data.realizations": realizations}).data)
    for directory in (*d.variant_dirs, *d.val_dirs):  # then the coarser observations of what is there
        if Path(directory).name in COARSENED:
            ensure_coarsened(Path(directory), Path(d.dir))


def ensure_coarsened(directory: Path, ensemble_dir: Path) -> None:
    """Write the files of a COARSENED variant that `directory` lacks, from its source's files."""
    from turbjax.data.convert import coarsen_file
    from turbjax.data.snapshots import snapshot_path

    source, k, reynolds, realizations = COARSENED[directory.name]
    src_dir = ensemble_dir if source == "ensemble" else directory.parent / source
    for re in reynolds:
        for r in realizations:
            if not snapshot_path(directory, re, r).exists():
                directory.mkdir(parents=True, exist_ok=True)
                coarsen_file(snapshot_path(src_dir, re, r), directory, k)


# ------------------------------------------------------------------------------------------------ report


def row_of(model: str, split: str, workdir: Path, results: dict, members: int = 1) -> dict:
    """One cell: the selected model's (best validation loss) scores; validation chose, test is reported."""
    return {
        "model": model,
        "members": members,
        "split": split,
        "workdir": str(workdir),
        "selected_on": results.get("selected_on"),
        "selected_epoch": results.get("selected_epoch"),
        "validation": results.get("validation"),
        "val_r2": results.get("val_r2"),
        "val_mae": results.get("val_mae"),
        "test_r2": results.get("test_r2"),
        "test_mae": results.get("test_mae"),
        "train_r2": results.get("train_r2"),
        "coverage": results.get("test_coverage"),
        "clip_coverage": results.get("test_clip_coverage"),
        "coverage_range": results.get("test_coverage_range"),
        "clip_coverage_range": results.get("test_clip_coverage_range"),
        "num_runs": results.get("test_num_runs"),
        "interval_width_percent": results.get("test_interval_width_percent"),
        "clip_interval_width_percent": results.get("test_clip_interval_width_percent"),
        "clip_mae_percent": results.get("test_clip_mae_percent"),
        "reliability": results.get("test_reliability"),
        "num_train": results["num_train"],
        "num_val": results.get("num_val"),
        "num_test": results["num_test"],
        "epochs": results["epochs"],
        "wall_seconds": results["wall_seconds"],
        "ridge_cv_test_r2": (results.get("ridge_cv") or {}).get("test_r2"),
        "per_reynolds": results.get("test_per_reynolds", []),
    }


def recommended(rows: list[dict], split: str = "realization") -> str | None:
    """The model with the best validation R^2 on `split` (the test part never chooses)."""
    scored = [r for r in rows if r["split"] == split and r.get("val_r2") is not None]
    return max(scored, key=lambda r: r["val_r2"])["model"] if scored else None


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _coverage(x, span) -> str:
    """A coverage with its range over resampled test runs, when there is one."""
    return _fmt(x, ".2f") + (f" [{span[0]:.2f}-{span[1]:.2f}]" if x is not None and span else "")


def table_markdown(rows: list[dict]) -> str:
    lines = [
        "| split | model | val R^2 | test R^2 | test MAE | worst MAE % of Re (at Re) | 90% coverage frames / "
        "clips [range over test runs] | width % frames / clips | worst clip MAE % (at Re) "
        "| train / val / test | test runs | time |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        worst = max(r["per_reynolds"], key=lambda p: p["mae_percent"], default=None)
        worst_s = f"{worst['mae_percent']:.1f} ({worst['re']:g})" if worst else "-"
        clips = [p for p in r["per_reynolds"] if p.get("clip_mae_percent") is not None]
        worst_clip = max(clips, key=lambda p: p["clip_mae_percent"], default=None)
        clip_s = f"{worst_clip['clip_mae_percent']:.1f} ({worst_clip['re']:g})" if worst_clip else "-"
        cv = r.get("ridge_cv_test_r2")
        ridge = f" (ridge_cv {cv:.3f})" if cv is not None else ""
        members = f" x{r['members']}" if r.get("members", 1) > 1 else ""  # a deep ensemble of that many
        lines.append(
            f"| {r['split']} | {r['model']}{members} | {_fmt(r.get('val_r2'), '.4f')} "
            f"| {_fmt(r['test_r2'], '.4f')}{ridge} | {_fmt(r['test_mae'], '.1f')} | {worst_s} "
            f"| {_coverage(r.get('coverage'), r.get('coverage_range'))} "
            f"/ {_coverage(r.get('clip_coverage'), r.get('clip_coverage_range'))} "
            f"| {_fmt(r.get('interval_width_percent'), '.1f')} "
            f"/ {_fmt(r.get('clip_interval_width_percent'), '.1f')} "
            f"| {clip_s} | {r['num_train']} / {_fmt(r.get('num_val'), 'd')} / {r['num_test']} "
            f"| {_fmt(r.get('num_runs'), 'd')} | {r['wall_seconds']:.0f} s |"
        )
    best = recommended(rows)
    if best:
        lines.append(f"\nRecommended (best validation R^2 on the realization split): {best}\n")
    return "\n".join(lines) + "\n"


def plot_reliability(rows: list[dict], path: Path, model: str | None) -> None:
    """Coverage of the test frames against the nominal level of the conformal interval (calibrated on each
    cell's validation part), per split, for one model."""
    from matplotlib.figure import Figure

    from turbjax.plots import save_figure

    chosen = [r for r in rows if r["model"] == model and r.get("reliability")]
    if not chosen:
        return
    fig = Figure(figsize=(4.6, 4.2))
    ax = fig.subplots()
    for r in chosen:
        levels = [p["level"] for p in r["reliability"]]
        ax.plot(levels, [p["coverage"] for p in r["reliability"]], "o-", label=r["split"])
    ax.plot([0.45, 1.0], [0.45, 1.0], "k--", lw=1)
    ax.set(xlabel="nominal level of the interval", ylabel="coverage of test frames", xlim=(0.45, 1.0),
           ylim=(0.0, 1.02), title=f"reliability: {model}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


def plot_unseen(rows: list[dict], path: Path) -> None:
    """Predicted against true Re (mean +- std of the predictions per true Re) for the unseen-Re splits."""
    from matplotlib.figure import Figure

    from turbjax.plots import save_figure

    panels = [s for s in ("heldout_re", "flagship", "numerics") if any(r["split"] == s for r in rows)]
    if not panels:
        return
    fig = Figure(figsize=(5 * len(panels), 4.2))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, split in zip(axes, panels, strict=True):
        lo, hi = 200.0, 1400.0
        for k, r in enumerate(x for x in rows if x["split"] == split):
            pr = r["per_reynolds"]
            if not pr:
                continue
            re = np.array([p["re"] for p in pr])
            ax.errorbar(
                re + (k - 1.5) * 12,
                [p["prediction_mean"] for p in pr],
                yerr=[p["prediction_std"] for p in pr],
                fmt="o",
                capsize=3,
                label=f"{r['model']} (R^2 {_fmt(r['test_r2'], '.3f')})",
            )
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
        ax.set(
            xlabel="true Re (never seen in training)",
            ylabel="predicted Re (mean +- std over frames)",
            title=split,
            xlim=(lo, hi),
            ylim=(lo - 200, hi + 200),
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    save_figure(fig, path)


# --------------------------------------------------------------------------------------------------- main


def parse_args(argv):
    ap = argparse.ArgumentParser(prog="scripts/generalization.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path, help="output directory (a workdir per cell inside)")
    # --small writes quick-grid files: in data/vortex_street they would pass for the seed data set
    ap.add_argument("--seed-dir", type=Path, default=None,
                    help="the seed data set (default data/vortex_street; --small: data/small/vortex_street)")
    ap.add_argument("--ensemble-dir", type=Path, default=None,
                    help="the ensemble (default data/ensemble; --small: data/small/ensemble)")
    ap.add_argument(
        "--long-dir",
        type=Path,
        default=ROOT / "data" / "seed_long",
        help="the seed runs recorded longer (preset seed_long), for the time split",
    )
    ap.add_argument("--variants-dir", type=Path, default=ROOT / "data" / "variants",
                    help="the numerical variants of the numerics splits, one directory each (VARIANT_RUNS)")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {','.join(MODELS)}")
    ap.add_argument("--splits", default=",".join(REPORT_SPLITS),
                    help=f"comma-separated, from {','.join(REPORT_SPLITS)}")
    ap.add_argument("--epochs", type=int, default=None,
                    help=f"epochs of the minibatch models (default {DEFAULT_EPOCHS}; the flagship cell: "
                         "configs/generalize.py's)")
    ap.add_argument("--members", type=int, default=None,
                    help=f"deep-ensemble members of every MLP cell (default {MLP_MEMBERS}; the flagship and "
                         "numerics cells: their config's)")
    ap.add_argument("--realizations", type=int, default=None,
                    help=f"realizations of the ensemble read by every split that reads it (default: "
                         f"{ENSEMBLE_SPLIT_REALIZATIONS} for {', '.join(ENSEMBLE_SPLITS)}, {REALIZATIONS} "
                         "for the numerics splits and --small); the realization split tests on "
                         f"{TEST_REALIZATION}, validates on {VAL_REALIZATION} and trains on the others. "
                         "Runs the ensemble directory lacks are simulated (those alone)")
    ap.add_argument("--small", action="store_true", help="the quick grid and the small ensemble (seconds)")
    args = ap.parse_args(argv)
    data = ROOT / "data" / ("small" if args.small else "")
    args.seed_dir = args.seed_dir or data / "vortex_street"
    args.ensemble_dir = args.ensemble_dir or data / "ensemble"
    args.models = [m for m in args.models.split(",") if m]
    args.splits = [s for s in args.splits.split(",") if s]
    for kind, chosen, known in (("model", args.models, MODELS), ("split", args.splits, REPORT_SPLITS)):
        bad = [x for x in chosen if x not in known]
        if bad:
            ap.error(f"unknown {kind}(s) {bad}; expected some of {','.join(known)}")
    if args.small and set(args.splits) & set(NUMERICS_SPLITS):
        ap.error(f"--small runs the quick grid, which has no numerical variants; choose --splits without "
                 f"{','.join(NUMERICS_SPLITS)}")
    for flag in ("epochs", "members"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            ap.error(f"--{flag}={getattr(args, flag)} must be >= 1")
    if args.realizations is not None and args.realizations < 4:
        ap.error(f"--realizations={args.realizations} must be >= 4 (the realization split tests on "
                 f"{TEST_REALIZATION}, validates on {VAL_REALIZATION} and trains on 0 and 1 at least)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from turbjax import cli
    from turbjax.checks import output_dir
    from turbjax.configs.validate import validate_config
    from turbjax.train import train_and_evaluate
    from turbjax.workdir import write_text_atomic

    with cli.user_errors("generalization"):
        output_dir(args.out, "--out")  # before any data is generated or trained on
    args.out.mkdir(parents=True, exist_ok=True)
    common = dict(
        seed_dir=str(args.seed_dir),
        ensemble_dir=str(args.ensemble_dir),
        epochs=args.epochs,
        members=args.members,
        small=args.small,
        long_dir="" if args.small else str(args.long_dir),
        variants_dir=str(args.variants_dir),
        realizations=args.realizations,
    )
    cells = [(s, m) for s in args.splits for m in args.models if m not in GRID_MODELS or s in NUMERICS_SPLITS]
    with cli.user_errors("generalization"):
        configs = {cell: build_config(cell[1], cell[0], **common) for cell in cells}
        for config in configs.values():  # every config checked before any data is generated or trained on
            validate_config(config)
        for config in configs.values():
            ensure_cell_data(config, args.small)
    json_path = args.out / "generalization.json"
    # cells run earlier into the same --out stay, replaced by the cells run now: the table can be built up
    kept = json.loads(json_path.read_text()) if json_path.exists() else []
    rows = [r for r in kept if (r["split"], r["model"]) not in set(cells)]
    t0 = time.perf_counter()
    for i, (split, model) in enumerate(cells):
        workdir = args.out / split / model
        print(f"generalization: [{i + 1}/{len(cells)}] {model} on split {split} -> {workdir}", flush=True)
        with cli.user_errors("generalization"):
            results = train_and_evaluate(configs[split, model], workdir)
        rows.append(row_of(model, split, workdir, results, int(configs[split, model].model.members)))
        rows.sort(key=lambda r: (REPORT_SPLITS.index(r["split"]), MODELS.index(r["model"])))
        write_text_atomic(
            json_path, json.dumps(rows, indent=2) + "\n"
        )  # after every cell: nothing lost on a crash
    table = table_markdown(rows)
    write_text_atomic(args.out / "generalization.md", table)
    plot_unseen(rows, args.out / "generalization.png")
    plot_reliability(rows, args.out / "reliability.png", recommended(rows) or "mlp_wakestats")
    print(table)
    print(
        f"generalization: {len(cells)} cells in {time.perf_counter() - t0:.0f} s ({len(rows)} in the table); "
        f"{json_path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
