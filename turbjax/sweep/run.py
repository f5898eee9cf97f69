"""Running a sweep: `run_sweep(config, workdir)` (validate, load the data, run, write the outputs) and
`sweep_arrays(config, data)` (every trial on arrays already standardized for the training core), group by
group (one compiled program each), block by block, chunk by chunk."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import jax
import numpy as np
from tqdm.auto import tqdm

from turbjax.checks import output_dir
from turbjax.configs.validate import check_batch_size, validate_config
from turbjax.pipeline import ensure_data, prepare, trainer_for
from turbjax.scoring import is_reynolds_regression, write_trust
from turbjax.sweep.axes import shape_key, trial_config, trial_label, trial_seed, trials_of
from turbjax.sweep.layout import Layout, make_blocks
from turbjax.sweep.programs import GroupProgram, auto_trials_per_program
from turbjax.sweep.report import (
    format_table,
    plot_curves,
    summarize,
    trial_state,
    write_best,
    write_tensorboard,
)
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.chunks import Chunk, run_chunks
from turbjax.training.loop import make_train
from turbjax.training.optimizers import HPARAM_NAMES, default_hparams
from turbjax.training.resume import restore_state
from turbjax.workdir import load_run_config, write_config, write_json


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


def shape_groups(trials: list[dict]) -> dict[tuple, list[int]]:
    """Trial numbers by shape settings, in order of first appearance."""
    groups: dict = {}
    for i, t in enumerate(trials):
        groups.setdefault(shape_key(t), []).append(i)
    return groups


def _block_inputs(config, trials: list[dict], layout: Layout) -> tuple[dict, np.ndarray]:
    """Host arrays of one block: hyperparameters (rows, cols) per HPARAM_NAMES and a PRNG key per row."""
    hp = [default_hparams(trial_config(config, trials[i]).optim) for i in layout.index.ravel()]
    hp = {k: np.asarray([h[k] for h in hp], np.float32).reshape(layout.index.shape) for k in HPARAM_NAMES}
    seeds = [trial_seed(config, trials[i]) for i in layout.index[:, 0]]  # one per row
    keys = np.stack([np.asarray(jax.random.PRNGKey(s)) for s in seeds])
    return hp, keys


def _show_progress(bar, n: float, layout: Layout, m: dict) -> None:
    bar.update(n)
    loss = np.where(layout.real, m["train_loss"][..., -1], np.nan)
    bar.set_postfix(best_loss=f"{np.nanmin(loss):.3g}" if np.isfinite(loss).any() else "nan",
                    diverged=int(np.sum(m["diverged"][..., -1] & layout.real)))


def _train_block(program: GroupProgram, hp, keys, layout: Layout, epochs: int, chunk: int, bar,
                 share: float) -> tuple[dict, dict]:
    """Train one block for `epochs` epochs in chunks: (its final state on the host, its metrics (rows, cols,
    epochs))."""
    chunks = []

    def after(state, done: Chunk) -> bool:
        chunks.append(done.metrics)
        _show_progress(bar, done.epochs * share, layout, done.metrics)
        return False

    state, _ = run_chunks(lambda state, n: program.run(n)(state, hp, program.data), program.init(hp, keys),
                          start=0, total=epochs, chunk=chunk, after=after)
    state = program.gather(state)
    return state, {k: np.concatenate([c[k] for c in chunks], axis=-1) for k in chunks[0]}


def _run_group(config, data, trials, g: int, shape: tuple, ids: list[int], devices, bar, *, num_groups: int,
               image_shape, num_classes) -> list[GroupResult]:
    """Every block of one shape group with one compiled program."""
    cfg = trial_config(config, trials[ids[0]])
    trainer = make_train(cfg, data, image_shape=image_shape, num_classes=num_classes)
    tpp = int(config.sweep.trials_per_program)
    if tpp < 0:
        tpp = auto_trials_per_program(trainer, len(devices), devices[0].platform)
    seeds = [trial_seed(config, trials[i]) for i in ids]
    blocks = make_blocks(ids, seeds, len(devices), bool(config.sweep.share_data_order), tpp)
    program = GroupProgram(trainer, blocks[0].mesh, devices, data)
    epochs, chunk = int(config.training.epochs), int(config.training.epochs_per_chunk)
    results = []
    for b, layout in enumerate(blocks):
        hp, keys = program.inputs(*_block_inputs(config, trials, layout))
        t0 = time.perf_counter()
        program.compile(hp, keys, min(chunk, epochs))  # once per group: every block has the same grid
        compile_seconds = time.perf_counter() - t0
        where = f"group {g + 1}/{num_groups}" + (f" block {b + 1}/{len(blocks)}" if len(blocks) > 1 else "")
        bar.set_description(f"sweep {where} {dict(shape) or ''}".rstrip())
        t0 = time.perf_counter()
        state, metrics = _train_block(program, hp, keys, layout, epochs, chunk, bar, 1 / len(blocks))
        results.append(GroupResult(
            shape=dict(shape), trial_ids=sorted(int(i) for i in layout.index[layout.real]), layout=layout,
            metrics=metrics, state=state, trainer=trainer, config=cfg, compile_seconds=compile_seconds,
            run_seconds=time.perf_counter() - t0, group=g, block=b,
        ))
    return results


def sweep_arrays(
    config, data: dict, *, devices=None, image_shape=None, num_classes=None, progress: bool = True,
    trials: list[dict] | None = None,
) -> tuple[list[dict], list[GroupResult]]:
    """Run every trial of `config` on standardized `data` (the training core's dict of arrays).

    Returns (trials, groups): `trials` as from `trials_of(config)`; per group its trial numbers, layout,
    per-epoch metrics (rows, cols, epochs), final state and timings. `devices` defaults to all devices."""
    trials = trials_of(config) if trials is None else trials
    devices = jax.devices() if devices is None else list(devices)
    groups = shape_groups(trials)
    bar = tqdm(
        total=int(config.training.epochs) * len(groups), unit="epoch", desc=f"sweep ({len(trials)} trials)",
        dynamic_ncols=True, disable=not progress or jax.process_index() != 0,
    )
    results = []
    try:
        for g, (shape, ids) in enumerate(groups.items()):
            results += _run_group(config, data, trials, g, shape, ids, devices, bar, num_groups=len(groups),
                                  image_shape=image_shape, num_classes=num_classes)
    finally:
        bar.close()
    return trials, results


def _for_trial(trial: dict, check, *args) -> None:
    """Run a check of one trial's training config; its error names the trial."""
    try:
        check(*args)
    except ValueError as e:
        raise ValueError(f"sweep trial {trial}: {e}") from None


def run_sweep(config, workdir) -> dict:
    """Validate, load the data (generating it if missing), run every trial, write the outputs; see the package
    docstring. Returns the dict written to results.json."""
    output_dir(workdir, "--workdir")
    trials = trials_of(config)
    configs = [trial_config(config, t) for t in trials]
    # every trial's training config, before any data is generated or loaded
    for t, c in zip(trials, configs, strict=True):
        _for_trial(t, validate_config, c)
    ensure_data(config.data)
    # the axes are hyperparameters, never data settings: every trial trains on the data `train` would build
    prep = prepare(configs[0])
    for t, c in zip(trials, configs, strict=True):
        _for_trial(t, check_batch_size, c, len(prep.ds.train.X))
    print(f"turbjax.sweep: {prep.ds.summary()}; {len(trials)} trials on {jax.device_count()} device(s)",
          flush=True)
    results = _run_and_write(config, workdir, prep.data, stats=prep.stats, trials=trials,
                             image_shape=prep.ds.image_shape, num_classes=len(prep.classes))
    if results.get("best_workdir") and jax.process_index() == 0:
        _calibrate_best(Path(results["best_workdir"]), prep)
    return results


def _calibrate_best(best: Path, prep) -> None:
    """The best trial's calibration.json and novelty.npz, as `train` writes them (Reynolds-number regressions
    only)."""
    config = load_run_config(best)
    trainer = trainer_for(config, prep)
    if not is_reynolds_regression(trainer, prep.ds):
        return
    ckpt = Checkpointer(best / "checkpoints", read_only=True)
    step = ckpt.latest_step()
    params = restore_state(trainer, config, ckpt, step)["params"]
    ckpt.close()
    write_trust(best, trainer, params, prep, epoch=step)


def _run_and_write(config, workdir, data, *, stats=None, trials=None, image_shape=None, num_classes=None,
                   devices=None, progress=True) -> dict:
    workdir = Path(workdir)
    t0 = time.perf_counter()
    trials, groups = sweep_arrays(config, data, trials=trials, image_shape=image_shape,
                                  num_classes=num_classes, devices=devices, progress=progress)
    devices = jax.devices() if devices is None else devices
    results = summarize(config, trials, groups, wall_seconds=time.perf_counter() - t0, devices=devices)
    if jax.process_index() != 0:
        return results
    workdir.mkdir(parents=True, exist_ok=True)
    write_config(workdir, config)
    write_tensorboard(workdir, config, trials, groups)
    best = results["best_trial"]
    if best is not None and config.sweep.checkpoint_best:
        state, _ = trial_state(groups, best)
        results["best_workdir"] = str(write_best(workdir, config, results["trials"][best], state, stats))
    write_json(workdir / "results.json", results)
    plot_curves(results["trials"], workdir / "loss_curves.png")
    print(format_table(results["trials"], results["metric"]), flush=True)
    if best is None:
        print("turbjax.sweep: every trial diverged; no best trial", flush=True)
    else:
        label = trial_label(results["trials"][best])
        print(f"turbjax.sweep: best trial {best} ({label}); outputs in {workdir}", flush=True)
    return results
