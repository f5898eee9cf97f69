"""Orbax checkpoints of the training state (a plain dict pytree), one directory per epoch.

Layout: `<workdir>/checkpoints/<epoch>/default/...` (orbax's name for the single item), written by one
`ocp.CheckpointManager` with `AnyPreservationPolicy([LatestN(keep), BestN(val_loss, n=1)])`: the last `keep`
checkpoints plus the one with the lowest validation loss survive; the validation loss of each is stored as its
checkpoint metrics (the test part never chooses a checkpoint). Orbax writes into a temporary directory and
renames it when complete, so a run killed mid-save leaves the previous checkpoints intact and the
half-written one is ignored.

Restoring needs the abstract state (`jax.eval_shape(trainer.init, hparams, key)`); a checkpoint whose tree or
shapes differ from it (another architecture, another crop) raises `CheckpointMismatchError` naming the
difference, before anything is overwritten.

A checkpoint that cannot be read back (files cut short or missing: a full disk, a bad copy) raises
`CheckpointDamagedError` naming its directory and the reason. `restore_latest_good` (resuming) then falls
back to the newest checkpoint that restores and moves each newer damaged one to `<directory>/damaged/<epoch>`,
kept, not deleted. Left in place, orbax would count a damaged step as one of the last `keep` (deleting an
intact older one, later the damaged one itself), keep it for ever as the best if its metrics file is the
lowest (so `best_step()` names it), and refuse the resumed run's save of that epoch
(`StepAlreadyExistsError`). Orbax lists only directories named by a bare step number, so `damaged/` is
invisible to it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp
from orbax.checkpoint import checkpoint_managers as ocm


class CheckpointMismatchError(ValueError):
    pass


class CheckpointDamagedError(ValueError):
    """A checkpoint (or, from restore_latest_good, every checkpoint) that cannot be read back."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason


def _scan(step_dir: Path) -> tuple[list[str], list[str]]:
    """(JSON files that no longer parse, empty files) of a step, as relative paths: orbax's metadata files are
    small JSON objects (first byte '{'), and its exceptions do not say which file they read."""
    bad, empty = [], []
    for f in sorted(step_dir.rglob("*")):
        try:
            if not f.is_file() or f.stat().st_size > 1 << 24:
                continue
            text = f.read_bytes()
            if not text:
                empty.append(str(f.relative_to(step_dir)))
            elif text[:1] == b"{":
                json.loads(text)
        except (OSError, ValueError):
            bad.append(str(f.relative_to(step_dir)))
    return bad, empty


def _reason(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text if len(text) <= 200 else text[:197] + '...'}"


class _Manager(ocp.CheckpointManager):
    """Reads an unparsable metrics file as a missing one (orbax reads every step's metrics when it opens the
    directory and would fail there, naming no step, before any checkpoint could be tried); restoring that step
    then reports it as damaged."""

    def _get_metrics(self, step: int):
        try:
            return super()._get_metrics(step)
        except ValueError:  # json.JSONDecodeError, UnicodeDecodeError
            return None


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


def selection_loss(metrics: dict) -> float:
    """What `best` minimizes: the validation loss (runs saved before validation sets recorded the test loss
    under "test_loss"; their best stays what it was)."""
    return metrics["val_loss"] if "val_loss" in metrics else metrics["test_loss"]


