"""The course's batch-size study: MLP (100, 100), relu, Adam 1e-3, batch sizes 2, 32 and 512.

    python -m turbjax.sweep --config configs/sweep_batch.py --workdir runs/sweep_batch

Base config: configs/default.py (seed data set: 1920 training samples, random 80/20 split), 100 epochs. The
batch size sets the number of steps per epoch (960, 60 and 4), so each batch size is its own compiled group
(run one after another; tqdm counts the epochs of all groups). Padding every trial to one common program was
rejected: it would run 960 steps of 512 rows per epoch for every trial (see turbjax/sweep/__init__.py).

Outputs in the workdir: results.json, the printed table, loss_curves.png (docs/sweep_batch.png is a copy) and
the best trial under best/.

Expected (the course's finding): per epoch, small batches make more progress (more updates) but each epoch
costs far more; batch 2 is noisy, batch 512 converges slowest per epoch; batch 32 is the course's compromise.
Measured on the seed data (constant 1e-3, 100 epochs, 71 s in all on a 2-core CPU): batch 2: 44.7 s, final
train loss 0.0020, test R^2 0.9974; batch 32: 8.1 s, 0.0025, 0.9981; batch 512: 5.1 s, 0.0043, 0.9899 (it
reached the lowest loss, 1e-4, around epoch 50 and lost it again). Figure: docs/sweep_batch.png."""

from turbjax.sweep.axes import base_config, sweep_section


def get_config():
    c = base_config()  # the default config (configs/default.py's fields)
    c.optim.schedule = "constant"  # the course's studies used a constant learning rate
    c.sweep = sweep_section(batch_size=(2, 32, 512))
    return c
