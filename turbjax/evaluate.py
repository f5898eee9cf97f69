"""Score a trained run's best (or latest) checkpoint on its own data or on any other data set.

    python -m turbjax.evaluate --workdir runs/default                      # best checkpoint, the run's data
    python -m turbjax.evaluate --workdir runs/default --data data/other --checkpoint latest
    python -m turbjax.evaluate --workdir runs/default --data COURSE_DIR --trust-pickle --reynolds 300,900
    python -m turbjax.evaluate --workdir W --data data/ensemble --reynolds 1200 --realizations 2  # one run

With `--data DIR` the files' format is read from their names (turbjax's `vortex_street_Re_{Re}.npz` or the
course's pickles, which need `--trust-pickle`; `--format` chooses when DIR holds both), the Reynolds numbers
and realizations are those DIR holds (`--reynolds` and `--realizations` to choose), and every frame of DIR is
the test set (`--split all`, the default with --data; `--split random|time|heldout_re` scores the train and
test parts of that split instead). The output has the metrics and, per Reynolds number, the mean and spread
of the predictions and their mean absolute error.
Without --data the run's own data and split are scored.

From a notebook:

    from turbjax.evaluate import evaluate_workdir
    scores = evaluate_workdir("runs/default", data_dir="data/other")
    scores["test"]["r2"], scores["epoch"]

The run's config.json rebuilds the model and the preprocessing; inputs and targets are standardized with the
*training* statistics saved in standardizer.npz, never refitted. A classifier is scored against its own
classes (the run's Reynolds numbers). Metrics are in original units; R^2 is null where the test targets take
one value. Nothing is written.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from absl import app, flags, logging

from turbjax import cli
from turbjax.data.dataset import build_dataset, missing_files
from turbjax.pipeline import (
    SCORE_SPLITS,
    Prepared,
    all_frames_as_test,
    data_config_for_training,
    make_trainer,
    predictions,
    prepare_arrays,
    restore_state,
    score,
    scoring_data_config,
)
from turbjax.results import per_reynolds
from turbjax.training.checkpoint import Checkpointer
from turbjax.workdir import load_run_config, read_standardizer


def evaluate_workdir(workdir, data_dir=None, checkpoint: str = "best", *, fmt: str | None = None,
                     trust_pickle: bool | None = None, reynolds=None, split: str | None = None,
                     realizations=None) -> dict:
    """{'epoch', 'checkpoint', 'data_dir', 'format', 'reynolds', 'split', 'summary', 'test': metrics,
    'train': metrics (absent for split 'all')} for the chosen checkpoint.

    checkpoint: 'best' (lowest test loss among those kept) or 'latest'. See the module docstring for the rest.
    """
    if checkpoint not in ("best", "latest"):
        raise ValueError(f"checkpoint={checkpoint!r}; expected 'best' or 'latest'")
    workdir = Path(workdir)
    config = load_run_config(workdir)
    classes = tuple(sorted(float(r) for r in config.data.reynolds))  # the model's (its training data's)
    data_config, split = scoring_data_config(
        config.data, data_dir=data_dir, fmt=fmt, trust_pickle=trust_pickle, reynolds=reynolds, split=split,
        realizations=realizations,
    )
    missing = missing_files(data_config)
    if missing:
        raise FileNotFoundError(
            f"no data to evaluate on: missing {[str(p) for p in missing]}; pass --data DIR with the files, "
            f"or generate them with `python -m turbjax.simulate`"
        )
    ckpt_dir = workdir / "checkpoints"
    if not ckpt_dir.exists():
        raise FileNotFoundError(f"{ckpt_dir} does not exist: no checkpoint to evaluate")
    ckpt = Checkpointer(ckpt_dir, read_only=True)
    step = ckpt.best_step() if checkpoint == "best" else ckpt.latest_step()
    if step is None:
        raise FileNotFoundError(f"{ckpt_dir} holds no checkpoint")

    config.data = data_config
    ds = build_dataset(data_config_for_training(config))  # widened by training.shift, as in training
    if split == "all":
        ds = all_frames_as_test(ds)
    # nothing is trained: any batch size that fits the (unused) train part will do
    config.training.batch_size = min(int(config.training.batch_size), len(ds.train.X))
    data, _ = prepare_arrays(ds, config, read_standardizer(workdir), classes=classes)
    trainer = make_trainer(config, Prepared(ds, data, {}), num_classes=len(classes))
    params = restore_state(trainer, config, ckpt, step)["params"]
    ckpt.close()
    scores = {
        "epoch": int(step),
        "checkpoint": checkpoint,
        "data_dir": str(data_config.dir),
        "format": data_config.format,
        "reynolds": sorted(float(r) for r in data_config.reynolds),
        "split": split,
        "summary": _summary(ds, split),
        "num_test": len(ds.test.X),
        "test": score(trainer, params, data, ds, "test", classes=classes),
    }
    if split != "all":
        scores["train"] = score(trainer, params, data, ds, "train", classes=classes)
    if trainer.task == "regression" and ds.test.y.ndim == 1:  # the Reynolds number: how each flow fares
        scores["test_per_reynolds"] = per_reynolds(ds.test.re, predictions(trainer, params, data)[:, 0])
        if np.ptp(ds.test.y) == 0:
            scores["test_r2_note"] = (
                f"undefined: every test sample has Re {float(ds.test.y[0]):g}; see test mae"
            )
    return scores


def main(argv=None) -> None:
    flags.DEFINE_string("workdir", None, "a turbjax.train workdir")
    flags.DEFINE_string("data", None, "data directory to score on (default: the run's own data.dir)")
    flags.DEFINE_enum("checkpoint", "best", ["best", "latest"], "which checkpoint to restore")
    flags.DEFINE_enum("format", None, ["turbjax", "course"], "format of --data (default: from its files)")
    flags.DEFINE_bool("trust_pickle", False, "read the course's pickled files (a pickle can run code)")
    flags.DEFINE_list("reynolds", None, "Reynolds numbers to score, e.g. 300,900 (default: all in the data)")
    flags.DEFINE_list("realizations", None,
                      "an ensemble directory's realizations to score, e.g. 0,2 (default: all in the data)")
    flags.DEFINE_enum("split", None, list(SCORE_SPLITS),
                      "'all': every frame is test data (default with --data), else a split's parts")
    flags.mark_flag_as_required("workdir")

    def _main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments {argv[1:]}")
        if not flags.FLAGS["verbosity"].present:
            logging.set_verbosity(logging.ERROR)  # orbax warns about every read-only checkpoint directory
        f = flags.FLAGS
        with cli.user_errors("turbjax.evaluate"):
            reynolds = _reynolds(f.reynolds)
            realizations = _realizations(f.realizations)
            scores = evaluate_workdir(
                f.workdir, f.data, f.checkpoint, fmt=f.format, trust_pickle=f.trust_pickle or None,
                reynolds=reynolds, split=f.split, realizations=realizations,
            )
        print(json.dumps(scores, indent=2))

    app.run(_main, argv=argv, flags_parser=cli.absl_flags_parser("turbjax.evaluate"))


def _summary(ds, split: str) -> str:
    if split != "all":
        return ds.summary()
    h, w = ds.image_shape
    return (f"{len(ds.test.X)} test samples (every frame) of {h}x{w} = {ds.n_features} features, "
            f"Re {list(ds.classes)}, target {ds.target!r}")


def _reynolds(values):
    if values is None:
        return None
    try:
        return [float(v) for v in values]
    except ValueError:
        msg = f"--reynolds={','.join(values)} must be numbers separated by commas, e.g. 300,900"
        raise ValueError(msg) from None


def _realizations(values):
    if values is None:
        return None
    try:
        out = tuple(int(v) for v in values)
    except ValueError:
        out = ()
    if not out or min(out) < 0:
        raise ValueError(f"--realizations={','.join(values)} must be integers k >= 0 separated by commas, "
                         f"e.g. 0,2 (the _r{{k}} files)")
    return out


if __name__ == "__main__":
    main()
