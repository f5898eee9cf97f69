"""Tiny CPU config for smoke tests: MLP (32, 32) on 16x16 crops of the `quick` preset, 6 epochs.

    python -m turbjax.train --config configs/test.py --workdir runs/test

Generates the `quick` data set with the built-in simulator the first time (into data/quick), then trains in
seconds. tests/test_train.py runs it on small synthetic files instead (data.dir overridden): there, 96 train /
24 test samples, test R^2 ~0.83 after 6 epochs, ~11 s of which most is compilation (2-core CPU).
On the simulator's quick data (generated once, ~10 s): 320 train / 80 test, 6 epochs in ~5 s of training, test
R^2 ~0.63 (a smoke test, not a result); 18 s for the whole command including generation (2-core CPU).
"""

from turbjax.configs import default


def get_config():
    c = default.get_config()
    c.data.dir = "data/quick"
    c.data.preset = "quick"  # 96 x 64 grid, 100 frames per Re
    c.data.crop_x = (56, 88)
    c.data.crop_y = (16, 48)
    c.data.downsample = 2  # 16 x 16 = 256 features
    c.model.hidden = (32, 32)
    c.optim.schedule = "constant"  # so that tests may resume a run with more epochs and compare exactly
    c.training.batch_size = 16
    c.training.epochs = 6
    c.training.epochs_per_chunk = 2
    c.training.checkpoint_every = 2
    return c
