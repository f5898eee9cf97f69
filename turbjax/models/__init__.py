"""Flax Linen models and the `build_model(config.model)` registry.

Every model maps a batch of flat inputs x_BxF (float32) to outputs y_BxM: regression values (standardized
units) or class logits. Models are Flax Linen modules, so parameters are a plain pytree and
`model.apply(params, x)` is a pure function: it can sit inside `jax.vmap`, `lax.scan` and `jax.jit` without
splitting or merging module state. Dense kernels are stored (out, in) (`turbjax.models.layers.Dense`,
faster on CPU for the wide first layer); conv kernels keep Flax's (kh, kw, in, out).

The model section of a config is checked here, once: `validate_model_config(config.model)` (called by
turbjax.pipeline.validate_config) and `build_model` use the same check functions: one rule, one message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from flax import linen as nn

from turbjax.checks import did_you_mean, fail, number
from turbjax.models.cnn import CNN, CNN_CONVS, CNN_HEADS
from turbjax.models.linear import Linear, Logistic
from turbjax.models.mlp import ACTIVATIONS, MLP

MODEL_NAMES = ("linear", "logistic", "mlp", "cnn")
LOGISTIC_MODES = ("binary", "softmax")

__all__ = [
    "ACTIVATIONS", "CNN", "LOGISTIC_MODES", "MLP", "MODEL_NAMES", "Linear", "Logistic", "build_model",
    "model_task", "validate_model_config",
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


def check_cnn_head(head) -> str:
    if head not in CNN_HEADS:
        fail(f"config.model.cnn_head={head!r} is unknown; expected one of {CNN_HEADS} (gap: global average "
             "pool)")
    return head


def check_cnn_conv(conv) -> str:
    if conv not in CNN_CONVS:
        fail(f"config.model.cnn_conv={conv!r} is unknown; expected one of {CNN_CONVS}")
    return conv


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
    check_cnn_head(m.cnn_head)
    check_cnn_conv(m.cnn_conv)


def model_task(model_config) -> str:
    """'regression' for linear/mlp/cnn, 'binary' or 'softmax' (classification) for logistic."""
    check_name(model_config.name)
    if model_config.name == "logistic":
        mode = model_config.get("logistic", "softmax")
        check_logistic(mode)
        return mode
    return "regression"


def build_model(
    model_config, *, num_outputs: int, image_shape: tuple[int, int] | None = None, num_classes: int = 0
) -> nn.Module:
    """The Linen module named by `model_config.name`.

    num_outputs: width of a regression target (1 for the Reynolds number, F' for a forecast).
    image_shape: (h, w) of the flattened inputs; needed by the CNN.
    num_classes: number of Reynolds classes; needed by softmax logistic regression.
    """
    task = model_task(model_config)
    name = model_config.name
    if name == "linear":
        return Linear(num_outputs=num_outputs)
    if name == "logistic":
        if task == "softmax" and num_classes < 2:
            raise ValueError(f"softmax logistic regression needs >= 2 classes, got {num_classes}")
        return Logistic(num_classes=num_classes if task == "softmax" else 1)
    if name == "mlp":
        act = model_config.get("activation", "relu")
        check_activation(act)
        hidden = check_sizes("hidden", model_config.hidden)
        return MLP(hidden=hidden, activation=act, num_outputs=num_outputs)
    # cnn
    if image_shape is None:
        raise ValueError("the cnn model needs the image shape (h, w) of the flattened inputs")
    features = check_sizes("cnn_features", model_config.get("cnn_features", (8, 16, 16)), allow_empty=False)
    dense = check_sizes("cnn_dense", model_config.get("cnn_dense", (32,)))
    kernel = number(model_config.get("cnn_kernel", 3), "config.model.cnn_kernel", low=1, integer=True)
    head = check_cnn_head(model_config.get("cnn_head", "flatten"))
    conv = check_cnn_conv(model_config.get("cnn_conv", "patches"))
    return CNN(
        image_shape=tuple(int(s) for s in image_shape),
        features=features,
        dense=dense,
        kernel_size=int(kernel),
        num_outputs=num_outputs,
        head=head,
        conv=conv,
    )
