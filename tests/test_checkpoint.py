"""Checkpointer: keeps the last k plus the best by test loss; exact round trip; mismatch is an error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from turbjax.training.checkpoint import CheckpointDamagedError, Checkpointer, CheckpointMismatchError


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
    for a, b in zip(jax.tree_util.tree_leaves(restored), jax.tree_util.tree_leaves(state()), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_other_architecture_is_a_clear_error(tmp_path):
    ck = Checkpointer(tmp_path / "ck")
    ck.save(1, state(3), 1.0)
    ck.wait()
    with pytest.raises(CheckpointMismatchError, match=r"params/dense/kernel: checkpoint \(2, 3\) vs model "
                                                      r"\(2, 4\)"):
        ck.restore(jax.eval_shape(lambda: state(4)), 1)
    ck.close()


# ------------------------------------------------------------------ damaged checkpoints


def numbered(epoch):
    """A state that tells its epoch apart: every leaf depends on it."""
    s = state()
    s["params"]["dense"]["kernel"] = s["params"]["dense"]["kernel"] + epoch
    s["epoch"] = jnp.int32(epoch)
    return s


def assert_same(a, b):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def cut_files(directory, keep=100, only=None):
    """Truncate the files under `directory` (those under `only`, if given) to `keep` bytes: the user's
    damage."""
    root = directory / only if only else directory
    files = [f for f in root.rglob("*") if f.is_file() and f.stat().st_size > keep]
    assert files
    for f in files:
        with open(f, "r+b") as h:
            h.truncate(keep)


def snapshot(directory):
    return {str(f.relative_to(directory)): f.read_bytes() for f in sorted(directory.rglob("*"))
            if f.is_file()}


LOSSES = {2: 3.0, 4: 2.5, 6: 2.0, 8: 0.1, 10: 0.9, 12: 0.8}  # epoch 8 the best: BestN keeps it for ever


def save_all(ck, epochs):
    for e in epochs:
        ck.save(e, numbered(e), LOSSES[e])
    ck.wait()


DAMAGE = {  # name: (what to cut, the reason's words)
    "every file cut to 100 bytes": (None, "_CHECKPOINT_METADATA"),
    "array data cut to 100 bytes": ("default/d", "OUT_OF_RANGE"),
    "metrics file cut to 5 bytes": ("metrics", "metrics/metrics"),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_latest_falls_back_and_later_saves_match_an_undamaged_run(tmp_path, capsys, damage):
    """Epoch 8 (the best by test loss) damaged after it was written: restore_latest_good returns epoch 6,
    moves 8 to damaged/8 byte for byte, and re-saving 8, 10, 12 leaves the same steps and best as a run that
    was never damaged. Left to orbax, the save of 8 raises StepAlreadyExistsError and the damaged 8 stays the
    best."""
    control = Checkpointer(tmp_path / "control", keep=2)
    save_all(control, [2, 4, 6, 8, 10, 12])
    ck = Checkpointer(tmp_path / "ck", keep=2)
    save_all(ck, [2, 4, 6, 8])
    ck.close()
    only, words = DAMAGE[damage]
    cut_files(tmp_path / "ck" / "8", keep=5 if only == "metrics" else 100, only=only)
    damaged = snapshot(tmp_path / "ck" / "8")

    ck = Checkpointer(tmp_path / "ck", keep=2)
    restored, step = ck.restore_latest_good(jax.eval_shape(state))
    assert step == 6
    assert_same(restored, numbered(6))
    out = capsys.readouterr().out.splitlines()
    line = next(x for x in out if "is damaged" in x)
    assert f"epoch 8 in {tmp_path / 'ck' / '8'} is damaged" in line and words in line
    assert f"moved to {tmp_path / 'ck' / 'damaged' / '8'}" in line
    assert any("falling back to the checkpoint at epoch 6" in x for x in out)
    assert ck.all_steps() == [6] and not (tmp_path / "ck" / "8").exists()  # 4 went when 8 was saved

    save_all(ck, [8, 10, 12])
    assert ck.all_steps() == control.all_steps() == [8, 10, 12]
    assert ck.best_step() == control.best_step() == 8
    for s in ck.all_steps():
        assert_same(ck.restore(jax.eval_shape(state), s), numbered(s))
    assert snapshot(tmp_path / "ck" / "damaged" / "8") == damaged  # kept, unchanged, through the deletions
    ck.close()
    control.close()


def test_a_second_damage_of_the_same_epoch_is_kept_beside_the_first(tmp_path):
    ck = Checkpointer(tmp_path / "ck", keep=3)
    save_all(ck, [2, 4])
    for _ in range(2):
        ck.close()
        cut_files(tmp_path / "ck" / "4")
        ck = Checkpointer(tmp_path / "ck", keep=3)
        assert ck.restore_latest_good(jax.eval_shape(state))[1] == 2
        save_all(ck, [4])
    assert sorted(p.name for p in (tmp_path / "ck" / "damaged").iterdir()) == ["4", "4-2"]
    assert_same(ck.restore(jax.eval_shape(state), 4), numbered(4))
    ck.close()


def test_when_no_checkpoint_restores_one_line_names_the_directory_and_nothing_moves(tmp_path):
    ck = Checkpointer(tmp_path / "ck", keep=2)
    save_all(ck, [2, 4, 6])  # keeps 4 and 6
    ck.close()
    for s in (4, 6):
        cut_files(tmp_path / "ck" / str(s))
    before = snapshot(tmp_path / "ck")
    ck = Checkpointer(tmp_path / "ck", keep=2)
    with pytest.raises(CheckpointDamagedError) as err:
        ck.restore_latest_good(jax.eval_shape(state))
    msg = str(err.value)
    assert "\n" not in msg
    assert msg.startswith(f"no checkpoint in {tmp_path / 'ck'} restores (epoch 6: ")
    assert "epoch 4: " in msg and "nothing was moved or deleted" in msg and "another --workdir" in msg
    assert snapshot(tmp_path / "ck") == before and ck.all_steps() == [4, 6]
    ck.close()


def test_restoring_a_damaged_step_read_only_names_it_and_the_others(tmp_path):
    """evaluate.py's path: a read-only Checkpointer, one chosen step."""
    ck = Checkpointer(tmp_path / "ck", keep=3)
    save_all(ck, [2, 4, 6])
    ck.close()
    cut_files(tmp_path / "ck" / "6")
    before = snapshot(tmp_path / "ck")
    ro = Checkpointer(tmp_path / "ck", read_only=True)
    with pytest.raises(CheckpointDamagedError, match=r"epoch 6 in .*ck/6 is damaged .*_METADATA.* epochs "
                                                     r"\[2, 4\]"):
        ro.restore(jax.eval_shape(state), 6)
    with pytest.raises(FileNotFoundError, match=r"no checkpoint at epoch 5; it holds epochs \[2, 4, 6\]"):
        ro.restore(jax.eval_shape(state), 5)
    assert_same(ro.restore(jax.eval_shape(state), 4), numbered(4))
    _, step = ro.restore_latest_good(jax.eval_shape(state))  # falls back, moves nothing
    assert step == 4 and snapshot(tmp_path / "ck") == before
    ro.close()


def test_no_checkpoint_at_all_is_none(tmp_path):
    ck = Checkpointer(tmp_path / "ck")
    assert ck.restore_latest_good(jax.eval_shape(state)) == (None, None)
    ck.close()
