"""Seconds per training epoch of the CNN (configs/cnn.py) with the real training core, against PyTorch.

    python scripts/benchmark_cnn.py                        # seed data in data/vortex_street
    python scripts/benchmark_cnn.py --data DIR --rounds 5 --out bench.json

Times, in interleaved rounds (every variant once per round, so all see the same machine load), the epoch of
`turbjax.training.loop.make_train` (Adam, batch 32, the validation and test evaluation every epoch
included) for:
    custom        the default CNN, turbjax.models.conv's hand-written gradients (model.cnn_conv="custom")
    xla           the same network with flax.linen.Conv (model.cnn_conv="xla"): the "before" figure
    gap           the global-average-pooling head (model.cnn_head="gap") on the same 64 x 64 data
    gap_64x112    the GAP head on random 64 x 112 images (same number of rows)
    torch_*       when `torch` is importable: the same layers in PyTorch (Conv2d, ReLU, AvgPool2d, Linear),
                  fused Adam, batch 32, a fresh permutation every epoch, the forward pass over the
                  validation and test frames (turbjax's epoch evaluates both), on the same arrays, with
                  as many threads as turbjax's cores, in the settings a practitioner would
                  try on a CPU: torch_nchw (eager, NCHW), torch_cl (eager, model and inputs channels_last),
                  torch_compile and torch_compile_cl (torch.compile, inductor; compiled in the warm-up epoch).
                  `torch` in --variants means all four; a variant that fails to build or run is one
                  "skipped" line and the rest still run.
and prints best and median seconds per epoch, the ratios to the default, the FLOPs of an epoch and the
fraction of a 2048^3 float32 matmul's rate (measured here, same script) that the best epoch reaches; then
    ratio turbjax/torch-best (epoch time, same run): X
the best epoch of the fastest PyTorch variant over the best epoch of turbjax's default (custom), X > 1
meaning turbjax is faster, and the CPU model, cores and versions the figures belong to.
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

from bench_common import (  # noqa: E402 (scripts/ is on sys.path as the running script's folder)
    TORCH_VARIANTS,
    cores,
    evaluated_frames,
    import_error,
    machine_line,
    make_chunk,
    ratio_line,
    skipped_line,
    torch_epoch,
    versions_line,
)

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


def make_torch(data: dict, image_shape, threads: int | None, variant: str = "torch_nchw"):
    """One PyTorch epoch of the same network in one of bench_common.TORCH_VARIANTS (torch_epoch), or None with
    the reason."""
    h, w = image_shape
    channels_last, compile_ = TORCH_VARIANTS[variant]

    def net(nn):
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
            nn.Flatten(), nn.Linear(16 * (h // 8) * (w // 8), 32), nn.ReLU(),
            nn.Linear(32, 1))

    def images(a):
        return np.asarray(a).reshape(-1, 1, h, w)

    return torch_epoch(net, images(data["X_train"]), np.asarray(data["y_train"]),
                       images(evaluated_frames(data)), threads, channels_last=channels_last, compile=compile_)


def expand_variants(spec: str) -> list[str]:
    """--variants as a list: `torch` stands for every PyTorch variant; unknown names are an error."""
    known = ["custom", "xla", "gap", "gap_64x112", *TORCH_VARIANTS]
    names = []
    for v in filter(None, (x.strip() for x in spec.split(","))):
        for name in (list(TORCH_VARIANTS) if v == "torch" else [v]):
            if name not in known:
                raise SystemExit(f"benchmark_cnn: unknown variant {name!r} "
                                 f"(known: {', '.join(known)}, torch)")
            if name not in names:
                names.append(name)
    return names


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


TORCH_DISTS = ("jax", "jaxlib", "flax", "optax", "numpy", "torch")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=cnn_config.get_config().data.dir, help="data directory (seed data)")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    p.add_argument("--epochs", type=int, default=2, help="epochs per timed turbjax chunk (xla: 1)")
    p.add_argument("--variants", default="custom,xla,gap,gap_64x112,torch",
                   help="comma list of variants: custom, xla, gap, gap_64x112, torch_nchw, torch_cl, "
                        "torch_compile, torch_compile_cl; torch = all four PyTorch ones")
    p.add_argument("--torch-threads", type=int, default=cores(),
                   help="torch.set_num_threads (default: the cores turbjax's XLA uses, %(default)s here)")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args()
    names = expand_variants(args.variants)

    data, image_shape, summary = load_data(args.data)
    n, n_test = data["X_train"].shape[0], evaluated_frames(data).shape[0]
    print(f"data: {summary}; image {image_shape}")
    print(f"jax {jax.__version__} on {jax.default_backend()}; {machine_line()}")
    wide = (image_shape[0], 112)
    runners, epochs_of, notes = {}, {}, {}
    asked = [k for k in names if k in TORCH_VARIANTS]
    missing = import_error("torch") if asked else None
    if missing:  # one line for the peer, not one per variant
        notes["torch"] = f"not importable ({missing}); install the CPU build to compare"
        print(skipped_line("torch", notes["torch"]), flush=True)
        names = [k for k in names if k not in TORCH_VARIANTS]
    for name in names:
        if name in TORCH_VARIANTS:
            fn, note = make_torch(data, image_shape, args.torch_threads, name)
            notes[name] = note
            print(f"{name}: {note}" if fn is not None else skipped_line(name, note), flush=True)
            if fn is not None:
                runners[name], epochs_of[name] = fn, 1
            continue
        epochs = 1 if name == "xla" else args.epochs
        model, d, shape = {
            "custom": ({}, data, image_shape),
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

    ours = [k for k in times if k not in TORCH_VARIANTS]
    ref = "custom" if "custom" in times else (ours or list(times))[0]
    machine, versions = machine_line(), versions_line(TORCH_DISTS)
    out = {"data": summary, "num_train": n, "num_evaluated": n_test, "rounds": args.rounds, "notes": notes,
           "cpu": machine, "versions": versions, "torch_threads": args.torch_threads,
           "matmul_2048_gflops": peak / 1e9, "variants": {}}
    print(f"\n=== seconds per epoch, {args.rounds} interleaved rounds (Adam, batch 32, validation and test "
          "evaluation included) ===")
    print(f"{machine}; torch threads {args.torch_threads}")
    print(versions)
    print(f"{'variant':16s} {'best s':>8s} {'median s':>9s}  {'best / ' + ref:>16s} {'median / ' + ref:>16s} "
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
        print(f"{name:16s} {best:8.3f} {med:9.3f}  {v['ratio_best']:16.2f} {v['ratio_median']:16.2f}   "
              f"{flops / 1e9:11.2f} {rate / 1e9:8.1f}  {100 * rate / peak:5.1f} %")
    print(f"matmul peak: {peak / 1e9:.1f} GFLOP/s (2048^3 float32, best of 5, this run)")
    ran = {k: float(np.min(t)) for k, t in times.items() if k in TORCH_VARIANTS}
    if asked and ref in times and ref not in TORCH_VARIANTS:
        tj = float(np.min(times[ref]))
        best = min(ran, key=ran.get) if ran else None
        left_out = [k for k in asked if k not in ran]
        detail = (f"turbjax {ref} {tj:.3f} s, {best} {ran[best]:.3f} s, best epoch of {args.rounds} "
                  f"interleaved rounds, {args.torch_threads} torch threads" if best
                  else "no PyTorch variant ran")
        if left_out:
            detail += f"; skipped: {', '.join(left_out)} (see above)"
        print(ratio_line("torch", "epoch time, same run", tj, ran.get(best), higher_is_better=False,
                         detail=detail))
        out["torch_best"] = best
        out["ratio_turbjax_torch_best"] = ran[best] / tj if best else None
    if args.out:
        tmp = Path(args.out).with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=2) + "\n")
        os.replace(tmp, args.out)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
