"""Input features computed from the vorticity window: pure functions of an image stack (N, h, w).

  pixels      the window itself (flattened): where the vortices are, i.e. the shedding phase
  fft2        log power spectrum of the window, log(eps + P), P(kx, ky) = (|F(kx, ky)|^2 + |F(-kx, ky)|^2) / 2
              for 0 <= kx <= h/2, 0 <= ky <= w/2 (F = fft2 of the window, optionally mean-removed): a shift
              of the vortices changes only F's phase, so P does not see it. |F| of a real field is symmetric,
              F(-k) = conj F(k), so half the plane holds everything (rfft2: ky >= 0); folding kx with -kx
              makes P also invariant under the wake's mirror y -> -y with omega -> -omega (it maps |F(kx, ky)|
              to |F(kx, -ky)| = |F(-kx, ky)|). (h//2 + 1, w//2 + 1) features.
  radial      log of the power summed over rings of |k| (integer radius in units of the window's smaller
              side's fundamental): the isotropic spectrum; 1 x n_bins features
  streamwise  log of the power summed over all ky for each |kx| (streamwise wavenumber): 1 x (h//2 + 1)
  gradstats   seven statistics of the window, blind to where the vortices are and to the mirror: the logs
              of <w^2>, <|grad w|^2>, <(lap w)^2> (enstrophy and its higher moments: how sharp the vortex
              cores and shear layers are, which falls with the viscosity), their two ratios, log max|w|, and
              the kurtosis <w^4>/<w^2>^2 (how intermittent the field is); 1 x 7 features. In the
              generalization work they separated the seed Reynolds numbers better than any spectrum.
  wakestats   45 statistics for a wide wake window: gradstats of the whole window (7) and of each of
              WAKE_STRIPS streamwise strips (4 x 7: how the vortices sharpen or decay downstream), the
              quantiles WAKE_QUANTILES of |w| and of |grad w| relative to their rms, as logs (8: the shape of
              the distributions, how much of the field is in the cores and the shear layers), and two widths
              of the mirror-folded cross-stream enstrophy profile p(y), (sum p y^2)^(1/2) and
              (sum p y^4)^(1/4) in cells (2: how wide the wake is); 1 x 45 features. Blind to the mirror;
              the strips and the profile see where along x and y the vorticity is, but not the shedding
              phase within a strip. Made for the ensemble's whole stored window: on its realization split
              it scores higher than gradstats of the 64 x 64 crop (docs/performance_notes.md).

Facts the tests check: a circular shift of the window leaves every spectral feature unchanged (to rounding),
gradstats too where the differences wrap around; so does the mirror y -> -y with omega -> -omega (wakestats
too); the binned spectra satisfy Parseval (before the log, their bins sum to sum(omega^2) of the window,
mean-removed or not); wakestats hold gradstats of the window and of its strips, and give the analytic values
on fields of known distribution (|w| constant, a ramp) and profile.

Runs in numpy (the data pipeline's host arrays); float32 out.
"""

from __future__ import annotations

import numpy as np

FEATURES = ("pixels", "fft2", "radial", "streamwise", "gradstats", "wakestats")
IMAGE_FEATURES = ("pixels", "fft2")  # an (h', w') image per sample, which a CNN reads; the rest: 1 x n
GRADSTATS = (
    "log_w2", "log_grad2", "log_lap2", "log_grad2_over_w2", "log_lap2_over_grad2", "log_max_abs_w",
    "kurtosis",
)
WAKE_STRIPS = 4
WAKE_QUANTILES = (0.5, 0.9, 0.99, 0.999)
N_WAKESTATS = len(GRADSTATS) * (1 + WAKE_STRIPS) + 2 * len(WAKE_QUANTILES) + 2
EPS = 1e-12  # floor inside the log: the mean-removed DC bin is exactly 0


def _spectrum(images, remove_mean: bool):
    x = np.asarray(images, np.float64)
    if x.ndim != 3:
        raise ValueError(f"features expect an image stack (N, h, w), got shape {x.shape}")
    if remove_mean:
        x = x - x.mean(axis=(1, 2), keepdims=True)
    return np.abs(np.fft.fft2(x)) ** 2  # (N, h, w), unnormalized: sum = h w sum(x^2)


