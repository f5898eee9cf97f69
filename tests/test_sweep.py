"""Sweeps: every trial of the vmapped sweep == the same config trained alone (train.py's path); a diverging
trial is flagged and leaves the others exactly as in a sweep without it; sharded over 4 devices == one device
(padding discarded); outputs (results.json, curves, best checkpoint); config validation and layout."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from configs import default
from train_helpers import standardized_data, vorticity_arrays
from turbjax import sweep
from turbjax.training.checkpoint import Checkpointer
from turbjax.training.loop import make_train
from turbjax.training.optimizers import HPARAM_NAMES, default_hparams

ROOT = Path(__file__).resolve().parent.parent
BAD_LR = 1000.0  # diverges with plain SGD on these data in the first epoch, for every seed
LRS = (BAD_LR, 0.05, 0.01)
SEEDS = (0, 1)
EPOCHS = 4


def pythonpath(*dirs) -> str:
    """PYTHONPATH for a subprocess: `dirs` before the current one."""
    return os.pathsep.join(filter(None, [*map(str, dirs), os.environ.get("PYTHONPATH")]))


def sweep_config(lrs=LRS, seeds=SEEDS, **sweep_kw):
    c = default.get_config()
    c.model.hidden = (16, 8)
    c.optim.name = "sgd"
    c.optim.momentum = 0.0
    c.training.batch_size = 10  # 72 training rows: 7 full batches + one of 2
    c.training.epochs = EPOCHS
    c.training.epochs_per_chunk = 2
    c.sweep = sweep.sweep_section(learning_rate=lrs, seed=seeds, **sweep_kw)
    return c


@pytest.fixture(scope="module")
def data():
    x, y = vorticity_arrays()
    return standardized_data(x, y, val_every=4)


@pytest.fixture(scope="module")
def full(data, tmp_path_factory):
    """The 6-trial sweep (lr x seed, the lr-1.0 trials diverge), with its outputs written."""
    workdir = tmp_path_factory.mktemp("sweep")
    c = sweep_config()
    results = sweep._run_and_write(c, workdir, data, progress=False)
    return c, workdir, results


_SINGLE: dict = {}


def single_run(config, data, trial):
    """One trial trained alone, the way turbjax.train does it: jit(init), then jit(run_epochs) per chunk (the
    trials here differ only in traced values, so one trainer and one compilation serve them all)."""
    c = sweep.trial_config(config, trial)
    if "t" not in _SINGLE:
        t = make_train(c, data)
        _SINGLE.update(t=t, init=jax.jit(t.init),
                       run=jax.jit(t.run_epochs, static_argnames="num_epochs", donate_argnames="state"))
    hp = default_hparams(c.optim)
    state = _SINGLE["init"](hp, jax.random.key(int(c.training.seed)))
    losses = []
    for _ in range(EPOCHS // 2):
        state, m = _SINGLE["run"](state, hp, num_epochs=2, data=data)
        losses.append(np.asarray(m["train_loss"]))
    return jax.device_get(state), np.concatenate(losses)


def assert_tree_close(a, b, rtol=2e-4, atol=2e-5):
    la, lb = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    assert len(la) == len(lb) > 0
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def test_each_trial_equals_the_same_config_trained_alone(full, data):
    c, _, results = full
    trials = sweep.trials_of(c)
    # the states (not kept by _run_and_write), from the same sweep run one trial per program: the core without
    # vmap, one compiled program for the 6 trials (what the automatic trials_per_program picks for big models
    # on a CPU); it gives the same trials as the vmapped sweep
    blocked = sweep_config(trials_per_program=1)
    groups = sweep.sweep_arrays(blocked, data, progress=False)[1]
    assert len(groups) == 6 and all(g.layout.index.shape == (1, 1) for g in groups)
    res_blocked = sweep.summarize(blocked, sweep.trials_of(blocked), groups, wall_seconds=0, devices=[])
    for a, b in zip(results["trials"], res_blocked["trials"], strict=True):
        assert (a["diverged"], a["diverged_epoch"]) == (b["diverged"], b["diverged_epoch"])
        np.testing.assert_allclose(np.array(a["curves"]["test_loss"], float),
                                   np.array(b["curves"]["test_loss"], float), rtol=1e-5, atol=1e-7)
    for i in (2, 3, 4, 5):  # the trials that do not diverge (lr 0.05, 0.01; seeds 0, 1; seed fastest)
        state, losses = single_run(c, data, trials[i])
        st, _ = sweep.trial_state(groups, i)
        assert_tree_close(st["params"], state["params"])
        rec = results["trials"][i]
        np.testing.assert_allclose(rec["curves"]["train_loss"], losses, rtol=2e-4, atol=1e-6)
        assert rec["learning_rate"] == pytest.approx(trials[i]["learning_rate"])
        assert rec["seed"] == trials[i]["seed"]
    # trials differ (the sweep is not one trial repeated)
    assert results["trials"][2]["final_train_loss"] != results["trials"][3]["final_train_loss"]
    assert results["trials"][2]["final_train_loss"] != results["trials"][4]["final_train_loss"]


def test_diverged_trial_is_flagged_and_does_not_touch_the_others(full, data):
    _, _, results = full
    recs = results["trials"]
    for r in recs:
        bad = r["learning_rate"] == BAD_LR
        assert r["diverged"] is bad, r
        if bad:
            assert r["diverged_epoch"] == 1 and r["final_train_loss"] is None
        else:
            assert r["diverged_epoch"] is None and np.isfinite(r["final_train_loss"])
    assert recs[results["best_trial"]]["diverged"] is False
    # the same sweep without the bad learning rate: the other trials are the same
    c2 = sweep_config(lrs=LRS[1:])
    res2 = sweep.summarize(c2, *sweep.sweep_arrays(c2, data, progress=False), wall_seconds=0, devices=[])
    good = [r for r in recs if not r["diverged"]]
    assert len(good) == len(res2["trials"]) == 4
    for a, b in zip(good, res2["trials"], strict=True):
        assert (a["learning_rate"], a["seed"]) == (b["learning_rate"], b["seed"])
        np.testing.assert_allclose(a["curves"]["train_loss"], b["curves"]["train_loss"], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(a["test_r2"], b["test_r2"], rtol=1e-5, atol=1e-6)


def test_outputs_results_json_curves_and_best_checkpoint(full):
    _, workdir, results = full
    on_disk = json.loads((workdir / "results.json").read_text())
    assert on_disk["num_trials"] == len(on_disk["trials"]) == 6
    assert [r["trial"] for r in on_disk["trials"]] == list(range(6))
    for r in on_disk["trials"]:
        keys = {"learning_rate", "seed", "final_train_loss", "test_r2", "diverged", "diverged_epoch"}
        assert keys <= set(r)
        assert len(r["curves"]["train_loss"]) == EPOCHS
    assert on_disk["groups"][0]["grid"] == [2, 3] and on_disk["groups"][0]["padding_trials"] == 0
    assert (workdir / "loss_curves.png").stat().st_size > 10_000
    assert (workdir / "config.json").is_file()
    # the best trial as a turbjax.train workdir: its config and a restorable checkpoint of its final state
    best = results["trials"][results["best_trial"]]
    bdir = workdir / "best"
    bconf = json.loads((bdir / "config.json").read_text())
    assert "sweep" not in bconf
    assert bconf["optim"]["learning_rate"] == pytest.approx(best["learning_rate"])
    assert bconf["training"]["seed"] == best["seed"]
    ckpt = Checkpointer(bdir / "checkpoints", read_only=True)
    assert ckpt.best_step() == EPOCHS
    tree = ckpt.manager.restore(EPOCHS)
    ckpt.close()
    assert int(tree["epoch"]) == EPOCHS and not bool(tree["diverged"])
    # chosen on validation, never on test
    assert results["selected_on"] == "validation"
    assert best["final_val_loss"] == min(r["final_val_loss"] for r in results["trials"] if not r["diverged"])


SHARDED_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import jax, numpy as np
    from train_helpers import standardized_data, vorticity_arrays
    from test_sweep import sweep_config
    from turbjax import sweep
    assert jax.device_count() == 4, jax.devices()
    data = standardized_data(*vorticity_arrays())
    c = sweep_config()
    out = {}
    for name, devices in (("sharded", jax.devices()), ("one", jax.devices()[:1])):
        trials, groups = sweep.sweep_arrays(c, data, devices=devices, progress=False)
        res = sweep.summarize(c, trials, groups, wall_seconds=0, devices=devices)
        out[name] = {"trials": res["trials"], "groups": res["groups"]}
    print("RESULT" + json.dumps(out))
    """
)


