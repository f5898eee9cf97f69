"""turbjax: learning physics from fluid-flow snapshots with JAX, Flax and Optax."""

__version__ = "0.1.0"
