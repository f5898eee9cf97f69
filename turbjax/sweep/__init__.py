"""Hyperparameter sweeps as one vmapped, device-sharded program per model shape.

    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/sweep_lr
    python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/x --config.sweep.seed='(0, 1, 2)'

`run_sweep(config, workdir)` does the work and returns the results dict; `sweep_arrays(config, data)` runs a
sweep on arrays already standardized for the training core (tests and benchmarks call it). The modules:

    axes.py          the table of axes (pure Python, no JAX): sweep_section, validation, trials, trial
                     configs, record values and labels; the sweep configs import only this
    layout.py        trials on a (seeds, trials-per-seed) grid, padded to the mesh, split into blocks (NumPy)
    programs.py      the training core vmapped over that grid, compiled once per group; mesh and shardings
    run.py           run_sweep and sweep_arrays: groups, blocks, chunks
    report.py        per-trial records, the table, the loss-curves plot, the best trial's workdir, the
                     results.json summary
    distributed.py   joining a multi-host job
    __main__.py      the command line

A sweep config is a training config (configs/default.py's fields) plus a `sweep` section (`sweep_section()`):
one tuple of values per swept axis, an empty tuple leaving the base config's value.

    traced axes   learning_rate, weight_decay, momentum, l2, l1 (optimizer / loss hyperparameters) and seed
    shape axes    batch_size, hidden (MLP widths)
    mode          "grid" (the product of all axes, in AXES order, last axis fastest) or "zip" (all axes
                  the same length; trial i takes the i-th value of each)

How trials run. Trials with the same shape settings (batch size, hidden widths) form one group: one compiled
program, `jax.jit` of a nested `jax.vmap` of the training core's `init` / `run_epochs`. A group's trials are
laid out as a (seeds, trials-per-seed) grid: the outer vmap runs over seeds, the inner one over the trials
sharing that seed, with the PRNG key *unbatched* in the inner vmap. Trials with one seed draw the same initial
parameters and the same minibatch order, exactly as they would alone; so the minibatch gather is done once per
seed and the first layer's products of all of a seed's trials become one matrix product x_BxF . W_Fx(L*H)
instead of L small ones (`share_data_order=True`; False puts every trial in its own row: a plain vmap over
trials). Each group trains in chunks of `training.epochs_per_chunk` epochs; tqdm advances per chunk over the
whole sweep.

`trials_per_program` splits a group into blocks of at most k trials that the same compiled program runs one
after another (one compilation per group either way). The default, -1, is automatic: every trial in one
program on accelerators and on several devices; on one CPU device as many trials as keep their parameters,
gradients and optimizer state within an eighth of the last-level cache, and a block of one trial runs the core
without vmap. Why: a vmapped step streams all its trials' state (their parameters, gradients and Adam
moments), which for a big model no longer fits the cache; then the vmapped program runs slower than the trials
one after another (measurements in docs/performance_notes.md). On a GPU, where one small MLP leaves the card
idle, all trials go in one program.

Batch sizes run as separate groups rather than one padded-and-masked program: with batch sizes 2 and 512 a
common program would have to run ceil(N/2) steps of 512 rows, ~256x the work of one epoch, for every trial.

Devices. The (seeds, trials-per-seed) grid is sharded over a 2-D mesh ("seeds", "trials") of all devices
(`jax.make_mesh`, `NamedSharding`), its shape chosen to need the least padding; the grid is padded to a
multiple of the mesh shape with copies of real trials, which are discarded and never reported. The data arrays
are replicated. On several hosts every process runs the same command (see distributed.py); process 0 writes
the outputs.

Divergence. The training core freezes a trial whose loss, parameters or optimizer state become non-finite in
an epoch (its params and optimizer state go back to the end of its last good epoch) and flags it with its
epoch, so it never affects the other trials of its program. The sweep reports it as `diverged: true,
diverged_epoch: k` (1-based, as in metrics.jsonl) and goes on; it is never chosen as the best trial.

Workdir:
    config.json        the sweep config
    results.json       one entry per trial (hyperparameters, final train loss, test loss / R^2 or accuracy,
                       diverged, diverged_epoch, per-epoch curves), the groups and their timings, the best
                       trial
    loss_curves.png    train loss per epoch, one labelled curve per trial (semilog; test loss dashed)
    tensorboard/       one TensorBoard run per trial, trial_<i>/: its per-epoch values (train/loss,
                       val/..., test/..., train/learning_rate) and, for the hparams dashboard, its
                       hyperparameters with its final validation metrics (turbjax.tensorboard_log)
    best/              the best trial as a `turbjax.train` workdir (config.json, standardizer.npz,
                       results.json, checkpoints/): `python -m turbjax.evaluate --workdir <workdir>/best`
"""

from __future__ import annotations

import importlib

# Names importable from turbjax.sweep, and the module that holds each. They are imported on first use
# (PEP 562), not here: `from turbjax.sweep.axes import sweep_section` (the sweep configs) must not import JAX
# and the training core.
_EXPORTS = {
    "axes": ("AXES", "AXIS", "AXIS_TABLE", "Axis", "MODES", "SHAPE_AXES", "SWEEP_FIELDS", "TRACED_AXES",
             "base_config", "sweep_section", "trial_config", "trial_label", "trials_of", "validate_sweep"),
    "layout": ("Layout", "make_blocks", "make_layout", "mesh_shape"),
    "programs": ("MESH_AXES", "GroupProgram", "auto_trials_per_program", "default_hparams_like",
                 "grid_functions", "make_mesh", "trial_state_bytes"),
    "report": ("best_trial", "format_table", "plot_curves", "summarize", "trial_metrics", "trial_records",
               "trial_state", "write_best", "write_tensorboard"),
    "run": ("GroupResult", "_run_and_write", "run_sweep", "sweep_arrays"),
    "distributed": ("maybe_initialize_distributed",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(n for n in _MODULE_OF if not n.startswith("_"))


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)


def __dir__():
    return sorted(set(globals()) | set(_MODULE_OF))