def test_sharded_over_4_devices_equals_one_device(tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="4",
               PYTHONPATH=pythonpath(ROOT, ROOT / "tests"))
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.split("RESULT", 1)[1])
    g = out["sharded"]["groups"][0]
    # 2 seeds x 3 lrs on 4 devices: a 2 x 2 mesh, the grid padded to 2 x 4 (2 padding trials, never reported)
    assert g["mesh"] == {"seeds": 2, "trials": 2} and g["grid"] == [2, 4] and g["padding_trials"] == 2
    assert out["one"]["groups"][0]["padding_trials"] == 0
    a, b = out["sharded"]["trials"], out["one"]["trials"]
    assert [r["trial"] for r in a] == [r["trial"] for r in b] == list(range(6))
    for ra, rb in zip(a, b, strict=True):
        assert ra["diverged"] == rb["diverged"] and ra["diverged_epoch"] == rb["diverged_epoch"]
        for k in ("train_loss", "test_loss", "test_r2"):
            np.testing.assert_allclose(
                np.array(ra["curves"][k], float), np.array(rb["curves"][k], float), rtol=1e-5, atol=1e-6
            )


# ------------------------------------------------------------------------------------- config and layout


def test_grid_and_zip_trials_and_trial_config():
    c = sweep_config(lrs=(0.1, 0.01), seeds=(0, 1, 2), hidden=((4,), (8, 8)))
    trials = sweep.trials_of(c)
    assert len(trials) == 12
    # shape axes outermost, so each shape is a contiguous block; seed fastest
    assert trials[0] == {"hidden": (4,), "learning_rate": 0.1, "seed": 0}
    assert trials[1] == {"hidden": (4,), "learning_rate": 0.1, "seed": 1}
    assert trials[6]["hidden"] == (8, 8)
    tc = sweep.trial_config(c, trials[7])
    assert "sweep" not in tc and tc.model.hidden == (8, 8) and tc.training.seed == 1
    assert tc.optim.learning_rate == 0.1 and c.optim.learning_rate == 1e-3  # the sweep config is untouched
    z = sweep_config(lrs=(0.1, 0.01, 0.001), seeds=(5, 6, 7), mode="zip")
    lrs, seeds = (0.1, 0.01, 0.001), (5, 6, 7)
    assert sweep.trials_of(z) == [{"learning_rate": lr, "seed": s} for lr, s in zip(lrs, seeds, strict=True)]


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"mode": "zip"}, "same length"),  # 3 lrs, 2 seeds
        ({"mode": "product"}, "mode"),
        ({"seeds": (0, -1)}, "seed"),
        ({"lrs": (0.1, float("nan"))}, "learning_rate"),
        ({"hidden": ((10, 0),)}, "hidden"),
        ({"batch_size": (0,)}, "batch_size"),
    ],
)
def test_bad_sweep_configs_fail_early_with_the_value(kw, match):
    lrs, seeds = kw.pop("lrs", LRS), kw.pop("seeds", SEEDS)
    with pytest.raises(ValueError, match=match):
        sweep.trials_of(sweep_config(lrs=lrs, seeds=seeds, **kw))


