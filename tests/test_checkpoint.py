"""Checkpointer: keeps the last k plus the best by test loss; exact round trip; mismatch is an error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.training.checkpoint import Checkpointer, CheckpointMismatchError


def state(width=3):
    return {
        "params": {"dense": {"kernel": jnp.arange(2 * width, dtype=jnp.float32).reshape(2, width)}},
        "epoch": jnp.int32(7),
        "key": jax.random.key_data(jax.random.key(1)),
        "diverged": jnp.bool_(False),
        "diverged_epoch": jnp.int32(-1),
    }


def test_keeps_last_k_and_best_and_round_trips(tmp_path):
    ck = Checkpointer(tmp_path / "ck", keep=2)
    for epoch, loss in [(5, 3.0), (10, 0.5), (15, 2.0), (20, 4.0), (25, float("nan"))]:
        ck.save(epoch, state(), loss)
    ck.close()
    ro = Checkpointer(tmp_path / "ck", read_only=True)
    assert ro.all_steps() == [10, 20, 25] and ro.best_step() == 10 and ro.latest_step() == 25
    restored = ro.restore(jax.eval_shape(state), 25)
    for a, b in zip(jax.tree_util.tree_leaves(restored), jax.tree_util.tree_leaves(state())):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_other_architecture_is_a_clear_error(tmp_path):
    ck = Checkpointer(tmp_path / "ck")
    ck.save(1, state(3), 1.0)
    ck.wait()
    with pytest.raises(CheckpointMismatchError, match=r"params/dense/kernel: checkpoint \(2, 3\) vs model \(2, 4\)"):
        ck.restore(jax.eval_shape(lambda: state(4)), 1)
    ck.close()
