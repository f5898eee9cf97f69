"""Score a trained run's best (or latest) checkpoint on its own data or on any other data set.

    python -m turbjax.evaluate --workdir runs/default                      # best checkpoint, the run's data
    python -m turbjax.evaluate --workdir runs/default --data data/other --checkpoint latest
    python -m turbjax.evaluate --workdir runs/default --data COURSE_DIR --trust-pickle --reynolds 300,900
    python -m turbjax.evaluate --workdir W --data data/ensemble --reynolds 1200 --realizations 2  # one run

With `--data DIR` the files' format is read from their names (turbjax's `vortex_street_Re_{Re}.npz` or the
course's pickles, which need `--trust-pickle`; `--format` chooses when DIR holds both), every file DIR holds
is read, plain runs and realizations alike (`--reynolds` and `--realizations` to choose), at every frame
(files recorded at different spacings: at the least common multiple of their spacings), as the test set
(`--split all`, the default with --data; `--split random|time|heldout_re` scores the train and test parts of
that split instead). The output has the metrics and, per Reynolds number, the mean and spread
of the predictions and their mean absolute error.
Without --data the run's own data and split are scored.

From a notebook (the same function):

    from turbjax.scoring import evaluate_workdir
    scores = evaluate_workdir("runs/default", data_dir="data/other")
    scores["test"]["r2"], scores["epoch"]

The run's config.json rebuilds the model and the preprocessing; inputs and targets are standardized with the
*training* statistics saved in standardizer.npz, never refitted (see turbjax.scoring). Nothing is written.
"""

from __future__ import annotations

import json

from absl import app, flags, logging

from turbjax import cli
from turbjax.data.readers import FORMATS
from turbjax.data.units import UNITS
from turbjax.scoring import CHECKPOINTS, SCORE_SPLITS, evaluate_workdir


def main(argv=None) -> None:
    flags.DEFINE_string("workdir", None, "a turbjax.train workdir")
    flags.DEFINE_string("data", None, "data directory to score on (default: the run's own data.dir)")
    flags.DEFINE_enum("checkpoint", "best", list(CHECKPOINTS), "which checkpoint to restore")
    flags.DEFINE_enum("format", None, list(FORMATS), "format of --data (default: from its files)")
    flags.DEFINE_bool("trust_pickle", False, "read the course's pickled files (a pickle can run code)")
    flags.DEFINE_list("reynolds", None, "Reynolds numbers to score, e.g. 300,900 (default: all in the data)")
    flags.DEFINE_list("realizations", None,
                      "an ensemble directory's realizations to score, e.g. 0,2 (default: all in the data)")
    flags.DEFINE_enum("split", None, list(SCORE_SPLITS),
                      "'all': every frame is test data (default with --data), else a split's parts")
    flags.DEFINE_enum("units", None, list(UNITS),
                      "'flow': read --data onto the reference grid in the flow's scales (other grids, other "
                      "units; for a run trained on the seed grid or with data.units='flow'); default: the "
                      "run's")
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
                reynolds=reynolds, split=f.split, realizations=realizations, units=f.units,
            )
        print(json.dumps(scores, indent=2))

    app.run(_main, argv=argv, flags_parser=cli.absl_flags_parser("turbjax.evaluate"))


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
