"""A small CNN on the 64 x 64 vorticity images: three 3x3 conv blocks (8, 16, 16 channels, each followed by
2x2 average pooling), a 32-unit dense layer, linear output: 36k parameters, a twelfth of the MLP (100, 100).

    python -m turbjax.train --config configs/cnn.py --workdir runs/cnn

Measured on the built-in simulator's seed data (random 80/20 split: 1920 train / 480 test, 64 x 64), on the
2-core CPU (the convolutions as matrix products, turbjax.models.conv): test R^2 0.99967 after the 10 epochs,
18.9 s of training with compilation, while the test suite ran beside it. Epoch times on an idle CPU, with
flax's nn.Conv and on a GPU: docs/performance_notes.md.
"""

from turbjax.configs import default


def get_config():
    c = default.get_config()
    c.model.name = "cnn"
    c.model.cnn_features = (8, 16, 16)
    c.model.cnn_dense = (32,)
    c.training.epochs = 10
    return c
