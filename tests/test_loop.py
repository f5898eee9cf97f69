"""The training core: chunking/resume invariance, vmap == separate runs, no recompiles, divergence masking,
every sample used, linear regression by gradient descent == closed-form ridge; the lifted pieces alone (the
epoch's padded permutation, the divergence undo)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from train_helpers import standardized_data, vorticity_arrays
from turbjax.configs.schema import with_overrides
from turbjax.models.ridge import ridge_fit
from turbjax.training.loop import all_finite, epoch_batches, epoch_is_good, make_train, undo_if_diverged
from turbjax.training.optimizers import default_hparams, set_hyperparams


@pytest.fixture(scope="module")
def data():
    x, y = vorticity_arrays()
    return standardized_data(x, y)


def small_config(overrides=None):
    """The default config, small; `overrides` ({"section.field": value}) on top."""
    c = default.get_config()
    c.model.hidden = (16, 8)
    c.training.batch_size = 10  # 96 training rows: 9 full batches + one of 6 (+ 4 masked padding rows)
    c.training.epochs = 6
    return with_overrides(c, overrides or {})


@pytest.fixture(scope="module")
def core(data):
    """One trainer and its compiled programs, shared by the tests below (compiling dominates their time)."""
    c = small_config()
    t = make_train(c, data)
    return {
        "config": c,
        "trainer": t,
        "hp": default_hparams(c.optim),
        "train": jax.jit(t.train),
        "run": jax.jit(t.run_epochs, static_argnames="num_epochs"),
        "init": jax.jit(t.init),
    }


def tree_equal(a, b):
    return all(
        jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda u, v: bool(jnp.array_equal(u, v)), a, b))
    )


def test_chunked_run_epochs_equals_one_train_call(core, data):
    hp, key = core["hp"], jax.random.key(3)
    full, m_full = core["train"](hp, key, data)
    state = core["init"](hp, key)
    losses = []
    for _ in range(2):  # two chunks of 3 epochs (a resume at epoch 3) == one scan over 6
        state, m = core["run"](state, hp, num_epochs=3, data=data)
        losses.append(m["train_loss"])
    assert int(state["epoch"]) == 6 and not bool(state["diverged"])
    assert tree_equal(state["params"], full["params"])
    assert tree_equal(state["opt_state"], full["opt_state"])
    np.testing.assert_array_equal(np.concatenate(losses), m_full["train_loss"])
    assert m_full["train_loss"][-1] < m_full["train_loss"][0]


def test_vmapped_learning_rates_equal_separate_runs(core, data):
    t, hp = core["trainer"], core["hp"]
    lrs = jnp.asarray([1e-3, 3e-2], jnp.float32)
    keys = jax.random.split(jax.random.key(0), 2)
    hp_T = {k: jnp.broadcast_to(v, (2,)) for k, v in hp.items()} | {"learning_rate": lrs}
    sweep, m_sweep = jax.jit(jax.vmap(t.train, in_axes=(0, 0, None)))(hp_T, keys, data)
    for i in range(2):
        s, m = core["train"](hp | {"learning_rate": lrs[i]}, keys[i], data)
        for a, b in zip(jax.tree_util.tree_leaves(s["params"]), jax.tree_util.tree_leaves(sweep["params"]),
                        strict=True):
            np.testing.assert_allclose(b[i], a, rtol=2e-4, atol=2e-5)
        np.testing.assert_allclose(m_sweep["test_r2"][i], m["test_r2"], rtol=1e-4, atol=1e-5)
    assert not np.allclose(m_sweep["train_loss"][0], m_sweep["train_loss"][1])  # the two runs differ


def test_changing_hyperparameter_values_does_not_recompile(core, data):
    run, hp = core["run"], core["hp"]
    state = core["init"](hp, jax.random.key(0))
    run(state, hp, num_epochs=3, data=data)
    size = run._cache_size()
    for lr, l2 in ((1e-2, 0.0), (3e-4, 1e-3)):
        run(state, hp | {"learning_rate": jnp.float32(lr), "l2": jnp.float32(l2)}, num_epochs=3, data=data)
    assert run._cache_size() == size
    assert core["init"]._cache_size() == 1


def test_every_training_sample_counts_once_per_epoch(core, data):
    # learning rate 0: each epoch's train loss is the mean loss of all N rows at the initial parameters,
    # which holds only if every row appears exactly once and the padded rows weigh nothing.
    t, hp = core["trainer"], core["hp"] | {"learning_rate": jnp.float32(0.0)}
    assert t.steps_per_epoch == 10 and t.num_train == 96
    state0 = core["init"](hp, jax.random.key(1))
    _, m = core["run"](state0, hp, num_epochs=3, data=data)
    expected = t.evaluate(state0["params"], data["X_train"], data["y_train"])["loss"]
    np.testing.assert_allclose(m["train_loss"], np.full(3, expected), rtol=1e-5)


def test_divergence_is_flagged_and_masked(data):
    c = small_config({"optim.name": "sgd", "optim.momentum": 0.0, "training.epochs": 3})
    t = make_train(c, data)
    train = jax.jit(t.train)
    hp = default_hparams(c.optim) | {"learning_rate": jnp.float32(1e3)}
    state, m = train(hp, jax.random.key(0), data)
    assert bool(state["diverged"]) and int(state["diverged_epoch"]) == 0
    assert all(np.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(state))
    assert np.isnan(m["train_loss"]).all() and m["diverged"].all()
    # frozen: more epochs change nothing
    state2, _ = jax.jit(t.run_epochs, static_argnames="num_epochs")(state, hp, num_epochs=3, data=data)
    assert tree_equal(state2["params"], state["params"]) and int(state2["diverged_epoch"]) == 0
    # a sane learning rate in the same compiled program does not diverge
    ok, m_ok = train(hp | {"learning_rate": jnp.float32(1e-2)}, jax.random.key(0), data)
    assert (
        not bool(ok["diverged"]) and int(ok["diverged_epoch"]) == -1 and np.isfinite(m_ok["train_loss"]).all()
    )


def test_a_divergent_epoch_is_undone_back_to_the_last_good_epoch(data):
    """Two good epochs, then one whose learning rate blows up: the state is the one after the good epochs
    (parameters and Adam moments), flagged with the epoch in which it diverged (0-based: 2)."""
    c = small_config({"training.epochs": 3})
    t = make_train(c, data)
    run = jax.jit(t.run_epochs, static_argnames="num_epochs")
    hp = default_hparams(c.optim)
    good, _ = run(t.init(hp, jax.random.key(0)), hp, num_epochs=2, data=data)
    hp_bad = hp | {"learning_rate": jnp.float32(1e30)}
    bad, m = run(good, hp_bad, num_epochs=1, data=data)
    assert bool(bad["diverged"]) and int(bad["diverged_epoch"]) == 2 and int(bad["epoch"]) == 3
    assert np.isnan(m["train_loss"]).all()
    # the optimizer state keeps its moments and count; its injected hyperparameters mirror the last call's
    assert tree_equal(bad["params"], good["params"])
    assert tree_equal(bad["opt_state"], set_hyperparams(good["opt_state"], hp_bad))


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_linear_regression_converges_to_closed_form_ridge(optimizer):
    rng = np.random.default_rng(0)
    n, f = 200, 6
    x = rng.normal(size=(n, f)).astype(np.float32) * np.linspace(0.5, 2.0, f, dtype=np.float32)
    y = (x @ rng.normal(size=f) + 0.3 + 0.1 * rng.normal(size=n)).astype(np.float32)[:, None]
    d = {
        "X_train": jnp.asarray(x),
        "y_train": jnp.asarray(y),
        "X_test": jnp.asarray(x[:20]),
        "y_test": jnp.asarray(y[:20]),
    }
    l2 = 0.05
    c = default.get_config()
    c.model.name = "linear"
    c.optim.name = optimizer
    c.optim.momentum = 0.0
    c.optim.schedule = "constant"
    c.training.batch_size = n  # full batch: plain gradient descent
    c.training.epochs = 400 if optimizer == "sgd" else 30
    lr = 0.2 if optimizer == "sgd" else 1.0
    hp = default_hparams(c.optim) | {"learning_rate": jnp.float32(lr), "l2": jnp.float32(l2)}
    t = make_train(c, d)
    state, _ = jax.jit(t.train)(hp, jax.random.key(0))
    ridge = ridge_fit(x, y, alpha=n * l2)  # (1/2N)||r||^2 + l2/2 ||w||^2  <=>  ||r||^2 + N l2 ||w||^2
    w = np.asarray(state["params"]["params"]["dense"]["kernel"]).T  # stored (out, in)
    b = np.asarray(state["params"]["params"]["dense"]["bias"])
    np.testing.assert_allclose(w, ridge.coef, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b, ridge.intercept, rtol=1e-4, atol=1e-5)


# --- the lifted pieces, alone -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "batch"), [(96, 10), (96, 96), (96, 1), (7, 10), (12, 4)])
def test_epoch_batches_use_every_row_once_and_pad_with_weight_zero(n, batch):
    key = jax.random.key_data(jax.random.key(5))
    idx, w = epoch_batches(key, jnp.int32(3), n, batch)
    steps = -(-n // batch)
    assert idx.shape == w.shape == (steps, batch) and idx.dtype == jnp.int32 and w.dtype == jnp.float32
    idx, w = np.asarray(idx).ravel(), np.asarray(w).ravel()
    np.testing.assert_array_equal(np.sort(idx[w == 1]), np.arange(n))  # every row exactly once, weight 1
    assert np.all(w[n:] == 0) and np.all(idx[n:] == 0) and np.all(w[:n] == 1)  # padding: row 0, weight 0


def test_epoch_batches_order_depends_only_on_key_and_epoch():
    k1, k2 = (jax.random.key_data(jax.random.key(s)) for s in (1, 2))
    a = epoch_batches(k1, jnp.int32(4), 50, 8)[0]
    assert np.array_equal(a, epoch_batches(k1, jnp.int32(4), 50, 8)[0])
    assert not np.array_equal(a, epoch_batches(k1, jnp.int32(5), 50, 8)[0])
    assert not np.array_equal(a, epoch_batches(k2, jnp.int32(4), 50, 8)[0])
    # the permutation is fold_in(key, epoch)'s, so it can be reproduced independently of the function
    perm = jax.random.permutation(jax.random.fold_in(jax.random.wrap_key_data(k1), 4), 50)
    np.testing.assert_array_equal(np.asarray(a).ravel()[:50], perm)
    ordered, w = epoch_batches(k1, jnp.int32(4), 50, 50, shuffle=False)  # full batch (L-BFGS): rows in order
    np.testing.assert_array_equal(ordered, np.arange(50)[None])
    np.testing.assert_array_equal(w, np.ones((1, 50)))


def test_undo_if_diverged_returns_exactly_the_old_state_or_the_new_one():
    old = {"w": jnp.arange(4.0), "count": jnp.int32(3), "m": (jnp.ones((2, 2)),)}
    new = {"w": jnp.asarray([1.0, jnp.nan, jnp.inf, 2.0]), "count": jnp.int32(4), "m": (jnp.zeros((2, 2)),)}
    assert tree_equal(undo_if_diverged(jnp.bool_(False), new, old), old)
    undone_not = undo_if_diverged(jnp.bool_(True), new, old)
    assert all(
        np.array_equal(a, b, equal_nan=True)
        for a, b in zip(jax.tree.leaves(undone_not), jax.tree.leaves(new), strict=True)
    )


def test_epoch_is_good_needs_finite_losses_parameters_and_a_clean_history():
    params, opt = {"w": jnp.ones(3)}, (jnp.int32(7), {"mu": jnp.zeros(3)})
    finite = jnp.ones(4)
    assert bool(epoch_is_good(jnp.bool_(False), finite, params, opt))
    assert not bool(epoch_is_good(jnp.bool_(True), finite, params, opt))  # once diverged, always undone
    assert not bool(epoch_is_good(jnp.bool_(False), finite.at[2].set(jnp.nan), params, opt))
    assert not bool(epoch_is_good(jnp.bool_(False), finite, {"w": jnp.asarray([1.0, jnp.inf, 0.0])}, opt))
    assert not bool(
        epoch_is_good(jnp.bool_(False), finite, params, (jnp.int32(7), {"mu": jnp.full(3, jnp.nan)}))
    )
    assert bool(all_finite({"n": jnp.int32(-1)}))  # integer leaves (step counts) are not judged


def test_a_batch_larger_than_the_training_set_is_one_padded_minibatch(data):
    """The batch-size rule is the pipeline's (check_batch_size); the core itself stays correct past it: with
    learning rate 0 the epoch's train loss is the loss of all rows at the initial parameters."""
    c = small_config({"training.batch_size": 500, "training.epochs": 1})
    t = make_train(c, data)
    assert t.steps_per_epoch == 1 and t.batch_size == 500
    hp = default_hparams(c.optim) | {"learning_rate": jnp.float32(0.0)}
    state0 = t.init(hp, jax.random.key(0))
    _, m = jax.jit(t.train)(hp, jax.random.key(0), data)
    expected = t.evaluate(state0["params"], data["X_train"], data["y_train"])["loss"]
    np.testing.assert_allclose(m["train_loss"], [expected], rtol=1e-6)
