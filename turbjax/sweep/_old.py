"""Hyperparameter sweeps as one vmapped, device-sharded program per model shape.

    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/sweep_lr
    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/x --config.sweep.seed='(0, 1, 2)'

`main()` parses flags (and joins a multi-host job, see `maybe_initialize_distributed`); `run_sweep(config,
workdir)` does the work and returns the results dict; `sweep_arrays(config, data)` runs a sweep on arrays
already standardized for the training core (tests and benchmarks call it).

A sweep config is a training config (configs/default.py's fields) plus a `sweep` section (`sweep_section()`):
one tuple of values per swept axis, an empty tuple leaving the base config's value.

    traced axes   learning_rate, weight_decay, momentum, l2, l1 (optimizer / loss hyperparameters) and seed
    shape axes    batch_size, hidden (MLP widths)
    mode          "grid" (the product of all axes, in AXES order, last axis fastest) or "zip" (all axes
                  the same length; trial i takes the i-th value of each)

How trials run. Trials with the same shape settings (batch size, hidden widths) form one group: one compiled
program, `jax.jit` of a nested `jax.vmap` of the training core's `init` / `run_epochs`. A group's trials are laid
out as a (seeds, trials-per-seed) grid: the outer vmap runs over seeds, the inner one over the trials sharing
that seed, with the PRNG key *unbatched* in the inner vmap. Trials with one seed draw the same initial parameters
and the same minibatch order, exactly as they would alone; so the minibatch gather is done once per seed and
the first layer's products of all of a seed's trials become one matrix product x_BxF . W_Fx(L*H) instead of
L small ones (`share_data_order=True`; False puts every trial in its own row: a plain vmap over trials). Each
group trains in chunks of `training.epochs_per_chunk` epochs; tqdm advances per chunk over the whole sweep.

`trials_per_program` splits a group into blocks of at most k trials that the same compiled program runs one
after another (one compilation per group either way). The default, -1, is automatic: every trial in one program
on accelerators and on several devices; on one CPU device as many trials as keep their parameters, gradients and
optimizer state within an eighth of the last-level cache, and a block of one trial runs the core without vmap.
Why: a vmapped step streams all its trials' state (their parameters, gradients and Adam moments), which for a
big model no longer fits the cache. scripts/benchmark_sweep.py on a shared 2-core CPU (16 trials, 1920 x 4096
inputs): MLP (100, 100), 6.7 MB per trial: 16 trials in one program 0.4-0.7x the speed of the trials one after
another, so the automatic choice is 1 (the single-trial program, 1.0x); MLP (10, 10), 0.66 MB: blocks of 4 or
one 4 x 4 program 1.0x, a flat vmap over 16 trials 0.4x. On a GPU, where one small MLP leaves the card idle, all
trials go in one program.

Batch sizes run as separate groups rather than one padded-and-masked program: with batch sizes 2 and 512 a
common program would have to run ceil(N/2) steps of 512 rows, ~256x the work of one epoch, for every trial.

Devices. The (seeds, trials-per-seed) grid is sharded over a 2-D mesh ("seeds", "trials") of all devices
(`jax.make_mesh`, `NamedSharding`), its shape chosen to need the least padding; the grid is padded to a multiple
of the mesh shape with copies of real trials, which are discarded and never reported. The data arrays are
replicated. On several hosts every process runs the same command (see `maybe_initialize_distributed`); process 0
writes the outputs.

Divergence. The training core freezes a trial whose loss, parameters or optimizer state become non-finite in an
epoch (its params and optimizer state go back to the end of its last good epoch) and flags it with its epoch, so it never affects the other
trials of its program. The sweep reports it as `diverged: true, diverged_epoch: k` (1-based, as in
metrics.jsonl) and goes on; it is never chosen as the best trial.

Workdir:
    config.json        the sweep config
    results.json       one entry per trial (hyperparameters, final train loss, test loss / R^2 or accuracy,
                       diverged, diverged_epoch, per-epoch curves), the groups and their timings, the best trial
    loss_curves.png    train loss per epoch, one labelled curve per trial (semilog; test loss dashed)
    best/              the best trial as a `turbjax.train` workdir (config.json, standardizer.npz,
                       results.json, checkpoints/): `python -m turbjax.evaluate --workdir <workdir>/best`
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from ml_collections import config_dict

from turbjax.training.loop import make_train
from turbjax.training.optimizers import HPARAM_NAMES, default_hparams

TRACED_AXES = ("learning_rate", "weight_decay", "momentum", "l2", "l1", "seed")
SHAPE_AXES = ("batch_size", "hidden")
AXES = SHAPE_AXES + TRACED_AXES  # grid order: shape axes outermost, so each group is a contiguous block
MODES = ("grid", "zip")
MESH_AXES = ("seeds", "trials")
_UNBATCHED_STATE = ("key", "epoch")  # shared by the trials of one seed (the inner vmap)


# --------------------------------------------------------------------------------------------------- config


def sweep_section(mode: str = "grid", share_data_order: bool = True, trials_per_program: int = -1,
                  **axes) -> config_dict.ConfigDict:
    """The `sweep` section of a sweep config: `sweep_section(learning_rate=(1.0, 0.1), seed=(0, 1))`."""
    s = config_dict.ConfigDict()
    s.mode = mode
    s.share_data_order = share_data_order  # trials of one seed share init and minibatch order (see above)
    s.checkpoint_best = True  # write the best trial as a turbjax.train workdir under <workdir>/best
    # 0: all trials of a shape group in one program; k > 0: blocks of at most k trials, run one after another by
    # one compiled program (one device only); -1 (auto): 0 on accelerators and on several devices, on one CPU
    # device the k whose training state fits a share of the CPU's cache (`auto_trials_per_program`).
    s.trials_per_program = trials_per_program
    for name in AXES:
        s[name] = ()
    for name, values in axes.items():
        if name not in AXES:
            raise ValueError(f"sweep axis {name!r} is unknown; expected one of {AXES}")
        s[name] = tuple(values)
    return s


def _fail(msg: str):
    raise ValueError(msg)


def validate_sweep(config) -> None:
    """Check the sweep section (axis names and values, zip lengths); the per-trial training configs are
    checked by `run_sweep` with turbjax.train's validation."""
    if "sweep" not in config:
        _fail("the config has no `sweep` section; start from configs/sweep_lr.py (sweep_section(...))")
    s = config.sweep
    known = set(AXES) | {"mode", "share_data_order", "checkpoint_best", "trials_per_program"}
    for name in s:
        if name not in known:
            import difflib

            hint = difflib.get_close_matches(name, sorted(known), n=1)
            _fail(f"config.sweep.{name} is not a sweep field" + (f"; did you mean {hint[0]}?" if hint else "")
                  + f" Known: {sorted(known)}")
    tpp = s.get("trials_per_program", 0)
    if isinstance(tpp, bool) or not isinstance(tpp, int) or tpp < -1:
        _fail(f"config.sweep.trials_per_program={tpp!r} must be an int >= -1 (0: all trials in one program, "
              f"-1: automatic)")
    if s.mode not in MODES:
        _fail(f"config.sweep.mode={s.mode!r}; expected one of {MODES}")
    swept = {a: tuple(s[a]) for a in AXES if len(s[a])}
    for name, values in swept.items():
        if isinstance(s[name], str):
            _fail(f"config.sweep.{name}={s[name]!r} must be a tuple of values, e.g. '(0.1, 0.01)'")
        for v in values:
            if name == "hidden":
                ok = isinstance(v, (tuple, list)) and all(isinstance(h, int) and h >= 1 for h in v)
                what = "a tuple of positive ints per trial, e.g. '((10, 10), (100, 100))'"
            elif name in ("seed", "batch_size"):
                ok = isinstance(v, int) and not isinstance(v, bool) and v >= (0 if name == "seed" else 1)
                what = "non-negative ints" if name == "seed" else "positive ints"
            else:
                ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0
                what = "finite non-negative numbers"
            if not ok:
                _fail(f"config.sweep.{name}={values!r}: {v!r} is not valid; expected {what}")
    if s.mode == "zip" and len({len(v) for v in swept.values()}) > 1:
        _fail(
            "config.sweep.mode='zip' needs every swept axis to have the same length, got "
            + ", ".join(f"{k}: {len(v)}" for k, v in swept.items())
            + "; use mode='grid' for the product"
        )


