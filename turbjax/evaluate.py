"""Score a trained run's best (or latest) checkpoint on its own data or on any other data set.

    python -m turbjax.evaluate --workdir runs/default                      # best checkpoint, the run's data
    python -m turbjax.evaluate --workdir runs/default --data data/other --checkpoint latest

From a notebook:

    from turbjax.evaluate import evaluate_workdir
    scores = evaluate_workdir("runs/default", data_dir="data/other")
    scores["test"]["r2"], scores["train"]["r2"], scores["epoch"]

The run's config.json rebuilds the model and the data pipeline (with `data_dir` replacing data.dir); inputs
and targets are standardized with the *training* statistics saved in standardizer.npz, never refitted. Metrics
are in original units. Nothing is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax


def evaluate_workdir(workdir, data_dir=None, checkpoint: str = "best") -> dict:
    """{'epoch', 'checkpoint', 'data_dir', 'test': metrics, 'train': metrics} for the chosen checkpoint.

    checkpoint: 'best' (lowest test loss among those kept) or 'latest'."""
    from turbjax.data.dataset import build_dataset, missing_files
    from turbjax.pipeline import prepare_arrays, score
    from turbjax.training.checkpoint import Checkpointer
    from turbjax.training.loop import make_train
    from turbjax.training.optimizers import default_hparams
    from turbjax.workdir import load_run_config, read_standardizer

    if checkpoint not in ("best", "latest"):
        raise ValueError(f"checkpoint={checkpoint!r}; expected 'best' or 'latest'")
    workdir = Path(workdir)
    config = load_run_config(workdir)
    if data_dir is not None:
        config.data.dir = str(data_dir)
    missing = missing_files(config.data)
    if missing:
        raise FileNotFoundError(
            f"no data to evaluate on: missing {[str(p) for p in missing]}; pass --data DIR with the files, or "
            f"generate them with `python -m turbjax.simulate`"
        )
    ckpt_dir = workdir / "checkpoints"
    if not ckpt_dir.exists():
        raise FileNotFoundError(f"{ckpt_dir} does not exist: no checkpoint to evaluate")
    ckpt = Checkpointer(ckpt_dir, read_only=True)
    step = ckpt.best_step() if checkpoint == "best" else ckpt.latest_step()
    if step is None:
        raise FileNotFoundError(f"{ckpt_dir} holds no checkpoint")

    ds = build_dataset(config.data)
    stats = read_standardizer(workdir)
    data, _ = prepare_arrays(ds, config, stats)
    config.training.batch_size = min(int(config.training.batch_size), len(ds.X_train))
    trainer = make_train(config, data, image_shape=ds.image_shape, num_classes=len(ds.classes))
    hparams = default_hparams(config.optim)
    abstract = jax.eval_shape(trainer.init, hparams, jax.random.key(0))
    state = ckpt.restore(abstract, step)
    ckpt.close()
    return {
        "epoch": int(step),
        "checkpoint": checkpoint,
        "data_dir": str(config.data.dir),
        "summary": ds.summary(),
        "test": score(trainer, state["params"], data, ds, "test"),
        "train": score(trainer, state["params"], data, ds, "train"),
    }


def main(argv=None) -> None:
    from absl import app, flags, logging

    flags.DEFINE_string("workdir", None, "a turbjax.train workdir")
    flags.DEFINE_string("data", None, "data directory to score on (default: the run's own data.dir)")
    flags.DEFINE_enum("checkpoint", "best", ["best", "latest"], "which checkpoint to restore")
    flags.mark_flag_as_required("workdir")

    def _main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}")
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
        f = flags.FLAGS
        try:
            scores = evaluate_workdir(f.workdir, f.data, f.checkpoint)
        except (ValueError, OSError) as e:
            print(f"turbjax.evaluate: error: {e}", file=sys.stderr)
            sys.exit(1)
        print(json.dumps(scores, indent=2))

    app.run(_main, argv=argv)


if __name__ == "__main__":
    main()
