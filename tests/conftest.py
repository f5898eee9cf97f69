"""Shared pytest setup."""

import os

# Tests run on CPU with the default single device unless a test spawns a subprocess with more.
os.environ.setdefault("JAX_PLATFORMS", "cpu")
