"""The training core: `make_train(config, data) -> Trainer`, a set of pure functions of pytrees.

    trainer = make_train(config, data)             # data: dict of device arrays (standardized)
    state = trainer.init(hparams, key)             # hparams: dict of float32 scalars (HPARAM_NAMES)
    state, metrics = trainer.run_epochs(state, hparams, 10, data)   # 10 is static
    state, metrics = trainer.train(hparams, key, data)              # the whole run, config.training.epochs
    sweep = jax.jit(jax.vmap(trainer.train, in_axes=(0, 0, None)))(hparams_T, keys_T, data)

`data` keys: X_train (N, F), X_test (Nt, F) float32; y_train (N, M) / y_test (Nt, M) float32 standardized
targets for regression, or int32 labels (N,) for classification (binary: 0/1; softmax: class index);
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

Per-epoch metrics: train_loss (mean over the epoch's minibatches, weighted by their real rows; the objective
without penalties, in standardized units; NaN from the divergent epoch on), test_loss (same units) and, in
original units, test_r2 / test_mse / test_mae (regression) or test_accuracy (classification), and diverged.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from turbjax.models import build_model, model_task
from turbjax.training import losses
from turbjax.training import metrics as metrics_lib
from turbjax.training.optimizers import check_hparams, make_optimizer, set_hyperparams

Array = jax.Array
State = dict[str, Any]


class Trainer(NamedTuple):
    init: Callable[..., State]  # (hparams, key) -> state
    run_epochs: Callable[..., tuple[State, dict]]  # (state, hparams, num_epochs, data=None)
    train: Callable[..., tuple[State, dict]]  # (hparams, key, data=None)
    evaluate: Callable[..., dict]  # (params_or_state, X, y, data=None) -> metrics dict
    predict: Callable[..., Array]  # (params, X) -> standardized outputs / logits
    model: Any  # the Linen module
    tx: optax.GradientTransformation
    task: str  # "regression", "binary" or "softmax"
    num_epochs: int  # config.training.epochs
    batch_size: int
    steps_per_epoch: int
    num_train: int


def raw_key(key: Array) -> Array:
    """uint32 key data from a typed key (jax.random.key) or a raw one (jax.random.PRNGKey)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.key_data(key)
    return key


def _penalty(params, l2, l1):
    """l2/2 * sum w^2 + l1 * sum |w| over the kernels (weights); biases are not penalized."""
    leaves = [
        leaf
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        if _is_kernel(path)
    ]
    sq = sum(jnp.sum(jnp.square(w)) for w in leaves)
    ab = sum(jnp.sum(jnp.abs(w)) for w in leaves)
    return 0.5 * l2 * sq + l1 * ab


def _is_kernel(path) -> bool:
    return getattr(path[-1], "key", None) == "kernel"


def _add_penalty_grads(grads, params, l2, l1):
    """grads + d/dw (l2/2 w^2 + l1 |w|) on kernels (biases unpenalized)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, g, w: g + l2 * w + l1 * jnp.sign(w) if _is_kernel(path) else g, grads, params
    )


def _all_finite(tree) -> Array:
    """True if every floating-point leaf is finite (integer leaves, e.g. optax's step counts, are skipped)."""
    leaves = [x for x in jax.tree_util.tree_leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.inexact)]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves])) if leaves else jnp.bool_(True)


