"""The from-scratch MLP (hand-written backprop, SGD) beside the Flax MLP of turbjax's training core, on the
same standardized data: loss curves and test R^2.

    python scripts/scratch_mlp.py                                 # seed data set in data/vortex_street
    python scripts/scratch_mlp.py --data-dir DIR --downsample 2   # any turbjax data directory, smaller inputs
    python scripts/scratch_mlp.py --synthetic --hidden 64 --batch-size 16 --out /tmp/x.png  # no data needed

Data: `turbjax.pipeline.prepare` of configs/default.py (crop 64 x 64 = 4096 features, random 80/20 split;
`--data-dir`, `--downsample`, `--sample-every` override it): X standardized per feature and y (the Reynolds
number) with the training statistics, as every training job sees them. With `--synthetic`: a small analytic
stand-in (`turbjax.data.synthetic`, not physics), standardized the same way (`turbjax.data.standardize`).
Both models see exactly the same arrays.

Models: the scratch MLP (`turbjax.autodiff.train_scratch_mlp`: ReLU hidden layers, linear output, He init,
minibatch SGD with the gradient averaged over the batch) and the Flax MLP of configs/default.py (same widths,
Adam 1e-3 with cosine decay, batch 32, 100 epochs), trained by `turbjax.training.loop.make_train(...).train`,
the pure whole-run function behind `python -m turbjax.train`. `--course` also runs the course's recipe (raw
targets, summed gradients, unit-normal init, ReLU output) to show what goes wrong.

Output: the figure (`--out`, default docs/scratch_vs_flax_loss.png): train loss (1/2 mean squared error in
standardized units, semilog) and test R^2 per epoch; printed final test R^2 of both models. The two train
losses are measured slightly differently: the scratch MLP's on the whole training set after each epoch, the
training core's as the mean over the epoch's minibatches while it trains (the parameters change during the
epoch). The results on the seed data set are in the README.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 (after selecting the Agg backend)

from configs.default import get_config  # noqa: E402 (after the sys.path edit above)
from turbjax.autodiff import train_scratch_mlp  # noqa: E402 (after the sys.path edit above)
from turbjax.configs.schema import with_overrides  # noqa: E402 (after the sys.path edit above)
from turbjax.data.standardize import fit_standardizer, standardize  # noqa: E402 (after the sys.path edit above)
from turbjax.data.synthetic import small_reynolds_arrays  # noqa: E402 (after the sys.path edit above)
from turbjax.pipeline import prepare  # noqa: E402 (after the sys.path edit above)
from turbjax.training.loop import make_train  # noqa: E402 (after the sys.path edit above)
from turbjax.training.optimizers import default_hparams  # noqa: E402 (after the sys.path edit above)

REYNOLDS = (300.0, 600.0, 900.0, 1200.0)


def standardized(x_train, y_train, x_test, y_test) -> dict:
    """The training core's arrays for raw (x, y) that no data set built: X per feature and y with the training
    statistics, y as (N, 1), plus y_mean / y_scale (what `turbjax.pipeline.prepare` gives a data set)."""
    sx = fit_standardizer(np.asarray(x_train, np.float32))
    y_tr = np.asarray(y_train, np.float32).reshape(-1, 1)
    sy = fit_standardizer(y_tr)
    arrays = {
        "X_train": standardize(np.asarray(x_train, np.float32), sx),
        "X_test": standardize(np.asarray(x_test, np.float32), sx),
        "y_train": standardize(y_tr, sy),
        "y_test": standardize(np.asarray(y_test, np.float32).reshape(-1, 1), sy),
        "y_mean": np.asarray(sy.mean).reshape(-1),
        "y_scale": np.asarray(sy.scale).reshape(-1),
    }
    return {k: jnp.asarray(v, jnp.float32) for k, v in arrays.items()}


def train_flax(data: dict, config):
    """The training core's whole run on the standardized arrays; per-epoch metrics as numpy arrays."""
    trainer = make_train(config, data)
    _, metrics = jax.jit(trainer.train)(default_hparams(config.optim), jax.random.key(config.training.seed),
                                        data)
    return {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}


def plot_curves(curves: dict[str, dict[str, np.ndarray]], out: Path, title: str = "") -> None:
    """One line per run: train loss (log scale) and test R^2 against epoch. Non-finite points are not
    drawn."""
    fig, (ax_loss, ax_r2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, history in curves.items():
        epochs = np.arange(1, len(history["train_loss"]) + 1)
        ax_loss.semilogy(epochs, history["train_loss"], label=name)
        ax_r2.plot(epochs, history["test_r2"], label=name)
    ax_loss.set(xlabel="epoch", ylabel="train loss (1/2 mean squared error, standardized y)")
    ax_r2.set(xlabel="epoch", ylabel="test R^2", ylim=(0.9, 1.002))
    ax_r2.axhline(0.95, color="gray", lw=0.8, ls="--")
    for ax in (ax_loss, ax_r2):
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scratch_vs_flax_loss.png")
    parser.add_argument("--data-dir", default=None, help="turbjax data directory (default: "
                                                         "configs/default.py's)")
    parser.add_argument("--downsample", type=int, default=None, help="spatial block-mean factor of the crop")
    parser.add_argument("--sample-every", type=int, default=None, help="simulation steps between samples")
    parser.add_argument("--synthetic", action="store_true", help="small analytic stand-in data instead")
    parser.add_argument("--hidden", type=int, nargs="+", default=[100, 100])
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate of the scratch MLP")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--course", action="store_true", help="also run the course's diverging recipe")
    args = parser.parse_args(argv)

    overrides = {"model.hidden": tuple(args.hidden), "training.epochs": args.epochs,
                 "training.batch_size": args.batch_size, "training.seed": args.seed}
    for path, value in (("data.dir", args.data_dir), ("data.downsample", args.downsample),
                        ("data.sample_every_steps", args.sample_every)):
        if value is not None:
            overrides[path] = value
    # the Flax side: configs/default.py with this run's widths, epochs, batch, seed (and data)
    config = with_overrides(get_config(), overrides)
    if args.synthetic:
        raw = small_reynolds_arrays(REYNOLDS, seed=args.seed)
        description = "synthetic vortex street (analytic stand-in, not physics)"
        flax_data = standardized(*raw)
    else:
        prep = prepare(config)
        raw = (prep.ds.train.X, prep.ds.train.y, prep.ds.test.X, prep.ds.test.y)
        description = f"{config.data.dir}: {prep.ds.summary()}"
        flax_data = prep.data
    data = tuple(np.asarray(flax_data[k], np.float32) for k in ("X_train", "y_train", "X_test", "y_test"))
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
    start = time.perf_counter()
    flax = train_flax(flax_data, config)
    seconds = time.perf_counter() - start
    o = config.optim
    print(
        f"Flax MLP {tuple(args.hidden)}, {o.name} {o.learning_rate:g} ({o.schedule}), batch "
        f"{args.batch_size}: final train loss {flax['train_loss'][-1]:.4g}, test R^2 "
        f"{flax['test_r2'][-1]:.4f} ({seconds:.1f} s incl. compile)"
    )
    curves = {
        f"scratch MLP {tuple(args.hidden)}: SGD {args.lr:g}, hand-written backprop": history,
        f"Flax MLP {tuple(args.hidden)}: {o.name} {o.learning_rate:g}, {o.schedule} "
        "(turbjax training core)": flax,
    }
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
    title = f"data: {description}"
    plot_curves(curves, args.out, title)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
