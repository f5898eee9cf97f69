"""Hand-written gradients checked against jax.grad, and a from-scratch MLP with hand-written backprop.

gradients    double well, tanh(a . x), two-layer sigmoid network, linear and logistic regression
scratch_mlp  init / forward / loss / backward / train_scratch_mlp, no autodiff
"""

from turbjax.autodiff import gradients, scratch_mlp
from turbjax.autodiff.gradients import (
    DoubleWellCache,
    double_well,
    double_well_backward,
    double_well_forward,
    double_well_grad,
    linear_regression_grads,
    linear_regression_loss,
    logistic_regression_grads,
    logistic_regression_loss,
    sigmoid,
    tanh_dot,
    tanh_dot_grad,
    two_layer_forward,
    two_layer_grads,
    two_layer_grads_batch,
    two_layer_loss,
    two_layer_loss_batch,
)
from turbjax.autodiff.scratch_mlp import backward, forward, init, loss, r2_score, train_scratch_mlp

__all__ = [
    "DoubleWellCache",
    "backward",
    "double_well",
    "double_well_backward",
    "double_well_forward",
    "double_well_grad",
    "forward",
    "gradients",
    "init",
    "linear_regression_grads",
    "linear_regression_loss",
    "logistic_regression_grads",
    "logistic_regression_loss",
    "loss",
    "r2_score",
    "scratch_mlp",
    "sigmoid",
    "tanh_dot",
    "tanh_dot_grad",
    "train_scratch_mlp",
    "two_layer_forward",
    "two_layer_grads",
    "two_layer_grads_batch",
    "two_layer_loss",
    "two_layer_loss_batch",
]
