"""What a sweep reports: one record per trial (hyperparameters, final metrics, divergence, curves), the
printed table, the loss-curves plot, the TensorBoard runs of the trials, the best trial as a turbjax.train
workdir, and the results.json summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from turbjax import tensorboard_log
from turbjax.sweep.axes import (
    AXES,
    format_value,
    from_json,
    hyperparameters,
    json_value,
    trial_config,
    trial_label,
)
from turbjax.sweep.programs import MESH_AXES, UNBATCHED_STATE
from turbjax.training.optimizers import learning_rate_after
from turbjax.workdir import finite_or_none, metrics_row, write_config, write_json, write_standardizer

FINAL_METRICS = tuple(f"{part}_{m}" for part in ("val", "test") for m in ("r2", "mse", "mae", "accuracy"))
CURVES = ("train_loss", "val_loss", "val_r2", "val_accuracy", "test_loss", "test_r2", "test_accuracy")


def _divergence(i: int, m: dict, state_diverged_epoch: int) -> dict:
    """diverged and diverged_epoch (1-based, as in metrics.jsonl) from the per-epoch flags; the final state's
    own count must agree."""
    diverged = bool(m["diverged"][-1])
    epoch = int(np.argmax(m["diverged"])) + 1 if diverged else None
    if diverged and state_diverged_epoch + 1 != epoch:
        raise AssertionError(
            f"trial {i}: state diverged_epoch {state_diverged_epoch} disagrees with the metrics"
        )
    return {"diverged": diverged, "diverged_epoch": epoch}


def trial_record(i: int, trial: dict, group: int, m: dict, state_diverged_epoch: int, config) -> dict:
    """One trial's record from its per-epoch metrics `m` (name -> (epochs,))."""
    rec = {"trial": i, "group": group} | hyperparameters(trial_config(config, trial))
    rec["swept"] = {k: json_value(v) for k, v in trial.items()}
    rec["final_train_loss"] = finite_or_none(m["train_loss"][-1])
    rec["final_val_loss"] = finite_or_none(m["val_loss"][-1]) if "val_loss" in m else None
    rec["final_test_loss"] = finite_or_none(m["test_loss"][-1])
    rec |= {name: finite_or_none(m[name][-1]) for name in FINAL_METRICS if name in m}
    rec |= _divergence(i, m, state_diverged_epoch)
    rec["curves"] = {k: [finite_or_none(v) for v in m[k]] for k in CURVES if k in m}
    return rec


def trial_metrics(groups: list):
    """(trial number, its GroupResult, its per-epoch metrics (name -> (epochs,)), its grid cell (r, c)) for
    every real trial of the groups (padding discarded)."""
    for res in groups:
        lay = res.layout
        for r, c in zip(*np.nonzero(lay.real), strict=True):
            yield int(lay.index[r, c]), res, {k: v[r, c] for k, v in res.metrics.items()}, (r, c)


def trial_records(trials: list[dict], groups: list, config) -> list[dict]:
    """One record per trial (padding discarded): hyperparameters, final metrics, diverged, curves."""
    records: list = [None] * len(trials)
    for i, res, m, (r, c) in trial_metrics(groups):
        state_epoch = int(res.state["diverged_epoch"][r, c])
        records[i] = trial_record(i, trials[i], res.group, m, state_epoch, config)
    return records


def best_trial(records: list[dict]) -> int | None:
    """The non-diverged trial with the lowest final validation loss (None if all diverged, or if the data
    had no validation part: the test part never chooses)."""
    ok = [r for r in records if not r["diverged"] and r["final_val_loss"] is not None]
    return min(ok, key=lambda r: r["final_val_loss"])["trial"] if ok else None


def trial_state(groups: list, trial: int) -> tuple[dict, object]:
    """The final state of one trial (numpy leaves, as a single run's state) and its GroupResult."""
    for res in groups:
        hits = np.argwhere((res.layout.index == trial) & res.layout.real)
        if len(hits):
            r, c = (int(i) for i in hits[0])
            state = {}
            for k, v in res.state.items():
                where = (r,) if k in UNBATCHED_STATE else (r, c)
                state[k] = jax.tree_util.tree_map(lambda x, where=where: x[where], v)
            return state, res
    raise KeyError(f"trial {trial} is not in the sweep")


# -------------------------------------------------------------------------------------------------- outputs


def format_table(records: list[dict], metric: str) -> str:
    swept = [k for k in AXES if any(k in r["swept"] for r in records)]
    shown = (metric, metric.replace("val_", "test_", 1))  # chosen on validation; test reported beside
    head = ["trial"] + swept + ["train_loss", *shown, "diverged"]
    rows = []
    for r in records:
        row = [str(r["trial"])] + [format_value(r["swept"].get(k)) for k in swept]
        row += ["-" if r.get(k) is None else f"{r[k]:.4g}" for k in ("final_train_loss", *shown)]
        row.append(f"epoch {r['diverged_epoch']}" if r["diverged"] else "no")
        rows.append(row)
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    lines = [head, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(x.rjust(w) for x, w in zip(row, widths, strict=True)) for row in lines)


