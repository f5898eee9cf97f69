"""The data section of the config: `validate_data_config` checks every field before any file is read.

The defaults and one comment per field are in `configs/default.py`'s `get_data_config()`. Each rule is
checked once: numbers and windows with `turbjax.checks`, test_fraction and held-out Reynolds numbers by
`turbjax.data.splits` (which the split itself uses too), crop windows against a grid by
`turbjax.data.vorticity.velocity_window`.
"""

from __future__ import annotations

from collections.abc import Sequence

from turbjax.checks import fail, positive_int, window
from turbjax.data.features import FEATURES, IMAGE_FEATURES
from turbjax.data.readers import reader
from turbjax.data.splits import SPLITS, check_fraction, check_heldout
from turbjax.data.units import UNITS
from turbjax.data.vorticity import SCHEMES, velocity_window

TARGETS = ("reynolds", "forecast")
GAP_UNITS = ("samples", "steps", "periods")


def get(cfg, name: str):
    try:
        return cfg[name]
    except (KeyError, AttributeError):
        raise ValueError(
            f"the data config has no field {name!r}; start from configs/default.get_data_config()"
        ) from None


def _reynolds(value, name: str, allow_empty: bool = True) -> tuple[float, ...]:
    if (
        isinstance(value, str)
        or not isinstance(value, Sequence)
        or (not value and not allow_empty)
        or not all(isinstance(r, (int, float)) and not isinstance(r, bool) and r > 0 for r in value)
    ):
        fail(f"{name}={value!r} must be a sequence of positive numbers (() = every Reynolds number found)")
    if len({float(r) for r in value}) != len(value):
        fail(f"{name}={tuple(value)} contains duplicates; list each Reynolds number once")
    return tuple(float(r) for r in value)


def _realizations(value, name: str) -> tuple[int, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in value):
        fail(f"{name}={value!r} must be a tuple of realization indices k >= 0 (the _r{{k}} files), or () for "
             f"the plain files")
    if len(set(value)) != len(value):
        fail(f"{name}={tuple(value)} contains duplicates; list each realization once")
    return tuple(int(k) for k in value)


def _check_choices(cfg) -> None:
    for name, allowed in (("vorticity", SCHEMES), ("target", TARGETS), ("split", SPLITS),
                          ("gap_unit", GAP_UNITS), ("units", UNITS),
                          ("features", FEATURES)):
        if get(cfg, name) not in allowed:
            fail(f"unknown {name} {cfg[name]!r}; expected one of {allowed}")
    for name in ("trust_pickle", "heldout_time", "remove_mean", "log_target", "every_file"):
        if not isinstance(get(cfg, name), bool):
            fail(f"{name}={cfg[name]!r} must be True or False")


def _check_format(cfg) -> None:
    """The format is registered, trusted if its reader needs trust, and holds realizations if asked for."""
    fmt = get(cfg, "format")
    r = reader(fmt)
    if r.needs_trust and not cfg["trust_pickle"]:
        src = r.path(get(cfg, "dir"), cfg["reynolds"][0]) if cfg["reynolds"] else "FILES"
        raise PermissionError(f"format={fmt!r} reads {r.label} original files, but "
                              + r.trust_hint.format(src=src))
    if cfg["realizations"] and not r.realizations:
        fail(f"realizations={tuple(cfg['realizations'])}: {r.label} files have no realizations; set "
             f"realizations=() with format={fmt!r}")


def _check_window(cfg, grid) -> None:
    x0, x1 = window(get(cfg, "crop_x"), "crop_x")
    y0, y1 = window(get(cfg, "crop_y"), "crop_y")
    factor = positive_int(get(cfg, "downsample"), "downsample")
    if (x1 - x0) % factor or (y1 - y0) % factor:
        fail(
            f"downsample={factor} does not divide the crop window {x1 - x0} x {y1 - y0} "
            f"(crop_x={(x0, x1)}, crop_y={(y0, y1)}); choose sides that are multiples of {factor}"
        )
    if grid is not None:
        velocity_window(int(grid[0]), int(grid[1]), crop_x=(x0, x1), crop_y=(y0, y1), scheme=cfg["vorticity"])


