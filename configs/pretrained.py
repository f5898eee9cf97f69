"""The model shipped in the package (turbjax/pretrained), the one `python -m turbjax.predict` uses: an MLP
(64, 64) on the seven `gradstats` statistics of the 64 x 64 wake window (x 160:224, y 32:96 of the reference
grid: 9.5-14.5 diameters behind the cylinder), trained in the flow's own units (data.units "flow": every file
read onto the reference grid, cells of D / 12.8) on the ensemble and two numerical variants of it, so that its
answer is less a property of one simulator's numerics:

    data/ensemble           D = 12.8 cells, MRT, Bouzidi cylinder, U = 0.05 (25 Re x 4 realizations)
    data/variants/d19       D = 19.2 cells (16 Re x 2 realizations)
    data/variants/mach10    U = 0.1, twice the Mach number (13 Re up to 1150)

all without Re 300, 600, 900, 1200 and without the validation Reynolds numbers 350, 550, 800, 1050, 1300,
which validate on a variant never trained on (data/variants/bulk: MRT with a 10x smaller bulk viscosity);
tested at Re 300, 600, 900, 1200 on variants never trained on (data/variants/d26: D = 25.6 cells;
bounceback: plain bounce-back on the cylinder; bgk: BGK collision, Re 300 and 600).
It is the numerics split's model with the best validation R^2 in scripts/generalization.py's table (0.940,
against 0.878 for `wakestats` and 0.843 for `fft2`), and that table's "numerics" row for mlp_gradstats is this
config:

    python scripts/generalization.py --out runs/generalization --splits numerics --models mlp_gradstats
    python -m turbjax.train --config configs/pretrained.py --workdir runs/pretrained   # or train it alone
    python scripts/export_pretrained.py runs/pretrained                                # -> turbjax/pretrained

(the generalization script generates the variants first; `train` alone needs them in place). Its scores and
where it is weak are in the README ("Numerics and resolution").
"""

from configs import generalize
from turbjax.configs import default

VARIANTS = "data/variants"


def get_config():
    c = default.get_config()
    d = c.data
    d.dir, d.preset, d.reynolds, d.realizations = "data/ensemble", "ensemble", (), (0, 1, 2, 3)
    d.exclude_reynolds = d.heldout = generalize.SEED_RE
    d.sample_every_steps = 120  # every ensemble frame (PRESETS["ensemble"].save_every): the reference clock
    d.split, d.units = "numerics", "flow"
    d.variant_dirs = (f"{VARIANTS}/d19", f"{VARIANTS}/mach10")
    d.val_dirs = (f"{VARIANTS}/bulk",)
    d.test_dirs = (f"{VARIANTS}/d26", f"{VARIANTS}/bounceback", f"{VARIANTS}/bgk")
    d.features = "gradstats"
    c.model.hidden = (64, 64)
    c.model.members = 5  # a deep ensemble: 5 independently initialized MLPs, their mean
    c.training.epochs = 30
    c.training.epochs_per_chunk = c.training.checkpoint_every = 5
    return c
