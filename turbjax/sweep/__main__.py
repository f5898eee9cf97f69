"""The sweep's command line: python -m turbjax.sweep --config configs/sweep_lr.py --workdir runs/sweep_lr

Flags: --config (a sweep config file, with --config.* overrides), --workdir, and for a multi-host job
--coordinator_address, --num_processes, --process_id (see turbjax.sweep.distributed). A user's mistake is one
line on stderr (turbjax.cli); TURBJAX_DEBUG=1 shows the traceback.
"""

from __future__ import annotations

import copy

from absl import app, flags, logging
from ml_collections import config_flags

from turbjax import cli
from turbjax.sweep.axes import check_override_paths
from turbjax.sweep.distributed import maybe_initialize_distributed
from turbjax.sweep.run import run_sweep

PROG = "turbjax.sweep"


def _define_flags() -> None:
    config_flags.DEFINE_config_file("config", None, "sweep config file (configs/sweep_*.py)",
                                    lock_config=True)
    flags.DEFINE_string("workdir", None,
                        "directory for results.json, loss_curves.png and the best checkpoint")
    flags.DEFINE_string("coordinator_address", None,
                        "multi-host: host:port of process 0 (or JAX_COORDINATOR_ADDRESS)")
    flags.DEFINE_integer("num_processes", None, "multi-host: number of processes (or JAX_NUM_PROCESSES)")
    flags.DEFINE_integer("process_id", None, "multi-host: this process's id (or JAX_PROCESS_ID)")
    flags.mark_flags_as_required(["config", "workdir"])


def flags_parser(args):
    """absl's parser behind the sweep's own check of --config.sweep.* override paths (one line, exit 2)."""
    with cli.user_errors(PROG, code=2, what="error in the command line"):
        check_override_paths(args[1:])
    return cli.absl_flags_parser(PROG)(args)


def _main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments {argv[1:]}")
    f = flags.FLAGS
    if not f["verbosity"].present:
        logging.set_verbosity(logging.WARNING)  # orbax logs every save at INFO
    maybe_initialize_distributed(f.coordinator_address, f.num_processes, f.process_id)
    with cli.user_errors(PROG):
        run_sweep(copy.deepcopy(f.config), f.workdir)


def main(argv=None) -> None:
    _define_flags()
    app.run(_main, argv=argv, flags_parser=flags_parser)


if __name__ == "__main__":
    main()
