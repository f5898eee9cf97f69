"""Deprecated shim, kept only until configs/sweep_*.py (another branch's files) import turbjax.configs.default
directly; nothing in turbjax uses it. Delete it then."""

from __future__ import annotations

from turbjax.configs import default


def load_default_module():
    """The default config module (now turbjax.configs.default, imported normally)."""
    return default
