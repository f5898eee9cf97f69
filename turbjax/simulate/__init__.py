"""Built-in D2Q9 MRT lattice Boltzmann simulator of the flow past a cylinder (the von Karman vortex street).

Modules: lattice (D2Q9 constants, MRT collision), cylinder (Bouzidi geometry), boundaries (named boundary rules),
step (the step kernel: streaming + boundaries + collision), trajectory (the double-buffered loop of steps),
runner (chunked, vmapped, sharded runs with progress and NaN checks), generate (files), presets, analysis.

    from turbjax.simulate import PRESETS, generate, simulate, strouhal
    paths = generate([300, 600, 900, 1200], "data/vortex_street", preset="seed")

or `python -m turbjax.simulate --re 300 600 900 1200 --out data/vortex_street`.
"""

from turbjax.simulate.analysis import roshko_strouhal, shedding_frequency, strouhal
from turbjax.simulate.generate import generate, write_simulation
from turbjax.simulate.presets import PRESETS, FlowParams, check_inputs
from turbjax.simulate.runner import Simulation, simulate

__all__ = ["PRESETS", "FlowParams", "Simulation", "check_inputs", "generate", "roshko_strouhal",
           "shedding_frequency", "simulate", "strouhal", "write_simulation"]
