"""What a sweep varies: one table of axes, and the trials it makes. Pure Python (no JAX), so that the sweep
configs (configs/sweep_*.py) import only this module and ml_collections.

Each `Axis` says everything turbjax knows about one swept value: whether it is traced (a vmapped input of
one compiled program) or fixes array shapes (its own compiled group), the config field it sets and how, what a
valid value is, how it is recorded in results.json and labelled in tables and plots. `trial_config`,
`validate_sweep`, the records (turbjax.sweep.report) and the labels all read the table; adding an axis is one
row.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable

from ml_collections import config_dict

from turbjax.checks import closest, fail
from turbjax.configs import default


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0


def _int_at_least(low: int) -> Callable[[object], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low


def _widths(v) -> bool:
    return isinstance(v, (tuple, list)) and all(isinstance(h, int) and h >= 1 for h in v)


def _int_tuple(v) -> tuple:
    return tuple(int(h) for h in v)


@dataclasses.dataclass(frozen=True)
class Axis:
    name: str  # the field of config.sweep
    traced: bool  # True: a vmapped input of one program; False: fixes shapes (one compiled group per value)
    section: str  # the training config's section and field the trial's value sets
    field: str
    to_config: Callable  # the trial's value -> the config value (float, int, tuple of ints)
    valid: Callable[[object], bool]
    expected: str  # what the error message says a value must be
    short: str  # its name in labels ("lr=0.1")
    to_record: Callable  # the config value -> its JSON value in results.json

    def get(self, config):
        return config[self.section][self.field]

    def set(self, config, value) -> None:
        config[self.section][self.field] = self.to_config(value)


def _traced_number(name: str, short: str | None = None) -> Axis:
    expected = "finite non-negative numbers"
    return Axis(name, True, "optim", name, float, _number, expected, short or name, float)


AXIS_TABLE: tuple[Axis, ...] = (
    # shape axes first: the grid's outermost axes, so each shape group is a contiguous block of trials
    Axis("batch_size", False, "training", "batch_size", int, _int_at_least(1), "positive ints", "batch", int),
    Axis("hidden", False, "model", "hidden", _int_tuple, _widths,
         "a tuple of positive ints per trial, e.g. '((10, 10), (100, 100))'", "hidden", list),
    _traced_number("learning_rate", "lr"),
    _traced_number("weight_decay", "wd"),
    _traced_number("momentum"),
    _traced_number("l2"),
    _traced_number("l1"),
    Axis("seed", True, "training", "seed", int, _int_at_least(0), "non-negative ints", "seed", int),
)
AXIS = {a.name: a for a in AXIS_TABLE}
AXES = tuple(AXIS)  # grid order (last axis fastest)
TRACED_AXES = tuple(a.name for a in AXIS_TABLE if a.traced)
SHAPE_AXES = tuple(a.name for a in AXIS_TABLE if not a.traced)
RECORD_ORDER = TRACED_AXES + SHAPE_AXES  # the order of the hyperparameters in a results.json record
MODES = ("grid", "zip")
SETTINGS = ("mode", "share_data_order", "checkpoint_best", "trials_per_program")  # the other sweep fields
SWEEP_FIELDS = AXES + SETTINGS


def base_config() -> config_dict.ConfigDict:
    """The default training config (the schema) that the sweep configs build on."""
    return default.get_config()


def sweep_section(mode: str = "grid", share_data_order: bool = True, trials_per_program: int = -1,
                  **axes) -> config_dict.ConfigDict:
    """The `sweep` section of a sweep config: `sweep_section(learning_rate=(1.0, 0.1), seed=(0, 1))`."""
    s = config_dict.ConfigDict()
    s.mode = mode
    s.share_data_order = share_data_order  # trials of one seed share init and minibatch order
    s.checkpoint_best = True  # write the best trial as a turbjax.train workdir under <workdir>/best
    # 0: all trials of a shape group in one program; k > 0: blocks of at most k trials, run one after another
    # by one compiled program (one device only); -1 (auto): 0 on accelerators and on several devices, on one
    # CPU device the k whose training state fits a share of its cache (programs.auto_trials_per_program).
    s.trials_per_program = trials_per_program
    for name in AXES:
        s[name] = ()
    for name, values in axes.items():
        if name not in AXIS:
            raise ValueError(f"sweep axis {name!r} is unknown; expected one of {AXES}")
        s[name] = tuple(values)
    return s


# ----------------------------------------------------------------------------------------------- validation


def _check_fields(s) -> None:
    for name in s:
        if name not in SWEEP_FIELDS:
            hint = closest(name, sorted(SWEEP_FIELDS))
            fail(f"config.sweep.{name} is not a sweep field" + (f"; did you mean {hint}?" if hint else "")
                 + f" Known: {sorted(SWEEP_FIELDS)}")


def _check_settings(s) -> None:
    tpp = s.get("trials_per_program", 0)
    if isinstance(tpp, bool) or not isinstance(tpp, int) or tpp < -1:
        fail(f"config.sweep.trials_per_program={tpp!r} must be an int >= -1 (0: all trials in one program, "
             f"-1: automatic)")
    if s.mode not in MODES:
        fail(f"config.sweep.mode={s.mode!r}; expected one of {MODES}")


def swept_axes(s) -> dict:
    """{axis name: its tuple of values} for the axes with values, in AXES order."""
    return {a: tuple(s[a]) for a in AXES if len(s[a])}


def _check_values(s, swept: dict) -> None:
    for name, values in swept.items():
        if isinstance(s[name], str):
            fail(f"config.sweep.{name}={s[name]!r} must be a tuple of values, e.g. '(0.1, 0.01)'")
        for v in values:
            if not AXIS[name].valid(v):
                fail(f"config.sweep.{name}={values!r}: {v!r} is not valid; expected {AXIS[name].expected}")


def validate_sweep(config) -> None:
    """Check the sweep section (field names, axis values, zip lengths); the per-trial training configs are
    checked by `run_sweep` (turbjax.configs.validate.validate_config)."""
    if "sweep" not in config:
        fail("the config has no `sweep` section; start from configs/sweep_lr.py (sweep_section(...))")
    s = config.sweep
    _check_fields(s)
    _check_settings(s)
    swept = swept_axes(s)
    _check_values(s, swept)
    if s.mode == "zip" and len({len(v) for v in swept.values()}) > 1:
        fail(
            "config.sweep.mode='zip' needs every swept axis to have the same length, got "
            + ", ".join(f"{k}: {len(v)}" for k, v in swept.items())
            + "; use mode='grid' for the product"
        )


def check_override_paths(args) -> None:
    """Command-line overrides under --config.sweep must name one sweep field (`--config.sweep.seed='(0, 1)'`):
    ml_collections would fail on a wrong path with a bare KeyError."""
    prefix = "config.sweep."
    for arg in args:
        flag = arg.lstrip("-")
        if not arg.startswith("-") or not flag.startswith(prefix):
            continue
        path = flag[len(prefix):].split("=", 1)[0]
        name = path.split(".", 1)[0]
        if name in SWEEP_FIELDS and name == path:
            continue
        if name in SWEEP_FIELDS:
            why = f"config.sweep.{name} is set whole, e.g. --config.sweep.{name}=..."
        else:
            hint = closest(name, SWEEP_FIELDS)
            why = f"config.sweep has no field {name!r}" + (f" (did you mean {hint!r}?)" if hint else "")
        fail(f"--config.sweep.{path} is not a sweep field: {why}; the sweep fields are "
             f"{', '.join(SWEEP_FIELDS)} (e.g. --config.sweep.learning_rate='(0.1, 0.01)')")


# ---------------------------------------------------------------------------------------------------- trials


def trials_of(config) -> list[dict]:
    """The sweep's trials: one dict {axis: value} per trial over the swept axes, in order."""
    validate_sweep(config)
    swept = swept_axes(config.sweep)
    if not swept:
        return [{}]
    values = [tuple(tuple(v) if a == "hidden" else v for v in vs) for a, vs in swept.items()]
    combos = itertools.product(*values) if config.sweep.mode == "grid" else zip(*values, strict=True)
    return [dict(zip(swept, c, strict=True)) for c in combos]


