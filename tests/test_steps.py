"""One optimizer step alone: the SGD step is params - lr * grad(loss + penalty) (an independent jax.grad of
the penalized objective), the L-BFGS step reports the penalized objective and lowers it, penalties skip
biases."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from turbjax.training.steps import data_loss, lbfgs_step, minibatch_step, penalty

PARAMS = {"params": {"dense": {"kernel": jnp.asarray([[0.5, -1.0, 2.0]]), "bias": jnp.asarray([0.3])}}}
HP = {"l2": jnp.float32(0.1), "l1": jnp.float32(0.05)}


def loss_fn(params, x, y, w):
    p = params["params"]["dense"]
    return data_loss("regression", x @ p["kernel"].T + p["bias"], y, w)


def batch():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(8, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(8, 1)), jnp.float32)
    w = jnp.asarray([1, 1, 1, 1, 1, 1, 0, 0], jnp.float32)  # two padded rows
    return x, y, w


def test_penalty_is_l2_half_squares_plus_l1_abs_over_kernels_only():
    expected = 0.5 * 0.1 * (0.25 + 1.0 + 4.0) + 0.05 * (0.5 + 1.0 + 2.0)  # the bias 0.3 is not penalized
    np.testing.assert_allclose(penalty(PARAMS, HP["l2"], HP["l1"]), expected, rtol=1e-6)


def test_sgd_step_is_minus_lr_times_the_gradient_of_the_penalized_objective():
    lr = 0.2
    tx = optax.sgd(lr)
    b = batch()
    new, _, loss, total = minibatch_step(PARAMS, tx.init(PARAMS), b, HP, loss_fn=loss_fn, tx=tx)
    grads = jax.grad(lambda p: loss_fn(p, *b) + penalty(p, HP["l2"], HP["l1"]))(PARAMS)
    expected = jax.tree.map(lambda p, g: p - lr * g, PARAMS, grads)
    for a, e in zip(jax.tree.leaves(new), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(loss, loss_fn(PARAMS, *b), rtol=1e-7)
    assert total == loss  # SGD/Adam judge divergence on the data loss


def test_padded_rows_do_not_move_the_sgd_step():
    tx = optax.sgd(0.1)
    x, y, w = batch()
    x2, y2 = x.at[6:].set(1e6), y.at[6:].set(-1e6)  # the weight-0 rows can hold anything
    a = minibatch_step(PARAMS, tx.init(PARAMS), (x, y, w), HP, loss_fn=loss_fn, tx=tx)[0]
    b = minibatch_step(PARAMS, tx.init(PARAMS), (x2, y2, w), HP, loss_fn=loss_fn, tx=tx)[0]
    for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_lbfgs_step_reports_the_penalized_objective_and_lowers_it():
    tx = optax.lbfgs()
    b = batch()

    def objective(p):
        return loss_fn(p, *b) + penalty(p, HP["l2"], HP["l1"])

    new, _, loss, total = lbfgs_step(PARAMS, tx.init(PARAMS), b, HP, loss_fn=loss_fn, tx=tx)
    np.testing.assert_allclose(loss, loss_fn(PARAMS, *b), rtol=1e-6)
    np.testing.assert_allclose(total, objective(PARAMS), rtol=1e-6)
    assert objective(new) < objective(PARAMS)
