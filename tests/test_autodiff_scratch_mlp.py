"""The from-scratch MLP: hand-written backprop == jax.grad, it trains on a small Reynolds data set to test
R^2 >= 0.95, and each cause of the course's R^2 = nan, switched on alone, breaks training the way the module
docstring says."""

import itertools
import runpy
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.autodiff import scratch_mlp as mlp
from turbjax.data.synthetic import small_reynolds_arrays

REYNOLDS = (300.0, 600.0, 900.0, 1200.0)
# One setting for every training run in this module, so the jitted run compiles once (lr and the failure-mode
# switches are traced; epochs, batch size and shapes are static).
RUN = {"hidden": (64,), "lr": 0.01, "epochs": 100, "batch_size": 16, "seed": 0}


def standardize(x_train, y_train, x_test, y_test):
    """X per feature and y, both with the training set's mean and std."""
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    y_mu, y_sd = y_train.mean(), y_train.std()
    return (x_train - mu) / sd, (y_train - y_mu) / y_sd, (x_test - mu) / sd, (y_test - y_mu) / y_sd


@pytest.fixture(scope="module")
def raw_data():
    return small_reynolds_arrays(REYNOLDS)


@pytest.fixture(scope="module")
def data(raw_data):
    return standardize(*raw_data)


@pytest.fixture(scope="module")
def fixed_run(data):
    """The fixed recipe: standardized X and y, averaged gradients, He init, linear output."""
    return mlp.train_scratch_mlp(*data, **RUN)


def run_with(data, **changes):
    return mlp.train_scratch_mlp(*data, **{**RUN, **changes})


# ------------------------------------------------------------------------------------- gradients == jax.grad


VARIANTS = [(r, a) for r in mlp.REDUCTIONS for a in mlp.OUTPUT_ACTIVATIONS]


@jax.jit
def _hand_and_autodiff(params, x, y):
    """For every (reduction, output activation): hand-written (loss, grads) and jax.value_and_grad's, in one
    compiled program per input shape."""
    out = {}
    for reduction, output_activation in VARIANTS:
        kw = {"reduction": reduction, "output_activation": output_activation}
        out[reduction, output_activation] = (
            mlp.backward(params, x, y, **kw),
            jax.value_and_grad(mlp.loss)(params, x, y, **kw),
        )
    return out


