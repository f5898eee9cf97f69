"""What the benchmark scripts share: a compiled chunk of training epochs of turbjax's core, timed."""

from __future__ import annotations

import time

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


def torch_epoch(build_net, x, y, x_test, threads: int | None = None):
    """The PyTorch peer: (epoch, description), or (None, why not) when torch is not importable.

    build_net(torch.nn) -> the network; epoch() trains it one pass in shuffled minibatches of 32 (MSE, fused
    Adam 1e-3, float32) and runs the test-set forward pass, as turbjax's epoch does. Arrays are copied (torch
    wants writable ones); one warm-up epoch is run here."""
    try:
        import torch  # optional: only the benchmarks use it, never the tests
    except ImportError as e:
        return None, f"torch is not importable ({e}); install the CPU build to compare"
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = build_net(torch.nn)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)
    xs, ys, xt = (torch.from_numpy(np.array(a, np.float32)) for a in (x, y, x_test))

    def epoch():
        for idx in torch.randperm(len(xs)).split(32):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.mse_loss(net(xs[idx]), ys[idx]).backward()
            opt.step()
        with torch.no_grad():
            net(xt)

    epoch()
    return epoch, f"torch {torch.__version__}, {torch.get_num_threads()} threads, fused Adam"
