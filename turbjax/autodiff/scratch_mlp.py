"""A multilayer perceptron with hand-written forward and backward passes (no autodiff), trained by minibatch
SGD. Pure functions over a params pytree (a tuple of {"w": (D_in, D_out), "b": (D_out,)} dicts, one per
layer); the whole training run is one jitted program (epochs and minibatches are nested `lax.scan`s).

Why the course's NumPy MLP returned R^2 = nan on the Reynolds data, and what fixes each cause
-------------------------------------------------------------------------------------------------
Targets are Reynolds numbers of order 1000 and inputs are ~4096 vorticity pixels. The four causes below are
the ones reported for the course's code (which is not in this repository). Each of the first three,
switched on alone at a learning rate that trains the fixed recipe, makes SGD overflow to inf and then nan (and
R^2 of nan predictions is nan); tests/test_autodiff_scratch_mlp.py shows each one on a small synthetic data
set.

1. Unscaled targets. With y ~ 1000 the initial errors y_hat - y are ~1000, so the first gradients and steps
   are ~1000 times larger than for standardized targets at the same learning rate; the weights overshoot, the
   errors grow, and the loss explodes. Fix: standardize y with the training mean and std (and X per
   feature); R^2 is unchanged by that affine map, and predictions map back with y = y_std * y_hat + y_mean.
2. Summed instead of averaged gradients. With L = sum over the batch, the gradient (and so the step) grows
   linearly with the batch size: a learning rate that is stable for batch 1 is B times too large for batch B.
   Fix: average over the batch (reduction="mean"), so the step size does not depend on B. (Summing with the
   learning rate divided by B is the same algorithm; a test checks that.)
3. Initialization scale. Unit-normal weights on D = 4096 inputs give pre-activations with std ~ sqrt(D) = 64
   times the input scale, and a further factor of about sqrt(H / 2) at every ReLU layer of width H: the
   initial outputs and gradients are enormous. Fix: He initialization, std sqrt(2 / fan_in) for ReLU layers
   (Glorot, sqrt(2 / (fan_in + fan_out)), is the analogue for tanh/linear layers), which keeps activations of
   order 1 through the layers.
4. ReLU on the output layer. A regression output must be able to take any real value. With a ReLU it cannot
   go negative, so on standardized targets (about half of them negative) R^2 is capped well below 1 (at
   1 - sum_{y<0} y^2 / SS_tot); and once every output pre-activation is negative the output unit is dead, its
   gradient is exactly zero and nothing learns. Fix: a linear (identity) output layer, ReLU only on hidden
   layers. (With all four causes at once, the reproduction here ends with a dead output unit and a frozen
   loss rather than nan; drop only the ReLU output and the same recipe gives nan.)

`train_scratch_mlp` keeps each cause as an option (`reduction`, `init_method`, `output_activation`, and the
caller's choice to pass raw or standardized targets) so that the tests can show each failure beside the fix.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["backward", "forward", "init", "loss", "r2_score", "train_scratch_mlp"]

INITS = ("he", "glorot", "normal")
OUTPUT_ACTIVATIONS = ("linear", "relu")
REDUCTIONS = ("mean", "sum")


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {choices}")


def init(key: jax.Array, sizes, *, method: str = "he", dtype=jnp.float32):
    """Parameters for layer widths `sizes` = (D_in, *hidden, D_out); biases are zero.

    method: "he" (std sqrt(2 / fan_in) for hidden layers, sqrt(1 / fan_in) for the linear output layer),
    "glorot" (std sqrt(2 / (fan_in + fan_out))), or "normal" (unit normal: the course's choice, too large).
    """
    _check_choice("method", method, INITS)
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes={sizes}: expected (D_in, *hidden, D_out) with every width >= 1")
    keys = jax.random.split(key, len(sizes) - 1)
    params = []
    for i, (k, d_in, d_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        if method == "he":
            std = np.sqrt((1.0 if last else 2.0) / d_in)
        elif method == "glorot":
            std = np.sqrt(2.0 / (d_in + d_out))
        else:
            std = 1.0
        params.append(
            {"w": std * jax.random.normal(k, (d_in, d_out), dtype), "b": jnp.zeros((d_out,), dtype)}
        )
    return tuple(params)


# The private functions take the two failure-mode switches as values that may be traced (relu_output: bool,
# grad_scale: 1/N for the mean or 1 for the sum), so one compiled training program serves every variant.


def _forward_cache(params, x_NxD, relu_output):
    """Pre-activations z_l and activations a_l of every layer (a_0 = x)."""
    acts = [x_NxD]
    pres = []
    for i, layer in enumerate(params):
        z = acts[-1] @ layer["w"] + layer["b"]
        pres.append(z)
        if i < len(params) - 1:
            acts.append(jnp.maximum(z, 0))
        else:
            acts.append(jnp.where(relu_output, jnp.maximum(z, 0), z))
    return pres, acts


def _backward(params, x_NxD, y_NxK, relu_output, grad_scale):
    pres, acts = _forward_cache(params, x_NxD, relu_output)
    err = acts[-1] - y_NxK
    value = 0.5 * grad_scale * jnp.sum(err**2)
    delta = grad_scale * err
    delta = jnp.where(relu_output, delta * (pres[-1] > 0), delta)
    grads = [None] * len(params)
    for i in range(len(params) - 1, -1, -1):
        grads[i] = {"w": acts[i].T @ delta, "b": jnp.sum(delta, axis=0)}
        if i > 0:
            delta = (delta @ params[i]["w"].T) * (pres[i - 1] > 0)
    return value, tuple(grads)


def _options(reduction, output_activation, n):
    _check_choice("reduction", reduction, REDUCTIONS)
    _check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    return output_activation == "relu", (1.0 / n if reduction == "mean" else 1.0)


def forward(params, x_NxD, *, output_activation: str = "linear"):
    """Outputs (N, D_out): ReLU hidden layers, then a linear (default) or ReLU output layer."""
    relu_output, _ = _options("mean", output_activation, 1)
    return _forward_cache(params, x_NxD, relu_output)[1][-1]


def loss(params, x_NxD, y_NxK, *, reduction: str = "mean", output_activation: str = "linear"):
    """L = 1/2 sum_n |y_hat_n - y_n|^2, divided by N for reduction="mean" (the default)."""
    relu_output, scale = _options(reduction, output_activation, x_NxD.shape[0])
    y_hat = _forward_cache(params, x_NxD, relu_output)[1][-1]
    return 0.5 * scale * jnp.sum((y_hat - y_NxK) ** 2)


def backward(params, x_NxD, y_NxK, *, reduction: str = "mean", output_activation: str = "linear"):
    """(loss, grads) by hand-written backpropagation; grads has the structure of params.

    With z_l = a_{l-1} W_l + b_l and a_l = act(z_l) (ReLU on hidden layers):
        delta_L = (y_hat - y) * act_out'(z_L) / N        (no / N for reduction="sum"; act_out' = 1 if linear)
        dL/dW_l = a_{l-1}^T delta_l,   dL/db_l = sum_n delta_l
        delta_{l-1} = (delta_l W_l^T) * relu'(z_{l-1})
    relu'(z) is taken as 1 for z > 0 and 0 otherwise (the same convention as jax.nn.relu).
    """
    relu_output, scale = _options(reduction, output_activation, x_NxD.shape[0])
    return _backward(params, x_NxD, y_NxK, relu_output, scale)


def r2_score(y_true, y_pred):
    """Coefficient of determination 1 - SS_res / SS_tot over all entries (nan if the predictions are; not
    defined for constant y_true)."""
    ss_res = jnp.sum((y_true - y_pred) ** 2)
    ss_tot = jnp.sum((y_true - jnp.mean(y_true)) ** 2)
    return 1.0 - ss_res / ss_tot


@functools.partial(jax.jit, static_argnames=("epochs", "batch_size"))
def _train(params, key, lr, sum_reduction, relu_output, x_tr, y_tr, x_te, y_te, *, epochs, batch_size):
    """The whole run as one program: a scan over epochs of a scan over minibatches. lr and the two
    failure-mode switches are traced, so changing them does not recompile."""
    n = x_tr.shape[0]
    steps = n // batch_size
    grad_scale = jnp.where(sum_reduction, 1.0, 1.0 / batch_size).astype(lr.dtype)

    def sgd_step(p, idx):
        _, g = _backward(p, x_tr[idx], y_tr[idx], relu_output, grad_scale)
        return jax.tree.map(lambda w, dw: w - lr * dw, p, g), None

    def epoch(p, k):
        perm = jax.random.permutation(k, n)[: steps * batch_size].reshape(steps, batch_size)
        p, _ = jax.lax.scan(sgd_step, p, perm)
        y_hat_tr = _forward_cache(p, x_tr, relu_output)[1][-1]
        train_loss = 0.5 * jnp.mean(jnp.sum((y_hat_tr - y_tr) ** 2, axis=-1))
        test_r2 = r2_score(y_te, _forward_cache(p, x_te, relu_output)[1][-1])
        return p, (train_loss, test_r2)

    params, (train_loss, test_r2) = jax.lax.scan(epoch, params, jax.random.split(key, epochs))
    return params, train_loss, test_r2


def _as_2d(name: str, a) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"{name} has shape {a.shape}: expected (N, D) (or (N,) for targets)")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains non-finite values: clean or drop them before training")
    return a


def train_scratch_mlp(
    x_train,
    y_train,
    x_test,
    y_test,
    *,
    hidden=(64,),
    lr: float = 0.01,
    epochs: int = 100,
    batch_size: int = 32,
    seed: int = 0,
    init_method: str = "he",
    reduction: str = "mean",
    output_activation: str = "linear",
):
    """Train the from-scratch MLP with minibatch SGD; returns (params, history).

    The data are used as given (data-agnostic): standardize X (per feature) and y (training mean and std)
    before calling (scripts/scratch_mlp.py shows how); see the module docstring for what raw targets of order
    1000 do. Training runs in float32 whatever the input dtype. x_* are (N, D); y_* are (N,) or (N, K). Each
    epoch visits floor(N / batch_size) minibatches of a fresh random permutation (the remainder is dropped for
    that epoch).

    history: numpy arrays of length `epochs`,
      "train_loss": 1/2 mean_n |y_hat_n - y_n|^2 on the whole training set after the epoch (always the mean
                    form, whatever `reduction` trains with, so that runs are comparable),
      "test_r2":    R^2 of the test predictions after the epoch (nan once training has diverged).
    """
    _check_choice("init_method", init_method, INITS)
    _check_choice("reduction", reduction, REDUCTIONS)
    _check_choice("output_activation", output_activation, OUTPUT_ACTIVATIONS)
    x_tr, y_tr = _as_2d("x_train", x_train), _as_2d("y_train", y_train)
    x_te, y_te = _as_2d("x_test", x_test), _as_2d("y_test", y_test)
    if x_tr.shape[0] != y_tr.shape[0] or x_te.shape[0] != y_te.shape[0]:
        raise ValueError(
            f"sample counts differ: x_train {x_tr.shape}, y_train {y_tr.shape}, x_test {x_te.shape}, "
            f"y_test {y_te.shape}"
        )
    if x_tr.shape[1] != x_te.shape[1] or y_tr.shape[1] != y_te.shape[1]:
        raise ValueError(f"feature counts differ between train {x_tr.shape} and test {x_te.shape}")
    if not 1 <= batch_size <= x_tr.shape[0]:
        raise ValueError(f"batch_size={batch_size}: expected 1 <= batch_size <= N_train = {x_tr.shape[0]}")
    if epochs < 1:
        raise ValueError(f"epochs={epochs}: expected >= 1")
    if not lr > 0:
        raise ValueError(f"lr={lr}: expected a positive learning rate")
    dtype = jnp.float32
    key_init, key_train = jax.random.split(jax.random.key(seed))
    sizes = (x_tr.shape[1], *tuple(hidden), y_tr.shape[1])
    params = init(key_init, sizes, method=init_method, dtype=dtype)
    params, train_loss, test_r2 = _train(
        params,
        key_train,
        jnp.asarray(lr, dtype),
        jnp.asarray(reduction == "sum"),
        jnp.asarray(output_activation == "relu"),
        jnp.asarray(x_tr, dtype),
        jnp.asarray(y_tr, dtype),
        jnp.asarray(x_te, dtype),
        jnp.asarray(y_te, dtype),
        epochs=int(epochs),
        batch_size=int(batch_size),
    )
    history = {"train_loss": np.asarray(train_loss), "test_r2": np.asarray(test_r2)}
    return params, history