def _random_problem(sizes, n, seed):
    """float64 params, x, y drawn with NumPy (jax.random would compile a sampler for every new shape)."""
    rng = np.random.default_rng(seed)
    # Non-zero biases so that the hidden ReLUs are active for some samples and inactive for others; the
    # output bias is then set so that the output pre-activations straddle zero (for the ReLU output variant).
    params = [
        {"w": rng.normal(size=(d_in, d_out)) / np.sqrt(d_in), "b": 0.3 * rng.normal(size=d_out)}
        for d_in, d_out in itertools.pairwise(sizes)
    ]
    x = rng.normal(size=(n, sizes[0]))
    y = rng.normal(size=(n, sizes[-1]))
    a = x
    for layer in params[:-1]:
        a = np.maximum(a @ layer["w"] + layer["b"], 0)
    z = np.sort(a @ params[-1]["w"], axis=0)
    params[-1]["b"] = -0.5 * (z[n // 2 - 1] + z[n // 2])
    return jax.tree.map(jnp.asarray, tuple(params)), jnp.asarray(x), jnp.asarray(y)


@pytest.mark.parametrize("seed", (0, 1))
@pytest.mark.parametrize("sizes,n", [((5, 4, 3, 2), 6), ((7, 8, 1), 5)])
def test_backward_matches_jax_grad(sizes, n, seed):
    with jax.enable_x64():
        params, x, y = _random_problem(sizes, n, seed)
        results = _hand_and_autodiff(params, x, y)
    for variant, ((value, grads), (value_ad, grads_ad)) in results.items():
        assert value.dtype == jnp.float64
        np.testing.assert_allclose(value, value_ad, rtol=1e-13, err_msg=str(variant))
        assert jax.tree.structure(grads) == jax.tree.structure(grads_ad) == jax.tree.structure(params)
        flat, flat_ad = jax.tree.leaves(grads), jax.tree.leaves(grads_ad)
        for g, g_ad in zip(flat, flat_ad, strict=True):
            np.testing.assert_allclose(g, g_ad, rtol=1e-12, atol=1e-14, err_msg=str(variant))
        assert any(np.abs(g).max() > 0 for g in flat), variant


def test_summed_gradient_is_batch_size_times_averaged_gradient():
    with jax.enable_x64():
        params, x, y = _random_problem((5, 4, 3, 2), 6, 2)
        results = _hand_and_autodiff(params, x, y)
    for output_activation in mlp.OUTPUT_ACTIVATIONS:
        g_sum = results["sum", output_activation][0][1]
        g_mean = results["mean", output_activation][0][1]
        for a, b in zip(jax.tree.leaves(g_sum), jax.tree.leaves(g_mean), strict=True):
            np.testing.assert_allclose(np.asarray(a), 6 * np.asarray(b), rtol=1e-13, atol=1e-15)


# ------------------------------------------------------------------------------------------------- training


def test_trains_to_test_r2_above_095(fixed_run):
    _, history = fixed_run
    assert history["train_loss"].shape == history["test_r2"].shape == (RUN["epochs"],)
    assert np.all(np.isfinite(history["train_loss"]))
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    assert history["test_r2"][-1] >= 0.95, history["test_r2"][-10:]


def test_summed_gradients_with_learning_rate_over_batch_size_is_the_averaged_run(data, fixed_run):
    """The sum is not wrong in itself: it multiplies the step by the batch size. Dividing lr by B restores
    the averaged run exactly (B = 16 is a power of two, so even the float32 rounding agrees)."""
    _, history = run_with(data, reduction="sum", lr=RUN["lr"] / RUN["batch_size"])
    np.testing.assert_allclose(history["train_loss"], fixed_run[1]["train_loss"], rtol=1e-5)
    np.testing.assert_allclose(history["test_r2"], fixed_run[1]["test_r2"], rtol=1e-5)


def _diverged(history):
    return not np.isfinite(history["train_loss"][-1]) and np.isnan(history["test_r2"][-1])


def test_failure_unscaled_targets_diverge(raw_data, data, fixed_run):
    x_train, _, x_test, _ = data
    _, y_train, _, y_test = raw_data  # Reynolds numbers of order 1000
    _, history = run_with((x_train, y_train, x_test, y_test))
    assert _diverged(history), history["train_loss"][:5]


def test_failure_summed_gradients_diverge(data):
    _, history = run_with(data, reduction="sum")
    assert _diverged(history), history["train_loss"][:5]


def test_failure_unit_normal_init_diverges(data):
    _, history = run_with(data, init_method="normal")
    assert _diverged(history), history["train_loss"][:5]


def test_init_scale_of_first_layer_preactivations(data):
    """Unit-normal weights give pre-activations with std ~ sqrt(D) on standardized inputs; He gives
    ~ sqrt(2), independent of D."""
    x = jnp.asarray(data[0], jnp.float32)
    d = x.shape[1]
    stds = {}
    for method in ("normal", "he"):
        layer = mlp.init(jax.random.key(0), (d, 64, 1), method=method)[0]
        stds[method] = float(jnp.std(x @ layer["w"]))
    assert 0.5 * np.sqrt(d) < stds["normal"] < 2 * np.sqrt(d), stds
    assert 0.5 * np.sqrt(2) < stds["he"] < 2 * np.sqrt(2), stds


def test_failure_relu_output_caps_r2_below_the_fraction_of_negative_targets(data, fixed_run):
    """With outputs >= 0, SS_res >= sum over negative targets of y^2, so R^2 <= 1 - that / SS_tot."""
    x_test, y_test = data[2], data[3]
    params, history = run_with(data, output_activation="relu")
    y_hat = np.asarray(mlp.forward(params, jnp.asarray(x_test, jnp.float32), output_activation="relu"))
    assert y_hat.min() >= 0
    cap = 1 - np.sum(y_test[y_test < 0] ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert cap < 0.95
    assert history["test_r2"][-1] <= cap + 1e-5
    assert history["test_r2"][-1] < fixed_run[1]["test_r2"][-1] - 0.3


def test_dead_relu_output_has_exactly_zero_gradient(data):
    """Once every output pre-activation is negative, a ReLU output unit passes no gradient: nothing learns."""
    x, y = jnp.asarray(data[0][:32], jnp.float32), jnp.asarray(data[1][:32, None], jnp.float32)
    params = mlp.init(jax.random.key(0), (x.shape[1], *RUN["hidden"], 1))
    params = (params[0], {"w": params[1]["w"], "b": params[1]["b"] - 100.0})
    y_hat, (value, grads) = jax.jit(
        lambda p: (
            mlp.forward(p, x, output_activation="relu"),
            mlp.backward(p, x, y, output_activation="relu"),
        )
    )(params)
    assert np.all(np.asarray(y_hat) == 0)
    assert value > 0
    assert all(np.all(np.asarray(g) == 0) for g in jax.tree.leaves(grads))


def test_course_recipe_learns_nothing(raw_data, data):
    """All four causes together (raw targets, summed gradients, unit-normal init, ReLU output): here the ReLU
    output unit ends up dead (zero for every sample), so the loss freezes and R^2 is far below zero; without
    the ReLU output the same recipe overflows to nan, the course's symptom."""
    raw = (data[0], raw_data[1], data[2], raw_data[3])
    course = {"reduction": "sum", "init_method": "normal"}
    params, history = run_with(raw, output_activation="relu", **course)
    assert np.all(
        np.asarray(mlp.forward(params, jnp.asarray(data[2], jnp.float32), output_activation="relu")) == 0
    )
    assert np.all(history["train_loss"] == history["train_loss"][0])
    assert history["test_r2"][-1] < 0
    _, history = run_with(raw, **course)
    assert _diverged(history)


# --------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "change,match",
    [
        ({"batch_size": 1000}, "batch_size=1000"),
        ({"lr": -1.0}, "lr=-1.0"),
        ({"reduction": "total"}, "reduction='total'"),
        ({"init_method": "zeros"}, "init_method='zeros'"),
    ],
)
def test_bad_settings_are_rejected(data, change, match):
    with pytest.raises(ValueError, match=match):
        run_with(data, **change)


def test_non_finite_inputs_are_rejected(data):
    x_train = data[0].copy()
    x_train[3, 5] = np.nan
    with pytest.raises(ValueError, match="x_train contains non-finite"):
        mlp.train_scratch_mlp(x_train, *data[1:], **RUN)


def test_script_writes_the_loss_curve(tmp_path, capsys):
    """scripts/scratch_mlp.py end to end (same shapes and settings as above, so no new compile)."""
    script = Path(__file__).resolve().parents[1] / "scripts" / "scratch_mlp.py"
    main = runpy.run_path(str(script))["main"]
    out = tmp_path / "loss.png"
    main(["--out", str(out), "--course", "--synthetic", "--hidden", "64", "--batch-size", "16"])
    assert out.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "course recipe, linear output: final train loss nan, R^2 nan" in printed