def trials_of(config) -> list[dict]:
    """The sweep's trials: one dict {axis: value} per trial over the swept axes, in order."""
    validate_sweep(config)
    s = config.sweep
    names = [a for a in AXES if len(s[a])]
    if not names:
        return [{}]
    values = [tuple(tuple(v) if a == "hidden" else v for v in s[a]) for a in names]
    combos = itertools.product(*values) if s.mode == "grid" else zip(*values)
    return [dict(zip(names, c)) for c in combos]


def trial_config(config, trial: dict) -> config_dict.ConfigDict:
    """The training config of one trial: the sweep config without its sweep section, with the trial's values."""
    c = config_dict.ConfigDict(config.to_dict())
    if "sweep" in c:
        del c["sweep"]
    for name, value in trial.items():
        if name in ("seed", "batch_size"):
            c.training[name] = int(value)
        elif name == "hidden":
            c.model.hidden = tuple(int(h) for h in value)
        else:
            c.optim[name] = float(value)
    return c


def _shape_key(trial: dict) -> tuple:
    return tuple((a, trial[a]) for a in SHAPE_AXES if a in trial)


# ---------------------------------------------------------------------------------------------------- layout


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
    """Trials of one group on a (rows, cols) grid: row r shares one seed; index[r, c] is the trial number in the
    whole sweep, real[r, c] False for padding (a copy of a real trial, discarded)."""

    index: np.ndarray  # int (rows, cols)
    real: np.ndarray  # bool (rows, cols)
    mesh: tuple[int, int]


