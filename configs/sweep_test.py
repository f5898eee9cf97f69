"""Tiny sweep for smoke tests: configs/test.py (MLP (32, 32), 16x16 crops of the `quick` preset, 6 epochs),
SGD with learning rates 10 (diverges), 0.05 and 0.01, seeds 0 and 1: 6 trials, one compiled program.

    python -m turbjax.sweep --config configs/sweep_test.py --workdir runs/sweep_test

tests/test_sweep.py runs it on small synthetic files (data.dir overridden). Expect seconds of training after
~15-30 s of compilation on a 2-core CPU; the two learning-rate-10 trials are flagged `diverged`.
"""

from configs import test
from turbjax.sweep.axes import sweep_section


def get_config():
    c = test.get_config()
    c.optim.name = "sgd"
    c.optim.momentum = 0.0
    c.sweep = sweep_section(learning_rate=(10.0, 0.05, 0.01), seed=(0, 1))
    return c
