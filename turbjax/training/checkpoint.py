"""Orbax checkpoints of the training state (a plain dict pytree), one directory per epoch.

Layout: `<workdir>/checkpoints/<epoch>/state/...` written by one `ocp.CheckpointManager` with
`AnyPreservationPolicy([LatestN(keep), BestN(test_loss, n=1)])`: the last `keep` checkpoints plus the one with
the lowest test loss survive; the test loss of each is stored as its checkpoint metrics. Orbax writes into a
temporary directory and renames it when complete, so a run killed mid-save leaves the previous checkpoints
intact and the half-written one is ignored.

Restoring needs the abstract state (`jax.eval_shape(trainer.init, hparams, key)`); a checkpoint whose tree or
shapes differ from it (another architecture, another crop) raises `CheckpointMismatchError` naming the
difference, before anything is overwritten.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as ocm


class CheckpointMismatchError(ValueError):
    pass


def _entry(k) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def _describe(tree) -> dict[str, tuple]:
    """{'params/params/hidden_0/kernel': shape, ...}; namedtuples and dicts spelled alike (orbax metadata
    stores optax's namedtuple states as dicts)."""
    flat = jax.tree_util.tree_leaves_with_path(tree)
    return {"/".join(_entry(k) for k in path): tuple(getattr(leaf, "shape", ())) for path, leaf in flat}


class Checkpointer:
    def __init__(self, directory: str | os.PathLike, *, keep: int = 2, read_only: bool = False):
        self.directory = Path(directory).absolute()
        policy = ocm.AnyPreservationPolicy(
            [
                ocm.LatestN(n=keep),
                ocm.BestN(get_metric_fn=lambda m: m["test_loss"], reverse=True, n=1),
            ]
        )
        options = ocp.CheckpointManagerOptions(
            preservation_policy=None if read_only else policy,
            best_fn=lambda m: m["test_loss"],
            best_mode="min",
            read_only=read_only,
            create=not read_only,
        )
        self.manager = ocp.CheckpointManager(
            self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
        )

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        return self.manager.best_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, epoch: int, state: dict, test_loss: float) -> None:
        loss = float(test_loss)
        metrics = {"test_loss": loss if np.isfinite(loss) else float("inf")}
        self.manager.save(int(epoch), args=ocp.args.StandardSave(state), metrics=metrics, force=True)

    def check_compatible(self, abstract_state: dict, step: int) -> None:
        """Raise CheckpointMismatchError if the checkpoint at `step` does not fit `abstract_state`."""
        meta = self.manager.item_metadata(step)
        tree = getattr(meta, "tree", meta)
        have, want = _describe(tree), _describe(abstract_state)
        if have == want:
            return
        missing = sorted(set(want) - set(have))[:4]
        extra = sorted(set(have) - set(want))[:4]
        differ = sorted((k for k in want if k in have and have[k] != want[k]), key=lambda k: (k[:6] != "params", k))
        shapes = [f"{k}: checkpoint {have[k]} vs model {want[k]}" for k in differ]
        raise CheckpointMismatchError(
            f"the checkpoint at {self.directory / str(step)} does not match the configured model "
            f"(another architecture or input size). Missing in the checkpoint: {missing}; not in the model: "
            f"{extra}; shape differences: {shapes[:4]}. Nothing was overwritten: use another --workdir, or "
            f"delete {self.directory} to start afresh."
        )

    def restore(self, abstract_state: dict, step: int) -> dict:
        self.check_compatible(abstract_state, step)
        return self.manager.restore(step, args=ocp.args.StandardRestore(abstract_state))

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
