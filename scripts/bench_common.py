"""What the benchmark scripts share: a compiled chunk of training epochs of turbjax's core, timed."""

from __future__ import annotations

import time

import jax


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
