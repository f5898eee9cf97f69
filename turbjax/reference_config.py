"""Deprecated shim, kept only until configs/sweep_*.py (another branch's files) import turbjax.configs.default
directly; nothing in turbjax uses it. Delete it then."""

from __future__ import annotations


def load_default_module():
    """The default config module (now turbjax.configs.default, imported normally)."""
    from turbjax.configs import default

    return default
