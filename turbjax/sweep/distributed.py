"""Joining a multi-host JAX job: every process runs the same sweep command; process 0 writes the outputs."""

from __future__ import annotations

import os

import jax


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
