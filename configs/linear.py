"""Linear regression of the Reynolds number on the standardized vorticity (the simplest network).

    python -m turbjax.train --config configs/linear.py --workdir runs/linear

Full-batch L-BFGS on (1/2) MSE + (l2/2)||w||^2: with 4096 features and 1920 training samples least squares is
underdetermined, so a small ridge penalty picks a well-posed solution (the closed form with
leave-one-out CV is `turbjax.models.ridge.ridge_cv`; alpha = N * l2).
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
    c.model.name = "linear"
    c.optim.name = "lbfgs"
    c.optim.learning_rate = 1.0  # scales the L-BFGS direction; the zoom line search picks the step
    c.optim.momentum = 0.0
    c.optim.schedule = "constant"  # the line search sets the step length
    c.optim.l2 = 1e-3
    c.training.epochs = 200  # one L-BFGS iteration (full batch) per epoch
    c.training.epochs_per_chunk = 20
    c.training.checkpoint_every = 20
    return c
