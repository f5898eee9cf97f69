"""Hand-written gradients of the course's examples, each checked in the tests against `jax.grad` and a
central finite difference in float64.

Every function is pure and works on jnp (or NumPy) arrays of any float dtype; nothing here flips JAX's x64
flag. Shapes are named in the variables: `x_D` is a vector of length D, `theta1_HxD` a matrix.

Contents
  double well   V(x) = x^4 - 2 x^2: closed form and the primitive decomposition (forward stores intermediates,
                backward runs through the same primitives in reverse)
  tanh(a . x)   and its gradient with respect to a
  two-layer sigmoid network, loss 1/2 |y - t|^2: gradients with respect to both weight matrices, one sample
                and a batch (mean over samples)
  linear regression (mean squared error) and logistic regression (cross-entropy)
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = [
    "DoubleWellCache",
    "double_well",
    "double_well_backward",
    "double_well_forward",
    "double_well_grad",
    "linear_regression_grads",
    "linear_regression_loss",
    "logistic_regression_grads",
    "logistic_regression_loss",
    "sigmoid",
    "tanh_dot",
    "tanh_dot_grad",
    "two_layer_forward",
    "two_layer_grads",
    "two_layer_grads_batch",
    "two_layer_loss",
    "two_layer_loss_batch",
]


# ----------------------------------------------------------------------------------------------------------
# Double-well potential
# ----------------------------------------------------------------------------------------------------------


def double_well(x):
    """V(x) = x^4 - 2 x^2 (elementwise). Minima at x = +-1 with V = -1, a local maximum V = 0 at x = 0."""
    return x**4 - 2 * x**2


def double_well_grad(x):
    """Closed form dV/dx = 4 x^3 - 4 x (elementwise)."""
    return 4 * x**3 - 4 * x


class DoubleWellCache(NamedTuple):
    """Intermediates stored by the forward pass for the backward pass."""

    x: jax.Array
    h1: jax.Array  # x^4
    h2: jax.Array  # 2 x^2


def double_well_forward(x):
    """Forward pass through primitives: h1 = x^4, h2 = 2 x^2, V = h1 - h2. Returns (V, cache)."""
    h1 = x**4
    h2 = 2 * x**2
    v = h1 - h2
    return v, DoubleWellCache(x=x, h1=h1, h2=h2)


def double_well_backward(cache: DoubleWellCache, v_bar=1.0):
    """Reverse pass through the same primitives, given the upstream adjoint v_bar = dL/dV (1 for dV/dx).

    V = h1 - h2      ->  h1_bar = v_bar,  h2_bar = -v_bar
    h1 = x^4         ->  x_bar += h1_bar * 4 x^3
    h2 = 2 x^2       ->  x_bar += h2_bar * 4 x
    """
    x = cache.x
    h1_bar = v_bar
    h2_bar = -v_bar
    x_bar = h1_bar * 4 * x**3 + h2_bar * 4 * x
    return x_bar


# ----------------------------------------------------------------------------------------------------------
# tanh(a . x)
# ----------------------------------------------------------------------------------------------------------


def tanh_dot(a_D, x_D):
    """f(a) = tanh(a . x) for vectors a, x of the same length D (a scalar)."""
    return jnp.tanh(jnp.dot(a_D, x_D))


def tanh_dot_grad(a_D, x_D):
    """df/da = (1 - tanh(a . x)^2) x, a vector of length D."""
    f = tanh_dot(a_D, x_D)
    return (1 - f**2) * x_D


# ----------------------------------------------------------------------------------------------------------
# Two-layer sigmoid network
# ----------------------------------------------------------------------------------------------------------


def sigmoid(z):
    """Logistic sigmoid 1 / (1 + exp(-z)); its derivative is sigma (1 - sigma)."""
    return jax.nn.sigmoid(z)


def two_layer_forward(theta1_HxD, theta2_KxH, x_D):
    """h = sigma(theta1 x) (length H), y = sigma(theta2 h) (length K). Returns (y, h)."""
    h_H = sigmoid(theta1_HxD @ x_D)
    y_K = sigmoid(theta2_KxH @ h_H)
    return y_K, h_H


def two_layer_loss(theta1_HxD, theta2_KxH, x_D, t_K):
    """L = 1/2 |y - t|^2 for one sample."""
    y_K, _ = two_layer_forward(theta1_HxD, theta2_KxH, x_D)
    return 0.5 * jnp.sum((y_K - t_K) ** 2)


def two_layer_grads(theta1_HxD, theta2_KxH, x_D, t_K):
    """(dL/dtheta1, dL/dtheta2) of L = 1/2 |y - t|^2 for one sample, by the chain rule.

    The correct chain, layer by layer (sigma' = sigma (1 - sigma), * is elementwise, ^T is transpose):

        h = sigma(theta1 x)                 hidden activations, length H
        y = sigma(theta2 h)                 outputs, length K
        delta2 = (y - t) * y (1 - y)        dL/d(theta2 h): the OUTPUT layer's sigma'
        dL/dtheta2 = delta2 h^T             (K x H): outer product with the output layer's input h
        delta1 = (theta2^T delta2) * h (1 - h)
                                            dL/d(theta1 x): back through theta2 (transposed), then the
                                            HIDDEN layer's sigma'
        dL/dtheta1 = delta1 x^T             (H x D): outer product with the hidden layer's input x

    Each layer's weight gradient is (its own delta) times (its own input), and each delta carries its own
    layer's sigma'. A common error in written versions of dL/dtheta1 is to mix the layers' factors: using the
    output layer's y (1 - y) where the hidden layer's h (1 - h) belongs (or applying it twice), multiplying by
    h instead of the network input x, or using theta2 where its transpose belongs (this only goes unnoticed
    when the shapes happen to be square). The course's formula is reported to have an error of this
    kind; this function implements the chain above, and the tests check it against `jax.grad`.
    """
    y_K, h_H = two_layer_forward(theta1_HxD, theta2_KxH, x_D)
    delta2_K = (y_K - t_K) * y_K * (1 - y_K)
    g2_KxH = jnp.outer(delta2_K, h_H)
    delta1_H = (theta2_KxH.T @ delta2_K) * h_H * (1 - h_H)
    g1_HxD = jnp.outer(delta1_H, x_D)
    return g1_HxD, g2_KxH


def two_layer_loss_batch(theta1_HxD, theta2_KxH, x_NxD, t_NxK):
    """L = (1/N) sum_n 1/2 |y_n - t_n|^2: the single-sample loss averaged over the batch index n."""
    h_NxH = sigmoid(x_NxD @ theta1_HxD.T)
    y_NxK = sigmoid(h_NxH @ theta2_KxH.T)
    return 0.5 * jnp.mean(jnp.sum((y_NxK - t_NxK) ** 2, axis=-1))


def two_layer_grads_batch(theta1_HxD, theta2_KxH, x_NxD, t_NxK):
    """Gradients of `two_layer_loss_batch`: the mean over n of the single-sample gradients.

    Same chain as `two_layer_grads` with one row per sample; the outer products summed over the batch become
    matrix products, and the 1/N of the mean divides both:
        dL/dtheta2 = (1/N) delta2^T h      with delta2 (N x K), h (N x H)
        dL/dtheta1 = (1/N) delta1^T x      with delta1 = (delta2 theta2) * h (1 - h), (N x H); x (N x D)
    """
    n = x_NxD.shape[0]
    h_NxH = sigmoid(x_NxD @ theta1_HxD.T)
    y_NxK = sigmoid(h_NxH @ theta2_KxH.T)
    delta2_NxK = (y_NxK - t_NxK) * y_NxK * (1 - y_NxK)
    g2_KxH = delta2_NxK.T @ h_NxH / n
    delta1_NxH = (delta2_NxK @ theta2_KxH) * h_NxH * (1 - h_NxH)
    g1_HxD = delta1_NxH.T @ x_NxD / n
    return g1_HxD, g2_KxH


# ----------------------------------------------------------------------------------------------------------
# Linear and logistic regression
# ----------------------------------------------------------------------------------------------------------

_REDUCTIONS = ("sum", "mean")


def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction={reduction!r}: expected one of {_REDUCTIONS}")


def linear_regression_loss(w_D, b, x_NxD, y_N, reduction: str = "mean"):
    """Squared error of y_hat = x w + b: sum_i (y_hat_i - y_i)^2, or that divided by N (the MSE, default)."""
    _check_reduction(reduction)
    r_N = x_NxD @ w_D + b - y_N
    total = jnp.sum(r_N**2)
    return total / x_NxD.shape[0] if reduction == "mean" else total


def linear_regression_grads(w_D, b, x_NxD, y_N, reduction: str = "mean"):
    """(dL/dw, dL/db) of `linear_regression_loss`.

    sum:  dL/dw_j = 2 sum_i (y_hat_i - y_i) x_ij,   dL/db = 2 sum_i (y_hat_i - y_i)
    mean: the same divided by N.
    """
    _check_reduction(reduction)
    r_N = x_NxD @ w_D + b - y_N
    scale = 2.0 / x_NxD.shape[0] if reduction == "mean" else 2.0
    return scale * (x_NxD.T @ r_N), scale * jnp.sum(r_N)


def logistic_regression_loss(w_D, b, x_NxD, y_N, reduction: str = "sum"):
    """Cross-entropy of y_hat = sigma(x w + b) for labels y in {0, 1}:
    L = -sum_i [y_i log y_hat_i + (1 - y_i) log(1 - y_hat_i)]  (reduction="sum", default), or that / N.

    Computed from the logits with log_sigmoid, so it is finite for any logit.
    """
    _check_reduction(reduction)
    z_N = x_NxD @ w_D + b
    total = -jnp.sum(y_N * jax.nn.log_sigmoid(z_N) + (1 - y_N) * jax.nn.log_sigmoid(-z_N))
    return total / x_NxD.shape[0] if reduction == "mean" else total


def logistic_regression_grads(w_D, b, x_NxD, y_N, reduction: str = "sum"):
    """(dL/dw, dL/db) of `logistic_regression_loss`:

    sum:  dL/dw_j = sum_i (y_hat_i - y_i) x_ij,   dL/db = sum_i (y_hat_i - y_i)
    mean: the same divided by N.

    The sigmoid's derivative y_hat (1 - y_hat) cancels against the cross-entropy's 1 / (y_hat (1 - y_hat)),
    which is why no such factor appears. (Common errors: keeping a factor y_hat (1 - y_hat), which belongs
    to the squared error of a sigmoid output, not to the cross-entropy; or writing (y_i - y_hat_i), which is
    the gradient of the log-likelihood, i.e. minus the gradient of the loss.)
    """
    _check_reduction(reduction)
    r_N = sigmoid(x_NxD @ w_D + b) - y_N
    scale = 1.0 / x_NxD.shape[0] if reduction == "mean" else 1.0
    return scale * (x_NxD.T @ r_N), scale * jnp.sum(r_N)
