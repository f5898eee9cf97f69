"""The loop over chunks of epochs that every job shares (train, sweep): each chunk is one compiled call that
scans several epochs on the device; Python runs only between chunks (metrics to the host, progress, logs,
checkpoints, early stopping)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import NamedTuple

import jax


class Chunk(NamedTuple):
    """What one chunk did."""

    first_epoch: int  # epochs completed before it
    epochs: int  # epochs it ran
    metrics: dict  # host arrays, one entry per epoch along the last axis
    seconds: float  # wall time of the call and the metrics' transfer
    compiled: bool  # the loop's first chunk: its time includes compiling the program


def run_chunks(advance: Callable, state, *, start: int, total: int, chunk: int,
               after: Callable | None = None):
    """Advance `state` from epoch `start` to `total` in chunks of at most `chunk` epochs.

    advance(state, n) -> (state, metrics): n epochs (a static count) on the device.
    after(state, Chunk) -> bool: runs after each chunk (log, checkpoint, progress); True stops the loop early.
    Returns (state, the number of epochs completed)."""
    epoch, first = int(start), True
    while epoch < total:
        n = min(int(chunk), total - epoch)
        t0 = time.perf_counter()
        state, metrics = advance(state, n)
        metrics = jax.device_get(metrics)
        done = Chunk(epoch, n, metrics, time.perf_counter() - t0, first)
        epoch, first = epoch + n, False
        if after is not None and after(state, done):
            break
    return state, epoch
