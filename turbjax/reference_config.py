"""configs/default.py, loaded by its path in the checkout, so that `python -m turbjax.*` works from any directory
(`configs/` sits beside the package and is not installed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "configs" / "default.py"


def load_default_module():
    """The configs/default.py module (get_config, get_data_config)."""
    if not DEFAULT_CONFIG_PATH.exists():
        raise FileNotFoundError(
            f"cannot find the reference config {DEFAULT_CONFIG_PATH}; turbjax's commands need a checkout "
            "(pip install -e . in a clone of the repository)"
        )
    spec = importlib.util.spec_from_file_location("_turbjax_default_config", DEFAULT_CONFIG_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
