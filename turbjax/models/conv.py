"""SAME 2-D convolution as one matrix product per direction, in a channel-major (C, B, H, W) layout.

Why: inside the training loop's `lax.scan`, XLA:CPU compiles the convolutions that autodiff makes for the
backward pass of `lax.conv_general_dilated` (the input gradient with a reversed kernel, dim_labels
b01f_01oi->b01f, and the kernel gradient with the batch as the contracted feature, f01b_i01o->01bf) as
generic "elemental" loop kernels (scalar loop nests), not as library convolutions; a jitted single step
gets them canonicalized, the scanned step does not, and runs an order of magnitude slower (figures in
docs/performance_notes.md). Dots are compiled to library matrix products inside the scan too, so here every
convolution is a dot:

    forward        y_OxM  = W_Ox(TC) @ P_(TC)xM            P: the k*k shifted copies of x (T = k*k taps)
    kernel grad    dW     = g_OxM @ P^T                    (contracts the long M = B*H*W axis)
    input grad     dx_CxM = Wflip_Cx(TO) @ Pg_(TO)xM       Pg: shifted copies of g (a full correlation)

The channel-major layout puts the long M axis last, so every product has a long contiguous output or
contraction and the shifted copies are copies of whole image rows (vectorized), where channels-last (NHWC)
with 1-16 channels made the patch gather a scalar interleave. The kernel keeps Flax's (kh, kw, in, out)
layout, so parameters are interchangeable with `flax.linen.Conv`'s.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax


def _pads(k: int) -> tuple[int, int]:
    """SAME padding of a stride-1 window of size k (as lax: the extra row of an even k goes after)."""
    lo = (k - 1) // 2
    return lo, k - 1 - lo


def shifted_copies(x_CxBxHxW: jax.Array, k: int, lo: int, hi: int) -> jax.Array:
    """(k*k, C, B, H, W): x zero-padded by (lo, hi) in H and W, window offsets (i, j) in row-major order."""
    _, _, h, w = x_CxBxHxW.shape
    xp = jnp.pad(x_CxBxHxW, ((0, 0), (0, 0), (lo, hi), (lo, hi)))
    return jnp.stack([xp[:, :, i : i + h, j : j + w] for i in range(k) for j in range(k)])


def _dot(a, b, contract_a: int, contract_b: int):
    return lax.dot_general(a, b, (((contract_a,), (contract_b,)), ((), ())))


def _forward(x, kernel, bias):
    k, _, c, o = kernel.shape
    lo, hi = _pads(k)
    p = shifted_copies(x, k, lo, hi).reshape(k * k * c, -1)  # rows (i, j, c)
    w = jnp.transpose(kernel, (3, 0, 1, 2)).reshape(o, k * k * c)  # (O, (i, j, c))
    y = _dot(w, p, 1, 0).reshape((o,) + x.shape[1:])
    return y + bias[:, None, None, None], p


@jax.custom_vjp
def conv2d_same(x_CxBxHxW: jax.Array, kernel_KxKxCxO: jax.Array, bias_O: jax.Array) -> jax.Array:
    """y[o, b, h, w] = bias[o] + sum_{i, j, c} x_pad[c, b, h + i, w + j] kernel[i, j, c, o] (SAME, stride 1),
    i.e. `lax.conv_general_dilated(..., padding="SAME")` (cross-correlation) in the (C, B, H, W) layout."""
    return _forward(x_CxBxHxW, kernel_KxKxCxO, bias_O)[0]


def _conv_fwd(x, kernel, bias):
    y, p = _forward(x, kernel, bias)
    return y, (p, kernel)


def _conv_bwd(res, g):
    p, kernel = res
    k, _, c, o = kernel.shape
    g2 = g.reshape(o, -1)
    d_kernel = jnp.transpose(_dot(g2, p, 1, 1).reshape(o, k, k, c), (1, 2, 3, 0))
    d_bias = jnp.sum(g2, axis=1)
    # input gradient: correlation of g, padded the other way round, with the spatially flipped kernel.
    # XLA drops it (dead code) where nothing uses it, e.g. for the first layer, whose input is the data.
    lo, hi = _pads(k)
    pg = shifted_copies(g, k, hi, lo).reshape(k * k * o, -1)  # rows (i, j, o)
    w_flip = jnp.transpose(kernel[::-1, ::-1], (2, 0, 1, 3)).reshape(c, k * k * o)
    dx = _dot(w_flip, pg, 1, 0).reshape((c,) + g.shape[1:])
    return dx, d_kernel, d_bias


conv2d_same.defvjp(_conv_fwd, _conv_bwd)


def avg_pool2(z_CxBxHxW: jax.Array) -> jax.Array:
    """2x2 average pooling, stride 2, VALID (an odd last row / column is dropped, as `nn.avg_pool`)."""
    c, b, h, w = z_CxBxHxW.shape
    z = z_CxBxHxW[:, :, : h // 2 * 2, : w // 2 * 2].reshape(c, b, h // 2, 2, w // 2, 2)
    # four strided slices added elementwise (one loop fusion): a mean over the reshaped (3, 5) axes became a
    # slow library reduction (docs/performance_notes.md)
    return 0.25 * ((z[:, :, :, 0, :, 0] + z[:, :, :, 0, :, 1]) + (z[:, :, :, 1, :, 0] + z[:, :, :, 1, :, 1]))
