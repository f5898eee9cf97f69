"""A small CNN on the 64 x 64 vorticity images: three 3x3 conv blocks (8, 16, 16 channels, each followed by
2x2 average pooling), a 32-unit dense layer, linear output: 36k parameters, a twelfth of the MLP (100, 100).

    python -m turbjax.train --config configs/cnn.py --workdir runs/cnn

Expect: TODO(seed data) test R^2 and runtime, measured on the seed data set.
"""

import importlib.util
from pathlib import Path

# configs/default.py, loaded by path so that this file works from any working directory
_spec = importlib.util.spec_from_file_location("configs.default", Path(__file__).with_name("default.py"))
default = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(default)


def get_config():
    c = default.get_config()
    c.model.name = "cnn"
    c.model.cnn_features = (8, 16, 16)
    c.model.cnn_dense = (32,)
    c.training.epochs = 30
    return c