def _check_split(cfg, reynolds) -> None:
    split = cfg["split"]
    gap = positive_int(get(cfg, "gap"), "gap", minimum=0)
    horizon = positive_int(get(cfg, "horizon"), "horizon")
    if split == "time" and cfg["target"] == "forecast" and (cfg["gap_unit"] != "samples" or gap < horizon):
        fail(
            f"gap={gap} {cfg['gap_unit']} < horizon={horizon} samples: with the 'time' split and target "
            "'forecast' the targets of the last training samples would be test inputs; set gap >= horizon "
            f"(gap_unit 'samples')"
        )
    if cfg["target"] == "forecast" and cfg["log_target"]:
        fail("log_target=True with target 'forecast': only the Reynolds number is regressed in log; set "
             "log_target=False")
    if cfg["target"] == "forecast" and cfg["features"] != "pixels":
        fail(f"features={cfg['features']!r} with target 'forecast': forecasts predict the vorticity window; "
             f"use features='pixels'")
    if get(cfg, "resolution_input") and cfg["features"] in IMAGE_FEATURES:
        fail(f"resolution_input=True with features={cfg['features']!r}: the grid spacing is one more "
             "column of a statistics vector; use features 'gradstats', 'wakestats', 'radial' or "
             "'streamwise', or set resolution_input=False")
    heldout = get(cfg, "heldout")
    if split == "heldout_re":
        present = sorted(set(reynolds) - set(cfg["exclude_reynolds"]))
        if present:
            check_heldout(heldout, present)
        else:  # every Re found in dir: checked against the files once they are listed
            _reynolds(heldout, "heldout", allow_empty=False)
    check_fraction(get(cfg, "val_fraction"), "val_fraction")
    positive_int(get(cfg, "val_every"), "val_every", minimum=2)
    val_k = _realizations(get(cfg, "val_realizations"), "val_realizations")
    if split == "realization":
        train = _realizations(get(cfg, "train_realizations"), "train_realizations")
        present = set(cfg["realizations"])
        if not train or not val_k or not set(train) | set(val_k) < present or set(train) & set(val_k):
            fail(f"train_realizations={train} and val_realizations={val_k} must be non-empty, disjoint and "
                 f"leave at least one of realizations={tuple(cfg['realizations'])} to test on (e.g. "
                 "realizations=(0, 1, 2, 3), train_realizations=(0, 1), val_realizations=(3,): realization 2 "
                 "tests)")
    dirs = {name: get(cfg, name) for name in ("variant_dirs", "val_dirs", "test_dirs")}
    for name, value in dirs.items():
        if isinstance(value, str) or not all(isinstance(d, str) and d for d in value):
            fail(f"{name}={value!r} must be a tuple of directories, e.g. ('data/ensemble_d19',)")
    if split == "numerics":
        if not dirs["val_dirs"] or not dirs["test_dirs"]:
            fail("split='numerics' validates on data.val_dirs and tests on data.test_dirs (numerical "
                 "variants not trained on): set both, e.g. "
                 "--config.data.test_dirs=\"('data/ensemble_d26',)\"")
        _reynolds(heldout, "heldout", allow_empty=False)
        if set(dirs["test_dirs"]) & ({cfg["dir"], *dirs["variant_dirs"], *dirs["val_dirs"]}) or set(
                dirs["val_dirs"]) & {cfg["dir"], *dirs["variant_dirs"]}:
            fail("split='numerics': a directory is in more than one of dir / variant_dirs, val_dirs, "
                 "test_dirs; each variant belongs to one part")
    if split == "external" and not str(get(cfg, "test_dir")):
        fail("split='external' tests on all frames of data.test_dir: set --config.data.test_dir=DIR")


def validate_data_config(cfg, grid: tuple[int, int] | None = None) -> None:
    """Check every field of a data config; raise ValueError (PermissionError for an un-opted-in pickle format)
    naming the value, what was expected and what to do. Reads no file. Call before any long work.

    `grid`: the velocity grid (nx, ny) the files will have (e.g. the simulator preset's), to check the crop
    window against it before generating data; without it the window is checked when the first file is read.
    """
    _check_choices(cfg)
    reynolds = _reynolds(get(cfg, "reynolds"), "reynolds")
    _realizations(get(cfg, "realizations"), "realizations")
    _reynolds(get(cfg, "exclude_reynolds"), "exclude_reynolds")
    _reynolds(get(cfg, "test_reynolds"), "test_reynolds")
    _realizations(get(cfg, "test_realizations"), "test_realizations")
    _check_format(cfg)
    if reynolds and set(reynolds) <= set(cfg["exclude_reynolds"]):
        fail(f"exclude_reynolds={tuple(cfg['exclude_reynolds'])} removes every Reynolds number of "
             f"reynolds={reynolds}; keep at least one")
    positive_int(get(cfg, "sample_every_steps"), "sample_every_steps")
    positive_int(get(cfg, "test_sample_every_steps"), "test_sample_every_steps", minimum=0)
    _check_window(cfg, grid)
    check_fraction(get(cfg, "test_fraction"))
    positive_int(get(cfg, "seed"), "seed", minimum=0)
    _check_split(cfg, reynolds)
