"""Hand-written gradients == jax.grad == central finite differences, in float64 (inside jax.enable_x64)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turbjax.autodiff import gradients as g

# float64 tolerances: hand-written vs jax.grad differ only by rounding; the central difference with step
# H has truncation error ~H^2 and rounding error ~1e-16 / H.
RTOL_GRAD, ATOL_GRAD = 1e-12, 1e-13
H = 1e-6
RTOL_FD, ATOL_FD = 1e-6, 1e-8

SEEDS = (0, 1, 2)
BOTH_REDUCTIONS = ((("reduction", "sum"),), (("reduction", "mean"),))


def _central_difference(f, args, argnum):
    """Central finite difference of the scalar f(*args) with respect to args[argnum] (traceable: every
    perturbed copy x +- H e_i goes through one vmap of f)."""
    x = args[argnum]
    steps = H * jnp.eye(x.size, dtype=x.dtype).reshape((x.size, *x.shape))
    in_axes = tuple(0 if i == argnum else None for i in range(len(args)))
    f_batch = jax.vmap(f, in_axes=in_axes)
    plus = f_batch(*[x + steps if i == argnum else a for i, a in enumerate(args)])
    minus = f_batch(*[x - steps if i == argnum else a for i, a in enumerate(args)])
    return ((plus - minus) / (2 * H)).reshape(x.shape)


@functools.cache
def gradient_check(loss_fn, grads_fn, argnums, variants):
    """One jitted function args -> [(hand-written, jax.grad, finite difference) for each variant], each a
    tuple over argnums; a variant is a tuple of (keyword, value) pairs passed to both functions.

    Cached and jitted as a whole, so each input shape compiles once (eager dispatch compiles every small op
    for every new shape, which dominated the run time).
    """

    def run(*args):
        out = []
        for variant in variants:
            loss = functools.partial(loss_fn, **dict(variant))
            hand = grads_fn(*args, **dict(variant))
            hand = hand if isinstance(hand, tuple) else (hand,)
            auto = jax.grad(loss, argnums=argnums)(*args)
            fd = tuple(_central_difference(loss, args, i) for i in argnums)
            out.append((hand, auto, fd))
        return out

    return jax.jit(run)


def check_gradients(loss_fn, grads_fn, args, argnums, variants=((),)):
    """Hand-written == jax.grad == central difference in float64, for each variant; returns the hand-written
    gradients of the first variant."""
    with jax.enable_x64():
        args = tuple(jnp.asarray(a, dtype=jnp.float64) for a in args)
        results = gradient_check(loss_fn, grads_fn, argnums, variants)(*args)
    for (hand, auto, fd), variant in zip(results, variants, strict=True):
        assert len(hand) == len(auto) == len(fd) == len(argnums), variant
        for i, h, a, f in zip(argnums, hand, auto, fd, strict=True):
            assert h.shape == args[i].shape, (variant, h.shape, args[i].shape)
            assert_grad_matches(h, a, f)
    return results[0][0]


def assert_grad_matches(hand, auto, fd):
    assert hand.dtype == jnp.float64, hand.dtype
    np.testing.assert_allclose(hand, auto, rtol=RTOL_GRAD, atol=ATOL_GRAD)
    np.testing.assert_allclose(hand, fd, rtol=RTOL_FD, atol=ATOL_FD)


# ------------------------------------------------------------------------------------------------ double well


def test_double_well_course_check_values():
    with jax.enable_x64():
        x = jnp.float64(0.12132987)
        v, cache = g.double_well_forward(x)
        assert cache.h1.dtype == jnp.float64
        np.testing.assert_allclose(g.double_well(x), -0.029225168711847025, rtol=1e-15)
        np.testing.assert_allclose(v, -0.029225168711847025, rtol=1e-14)
        np.testing.assert_allclose(g.double_well_grad(x), -0.4781751223381389, rtol=1e-15)
        np.testing.assert_allclose(g.double_well_backward(cache), -0.4781751223381389, rtol=1e-14)
        np.testing.assert_allclose(jax.grad(g.double_well)(x), -0.4781751223381389, rtol=1e-14)


def test_double_well_known_points():
    # Stationary points: minima V(+-1) = -1, maximum V(0) = 0; dV/dx vanishes at all three.
    with jax.enable_x64():
        x = jnp.array([-1.0, 0.0, 1.0])
        np.testing.assert_array_equal(g.double_well(x), [-1.0, 0.0, -1.0])
        np.testing.assert_array_equal(g.double_well_backward(g.double_well_forward(x)[1]), 0.0)


def _double_well_primitive_grad(x):
    return g.double_well_backward(g.double_well_forward(x)[1])


@settings(max_examples=25, deadline=None)
@given(st.floats(min_value=-3.0, max_value=3.0, allow_nan=False))
def test_double_well_gradient_matches_jax_and_fd(x0):
    (primitive,) = check_gradients(g.double_well, _double_well_primitive_grad, (x0,), (0,))
    with jax.enable_x64():
        x = jnp.float64(x0)
        v, _ = g.double_well_forward(x)
        np.testing.assert_allclose(v, g.double_well(x), rtol=1e-13, atol=1e-13)
        np.testing.assert_allclose(primitive, g.double_well_grad(x), rtol=1e-13, atol=1e-13)


def test_double_well_backward_is_elementwise_and_scales_with_adjoint():
    with jax.enable_x64():
        x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 4)))
        _, cache = g.double_well_forward(x)
        np.testing.assert_allclose(
            g.double_well_backward(cache, 2.5), 2.5 * g.double_well_grad(x), rtol=1e-13
        )
        # The vector-Jacobian product of an elementwise map with a ones cotangent is the elementwise
        # derivative.
        _, vjp = jax.vjp(g.double_well, x)
        np.testing.assert_allclose(g.double_well_backward(cache), vjp(jnp.ones_like(x))[0], rtol=1e-13)


# ---------------------------------------------------------------------------------------------- tanh(a . x)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("d", (1, 10))
def test_tanh_dot_gradient(seed, d):
    rng = np.random.default_rng(seed)
    a, x = rng.normal(size=d), rng.normal(size=d)
    check_gradients(g.tanh_dot, g.tanh_dot_grad, (a, x), (0,))


# -------------------------------------------------------------------------------------- two-layer sigmoid net

SHAPES = [(1, 1, 1), (3, 2, 1), (4, 5, 3)]  # (D, H, K)


def _two_layer_problem(rng, d, h, k, n=None):
    theta1 = rng.normal(size=(h, d))
    theta2 = rng.normal(size=(k, h))
    x = rng.normal(size=d if n is None else (n, d))
    t = rng.uniform(size=k if n is None else (n, k))
    return theta1, theta2, x, t


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_two_layer_gradients_one_sample(seed, shape):
    args = _two_layer_problem(np.random.default_rng(seed), *shape)
    check_gradients(g.two_layer_loss, g.two_layer_grads, args, (0, 1))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape,n", [((3, 2, 1), 7), ((4, 5, 3), 1), ((4, 5, 3), 7)])
def test_two_layer_gradients_batch(seed, shape, n):
    args = _two_layer_problem(np.random.default_rng(seed), *shape, n=n)
    check_gradients(g.two_layer_loss_batch, g.two_layer_grads_batch, args, (0, 1))


def test_two_layer_batch_gradient_is_mean_of_single_sample_gradients():
    args = _two_layer_problem(np.random.default_rng(5), 4, 5, 3, n=7)
    with jax.enable_x64():
        args = tuple(jnp.asarray(a) for a in args)
        g1, g2 = jax.jit(g.two_layer_grads_batch)(*args)
        mean_single = jax.jit(
            lambda *a: [s.mean(axis=0) for s in jax.vmap(g.two_layer_grads, in_axes=(None, None, 0, 0))(*a)]
        )
        m1, m2 = mean_single(*args)
    assert m1.dtype == jnp.float64
    np.testing.assert_allclose(g1, m1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(g2, m2, rtol=1e-12, atol=1e-14)


def test_two_layer_swapping_the_layers_sigma_prime_is_wrong():
    """The wrong-layer chain (output sigma' y(1-y) where the hidden h(1-h) belongs) differs from jax.grad."""
    rng = np.random.default_rng(3)
    with jax.enable_x64():
        theta1, theta2, x, t = (jnp.asarray(a) for a in _two_layer_problem(rng, 4, 3, 3))

        @jax.jit
        def wrong_right_hand(theta1, theta2, x, t):
            y, _ = g.two_layer_forward(theta1, theta2, x)
            delta2 = (y - t) * y * (1 - y)
            wrong = jnp.outer((theta2.T @ delta2) * (y * (1 - y)), x)  # H == K here, so the shapes fit
            right = jax.grad(g.two_layer_loss)(theta1, theta2, x, t)
            return wrong, right, g.two_layer_grads(theta1, theta2, x, t)[0]

        wrong, right, hand = wrong_right_hand(theta1, theta2, x, t)
    np.testing.assert_allclose(hand, right, rtol=1e-12)
    assert not np.allclose(wrong, right, rtol=1e-3)


# ------------------------------------------------------------------------------ linear and logistic
# regression


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n,d", [(1, 1), (20, 4)])
@pytest.mark.parametrize(
    "loss_fn,grads_fn",
    [
        (g.linear_regression_loss, g.linear_regression_grads),
        (g.logistic_regression_loss, g.logistic_regression_grads),
    ],
    ids=("linear", "logistic"),
)
def test_regression_gradients(seed, n, d, loss_fn, grads_fn):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=(n, d)), rng.normal(size=d), rng.normal()
    if loss_fn is g.logistic_regression_loss:
        y = rng.integers(0, 2, size=n).astype(np.float64)
    else:
        y = rng.normal(size=n)
    check_gradients(loss_fn, grads_fn, (w, b, x, y), (0, 1), variants=BOTH_REDUCTIONS)