def plot_curves(records: list[dict], path: Path, title: str = "") -> None:
    # A bare Figure (no pyplot): no backend switch, so a notebook's inline plots keep working. Imported here:
    # matplotlib is slow to import and only the plot needs it.
    import matplotlib
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4.2))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["tab10" if len(records) <= 10 else "tab20"]
    for j, rec in enumerate(records):
        color = cmap(j % cmap.N)
        tr = np.array([np.nan if v is None else v for v in rec["curves"]["train_loss"]])
        te = np.array([np.nan if v is None else v for v in rec["curves"].get("val_loss", [])], float)
        ep = np.arange(1, len(tr) + 1)
        if rec["diverged"]:  # the core keeps the last good parameters; show where training stopped
            te = np.where(ep < rec["diverged_epoch"], te, np.nan)
        ax.semilogy(ep, tr, color=color, label=trial_label(rec))
        if te.size:
            ax.semilogy(ep, te, color=color, ls="--", lw=0.8)
        if rec["diverged"]:
            last = rec["diverged_epoch"] - 1
            y = tr[last - 1] if last >= 1 else np.nanmax(np.where(np.isfinite(tr), tr, np.nan), initial=1.0)
            ax.plot([max(last, 1)], [y if np.isfinite(y) else 1.0], "x", color=color, ms=8)
    ax.set(xlabel="epoch", ylabel="loss (standardized units)",
           title=title or "sweep: train (solid), validation (dashed)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def write_tensorboard(workdir: Path, config, trials: list[dict], groups: list) -> Path:
    """<workdir>/tensorboard/trial_<i>/ per trial (turbjax.tensorboard_log): its values per epoch as
    metrics.jsonl would hold them (train_loss, val_ and test_ metrics) and the learning rate, its
    hyperparameters (every axis, swept or not; widths as a string) and, for the hparams table, its final
    validation metrics (the val/ tags' last values). Replaces the directory of an earlier sweep; returns
    it."""
    root = Path(workdir) / tensorboard_log.DIRNAME
    if root.exists():
        shutil.rmtree(root)
    width = len(str(len(trials) - 1))
    for i, res, m, _ in trial_metrics(groups):
        cfg = trial_config(config, trials[i])
        epochs = range(1, len(m["train_loss"]) + 1)
        rows = [metrics_row(e, m, e - 1) for e in epochs]
        rates = [learning_rate_after(cfg.optim, e, steps_per_epoch=res.trainer.steps_per_epoch,
                                     num_epochs=int(cfg.training.epochs)) for e in epochs]
        hparams = {k: format_value(v) if isinstance(v, list) else v for k, v in hyperparameters(cfg).items()}
        metrics = [tensorboard_log.tag_of(k) for k in rows[-1] if k.startswith("val_")]
        tensorboard_log.write_trial(root / f"trial_{i:0{width}d}", rows, rates, hparams, metrics)
    return root


def write_best(workdir: Path, config, rec: dict, state: dict, stats: dict | None) -> Path:
    """The best trial as a turbjax.train workdir (config.json, standardizer.npz, results.json,
    checkpoints/)."""
    from turbjax.training.checkpoint import Checkpointer  # orbax: heavy, needed only here

    best = workdir / "best"
    if best.exists():
        shutil.rmtree(best)
    best.mkdir(parents=True)
    write_config(best, trial_config(config, {k: from_json(v) for k, v in rec["swept"].items()}))
    if stats is not None:
        write_standardizer(best, stats)
    epoch = int(state["epoch"])
    ckpt = Checkpointer(best / "checkpoints", keep=1)
    ckpt.save(epoch, jax.tree_util.tree_map(jnp.asarray, state), rec["final_val_loss"])
    ckpt.close()
    out = {k: v for k, v in rec.items() if k != "curves"} | {"epochs": epoch, "source": "turbjax.sweep"}
    write_json(best / "results.json", out)
    return best


def _group_summary(res) -> dict:
    return {
        "shape": {k: json_value(v) for k, v in res.shape.items()},
        "block": res.block,
        "trials": res.trial_ids,
        "grid": list(res.layout.index.shape),
        "padding_trials": int(res.layout.real.size - res.layout.real.sum()),
        "mesh": dict(zip(MESH_AXES, res.layout.mesh, strict=True)),
        "compile_seconds": res.compile_seconds,
        "run_seconds": res.run_seconds,
    }


def summarize(config, trials, groups, *, wall_seconds: float, devices) -> dict:
    """The results.json dict: the sweep's settings, its groups and timings, every trial's record, the best."""
    records = trial_records(trials, groups, config)
    task = groups[0].trainer.task
    return {
        "task": task,
        "metric": "val_r2" if task == "regression" else "val_accuracy",
        "selected_on": "validation",
        "mode": config.sweep.mode,
        "share_data_order": bool(config.sweep.share_data_order),
        "axes": {a: [json_value(v) for v in config.sweep[a]] for a in AXES if len(config.sweep[a])},
        "num_trials": len(trials),
        "best_trial": best_trial(records),
        "devices": [str(d) for d in devices],
        "backend": jax.default_backend(),
        "wall_seconds": wall_seconds,
        "groups": [_group_summary(res) for res in groups],
        "trials": records,
    }
