"""Losses, metrics, optimizers, the pure training core (`make_train`) and orbax checkpointing."""
