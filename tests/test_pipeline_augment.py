"""The pipeline's side of augmentation: the data window widened by the shift, a mirror-symmetric standardizer,
and the refusal of image augmentation on spectral features."""

from __future__ import annotations

import numpy as np
import pytest

from configs import test as test_config
from conftest import write_quick_grid_synthetic
from turbjax import pipeline
from turbjax.configs.validate import validate_config
from turbjax.data.dataset import build_dataset
from turbjax.training.augment import mirror


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("synthetic"), (300.0, 900.0))


def config(data_dir, **training):
    c = test_config.get_config()
    c.data.dir = str(data_dir)
    c.data.reynolds = (300.0, 900.0)
    c.data.downsample = 1
    for k, v in training.items():
        c.training[k] = v
    return c


def test_shift_widens_the_window_by_the_shift_on_both_sides(data_dir):
    plain = build_dataset(config(data_dir).data)
    c = config(data_dir, augment=("shift",), shift=3)
    prep = pipeline.prepare(c)
    h, w = plain.image_shape
    assert prep.ds.image_shape == (h + 6, w)
    wide = prep.ds.train.X.reshape(-1, h + 6, w)
    # the centred window of the wide data is exactly the configured crop
    np.testing.assert_array_equal(wide[:, 3 : 3 + h], plain.train.X.reshape(-1, h, w))
    assert c.data.crop_x == test_config.get_config().data.crop_x  # the config itself is not changed


def test_mirror_standardizer_commutes_with_the_mirror(data_dir):
    prep = pipeline.prepare(config(data_dir, augment=("mirror",)))
    shape = prep.ds.image_shape
    mean, scale = prep.stats["x_mean"], prep.stats["x_scale"]
    np.testing.assert_allclose(np.asarray(mirror(mean[None], shape))[0], mean, atol=1e-6)
    np.testing.assert_allclose(np.asarray(mirror(scale[None], shape))[0], -scale, rtol=1e-6)
    x = prep.ds.test.X
    lhs = np.asarray(mirror((x - mean) / scale, shape))
    rhs = (np.asarray(mirror(x, shape)) - mean) / scale
    np.testing.assert_allclose(lhs, rhs, atol=1e-4)


def test_image_augmentation_on_spectra_is_refused(data_dir):
    c = config(data_dir, augment=("mirror",))
    c.data.features = "fft2"
    with pytest.raises(ValueError, match="features='fft2'"):
        validate_config(c)


def test_cnn_on_a_row_of_statistics_is_refused(data_dir):
    c = config(data_dir)
    c.model.name, c.data.features = "cnn", "gradstats"
    with pytest.raises(ValueError, match="features='gradstats' gives a 1 x n row"):
        validate_config(c)
