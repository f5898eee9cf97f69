"""A small CNN on the 64 x 64 vorticity images: three 3x3 conv blocks (8, 16, 16 channels, each followed by
2x2 average pooling), a 32-unit dense layer, linear output: 36k parameters, a twelfth of the MLP (100, 100).

    python -m turbjax.train --config configs/cnn.py --workdir runs/cnn

Expect: TODO(seed data) test R^2 and runtime, measured on the seed data set.
"""

from configs import default


def get_config():
    c = default.get_config()
    c.model.name = "cnn"
    c.model.cnn_features = (8, 16, 16)
    c.model.cnn_dense = (32,)
    c.training.epochs = 30
    return c
