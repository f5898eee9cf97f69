"""The compiled programs of a sweep: the training core vmapped over a (seeds, trials-per-seed) grid, the
device mesh and shardings it runs on, and how many trials one program should hold (`auto_trials_per_program`).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from jax import NamedSharding, P

from turbjax.training.optimizers import HPARAM_NAMES

MESH_AXES = ("seeds", "trials")
UNBATCHED_STATE = ("key", "epoch")  # shared by the trials of one seed (the inner vmap)


def default_hparams_like() -> dict:
    return {k: jnp.zeros((), jnp.float32) for k in HPARAM_NAMES}


# ------------------------------------------------------------------------------------------ program size


def _cache_bytes() -> int:
    """The CPU's last-level cache in bytes (Linux sysfs; 32 MiB if unknown)."""
    best = 0
    for d in Path("/sys/devices/system/cpu/cpu0/cache").glob("index*"):
        try:
            text = (d / "size").read_text().strip().upper()
            mult = {"K": 1 << 10, "M": 1 << 20}.get(text[-1:], 1)
            best = max(best, int(text.rstrip("KM")) * mult)
        except (OSError, ValueError):
            continue
    return best or 32 << 20


def trial_state_bytes(trainer) -> int:
    """Bytes one trial's training step works on: parameters, optimizer state and gradients."""
    state = jax.eval_shape(trainer.init, default_hparams_like(), jax.random.PRNGKey(0))
    params, opt = (sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(state[k]))
                   for k in ("params", "opt_state"))
    return 2 * params + opt


def auto_trials_per_program(trainer, num_devices: int, backend: str | None = None) -> int:
    """0 (all trials in one program) on accelerators and on several devices. On one CPU device: as many trials
    as fit an eighth of the last-level cache (at least 1); why: turbjax.sweep's docstring, and the
    measurements in docs/performance_notes.md."""
    backend = backend or jax.default_backend()
    if backend != "cpu" or num_devices > 1:
        return 0
    return max(1, (_cache_bytes() // 8) // max(trial_state_bytes(trainer), 1))


# ---------------------------------------------------------------------------------------------- vmapped core


def _state_axes(state_like) -> dict:
    return {k: (None if k in UNBATCHED_STATE else 0) for k in state_like}


def _single(tree):
    """(1, 1, ...) grid leaves -> one trial's leaves."""
    return {k: jax.tree_util.tree_map(lambda x, k=k: x[0] if k in UNBATCHED_STATE else x[0, 0], v)
            for k, v in tree.items()}


def _grid(tree):
    """One trial's leaves -> (1, 1, ...) grid leaves."""
    return {k: jax.tree_util.tree_map(lambda x, k=k: x[None] if k in UNBATCHED_STATE else x[None, None], v)
            for k, v in tree.items()}


def _is_single(hparams) -> bool:
    return all(v.shape == (1, 1) for v in hparams.values())


def grid_functions(trainer):
    """(init, run): the training core's init / run_epochs vmapped over a (rows, cols) grid of trials whose row
    shares one PRNG key. init(hparams_RxC, keys_Rx2) -> state; run(state, hparams_RxC, data, num_epochs).

    A 1 x 1 grid runs the core without vmap: the same program as a single run."""
    abstract = jax.eval_shape(trainer.init, default_hparams_like(), jax.random.PRNGKey(0))
    axes = _state_axes(abstract)
    init_grid = jax.vmap(jax.vmap(trainer.init, in_axes=(0, None), out_axes=axes), in_axes=(0, 0))

    def init(hparams, keys):
        if _is_single(hparams):
            return _grid(trainer.init({k: v[0, 0] for k, v in hparams.items()}, keys[0]))
        return init_grid(hparams, keys)

    def run(state, hparams, data, num_epochs: int):
        if _is_single(hparams):
            one = {k: v[0, 0] for k, v in hparams.items()}
            st, m = trainer.run_epochs(_single(state), one, num_epochs, data)
            return _grid(st), jax.tree_util.tree_map(lambda x: x[None, None], m)
        row = jax.vmap(
            lambda s, h: trainer.run_epochs(s, h, num_epochs, data), in_axes=(axes, 0), out_axes=(axes, 0)
        )
        return jax.vmap(row)(state, hparams)

    return init, run


# ------------------------------------------------------------------------------------------ mesh, sharding


def make_mesh(shape: tuple[int, int], devices=None):
    devices = jax.devices() if devices is None else devices
    if shape[0] * shape[1] != len(devices):
        raise ValueError(f"mesh shape {shape} does not match {len(devices)} devices")
    # Auto axes: the compiler propagates the trial sharding through the vmapped program (no collectives:
    # trials are independent and the data are replicated).
    auto = (jax.sharding.AxisType.Auto,) * 2
    return jax.make_mesh(shape, MESH_AXES, axis_types=auto, devices=devices)


def put(x, sharding):
    """A global array from host data every process holds in full (works on one host and on several)."""
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def _state_shardings(abstract_state, mesh):
    def leaf(path, x):
        first = getattr(path[0], "key", None)
        spec = P("seeds") if first in UNBATCHED_STATE else P("seeds", "trials")
        return NamedSharding(mesh, spec)

    return jax.tree_util.tree_map_with_path(leaf, abstract_state)


class GroupProgram:
    """One shape group's programs on its mesh: `init` and `run` compiled once (per chunk length: at most two,
    epochs_per_chunk and the remainder) and reused by every block of the group, which share one grid shape."""

    def __init__(self, trainer, mesh_shape: tuple[int, int], devices, data: dict):
        self._init, self._run = grid_functions(trainer)
        self.mesh = make_mesh(mesh_shape, devices)
        self.repl = NamedSharding(self.mesh, P())
        self.data = {k: put(v, self.repl) for k, v in data.items()}  # replicated
        self.init = None
        self._runs: dict = {}

    def inputs(self, hparams: dict, keys: np.ndarray) -> tuple[dict, jax.Array]:
        """Host hyperparameters (rows, cols) and keys (rows, 2) as arrays sharded over the mesh."""
        grid = NamedSharding(self.mesh, P("seeds", "trials"))
        keys = put(keys, NamedSharding(self.mesh, P("seeds")))
        return {k: put(v, grid) for k, v in hparams.items()}, keys

    def compile(self, hparams: dict, keys, num_epochs: int) -> None:
        """Compile init and the run of `num_epochs` epochs (the first chunk); nothing if already done."""
        if self.init is not None:
            return
        shape = jax.eval_shape(self._init, hparams, keys)
        self._state_sh = _state_shardings(shape, self.mesh)
        self._abstract = jax.tree_util.tree_map(
            lambda a, sh: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sh), shape, self._state_sh
        )
        self._hparams_like = hparams
        self.init = jax.jit(self._init, out_shardings=self._state_sh).lower(hparams, keys).compile()
        self.run(num_epochs)

    def run(self, num_epochs: int):
        """The compiled run of `num_epochs` epochs: (state, hparams, data) -> (state, metrics); the state is
        donated."""
        if num_epochs not in self._runs:
            f = jax.jit(partial(self._run, num_epochs=num_epochs), out_shardings=(self._state_sh, self.repl),
                        donate_argnums=0)
            self._runs[num_epochs] = f.lower(self._abstract, self._hparams_like, self.data).compile()
        return self._runs[num_epochs]

    def gather(self, state) -> dict:
        """The state replicated and brought to the host (numpy leaves, (rows, cols, ...))."""
        return jax.device_get(jax.jit(lambda s: s, out_shardings=self.repl)(state))
