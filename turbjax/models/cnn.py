"""A small convolutional network on the (h, w) vorticity images.

The inputs stay flat (B, h*w) everywhere else in turbjax; the CNN reads them as (B, h, w) images with the
static image shape it was built with. Each conv block is Conv(k x k, SAME) -> relu -> 2x2 average pooling,
then a head and a linear output:
    head="flatten": the last feature map flattened in (h, w, c) order, then dense layers. With the default
        (8, 16, 16) features and a 32-unit dense layer on 64x64 images: 36,401 parameters, a twelfth of the
        MLP (100, 100)'s 420k.
    head="gap": the mean of each channel over the spatial positions (global average pooling), then dense
        layers. Translation invariant up to the pooling grid, and its parameters do not depend on the image
        size, so the same parameters apply to images of any size (build the module with the new shape).
conv="custom" (the default) computes the convolutions with turbjax.models.conv's hand-written gradients
(XLA:CPU runs the backward pass of its native convolutions inside the training scan as loop nests, ~10x
slower), and relu + pooling as one function with a one-loop gradient; conv="xla" uses `flax.linen.Conv`
(native convolutions and autodiff; the same function and parameter tree, kernels (k, k, in, out), so
checkpoints of either load in the other). Run directories stored with "patches", the name of an earlier
version of "custom" (same parameters and function), are read as "custom" (turbjax.workdir.RENAMED).
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import linen as nn

from turbjax.models.conv import conv2d_same, relu_avg_pool2
from turbjax.models.layers import Dense

CNN_HEADS = ("flatten", "gap")
CNN_CONVS = ("custom", "xla")


class ConvSame(nn.Module):
    """`nn.Conv(features, (k, k), padding="SAME")` on NHWC feature maps with turbjax.models.conv's
    gradients. Same parameters (names, shapes, initialization) as nn.Conv."""

    features: int
    kernel_size: int

    @nn.compact
    def __call__(self, x_BxHxWxC: jnp.ndarray) -> jnp.ndarray:
        k = self.kernel_size
        shape = (k, k, x_BxHxWxC.shape[-1], self.features)
        # nn.Conv's param_dtype
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape, jnp.float32)
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
        x, kernel, bias = nn.dtypes.promote_dtype(x_BxHxWxC, kernel, bias)
        return conv2d_same(x, kernel, bias)


class CNN(nn.Module):
    image_shape: tuple[int, int]
    features: tuple[int, ...] = (8, 16, 16)
    dense: tuple[int, ...] = (32,)
    kernel_size: int = 3
    num_outputs: int = 1
    head: str = "flatten"
    conv: str = "custom"

    @nn.compact
    def __call__(self, x_BxF: jnp.ndarray) -> jnp.ndarray:
        h, w = self.image_shape
        if x_BxF.shape[-1] != h * w:
            raise ValueError(f"CNN built for images {h}x{w} = {h * w} features, got {x_BxF.shape[-1]}")
        lead = x_BxF.shape[:-1]
        x = x_BxF.reshape((-1, h, w))
        z = self._conv_blocks_xla(x) if self.conv == "xla" else self._conv_blocks(x)  # (B, h', w', C)
        z = z.mean(axis=(1, 2)) if self.head == "gap" else z.reshape(z.shape[0], -1)
        for i, width in enumerate(self.dense):
            z = nn.relu(Dense(width, name=f"dense_{i}")(z))
        return Dense(self.num_outputs, name="out")(z).reshape(lead + (self.num_outputs,))

    def _conv_blocks(self, x_BxHxW):
        z = x_BxHxW[..., None]
        for i, c in enumerate(self.features):
            z = ConvSame(c, self.kernel_size, name=f"conv_{i}")(z)
            z = relu_avg_pool2(z) if z.shape[-3] >= 2 and z.shape[-2] >= 2 else nn.relu(z)
        return z

    def _conv_blocks_xla(self, x_BxHxW):
        z = x_BxHxW[..., None]
        for i, c in enumerate(self.features):
            z = nn.relu(nn.Conv(c, (self.kernel_size, self.kernel_size), padding="SAME", name=f"conv_{i}")(z))
            if z.shape[-3] >= 2 and z.shape[-2] >= 2:
                z = nn.avg_pool(z, (2, 2), strides=(2, 2))
        return z
