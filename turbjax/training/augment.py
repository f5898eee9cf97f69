"""Augmentation of the flat vorticity images, on device, inside the scanned epoch.

Images are stored flat, x_BxF with F = H * W for an image of shape (H, W) = (x extent, y extent), x first
(flat index i * W + j). Two augmentations, selected by `config.training.augment` (a tuple of names):

    mirror  with probability 1/2 per sample, y -> -y with vorticity -> -vorticity: the wake's statistical
            symmetry about its centre line. The image is flipped along its second (y) axis and negated. This
            is a symmetry of the standardized inputs only if the standardization commutes with it (a scalar or
            y-symmetric scale and a zero, or y-antisymmetric, mean), which is the pipeline's business.
    shift   random streamwise shifts of the crop window within the wake. With `config.training.shift = s`
            cells the inputs carry a window 2 s cells longer along x, (H, W) = (h + 2 s, w), and the model
            sees an (h, w) window: in training at a random offset in [0, 2 s] per sample, in evaluation and
            prediction at the centred offset s (`centre_crop`). With s > 0 and no "shift" in augment every
            crop is the centred one (the same model window without the augmentation: an ablation).

Every random draw is a function of (key, epoch, step) only (`step_key`), so a run resumed from a checkpoint,
or run in chunks of epochs, augments exactly as an uninterrupted one. Test data is never augmented.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax import lax

AUGMENTATIONS = ("mirror", "shift")

Array = jax.Array


def parse_augment(training_config) -> tuple[tuple[str, ...], int]:
    """(names, shift) from config.training.augment / .shift, refusing unknown names and impossible shifts."""
    names = training_config.get("augment", ())
    if isinstance(names, str):  # "mirror,shift" from a command line
        names = tuple(n.strip() for n in names.split(",") if n.strip())
    names = tuple(names)
    unknown = [n for n in names if n not in AUGMENTATIONS]
    if unknown:
        raise ValueError(
            f"config.training.augment={names!r}: {unknown[0]!r} is not an augmentation; expected names from "
            f"{AUGMENTATIONS}, e.g. --config.training.augment='(\"mirror\",)'"
        )
    shift = training_config.get("shift", 0)
    if isinstance(shift, bool) or not isinstance(shift, int) or shift < 0:
        raise ValueError(f"config.training.shift={shift!r} must be an int >= 0 (cells of streamwise shift)")
    if "shift" in names and shift == 0:
        raise ValueError(
            "config.training.augment contains 'shift' but config.training.shift=0; set "
            "--config.training.shift=S (cells, S >= 1) or drop 'shift' from the augmentations"
        )
    return names, shift


def window_shape(input_shape: tuple[int, int], shift: int) -> tuple[int, int]:
    """The model's (h, w) window of inputs of shape (h + 2 shift, w)."""
    big_h, w = input_shape
    if big_h - 2 * shift < 1:
        raise ValueError(
            f"config.training.shift={shift} needs images longer than {2 * shift} cells along x, got "
            f"{input_shape}; lower the shift or widen the data's window"
        )
    return big_h - 2 * shift, w


def step_key(key: Array, epoch: Array, step: Array) -> Array:
    """The augmentation key of minibatch `step` of `epoch`, from the raw uint32 run key."""
    ekey = jax.random.fold_in(jax.random.wrap_key_data(key), epoch)  # the epoch's permutation key
    return jax.random.fold_in(ekey, step)  # a key derived from it, never the permutation key itself


def mirror(x_BxF: Array, image_shape: tuple[int, int]) -> Array:
    """y -> -y, vorticity -> -vorticity: flip along the images' second axis and negate."""
    h, w = image_shape
    flipped = jnp.flip(x_BxF.reshape(x_BxF.shape[:-1] + (h, w)), axis=-1)
    return -flipped.reshape(x_BxF.shape)


def crop(x_BxF: Array, offsets_B: Array, input_shape: tuple[int, int], h: int) -> Array:
    """Per sample b, the h rows (x cells) starting at offsets_B[b] of its (H, w) image, flat (B, h * w).
    The rows of a flat, x-first image are contiguous, so a crop along x is one slice of h * w values."""
    w = input_shape[1]
    return jax.vmap(lambda row, o: lax.dynamic_slice(row, (o * w,), (h * w,)))(x_BxF, offsets_B)


def centre_crop(x_BxF: Array, input_shape: tuple[int, int], shift: int) -> Array:
    """The centred (h, w) window, offset `shift` along x (evaluation and prediction)."""
    if shift == 0:
        return x_BxF
    w = input_shape[1]
    h = input_shape[0] - 2 * shift
    return x_BxF[..., shift * w : (shift + h) * w]


def augment_batch(
    key: Array, x_BxF: Array, names: tuple[str, ...], input_shape: tuple[int, int], shift: int
) -> Array:
    """One training minibatch's model inputs: the (h, w) window at a random (or, without "shift", the centred)
    offset, mirrored per sample with probability 1/2 if "mirror" is in names. Draws depend only on `key`."""
    k_shift, k_mirror = jax.random.split(key)
    h = input_shape[0] - 2 * shift
    if "shift" in names:
        offsets = jax.random.randint(k_shift, x_BxF.shape[:1], 0, 2 * shift + 1)
        x_BxF = crop(x_BxF, offsets, input_shape, h)
    else:
        x_BxF = centre_crop(x_BxF, input_shape, shift)
    if "mirror" in names:
        flip = jax.random.bernoulli(k_mirror, 0.5, x_BxF.shape[:1])
        x_BxF = jnp.where(flip[:, None], mirror(x_BxF, (h, input_shape[1])), x_BxF)
    return x_BxF


def make_augment(
    names: tuple[str, ...], input_shape: tuple[int, int] | None, shift: int
) -> Callable[[Array, Array], Array] | None:
    """(key, x_BxF) -> model inputs of a training minibatch, or None when there is nothing to do (no
    augmentation and no shift: the training step then sees the rows exactly as stored)."""
    if not names and shift == 0:
        return None
    if input_shape is None:
        raise ValueError(
            f"config.training.augment={names!r} / shift={shift} need the images' shape: pass "
            "make_train(..., image_shape=(H, W))"
        )
    window_shape(input_shape, shift)  # refuse a shift that leaves no window
    return lambda key, x_BxF: augment_batch(key, x_BxF, names, input_shape, shift)
