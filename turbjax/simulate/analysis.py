"""Shedding frequency and Strouhal number from a probe time series."""

from __future__ import annotations

import numpy as np


def roshko_strouhal(reynolds):
    """Roshko's empirical fit St = 0.212 (1 - 21.2 / Re) for the laminar/transitional cylinder wake."""
    return 0.212 * (1.0 - 21.2 / np.asarray(reynolds, dtype=np.float64))


def shedding_frequency(signal, dt: float = 1.0, *, min_periods: float = 10.0) -> float:
    """Dominant frequency (cycles per unit of dt) of a series, by FFT peak with parabolic interpolation.

    The mean is removed and a Hann window applied; the peak bin and its neighbours are fitted by a parabola
    in log magnitude (accurate to a small fraction of a bin for a clean tone). Raises ValueError if the
    series spans fewer than `min_periods` periods of that frequency (the estimate would be unreliable).
    """
    x = np.asarray(signal, dtype=np.float64).ravel()
    if x.size < 16 or not np.all(np.isfinite(x)):
        raise ValueError(f"need a finite series of at least 16 samples, got {x.size} samples")
    x = x - x.mean()
    if not np.any(x):
        raise ValueError("the series is constant: no oscillation to measure (the wake does not shed)")
    n = x.size
    spec = np.abs(np.fft.rfft(x * np.hanning(n)))
    k = int(np.argmax(spec[1:])) + 1
    if 1 <= k < spec.size - 1:
        la, lb, lc = np.log(spec[k - 1 : k + 2] + 1e-300)
        denom = la - 2 * lb + lc
        shift = 0.5 * (la - lc) / denom if denom != 0 else 0.0
    else:
        shift = 0.0
    freq = (k + shift) / (n * dt)
    periods = freq * n * dt
    if periods < min_periods:
        raise ValueError(
            f"the series covers only {periods:.1f} periods of its dominant frequency (< {min_periods}); "
            "use a longer probe series"
        )
    return float(freq)


def strouhal(probe_uy, dt_steps: float, diameter_cells: float, inflow: float, *, min_periods: float = 10.0):
    """St = f D / U from a probe series sampled every `dt_steps` lattice steps (D in cells, U lattice
    units)."""
    f = shedding_frequency(probe_uy, dt_steps, min_periods=min_periods)
    return f * diameter_cells / inflow
