"""Figures of a training run: the loss curve and predictions against the truth (bare matplotlib Figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from turbjax.scoring import predictions


def plot_run(workdir: Path, rows: list[dict], trainer, params, data, ds) -> None:
    # Bare Figures (no pyplot): no backend switch, so a notebook's inline plots keep working.
    from matplotlib.figure import Figure  # lazy: matplotlib is needed only when plots are drawn

    epochs = [r["epoch"] for r in rows]
    fig = Figure(figsize=(5, 3.5))
    ax = fig.subplots()
    for k, label in (("train_loss", "train"), ("val_loss", "validation"), ("test_loss", "test")):
        ax.semilogy(epochs, [np.nan if r.get(k) is None else r[k] for r in rows], label=label)
    title = f"{trainer.task}: {len(ds.train.X)} train / {len(ds.test.X)} test, split {ds.split!r}"
    ax.set(xlabel="epoch", ylabel="loss (standardized units)", title=title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, workdir / "loss_curve.png")

    pred = predictions(trainer, params, data)
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    if trainer.task == "regression":
        y = ds.test.y.reshape(len(ds.test.y), -1)
        if y.shape[1] == 1:
            ax.scatter(y[:, 0], pred[:, 0], s=6, alpha=0.5)
            ax.set(xlabel="true Re", ylabel="predicted Re")
        else:  # forecast: a subsample of pixel values
            idx = np.random.default_rng(0).choice(y.size, size=min(y.size, 5000), replace=False)
            ax.scatter(y.ravel()[idx], pred.ravel()[idx], s=2, alpha=0.3)
            ax.set(xlabel="true vorticity", ylabel="predicted vorticity")
        lo, hi = float(np.min(y)), float(np.max(y))
        ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    else:
        truth = np.asarray(data["y_test"])
        k = 2 if trainer.task == "binary" else len(ds.classes)
        cm = np.zeros((k, k), int)
        np.add.at(cm, (truth, pred), 1)
        ax.imshow(cm, cmap="Blues")
        for (i, j), v in np.ndenumerate(cm):
            ax.text(j, i, str(v), ha="center", va="center")
        names = ["low Re", "high Re"] if trainer.task == "binary" else [f"{c:g}" for c in ds.classes]
        ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names,
               xlabel="predicted", ylabel="true")
    ax.set_title("test set")
    fig.tight_layout()
    save_figure(fig, workdir / "pred_vs_true.png")


def save_figure(fig, path: Path) -> Path:
    """Save atomically (a temporary name, then rename): a kill never leaves half a PNG under `path`."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    fig.savefig(tmp, dpi=120)
    tmp.replace(path)
    return path


def plot_class_balance(balance: dict, path: Path, title: str = "class balance (training set)") -> Path:
    """Bar chart of samples per Reynolds number (turbjax.data.explore.class_balance)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 3.5))
    ax = fig.subplots()
    ax.bar([f"{re:g}" for re in balance], list(balance.values()))
    ax.set(xlabel="Reynolds number", ylabel="samples", title=title)
    fig.tight_layout()
    return save_figure(fig, path)


def plot_pca(embedding, re, path: Path, title: str = "PCA of the training frames") -> Path:
    """The first two principal components of each sample (turbjax.data.explore.pca), coloured by Re."""
    from matplotlib.figure import Figure

    scores, ratio = np.asarray(embedding.scores), np.asarray(embedding.explained_variance_ratio)
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    sc = ax.scatter(scores[:, 0], scores[:, 1], c=np.asarray(re), cmap="viridis", s=5)
    ax.set(xlabel=f"PC 1 ({100 * ratio[0]:.1f}% of the variance)", ylabel=f"PC 2 ({100 * ratio[1]:.1f}%)",
           title=title)
    fig.colorbar(sc, ax=ax, label="Re")
    fig.tight_layout()
    return save_figure(fig, path)


def plot_reliability(reliability: list[dict], path: Path, title: str = "reliability (test frames)") -> Path:
    """Coverage of the conformal intervals against their nominal level (turbjax.calibration.reliability):
    on the diagonal, an interval holds the truth as often as it claims."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 4))
    ax = fig.subplots()
    levels = [r["level"] for r in reliability]
    ax.plot(levels, [r["coverage"] for r in reliability], "o-", label="test frames")
    ax.plot([0.45, 1.0], [0.45, 1.0], "k--", lw=1, label="nominal")
    ax.set(xlabel="nominal level", ylabel="coverage", xlim=(0.45, 1.0), ylim=(0.0, 1.02), title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
