"""The training core: `make_train(config, data) -> Trainer`, a set of pure functions of pytrees.

    trainer = make_train(config, data)             # data: dict of device arrays (standardized)
    state = trainer.init(hparams, key)             # hparams: dict of float32 scalars (HPARAM_NAMES)
    state, metrics = trainer.run_epochs(state, hparams, 10, data)   # 10 is static
    state, metrics = trainer.train(hparams, key, data)              # the whole run, config.training.epochs
    sweep = jax.jit(jax.vmap(trainer.train, in_axes=(0, 0, None)))(hparams_T, keys_T, data)

`data` keys: X_train (N, F), X_test (Nt, F), optionally X_val (Nv, F) float32; y_train (N, M) / y_test /
y_val float32 standardized targets for regression, or int32 labels (N,) for classification (binary: 0/1;
softmax: class index);
optional y_mean, y_scale (M,) mapping standardized predictions back to original units
(y = y_std * y_scale + y_mean), used by the metrics. `data` may be omitted from the calls (the arrays given
to `make_train` are used), but under your own `jax.jit` pass it explicitly: closed-over arrays are embedded
in the compiled program as constants (slow to compile, memory twice).

State (a plain dict, checkpointed as is):
    params          the Linen parameter pytree
    opt_state       optax state; its injected hyperparameters mirror the last hparams used
    epoch           int32, epochs completed
    key             uint32 (2,), raw PRNG key data; epoch e shuffles with fold_in(key, e)
    diverged        bool, a step produced a non-finite loss, gradient or parameter
    diverged_epoch  int32, the epoch in which that happened (-1: never)
Divergence is checked once per epoch (a non-finite loss in any step, or a non-finite parameter or optimizer
state at its end): such an epoch is undone, params and opt_state stay at their values from the end of the last
good epoch, and once `diverged` is set every later epoch is undone too.

Minibatches: every epoch draws a permutation of all N training rows on device, pads it to
steps * batch_size with row 0 and gives the padded rows weight 0, so every sample is used exactly once per
epoch and the last minibatch holds the N mod batch_size leftover rows (its loss is the mean over its real
rows), as scikit-learn and a PyTorch DataLoader without drop_last do. Since the order depends only on
(key, epoch), running epochs in chunks of any size, or resuming from a checkpoint, gives the same result.

Augmentation (config.training.augment, .shift; turbjax.training.augment): applied to each training minibatch
inside the scanned epoch, keyed by (key, epoch, step), so chunked and resumed runs stay exact. `image_shape`
is the shape of the data's images; with shift s > 0 it is (h + 2 s, w) and the model sees (h, w) windows:
random ones in training (with "shift"), the centred one in `evaluate` / `predict` and at init.

The pieces are module-level pure functions, testable alone: `epoch_batches` (the padded permutation),
`undo_if_diverged`, `epoch_is_good`, and the steps in turbjax.training.steps.

Per-epoch metrics: train_loss (mean over the epoch's minibatches, weighted by their real rows; the objective
without penalties, in standardized units; NaN from the divergent epoch on), val_loss / test_loss (same units)
and, in original units, val_r2 / test_r2, _mse, _mae (regression) or val_accuracy / test_accuracy
(classification), and diverged. Validation is what every choice looks at; test is only reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from turbjax.data.standardize import target_from_model
from turbjax.models import build_model, member_outputs, model_task
from turbjax.training import augment as augment_lib
from turbjax.training import metrics as metrics_lib
from turbjax.training.optimizers import check_hparams, make_optimizer, set_hyperparams
from turbjax.training.steps import data_loss, lbfgs_step, minibatch_step

Array = jax.Array
State = dict[str, Any]
EVAL_PARTS = ("val", "test")  # the parts scored after every epoch, when `data` has them


class Trainer(NamedTuple):
    init: Callable[..., State]  # (hparams, key) -> state
    run_epochs: Callable[..., tuple[State, dict]]  # (state, hparams, num_epochs, data=None)
    train: Callable[..., tuple[State, dict]]  # (hparams, key, data=None)
    evaluate: Callable[..., dict]  # (params_or_state, X, y, data=None) -> metrics dict
    predict: Callable[..., Array]  # (params, X) -> standardized outputs / logits (centre-cropped X)
    predict_members: Callable[..., Array]  # (params, X) -> (M, N, outputs): an ensemble's members' outputs
    model: Any  # the Linen module
    tx: optax.GradientTransformation
    task: str  # "regression", "binary" or "softmax"
    log_target: bool  # regression on log y (config.data.log_target): outputs map back through exp
    num_epochs: int  # config.training.epochs
    batch_size: int
    steps_per_epoch: int
    num_train: int
    input_shape: tuple[int, int] | None = None  # the data's images (h + 2 shift, w)
    window_shape: tuple[int, int] | None = None  # the model's images (h, w)
    augment: tuple[str, ...] = ()
    shift: int = 0


def raw_key(key: Array) -> Array:
    """uint32 key data from a typed key (jax.random.key) or a raw one (jax.random.PRNGKey)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def all_finite(tree) -> Array:
    """True if every floating-point leaf is finite (integer leaves, e.g. optax's step counts, are skipped)."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.bool_(True)


def epoch_batches(
    key: Array, epoch: Array, n: int, batch: int, *, shuffle: bool = True
) -> tuple[Array, Array]:
    """(idx_SxB int32, weights_SxB float32) for one epoch, S = ceil(n / batch): a permutation of the n rows
    drawn from fold_in(key, epoch) (key: raw uint32 data), or 0..n-1 in order without shuffle, padded to
    S * batch with row 0 at weight 0. Every row appears once with weight 1; the order depends only on
    (key, epoch)."""
    steps = math.ceil(n / batch)
    pad = steps * batch - n
    if not shuffle:
        idx = jnp.concatenate([jnp.arange(n, dtype=jnp.int32), jnp.zeros((pad,), jnp.int32)])
    else:
        ekey = jax.random.fold_in(jax.random.wrap_key_data(key), epoch)
        perm = jax.random.permutation(ekey, n).astype(jnp.int32)
        idx = jnp.concatenate([perm, jnp.zeros((pad,), jnp.int32)])
    weights = jnp.concatenate([jnp.ones((n,), jnp.float32), jnp.zeros((pad,), jnp.float32)])
    return idx.reshape(steps, batch), weights.reshape(steps, batch)


def epoch_is_good(already_diverged: Array, totals_S: Array, params, opt_state) -> Array:
    """An epoch counts if the run had not diverged, every step's loss was finite, and the parameters and
    optimizer state at its end are finite."""
    return ~already_diverged & jnp.all(jnp.isfinite(totals_S)) & all_finite((params, opt_state))


def undo_if_diverged(ok: Array, new, old):
    """`new` where ok, else exactly `old` (leafwise). A select rather than lax.cond: under vmap (the sweeps)
    a cond becomes a select anyway."""
    return jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)


def log_target_of(config) -> bool:
    """Whether the model regresses log y (config.data.log_target; regression models only)."""
    return bool(config.data.get("log_target", False)) and model_task(config.model) == "regression"


def evaluation_metrics(task: str, out: Array, y: Array, d: dict, log_target: bool = False) -> dict:
    """The data loss and, in original units (d's y_mean / y_scale; exp of them for a log target), r2 / mse /
    mae, or accuracy."""
    result = {"loss": data_loss(task, out, y)}
    if task == "regression":
        scale = d.get("y_scale", jnp.ones(out.shape[-1], out.dtype))
        mean = d.get("y_mean", jnp.zeros(out.shape[-1], out.dtype))
        pred_o = target_from_model(out, mean, scale, log_target)
        y_o = target_from_model(y, mean, scale, log_target)
        result["r2"] = metrics_lib.r2_score(y_o, pred_o)
        result["mse"] = metrics_lib.mean_squared_error(y_o, pred_o)
        result["mae"] = metrics_lib.mean_absolute_error(y_o, pred_o)
    else:
        result["accuracy"] = metrics_lib.accuracy(y, out)
    return result


def init_state(model, tx: optax.GradientTransformation, hparams: dict, key: Array, x_example: Array) -> State:
    """The state before epoch 0: the key splits into the model's init key and the run's data key."""
    check_hparams(hparams)
    init_key, data_key = jax.random.split(raw_key(key))
    params = model.init(init_key, x_example)
    return {
        "params": params,
        "opt_state": set_hyperparams(tx.init(params), hparams),
        "epoch": jnp.zeros((), jnp.int32),
        "key": data_key,
        "diverged": jnp.zeros((), jnp.bool_),
        "diverged_epoch": jnp.full((), -1, jnp.int32),
    }


class EpochSpec(NamedTuple):
    """The static pieces of one epoch, fixed by make_train."""

    loss_fn: Callable  # (params, x, y, w) -> data loss (of an ensemble: the sum of its members')
    members: int  # the model's ensemble members (1: a single model); train_loss is their mean
    step_fn: Callable  # minibatch_step or lbfgs_step
    tx: optax.GradientTransformation
    batch: int
    shuffle: bool  # False for full-batch L-BFGS: rows in order
    augment: Callable | None  # (key, x_BxF) -> model inputs, or None: rows as stored
    evaluate: Callable  # (params, X, y, d) -> metrics


def run_epoch(state: State, hparams: dict, d: dict, spec: EpochSpec) -> tuple[State, dict]:
    """One epoch: a scan of optimizer steps over the epoch's minibatches, the divergence undo, the metrics."""
    x, y, epoch = d["X_train"], d["y_train"], state["epoch"]
    n_train = x.shape[0]
    idx, weights = epoch_batches(state["key"], epoch, n_train, spec.batch, shuffle=spec.shuffle)
    steps = idx.shape[0]
    xs = (idx, weights) if spec.augment is None else (idx, weights, jnp.arange(steps, dtype=jnp.int32))

    def step(carry, xs_s):
        idx_b, w_b = xs_s[0], xs_s[1]
        xb = x[idx_b]
        if spec.augment is not None:
            xb = spec.augment(augment_lib.step_key(state["key"], epoch, xs_s[2]), xb)
        params, opt_state, loss, total = spec.step_fn(
            *carry, (xb, y[idx_b], w_b), hparams, loss_fn=spec.loss_fn, tx=spec.tx
        )
        return (params, opt_state), (loss * jnp.sum(w_b) / spec.members, total)

    old = (state["params"], state["opt_state"])
    new, (weighted, totals) = lax.scan(step, old, xs)
    # Divergence is judged once per epoch and such an epoch is undone (back to the last good values; every
    # later epoch is undone too). Per step, the same check cost a reduction over the gradients and a select
    # over the whole state in every one of the 60 steps of a seed-data epoch, about a third of the epoch's
    # time (docs/performance_notes.md); once per epoch it costs one pass.
    ok = epoch_is_good(state["diverged"], totals, *new)
    params, opt_state = undo_if_diverged(ok, new, old)
    diverged = ~ok
    new_state = {
        "params": params,
        "opt_state": opt_state,
        "epoch": epoch + 1,
        "key": state["key"],
        "diverged": diverged,
        "diverged_epoch": jnp.where(diverged & ~state["diverged"], epoch, state["diverged_epoch"]),
    }
    epoch_metrics = {"train_loss": jnp.where(diverged, jnp.nan, jnp.sum(weighted) / n_train)}
    epoch_metrics["diverged"] = diverged
    for part in EVAL_PARTS:
        if f"X_{part}" in d:
            ev = spec.evaluate(params, d[f"X_{part}"], d[f"y_{part}"], d)
            epoch_metrics.update({f"{part}_{k}": v for k, v in ev.items()})
    return new_state, epoch_metrics


def _num_outputs(task: str, data: dict, num_classes: int | None) -> int:
    if task == "regression":
        if data["y_train"].ndim != 2:
            raise ValueError(f"regression y_train must be (N, M), got shape {data['y_train'].shape}")
        return data["y_train"].shape[1]
    if task == "softmax" and not num_classes:
        raise ValueError("softmax logistic regression needs num_classes=len(dataset.classes)")
    return 1


def _shapes(config, data: dict, image_shape) -> tuple[tuple[str, ...], int, tuple | None, tuple | None]:
    """(augment names, shift, input_shape, window_shape), checked against the data's feature count."""
    names, shift = augment_lib.parse_augment(config.training)
    input_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
    augment_lib.make_augment(names, input_shape, shift)  # refuses a missing image shape or too long a shift
    if input_shape is None:
        return names, shift, None, None
    features = data["X_train"].shape[-1]
    if input_shape[0] * input_shape[1] != features:
        raise ValueError(
            f"image_shape={input_shape} has {input_shape[0] * input_shape[1]} pixels but X_train has "
            f"{features} features; pass the shape of the data's images (h + 2 shift, w)"
        )
    return names, shift, input_shape, augment_lib.window_shape(input_shape, shift)


def make_train(
    config,
    data: dict,
    *,
    image_shape: tuple[int, int] | None = None,
    num_classes: int | None = None,
) -> Trainer:
    """Build the pure training functions. Static (shape-determining) settings come from `config`
    (model, optim.name / schedule, training.batch_size / epochs / augment / shift) and from the shapes of
    `data`; everything in `hparams` is traced. `image_shape`: the shape (H, W) of the data's images (x
    first), needed by the CNN and by augmentation; with training.shift = s the model sees (H - 2 s, W).
    The config is checked beforehand (turbjax.configs.validate: e.g. no augmentation with L-BFGS, a batch no
    larger than the training set; a larger one would still be one correct, padded minibatch here)."""
    task = model_task(config.model)
    log_target = log_target_of(config)
    x_train = data["X_train"]
    n_train = x_train.shape[0]
    names, shift, input_shape, window = _shapes(config, data, image_shape)
    model = build_model(
        config.model,
        num_outputs=_num_outputs(task, data, num_classes),
        image_shape=window,
        num_classes=num_classes or 0,
    )
    full_batch = config.optim.name == "lbfgs"
    batch = n_train if full_batch else int(config.training.batch_size)
    steps = math.ceil(n_train / batch)
    num_epochs = int(config.training.epochs)
    tx = make_optimizer(config.optim, steps_per_epoch=steps, num_epochs=num_epochs)
    step_fn = lbfgs_step if full_batch else minibatch_step
    augment = augment_lib.make_augment(names, input_shape, shift)
    default_data = data

    def loss_fn(params, x, y, w):  # an ensemble's: the sum of its members' losses, so that each member's
        out = member_outputs(model, params, x)  # gradient is the one it would get alone
        return jnp.sum(jax.vmap(lambda o: data_loss(task, o, y, w))(out))

    # the CNN predicts in chunks of the training batch: a chunk's feature maps stay in the cache (an
    # evaluation pass over 864 frames took 0.65x the time of one call on the whole set, CPU,
    # docs/performance_notes.md); dense models multiply the whole set at once
    chunk = batch if config.model.name == "cnn" else 0

    def over_rows(g, x):  # g: a batch of rows -> rows first; on the centre-cropped rows, chunked where set
        x = x if input_shape is None else augment_lib.centre_crop(x, input_shape, shift)
        if chunk and x.ndim == 2 and x.shape[0] > chunk:  # lax.map vmaps the one-row function over a chunk
            return lax.map(lambda row: g(row[None])[0], x, batch_size=chunk)
        return g(x)

    def predict(params, x):
        return over_rows(lambda xb: model.apply(params, xb), x)

    def predict_members(params, x):  # (M, N, outputs): each member's own output (M = 1: a single model)
        rows_first = over_rows(lambda xb: jnp.moveaxis(member_outputs(model, params, xb), 0, 1), x)
        return jnp.moveaxis(rows_first, 1, 0)

    def evaluate(params, x, y, data=None):
        d = default_data if data is None else data
        if isinstance(params, dict) and "opt_state" in params:
            params = params["params"]
        return evaluation_metrics(task, predict(params, x), y, d, log_target)

    def init(hparams, key):
        width = x_train.shape[1] if window is None else window[0] * window[1]
        return init_state(model, tx, hparams, key, jnp.zeros((1, width), x_train.dtype))

    spec = EpochSpec(loss_fn=loss_fn, members=int(config.model.members), step_fn=step_fn, tx=tx, batch=batch,
                     shuffle=not full_batch, augment=augment, evaluate=evaluate)

    def run_epochs(state, hparams, num_epochs: int, data=None):
        check_hparams(hparams)
        d = default_data if data is None else data
        state = dict(state, opt_state=set_hyperparams(state["opt_state"], hparams))
        return lax.scan(lambda s, _: run_epoch(s, hparams, d, spec), state, None, length=num_epochs)

    def train(hparams, key, data=None):
        return run_epochs(init(hparams, key), hparams, num_epochs, data)

    return Trainer(init=init, run_epochs=run_epochs, train=train, evaluate=evaluate, predict=predict,
                   predict_members=predict_members,
                   model=model, tx=tx, task=task, log_target=log_target, num_epochs=num_epochs,
                   batch_size=batch, steps_per_epoch=steps, num_train=n_train, input_shape=input_shape,
                   window_shape=window, augment=names, shift=shift)
