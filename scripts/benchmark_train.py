"""Training throughput of turbjax against scikit-learn's MLPRegressor, measured in the same run, and time to
test R^2 >= 0.999 with the default config.

    python scripts/benchmark_train.py                      # seed data in data/vortex_street
    python scripts/benchmark_train.py --data DIR --out bench.json

Same data, same architecture (MLP (100, 100), relu), batch 32, Adam 1e-3, standardized X and y for both.
Prints seconds per epoch (wall clock and process CPU time), the speed-up, the FLOP rate of an epoch
(3 x the forward matmul FLOPs) against this CPU's peak (a large float32 matmul measured here, and the
nominal AVX2/FMA peak from /proc/cpuinfo), and the seconds from the start of training (data cached,
compilation included) to test R^2 >= 0.999 with configs/default.py.

scikit-learn is timed twice in every round: on the float32 arrays turbjax trains on, and on float64 copies
(what the course's numpy arrays are, and the dtype scikit-learn keeps them in). Both ratios are printed.
Two lower bounds of turbjax's design are measured in the same run, with XLA, on the same shapes: the epoch's
matrix products alone (60 steps of the forward and weight-gradient products of the three layers, nothing
else) and its Adam updates alone (60 optax.adam updates of the 420k parameters). An epoch cannot take less
than their sum; if that sum exceeds a tenth of scikit-learn's epoch, 10x is out of reach for this
formulation (float32, batch 32, one step after another) on this CPU, and the script says so.

Without the seed data it falls back to analytic vortex-street files (turbjax.data.synthetic, same shapes
as the seed data set) and says so loudly: throughput figures stay meaningful, accuracy figures do not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_common import evaluated_frames, make_chunk, torch_epoch  # noqa: E402 (scripts/ is on sys.path as the running script's folder)

from configs import default  # noqa: E402 (after the sys.path edit above)


def banner(msg: str) -> None:
    line = "!" * 100
    print(f"\n{line}\n{msg}\n{line}\n", flush=True)


def best_of(fn, reps: int = 5) -> float:
    """Seconds of the fastest of `reps` calls of fn, after one untimed call (compilation)."""
    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return best


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    a = jnp.asarray(np.random.default_rng(0).normal(size=(n, n)), jnp.float32)
    f = jax.jit(lambda a: a @ a)
    return 2 * n**3 / best_of(lambda: f(a), reps)


def nominal_peak() -> tuple[float | None, str]:
    """cores x GHz x 32 FLOP/cycle (2 FMA units x 8 float32 lanes x 2) for AVX2+FMA CPUs."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None, "unknown (no /proc/cpuinfo)"
    mhz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    model = next((line.split(":")[1].strip() for line in info.splitlines() if line.startswith("model name")),
                 "?")
    cores = os.cpu_count() or 1
    per_cycle = 32 if ("avx2" in flags and "fma" in flags) else 16 if "avx" in flags else 8
    if not mhz:
        return None, model
    return (cores * (max(mhz) / 1e3) * 1e9 * per_cycle,
            f"{model}, {cores} cores at {max(mhz):.0f} MHz, {per_cycle} FLOP/cycle")


