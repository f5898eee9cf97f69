"""Starting, resuming and stopping a run: a new state or the latest good checkpoint's, a state restored at any
saved epoch, and the error of a run whose loss became non-finite."""

from __future__ import annotations

import jax

from turbjax.training.optimizers import default_hparams


class TrainingDivergedError(RuntimeError):
    """A non-finite loss: the run stopped; the last good checkpoint is kept."""


def restore_state(trainer, config, ckpt, step: int) -> dict:
    """The training state saved at `step` by `ckpt` (a Checkpointer), for this trainer's model."""
    abstract = jax.eval_shape(trainer.init, default_hparams(config.optim), jax.random.key(0))
    return ckpt.restore(abstract, step)


def init_or_resume(trainer, config, ckpt) -> dict:
    """The latest good checkpoint's state if there is one (and say so), else a new one (from
    config.training.seed)."""
    hparams = default_hparams(config.optim)
    if ckpt.latest_step() is None:
        return jax.jit(trainer.init)(hparams, jax.random.key(int(config.training.seed)))
    abstract = jax.eval_shape(trainer.init, hparams, jax.random.key(0))
    state, latest = ckpt.restore_latest_good(abstract)  # falls back past damaged checkpoints (and says so)
    print(f"turbjax: resuming from the checkpoint at epoch {latest} in {ckpt.directory}", flush=True)
    return state


def diverged_error(config, state, ckpt) -> TrainingDivergedError:
    """The error of a run whose loss became non-finite: its epoch, learning rate and last good checkpoint."""
    bad = int(state["diverged_epoch"])
    ckpt.wait()
    last = ckpt.latest_step()
    return TrainingDivergedError(
        f"training diverged: non-finite loss in epoch {bad + 1} with learning_rate "
        f"{float(config.optim.learning_rate):g} ({config.optim.name}); the last good checkpoint "
        f"is {'epoch ' + str(last) if last is not None else 'none (none was written yet)'} in "
        f"{ckpt.directory}. Lower --config.optim.learning_rate."
    )
