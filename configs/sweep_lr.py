"""The course's learning-rate study: MLP (100, 100), relu, Adam, batch 32, learning rates 1, 0.1, 1e-3, 1e-5.

    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/sweep_lr
    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/seeds --config.sweep.seed='(0, 1, 2)'

Base config: configs/default.py (seed data set, random 80/20 split), 100 epochs. The four trials differ only
in traced hyperparameters and share one seed, so they are one compiled program: on a GPU one vmapped program
whose four trials share the minibatch order (one gather, one first-layer matrix product of width 4 x 100 per
step); on a CPU the automatic trials_per_program runs the same single-trial program four times (faster there,
see turbjax/sweep/__init__.py); --config.sweep.trials_per_program=0 forces the vmapped program.

Outputs in the workdir: results.json, the printed table, loss_curves.png (docs/sweep_lr.png is a copy) and the
best trial under best/ (`python -m turbjax.evaluate --workdir runs/sweep_lr/best`).

Expected (the course's finding): learning rate 1 diverges (flagged `diverged` in its first epoch, frozen, the
others unaffected); 0.1 is unstable and ends far from the others; 1e-3 is the best (test R^2 >= 0.999);
1e-5 learns slowly and is still far from converged after 100 epochs.
Measured on the seed data (constant learning rate, 100 epochs, 34 s for the four trials on a 2-core CPU): test
R^2 -1.32 (lr 1: no overflow with Adam, the loss swings between 1 and 1e10), -0.0006 (lr 0.1: collapses to the
mean), 0.9981 (1e-3), 0.9996 (1e-5); none flagged diverged. Figure: docs/sweep_lr.png.
"""

from turbjax.sweep.axes import base_config, sweep_section


def get_config():
    c = base_config()  # the default config (configs/default.py's fields)
    c.optim.schedule = "constant"  # the course's studies used a constant learning rate
    c.sweep = sweep_section(learning_rate=(1.0, 0.1, 1e-3, 1e-5))
    return c
