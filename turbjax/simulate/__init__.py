"""Built-in D2Q9 MRT lattice Boltzmann simulator of the flow past a cylinder (the von Karman vortex street).

    from turbjax.simulate import PRESETS, generate, simulate, strouhal
    paths = generate([300, 600, 900, 1200], "data/vortex_street", preset="seed")

or `python -m turbjax.simulate --re 300 600 900 1200 --out data/vortex_street`.
"""

from turbjax.simulate.analysis import roshko_strouhal, shedding_frequency, strouhal
from turbjax.simulate.presets import PRESETS, FlowParams
from turbjax.simulate.solver import Simulation, check_inputs, generate, simulate, write_simulation

__all__ = ["PRESETS", "FlowParams", "Simulation", "check_inputs", "generate", "roshko_strouhal",
           "shedding_frequency", "simulate", "strouhal", "write_simulation"]
