"""A 16-trial sweep (4 learning rates x 4 seeds) as one vmapped program vs the same 16 trials one after
another.

    python scripts/benchmark_sweep.py            # seed-data sizes: 1920 x 4096, MLP (100, 100), batch 32
    python scripts/benchmark_sweep.py --epochs 2 --train 480 --features 1024   # quick

Same data, model (MLP, Adam, batch 32) and trials in every variant, all measured in this run:

  sequential   the single-trial program `jax.jit(trainer.train)` compiled once (the learning rate and the key
               are arguments), called 16 times, one after another
  vmap flat    one program, `jax.vmap` over 16 trials, each with its own key (its own minibatch order)
  vmap nested  one program, the sweep's layout: outer vmap over the 4 seeds, inner vmap over the 4 learning
               rates with the key unbatched, so a seed's 4 trials share the minibatch gather and their
               first-layer products are one matrix product x_BxF . W_Fx(4*H) (turbjax.sweep,
               share_data_order=True)
  nested 1xK   the same program over blocks of K learning rates of one seed, compiled once, run 16/K times
               (turbjax.sweep's trials_per_program=K; the automatic choice on a CPU is printed and included)

Each is timed with compilation (compile + one run) and without (the best of --repeats runs after compiling);
the speed-up is sequential / vmapped. The three variants compute the same trials (checked: final losses
agree). With --hlo the dot (matrix product) shapes XLA emitted for each program are printed. The data are
random (timings do not depend on the values): --train rows of --features features, 20% more rows as test set.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax
import jax.numpy as jnp
import numpy as np

from configs import default
from turbjax.sweep import auto_trials_per_program, grid_functions, trial_state_bytes
from turbjax.training.loop import make_train
from turbjax.training.optimizers import default_hparams

LRS = (3e-3, 1e-3, 3e-4, 1e-4)
SEEDS = (0, 1, 2, 3)


def dot_shapes(compiled_text: str) -> Counter:
    """Counter of the dot (matrix product) instructions in compiled HLO: output shape and dimension
    numbers."""
    found = Counter()
    for line in compiled_text.splitlines():
        m = re.search(r"=\s*(f32\[[\d,]*\])\{[\d,]*\}\s+dot\([^)]*\),\s*((?:[a-z_]+_dims=\{[\d,]*\},?\s*)+)",
                      line)
        if m:
            found[f"{m.group(1)} = dot({m.group(2).strip().rstrip(',')})"] += 1
    return found


def make_data(n_train: int, features: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    n_test = n_train // 4
    x = rng.normal(size=(n_train + n_test, features)).astype(np.float32)
    w = rng.normal(size=(features, 1)).astype(np.float32) / np.sqrt(features)
    y = np.tanh(x @ w) + 0.1 * rng.normal(size=(n_train + n_test, 1)).astype(np.float32)
    y = (y - y[:n_train].mean()) / y[:n_train].std()
    return {
        "X_train": jnp.asarray(x[:n_train]), "y_train": jnp.asarray(y[:n_train]),
        "X_test": jnp.asarray(x[n_train:]), "y_test": jnp.asarray(y[n_train:]),
    }


def timed(fn, *args, repeats: int):
    best = float("inf")
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--train", type=int, default=1920, help="training rows (seed data set: 1920)")
    ap.add_argument("--features", type=int, default=4096, help="features (seed data set: 64 x 64 = 4096)")
    ap.add_argument("--hidden", default="100,100")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=2, help="timed runs after compiling; the best is kept")
    ap.add_argument("--per-program", type=int, nargs="*", default=[4, 2],
                    help="also run nested programs of 1 x K trials (one seed, K learning rates), 16/K calls")
    ap.add_argument("--hlo", action="store_true", help="print the dot shapes XLA emitted")
    args = ap.parse_args(argv)

    c = default.get_config()
    c.model.hidden = tuple(int(h) for h in args.hidden.split(","))
    c.training.batch_size = args.batch
    c.training.epochs = args.epochs
    data = make_data(args.train, args.features)
    trainer = make_train(c, data)
    base = default_hparams(c.optim)
    n = len(LRS) * len(SEEDS)
    print(
        f"jax {jax.__version__}, {jax.devices()[0].device_kind} x{jax.device_count()}, {os.cpu_count()} "
        f"CPUs, {time.strftime('%Y-%m-%d %H:%M:%S')}; {n} trials = {len(LRS)} lr x {len(SEEDS)} seeds; "
        f"{args.train} x {args.features} train rows, MLP {c.model.hidden}, Adam, batch {args.batch}, "
        f"{args.epochs} epochs ({trainer.steps_per_epoch} steps each)",
        flush=True,
    )

    # trial grid, seed-major: trial (s, l) has seed SEEDS[s] and learning rate LRS[l]
    lr_SL = np.tile(np.asarray(LRS, np.float32), (len(SEEDS), 1))
    keys_S = np.stack([np.asarray(jax.random.PRNGKey(s)) for s in SEEDS])

    def hp_of(lr):
        return {k: (jnp.asarray(lr, jnp.float32) if k == "learning_rate"
                    else jnp.broadcast_to(v, np.shape(lr)))
                for k, v in base.items()}

    results = {}
    header = (f"\n{'variant':<16} {'compile s':>10} {'run s':>8} {'total s':>8} {'ms/trial-epoch':>15} "
              f"{'speed-up run':>13} {'speed-up total':>15}")

    def row(name):
        comp, runs, _ = results[name]
        seq_c, seq_r, _ = results["sequential"]
        per = 1e3 * runs / (n * args.epochs)
        print(f"{name:<16} {comp:>10.2f} {runs:>8.2f} {comp + runs:>8.2f} {per:>15.2f} "
              f"{seq_r / runs:>12.2f}x {(seq_c + seq_r) / (comp + runs):>14.2f}x", flush=True)

    # sequential: one compiled single-trial program, 16 calls
    t0 = time.perf_counter()
    single = jax.jit(trainer.train).lower(hp_of(np.float32(LRS[0])), keys_S[0], data).compile()
    compile_seq = time.perf_counter() - t0

    def sequential():
        outs = []
        for s in range(len(SEEDS)):
            for lr in LRS:
                outs.append(single(hp_of(np.float32(lr)), keys_S[s], data)[1]["train_loss"])
        return jnp.stack(outs).reshape(len(SEEDS), len(LRS), -1)

    run_seq, loss_seq = timed(sequential, repeats=args.repeats)
    results["sequential"] = (compile_seq, run_seq, single.as_text())
    print(header)
    row("sequential")

    init, run = grid_functions(trainer)

    def program(hp, keys, d):
        state = init(hp, keys)
        return run(state, hp, d, args.epochs)[1]["train_loss"]

    S, L = len(SEEDS), len(LRS)
    # (name, rows, cols, shared): one compiled program over a rows x cols block of trials, called
    # n / (rows * cols) times; shared: a row's trials share the key (nested vmap), else one trial per row
    # (flat)
    variants = [("vmap flat 16", 16, 1, False), ("vmap nested 4x4", 4, 4, True)]
    for k in args.per_program:
        if k < n and L % k == 0:
            variants.append((f"vmap nested 1x{k}", 1, k, True))
    # what `python -m turbjax.sweep` does here with trials_per_program=-1 (automatic)
    auto = auto_trials_per_program(trainer, 1)
    if 0 < auto < n:  # 0 (accelerators): all trials in one program, the 16-trial variants above
        k = max(d for d in range(1, L + 1) if L % d == 0 and d <= auto)
        if k not in args.per_program:
            variants.append((f"vmap nested 1x{k}", 1, k, True))
    print(f"turbjax.sweep's automatic trials_per_program here: {auto or 'all'} "
          f"({trial_state_bytes(trainer) / 1e6:.2f} MB of training state per trial)", flush=True)
    losses = {"sequential": np.asarray(loss_seq)}
    for name, rows, cols, shared in variants:
        if shared:
            blocks = [(hp_of(lr_SL[s:s + rows, j:j + cols]), keys_S[s:s + rows])
                      for s in range(0, S, rows) for j in range(0, L, cols)]
        else:
            flat_lr, flat_keys = lr_SL.reshape(n, 1), np.repeat(keys_S, L, axis=0)
            blocks = [(hp_of(flat_lr[i:i + rows]), flat_keys[i:i + rows]) for i in range(0, n, rows)]
        t0 = time.perf_counter()
        compiled = jax.jit(program).lower(*blocks[0], data).compile()
        compile_s = time.perf_counter() - t0

        def all_blocks(compiled=compiled, blocks=blocks):
            return [compiled(hp, keys, data) for hp, keys in blocks]

        run_s, outs = timed(all_blocks, repeats=args.repeats)
        if shared:  # blocks are (rows, cols) pieces of the seed x lr grid, in row-major block order
            grid = np.zeros((S, L, args.epochs), np.float32)
            it = iter(outs)
            for s in range(0, S, rows):
                for j in range(0, L, cols):
                    grid[s:s + rows, j:j + cols] = np.asarray(next(it))
            losses[name] = grid
        else:
            losses[name] = np.concatenate([np.asarray(o) for o in outs]).reshape(S, L, -1)
        results[name] = (compile_s, run_s, compiled.as_text())
        row(name)

    print("(speed-up = sequential time / variant time; 'run' excludes compilation, 'total' includes it; "
          "the sequential total compiles once)")
    b = losses["sequential"]
    for name, a in losses.items():  # same trials? (float reassociation only)
        if name == "sequential":
            continue
        rel = float(np.max(np.abs(a - b) / (np.abs(b) + 1e-6)))
        first = float(np.max(np.abs(a[..., 0] - b[..., 0]) / (np.abs(b[..., 0]) + 1e-6)))
        print(f"{name}: largest relative difference of the per-epoch train losses from sequential "
              f"{rel:.1e} (first epoch {first:.1e})")
        if not np.isfinite(a).all() == np.isfinite(b).all() or first > 1e-2:
            raise SystemExit(f"{name} does not compute the same trials as sequential")
    if args.hlo:
        for name, (_, _, text) in results.items():
            print(f"\ndot shapes XLA emitted, {name}:")
            for k, v in sorted(dot_shapes(text).items()):
                print(f"  {v:3d} x  {k}")


if __name__ == "__main__":
    main()
