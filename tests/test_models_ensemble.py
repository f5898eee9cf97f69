"""Deep ensembles (config.model.members): the members are independent copies of one model, the ensemble's
output is their mean, each trains as it would alone (the training objective is the sum of the members'
losses, so each member's gradient is its own, penalties included), a training run with members > 1 is one
model for everything downstream (results, the estimates library), and bad values are refused in one line."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import test as test_config
from conftest import write_quick_grid_synthetic
from train_helpers import standardized_data, vorticity_arrays
from turbjax import estimates
from turbjax.configs import default
from turbjax.configs.schema import with_overrides
from turbjax.configs.validate import validate_config
from turbjax.models import MLP, Ensemble, build_model, member_outputs
from turbjax.training.loop import make_train
from turbjax.training.optimizers import default_hparams, set_hyperparams

M = 3


def mlp_config(members: int = M):
    c = default.get_config().model
    c.hidden, c.members = (8, 8), members
    return c


def member(params, m: int):
    """Member m's parameters in the single model's tree."""
    return {"params": jax.tree.map(lambda a: a[m], params["params"]["base"])}


@pytest.fixture(scope="module")
def ensemble():
    model = build_model(mlp_config(), num_outputs=1)
    params = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 5)))
    x = jnp.asarray(np.random.default_rng(0).normal(size=(16, 5)), jnp.float32)
    return model, params, x


def test_members_one_builds_the_plain_model_and_more_an_ensemble_of_it():
    assert isinstance(build_model(mlp_config(1), num_outputs=1), MLP)
    model = build_model(mlp_config(), num_outputs=1)
    assert isinstance(model, Ensemble) and model.members == M and isinstance(model.base, MLP)


def test_members_are_distinct_copies_and_the_output_is_their_mean(ensemble):
    model, params, x = ensemble
    single = MLP(hidden=(8, 8))
    outs = [single.apply(member(params, m), x) for m in range(M)]
    for a in range(M):
        for b in range(a + 1, M):
            assert not np.allclose(member(params, a)["params"]["hidden_0"]["kernel"],
                                   member(params, b)["params"]["hidden_0"]["kernel"])
    np.testing.assert_allclose(member_outputs(model, params, x), np.stack(outs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.apply(params, x), np.mean(outs, axis=0), rtol=1e-5, atol=1e-6)


def test_each_member_trains_as_it_would_alone():
    """make_train with members = 2, two epochs of Adam with an l2 penalty: each member ends where the single
    model's trainer takes the same initial parameters (same minibatches: the run's data key)."""
    x, y = vorticity_arrays(frames=12, crop=6)
    data = standardized_data(x, y, val_every=4)
    c = with_overrides(test_config.get_config(), {"model.hidden": (8,), "model.members": 2,
                                                  "training.batch_size": 8, "training.epochs": 2})
    hp = default_hparams(c.optim) | {"l2": jnp.float32(1e-2)}
    ens = make_train(c, data)
    state = ens.init(hp, jax.random.PRNGKey(1))
    start = state["params"]
    ens_state, _ = ens.run_epochs(state, hp, 2)
    single = make_train(with_overrides(c, {"model.members": 1}), data)
    for m in range(2):
        p = member(start, m)
        s = dict(state, params=p, opt_state=set_hyperparams(single.tx.init(p), hp))
        alone, _ = single.run_epochs(s, hp, 2)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6),
                     member(ens_state["params"], m), alone["params"])


@pytest.mark.parametrize("overrides, match", [
    ({"model.members": 0}, "config.model.members=0"),
    ({"model.name": "logistic", "model.members": 2}, "config.model.members=2"),
])
def test_bad_members_are_refused_in_one_line(overrides, match):
    with pytest.raises(ValueError, match=match) as err:
        validate_config(with_overrides(test_config.get_config(), overrides))
    assert "\n" not in str(err.value)


def test_a_training_run_of_an_ensemble_is_one_model_downstream(tmp_path):
    from turbjax.train import train_and_evaluate

    data = write_quick_grid_synthetic(tmp_path / "data", (300.0, 600.0, 900.0, 1200.0), frames=40)
    c = with_overrides(test_config.get_config(), {
        "data.dir": str(data), "data.split": "time", "data.gap": 1, "data.log_target": True,
        "data.features": "gradstats", "model.hidden": (16,), "model.members": 2, "training.epochs": 4,
        "training.plots": False,
    })
    results = train_and_evaluate(c, tmp_path / "run")
    assert results["selected_on"] == "validation" and np.isfinite(results["test_r2"])
    model = estimates.load_model(tmp_path / "run")
    assert jax.tree.leaves(model.params)[0].shape[0] == 2
    x = jnp.zeros((3, 7), jnp.float32)
    per_member = member_outputs(build_model(model.config.model, num_outputs=1), model.params, x)
    np.testing.assert_allclose(model.predict(model.params, x), per_member.mean(axis=0), rtol=1e-5, atol=1e-6)
    # its intervals are scaled by the members' spread: per frame, log(high / low) = (q_hi - q_lo) * spread
    cal = model.calibration
    assert cal.scaled and cal.frame_spread.shape == cal.frame.shape and np.all(cal.frame_spread > 0)
    # (the tiny synthetic run lies outside the training distribution: intervals drawn without the flag)
    e = estimates.estimate_run(model._replace(novelty=None), sorted(data.glob("*.npz"))[0])
    log_width = np.log(e.frames[:, 2] / e.frames[:, 1])
    off = cal.offsets()
    spread = log_width / (off.hi - off.lo)
    assert np.all(spread > 0) and np.ptp(spread) > 0  # a width of its own per frame
    assert e.low is not None and e.low < e.high