def test_unknown_sweep_field_is_named():
    c = sweep_config()
    c.sweep.learning_rates = (0.1,)
    with pytest.raises(ValueError, match="learning_rates.*did you mean learning_rate"):
        sweep.trials_of(c)


# one valid and one invalid value per axis, and where each axis must land in the training config
AXIS_CASES = {
    "batch_size": (7, 0, ("training", "batch_size")),
    "hidden": ((3, 5), (3, 0), ("model", "hidden")),
    "learning_rate": (0.25, -1.0, ("optim", "learning_rate")),
    "weight_decay": (0.5, float("inf"), ("optim", "weight_decay")),
    "momentum": (0.75, -0.5, ("optim", "momentum")),
    "l2": (1.5, float("nan"), ("optim", "l2")),
    "l1": (2.5, True, ("optim", "l1")),
    "seed": (9, -1, ("training", "seed")),
}


def test_the_axis_table_drives_trial_config_validation_records_and_labels():
    from turbjax.sweep.axes import hyperparameters

    assert set(sweep.AXES) == set(AXIS_CASES)
    c = sweep_config()
    for name, (good, bad, (section, field)) in AXIS_CASES.items():
        tc = sweep.trial_config(c, {name: good})
        assert tc[section][field] == good and type(tc[section][field]) is type(good), name
        assert c[section][field] != good  # the sweep config is untouched
        rec = hyperparameters(tc)
        assert rec[name] == (list(good) if isinstance(good, tuple) else good)
        others = {k: v for k, v in rec.items() if k != name}
        assert others == {k: v for k, v in hyperparameters(sweep.trial_config(c, {})).items() if k != name}
        short = sweep.AXIS[name].short
        label = sweep.trial_label({"trial": 0, "swept": {name: rec[name]}, "diverged": False})
        assert label == (f"{short}={good:g}" if isinstance(good, float) else f"{short}={good}")
        cfg = sweep_config(lrs=(), seeds=())
        cfg.sweep[name] = (good,)
        assert sweep.trials_of(cfg) == [{name: good}]
        cfg.sweep[name] = (good, bad)
        with pytest.raises(ValueError, match=f"config.sweep.{name}=.*{re.escape(repr(bad))} is not valid"):
            sweep.trials_of(cfg)
    # traced axes are the training core's hyperparameters (and the seed); the rest fix shapes
    assert set(sweep.TRACED_AXES) == set(HPARAM_NAMES) | {"seed"}
    assert set(sweep.SHAPE_AXES) == {"batch_size", "hidden"}