def floors(n: int, f: int, batch: int = 32, hidden=(100, 100)) -> dict:
    """Seconds per epoch of (a) the matrix products alone and (b) the Adam updates alone, compiled by XLA.

    (a) per step: the forward products of the three layers and the weight-gradient products (the first
    layer's input gradient is never needed), with a data dependence between steps as in training; the
    elementwise work between them is left out. (b) per step: one optax.adam update of parameters shaped
    like turbjax's (kernels (out, in)), the gradient derived from the parameters inside the same fusion so
    that no gradient is read from memory."""
    import optax
    from jax import lax

    steps = -(-n // batch)
    sizes = (f,) + tuple(hidden) + (1,)
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(steps * batch, f)), jnp.float32)
    ws = [jnp.asarray(rng.normal(size=(o, i)) / np.sqrt(i), jnp.float32)
          for i, o in itertools.pairwise(sizes)]
    dot_t = (((1,), (1,)), ((), ()))  # x_BxI @ W_OxI^T
    dot_w = (((0,), (0,)), ((), ()))  # d_BxO^T @ a_BxI -> (O, I)

    @jax.jit
    def products(ws, x):
        def step(ws, i):
            a = lax.dynamic_slice_in_dim(x, i * batch, batch)
            acts = [a]
            for w in ws:
                acts.append(lax.dot_general(acts[-1], w, dot_t))
            d = acts[-1]
            grads = []
            for w, a_in in zip(reversed(ws), reversed(acts[:-1]), strict=True):
                grads.append(lax.dot_general(d, a_in, dot_w))
                d = d @ w
            return [w - 1e-9 * g for w, g in zip(ws, reversed(grads), strict=True)], None
        return lax.scan(step, ws, jnp.arange(steps))[0]

    params = ({f"w{k}": w for k, w in enumerate(ws)}
              | {f"b{k}": jnp.zeros(w.shape[0]) for k, w in enumerate(ws)})
    tx = optax.adam(1e-3)

    @jax.jit
    def adam(params, opt_state):
        def step(c, _):
            p, o = c
            u, o = tx.update(jax.tree.map(lambda w: 1e-3 * w, p), o, p)
            return (optax.apply_updates(p, u), o), None
        return lax.scan(step, (params, opt_state), None, length=steps)[0]

    st = (params, tx.init(params))
    return {"products_s": best_of(lambda: products(ws, x)), "adam_s": best_of(lambda: adam(*st)),
            "steps": steps}


def make_turbjax(data: dict, epochs: int):
    return make_chunk(default.get_config(), data, epochs)


def make_sklearn(x, y):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(hidden_layer_sizes=(100, 100), activation="relu", solver="adam", batch_size=32,
                         learning_rate_init=1e-3, alpha=0.0, shuffle=True, random_state=0)

    def epoch():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(x, y)  # one pass over the data in minibatches of 32 (sklearn's "iteration")

    epoch()
    return epoch


def make_torch(x, y, x_test, threads: int | None = None):
    """PyTorch eager, the same MLP (100, 100) relu (bench_common.torch_epoch)."""

    def net(nn):
        return nn.Sequential(nn.Linear(x.shape[1], 100), nn.ReLU(), nn.Linear(100, 100), nn.ReLU(),
                             nn.Linear(100, 1))

    return torch_epoch(net, x, np.asarray(y)[:, None], x_test, threads)


