"""What a config must look like: its field names (those of turbjax.configs.default, so a typo fails with a
"did you mean") and the rules of the training section.

The training section lives here because no single module owns it: the training core reads batch_size, epochs
and seed, the jobs read the chunk, checkpoint, report and plot settings, and the sweep reads both; a job
module cannot own it (nothing may import a job). Each other section is checked by its owner: data by
turbjax.data.config.validate_data_config, model by turbjax.models.validate_model_config, optim by
turbjax.training.optimizers.validate_optim_config; turbjax.configs.validate.validate_config calls them all.
"""

from __future__ import annotations

from turbjax.checks import closest, did_you_mean, fail, number
from turbjax.configs import default

# Fields that were renamed: (new path, why), so that an old config fails with what to do.
RENAMED = {
    "training.stop_at_test_r2": ("training.stop_at_val_r2",
                                 "early stopping watches the validation set, never the test set"),
}


def check_fields(config) -> None:
    """Every section and field must exist in turbjax.configs.default.get_config() (catches typos)."""
    ref = default.get_config()
    for section in config:
        if section not in ref:
            fail(
                f"config.{section} is not a config section; expected one of {sorted(ref.keys())}"
                + did_you_mean(section, ref.keys())
            )
        for name in config[section]:
            if f"{section}.{name}" in RENAMED:
                new, why = RENAMED[f"{section}.{name}"]
                fail(f"config.{section}.{name} is now config.{new}: {why}; rename it in your config (e.g. "
                     f"--config.{new}=...)")
            if name not in ref[section]:
                hint = closest(name, ref[section].keys())
                fail(
                    f"config.{section}.{name} is not a known field"
                    + (f"; did you mean config.{section}.{hint}?" if hint else "")
                    + f" Known fields: {sorted(ref[section].keys())}"
                )
    for section in ref:
        if section not in config:
            fail(f"config.{section} is missing; start from configs/default.py's get_config()")


def with_overrides(config, overrides: dict):
    """A copy of `config` with fields set by dotted path, as on the command line (`--config.data.dir=X` is
    {"data.dir": "X"}); an unknown section or field fails with a "did you mean"."""
    out = config.copy_and_resolve_references()
    ref = default.get_config()
    for path, value in overrides.items():
        section, _, field = str(path).partition(".")
        if section in out and "." not in field and field in out[section]:
            out[section][field] = value
            continue
        known = [f"{s}.{f}" for s in ref for f in ref[s]] + [f"{s}.{f}" for s in out for f in out[s]
                                                                if s not in ref]
        fail(f"config override {path!r} names no config field{did_you_mean(str(path), known)}; give "
             f"'section.field', e.g. 'data.dir'")
    return out


def validate_training_config(t) -> None:
    """The training section: sizes, seed, chunking and checkpoints, the R^2 targets."""
    number(t.batch_size, "config.training.batch_size", low=1, integer=True)
    number(t.epochs, "config.training.epochs", low=1, integer=True)
    number(t.seed, "config.training.seed", low=0, integer=True)
    number(t.epochs_per_chunk, "config.training.epochs_per_chunk", low=1, integer=True)
    number(t.checkpoint_every, "config.training.checkpoint_every", low=1, integer=True)
    number(t.keep_checkpoints, "config.training.keep_checkpoints", low=1, integer=True)
    if t.checkpoint_every % t.epochs_per_chunk:
        fail(
            f"config.training.checkpoint_every={t.checkpoint_every} must be a multiple of "
            f"epochs_per_chunk={t.epochs_per_chunk} (checkpoints are written between chunks)"
        )
    for field in ("stop_at_val_r2", "report_test_r2"):
        if t[field] is not None:
            number(t[field], f"config.training.{field}", high=1)
    if not isinstance(t.plots, bool):
        fail(f"config.training.plots={t.plots!r} must be True or False")
