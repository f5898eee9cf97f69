"""Regression on log Re (data.log_target): the transform and its inverse, the statistics the pipeline fits,
and a model that is exact in log space scoring R^2 = 1 in original units (where a linear target cannot)."""

from __future__ import annotations

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from turbjax import pipeline
from turbjax.configs.validate import validate_config
from turbjax.data.standardize import target_from_model, target_to_model
from turbjax.scoring import predictions
from turbjax.training import metrics as M
from turbjax.training.loop import make_train
from turbjax.training.optimizers import default_hparams


def test_target_round_trip_in_numpy_and_jax():
    y = np.array([[200.0], [650.0], [1400.0]])
    t = target_to_model(y, log=True)
    np.testing.assert_allclose(t, np.log(y))
    mean, scale = t.mean(0), t.std(0)
    z = (t - mean) / scale
    np.testing.assert_allclose(target_from_model(z, mean, scale, log=True), y, rtol=1e-12)
    back = target_from_model(jnp.asarray(z), mean, scale, log=True)
    np.testing.assert_allclose(np.asarray(back), y, rtol=1e-5)
    np.testing.assert_array_equal(target_to_model(y, log=False), y)
    with pytest.raises(ValueError, match="positive"):
        target_to_model(np.array([300.0, 0.0]), log=True)


def fake_dataset(x, y, n_test):
    test = SimpleNamespace(X=x[:n_test], y=y[:n_test])
    return SimpleNamespace(train=SimpleNamespace(X=x[n_test:], y=y[n_test:]), val=test, test=test,
                           image_shape=(1, x.shape[1]))


def log_linear_data(n=240, f=4, seed=0):
    """Re = exp(x . w + b) exactly, spanning ~200-1400: linear in log space only."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, f)).astype(np.float32)
    w = np.array([0.5, -0.3, 0.2, 0.1])[:f]
    y = np.exp(x @ w + np.log(560.0)).astype(np.float32)
    return x, y


def linear_config(log_target: bool):
    c = default.get_config()
    c.data.log_target = log_target
    c.model.name = "linear"
    c.optim.name = "lbfgs"
    c.optim.learning_rate, c.optim.momentum, c.optim.schedule = 1.0, 0.0, "constant"
    c.training.epochs = 60
    return c


def test_pipeline_fits_the_target_statistics_on_log_re():
    x, y = log_linear_data()
    data, stats = pipeline.prepare_arrays(fake_dataset(x, y, 40), linear_config(True))
    logy = np.log(y[40:].astype(np.float64))
    np.testing.assert_allclose(stats["y_mean"], [logy.mean()], rtol=1e-6)
    np.testing.assert_allclose(stats["y_scale"], [logy.std()], rtol=1e-5)
    expected = (logy - logy.mean()) / logy.std()
    np.testing.assert_allclose(np.asarray(data["y_train"])[:, 0], expected, atol=1e-5)


@pytest.mark.parametrize("log_target", [True, False])
def test_a_log_linear_law_is_exact_only_with_the_log_target(log_target):
    x, y = log_linear_data()
    config = linear_config(log_target)
    data, _ = pipeline.prepare_arrays(fake_dataset(x, y, 40), config)
    trainer = make_train(config, data)
    assert trainer.log_target is log_target
    state, _ = jax.jit(trainer.train)(default_hparams(config.optim), jax.random.key(0))
    pred = predictions(trainer, state["params"], data)[:, 0]
    metrics = jax.jit(trainer.evaluate)(state["params"], data["X_test"], data["y_test"], data)
    # The trainer's metrics are those of the predictions in original units (Re, not log Re) ...
    np.testing.assert_allclose(float(metrics["r2"]), M.r2_score(y[:40], pred), rtol=1e-4)
    np.testing.assert_allclose(float(metrics["mae"]), np.abs(pred - y[:40]).mean(), rtol=1e-4, atol=1e-3)
    # ... and only the log target makes the law exact: a straight line cannot follow the exponential.
    if log_target:
        np.testing.assert_allclose(pred, y[:40], rtol=1e-3)
    else:
        assert np.abs(pred - y[:40]).max() / y[:40].mean() > 0.02


def test_a_classifier_with_a_log_target_is_refused():
    c = default.get_config()
    c.data.log_target = True
    c.model.name = "logistic"
    with pytest.raises(ValueError, match="log_target=True regresses log Re"):
        validate_config(c)
