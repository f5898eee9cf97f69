"""Ruff is part of the test run: the rules and per-file exceptions of pyproject.toml ([tool.ruff]) on every
Python file of the package, the scripts, the tests and the configs. Skipped where ruff is not installed (it is
a dev dependency, so CI has it)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[dev]')")
def test_ruff_check_passes():
    proc = subprocess.run(["ruff", "check", "--no-fix", "turbjax", "scripts", "tests", "configs"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-2000:]
