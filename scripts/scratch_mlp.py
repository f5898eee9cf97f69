"""Train the from-scratch MLP (hand-written backprop, turbjax.autodiff.scratch_mlp) and save its loss curve.

    python scripts/scratch_mlp.py --out docs/scratch_mlp_loss.png

Data: `load_arrays()` returns (x_train, y_train, x_test, y_test) with raw targets (Reynolds numbers); today it
builds a small data set from the analytic stand-in `turbjax.data.synthetic` (not the simulator). Swap it for
the real data set when `turbjax.data.dataset` lands; everything below it is data-agnostic. To draw another
model's curve beside this one (e.g. the Flax MLP), add its per-epoch losses to `curves` in `main`.

Prints the final train loss and test R^2 and, with --course, also runs the course's recipe (raw targets,
summed gradients, unit-normal init, ReLU output) to show what goes wrong.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from turbjax.autodiff import train_scratch_mlp
from turbjax.data.synthetic import vortex_street_velocity

REYNOLDS = (300.0, 600.0, 900.0, 1200.0)
DATA_NAME = "synthetic vortex street (analytic stand-in)"  # change with load_arrays


def load_arrays(frames: int = 50, seed: int = 0):
    """(x_train, y_train, x_test, y_test): vorticity windows of the synthetic vortex street, random 80/20
    split, raw Reynolds-number targets. 64 x 32 grid (cell 1/64), window x in [24, 56): 1024 features."""
    xs, ys = [], []
    for i, re in enumerate(REYNOLDS):
        u = vortex_street_velocity(re, nx=64, ny=32, frames=frames, dx=1.0 / 64, seed=i)
        omega = np.gradient(u[..., 1], axis=1) - np.gradient(u[..., 0], axis=2)
        xs.append(omega[:, 24:56, :].reshape(frames, -1))
        ys.append(np.full(frames, re))
    x, y = np.concatenate(xs), np.concatenate(ys)
    perm = np.random.default_rng(seed).permutation(len(y))
    n_train = int(0.8 * len(y))
    tr, te = perm[:n_train], perm[n_train:]
    return x[tr], y[tr], x[te], y[te]


def standardize(x_train, y_train, x_test, y_test):
    """X per feature and y, with the training set's mean and std (the fix for unscaled targets)."""
    mu, sd = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    y_mu, y_sd = y_train.mean(), y_train.std()
    return (x_train - mu) / sd, (y_train - y_mu) / y_sd, (x_test - mu) / sd, (y_test - y_mu) / y_sd


def plot_curves(curves: dict[str, dict[str, np.ndarray]], out: Path, title: str = "") -> None:
    """One line per run: train loss (log scale) and test R^2 against epoch. Non-finite points are not drawn."""
    fig, (ax_loss, ax_r2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, history in curves.items():
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax_loss.semilogy(epochs, history["train_loss"], label=name)
        ax_r2.plot(epochs, history["test_r2"], label=name)
    ax_loss.set(xlabel="epoch", ylabel="train loss (1/2 mean squared error, standardized y)")
    ax_r2.set(xlabel="epoch", ylabel="test R^2", ylim=(-0.5, 1.02))
    ax_r2.axhline(0.95, color="gray", lw=0.8, ls="--")
    for ax in (ax_loss, ax_r2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/scratch_mlp_loss.png"))
    parser.add_argument("--hidden", type=int, nargs="+", default=[64])
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--course", action="store_true", help="also run the course's diverging recipe")
    args = parser.parse_args(argv)

    raw = load_arrays(seed=args.seed)
    data = standardize(*raw)
    settings = {
        "hidden": tuple(args.hidden),
        "lr": args.lr,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "seed": args.seed,
    }
    start = time.perf_counter()
    _, history = train_scratch_mlp(*data, **settings)
    seconds = time.perf_counter() - start
    print(
        f"scratch MLP {settings}: final train loss {history['train_loss'][-1]:.4g}, "
        f"test R^2 {history['test_r2'][-1]:.4f} ({seconds:.1f} s incl. compile)"
    )
    curves = {"scratch MLP (hand-written backprop)": history}
    if args.course:
        course_data = (data[0], raw[1], data[2], raw[3])
        _, course = train_scratch_mlp(
            *course_data, **settings, reduction="sum", init_method="normal", output_activation="relu"
        )
        print(
            f"course recipe: final train loss {course['train_loss'][-1]:.4g}, R^2 {course['test_r2'][-1]:.4g}"
        )
        _, no_relu = train_scratch_mlp(*course_data, **settings, reduction="sum", init_method="normal")
        print(
            f"course recipe, linear output: final train loss {no_relu['train_loss'][-1]:.4g}, "
            f"R^2 {no_relu['test_r2'][-1]:.4g}"
        )
    title = f"data: {DATA_NAME}, {len(raw[1])} train / {len(raw[3])} test samples"
    plot_curves(curves, args.out, title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
