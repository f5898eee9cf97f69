"""A small CNN on the 64 x 64 vorticity images: three 3x3 conv blocks (8, 16, 16 channels, each followed by
2x2 average pooling), a 32-unit dense layer, linear output: 36k parameters, a twelfth of the MLP (100, 100).

    python -m turbjax.train --config configs/cnn.py --workdir runs/cnn

Measured on the built-in simulator's seed data (random split: 1536 train / 384 validation / 480 test,
64 x 64), on the 2-core CPU (2026-12-06, turbjax.models.conv): test R^2 0.99916 (validation 0.99918) after
the 10 epochs, 21 s of training with compilation. Epoch times, with flax's nn.Conv and on a GPU:
docs/performance_notes.md.
"""

from turbjax.configs import default


def get_config():
    c = default.get_config()
    c.model.name = "cnn"
    c.model.cnn_features = (8, 16, 16)
    c.model.cnn_dense = (32,)
    c.training.epochs = 10
    return c
