"""scripts/resolution_study.py: the Strouhal number from a file's probe, in the file's own units, and the rows
of the table."""

import runpy
from pathlib import Path

import numpy as np
import pytest

from turbjax.data.snapshots import save_snapshots, snapshot_path

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def study():
    return runpy.run_path(str(ROOT / "scripts" / "resolution_study.py"))


@pytest.mark.parametrize("dx, inflow", [(1 / 128, 0.05), (1 / 192, 0.05), (1 / 128, 0.1)])
def test_strouhal_is_f_d_over_u_whatever_the_grid_and_the_velocity_unit(study, tmp_path, dx, inflow):
    """A probe oscillating at St = 0.23 (f = St U / D per unit time, dt = dx per step) gives St back."""
    diameter, st, steps = 0.1, 0.23, 40_000
    f_step = st * inflow / diameter * dx  # cycles per step
    probe = np.sin(2 * np.pi * f_step * np.arange(steps)).astype(np.float32)
    path = save_snapshots(snapshot_path(tmp_path, 600.0), np.zeros((2, 8, 8, 2), np.float32), reynolds=600.0,
                          dx=dx, dt=dx, frame_stride=10, first_step=0, probe_uy=probe, probe_xy=(0.5, 0.5),
                          extra={"diameter": diameter, "inflow": inflow, "cylinder_xy": (0.3, 0.5)})
    assert study["strouhal"](path) == pytest.approx(st, rel=1e-3)


def test_the_table_has_a_row_per_grid_and_reynolds_number(study):
    rows = [{"cells_per_diameter": c, "re": r, "strouhal": 0.2, "strouhal_change_percent": 0.0}
            for c in (12.8, 19.2) for r in (300.0, 600.0)]
    table = study["table_markdown"](rows).splitlines()
    assert len(table) == 2 + 4 and table[2].startswith("| 12.8 | 300 | 0.2 |")
