"""Default: MLP (100, 100), relu, Adam 1e-3 with a cosine decay to 0 over 100 epochs, batch 32, seed data set.

    python -m turbjax.train --config configs/default.py --workdir runs/default

Expected on the built-in simulator's seed data (random split: 1536 train / 384 validation / 480 test, 64 x 64)
on a 2-core CPU: validation and test R^2 0.9996 (test MAE 4.0 in Re) in ~10 s of training (compilation
included), test R^2 first >= 0.999 at epoch ~49 (~6 s). The course's setting, a constant 1e-3
(--config.optim.schedule=constant), ends lower: Adam keeps jumping around 0.996-0.999.
Other splits (--config.data.split=time / heldout_re) generalize much worse; see the README's results table.
If data.dir has no data, the simulator generates the seed data set first (minutes).
"""

# The values live in the package (turbjax.configs.default) so that every job, test and config imports them the
# same way, from any working directory; this file is the user-facing entry point and changes nothing.
from turbjax.configs.default import (  # noqa: F401  (re-exported: `from configs import default` uses them)
    get_config,
    get_data_config,
    get_model_config,
    get_optim_config,
    get_training_config,
)
