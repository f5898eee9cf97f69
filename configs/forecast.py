"""Forecast the vorticity `horizon` frames ahead from the current frame (the course's homework), on 32 x 32
images (64 x 64 crop, downsampled by 2): a linear output layer over all 1024 pixels after an MLP (256,).

    python -m turbjax.train --config configs/forecast.py --workdir runs/forecast

results.json reports test_r2 next to persistence_test_r2, the R^2 of predicting that nothing changes.
Expect: TODO(seed data) test R^2 vs persistence and runtime, measured on the seed data set.
"""

import importlib.util
from pathlib import Path

# configs/default.py, loaded by path so that this file works from any working directory
_spec = importlib.util.spec_from_file_location("configs.default", Path(__file__).with_name("default.py"))
default = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(default)


def get_config():
    c = default.get_config()
    c.data.target = "forecast"
    c.data.horizon = 5
    c.data.downsample = 2
    c.model.hidden = (256,)
    c.training.epochs = 50
    return c
