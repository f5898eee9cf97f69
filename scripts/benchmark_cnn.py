"""Seconds per training epoch of the CNN (configs/cnn.py) with the real training core, against PyTorch.

    python scripts/benchmark_cnn.py                        # seed data in data/vortex_street
    python scripts/benchmark_cnn.py --data DIR --rounds 5 --out bench.json

Times, in interleaved rounds (every variant once per round, so all see the same machine load), the epoch of
`turbjax.training.loop.make_train` (Adam, batch 32, the test-set evaluation every epoch included) for:
    patches       the default CNN, convolutions as matrix products (model.cnn_conv="patches")
    xla           the same network with flax.linen.Conv (model.cnn_conv="xla"): the "before" figure
    gap           the global-average-pooling head (model.cnn_head="gap") on the same 64 x 64 data
    gap_64x112    the GAP head on random 64 x 112 images (same number of rows)
    torch         when `torch` is importable: the same layers in PyTorch eager (Conv2d, ReLU, AvgPool2d,
                  Linear), fused Adam, batch 32, a fresh permutation every epoch, on the same training arrays
and prints best and median seconds per epoch, the ratios to the default, the FLOPs of an epoch and the
fraction of a 2048^3 float32 matmul's rate (measured here, same script) that the best epoch reaches.
Without the seed data it uses random arrays of the seed data's shapes (1920 x 64*64 train, 480 test) and says
so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_common import make_chunk, torch_epoch  # noqa: E402 (scripts/ is on sys.path as the running script's folder)

from configs import cnn as cnn_config  # noqa: E402 (after the sys.path edit above)


def load_data(data_dir: str):
    """Standardized seed data arrays and the image shape, or random arrays of the same shapes."""
    from turbjax.configs.schema import with_overrides
    from turbjax.data.dataset import missing_files
    from turbjax.pipeline import prepare

    cfg = with_overrides(cnn_config.get_config(), {"data.dir": data_dir})
    if missing_files(cfg.data):
        print(f"!!! no seed data in {data_dir}: timing RANDOM arrays of the seed data's shapes instead !!!")
        return random_data((64, 64)), (64, 64), "random"
    prep = prepare(cfg)
    return prep.data, tuple(prep.ds.image_shape), prep.ds.summary()


def random_data(image_shape, n_train: int = 1920, n_test: int = 480) -> dict:
    rng = np.random.default_rng(0)
    f = image_shape[0] * image_shape[1]
    return {"X_train": jnp.asarray(rng.normal(size=(n_train, f)), jnp.float32),
            "y_train": jnp.asarray(rng.normal(size=(n_train, 1)), jnp.float32),
            "X_test": jnp.asarray(rng.normal(size=(n_test, f)), jnp.float32),
            "y_test": jnp.asarray(rng.normal(size=(n_test, 1)), jnp.float32)}


def make_turbjax(data: dict, image_shape, epochs: int, **model):
    """A function running `epochs` epochs (one compiled chunk) and the seconds of the first (compiling)
    call."""
    c = cnn_config.get_config()
    c.model.update(model)
    return make_chunk(c, data, epochs, image_shape=image_shape)


def make_torch(data: dict, image_shape, threads: int | None):
    """One PyTorch epoch of the same network (bench_common.torch_epoch), or None with the reason."""
    h, w = image_shape

    def net(nn):
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Flatten(), nn.Linear(16 * (h // 8) * (w // 8), 32), nn.ReLU(),
            nn.Linear(32, 1))

    def images(a):
        return np.asarray(a).reshape(-1, 1, h, w)

    return torch_epoch(net, images(data["X_train"]), np.asarray(data["y_train"]), images(data["X_test"]),
                       threads)


def cnn_flops_per_epoch(n_train: int, n_test: int, image_shape, features=(8, 16, 16), dense=(32,), k=3,
                        head="flatten") -> float:
    """FLOPs (2 per multiply-add) of the products of an epoch: forward, kernel gradient and input gradient
    (not of the first layer: its input is the data) of every conv and dense layer on the training rows, and
    the forward pass on the test rows. Elementwise work (relu, pooling, Adam) is not counted."""
    h, w = image_shape
    conv_macs, cin = [], 1
    for c in features:
        conv_macs.append(h * w * k * k * cin * c)
        cin = c
        if h >= 2 and w >= 2:
            h, w = h // 2, w // 2
    width = cin if head == "gap" else h * w * cin
    dense_macs = []
    for d in tuple(dense) + (1,):
        dense_macs.append(width * d)
        width = d
    fwd = sum(conv_macs) + sum(dense_macs)
    bwd = sum(conv_macs) + sum(conv_macs[1:]) + 2 * sum(dense_macs)  # the first dense layer needs its dx
    return 2.0 * (n_train * (fwd + bwd) + n_test * fwd)


def matmul_rate(n: int = 2048, reps: int = 5) -> float:
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    jax.block_until_ready(f(a))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(f(a))
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=cnn_config.get_config().data.dir, help="data directory (seed data)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    p.add_argument("--epochs", type=int, default=2, help="epochs per timed turbjax chunk (xla: 1)")
    p.add_argument("--variants", default="patches,xla,gap,gap_64x112,torch", help="comma list of variants")
    p.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args()
    names = [v for v in args.variants.split(",") if v]

    data, image_shape, summary = load_data(args.data)
    n, n_test = data["X_train"].shape[0], data["X_test"].shape[0]
    print(f"data: {summary}; image {image_shape}")
    print(f"jax {jax.__version__} on {jax.default_backend()}, {os.cpu_count()} CPUs")
    wide = (image_shape[0], 112)
    runners, epochs_of, notes = {}, {}, {}
    for name in names:
        if name == "torch":
            fn, note = make_torch(data, image_shape, args.torch_threads)
            notes[name] = note
            print(f"torch: {note}")
            if fn is not None:
                runners[name], epochs_of[name] = fn, 1
            continue
        epochs = 1 if name == "xla" else args.epochs
        model, d, shape = {
            "patches": ({}, data, image_shape),
            "xla": ({"cnn_conv": "xla"}, data, image_shape),
            "gap": ({"cnn_head": "gap"}, data, image_shape),
            "gap_64x112": ({"cnn_head": "gap"}, random_data(wide, n, n_test), wide),
        }[name]
        runners[name], first = make_turbjax(d, shape, epochs, **model)
        epochs_of[name] = epochs
        print(f"{name}: compile + first {epochs} epoch(s) {first:.1f} s", flush=True)

    times = {name: [] for name in runners}
    for r in range(args.rounds):
        for name, fn in runners.items():
            t0 = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - t0) / epochs_of[name])
        print(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items()), flush=True)
    peak = matmul_rate()

    ref = "patches" if "patches" in times else next(iter(times))
    out = {"data": summary, "num_train": n, "num_test": n_test, "rounds": args.rounds, "notes": notes,
           "matmul_2048_gflops": peak / 1e9, "variants": {}}
    print(f"\n=== seconds per epoch, {args.rounds} interleaved rounds (Adam, batch 32, test evaluation "
          "included) ===")
    print(f"{'variant':12s} {'best s':>8s} {'median s':>9s}  {'best / ' + ref:>16s} {'median / ' + ref:>16s} "
          "  GFLOP/epoch  GFLOP/s  of matmul peak")
    for name, t in times.items():
        best, med = float(np.min(t)), float(np.median(t))
        shape = wide if name == "gap_64x112" else image_shape
        head = "gap" if name.startswith("gap") else "flatten"
        flops = cnn_flops_per_epoch(n, n_test, shape, head=head)
        rate = flops / best
        out["variants"][name] = {"s_per_epoch_best": best, "s_per_epoch_median": med,
                                 "flops_per_epoch": flops,
                                 "gflops_best": rate / 1e9, "fraction_of_matmul_peak": rate / peak,
                                 "ratio_best": best / np.min(times[ref]),
                                 "ratio_median": med / np.median(times[ref])}
        v = out["variants"][name]
        print(f"{name:12s} {best:8.3f} {med:9.3f}  {v['ratio_best']:16.2f} {v['ratio_median']:16.2f}   "
              f"{flops / 1e9:11.2f} {rate / 1e9:8.1f}  {100 * rate / peak:5.1f} %")
    print(f"matmul peak: {peak / 1e9:.1f} GFLOP/s (2048^3 float32, best of 5, this run)")
    if "torch" not in times:
        print(f"NOTE: no PyTorch comparison: {notes.get('torch', 'not requested')}")
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=2) + "\n")
        os.replace(tmp, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