def test_sweep_configs_import_no_jax_and_build_on_the_default_config():
    code = ("import sys; from configs import sweep_batch, sweep_lr, sweep_test; "
            "[m.get_config() for m in (sweep_batch, sweep_lr, sweep_test)]; "
            "assert not any(m == 'jax' or m.startswith('turbjax.training') for m in sys.modules), "
            "'jax imported'")
    env = dict(os.environ, PYTHONPATH=pythonpath(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sweep.base_config().to_dict() == default.get_config().to_dict()


def test_override_paths_must_name_one_sweep_field():
    from turbjax.sweep.axes import check_override_paths

    check_override_paths(["--config.sweep.seed=(0, 1)", "--config.sweep.mode", "zip", "--config.optim.l2=1",
                          "-config.sweep.trials_per_program=0"])
    for arg, match in (("--config.sweep.axes.learning_rate=(0.1,)", "no field 'axes'"),
                       ("--config.sweep.seeds=(0,)", "did you mean 'seed'"),
                       ("-config.sweep.hidden.0=4", "config.sweep.hidden is set whole")):
        with pytest.raises(ValueError, match=match):
            check_override_paths([arg])


def test_blocks_split_a_group_on_one_grid():
    ids, seeds = list(range(8)), [0, 0, 0, 0, 1, 1, 1, 1]
    blocks = sweep.make_blocks(ids, seeds, 1, share=True, trials_per_program=2)
    assert len(blocks) == 4 and all(b.index.shape == (1, 2) and b.real.all() for b in blocks)
    assert sorted(t for b in blocks for t in b.index.ravel().tolist()) == ids
    blocks = sweep.make_blocks(ids[:6], [0, 0, 0, 1, 1, 1], 1, share=True, trials_per_program=2)
    assert [b.real.sum() for b in blocks] == [2, 1, 2, 1] and all(b.index.shape == (1, 2) for b in blocks)
    flat = sweep.make_blocks(ids, seeds, 1, share=False, trials_per_program=4)
    assert len(flat) == 2 and all(b.index.shape == (4, 1) for b in flat)
    assert len(sweep.make_blocks(ids, seeds, 1, share=True, trials_per_program=0)) == 1


def test_layout_pads_to_the_mesh_with_copies_of_real_trials():
    assert sweep.mesh_shape(4, 1, 4) == (1, 4)  # one seed, 4 lrs: shard the lrs
    assert sweep.mesh_shape(4, 4, 4) == (4, 1)  # seeds first when the padding is the same
    assert sweep.mesh_shape(4, 2, 3) == (2, 2)  # 2 x 4 = 8 slots (vs 12 for 4 x 1)
    lay = sweep.make_layout(list(range(6)), [0, 0, 0, 1, 1, 1], num_devices=4, share=True)
    assert lay.index.shape == (2, 4) and lay.real.sum() == 6
    assert sorted(lay.index[lay.real].tolist()) == list(range(6))
    assert set(lay.index[~lay.real].tolist()) <= set(range(6))
    flat = sweep.make_layout(list(range(6)), [0, 0, 0, 1, 1, 1], num_devices=1, share=False)
    assert flat.index.shape == (6, 1) and flat.real.all()
    uneven = sweep.make_layout([0, 1, 2], [0, 0, 1], num_devices=1, share=True)
    assert uneven.index.shape == (2, 2) and uneven.real.tolist() == [[True, True], [True, False]]


MULTIHOST_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from turbjax import sweep
    # from JAX_COORDINATOR_ADDRESS / JAX_NUM_PROCESSES / JAX_PROCESS_ID
    assert sweep.maybe_initialize_distributed()
    import jax
    from train_helpers import standardized_data, vorticity_arrays
    from test_sweep import sweep_config
    assert jax.process_count() == 2 and jax.device_count() == 4, (jax.process_count(), jax.devices())
    data = standardized_data(*vorticity_arrays(), val_every=4)  # as the `data` fixture: the same rows
    c = sweep_config()
    trials, groups = sweep.sweep_arrays(c, data, progress=False)
    res = sweep.summarize(c, trials, groups, wall_seconds=0, devices=jax.devices())
    print("RESULT" + json.dumps({"trials": res["trials"], "groups": res["groups"]}))
    """
)


@pytest.mark.slow
def test_two_processes_with_two_devices_each_equal_one_device(data):
    """Multi-host on one machine: 2 processes x 2 CPU devices joined by jax.distributed == one device."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    procs = []
    for pid in range(2):
        env = dict(os.environ, JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="2",
                   JAX_COORDINATOR_ADDRESS=f"localhost:{port}", JAX_NUM_PROCESSES="2",
                   JAX_PROCESS_ID=str(pid), PYTHONPATH=pythonpath(ROOT, ROOT / "tests"))
        procs.append(subprocess.Popen([sys.executable, "-c", MULTIHOST_SCRIPT], cwd=ROOT, env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    c = sweep_config()
    ref = sweep.summarize(c, *sweep.sweep_arrays(c, data, devices=jax.devices()[:1], progress=False),
                          wall_seconds=0, devices=[])
    for out, _ in outs:
        res = json.loads(out.split("RESULT", 1)[1])
        assert res["groups"][0]["padding_trials"] == 2
        for ra, rb in zip(res["trials"], ref["trials"], strict=True):
            assert ra["diverged"] == rb["diverged"]
            np.testing.assert_allclose(np.array(ra["curves"]["test_loss"], float),
                                       np.array(rb["curves"]["test_loss"], float), rtol=1e-5, atol=1e-6)