def timed(fn, epochs: int) -> tuple[float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return (time.perf_counter() - t0) / epochs, (time.process_time() - c0) / epochs


def interleaved(tj_chunk, tj_epochs: int, sk_epochs: dict, rounds: int) -> dict:
    """Alternate turbjax chunks and scikit-learn epochs so all see the same machine load; report the best
    (least disturbed) and the median round of each."""
    times = {"turbjax": []} | {name: [] for name in sk_epochs}
    for _ in range(rounds):
        times["turbjax"].append(timed(tj_chunk, tj_epochs))
        for name, fn in sk_epochs.items():
            times[name].append(timed(fn, 1))
    out = {}
    for name, a in times.items():
        a = np.asarray(a)
        out[name] = {"s_per_epoch_min": float(a[:, 0].min()), "s_per_epoch_median": float(np.median(a[:, 0])),
                     "cpu_s_per_epoch_median": float(np.median(a[:, 1]))}
    return out


def time_to_accuracy(data_dir: str, target: float, variant: str) -> dict:
    from turbjax.train import train_and_evaluate

    c = default.get_config()
    c.data.dir = data_dir
    c.training.report_test_r2 = target  # the first epoch whose test R^2 reaches it is recorded
    c.training.stop_at_val_r2 = target  # the run stops on validation, never on test
    c.training.plots = False
    c.training.checkpoint_every = 1000 * c.training.epochs_per_chunk  # no checkpoints but the last
    if variant == "short":  # the default, with the cosine decay over 40 epochs instead of 100
        c.training.epochs = 40
        c.training.stop_at_val_r2 = None  # run it out; seconds_to_target is still recorded
    elif variant == "constant":  # the course's setting: Adam 1e-3 without decay
        c.optim.schedule = "constant"
    elif variant != "default":
        raise ValueError(f"unknown time-to-accuracy variant {variant!r}; expected default, short, constant")
    with tempfile.TemporaryDirectory() as workdir:
        r = train_and_evaluate(c, workdir)
    return {"variant": variant, "seconds_to_target": r["seconds_to_target"],
            "target_epoch": r["target_epoch"],
            "epochs_run": r["epochs"],
            "final_test_r2": r["test_r2"], "wall_seconds": r["wall_seconds"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=default.get_data_config().dir, help="data directory (seed data)")
    p.add_argument("--epochs", type=int, default=5, help="epochs per timed turbjax chunk")
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (turbjax chunk, sklearn float32 "
                                                         "epoch, sklearn float64 epoch)")
    p.add_argument("--tta", default="default,short", help="comma list of time-to-accuracy runs: "
                                                          "default,short,constant,none")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args()

    from turbjax.configs.schema import with_overrides
    from turbjax.data.dataset import missing_files
    from turbjax.data.synthetic import write_synthetic_files
    from turbjax.pipeline import prepare

    cfg = with_overrides(default.get_config(), {"data.dir": args.data})
    synthetic = bool(missing_files(cfg.data))
    tmp = None
    if synthetic:
        banner(f"NO SEED DATA in {args.data}: FALLING BACK TO ANALYTIC SYNTHETIC FILES "
               "(turbjax.data.synthetic).\nThroughput figures are valid; accuracy and time-to-accuracy "
               "figures are NOT the seed data's.\nGenerate the seed data with `python -m turbjax.simulate "
               f"--re 300 600 900 1200 --out {args.data}` and rerun.")
        tmp = tempfile.TemporaryDirectory()
        # shaped like the seed files: 256 x 128, 600 frames every 10 steps of the run's last 6000
        write_synthetic_files(tmp.name, cfg.data.reynolds, nx=256, ny=128, frames=600, dx=1 / 128,
                              frame_dt=10 / 128, frame_stride=10, first_step=42000)
        cfg = with_overrides(cfg, {"data.dir": tmp.name})
    prep = prepare(cfg)
    ds, data = prep.ds, prep.data
    n, f = ds.train.X.shape
    print(f"data: {ds.summary()}{' [SYNTHETIC]' if synthetic else ''}", flush=True)
    print(f"jax {jax.__version__} on {jax.default_backend()} ({jax.devices()[0].device_kind}), "
          f"{os.cpu_count()} CPUs", flush=True)

    peak_measured = matmul_peak()
    peak_nominal, cpu_desc = nominal_peak()
    h1, h2 = 100, 100
    # FLOPs of an epoch as computed: forward and weight-gradient products of the three layers, and the input
    # gradients of the second and third layers (the first layer's input gradient is never formed)
    flops_epoch = 2 * n * (2 * (f * h1 + h1 * h2 + h2) + (h1 * h2 + h2))

    tj_chunk, first = make_turbjax(data, args.epochs)
    x = np.asarray(data["X_train"])
    y = np.asarray(data["y_train"])[:, 0]
    sk_epochs = {"sklearn_float32": make_sklearn(x, y),
                 "sklearn_float64": make_sklearn(x.astype(np.float64), y.astype(np.float64))}
    torch_epoch, torch_desc = make_torch(x, y, evaluated_frames(data))
    if torch_epoch is not None:
        sk_epochs["torch"] = torch_epoch
    print(f"peer PyTorch: {torch_desc}", flush=True)
    t = interleaved(tj_chunk, args.epochs, sk_epochs, args.rounds)
    fl = floors(n, f)
    tj = t["turbjax"]
    rate = flops_epoch / tj["s_per_epoch_min"]
    speedups = {name: {"best": t[name]["s_per_epoch_min"] / tj["s_per_epoch_min"],
                       "median": t[name]["s_per_epoch_median"] / tj["s_per_epoch_median"]}
                for name in sk_epochs}
    floor_s = fl["products_s"] + fl["adam_s"]
    out = {
        "synthetic_data": synthetic,
        "num_train": n, "num_features": f, "rounds": args.rounds, "turbjax_epochs_per_round": args.epochs,
        "turbjax": tj | {"compile_and_first_chunk_s": first},
        **{name: t[name] for name in sk_epochs},
        "speedup": speedups,
        "floors": fl | {"sum_s": floor_s},
        "flops_per_epoch": flops_epoch, "turbjax_gflops_best": rate / 1e9,
        "matmul_peak_gflops": peak_measured / 1e9,
        "nominal_peak_gflops": peak_nominal / 1e9 if peak_nominal else None, "cpu": cpu_desc,
        "fraction_of_matmul_peak": rate / peak_measured,
        "fraction_of_nominal_peak": rate / peak_nominal if peak_nominal else None,
    }
    print("\n=== throughput: MLP (100, 100), relu, batch 32, Adam 1e-3, same data; "
          f"{args.rounds} interleaved rounds ===")
    print("                               best ms/epoch   median ms/epoch   median CPU ms/epoch   speed-up "
          "best (median)")
    labels = (("turbjax", "turbjax (float32)"), ("sklearn_float32", "scikit-learn, float32 data"),
              ("sklearn_float64", "scikit-learn, float64 data"), ("torch", "PyTorch eager, float32"))
    for name, label in labels:
        if name not in t:
            continue
        r = t[name]
        sp = (f"{speedups[name]['best']:10.1f} x ({speedups[name]['median']:.1f} x)" if name in speedups
              else "")
        print(f"{label:28s} {1e3 * r['s_per_epoch_min']:14.1f} {1e3 * r['s_per_epoch_median']:17.1f} "
              f"{1e3 * r['cpu_s_per_epoch_median']:21.1f}   {sp}")
    print(f"(target: >= 10 x; turbjax compile + first {args.epochs} epochs: {first:.1f} s)")
    print(f"lower bounds, XLA, same shapes: matrix products alone {1e3 * fl['products_s']:.1f} ms/epoch, "
          f"Adam updates alone {1e3 * fl['adam_s']:.1f} ms/epoch, sum {1e3 * floor_s:.1f} ms/epoch "
          f"(turbjax's epoch: {tj['s_per_epoch_min'] / floor_s:.2f} x the sum)")
    ideal_s = flops_epoch / peak_measured + fl["adam_s"]
    out["floors"]["ideal_s"] = ideal_s
    print(f"with every product at the measured peak ({peak_measured / 1e9:.0f} GFLOP/s): "
          f"{1e3 * flops_epoch / peak_measured:.1f} ms/epoch + Adam {1e3 * fl['adam_s']:.1f} = "
          f"{1e3 * ideal_s:.1f} ms/epoch (each step's update must finish before the next step's products)")
    for name in ("sklearn_float32", "sklearn_float64"):
        need = t[name]["s_per_epoch_min"] / 10
        verdict = ("within reach" if floor_s <= need else
                   "out of reach with XLA's products" if ideal_s <= need else
                   "OUT OF REACH even at the measured peak")
        print(f"10 x {name}: needs <= {1e3 * need:.1f} ms/epoch; lower bound {1e3 * floor_s:.1f} (XLA), "
              f"{1e3 * ideal_s:.1f} (at peak) -> {verdict}")
    print(f"FLOP rate      {rate / 1e9:8.1f} GFLOP/s (best round) = {flops_epoch / 1e9:.2f} GFLOP/epoch "
          f"(forward and weight-gradient products, input gradients of layers 2 and 3)")
    print(f"peak           {peak_measured / 1e9:8.1f} GFLOP/s measured (2048^3 float32 matmul on "
          f"{jax.devices()[0].device_kind}, best of 5) -> {100 * out['fraction_of_matmul_peak']:.0f} % of it")
    if peak_nominal and jax.default_backend() == "cpu":
        print(f"               {peak_nominal / 1e9:8.1f} GFLOP/s nominal ({cpu_desc}) -> "
              f"{100 * out['fraction_of_nominal_peak']:.0f} % of it")

    tta = []
    for variant in [v for v in args.tta.split(",") if v and v != "none"]:
        r = time_to_accuracy(cfg.data.dir, 0.999, variant)
        tta.append(r)
        s = r["seconds_to_target"]
        when = f"{s:.1f} s" if s is not None else f"NOT REACHED in {r['epochs_run']} epochs"
        print(f"time to test R^2 >= 0.999 ({variant}): {when} "
              f"(reached in epoch {r['target_epoch']}; ran {r['epochs_run']} epochs, test R^2 at the end "
              f"{r['final_test_r2']:.5f}; target <= 30 s)"
              + (" [SYNTHETIC DATA]" if synthetic else ""), flush=True)
    out["time_to_accuracy"] = tta
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.out}")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
