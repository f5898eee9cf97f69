"""Where each trial of a shape group sits: a (rows, cols) grid whose row shares one seed, padded to a multiple
of the device mesh, and split into blocks that one compiled program runs one after another. NumPy only."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np


def mesh_shape(num_devices: int, seeds: int, per_seed: int) -> tuple[int, int]:
    """(devices along seeds, devices along trials-per-seed): the factorization of the device count that needs
    the fewest padded trials (ties: more devices along seeds, whose trials share nothing)."""
    best = None
    for ds in range(1, num_devices + 1):
        if num_devices % ds:
            continue
        dl = num_devices // ds
        padded = math.ceil(seeds / ds) * ds * math.ceil(per_seed / dl) * dl
        cand = (padded, -ds)
        if best is None or cand < best[0]:
            best = (cand, (ds, dl))
    return best[1]


@dataclasses.dataclass
class Layout:
    """Trials of one group on a (rows, cols) grid: row r shares one seed; index[r, c] is the trial number in
    the whole sweep, real[r, c] False for padding (a copy of a real trial, discarded)."""

    index: np.ndarray  # int (rows, cols)
    real: np.ndarray  # bool (rows, cols)
    mesh: tuple[int, int]


def _rows(trial_ids: Sequence[int], seeds: Sequence[int], share: bool) -> list[list[int]]:
    rows: dict = {}
    for t, s in zip(trial_ids, seeds, strict=True):
        rows.setdefault(s if share else ("trial", t), []).append(t)
    return list(rows.values())


def make_layout(trial_ids: Sequence[int], seeds: Sequence[int], num_devices: int, share: bool,
                shape: tuple[int, int] | None = None) -> Layout:
    """Rows of trials sharing a seed (share=True) or one trial per row, padded to a multiple of the mesh shape
    (or to `shape`, itself such a multiple) with copies of real trials."""
    groups = _rows(trial_ids, seeds, share)
    n_rows, n_cols = len(groups), max(len(g) for g in groups)
    if shape is None:
        ds, dl = mesh_shape(num_devices, n_rows, n_cols)
        shape = (math.ceil(n_rows / ds) * ds, math.ceil(n_cols / dl) * dl)
    else:
        ds, dl = mesh_shape(num_devices, *shape)
    rows_pad, cols_pad = shape
    if n_rows > rows_pad or n_cols > cols_pad or rows_pad % ds or cols_pad % dl:
        raise ValueError(
            f"cannot lay out {n_rows} x {n_cols} trials on a {shape} grid over {num_devices} devices"
        )
    index = np.empty((rows_pad, cols_pad), np.int64)
    real = np.zeros((rows_pad, cols_pad), bool)
    for r in range(rows_pad):
        g = groups[r] if r < n_rows else groups[0]
        for c in range(cols_pad):
            index[r, c] = g[c] if c < len(g) else g[0]
            real[r, c] = r < n_rows and c < len(g)
    return Layout(index=index, real=real, mesh=(ds, dl))


def _block_parts(rows: list[list[int]], per: int, cols: int) -> list[list[list[int]]]:
    """Tiles of at most `per` rows x `cols` columns, row-major over the group's rows; empty tiles dropped."""
    n_cols = max(len(r) for r in rows)
    parts = []
    for r0 in range(0, len(rows), per):
        for c0 in range(0, n_cols, cols):
            part = [r[c0:c0 + cols] for r in rows[r0:r0 + per] if r[c0:c0 + cols]]
            if part:
                parts.append(part)
    return parts


def make_blocks(trial_ids: Sequence[int], seeds: Sequence[int], num_devices: int, share: bool,
                trials_per_program: int) -> list[Layout]:
    """Split one shape group into blocks of at most `trials_per_program` trials (0: one block), all laid out
    on the same padded grid so that one compiled program runs them all, one after another."""
    rows = _rows(trial_ids, seeds, share)
    n_cols = max(len(r) for r in rows)
    k = trials_per_program
    if k <= 0 or k >= sum(len(r) for r in rows) or num_devices > 1:
        return [make_layout(trial_ids, seeds, num_devices, share)]
    cols = min(k, n_cols)
    per = max(1, k // cols)
    shape = (min(len(rows), per), cols)
    seed_of = dict(zip(trial_ids, seeds, strict=True))
    out = []
    for part in _block_parts(rows, per, cols):
        ids = [t for r in part for t in r]
        # rows of one block keep their own key: a row label per row (a block's row is one seed's trials)
        labels = [seed_of[r[0]] if share else ("trial", r[0]) for r in part for _ in r]
        out.append(make_layout(ids, labels, num_devices, share=True, shape=shape))
    return out
