"""Phase-invariant features: facts (shift and mirror invariance, Parseval) and their use in build_dataset."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configs.default import get_data_config
from turbjax.data.dataset import build_dataset, image_shape_for
from turbjax.data.features import FEATURES, binned_power, compute_features, feature_shape, folded_power
from turbjax.data.synthetic import vortex_street_velocity, write_synthetic_files
from turbjax.data.vorticity import vorticity

SPECTRAL = [f for f in FEATURES if f != "pixels"]
# gradstats: periodic differences only (own test); wakestats see positions (strips, the cross-stream profile)
SPECTRA = [f for f in SPECTRAL if f not in ("gradstats", "wakestats")]


def images(h=16, w=12, n=3, seed=0):
    return np.random.default_rng(seed).normal(size=(n, h, w)) + 0.3


@given(sx=st.integers(0, 15), sy=st.integers(0, 11), name=st.sampled_from(SPECTRA),
       remove_mean=st.booleans())
@settings(max_examples=40, deadline=None)
def test_circular_shift_leaves_spectral_features_unchanged(sx, sy, name, remove_mean):
    x = images()
    a = compute_features(x, name, remove_mean=remove_mean)
    b = compute_features(np.roll(x, (sx, sy), axis=(1, 2)), name, remove_mean=remove_mean)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)  # log power: float32 rounding of values ~ +-10


@pytest.mark.parametrize("name", SPECTRAL)
@pytest.mark.parametrize("shape", [(16, 12), (13, 7)])
def test_mirror_y_with_negated_vorticity_leaves_them_unchanged(name, shape):
    x = images(*shape)
    mirrored = -x[:, :, ::-1]  # y -> -y, omega -> -omega
    np.testing.assert_allclose(compute_features(x, name), compute_features(mirrored, name), rtol=0, atol=1e-5)
    # Pixels do see the mirror (the features are not trivially constant):
    assert not np.allclose(compute_features(x, "pixels"), compute_features(mirrored, "pixels"))


@pytest.mark.parametrize("bins", ["radial", "streamwise"])
@pytest.mark.parametrize("remove_mean", [True, False])
def test_parseval_for_the_binned_spectra(bins, remove_mean):
    x = images(16, 12)
    centred = x - x.mean(axis=(1, 2), keepdims=True) if remove_mean else x
    np.testing.assert_allclose(binned_power(x, bins, remove_mean).sum(axis=1), (centred**2).sum(axis=(1, 2)),
                               rtol=1e-12)


def test_folded_power_agrees_with_the_full_spectrum():
    """Independent computation: P(kx, ky) = mean of |F|^2 at (kx, ky) and (-kx, ky) of numpy's fft2, and the
    mean-removed DC bin is exactly 0."""
    x = images(8, 6, n=1)[0]
    F = np.abs(np.fft.fft2(x - x.mean())) ** 2
    P = folded_power(x[None])[0]
    assert P.shape == (5, 4) and P[0, 0] == 0.0
    for kx in range(5):
        for ky in range(1, 4):
            assert np.isclose(P[kx, ky], 0.5 * (F[kx, ky] + F[-kx % 8, ky]))


def test_features_in_the_data_set(tmp_path):
    res = (300.0, 600.0)
    write_synthetic_files(tmp_path, res, nx=24, ny=16, frames=8, dx=1 / 16, frame_dt=10 / 128,
                          seeds=[int(re) for re in res])
    cfg = get_data_config()
    cfg.dir, cfg.reynolds, cfg.crop_x, cfg.crop_y = str(tmp_path), res, (4, 20), (2, 14)
    cfg.split, cfg.gap = "time", 0
    pixels = build_dataset(cfg)
    for name in SPECTRAL:
        cfg.features = name
        ds = build_dataset(cfg)
        assert ds.image_shape == image_shape_for(cfg) == feature_shape(name, (16, 12))
        assert (ds.train.X.shape == (len(pixels), int(np.prod(ds.image_shape)))
                and ds.train.X.dtype == np.float32)
        np.testing.assert_allclose(ds.train.X, compute_features(pixels.reshape(pixels.train.X), name).reshape(
            len(pixels), -1), rtol=1e-6)
        assert f"features ({name})" in ds.summary()
    # The pixels themselves are the cropped vorticity.
    np.testing.assert_array_equal(pixels.reshape(pixels.test.X[:1])[0],
                                  vorticity(vortex_street_velocity(300.0, nx=24, ny=16, frames=8, dx=1 / 16,
                                                                   seed=300), 1.0)
                                  [pixels.test.frame[0], 4:20, 2:14])


def test_gradient_statistics_are_blind_to_shifts_and_the_mirror():
    from turbjax.data.features import gradient_statistics

    w = np.random.default_rng(1).normal(size=(3, 16, 12))
    ref = gradient_statistics(w, periodic=True)
    shifted = np.roll(w, (5, 3), axis=(1, 2))
    np.testing.assert_allclose(gradient_statistics(shifted, periodic=True), ref, rtol=1e-12)
    np.testing.assert_allclose(gradient_statistics(-w[:, :, ::-1], periodic=True), ref, rtol=1e-12)
    np.testing.assert_allclose(gradient_statistics(-w[:, :, ::-1]), gradient_statistics(w), rtol=1e-12)


def test_gradient_statistics_of_a_plane_wave():
    """w = sin(k x) on a periodic grid: <w^2> = 1/2, the forward difference's <g^2> = 2 (1 - cos k) / 2, the
    5-point Laplacian's <(lap w)^2> = (2 cos k - 2)^2 / 2, kurtosis 3/2."""
    from turbjax.data.features import gradient_statistics

    n, k = 32, 2 * np.pi * 3 / 32
    w = np.broadcast_to(np.sin(k * np.arange(n))[:, None], (n, 8))[None]
    s = gradient_statistics(w, periodic=True)[0]
    g2, l2 = (1 - np.cos(k)), (2 * np.cos(k) - 2) ** 2 / 2
    np.testing.assert_allclose(s, [np.log(0.5), np.log(g2), np.log(l2), np.log(g2 / 0.5), np.log(l2 / g2),
                                   np.log(np.abs(w).max()), 1.5], rtol=1e-9, atol=1e-9)
    assert compute_features(w, "gradstats").shape == (1, 1, 7) == (1, *feature_shape("gradstats", (n, 8)))


