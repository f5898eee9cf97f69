"""The flagship generalization model: an MLP (64, 64) on seven phase-blind statistics of the vorticity
window (data.features = "gradstats"), trained on the simulator's ensemble without Re 300, 600, 900, 1200 and
tested on every frame of the seed data set (the course's four Reynolds numbers, which it never saw).

    python -m turbjax.simulate --preset ensemble --out data/ensemble       # once: 75 runs, ~0.9 GB
    python -m turbjax.train --config configs/generalize.py --workdir runs/generalize
    python -m turbjax.evaluate --workdir runs/generalize --data DIR         # any other data directory

Measured on the 2-core CPU (2026-12-01; the same cell as scripts/generalization.py's flagship row): 10,080
training frames (21 Re x 3 realizations x 160), 2400 test frames; test R^2 0.9435, MAE 2.6 / 3.7 / 9.5 / 8.3%
of Re at 300 / 600 / 900 / 1200 (predicted means 300 / 590 / 948 / 1265), 4.3 s of training. The issue's
floor (R^2 >= 0.95, MAE <= 5% at each Re) is not met at 900 and 1200; see the README.
If data/vortex_street has no seed files, the simulator generates them first (about a minute).
"""

from turbjax.configs import default

SEED_RE = (300.0, 600.0, 900.0, 1200.0)


def get_config():
    c = default.get_config()
    c.data.dir = "data/ensemble"
    c.data.preset = "ensemble"  # generated there first if the directory is empty
    c.data.reynolds = ()  # every Reynolds number the ensemble holds ...
    c.data.realizations = (0, 1, 2)
    c.data.exclude_reynolds = SEED_RE  # ... but the four it is tested on
    c.data.sample_every_steps = 60  # every ensemble frame
    c.data.split = "external"
    c.data.test_dir = "data/vortex_street"
    c.data.test_reynolds = SEED_RE
    c.data.test_sample_every_steps = 10  # every seed frame
    c.data.features = "gradstats"
    c.model.hidden = (64, 64)
    c.training.epochs = 30
    return c
