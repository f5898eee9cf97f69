"""Crop, time stride, spatial downsample, flatten and unflatten of vorticity stacks (T, nx, ny).

Pure functions of their inputs; like `turbjax.data.vorticity` they run in the namespace of the input (numpy
in, numpy out; jax in, jax out, jit-able with the integer arguments static).

The default crop, crop_x=(160, 224) and crop_y=(32, 96) on the vorticity grid, is the course's wake window:
the last 127 x-cells of its 255-wide forward-difference grid (x >= 128), then [32:96, 32:96] -> 64 x 64.
"""

from __future__ import annotations


def check_window(window, size: int, name: str, where: str = "") -> tuple[int, int]:
    """Validate a half-open window (start, stop) on an axis of length `size`; returns it as ints."""
    try:
        start, stop = (int(v) for v in window)
    except (TypeError, ValueError):
        raise ValueError(f"{name}={window!r} must be a pair of integers (start, stop)") from None
    if not 0 <= start < stop <= size:
        raise ValueError(
            f"{name}=({start}, {stop}) lies outside the grid{where}: expected 0 <= start < stop <= {size}; "
            f"choose a window inside [0, {size})"
        )
    return start, stop


def crop(omega, crop_x, crop_y):
    """omega[:, x0:x1, y0:y1] for crop_x = (x0, x1), crop_y = (y0, y1); error if the window leaves the
    grid."""
    if omega.ndim != 3:
        raise ValueError(f"crop expects a stack (T, nx, ny), got shape {tuple(omega.shape)}")
    x0, x1 = check_window(crop_x, omega.shape[1], "crop_x", f" x range of size {omega.shape[1]}")
    y0, y1 = check_window(crop_y, omega.shape[2], "crop_y", f" y range of size {omega.shape[2]}")
    return omega[:, x0:x1, y0:y1]


def stride_time(x, every: int):
    """Every `every`-th frame along axis 0, starting with frame 0."""
    if int(every) != every or every < 1:
        raise ValueError(f"time stride must be a positive integer, got {every!r}")
    return x[:: int(every)]


def downsample(omega, factor: int):
    """Block mean over factor x factor cells: (T, nx, ny) -> (T, nx / factor, ny / factor).

    Error if `factor` does not divide both nx and ny (crop to a multiple first).
    """
    if int(factor) != factor or factor < 1:
        raise ValueError(f"downsample factor must be a positive integer, got {factor!r}")
    factor = int(factor)
    if factor == 1:
        return omega
    t, nx, ny = omega.shape
    if nx % factor or ny % factor:
        raise ValueError(
            f"downsample factor {factor} does not divide the image shape ({nx}, {ny}); "
            f"choose a crop whose sides are multiples of {factor}, or another factor"
        )
    return omega.reshape(t, nx // factor, factor, ny // factor, factor).mean(axis=(2, 4))


def flatten(images):
    """(N, h, w) -> (N, h * w), row-major (y fastest), as the course did."""
    if images.ndim != 3:
        raise ValueError(f"flatten expects images (N, h, w), got shape {tuple(images.shape)}")
    return images.reshape(images.shape[0], -1)


def unflatten(x, image_shape):
    """(N, h * w) -> (N, h, w), the inverse of `flatten`; also (h * w,) -> (h, w) for a single sample."""
    h, w = (int(s) for s in image_shape)
    if x.shape[-1] != h * w:
        raise ValueError(f"cannot reshape {x.shape[-1]} features into images {(h, w)}: expected {h * w}")
    return x.reshape(*x.shape[:-1], h, w)