def _rows(trial_ids: Sequence[int], seeds: Sequence[int], share: bool) -> list[list[int]]:
    rows: dict = {}
    for t, s in zip(trial_ids, seeds):
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
        raise ValueError(f"cannot lay out {n_rows} x {n_cols} trials on a {shape} grid over {num_devices} devices")
    index = np.empty((rows_pad, cols_pad), np.int64)
    real = np.zeros((rows_pad, cols_pad), bool)
    for r in range(rows_pad):
        g = groups[r] if r < n_rows else groups[0]
        for c in range(cols_pad):
            index[r, c] = g[c] if c < len(g) else g[0]
            real[r, c] = r < n_rows and c < len(g)
    return Layout(index=index, real=real, mesh=(ds, dl))


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
    as fit an eighth of the last-level cache (at least 1); see the module docstring for the measurements."""
    backend = backend or jax.default_backend()
    if backend != "cpu" or num_devices > 1:
        return 0
    return max(1, (_cache_bytes() // 8) // max(trial_state_bytes(trainer), 1))


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
    blocks = []
    for r0 in range(0, len(rows), per):
        for c0 in range(0, n_cols, cols):
            part = [r[c0:c0 + cols] for r in rows[r0:r0 + per] if r[c0:c0 + cols]]
            if part:
                blocks.append(part)
    shape = (min(len(rows), per), cols)
    seed_of = dict(zip(trial_ids, seeds))
    out = []
    for part in blocks:
        ids = [t for r in part for t in r]
        # rows of one block keep their own key: a row label per row (a block's row is one seed's trials)
        labels = [seed_of[r[0]] if share else ("trial", r[0]) for r in part for _ in r]
        out.append(make_layout(ids, labels, num_devices, share=True, shape=shape))
    return out


# --------------------------------------------------------------------------------------------------- program


def _state_axes(state_like) -> dict:
    return {k: (None if k in _UNBATCHED_STATE else 0) for k in state_like}


def grid_functions(trainer):
    """(init, run): the training core's init / run_epochs vmapped over a (rows, cols) grid of trials whose row
    shares one PRNG key. init(hparams_RxC, keys_Rx2) -> state; run(state, hparams_RxC, data, num_epochs).

    A 1 x 1 grid runs the core without vmap: the same program as a single run."""
    abstract = jax.eval_shape(trainer.init, default_hparams_like(), jax.random.PRNGKey(0))
    axes = _state_axes(abstract)
    init_row = jax.vmap(trainer.init, in_axes=(0, None), out_axes=axes)
    init_grid = jax.vmap(init_row, in_axes=(0, 0))

    def single(tree):  # (1, 1, ...) grid leaves -> one trial's leaves, and back
        return {k: jax.tree_util.tree_map(lambda x, k=k: x[0] if k in _UNBATCHED_STATE else x[0, 0], v)
                for k, v in tree.items()}

    def grid(tree):
        return {k: jax.tree_util.tree_map(lambda x, k=k: x[None] if k in _UNBATCHED_STATE else x[None, None], v)
                for k, v in tree.items()}

    def is_single(hparams):
        return all(v.shape == (1, 1) for v in hparams.values())

    def init(hparams, keys):
        if is_single(hparams):
            return grid(trainer.init({k: v[0, 0] for k, v in hparams.items()}, keys[0]))
        return init_grid(hparams, keys)

    def run(state, hparams, data, num_epochs: int):
        if is_single(hparams):
            st, m = trainer.run_epochs(single(state), {k: v[0, 0] for k, v in hparams.items()}, num_epochs, data)
            return grid(st), jax.tree_util.tree_map(lambda x: x[None, None], m)
        row = jax.vmap(
            lambda s, h: trainer.run_epochs(s, h, num_epochs, data), in_axes=(axes, 0), out_axes=(axes, 0)
        )
        return jax.vmap(row)(state, hparams)

    return init, run


def default_hparams_like() -> dict:
    return {k: jnp.zeros((), jnp.float32) for k in HPARAM_NAMES}


def make_mesh(shape: tuple[int, int], devices=None):
    devices = jax.devices() if devices is None else devices
    if shape[0] * shape[1] != len(devices):
        raise ValueError(f"mesh shape {shape} does not match {len(devices)} devices")
    # Auto axes: the compiler propagates the trial sharding through the vmapped program (no collectives:
    # trials are independent and the data are replicated).
    auto = (jax.sharding.AxisType.Auto,) * 2
    return jax.make_mesh(shape, MESH_AXES, axis_types=auto, devices=devices)


def _put(x, sharding):
    """A global array from host data every process holds in full (works on one host and on several)."""
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])


def _state_shardings(abstract_state, mesh):
    from jax import NamedSharding, P

    def leaf(path, x):
        first = getattr(path[0], "key", None)
        spec = P("seeds") if first in _UNBATCHED_STATE else P("seeds", "trials")
        return NamedSharding(mesh, spec)

    return jax.tree_util.tree_map_with_path(leaf, abstract_state)


# ------------------------------------------------------------------------------------------------------ run


class _ChunkPrograms:
    """The compiled `run` for each chunk length (at most two: epochs_per_chunk and the remainder)."""

    def __init__(self, run, abstract_state, hparams, data, out_shardings):
        self.args = (abstract_state, hparams, data)
        self.run, self.out_shardings, self.compiled = run, out_shardings, {}

    def __call__(self, num_epochs: int):
        if num_epochs not in self.compiled:
            f = jax.jit(partial(self.run, num_epochs=num_epochs), out_shardings=self.out_shardings,
                        donate_argnums=0)
            self.compiled[num_epochs] = f.lower(*self.args).compile()
        return self.compiled[num_epochs]


@dataclasses.dataclass
class GroupResult:
    shape: dict
    trial_ids: list
    layout: Layout
    metrics: dict  # name -> (rows, cols, epochs) numpy
    state: dict  # final state, (rows, cols, ...) leaves, replicated
    trainer: object
    config: object
    compile_seconds: float
    run_seconds: float
    group: int = 0  # shape group
    block: int = 0  # block of the group (config.sweep.trials_per_program)


def sweep_arrays(
    config, data: dict, *, devices=None, image_shape=None, num_classes=None, progress: bool = True,
    trials: list[dict] | None = None,
) -> tuple[list[dict], list[GroupResult]]:
    """Run every trial of `config` on standardized `data` (the training core's dict of arrays).

    Returns (trials, groups): `trials` as from `trials_of(config)`; per group its trial numbers, layout, per-epoch
    metrics (rows, cols, epochs), final state and timings. `devices` defaults to all devices."""
    from jax import NamedSharding, P
    from tqdm.auto import tqdm

    trials = trials_of(config) if trials is None else trials
    devices = jax.devices() if devices is None else list(devices)
    share = bool(config.sweep.share_data_order)
    groups: dict = {}
    for i, t in enumerate(trials):
        groups.setdefault(_shape_key(t), []).append(i)
    epochs = int(config.training.epochs)
    chunk = int(config.training.epochs_per_chunk)
    bar = tqdm(
        total=epochs * len(groups), unit="epoch", desc=f"sweep ({len(trials)} trials)", dynamic_ncols=True,
        disable=not progress or jax.process_index() != 0,
    )
    results = []
    try:
        for g, (shape, ids) in enumerate(groups.items()):
            cfg = trial_config(config, trials[ids[0]])
            trainer = make_train(cfg, data, image_shape=image_shape, num_classes=num_classes)
            seeds = [int(trials[i].get("seed", config.training.seed)) for i in ids]
            tpp = int(config.sweep.trials_per_program)
            if tpp < 0:
                tpp = auto_trials_per_program(trainer, len(devices), devices[0].platform)
            blocks = make_blocks(ids, seeds, len(devices), share, tpp)
            init, run = grid_functions(trainer)
            mesh = make_mesh(blocks[0].mesh, devices)
            grid = NamedSharding(mesh, P("seeds", "trials"))
            repl = NamedSharding(mesh, P())
            d = {k: _put(v, repl) for k, v in data.items()}
            compiled = None
            for b, layout in enumerate(blocks):
                hp = [default_hparams(trial_config(config, trials[i]).optim) for i in layout.index.ravel()]
                hp = {k: np.asarray([h[k] for h in hp], np.float32).reshape(layout.index.shape)
                      for k in HPARAM_NAMES}
                keys = np.stack([
                    np.asarray(jax.random.PRNGKey(int(trials[layout.index[r, 0]].get("seed", config.training.seed))))
                    for r in range(layout.index.shape[0])
                ])
                hp = {k: _put(v, grid) for k, v in hp.items()}
                keys = _put(keys, NamedSharding(mesh, P("seeds")))
                t0 = time.perf_counter()
                if compiled is None:  # one compilation per shape group; every block has the same grid
                    state_sh = _state_shardings(jax.eval_shape(init, hp, keys), mesh)
                    abstract = jax.tree_util.tree_map(
                        lambda a, sh: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=sh),
                        jax.eval_shape(init, hp, keys), state_sh,
                    )
                    init_c = jax.jit(init, out_shardings=state_sh).lower(hp, keys).compile()
                    compiled = _ChunkPrograms(run, abstract, hp, d, out_shardings=(state_sh, repl))
                    compiled(min(chunk, epochs))
                compile_seconds = time.perf_counter() - t0
                where = f"group {g + 1}/{len(groups)}" + (f" block {b + 1}/{len(blocks)}" if len(blocks) > 1 else "")
                bar.set_description(f"sweep {where} {dict(shape) or ''}".rstrip())
                t0 = time.perf_counter()
                state = init_c(hp, keys)
                chunks, done = [], 0
                while done < epochs:
                    n = min(chunk, epochs - done)
                    state, m = compiled(n)(state, hp, d)
                    m = jax.device_get(m)
                    chunks.append(m)
                    done += n
                    bar.update(n / len(blocks))
                    loss = np.where(layout.real, m["train_loss"][..., -1], np.nan)
                    bar.set_postfix(best_loss=f"{np.nanmin(loss):.3g}" if np.isfinite(loss).any() else "nan",
                                    diverged=int(np.sum(m["diverged"][..., -1] & layout.real)))
                state = jax.device_get(jax.jit(lambda s: s, out_shardings=repl)(state))
                run_seconds = time.perf_counter() - t0
                metrics = {k: np.concatenate([c[k] for c in chunks], axis=-1) for k in chunks[0]}
                results.append(GroupResult(
                    shape=dict(shape), trial_ids=sorted(int(i) for i in layout.index[layout.real]), layout=layout,
                    metrics=metrics, state=state, trainer=trainer, config=cfg, compile_seconds=compile_seconds,
                    run_seconds=run_seconds, group=g, block=b,
                ))
    finally:
        bar.close()
    return trials, results


def _clean(x):
    x = float(x)
    return x if math.isfinite(x) else None


def trial_records(trials: list[dict], groups: list[GroupResult], config) -> list[dict]:
    """One record per trial (padding discarded): hyperparameters, final metrics, diverged, curves."""
    records: list = [None] * len(trials)
    for res in groups:
        lay = res.layout
        for r, c in zip(*np.nonzero(lay.real)):
            i = int(lay.index[r, c])
            m = {k: v[r, c] for k, v in res.metrics.items()}
            tc = trial_config(config, trials[i])
            rec = {
                "trial": i,
                "group": res.group,
                "learning_rate": float(tc.optim.learning_rate),
                "weight_decay": float(tc.optim.weight_decay),
                "momentum": float(tc.optim.momentum),
                "l2": float(tc.optim.l2),
                "l1": float(tc.optim.l1),
                "seed": int(tc.training.seed),
                "batch_size": int(tc.training.batch_size),
                "hidden": list(tc.model.hidden),
                "swept": {k: (list(v) if isinstance(v, tuple) else v) for k, v in trials[i].items()},
                "final_train_loss": _clean(m["train_loss"][-1]),
                "final_test_loss": _clean(m["test_loss"][-1]),
            }
            for name in ("test_r2", "test_mse", "test_mae", "test_accuracy"):
                if name in m:
                    rec[name] = _clean(m[name][-1])
            diverged = bool(m["diverged"][-1])
            rec["diverged"] = diverged
            rec["diverged_epoch"] = int(np.argmax(m["diverged"])) + 1 if diverged else None
            de = int(res.state["diverged_epoch"][r, c])
            if diverged and de + 1 != rec["diverged_epoch"]:
                raise AssertionError(f"trial {i}: state diverged_epoch {de} disagrees with the metrics")
            rec["curves"] = {
                k: [_clean(v) for v in m[k]] for k in ("train_loss", "test_loss", "test_r2", "test_accuracy")
                if k in m
            }
            records[i] = rec
    return records


def best_trial(records: list[dict]) -> int | None:
    """The non-diverged trial with the lowest final test loss (None if all diverged)."""
    ok = [r for r in records if not r["diverged"] and r["final_test_loss"] is not None]
    return min(ok, key=lambda r: r["final_test_loss"])["trial"] if ok else None


def trial_state(groups: list[GroupResult], trial: int) -> tuple[dict, GroupResult]:
    """The final state of one trial (numpy leaves, as a single run's state) and its group."""
    for res in groups:
        hits = np.argwhere((res.layout.index == trial) & res.layout.real)
        if len(hits):
            r, c = (int(i) for i in hits[0])
            state = {}
            for k, v in res.state.items():
                where = (r,) if k in _UNBATCHED_STATE else (r, c)
                state[k] = jax.tree_util.tree_map(lambda x, where=where: x[where], v)
            return state, res
    raise KeyError(f"trial {trial} is not in the sweep")


# -------------------------------------------------------------------------------------------------- outputs


def format_table(records: list[dict], metric: str) -> str:
    swept = [k for k in AXES if any(k in r["swept"] for r in records)]
    head = ["trial"] + swept + ["train_loss", metric, "diverged"]
    rows = []
    for r in records:
        row = [str(r["trial"])]
        for k in swept:
            v = r["swept"].get(k)
            row.append(f"{v:g}" if isinstance(v, float) else str(tuple(v) if isinstance(v, list) else v))
        for k in ("final_train_loss", metric):
            row.append("-" if r.get(k) is None else f"{r[k]:.4g}")
        row.append(f"epoch {r['diverged_epoch']}" if r["diverged"] else "no")
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = [head, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(row, widths)) for row in lines)


def trial_label(rec: dict) -> str:
    parts = []
    for k, v in rec["swept"].items():
        short = {"learning_rate": "lr", "weight_decay": "wd", "batch_size": "batch"}.get(k, k)
        parts.append(f"{short}={v:g}" if isinstance(v, float) else f"{short}={tuple(v) if isinstance(v, list) else v}")
    label = ", ".join(parts) or f"trial {rec['trial']}"
    return label + (f" (diverged, epoch {rec['diverged_epoch']})" if rec["diverged"] else "")


def plot_curves(records: list[dict], path: Path, title: str = "") -> None:
    # A bare Figure (no pyplot): no backend switch, so a notebook's inline plots keep working.
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab10" if len(records) <= 10 else "tab20"]
    for j, rec in enumerate(records):
        color = cmap(j % cmap.N)
        tr = np.array([np.nan if v is None else v for v in rec["curves"]["train_loss"]])
        te = np.array([np.nan if v is None else v for v in rec["curves"]["test_loss"]])
        ep = np.arange(1, len(tr) + 1)
        if rec["diverged"]:  # the core keeps the last good parameters; show where training stopped
            te = np.where(ep < rec["diverged_epoch"], te, np.nan)
        ax.semilogy(ep, tr, color=color, label=trial_label(rec))
        ax.semilogy(ep, te, color=color, ls="--", lw=0.8)
        if rec["diverged"]:
            last = rec["diverged_epoch"] - 1
            y = tr[last - 1] if last >= 1 else np.nanmax(np.where(np.isfinite(tr), tr, np.nan), initial=1.0)
            ax.plot([max(last, 1)], [y if np.isfinite(y) else 1.0], "x", color=color, ms=8)
    ax.set(xlabel="epoch", ylabel="loss (standardized units)", title=title or "sweep: train (solid), test (dashed)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_best(workdir: Path, config, rec: dict, state: dict, group: GroupResult, stats: dict | None) -> Path:
    """The best trial as a turbjax.train workdir (config.json, standardizer.npz, results.json, checkpoints/)."""
    from turbjax.training.checkpoint import Checkpointer

    best = workdir / "best"
    if best.exists():
        import shutil

        shutil.rmtree(best)
    best.mkdir(parents=True)
    tc = trial_config(config, {k: (tuple(v) if isinstance(v, list) else v) for k, v in rec["swept"].items()})
    (best / "config.json").write_text(json.dumps(json.loads(tc.to_json_best_effort()), indent=2) + "\n")
    if stats is not None:
        np.savez(best / "standardizer.npz", **stats)
    epoch = int(state["epoch"])
    ckpt = Checkpointer(best / "checkpoints", keep=1)
    ckpt.save(epoch, jax.tree_util.tree_map(jnp.asarray, state), rec["final_test_loss"])
    ckpt.close()
    out = {k: v for k, v in rec.items() if k != "curves"} | {"epochs": epoch, "source": "turbjax.sweep"}
    (best / "results.json").write_text(json.dumps(out, indent=2) + "\n")
    return best


def summarize(config, trials, groups, *, wall_seconds: float, devices) -> dict:
    records = trial_records(trials, groups, config)
    task = groups[0].trainer.task
    best = best_trial(records)
    return {
        "task": task,
        "metric": "test_r2" if task == "regression" else "test_accuracy",
        "mode": config.sweep.mode,
        "share_data_order": bool(config.sweep.share_data_order),
        "axes": {a: [list(v) if isinstance(v, tuple) else v for v in config.sweep[a]] for a in AXES
                 if len(config.sweep[a])},
        "num_trials": len(trials),
        "best_trial": best,
        "devices": [str(d) for d in devices],
        "backend": jax.default_backend(),
        "wall_seconds": wall_seconds,
        "groups": [
            {
                "shape": {k: (list(v) if isinstance(v, tuple) else v) for k, v in res.shape.items()},
                "block": res.block,
                "trials": res.trial_ids,
                "grid": list(res.layout.index.shape),
                "padding_trials": int(res.layout.real.size - res.layout.real.sum()),
                "mesh": dict(zip(MESH_AXES, res.layout.mesh)),
                "compile_seconds": res.compile_seconds,
                "run_seconds": res.run_seconds,
            }
            for res in groups
        ],
        "trials": records,
    }


def run_sweep(config, workdir) -> dict:
    """Validate, load the data (generating it if missing), run every trial, write the outputs; see the module
    docstring. Returns the dict written to results.json."""
    from turbjax.data.dataset import build_dataset
    from turbjax.pipeline import check_batch_size, ensure_data, prepare_arrays, validate_config

    trials = trials_of(config)
    for t in trials:  # every trial's training config, before any data is generated or loaded
        try:
            validate_config(trial_config(config, t))
        except ValueError as e:
            raise ValueError(f"sweep trial {t}: {e}") from None
    workdir = Path(workdir)
    ensure_data(config.data)
    ds = build_dataset(config.data)
    for t in trials:
        check_batch_size(trial_config(config, t), len(ds.X_train))
    data, stats = prepare_arrays(ds, trial_config(config, trials[0]))
    print(f"turbjax.sweep: {ds.summary()}; {len(trials)} trials on {jax.device_count()} device(s)", flush=True)
    return _run_and_write(config, workdir, data, stats=stats, trials=trials,
                          image_shape=ds.image_shape, num_classes=len(ds.classes))


def _run_and_write(config, workdir, data, *, stats=None, trials=None, image_shape=None, num_classes=None,
                   devices=None, progress=True) -> dict:
    workdir = Path(workdir)
    t0 = time.perf_counter()
    trials, groups = sweep_arrays(config, data, trials=trials, image_shape=image_shape, num_classes=num_classes,
                                  devices=devices, progress=progress)
    devices = jax.devices() if devices is None else devices
    results = summarize(config, trials, groups, wall_seconds=time.perf_counter() - t0, devices=devices)
    if jax.process_index() != 0:
        return results
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(json.dumps(json.loads(config.to_json_best_effort()), indent=2) + "\n")
    best = results["best_trial"]
    if best is not None and config.sweep.checkpoint_best:
        state, group = trial_state(groups, best)
        results["best_workdir"] = str(write_best(workdir, config, results["trials"][best], state, group, stats))
    (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    plot_curves(results["trials"], workdir / "loss_curves.png")
    print(format_table(results["trials"], results["metric"]), flush=True)
    if best is None:
        print("turbjax.sweep: every trial diverged; no best trial", flush=True)
    else:
        print(f"turbjax.sweep: best trial {best} ({trial_label(results['trials'][best])}); outputs in {workdir}",
              flush=True)
    return results


# ------------------------------------------------------------------------------------------------ multi-host


def maybe_initialize_distributed(coordinator_address=None, num_processes=None, process_id=None) -> bool:
    """Join a multi-process JAX job when one is configured; return whether it did.

    Configured means: `coordinator_address` (flag `--coordinator_address`) or the environment variable
    JAX_COORDINATOR_ADDRESS, with the process count and id from the flags or JAX_NUM_PROCESSES /
    JAX_PROCESS_ID; or a cluster JAX detects by itself (SLURM with more than one task, Open MPI's mpirun,
    a Cloud TPU pod). Otherwise nothing happens and the sweep uses the local devices."""
    env = os.environ
    address = coordinator_address or env.get("JAX_COORDINATOR_ADDRESS")
    if address:
        n = num_processes if num_processes is not None else env.get("JAX_NUM_PROCESSES")
        pid = process_id if process_id is not None else env.get("JAX_PROCESS_ID")
        jax.distributed.initialize(
            coordinator_address=address,
            num_processes=None if n is None else int(n),
            process_id=None if pid is None else int(pid),
        )
        return True
    cluster = (
        int(env.get("SLURM_NTASKS", "1")) > 1
        or "OMPI_MCA_orte_hnp_uri" in env
        or "TPU_WORKER_HOSTNAMES" in env
    )
    if cluster:
        jax.distributed.initialize()
        return True
    return False


# ------------------------------------------------------------------------------------------------------ CLI


def main(argv=None) -> None:
    from absl import app, flags, logging
    from ml_collections import config_flags

    config_flags.DEFINE_config_file("config", None, "sweep config file (configs/sweep_*.py)", lock_config=True)
    flags.DEFINE_string("workdir", None, "directory for results.json, loss_curves.png and the best checkpoint")
    flags.DEFINE_string("coordinator_address", None, "multi-host: host:port of process 0 (or JAX_COORDINATOR_ADDRESS)")
    flags.DEFINE_integer("num_processes", None, "multi-host: number of processes (or JAX_NUM_PROCESSES)")
    flags.DEFINE_integer("process_id", None, "multi-host: this process's id (or JAX_PROCESS_ID)")
    flags.mark_flags_as_required(["config", "workdir"])

    def _main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}")
        f = flags.FLAGS
        if not f["verbosity"].present:
            logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
        maybe_initialize_distributed(f.coordinator_address, f.num_processes, f.process_id)
        try:
            run_sweep(copy.deepcopy(f.config), f.workdir)
        except (ValueError, FileNotFoundError, PermissionError) as e:
            print(f"turbjax.sweep: error: {e}", file=sys.stderr)
            sys.exit(1)

    app.run(_main, argv=argv)


if __name__ == "__main__":
    main()
