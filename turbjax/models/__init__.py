"""Flax Linen models and the `build_model(config.model)` registry.

Every model maps a batch of flat inputs x_BxF (float32) to outputs y_BxM: regression values (standardized
units) or class logits. Models are Flax Linen modules, so parameters are a plain pytree and
`model.apply(params, x)` is a pure function: it can sit inside `jax.vmap`, `lax.scan` and `jax.jit` without
splitting or merging module state. Dense kernels are stored (out, in) (`turbjax.models.layers.Dense`,
faster on CPU for the wide first layer); conv kernels keep Flax's (kh, kw, in, out).

The model section of a config is checked here, once, by `validate_model_config(config.model)` (called by
turbjax.configs.validate.validate_config, and by `build_model` on the section it is given): one rule, one
message. The defaults live in turbjax.configs.default only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from flax import linen as nn

from turbjax.checks import did_you_mean, fail, number
from turbjax.models.cnn import CNN, CNN_CONVS, CNN_HEADS
from turbjax.models.ensemble import Ensemble, member_outputs
from turbjax.models.linear import Linear, Logistic
from turbjax.models.mlp import ACTIVATIONS, MLP

MODEL_NAMES = ("linear", "logistic", "mlp", "cnn")
LOGISTIC_MODES = ("binary", "softmax")

__all__ = [
    "ACTIVATIONS", "CNN", "LOGISTIC_MODES", "MLP", "MODEL_NAMES", "Ensemble", "Linear", "Logistic",
    "build_model", "member_outputs", "model_task", "validate_model_config",
]


def check_name(name) -> None:
    if name not in MODEL_NAMES:
        fail(
            f"config.model.name={name!r} is not a model; expected one of {MODEL_NAMES}, "
            f"e.g. --config.model.name=mlp" + did_you_mean(str(name), MODEL_NAMES)
        )


def check_logistic(mode) -> None:
    if mode not in LOGISTIC_MODES:
        fail(f"config.model.logistic={mode!r} is not a logistic mode; expected one of {LOGISTIC_MODES}")


def check_activation(act) -> None:
    if act not in ACTIVATIONS:
        fail(f"config.model.activation={act!r} is unknown; expected one of {tuple(ACTIVATIONS)}")


def check_sizes(field: str, sizes, *, allow_empty: bool = True) -> tuple[int, ...]:
    """A tuple of positive ints (widths or channels); empty only if `allow_empty`."""
    ok = not isinstance(sizes, str) and isinstance(sizes, Sequence) and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes
    )
    if not ok:
        fail(f"config.model.{field}={sizes!r} must be a tuple of positive ints, e.g. '(100, 100)'")
    if not sizes and not allow_empty:
        fail(f"config.model.{field} is empty; the cnn needs at least one conv block, e.g. '(8, 16)'")
    return tuple(int(s) for s in sizes)


def validate_model_config(m) -> None:
    """The model section (every field, whichever model is chosen): one ValueError naming the value."""
    check_name(m.name)
    check_activation(m.activation)
    check_logistic(m.logistic)
    for field in ("hidden", "cnn_features", "cnn_dense"):
        check_sizes(field, m[field], allow_empty=not (field == "cnn_features" and m.name == "cnn"))
    number(m.cnn_kernel, "config.model.cnn_kernel", low=1, integer=True)
    number(m.members, "config.model.members", low=1, integer=True)
    if m.members > 1 and m.name == "logistic":
        fail(f"config.model.members={m.members}: an ensemble averages regression outputs, and logistic "
             "regression is convex (its members would agree); set config.model.members=1")
    for field, allowed in (("cnn_head", CNN_HEADS), ("cnn_conv", CNN_CONVS)):
        if m[field] not in allowed:
            fail(f"config.model.{field}={m[field]!r} is unknown; expected one of {allowed}")


def model_task(model_config) -> str:
    """'regression' for linear/mlp/cnn, 'binary' or 'softmax' (classification) for logistic."""
    check_name(model_config.name)
    if model_config.name == "logistic":
        check_logistic(model_config.logistic)
        return model_config.logistic
    return "regression"


def build_model(
    model_config, *, num_outputs: int, image_shape: tuple[int, int] | None = None, num_classes: int = 0
) -> nn.Module:
    """The Linen module named by `model_config.name`; with `model_config.members` = M > 1, an ensemble of M
    independently initialized copies of it (turbjax.models.ensemble).

    num_outputs: width of a regression target (1 for the Reynolds number, F' for a forecast).
    image_shape: (h, w) of the flattened inputs; needed by the CNN.
    num_classes: number of Reynolds classes; needed by softmax logistic regression.
    """
    validate_model_config(model_config)
    base = _single_model(model_config, num_outputs, image_shape, num_classes)
    members = int(model_config.members)
    return Ensemble(base=base, members=members) if members > 1 else base


def _single_model(model_config, num_outputs: int, image_shape, num_classes: int) -> nn.Module:
    m, task = model_config, model_task(model_config)
    if m.name == "linear":
        return Linear(num_outputs=num_outputs)
    if m.name == "logistic":
        if task == "softmax" and num_classes < 2:
            raise ValueError(f"softmax logistic regression needs >= 2 classes, got {num_classes}")
        return Logistic(num_classes=num_classes if task == "softmax" else 1)
    if m.name == "mlp":
        return MLP(hidden=tuple(m.hidden), activation=m.activation, num_outputs=num_outputs)
    if image_shape is None:
        raise ValueError("the cnn model needs the image shape (h, w) of the flattened inputs")
    return CNN(image_shape=tuple(int(s) for s in image_shape), features=tuple(m.cnn_features),
               dense=tuple(m.cnn_dense), kernel_size=int(m.cnn_kernel), num_outputs=num_outputs,
               head=m.cnn_head, conv=m.cnn_conv)