def make_train(
    config,
    data: dict,
    *,
    image_shape: tuple[int, int] | None = None,
    num_classes: int | None = None,
) -> Trainer:
    """Build the pure training functions. Static (shape-determining) settings come from `config`
    (model, optim.name / schedule, training.batch_size / epochs) and from the shapes of `data`;
    everything in `hparams` is traced."""
    task = model_task(config.model)
    x_train = data["X_train"]
    n_train = x_train.shape[0]
    if task == "regression":
        if data["y_train"].ndim != 2:
            raise ValueError(f"regression y_train must be (N, M), got shape {data['y_train'].shape}")
        num_outputs = data["y_train"].shape[1]
    else:
        num_outputs = 1
        if task == "softmax" and not num_classes:
            raise ValueError("softmax logistic regression needs num_classes=len(dataset.classes)")
    model = build_model(
        config.model, num_outputs=num_outputs, image_shape=image_shape, num_classes=num_classes or 0
    )
    full_batch = config.optim.name == "lbfgs"
    batch = n_train if full_batch else int(config.training.batch_size)
    if not 1 <= batch <= n_train:
        raise ValueError(
            f"config.training.batch_size={batch} must be between 1 and the training set size {n_train}"
        )
    steps = math.ceil(n_train / batch)
    pad = steps * batch - n_train
    num_epochs = int(config.training.epochs)
    tx = make_optimizer(config.optim, steps_per_epoch=steps, num_epochs=num_epochs)
    default_data = data

    def predict(params, x):
        return model.apply(params, x)

    def data_loss(out, y, w=None):
        if task == "regression":
            return losses.mse(out, y, w)
        return losses.cross_entropy(out, y, w)

    def objective(params, x, y, w, hparams):
        loss = data_loss(predict(params, x), y, w)
        return loss + _penalty(params, hparams["l2"], hparams["l1"]), loss

    def evaluate(params, x, y, data=None):
        d = default_data if data is None else data
        if isinstance(params, dict) and "opt_state" in params:
            params = params["params"]
        out = predict(params, x)
        result = {"loss": data_loss(out, y)}
        if task == "regression":
            scale = d.get("y_scale", jnp.ones(out.shape[-1], out.dtype))
            mean = d.get("y_mean", jnp.zeros(out.shape[-1], out.dtype))
            pred_o, y_o = out * scale + mean, y * scale + mean
            result["r2"] = metrics_lib.r2_score(y_o, pred_o)
            result["mse"] = metrics_lib.mean_squared_error(y_o, pred_o)
            result["mae"] = metrics_lib.mean_absolute_error(y_o, pred_o)
        else:
            result["accuracy"] = metrics_lib.accuracy(y, out)
        return result

    def init(hparams, key):
        check_hparams(hparams)
        key = raw_key(key)
        init_key, data_key = jax.random.split(key)
        params = model.init(init_key, jnp.zeros((1,) + x_train.shape[1:], x_train.dtype))
        opt_state = set_hyperparams(tx.init(params), hparams)
        return {
            "params": params,
            "opt_state": opt_state,
            "epoch": jnp.zeros((), jnp.int32),
            "key": data_key,
            "diverged": jnp.zeros((), jnp.bool_),
            "diverged_epoch": jnp.full((), -1, jnp.int32),
        }

    def one_epoch(state, hparams, d):
        x, y = d["X_train"], d["y_train"]
        epoch = state["epoch"]
        if full_batch:
            idx = jnp.arange(n_train, dtype=jnp.int32).reshape(1, n_train)
            weights = jnp.ones((1, n_train), jnp.float32)
        else:
            ekey = jax.random.fold_in(jax.random.wrap_key_data(state["key"]), epoch)
            perm = jax.random.permutation(ekey, n_train).astype(jnp.int32)
            idx = jnp.concatenate([perm, jnp.zeros((pad,), jnp.int32)]).reshape(steps, batch)
            weights = jnp.concatenate([jnp.ones((n_train,)), jnp.zeros((pad,))]).reshape(steps, batch)

        def step(carry, batch_in):
            params, opt_state = carry
            idx_b, w_b = batch_in
            xb, yb = x[idx_b], y[idx_b]
            if full_batch:  # L-BFGS's line search needs the whole objective as a function
                (total, loss), grads = jax.value_and_grad(objective, has_aux=True)(params, xb, yb, w_b, hparams)

                def update(p, o, g):
                    u, o = tx.update(
                        g, o, p, value=total, grad=g, value_fn=lambda q: objective(q, xb, yb, w_b, hparams)[0]
                    )
                    return optax.apply_updates(p, u), o
            else:
                # The penalties' gradients are added elementwise (l2 * w + l1 * sign(w) on kernels), which XLA
                # fuses into the optimizer update instead of extra passes over the parameters.
                loss, grads = jax.value_and_grad(lambda p: data_loss(predict(p, xb), yb, w_b))(params)
                grads = _add_penalty_grads(grads, params, hparams["l2"], hparams["l1"])
                total = loss

                def update(p, o, g):
                    u, o = tx.update(g, o, p)
                    return optax.apply_updates(p, u), o

            params, opt_state = update(params, opt_state, grads)
            return (params, opt_state), (loss * jnp.sum(w_b), total)

        carry = (state["params"], state["opt_state"])
        (params, opt_state), (weighted, totals) = lax.scan(step, carry, (idx, weights))
        # Divergence is judged once per epoch: a non-finite loss in any step, or a non-finite parameter or
        # optimizer moment at the end, and the epoch is undone: params and optimizer state go back to the
        # start of the epoch (the last good values), the run is flagged, and every later epoch is undone too.
        # Per step, the same check cost a reduction over the gradients and a select over the whole state in
        # every one of the 60 steps of a seed-data epoch (scripts/benchmark_train.py: ~105 -> ~70 ms per
        # epoch); once per epoch it costs one pass. A select rather than lax.cond: under vmap (the
        # sweeps) a cond becomes a select anyway.
        ok = ~state["diverged"] & jnp.all(jnp.isfinite(totals)) & _all_finite((params, opt_state))
        params, opt_state = jax.tree_util.tree_map(
            lambda new, old: jnp.where(ok, new, old), (params, opt_state), (state["params"], state["opt_state"])
        )
        diverged = ~ok
        newly = diverged & ~state["diverged"]
        train_loss = jnp.where(diverged, jnp.nan, jnp.sum(weighted) / n_train)
        new_state = {
            "params": params,
            "opt_state": opt_state,
            "epoch": epoch + 1,
            "key": state["key"],
            "diverged": diverged,
            "diverged_epoch": jnp.where(newly, epoch, state["diverged_epoch"]),
        }
        ev = evaluate(params, d["X_test"], d["y_test"], d)
        epoch_metrics = {"train_loss": train_loss, "diverged": diverged}
        epoch_metrics.update({f"test_{k}": v for k, v in ev.items()})
        return new_state, epoch_metrics

    def run_epochs(state, hparams, num_epochs: int, data=None):
        check_hparams(hparams)
        d = default_data if data is None else data
        state = dict(state, opt_state=set_hyperparams(state["opt_state"], hparams))
        return lax.scan(lambda s, _: one_epoch(s, hparams, d), state, None, length=num_epochs)

    def train(hparams, key, data=None):
        return run_epochs(init(hparams, key), hparams, num_epochs, data)

    return Trainer(
        init=init, run_epochs=run_epochs, train=train, evaluate=evaluate, predict=predict, model=model,
        tx=tx, task=task, num_epochs=num_epochs, batch_size=batch, steps_per_epoch=steps,
        num_train=n_train,
    )
