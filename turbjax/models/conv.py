"""SAME 2-D convolution and 2x2 average pooling on NHWC feature maps, with hand-written gradients.

Why: inside the training loop's `lax.scan`, XLA:CPU compiles the two convolutions that autodiff makes for
the backward pass of `lax.conv_general_dilated` (the input gradient with a reversed kernel, dim_labels
b01f_01oi->b01f, and the kernel gradient with the batch as the contracted feature, f01b_i01o->01bf) as
generic loop nests, not as library convolutions: an order of magnitude slower than its forward
convolutions (figures in docs/performance_notes.md). Here every product is one that XLA compiles well:

    forward        y  = conv(x, W)                 XLA's forward convolution (NHWC, HWIO), or, for inputs
                                                   with fewer than PATCH_BELOW channels, P_b^T @ W
    input grad     dx = conv(g, W')                W' = W flipped in space, in/out swapped, padding mirrored:
                                                   again a forward convolution with the same labels
    kernel grad    dW = sum_b P_b @ g_b            P_b = (k*k*C, H*W): the k*k shifted copies of image b
                                                   (`patches`), one batched product over the images

The kernel keeps Flax's (kh, kw, in, out) layout, so parameters are interchangeable with
`flax.linen.Conv`'s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

# below this many input channels the forward pass is the patch product (XLA's convolution of a
# one-channel image was 2x slower than P @ W; at 8 channels it was 2x faster, docs/performance_notes.md)
PATCH_BELOW = 4
_DIMS = ("NHWC", "HWIO", "NHWC")


def _pads(k: int) -> tuple[int, int]:
    """SAME padding of a stride-1 window of size k (as lax: the extra row of an even k goes after)."""
    lo = (k - 1) // 2
    return lo, k - 1 - lo


def patches(x_BxHxWxC: jax.Array, k: int) -> jax.Array:
    """(B, k*k*C, H*W): for each image, row (i, j, c) holds channel c of the zero-padded (SAME) image shifted
    by the window offset (i, j), the kernel's (i, j, c) order, so that kernel.reshape(k*k*C, O)^T @ P[b] is
    image b's convolution. Channel-major per image: each shifted copy is a copy of whole image rows."""
    b, h, w, c = x_BxHxWxC.shape
    lo, hi = _pads(k)
    xc = jnp.pad(jnp.transpose(x_BxHxWxC, (0, 3, 1, 2)), ((0, 0), (0, 0), (lo, hi), (lo, hi)))
    p = jnp.stack([xc[:, :, i : i + h, j : j + w] for i in range(k) for j in range(k)], axis=1)
    return p.reshape(b, k * k * c, h * w)


def _conv(x, kernel, padding):
    return lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_DIMS)


def _forward(x, kernel, bias):
    k, _, c, o = kernel.shape
    if c < PATCH_BELOW:
        p = patches(x, k)
        y = lax.dot_general(p, kernel.reshape(k * k * c, o), (((1,), (0,)), ((), ())))
        y = y.reshape(x.shape[:-1] + (o,))
    else:
        p, y = None, _conv(x, kernel, [_pads(k)] * 2)
    return y + bias, p


@jax.custom_vjp
def conv2d_same(x_BxHxWxC: jax.Array, kernel_KxKxCxO: jax.Array, bias_O: jax.Array) -> jax.Array:
    """y[b, h, w, o] = bias[o] + sum_{i, j, c} x_pad[b, h + i, w + j, c] kernel[i, j, c, o] (SAME, stride 1),
    i.e. `lax.conv_general_dilated(..., padding="SAME")` (cross-correlation) in NHWC / HWIO."""
    return _forward(x_BxHxWxC, kernel_KxKxCxO, bias_O)[0]


def _conv_fwd(x, kernel, bias):
    y, p = _forward(x, kernel, bias)
    return y, (p, x if p is None else None, kernel)  # the patches, or x to build them from


def _conv_bwd(res, g):
    p, x, kernel = res
    k, _, c, o = kernel.shape
    p = patches(x, k) if p is None else p
    # image by image (batched over B), then summed: one product over all B*H*W pixels was slower
    per_image = lax.dot_general(p, g.reshape(g.shape[0], -1, o), (((2,), (1,)), ((0,), (0,))))
    d_kernel = per_image.sum(0).reshape(kernel.shape)
    d_bias = jnp.sum(g, axis=(0, 1, 2))
    # XLA drops the input gradient (dead code) where nothing uses it, e.g. for the first layer
    lo, hi = _pads(k)
    w_t = jnp.transpose(kernel[::-1, ::-1], (0, 1, 3, 2))
    dx = _conv(g, w_t, [(hi, lo)] * 2)
    return dx, d_kernel, d_bias


conv2d_same.defvjp(_conv_fwd, _conv_bwd)


def _pool(z):
    b, h, w, c = z.shape
    z = z[:, : h // 2 * 2, : w // 2 * 2].reshape(b, h // 2, 2, w // 2, 2, c)
    # four strided slices added elementwise (one loop fusion): a mean over the reshaped axes became a slow
    # library reduction (docs/performance_notes.md)
    return 0.25 * ((z[:, :, 0, :, 0] + z[:, :, 0, :, 1]) + (z[:, :, 1, :, 0] + z[:, :, 1, :, 1]))


@jax.custom_vjp
def relu_avg_pool2(z_BxHxWxC: jax.Array) -> jax.Array:
    """2x2 average pooling (stride 2, VALID: an odd last row / column is dropped, as `nn.avg_pool`) of
    relu(z). The gradient is one loop: the pooled cotangent spread over its 2x2 cells where z > 0."""
    return _pool(jax.nn.relu(z_BxHxWxC))


def _relu_pool_fwd(z):
    return _pool(jax.nn.relu(z)), z


def _relu_pool_bwd(z, g):
    b, h, w, c = z.shape
    h2, w2 = g.shape[1], g.shape[2]
    up = jnp.broadcast_to(g[:, :, None, :, None, :], (b, h2, 2, w2, 2, c)).reshape(b, 2 * h2, 2 * w2, c)
    up = jnp.pad(up, ((0, 0), (0, h - 2 * h2), (0, w - 2 * w2), (0, 0)))
    return (jnp.where(z > 0, 0.25 * up, jnp.zeros_like(up)),)


relu_avg_pool2.defvjp(_relu_pool_fwd, _relu_pool_bwd)

