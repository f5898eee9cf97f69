"""One optimizer step of the training core, as pure functions of (params, opt_state, minibatch, hparams).

    params, opt_state, loss, total = minibatch_step(params, opt_state, batch, hparams, loss_fn=..., tx=...)

`loss_fn(params, x_BxF, y_B..., w_B) -> scalar` is the data loss (no penalties; padded rows have w = 0);
`hparams` holds the penalties "l2" and "l1"; `loss` is the data loss at the step's starting parameters and
`total` the value judged for divergence (the data loss for SGD/Adam, the penalized objective for L-BFGS).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

from turbjax.training import losses

Array = jax.Array


def _is_kernel(path) -> bool:
    return getattr(path[-1], "key", None) == "kernel"


def penalty(params, l2, l1) -> Array:
    """l2/2 * sum w^2 + l1 * sum |w| over the kernels (weights); biases are not penalized."""
    leaves = [leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params) if _is_kernel(path)]
    sq = sum(jnp.sum(jnp.square(w)) for w in leaves)
    ab = sum(jnp.sum(jnp.abs(w)) for w in leaves)
    return 0.5 * l2 * sq + l1 * ab


def add_penalty_grads(grads, params, l2, l1):
    """grads + d/dw (l2/2 w^2 + l1 |w|) on kernels (biases unpenalized)."""
    return jax.tree_util.tree_map_with_path(
        lambda path, g, w: g + l2 * w + l1 * jnp.sign(w) if _is_kernel(path) else g, grads, params
    )


def data_loss(task: str, out: Array, y: Array, w: Array | None = None) -> Array:
    """The unpenalized objective: (1/2) MSE for regression, cross-entropy for classification."""
    if task == "regression":
        return losses.mse(out, y, w)
    return losses.cross_entropy(out, y, w)


def minibatch_step(params, opt_state, batch, hparams, *, loss_fn: Callable, tx: optax.GradientTransformation):
    """One SGD/Adam step on batch = (x, y, w). The penalties' gradients are added elementwise (l2 * w +
    l1 * sign(w) on kernels), which XLA fuses into the optimizer update instead of extra passes."""
    x, y, w = batch
    loss, grads = jax.value_and_grad(lambda p: loss_fn(p, x, y, w))(params)
    grads = add_penalty_grads(grads, params, hparams["l2"], hparams["l1"])
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss, loss


def lbfgs_step(params, opt_state, batch, hparams, *, loss_fn: Callable, tx: optax.GradientTransformation):
    """One L-BFGS step on the whole training set: its line search needs the penalized objective as a
    function (value_fn), and its value and gradient at the starting point."""
    x, y, w = batch

    def objective(p):
        loss = loss_fn(p, x, y, w)
        return loss + penalty(p, hparams["l2"], hparams["l1"]), loss

    (total, loss), grads = jax.value_and_grad(objective, has_aux=True)(params)
    updates, opt_state = tx.update(
        grads, opt_state, params, value=total, grad=grads, value_fn=lambda q: objective(q)[0]
    )
    return optax.apply_updates(params, updates), opt_state, loss, total
