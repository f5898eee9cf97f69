"""Linear regression of the Reynolds number on the standardized vorticity (the simplest network).

    python -m turbjax.train --config configs/linear.py --workdir runs/linear

Full-batch L-BFGS (one iteration per epoch, zoom line search) on (1/2) MSE + (l2/2)||w||^2. With 4096 features
and 1920 training samples least squares is underdetermined and ill-conditioned, so a tiny ridge penalty keeps
it well-posed and L-BFGS approaches the closed-form answer slowly. results.json also reports that closed form:
`ridge_cv`, ridge regression with alpha chosen by exact leave-one-out CV (turbjax.models.ridge; alpha = N*l2).
Measured on the simulator's seed data (random 80/20 split, idle 2-core CPU): test R^2 0.9992 after 1000 L-BFGS
iterations, 14 s of training (fewer iterations with a larger l2: docs/performance_notes.md); the closed-form
ridge (alpha=1e-6, i.e. essentially minimum-norm least squares) reaches test R^2 1.0000 (random split: test
frames have near-duplicates in the training set).
"""

from turbjax.configs import default


def get_config():
    c = default.get_config()
    c.model.name = "linear"
    c.optim.name = "lbfgs"
    c.optim.learning_rate = 1.0  # scales the L-BFGS direction; the zoom line search picks the step
    c.optim.momentum = 0.0
    c.optim.schedule = "constant"  # the line search sets the step length
    c.optim.l2 = 1e-6
    c.training.epochs = 1000  # one L-BFGS iteration (full batch) per epoch
    c.training.epochs_per_chunk = 100
    c.training.checkpoint_every = 100
    return c
