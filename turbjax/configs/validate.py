"""A whole config checked before any data is generated or loaded: each section by the module that owns it,
then every rule that spans sections, here and nowhere else.

    from turbjax.configs.validate import validate_config
    validate_config(config)          # one ValueError naming the value, what was expected and what to do

Owners: field names and the training section `turbjax.configs.schema`, data `turbjax.data.config`, model
`turbjax.models`, optim `turbjax.training.optimizers`. The one rule that needs the data is
`check_batch_size` (the training set's size), which the pipeline calls once the data set is built. Builders
(the data set, the model, the training core) trust a config that passed these checks.
"""

from __future__ import annotations

from turbjax.checks import fail
from turbjax.configs import schema
from turbjax.data.config import validate_data_config
from turbjax.data.features import IMAGE_FEATURES
from turbjax.models import model_task, validate_model_config
from turbjax.training.augment import parse_augment
from turbjax.training.optimizers import validate_optim_config


def validate_config(config) -> None:
    """Every section, then the rules between them (see the module docstring). Reads no data."""
    schema.check_fields(config)
    validate_data_config(config.data)
    validate_model_config(config.model)
    validate_optim_config(config.optim)
    schema.validate_training_config(config.training)
    check_sections_agree(config)


def check_sections_agree(config) -> None:
    """The rules between sections: target and model, augmentation against target, features and optimizer,
    the CNN's images, and a training target that varies."""
    d, m = config.data, config.model
    task = model_task(m)
    if d.target == "forecast" and task != "regression":
        fail(f"config.data.target='forecast' is a regression target, but model.name={m.name!r} is a "
             f"classifier; use model.name linear, mlp or cnn")
    if d.log_target and task != "regression":
        fail(f"config.data.log_target=True regresses log Re, but model.name={m.name!r} is a classifier; use "
             f"model.name linear, mlp or cnn, or --config.data.log_target=False")
    _check_augmentation(config)
    if m.name == "cnn" and d.features not in IMAGE_FEATURES:
        fail(f"config.data.features={d.features!r} gives a 1 x n row per sample, not an image: the cnn needs "
             f"features from {IMAGE_FEATURES}; use --config.model.name=mlp for {d.features!r}")
    if d.target == "reynolds":
        _check_training_reynolds(d, task)


def _check_augmentation(config) -> None:
    names, shift = parse_augment(config.training)
    if not names and not shift:
        return
    what = f"config.training.augment={names} (shift {shift})"
    undo = "--config.training.augment='()' --config.training.shift=0"
    if config.data.features != "pixels":
        fail(f"{what} transforms images, but config.data.features={config.data.features!r} are already "
             f"invariant to shifts and the mirror; use --config.data.features=pixels or {undo}")
    if config.data.target == "forecast":
        # the inputs would be mirrored or shifted and the target frames not: a silently wrong training
        fail(f"{what} transforms the inputs but not the forecast target (the vorticity {config.data.horizon} "
             f"sample(s) later); train forecasts without augmentation: {undo}")
    if names and config.optim.name == "lbfgs":
        fail(f"{what} with config.optim.name='lbfgs': L-BFGS assumes one fixed objective; use a stochastic "
             f"optimizer (e.g. --config.optim.name=adam) or --config.training.augment='()'")


def _check_training_reynolds(d, task: str) -> None:
    heldout = {float(h) for h in d.heldout} if d.split == "heldout_re" else set()
    train_re = sorted({float(r) for r in d.reynolds} - heldout)
    if len(train_re) != 1:
        return
    what = ("a regression on it has an undefined R^2 (its targets do not vary) and learns only a constant"
            if task == "regression" else "a classifier needs at least two classes")
    fail(f"config.data.reynolds={tuple(d.reynolds)} leaves a single Reynolds number, {train_re[0]:g}, to "
         f"train on ({'split heldout_re holds out the others' if heldout else 'only one given'}): {what}; "
         f"give at least two, e.g. --config.data.reynolds='(300.0, 600.0)'")


def check_batch_size(config, num_train: int) -> None:
    """A minibatch no larger than the training set (full-batch L-BFGS ignores the batch size)."""
    if config.optim.name != "lbfgs" and config.training.batch_size > num_train:
        fail(f"config.training.batch_size={config.training.batch_size} is larger than the training set "
             f"({num_train} samples); use --config.training.batch_size={num_train} or less")
