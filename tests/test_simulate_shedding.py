"""Validation on the course's setup: the Strouhal number of the seed preset against Roshko's fit (slow)."""

import numpy as np
import pytest

from turbjax.simulate import PRESETS, roshko_strouhal, simulate, strouhal

RES = (300.0, 600.0, 900.0, 1200.0)


@pytest.mark.slow
def test_seed_preset_strouhal_within_10_percent_of_roshko():
    """All four Re in one vmapped run of the full seed preset (48,000 steps, about 4 minutes on 2 busy cores).

    The probe (transverse velocity 4 radii behind the centre, on the cylinder's axis) over the last 24,000
    steps spans about 19 shedding periods."""
    p = PRESETS["seed"]
    sim = simulate(RES, "seed", frames=1, progress=False)
    sts = []
    for k, re in enumerate(RES):
        series = sim.probe_uy[k][p.steps // 2 :]
        st = strouhal(series, 1, p.diameter_cells, p.inflow, min_periods=10)
        sts.append(st)
        print(f"Re {re:g}: St {st:.4f}, Roshko {roshko_strouhal(re):.4f}, ratio "
              f"{st / roshko_strouhal(re):.3f}")
    np.testing.assert_allclose(sts, roshko_strouhal(RES), rtol=0.10)
