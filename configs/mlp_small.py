"""The course's small network: MLP (10, 10), relu, Adam 1e-3, batch 32 on the seed data set.

    python -m turbjax.train --config configs/mlp_small.py --workdir runs/mlp_small

Expect: TODO(seed data) test R^2 (issue target >= 0.98) and runtime, measured on the seed data set.
"""

from configs import default


def get_config():
    c = default.get_config()
    c.model.hidden = (10, 10)
    return c