def folded_power(images, remove_mean: bool = True):
    """P(kx, ky) for 0 <= kx <= h/2, 0 <= ky <= w/2: the power folded over kx <-> -kx (see the docstring)."""
    p = _spectrum(images, remove_mean)
    h, w = p.shape[1:]
    if remove_mean:
        p[:, 0, 0] = 0.0  # exactly zero, not rounding noise: a constant feature for the standardizer
    kx = np.arange(h // 2 + 1)
    folded = 0.5 * (p[:, kx] + p[:, (-kx) % h])
    return folded[:, :, : w // 2 + 1]


def _bin_index(h: int, w: int, bins: str) -> np.ndarray:
    """The bin of every (kx, ky) of an h x w fft2 (numpy's frequency order)."""
    kx = np.fft.fftfreq(h) * h
    ky = np.fft.fftfreq(w) * w
    if bins == "radial":
        return np.rint(np.hypot(kx[:, None] / h, ky[None, :] / w) * min(h, w)).astype(np.int64)
    if bins == "streamwise":
        return np.broadcast_to(np.abs(kx).astype(np.int64)[:, None], (h, w))
    raise ValueError(f"unknown spectrum bins {bins!r}; expected 'radial' or 'streamwise'")


def binned_power(images, bins: str = "radial", remove_mean: bool = True):
    """Power of the window's fft2 summed over bins, normalized so that the bins sum to sum(x^2) (Parseval).

    bins "radial": integer |k| = round(sqrt((kx / h)^2 + (ky / w)^2) * min(h, w)); "streamwise": |kx|."""
    p = _spectrum(images, remove_mean)
    n, h, w = p.shape
    k = _bin_index(h, w, bins)
    n_bins = int(k.max()) + 1
    out = np.zeros((n, n_bins))
    for b in range(n_bins):  # few bins (<= ~50): a loop over bins, vectorized over samples and cells
        out[:, b] = p[:, k == b].sum(axis=1)
    return out / (h * w)


def gradient_statistics(images, *, periodic: bool = False) -> np.ndarray:
    """(N, 7) statistics of each window (GRADSTATS; see the module docstring), in float64.

    Differences are one-sided (forward, interior cells only) unless `periodic` (wrap around: exactly invariant
    under a circular shift; the tests use it)."""
    w = np.asarray(images, np.float64)
    if w.ndim != 3:
        raise ValueError(f"features expect an image stack (N, h, w), got shape {w.shape}")
    if periodic:
        gx, gy = np.roll(w, -1, 1) - w, np.roll(w, -1, 2) - w
        lap = np.roll(w, -1, 1) + np.roll(w, 1, 1) + np.roll(w, -1, 2) + np.roll(w, 1, 2) - 4 * w
    else:  # every neighbouring pair once per axis: the set of pairs is the same after the mirror
        gx, gy = np.diff(w, axis=1), np.diff(w, axis=2)
        lap = w[:, 2:, 1:-1] + w[:, :-2, 1:-1] + w[:, 1:-1, 2:] + w[:, 1:-1, :-2] - 4 * w[:, 1:-1, 1:-1]
    w2 = (w**2).mean(axis=(1, 2)) + EPS
    g2 = (gx**2).mean(axis=(1, 2)) + (gy**2).mean(axis=(1, 2)) + EPS
    l2 = (lap**2).mean(axis=(1, 2)) + EPS
    kurt = (w**4).mean(axis=(1, 2)) / w2**2
    big = np.abs(w).max(axis=(1, 2)) + EPS
    logs = [np.log(w2), np.log(g2), np.log(l2), np.log(g2 / w2), np.log(l2 / g2), np.log(big)]
    return np.stack([*logs, kurt], axis=1)


def _corner_gradient_magnitude(w):
    """|grad w| at the cell corners from each 2 x 2 block (N, h-1, w-1): the mirror maps blocks to blocks."""
    a, b, c, d = w[:, :-1, :-1], w[:, 1:, :-1], w[:, :-1, 1:], w[:, 1:, 1:]
    return np.hypot(0.5 * (b + d - a - c), 0.5 * (c + d - a - b))


def wake_statistics(images, strips: int = WAKE_STRIPS) -> np.ndarray:
    """(N, N_WAKESTATS) statistics of each window (see "wakestats" in the module docstring), float64."""
    w = np.asarray(images, np.float64)
    if w.ndim != 3:
        raise ValueError(f"features expect an image stack (N, h, w), got shape {w.shape}")
    n, h, width = w.shape
    if h < 3 * strips or width < 3:
        raise ValueError(f"wakestats need a window of at least {3 * strips} x 3 cells, got {h} x {width}")
    edges = np.linspace(0, h, strips + 1).round().astype(int)
    parts = [gradient_statistics(w)]
    parts += [gradient_statistics(w[:, a:b]) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    q = np.asarray(WAKE_QUANTILES)
    for field in (np.abs(w), _corner_gradient_magnitude(w)):
        flat = field.reshape(n, -1)
        rms = np.sqrt((flat**2).mean(axis=1, keepdims=True)) + EPS
        parts.append(np.log(np.quantile(flat, q, axis=1).T / rms + EPS))
    profile = (w**2).mean(axis=1)  # (N, width): enstrophy across the wake
    profile = 0.5 * (profile + profile[:, ::-1])  # folded: the mirror maps y to -y
    profile = profile / (profile.sum(axis=1, keepdims=True) + EPS)
    y = np.arange(width) - (width - 1) / 2
    widths = [(profile * y**2).sum(axis=1) ** 0.5, (profile * y**4).sum(axis=1) ** 0.25]
    parts.append(np.stack(widths, axis=1))
    return np.concatenate(parts, axis=1)


def feature_shape(name: str, image_shape) -> tuple[int, int]:
    """(h', w') of one sample's features for a window of `image_shape` (h, w)."""
    h, w = (int(s) for s in image_shape)
    if name == "pixels":
        return h, w
    if name == "fft2":
        return h // 2 + 1, w // 2 + 1
    if name in ("radial", "streamwise"):
        return 1, int(_bin_index(h, w, name).max()) + 1
    if name == "gradstats":
        return 1, len(GRADSTATS)
    if name == "wakestats":
        return 1, N_WAKESTATS
    raise ValueError(f"unknown features {name!r}; expected one of {FEATURES}")


def compute_features(images, name: str = "pixels", *, remove_mean: bool = True) -> np.ndarray:
    """Image stack (N, h, w) -> float32 features (N, h', w') of kind `name` (FEATURES)."""
    if name == "pixels":
        return np.asarray(images, np.float32)
    if name == "fft2":
        out = np.log(EPS + folded_power(images, remove_mean))
    elif name in ("radial", "streamwise"):
        out = np.log(EPS + binned_power(images, name, remove_mean))[:, None, :]
    elif name == "gradstats":
        out = gradient_statistics(images)[:, None, :]
    elif name == "wakestats":
        out = wake_statistics(images)[:, None, :]
    else:
        raise ValueError(f"unknown features {name!r}; expected one of {FEATURES}")
    return out.astype(np.float32)