class Checkpointer:
    def __init__(self, directory: str | os.PathLike, *, keep: int = 2, read_only: bool = False):
        self.directory = Path(directory).absolute()
        self.read_only = read_only
        policy = ocm.AnyPreservationPolicy(
            [
                ocm.LatestN(n=keep),
                ocm.BestN(get_metric_fn=selection_loss, reverse=True, n=1),
            ]
        )
        options = ocp.CheckpointManagerOptions(
            preservation_policy=None if read_only else policy,
            best_fn=selection_loss,
            best_mode="min",
            read_only=read_only,
            create=not read_only,
        )
        self.manager = _Manager(
            self.directory, options=options, item_handlers=ocp.StandardCheckpointHandler()
        )

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        return self.manager.best_step()

    def all_steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def save(self, epoch: int, state: dict, val_loss: float) -> None:
        """Save `state` at `epoch`; `val_loss` (the validation loss) decides which checkpoint is the best."""
        loss = float(val_loss)
        metrics = {"val_loss": loss if np.isfinite(loss) else float("inf")}
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
        differ = sorted((k for k in want if k in have and have[k] != want[k]),
                        key=lambda k: (k[:6] != "params", k))
        shapes = [f"{k}: checkpoint {have[k]} vs model {want[k]}" for k in differ]
        raise CheckpointMismatchError(
            f"the checkpoint at {self.directory / str(step)} does not match the configured model "
            f"(another architecture or input size). Missing in the checkpoint: {missing}; not in the model: "
            f"{extra}; shape differences: {shapes[:4]}. Nothing was overwritten: use another --workdir, or "
            f"delete {self.directory} to start afresh."
        )

    def restore(self, abstract_state: dict, step: int) -> dict:
        """The state saved at `step`. Raises CheckpointMismatchError (another model), CheckpointDamagedError
        (unreadable files; nothing is deleted), FileNotFoundError (no such step)."""
        steps = self.all_steps()
        if step not in steps:
            raise FileNotFoundError(
                f"{self.directory} holds no checkpoint at epoch {step}; it holds epochs {steps}"
            )
        step_dir = self.directory / str(step)
        bad, empty = _scan(step_dir)  # checked first: orbax's JSONDecodeError names no file
        try:
            if bad:
                raise CheckpointDamagedError(f"files that do not parse as JSON: {', '.join(bad[:4])}")
            self.check_compatible(abstract_state, step)
            return self.manager.restore(step, args=ocp.args.StandardRestore(abstract_state))
        except CheckpointMismatchError:
            raise
        # orbax and tensorstore raise anything from JSONDecodeError to ValueError on cut or missing files
        except Exception as e:
            reason = str(e) if bad else _reason(e)
            if empty and not bad:
                reason += f" (empty files: {', '.join(empty[:4])})"
            others = [s for s in steps if s != step]
            raise CheckpointDamagedError(
                f"the checkpoint at epoch {step} in {step_dir} is damaged and cannot be restored ({reason}); "
                f"nothing was deleted. The other checkpoints in {self.directory} are epochs {others}: "
                f"restore one of those (rerunning the training resumes from the newest that restores).",
                reason,
            ) from e

    def restore_latest_good(self, abstract_state: dict) -> tuple[dict | None, int | None]:
        """(state, epoch) of the newest checkpoint that restores; (None, None) if there is no checkpoint.

        Each newer damaged checkpoint is reported in one line and (unless read-only) moved to
        `<directory>/damaged/<epoch>` so that orbax neither counts, keeps as best, deletes, nor blocks the
        re-save of it (see the module docstring). If none restores, raises CheckpointDamagedError and moves
        nothing.
        A CheckpointMismatchError (another model) is raised at once: no older checkpoint would fit either."""
        damaged: list[tuple[int, str]] = []
        for step in reversed(self.all_steps()):
            try:
                state = self.restore(abstract_state, step)
            except CheckpointDamagedError as e:
                damaged.append((step, e.reason))
                continue
            for bad, reason in damaged:
                where = self.directory / str(bad)
                if self.read_only:
                    fate = "left in place (read-only)"
                else:
                    fate = f"moved to {self._set_aside(bad)} (kept, not deleted)"
                msg = f"turbjax: the checkpoint at epoch {bad} in {where} is damaged ({reason}); {fate}"
                print(msg, flush=True)
            if damaged:
                self.manager.reload()
                print(
                    f"turbjax: falling back to the checkpoint at epoch {step}, the newest in "
                    f"{self.directory} that restores",
                    flush=True,
                )
            return state, step
        if damaged:
            listed = "; ".join(f"epoch {s}: {r}" for s, r in damaged)
            raise CheckpointDamagedError(
                f"no checkpoint in {self.directory} restores ({listed}); nothing was moved or deleted. Put "
                f"intact copies back (a backup), or move {self.directory} aside (or use another --workdir) "
                f"to train afresh.",
                listed,
            )
        return None, None

    def _set_aside(self, step: int) -> Path:
        """Move step's directory to damaged/<step> (damaged/<step>-2, ... if taken); a rename, so atomic."""
        aside = self.directory / "damaged"
        aside.mkdir(exist_ok=True)
        target, n = aside / str(step), 1
        while target.exists():
            n += 1
            target = aside / f"{step}-{n}"
        os.rename(self.directory / str(step), target)
        return target

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
