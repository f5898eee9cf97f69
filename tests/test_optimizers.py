"""Optimizers: injected hyperparameters are the traced values, schedules, names."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import default
from turbjax.training.optimizers import default_hparams, make_optimizer, set_hyperparams


def optim(**kw):
    o = default.get_optim_config()
    o.schedule = "constant"
    o.update(kw)
    return o


@pytest.mark.parametrize("name,reference", [
    ("sgd", lambda: optax.sgd(0.1)),
    ("momentum", lambda: optax.sgd(0.1, momentum=0.5)),
    ("adam", lambda: optax.adam(0.1, b1=0.5)),
    ("adamw", lambda: optax.adamw(0.1, b1=0.5, weight_decay=0.01)),
])
def test_injected_optimizer_equals_plain_optax(name, reference):
    params = {"w": jnp.asarray([1.0, -2.0, 3.0])}
    grads = [{"w": jnp.asarray([0.3, -0.1, 0.2]) * (i + 1)} for i in range(3)]
    tx = make_optimizer(optim(name=name), steps_per_epoch=1, num_epochs=3)
    hp = default_hparams(optim()) | {"learning_rate": jnp.float32(0.1), "momentum": jnp.float32(0.5),
                                     "weight_decay": jnp.float32(0.01)}
    state = set_hyperparams(tx.init(params), hp)
    ref = reference()
    ref_state = ref.init(params)
    p, q = params, params
    for g in grads:
        u, state = tx.update(g, state, p)
        p = optax.apply_updates(p, u)
        v, ref_state = ref.update(g, ref_state, q)
        q = optax.apply_updates(q, v)
    np.testing.assert_allclose(p["w"], q["w"], rtol=1e-6)


def test_cosine_schedule_scales_the_traced_learning_rate():
    o = optim(name="sgd", schedule="cosine", final_fraction=0.1)
    tx = make_optimizer(o, steps_per_epoch=2, num_epochs=5)
    params = {"w": jnp.zeros(())}
    state = set_hyperparams(tx.init(params), default_hparams(optim()) | {"learning_rate": jnp.float32(2.0)})
    steps = []
    for _ in range(10):
        u, state = tx.update({"w": jnp.ones(())}, state, params)
        steps.append(-float(u["w"]))
    expected = 2.0 * np.asarray(optax.cosine_decay_schedule(1.0, 10, alpha=0.1)(np.arange(10)))
    np.testing.assert_allclose(steps, expected, rtol=1e-5)


def test_hyperparameters_are_traced_not_baked_in():
    tx = make_optimizer(optim(name="adam"), steps_per_epoch=1, num_epochs=1)
    params = {"w": jnp.ones(3)}

    @jax.jit
    def step(hp):
        state = set_hyperparams(tx.init(params), hp)
        return tx.update({"w": jnp.ones(3)}, state, params)[0]["w"]

    hp = default_hparams(optim())
    a = step(hp | {"learning_rate": jnp.float32(1e-3)})
    b = step(hp | {"learning_rate": jnp.float32(1e-2)})
    np.testing.assert_allclose(b, 10 * a, rtol=1e-5)
    assert step._cache_size() == 1


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="not an optimizer"):
        make_optimizer(optim(name="rmsprop"), steps_per_epoch=1, num_epochs=1)
    with pytest.raises(ValueError, match="schedule"):
        make_optimizer(optim(schedule="step"), steps_per_epoch=1, num_epochs=1)
