"""Crop, stride, downsample, flatten on a field whose values encode their indices: 1000 t + 10 x + y."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.data.transforms import crop, downsample, flatten, stride_time, unflatten


def indexed(t=6, nx=12, ny=8):
    T, X, Y = np.meshgrid(np.arange(t), np.arange(nx), np.arange(ny), indexing="ij")
    return (1000 * T + 10 * X + Y).astype(np.float64)


def test_crop_takes_the_half_open_window():
    out = crop(indexed(), (3, 7), (2, 5))
    assert out.shape == (6, 4, 3)
    assert out[0, 0, 0] == 32 and out[0, -1, -1] == 64 and out[5, 1, 2] == 5000 + 40 + 4


def test_default_crop_is_the_courses_window():
    # Course: forward-difference grid 255 x 127, last 127 x-cells, then [32:96, 32:96].
    omega = indexed(1, 255, 127)
    course = omega[:, -127:, :][:, 32:96, 32:96]
    np.testing.assert_array_equal(crop(omega, (160, 224), (32, 96)), course)


@pytest.mark.parametrize(
    ("cx", "cy", "message"),
    [
        ((3, 13), (0, 8), r"crop_x=\(3, 13\) lies outside the grid x range of size 12: expected 0 <= start < "
                          r"stop <= 12"),
        ((5, 5), (0, 8), r"crop_x=\(5, 5\) lies outside"),
        ((0, 12), (-1, 4), r"crop_y=\(-1, 4\) lies outside the grid y range of size 8"),
        ((0, 12), "ab", r"crop_y='ab' must be a pair of integers"),
    ],
)
def test_crop_errors(cx, cy, message):
    with pytest.raises(ValueError, match=message):
        crop(indexed(), cx, cy)


def test_crop_needs_a_stack():
    with pytest.raises(ValueError, match=r"crop expects a stack \(T, nx, ny\), got shape \(12, 8\)"):
        crop(indexed()[0], (0, 1), (0, 1))


def test_stride_keeps_every_nth_frame_from_zero():
    out = stride_time(indexed(t=11), 5)
    np.testing.assert_array_equal(out[:, 0, 0], [0, 5000, 10000])
    with pytest.raises(ValueError, match="time stride must be a positive integer, got 0"):
        stride_time(indexed(), 0)


def test_downsample_is_the_block_mean():
    out = downsample(indexed(t=2, nx=4, ny=6), 2)
    assert out.shape == (2, 2, 3)
    # Block (x 0..1, y 0..1): mean of 0, 1, 10, 11 = 5.5; block (x 2..3, y 4..5): 20+4 .. 31+5 -> 29.5.
    assert out[0, 0, 0] == 5.5 and out[1, 1, 2] == 1000 + 29.5
    assert downsample(indexed(), 1) is not None and downsample(indexed(), 1).shape == (6, 12, 8)


def test_downsample_errors():
    with pytest.raises(ValueError, match=r"downsample factor 3 does not divide the image shape \(12, 8\)"):
        downsample(indexed(), 3)
    with pytest.raises(ValueError, match="downsample factor must be a positive integer, got 0"):
        downsample(indexed(), 0)


def test_flatten_is_row_major_and_unflatten_inverts_it():
    images = indexed(t=3, nx=4, ny=5)
    x = flatten(images)
    assert x.shape == (3, 20)
    np.testing.assert_array_equal(x[1, :6], [1000, 1001, 1002, 1003, 1004, 1010])
    np.testing.assert_array_equal(unflatten(x, (4, 5)), images)
    np.testing.assert_array_equal(unflatten(x[2], (4, 5)), images[2])
    with pytest.raises(ValueError, match=r"cannot reshape 20 features into images \(4, 4\): expected 16"):
        unflatten(x, (4, 4))
    with pytest.raises(ValueError, match=r"flatten expects images \(N, h, w\)"):
        flatten(x)


def test_transforms_jit_on_jax_arrays():
    f = jax.jit(lambda w: flatten(downsample(crop(stride_time(w, 2), (0, 8), (0, 8)), 2)))
    out = f(jnp.asarray(indexed(), jnp.float32))
    ref = flatten(downsample(crop(stride_time(indexed(), 2), (0, 8), (0, 8)), 2))
    assert isinstance(out, jax.Array)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-6)
