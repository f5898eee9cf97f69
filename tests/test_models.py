"""Model shapes, parameter counts, activations, the registry's errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from turbjax.models import build_model, model_task


def n_params(model, f):
    params = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, f)))
    return params, sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(params))


def cfg(**kw):
    m = default.get_model_config()
    m.update(kw)
    return m


def test_mlp_shapes_and_parameter_count():
    model = build_model(cfg(name="mlp", hidden=(100, 100)), num_outputs=1)
    params, n = n_params(model, 4096)
    assert n == 4096 * 100 + 100 + 100 * 100 + 100 + 100 + 1
    assert jax.eval_shape(model.apply, params, jnp.ones((7, 4096))).shape == (7, 1)


@pytest.mark.parametrize(
    "act,fn",
    [("relu", jax.nn.relu), ("tanh", jnp.tanh), ("sigmoid", jax.nn.sigmoid), ("identity", lambda x: x)],
)
def test_mlp_activation_and_linear_output(act, fn):
    model = build_model(cfg(name="mlp", hidden=(5,), activation=act), num_outputs=2)
    params = model.init(jax.random.key(0), jnp.zeros((1, 3)))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
    p = params["params"]
    h = fn(x @ p["hidden_0"]["kernel"].T + p["hidden_0"]["bias"])  # kernels are stored (out, in)
    expected = h @ p["out"]["kernel"].T + p["out"]["bias"]
    np.testing.assert_allclose(model.apply(params, x), expected, rtol=1e-5, atol=1e-6)


def test_linear_logistic_and_tasks():
    assert model_task(cfg(name="linear")) == "regression"
    assert model_task(cfg(name="logistic", logistic="binary")) == "binary"
    assert model_task(cfg(name="logistic", logistic="softmax")) == "softmax"
    _, n = n_params(build_model(cfg(name="linear"), num_outputs=3), 10)
    assert n == 10 * 3 + 3
    _, n = n_params(build_model(cfg(name="logistic", logistic="softmax"), num_outputs=1, num_classes=4), 10)
    assert n == 10 * 4 + 4
    _, n = n_params(build_model(cfg(name="logistic", logistic="binary"), num_outputs=1, num_classes=4), 10)
    assert n == 11


def test_cnn_is_much_smaller_than_the_mlp_and_reshapes_flat_inputs():
    model = build_model(cfg(name="cnn"), num_outputs=1, image_shape=(64, 64))
    shapes = jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((1, 64 * 64)))
    assert sum(np.prod(x.shape) for x in jax.tree_util.tree_leaves(shapes)) == 36_401  # MLP (100, 100): 420k
    small = build_model(cfg(name="cnn", cnn_features=(4,), cnn_dense=()), num_outputs=2, image_shape=(6, 4))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(3, 24)), jnp.float32)
    params = small.init(jax.random.key(0), x[:1])
    y = jax.jit(small.apply)(params, x)
    assert y.shape == (3, 2)
    # the flat vector is read row-major as a (6, 4) image: conv + pool by hand on x[1].reshape(6, 4)
    p = params["params"]
    img = np.pad(np.asarray(x[1]).reshape(6, 4), 1)
    k, bias = np.asarray(p["conv_0"]["kernel"])[:, :, 0, :], np.asarray(p["conv_0"]["bias"])
    patches = [[np.einsum("ab,abc->c", img[i : i + 3, j : j + 3], k) for j in range(4)] for i in range(6)]
    conv = np.stack(patches) + bias
    pooled = np.maximum(conv, 0).reshape(3, 2, 2, 2, 4).mean(axis=(1, 3)).reshape(-1)
    expected = pooled @ np.asarray(p["out"]["kernel"]).T + np.asarray(p["out"]["bias"])
    np.testing.assert_allclose(y[1], expected, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="6x4"):
        small.apply(params, jnp.ones((1, 100)))


@pytest.mark.parametrize(
    "kw,match",
    [
        ({"name": "transformer"}, "not a model"),
        ({"name": "mlp", "activation": "gelu"}, "activation"),
        ({"name": "mlp", "hidden": (10, 0)}, "positive ints"),
        ({"name": "logistic", "logistic": "ternary"}, "logistic mode"),
    ],
)
def test_registry_errors_name_the_value(kw, match):
    with pytest.raises(ValueError, match=match):
        build_model(cfg(**kw), num_outputs=1)


def test_cnn_needs_image_shape():
    with pytest.raises(ValueError, match="image shape"):
        build_model(cfg(name="cnn"), num_outputs=1)


def test_dense_is_linen_dense_with_a_transposed_kernel():
    from flax import linen as nn

    from turbjax.models.layers import Dense

    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 300)), jnp.float32)
    ours = Dense(200).init(jax.random.key(1), x)
    k = ours["params"]["kernel"]
    assert k.shape == (200, 300)
    np.testing.assert_allclose(float(jnp.std(k)), 1 / np.sqrt(300), rtol=0.05)  # LeCun normal, fan_in = 300
    ref = {"params": {"kernel": k.T, "bias": ours["params"]["bias"]}}
    np.testing.assert_allclose(Dense(200).apply(ours, x), nn.Dense(200).apply(ref, x), rtol=1e-5, atol=1e-5)