def trial_config(config, trial: dict) -> config_dict.ConfigDict:
    """The training config of one trial: the sweep config without its sweep section, with the trial's
    values."""
    c = config_dict.ConfigDict(config.to_dict())
    if "sweep" in c:
        del c["sweep"]
    for name, value in trial.items():
        AXIS[name].set(c, value)
    return c


def shape_key(trial: dict) -> tuple:
    """The trial's shape settings: trials with the same key share one compiled program."""
    return tuple((a, trial[a]) for a in SHAPE_AXES if a in trial)


def trial_seed(config, trial: dict) -> int:
    return int(trial.get("seed", config.training.seed))


# --------------------------------------------------------------------------------------- records and labels


def json_value(v):
    """A trial's value as JSON holds it (tuples become lists)."""
    return list(v) if isinstance(v, tuple) else v


def from_json(v):
    """A trial's value from JSON (lists back to tuples)."""
    return tuple(v) if isinstance(v, list) else v


def hyperparameters(trial_cfg) -> dict:
    """Every axis's value in a trial's training config (swept or not), for its results.json record."""
    return {name: AXIS[name].to_record(AXIS[name].get(trial_cfg)) for name in RECORD_ORDER}


def format_value(v) -> str:
    return f"{v:g}" if isinstance(v, float) else str(tuple(v) if isinstance(v, list) else v)


def trial_label(rec: dict) -> str:
    """'lr=0.1, seed=1' from a results.json record (with its divergence)."""
    parts = [f"{AXIS[k].short}={format_value(v)}" for k, v in rec["swept"].items()]
    label = ", ".join(parts) or f"trial {rec['trial']}"
    return label + (f" (diverged, epoch {rec['diverged_epoch']})" if rec["diverged"] else "")
