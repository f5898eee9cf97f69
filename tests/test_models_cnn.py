"""The CNN's convolutions with hand-written gradients (turbjax.models.conv) == flax.linen.Conv /
lax.conv_general_dilated with autodiff: forward outputs and gradients with the same parameters, float32 and
float64, both forward paths (patch product below PATCH_BELOW input channels, XLA's convolution above); relu +
pooling == flax's; the same parameter tree; the global-average-pooling head."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from configs import default
from turbjax.models import build_model
from turbjax.models.cnn import CNN
from turbjax.models.conv import conv2d_same, relu_avg_pool2

# float32: the products sum the same terms in another order (k*k*C <= 144 terms per output)
TOL = {jnp.float32: {"rtol": 2e-5, "atol": 2e-5}, jnp.float64: {"rtol": 1e-11, "atol": 1e-12}}


def model_config(**kw):
    m = default.get_model_config()
    m.update(name="cnn", **kw)
    return m


def cast(tree, dtype):
    return jax.tree_util.tree_map(lambda a: a.astype(dtype), tree)


def assert_trees_close(a, b, dtype):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b), strict=True):
        assert u.dtype == v.dtype == dtype
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), **TOL[dtype])


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
# c_in below and above PATCH_BELOW: both forward paths
@pytest.mark.parametrize("k,c_in,c_out,shape",
                         [(3, 1, 4, (9, 7)), (3, 5, 3, (6, 6)), (2, 3, 2, (5, 8)), (5, 2, 3, (4, 7)),
                          (2, 6, 2, (5, 8)), (5, 4, 3, (4, 7))])
def test_conv2d_same_equals_lax_conv_forward_and_gradients(dtype, k, c_in, c_out, shape):
    with jax.enable_x64(dtype == jnp.float64):
        rng = np.random.default_rng(k + c_in)
        x = jnp.asarray(rng.normal(size=(3,) + shape + (c_in,)), dtype)  # NHWC
        kern = jnp.asarray(rng.normal(size=(k, k, c_in, c_out)), dtype)
        bias = jnp.asarray(rng.normal(size=(c_out,)), dtype)
        g = jnp.asarray(rng.normal(size=(3,) + shape + (c_out,)), dtype)  # a cotangent: tests every output

        def ref(x, kern, bias):
            return lax.conv_general_dilated(x, kern, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC")) + bias

        y_ref, vjp_ref = jax.vjp(ref, x, kern, bias)
        y, vjp = jax.jit(lambda *a: jax.vjp(conv2d_same, *a))(x, kern, bias)
        assert_trees_close(y, y_ref, dtype)
        assert_trees_close(vjp(g), vjp_ref(g), dtype)


@pytest.mark.parametrize("shape", [(6, 8), (5, 7)])
def test_relu_avg_pool2_equals_flax_and_its_gradient_autodiff(shape):
    """Odd sizes drop the last row / column (as nn.avg_pool) and get a zero gradient there."""
    from flax import linen as nn

    rng = np.random.default_rng(0)
    z = jnp.asarray(rng.normal(size=(2,) + shape + (3,)), jnp.float32)
    g = jnp.asarray(rng.normal(size=(2, shape[0] // 2, shape[1] // 2, 3)), jnp.float32)

    def ref(z):
        return nn.avg_pool(jax.nn.relu(z), (2, 2), strides=(2, 2))

    y_ref, vjp_ref = jax.vjp(ref, z)
    y, vjp = jax.jit(lambda z: jax.vjp(relu_avg_pool2, z))(z)
    np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-7)
    (dz,), (dz_ref,) = vjp(g), vjp_ref(g)
    np.testing.assert_allclose(dz, dz_ref, rtol=1e-6, atol=1e-7)
    if shape[0] % 2:
        assert not np.any(np.asarray(dz)[:, -1])


@pytest.mark.parametrize("dtype, head", [(jnp.float32, "flatten"), (jnp.float64, "gap")])
def test_cnn_custom_equals_the_flax_conv_version(dtype, head):
    """Same parameters in both (one tree, nn.Conv's names and shapes), same outputs and parameter gradients,
    on an odd image size (pooling drops a row) and three conv blocks."""
    shape = (13, 10)
    kw = {"image_shape": shape, "features": (4, 6, 5), "dense": (7,), "num_outputs": 2, "head": head}
    fast, plain = CNN(conv="custom", **kw), CNN(conv="xla", **kw)
    params = fast.init(jax.random.key(0), jnp.zeros((1, shape[0] * shape[1])))  # float32, as in training
    plain_params = plain.init(jax.random.key(0), jnp.zeros((1, shape[0] * shape[1])))
    assert jax.tree_util.tree_map(jnp.shape, params) == jax.tree_util.tree_map(jnp.shape, plain_params)
    assert_trees_close(params, plain_params, jnp.float32)  # the same initialization too
    assert params["params"]["conv_1"]["kernel"].shape == (3, 3, 4, 6)
    with jax.enable_x64(dtype == jnp.float64):
        rng = np.random.default_rng(1)
        x = jnp.asarray(rng.normal(size=(6, shape[0] * shape[1])), dtype)
        y = jnp.asarray(rng.normal(size=(6, 2)), dtype)
        params = cast(params, dtype)

        def loss(model):
            return lambda p: jnp.mean((model.apply(p, x) - y) ** 2)

        assert_trees_close(jax.jit(fast.apply)(params, x), plain.apply(params, x), dtype)
        assert_trees_close(jax.jit(jax.grad(loss(fast)))(params), jax.grad(loss(plain))(params), dtype)


def test_default_cnn_params_tree_and_count_are_nn_conv_s():
    """The default (8, 16, 16) CNN keeps nn.Conv's parameter tree, so checkpoints of the old model load."""
    fast = build_model(model_config(), num_outputs=1, image_shape=(64, 64))
    plain = build_model(model_config(cnn_conv="xla"), num_outputs=1, image_shape=(64, 64))
    a = jax.eval_shape(fast.init, jax.random.key(0), jnp.zeros((1, 4096)))
    b = jax.eval_shape(plain.init, jax.random.key(0), jnp.zeros((1, 4096)))
    assert jax.tree_util.tree_map(lambda s: s.shape, a) == jax.tree_util.tree_map(lambda s: s.shape, b)
    assert sum(int(np.prod(s.shape)) for s in jax.tree_util.tree_leaves(a)) == 36_401


def test_gap_head_is_independent_of_the_image_size():
    """GAP parameters do not depend on the image size: the parameters of a 64x64 model apply to 64x112
    images, and a picture made of two copies side by side (112 = 2 x 56 columns, 56 a multiple of the
    pooling grid 8) gives the same features, hence the same output, as one copy."""
    m64 = build_model(model_config(cnn_head="gap"), num_outputs=1, image_shape=(64, 64))
    m112 = build_model(model_config(cnn_head="gap"), num_outputs=1, image_shape=(64, 112))
    params = m64.init(jax.random.key(0), jnp.zeros((1, 64 * 64)))
    # zero biases (as initialized, set here explicitly): zero regions stay zero through every conv and relu
    params = jax.tree_util.tree_map_with_path(
        lambda path, a: jnp.zeros_like(a) if path[-1].key == "bias" else a, params
    )
    p112 = m112.init(jax.random.key(0), jnp.zeros((1, 64 * 112)))
    assert jax.tree_util.tree_map(jnp.shape, params) == jax.tree_util.tree_map(jnp.shape, p112)
    assert (sum(int(np.prod(x.shape)) for x in jax.tree_util.tree_leaves(params))
            == 8 * 9 + 8 + 16 * 72 + 16 + 16 * 144 + 16 + 16 * 32 + 32 + 33)
    # a 64 x 56 tile that is zero in its outer columns and rows: with zero padding at the image border, its
    # convolutions see the same neighbourhoods when tiled (the receptive field reaches 7 pixels)
    tile = np.zeros((3, 64, 56), np.float32)
    tile[:, 8:-8, 8:-8] = np.random.default_rng(0).normal(size=(3, 48, 40))
    wide = np.concatenate([tile, tile], axis=2).reshape(3, -1)
    gap_wide = m112.apply(params, jnp.asarray(wide))
    # reference: the same network on the 64x56 tile (its own model, same parameters)
    m56 = build_model(model_config(cnn_head="gap"), num_outputs=1, image_shape=(64, 56))
    np.testing.assert_allclose(gap_wide, m56.apply(params, jnp.asarray(tile.reshape(3, -1))), rtol=1e-5,
                               atol=1e-5)


def test_bad_head_or_conv_names_the_value():
    with pytest.raises(ValueError, match="cnn_head='mean'"):
        build_model(model_config(cnn_head="mean"), num_outputs=1, image_shape=(8, 8))
    with pytest.raises(ValueError, match="cnn_conv='cudnn'"):
        build_model(model_config(cnn_conv="cudnn"), num_outputs=1, image_shape=(8, 8))


def test_cnn_predicts_in_training_batch_chunks_equal_to_one_call():
    """The trainer's predict runs the CNN over chunks of the training batch (the last one shorter): the
    same outputs as one call on the whole set; predict_members too, member by member (a 2-member ensemble)."""
    from configs import cnn as cnn_config
    from turbjax.models import member_outputs
    from turbjax.training.loop import make_train
    from turbjax.training.optimizers import default_hparams

    rng = np.random.default_rng(0)
    data = {"X_train": jnp.asarray(rng.normal(size=(16, 8 * 6)), jnp.float32),
            "y_train": jnp.asarray(rng.normal(size=(16, 1)), jnp.float32),
            "X_test": jnp.asarray(rng.normal(size=(23, 8 * 6)), jnp.float32),
            "y_test": jnp.asarray(rng.normal(size=(23, 1)), jnp.float32)}
    c = cnn_config.get_config()
    c.model.cnn_features, c.model.cnn_dense = (4, 4), (6,)
    c.training.batch_size = 5
    c.model.members = 2
    t = make_train(c, data, image_shape=(8, 6))
    params = t.init(default_hparams(c.optim), jax.random.key(0))["params"]
    whole = t.model.apply(params, data["X_test"])
    np.testing.assert_allclose(jax.jit(t.predict)(params, data["X_test"]), whole, rtol=1e-6, atol=1e-6)
    members = member_outputs(t.model, params, data["X_test"])
    assert members.shape == (2, 23, 1) and not np.allclose(members[0], members[1])
    np.testing.assert_allclose(jax.jit(t.predict_members)(params, data["X_test"]), members, rtol=1e-6,
                               atol=1e-6)
