"""What the benchmark scripts share: a compiled chunk of training epochs of turbjax's core, timed; the PyTorch
peer; and the lines every benchmark prints beside its table (the CPU, the versions, a skipped peer, the ratio
to the best peer)."""

from __future__ import annotations

import importlib
import os
import platform
import time
from importlib import metadata

import jax
import numpy as np


def make_chunk(config, data: dict, epochs: int, image_shape=None):
    """(chunk, first_seconds): chunk() runs `epochs` epochs of make_train(config, data) as one compiled call
    (state donated and kept between calls); first_seconds is the first call's time, compilation included."""
    from turbjax.training.loop import make_train
    from turbjax.training.optimizers import default_hparams

    trainer = make_train(config, data, image_shape=image_shape)
    hp = default_hparams(config.optim)
    run = jax.jit(trainer.run_epochs, static_argnames="num_epochs", donate_argnames="state")
    box = {"state": jax.jit(trainer.init)(hp, jax.random.key(0))}

    def chunk():
        box["state"], m = run(box["state"], hp, num_epochs=epochs, data=data)
        jax.block_until_ready(box["state"])
        return m

    t0 = time.perf_counter()
    chunk()
    return chunk, time.perf_counter() - t0


# ------------------------------------------------------------------------------------- lines beside a table
def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's "model name" from /proc/cpuinfo (platform.processor() or "unknown CPU" where there is
    none)."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def cores() -> int:
    """The cores this process may run on (its affinity mask; os.cpu_count() where that is not known):
    what XLA's CPU backend uses, and the thread count the peers are given."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine_line() -> str:
    """'CPU: <model name>, <n> cores' (and the machine's count when this process may use fewer)."""
    n, total = cores(), os.cpu_count() or 0
    more = f" (of {total} on the machine)" if total and total != n else ""
    return f"CPU: {cpu_model()}, {n} cores{more}"


def versions_line(dists=("jax", "jaxlib")) -> str:
    """'versions: python X, <dist> <version>, ...' read from the installed distributions' metadata (nothing is
    imported); a missing one reads 'not installed'."""
    parts = [f"python {platform.python_version()}"]
    for d in dists:
        try:
            parts.append(f"{d} {metadata.version(d)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{d} not installed")
    return "versions: " + ", ".join(parts)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as one line: its type and the first non-empty line of its message, cut at `limit`
    characters (compiler errors carry whole build logs)."""
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if len(text) > limit:
        text = text[:limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def import_error(module: str) -> str | None:
    """None when `module` imports, else one line saying why not (any exception: a broken install fails in many
    ways, not only with ImportError)."""
    try:
        importlib.import_module(module)
    except Exception as e:
        return one_line(e)
    return None


def skipped_line(peer: str, why) -> str:
    """The one line printed for a peer variant that could not be imported, built or run."""
    why = one_line(why) if isinstance(why, BaseException) else str(why)
    return f"skipped {peer}: {why}"


def ratio_line(peer: str, what: str, turbjax: float | None, best_peer: float | None, *,
               higher_is_better: bool, detail: str = "") -> str:
    """'ratio turbjax/<peer>-best (<what>): X', X > 1 meaning turbjax is faster: the peer's figure over
    turbjax's for times (higher_is_better=False), turbjax's over the peer's for rates (True). 'n/a' when a
    side has no figure (a peer that did not run). `detail` follows in parentheses."""
    head = f"ratio turbjax/{peer}-best ({what}): "
    tail = f" ({detail})" if detail else ""
    ok = all(v is not None and np.isfinite(v) and v > 0 for v in (turbjax, best_peer))
    if not ok:
        return head + "n/a" + tail
    x = turbjax / best_peer if higher_is_better else best_peer / turbjax
    return head + f"{x:.2f}" + tail


# -------------------------------------------------------------------------------------------- PyTorch peer
# The PyTorch settings a practitioner would try on a CPU: name -> (channels_last, torch.compile)
TORCH_VARIANTS = {
    "torch_nchw": (False, False),
    "torch_cl": (True, False),
    "torch_compile": (False, True),
    "torch_compile_cl": (True, True),
}


def evaluated_frames(data: dict) -> np.ndarray:
    """The frames turbjax's epoch evaluates, validation (where the data has a validation part) and test: the
    peers' epochs evaluate the same ones, so both sides do the same work."""
    parts = [data[k] for k in ("X_val", "X_test") if k in data]
    return np.concatenate([np.asarray(p) for p in parts])


def torch_epoch(build_net, x, y, x_test, threads: int | None = None, *, channels_last: bool = False,
                compile: bool = False):
    """The PyTorch peer: (epoch, description), or (None, one line saying why not) when torch cannot be
    imported or this variant fails to build or run (torch.compile's C++ toolchain, for one).

    build_net(torch.nn) -> the network; epoch() trains it one pass in shuffled minibatches of 32 (MSE, fused
    Adam 1e-3, float32) and runs the forward pass over x_test (evaluated_frames: validation and test), as
    turbjax's epoch does. Arrays are copied (torch wants writable ones). channels_last: the model and the
    (4-d) inputs in torch.channels_last memory format; compile: the network through torch.compile (inductor;
    its compilation happens in the warm-up epoch, run here)."""
    try:
        import torch  # optional: only the benchmarks use it, never the tests
    except Exception as e:  # a broken install fails in many ways, not only ImportError: skipped too
        return None, f"torch is not importable ({one_line(e)}); install the CPU build to compare"
    try:
        if threads:
            torch.set_num_threads(threads)
        torch.manual_seed(0)
        net = build_net(torch.nn)
        xs, ys, xt = (torch.from_numpy(np.array(a, np.float32)) for a in (x, y, x_test))
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        if channels_last:
            net = net.to(memory_format=fmt)
            xs, xt = xs.contiguous(memory_format=fmt), xt.contiguous(memory_format=fmt)
        opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
        fwd = torch.compile(net, dynamic=False) if compile else net

        def epoch():
            for idx in torch.randperm(len(xs)).split(32):
                opt.zero_grad(set_to_none=True)
                xb = xs[idx].contiguous(memory_format=fmt) if channels_last else xs[idx]
                torch.nn.functional.mse_loss(fwd(xb), ys[idx]).backward()
                opt.step()
            with torch.no_grad():
                fwd(xt)

        epoch()
    except Exception as e:  # any failure of the peer is one line, not a traceback
        return None, one_line(e)
    how = ", ".join(filter(None, ["channels_last" if channels_last else "NCHW" if xs.dim() == 4 else "",
                                  "torch.compile" if compile else "eager"]))
    return epoch, f"torch {torch.__version__}, {how}, {torch.get_num_threads()} threads, fused Adam"