def test_wake_statistics_are_gradstats_of_the_window_and_of_its_strips():
    from turbjax.data.features import N_WAKESTATS, WAKE_STRIPS, gradient_statistics, wake_statistics

    w = np.random.default_rng(2).normal(size=(3, 20, 10))
    s = wake_statistics(w)
    assert s.shape == (3, N_WAKESTATS) and compute_features(w, "wakestats").shape == (3, 1, N_WAKESTATS)
    assert feature_shape("wakestats", (20, 10)) == (1, N_WAKESTATS)
    np.testing.assert_array_equal(s[:, :7], gradient_statistics(w))
    for k in range(WAKE_STRIPS):  # 20 rows: strips of 5 along x
        strip = gradient_statistics(w[:, 5 * k:5 * k + 5])
        np.testing.assert_array_equal(s[:, 7 * (k + 1):7 * (k + 2)], strip)
    with pytest.raises(ValueError, match="at least 12 x 3 cells"):
        wake_statistics(w[:, :9])


def test_wake_statistics_of_fields_with_known_distributions_and_profiles():
    """|w| = c everywhere (a checkerboard of +-c): every quantile of |w| equals its rms (log 0); a linear
    ramp w = a x has |grad w| = a at every corner (log 0); enstrophy on the two rows y = +-d only: both
    widths are d."""
    from turbjax.data.features import WAKE_QUANTILES, wake_statistics

    nq = len(WAKE_QUANTILES)
    i, j = np.meshgrid(np.arange(16), np.arange(9), indexing="ij")
    board = 0.7 * (-1.0) ** (i + j)
    s = wake_statistics(board[None])[0]
    q_w, widths = s[35:35 + nq], s[-2:]
    np.testing.assert_allclose(q_w, 0.0, atol=1e-9)
    ramp = 0.3 * i.astype(float)
    q_grad = wake_statistics(ramp[None])[0][35 + nq:35 + 2 * nq]
    np.testing.assert_allclose(q_grad, 0.0, atol=1e-9)
    rows = np.zeros((16, 9))
    rows[:, [1, 7]] = 1.0  # y = -3 and +3 cells from the centre (index 4)
    np.testing.assert_allclose(wake_statistics(rows[None])[0][-2:], [3.0, 3.0], rtol=1e-9)
    y = np.arange(9) - 4.0  # the checkerboard's enstrophy is uniform across the 9 rows
    np.testing.assert_allclose(widths, [np.mean(y**2) ** 0.5, np.mean(y**4) ** 0.25], rtol=1e-9)
