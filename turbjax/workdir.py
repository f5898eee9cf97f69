"""What a run directory holds and how it is read back.

    config.json         the resolved config (written once, by the first run)
    standardizer.npz    training-set statistics of X and y (evaluate standardizes new data with them)
    metrics.jsonl       one line per epoch
    tensorboard/        the same per-epoch values as TensorBoard event files (turbjax.tensorboard_log)
    results.json        final metrics
    calibration.json    the validation residuals behind the calibrated intervals (turbjax.calibration)
    novelty.npz         how far from the training features a flow may lie (turbjax.novelty)
    checkpoints/        orbax checkpoints (turbjax.training.checkpoint)
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
from ml_collections import config_dict

from turbjax.calibration import Calibration
from turbjax.configs import default
from turbjax.novelty import Novelty


class WorkdirMismatchError(ValueError):
    """The workdir holds a run of another model."""


def finite_or_none(x):
    """A finite float, or None (JSON has no NaN)."""
    x = float(x)
    return x if math.isfinite(x) else None


def config_json(config) -> dict:
    return json.loads(config.to_json_best_effort())


def _replace_atomic(tmp: Path, path: Path, write) -> None:
    """write(tmp), then rename tmp to path: a kill or an error never leaves half a file under `path` (the old
    file stays whole); the temporary file is removed if writing or renaming fails."""
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    path = Path(path)
    _replace_atomic(path.with_name(path.name + ".tmp"), path, lambda tmp: tmp.write_text(text))


def write_json(path: Path, obj) -> None:
    write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


def write_config(workdir: Path, config) -> None:
    write_json(Path(workdir) / "config.json", config_json(config))


def write_standardizer(workdir: Path, stats: dict) -> None:
    path = Path(workdir) / "standardizer.npz"
    # np.savez appends .npz to names without it
    _replace_atomic(path.with_name("standardizer.tmp.npz"), path, lambda tmp: np.savez(tmp, **stats))


def read_standardizer(workdir: Path) -> dict:
    with np.load(Path(workdir) / "standardizer.npz") as f:
        return {k: f[k] for k in f.files}


def write_calibration(workdir: Path, calibration) -> None:
    write_json(Path(workdir) / "calibration.json", calibration.to_json())


def read_calibration(workdir: Path):
    """The run's Calibration (turbjax.calibration), or None if it has none."""
    path = Path(workdir) / "calibration.json"
    return Calibration.from_json(json.loads(path.read_text())) if path.exists() else None


def write_novelty(workdir: Path, novelty) -> None:
    path = Path(workdir) / "novelty.npz"
    _replace_atomic(path.with_name("novelty.tmp.npz"), path, lambda tmp: np.savez(tmp, **novelty.arrays()))


def read_novelty(workdir: Path):
    """The run's Novelty (turbjax.novelty), or None if it has none."""
    path = Path(workdir) / "novelty.npz"
    if not path.exists():
        return None
    with np.load(path) as f:
        return Novelty.from_arrays(f)


def load_run_config(workdir) -> config_dict.ConfigDict:
    path = Path(workdir) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: is {workdir} a turbjax.train workdir?")
    return config_dict.ConfigDict(_tuples(with_defaults(json.loads(path.read_text()))))


def _tuples(x):  # JSON turned tuples into lists
    if isinstance(x, dict):
        return {k: _tuples(v) for k, v in x.items()}
    return tuple(_tuples(v) for v in x) if isinstance(x, list) else x


def with_defaults(stored: dict) -> dict:
    """A stored config.json completed with today's defaults for the fields added since it was written (a run
    from before a field existed behaved as its default does), renamed values read under their new names."""
    out = config_json(default.get_config())
    for section, fields in stored.items():
        out[section] = {**out.get(section, {}), **fields} if isinstance(fields, dict) else fields
    for (section, field), (old, new) in RENAMED.items():
        if out.get(section, {}).get(field) == old:
            out[section][field] = new
    return out


# values renamed since runs were stored, (section, field): (old, new); the same function and parameters
RENAMED = {("model", "cnn_conv"): ("patches", "custom")}


def check_workdir(config, workdir: Path) -> bool:
    """True if the workdir holds an earlier run of this config. Raises WorkdirMismatchError if its
    config.json describes another model or data set (nothing is overwritten)."""
    path = workdir / "config.json"
    if not path.exists():
        return False
    old = with_defaults(json.loads(path.read_text()))
    new = config_json(config)
    for section in ("model", "data", "optim", "training"):
        diff = {
            k: (old.get(section, {}).get(k), v)
            for k, v in new[section].items()
            if old.get(section, {}).get(k) != v and not (section == "data" and k == "dir")
        }
        if diff and section in ("optim", "training"):
            print(
                f"turbjax: note: resuming {workdir} with a different config.{section}: {diff} (old, new); "
                f"the new settings apply from the restored epoch on (config.json keeps the first run's)",
                flush=True,
            )
        elif diff:
            raise WorkdirMismatchError(
                f"{workdir} holds a run with another config.{section} (changed: {diff}, as (old, new)); "
                f"its checkpoints cannot be resumed with this config and are not overwritten. Use another "
                f"--workdir, or delete {workdir} to start afresh."
            )
    return True


def metrics_row(epoch: int, m: dict, i: int) -> dict:
    """The metrics.jsonl line of one epoch (without `seconds`, which only the train job measures): its number,
    train_loss and every val_ / test_ metric of `m` (name -> per-epoch host arrays) at index i, None where
    not finite."""
    row = {"epoch": int(epoch), "train_loss": finite_or_none(m["train_loss"][i])}
    return row | {k: finite_or_none(v[i]) for k, v in m.items() if k.startswith(("val_", "test_"))}


def read_metrics(path: Path, upto_epoch: int) -> list[dict]:
    if not path.exists():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r for r in rows if r["epoch"] <= upto_epoch]


def write_metrics(path: Path, rows: list[dict]) -> None:
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in rows))
