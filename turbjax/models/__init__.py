"""Flax Linen models and the `build_model(config.model)` registry.

Every model maps a batch of flat inputs x_BxF (float32) to outputs y_BxM: regression values (standardized
units) or class logits. Models are Flax Linen modules, so parameters are a plain pytree and
`model.apply(params, x)` is a pure function: it can sit inside `jax.vmap`, `lax.scan` and `jax.jit` without
splitting or merging module state. Dense kernels are stored (out, in) (`turbjax.models.layers.Dense`,
faster on CPU for the wide first layer); conv kernels keep Flax's (kh, kw, in, out).
"""

from __future__ import annotations

from collections.abc import Sequence

from flax import linen as nn

from turbjax.models.cnn import CNN, CNN_CONVS, CNN_HEADS
from turbjax.models.linear import Linear, Logistic
from turbjax.models.mlp import ACTIVATIONS, MLP

MODEL_NAMES = ("linear", "logistic", "mlp", "cnn")
LOGISTIC_MODES = ("binary", "softmax")

__all__ = ["ACTIVATIONS", "CNN", "MLP", "MODEL_NAMES", "Linear", "Logistic", "build_model", "model_task"]


def model_task(model_config) -> str:
    """'regression' for linear/mlp/cnn, 'binary' or 'softmax' (classification) for logistic."""
    name = model_config.name
    if name not in MODEL_NAMES:
        raise ValueError(
            f"config.model.name={name!r} is not a model; expected one of {MODEL_NAMES}. "
            f"Fix it with e.g. --config.model.name=mlp"
        )
    if name == "logistic":
        mode = model_config.get("logistic", "softmax")
        if mode not in LOGISTIC_MODES:
            raise ValueError(
                f"config.model.logistic={mode!r} is not a logistic mode; expected one of {LOGISTIC_MODES}"
            )
        return mode
    return "regression"


def _check_sizes(field: str, sizes: Sequence[int], allow_empty: bool) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s) for s in sizes)
    except (TypeError, ValueError):
        raise ValueError(f"config.model.{field}={sizes!r} must be a tuple of positive ints, e.g. (100, 100)")
    if (not sizes and not allow_empty) or any(s < 1 for s in sizes):
        raise ValueError(f"config.model.{field}={sizes!r} must be a tuple of positive ints, e.g. (100, 100)")
    return sizes


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
        if act not in ACTIVATIONS:
            raise ValueError(
                f"config.model.activation={act!r} is unknown; expected one of {tuple(ACTIVATIONS)}"
            )
        hidden = _check_sizes("hidden", model_config.hidden, allow_empty=True)
        return MLP(hidden=hidden, activation=act, num_outputs=num_outputs)
    # cnn
    if image_shape is None:
        raise ValueError("the cnn model needs the image shape (h, w) of the flattened inputs")
    features = _check_sizes("cnn_features", model_config.get("cnn_features", (8, 16, 16)), allow_empty=False)
    dense = _check_sizes("cnn_dense", model_config.get("cnn_dense", (32,)), allow_empty=True)
    head, conv = model_config.get("cnn_head", "flatten"), model_config.get("cnn_conv", "patches")
    if head not in CNN_HEADS or conv not in CNN_CONVS:
        raise ValueError(
            f"config.model.cnn_head={head!r} / cnn_conv={conv!r}: expected one of {CNN_HEADS} / {CNN_CONVS}"
        )
    return CNN(
        image_shape=tuple(int(s) for s in image_shape),
        features=features,
        dense=dense,
        kernel_size=int(model_config.get("cnn_kernel", 3)),
        num_outputs=num_outputs,
        head=head,
        conv=conv,
    )
