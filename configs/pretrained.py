"""The model shipped in the package (turbjax/pretrained), the one `python -m turbjax.predict` uses: the
flagship's MLP (64, 64) on log Re from the 45 wake statistics, trained in the flow's own units (data.units
"flow": every file read onto the reference grid, cells of D / 12.8) on the ensemble and two numerical variants
of it, so that its answer is less a property of one simulator's numerics:

    data/ensemble           D = 12.8 cells, MRT, Bouzidi cylinder, U = 0.05 (25 Re x 4 realizations)
    data/variants/d19       D = 19.2 cells (16 Re)
    data/variants/mach10    U = 0.1, twice the Mach number (13 Re up to 1150)

all without Re 300, 600, 900, 1200 and without the validation Reynolds numbers 350, 550, 800, 1050, 1300,
which validate on a variant never trained on (data/variants/bulk: MRT with a 10x smaller bulk viscosity);
tested at Re 300, 600, 900, 1200 on variants never trained on (data/variants/d26: D = 25.6 cells;
bounceback: plain bounce-back on the cylinder; bgk: BGK collision, Re 300 and 600).
scripts/generalization.py's "numerics" row for mlp_wakestats is this config.

    python scripts/generalization.py --out runs/generalization --splits numerics --models mlp_wakestats
    python -m turbjax.train --config configs/pretrained.py --workdir runs/pretrained   # or train it alone
    python scripts/export_pretrained.py runs/pretrained                                # -> turbjax/pretrained

(the generalization script generates the variants first; `train` alone needs them in place). Its scores and
where it is weak are in the README ("Numerics and resolution").
"""

from configs import generalize

VARIANTS = "data/variants"


def get_config():
    c = generalize.get_config()
    c.data.split = "numerics"
    c.data.units = "flow"
    c.data.heldout = generalize.SEED_RE
    c.data.test_dir, c.data.test_reynolds, c.data.test_sample_every_steps = "", (), 0
    c.data.variant_dirs = (f"{VARIANTS}/d19", f"{VARIANTS}/mach10")
    c.data.val_dirs = (f"{VARIANTS}/bulk",)
    c.data.test_dirs = (f"{VARIANTS}/d26", f"{VARIANTS}/bounceback", f"{VARIANTS}/bgk")
    return c
