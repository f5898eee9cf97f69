"""Built-in D2Q9 MRT lattice Boltzmann simulator of the flow past a cylinder (the von Karman vortex street).

Modules: lattice (D2Q9 constants, MRT and BGK collisions), cylinder (Bouzidi geometry; half-way bounce-back
as q = 1/2), boundaries (named boundary rules), step (the step kernel: streaming + boundaries + collision),
trajectory (the loop of steps, two per iteration), initial (rest state and seeded perturbations), runner
(chunked, vmapped, sharded runs of Re x realizations with progress and NaN checks), generate (files), presets
(and input checks; `with_numerics` and the ensemble's numerical variants), analysis (Strouhal).

    from turbjax.simulate import PRESETS, generate, simulate, strouhal
    paths = generate([300, 600, 900, 1200], "data/vortex_street", preset="seed")

or `python -m turbjax.simulate --re 300 600 900 1200 --out data/vortex_street`; an ensemble of seeded
perturbed realizations per Re (wake window only, files `vortex_street_Re_{re:g}_r{k}.npz`):
`python -m turbjax.simulate --preset ensemble --out data/ensemble [--re ...] [--realizations N]`.
"""

from turbjax.simulate.analysis import roshko_strouhal, shedding_frequency, strouhal
from turbjax.simulate.generate import generate, member_path, write_simulation
from turbjax.simulate.presets import PRESETS, FlowParams, check_inputs
from turbjax.simulate.runner import Simulation, simulate

__all__ = ["PRESETS", "FlowParams", "Simulation", "check_inputs", "generate", "member_path",
           "roshko_strouhal",
           "shedding_frequency", "simulate", "strouhal", "write_simulation"]
