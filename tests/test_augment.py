"""Augmentation: mirror is an involution that fixes y-antisymmetric fields, crops are slices, evaluation uses
the centred window, draws depend only on (key, epoch, step), bad settings are refused; in the training core:
chunked/resumed augmented runs equal one call, vmap over keys equals separate runs, centred-window training
equals training on pre-cropped data, and predict/evaluate crop the centre."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ml_collections import ConfigDict

from configs import default
from train_helpers import standardized_data, vorticity_arrays
from turbjax.configs.validate import validate_config
from turbjax.training import augment as aug
from turbjax.training.loop import make_train
from turbjax.training.optimizers import default_hparams

H, W, S = 10, 6, 2  # the stored images (H, W) = (h + 2 S, w); the model sees (h, w) = (6, 6)


def images(b=5, seed=0):
    return jnp.asarray(np.random.default_rng(seed).normal(size=(b, H * W)), jnp.float32)


def test_mirror_twice_is_the_identity():
    x = images()
    assert np.array_equal(aug.mirror(aug.mirror(x, (H, W)), (H, W)), x)
    assert not np.allclose(aug.mirror(x, (H, W)), x)


def test_mirror_flips_y_and_negates():
    x = images(1).reshape(H, W)
    np.testing.assert_array_equal(aug.mirror(x.reshape(1, -1), (H, W)).reshape(H, W), -x[:, ::-1])


def test_the_mirror_of_a_y_antisymmetric_field_is_itself():
    # omega(x, -y) = -omega(x, y) about the centre line (cell centres y_j symmetric about 0), as a vortex-free
    # shear layer pair or the mean wake's vorticity: the mirror leaves it unchanged
    xs = np.linspace(0, 3, H)[:, None]
    yc = np.arange(W) - (W - 1) / 2
    field = (np.sin(xs) + 2.0) * np.tanh(yc)[None, :] * np.exp(-(yc**2) / 4)[None, :]
    x = jnp.asarray(field.reshape(1, -1), jnp.float32)
    np.testing.assert_array_equal(aug.mirror(x, (H, W)), x)


def test_a_crop_is_the_slice_at_its_offset_and_evaluation_takes_the_centre():
    x = images()
    h = H - 2 * S
    offsets = jnp.asarray([0, 1, 2, 4, 3], jnp.int32)
    out = np.asarray(aug.crop(x, offsets, (H, W), h)).reshape(-1, h, W)
    imgs = np.asarray(x).reshape(-1, H, W)
    for b, o in enumerate(np.asarray(offsets)):
        np.testing.assert_array_equal(out[b], imgs[b, o : o + h])
    centre = np.asarray(aug.centre_crop(x, (H, W), S)).reshape(-1, h, W)
    np.testing.assert_array_equal(centre, imgs[:, S : S + h])
    assert aug.centre_crop(x, (H, W), 0) is x


def test_draws_cover_the_offsets_and_mirror_half_the_samples():
    b = 4000
    # distinct rows, so a crop's first value tells its offset and its sign whether it was mirrored
    rows = np.repeat(np.arange(H, dtype=np.float32)[:, None] + 1.0, W, axis=1)  # row i holds i + 1, > 0
    x = jnp.asarray(np.broadcast_to(rows.ravel(), (b, H * W)).copy())
    out = np.asarray(aug.augment_batch(jax.random.key(0), x, ("mirror", "shift"), (H, W), S))
    first = out.reshape(b, H - 2 * S, W)[:, 0, 0]
    mirrored = first < 0  # the mirror negates
    offsets = np.abs(first) - 1.0
    assert set(np.unique(offsets)) == set(range(2 * S + 1))  # every offset in [0, 2 S], nothing else
    assert abs(mirrored.mean() - 0.5) < 0.05  # p = 1/2; 4000 draws: sd 0.008


def test_draws_depend_only_on_key_epoch_and_step():
    key = jax.random.key_data(jax.random.key(3))
    x = images(64)

    def draw(e, s, k=key):
        return np.asarray(
            aug.augment_batch(aug.step_key(k, jnp.int32(e), jnp.int32(s)), x, ("mirror", "shift"), (H, W), S)
        )

    a = draw(2, 5)
    assert np.array_equal(a, draw(2, 5))
    assert not np.array_equal(a, draw(3, 5)) and not np.array_equal(a, draw(2, 6))
    assert not np.array_equal(a, draw(2, 5, jax.random.key_data(jax.random.key(4))))


@pytest.mark.parametrize(
    ("augment", "shift", "match"),
    [
        (("flip",), 0, r"'flip' is not an augmentation; expected names from \('mirror', 'shift'\)"),
        (("shift",), 0, r"contains 'shift' but config.training.shift=0"),
        ((), -1, r"config.training.shift=-1 must be an int >= 0"),
    ],
)
def test_bad_settings_are_refused_in_one_line(augment, shift, match):
    with pytest.raises(ValueError, match=match):
        aug.parse_augment(ConfigDict({"augment": augment, "shift": shift}))


def test_defaults_and_a_command_line_string():
    assert aug.parse_augment(ConfigDict({})) == ((), 0)
    assert aug.parse_augment(ConfigDict({"augment": "mirror,shift", "shift": 3})) == (("mirror", "shift"), 3)
    assert aug.make_augment((), None, 0) is None  # nothing to do: the training step sees the rows as stored


# --- in the training core
# -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def wide():
    """(16, 12) images: a 12 x 12 window with 2 cells of streamwise room on each side."""
    x, y = vorticity_arrays(frames=12, crop=16)
    x = x.reshape(-1, 16, 16)[:, :, 2:14].reshape(len(x), -1)
    return standardized_data(x, y)


def config(**training):
    c = default.get_config()
    c.model.hidden = (8,)
    c.training.batch_size = 8
    c.training.epochs = 4
    for k, v in training.items():
        c.training[k] = v
    return c


def tree_equal(a, b):
    return all(np.array_equal(u, v) for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))


def test_augmented_runs_in_chunks_equal_one_call(wide):
    c = config(augment=("mirror", "shift"), shift=2)
    t = make_train(c, wide, image_shape=(16, 12))
    assert t.window_shape == (12, 12) and t.input_shape == (16, 12) and t.augment == ("mirror", "shift")
    hp = default_hparams(c.optim)
    full, _ = jax.jit(t.train)(hp, jax.random.key(1), wide)
    run = jax.jit(t.run_epochs, static_argnames="num_epochs")
    state = t.init(hp, jax.random.key(1))
    for chunk in (1, 2, 1):  # resumed after epochs 1 and 3
        state, _ = run(state, hp, num_epochs=chunk, data=wide)
    assert int(state["epoch"]) == 4 and tree_equal(state, full)
    # and the augmentation changes training (else the test above proves nothing about it)
    plain = make_train(config(shift=2), wide, image_shape=(16, 12))
    p, _ = jax.jit(plain.train)(hp, jax.random.key(1), wide)
    assert not tree_equal(p["params"], full["params"])


def test_centred_window_training_equals_training_on_pre_cropped_data(wide):
    """shift > 0 without "shift": every crop is the centred one, so the run is bit-identical to a run on the
    centred windows stored as the data; predict and evaluate crop the centre too."""
    narrow = dict(wide)
    for k in ("X_train", "X_test"):
        narrow[k] = aug.centre_crop(wide[k], (16, 12), 2)
    hp = default_hparams(config().optim)
    t_wide = make_train(config(shift=2, augment=("mirror",)), wide, image_shape=(16, 12))
    t_narrow = make_train(config(augment=("mirror",)), narrow, image_shape=(12, 12))
    a, m_a = jax.jit(t_wide.train)(hp, jax.random.key(2), wide)
    b, m_b = jax.jit(t_narrow.train)(hp, jax.random.key(2), narrow)
    assert tree_equal(a, b)
    np.testing.assert_array_equal(m_a["test_r2"], m_b["test_r2"])
    np.testing.assert_array_equal(
        t_wide.predict(a["params"], wide["X_test"]), t_narrow.predict(b["params"], narrow["X_test"])
    )


def test_vmapped_augmented_runs_equal_separate_runs(wide):
    c = config(augment=("mirror", "shift"), shift=2, epochs=2)
    t = make_train(c, wide, image_shape=(16, 12))
    hp = default_hparams(c.optim)
    keys = jax.random.split(jax.random.key(0), 2)
    hp_T = {k: jnp.broadcast_to(v, (2,)) for k, v in hp.items()}
    sweep, _ = jax.jit(jax.vmap(t.train, in_axes=(0, 0, None)))(hp_T, keys, wide)
    train = jax.jit(t.train)
    for i in range(2):
        s, _ = train(hp, keys[i], wide)
        for a, b in zip(jax.tree.leaves(s["params"]), jax.tree.leaves(sweep["params"]), strict=True):
            np.testing.assert_allclose(b[i], a, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize(
    ("kw", "image_shape", "match"),
    [
        ({"augment": ("mirror",)}, None, r"need the images' shape: pass make_train\(\.\.\., image_shape"),
        ({"shift": 8}, (16, 12), r"shift=8 needs images longer than 16 cells along x"),
        ({"shift": 2}, (12, 12), r"image_shape=\(12, 12\) has 144 pixels but X_train has 192 features"),
    ],
)
def test_make_train_refuses_impossible_windows(wide, kw, image_shape, match):
    with pytest.raises(ValueError, match=match):
        make_train(config(**kw), wide, image_shape=image_shape)


def test_lbfgs_refuses_augmentation():
    c = config(augment=("mirror",))
    c.optim.name = "lbfgs"
    c.optim.schedule = "constant"
    c.optim.momentum = 0.0
    with pytest.raises(ValueError, match=r"L-BFGS assumes one fixed objective"):
        validate_config(c)