def test_logistic_gradient_is_sum_of_residual_times_feature():
    """dL/dw_j = sum_i (y_hat_i - y_i) x_ij, written out with explicit loops; mean divides by N."""
    rng = np.random.default_rng(7)
    n, d = 6, 3
    with jax.enable_x64():
        x = rng.normal(size=(n, d))
        w = rng.normal(size=d)
        y = rng.integers(0, 2, size=n).astype(np.float64)
        y_hat = 1 / (1 + np.exp(-(x @ w)))
        expected = np.array([sum((y_hat[i] - y[i]) * x[i, j] for i in range(n)) for j in range(d)])
        gw, _ = g.logistic_regression_grads(jnp.asarray(w), 0.0, jnp.asarray(x), jnp.asarray(y))
        np.testing.assert_allclose(gw, expected, rtol=1e-12)
        gw_mean, _ = g.logistic_regression_grads(
            jnp.asarray(w), 0.0, jnp.asarray(x), jnp.asarray(y), reduction="mean"
        )
        np.testing.assert_allclose(gw_mean, expected / n, rtol=1e-12)


def test_logistic_loss_is_finite_for_huge_logits():
    with jax.enable_x64():
        x = jnp.array([[1.0], [1.0]])
        y = jnp.array([0.0, 1.0])
        value = g.logistic_regression_loss(jnp.array([1000.0]), 0.0, x, y)
        np.testing.assert_allclose(
            value, 1000.0, rtol=1e-12
        )  # -log(1 - sigma(1000)) = 1000 + log(1 + e^-1000)


def test_bad_reduction_is_rejected():
    x = jnp.ones((2, 1))
    with pytest.raises(ValueError, match="reduction='total'"):
        g.linear_regression_loss(jnp.ones(1), 0.0, x, jnp.ones(2), reduction="total")
