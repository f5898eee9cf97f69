"""TensorBoard logs, read back with TensorBoard's own readers (the `tensorboard` package, a dev dependency): a
train run's event files hold every value of metrics.jsonl, every epoch once, and the learning rate; a
resumed run logs each epoch once and keeps what the first run logged; a sweep is one hparams session per
trial, with its hyperparameters and final validation metrics; the learning rate logged is the one the next
update takes."""

from __future__ import annotations

import json
import math

import jax.numpy as jnp
import numpy as np
import pytest
from tensorboard import context as tb_context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups
from tensorboardX import SummaryWriter

from configs import default
from configs import test as test_config
from conftest import write_quick_grid_synthetic
from train_helpers import standardized_data, vorticity_arrays
from turbjax import sweep
from turbjax.configs.schema import with_overrides
from turbjax.tensorboard_log import EventLog, event_files, read_scalars
from turbjax.train import train_and_evaluate
from turbjax.training.optimizers import default_hparams, learning_rate_after, make_optimizer, set_hyperparams

LR = "train/learning_rate"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return write_quick_grid_synthetic(tmp_path_factory.mktemp("synthetic"))


def run_config(data_dir, **overrides):
    """configs/test.py (MLP on 16 x 16 crops, chunks of 2 epochs) on the synthetic files, no plots."""
    return with_overrides(test_config.get_config(),
                          {"data.dir": str(data_dir), "training.plots": False} | overrides)


def expected_tag(key: str) -> str:
    """The tag a metrics.jsonl key is logged under (the mapping, written out independently of the module)."""
    return {"train_loss": "train/loss", "seconds": "epoch/seconds"}.get(key) or key.replace("_", "/", 1)


def scalars(directory) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} of a run directory as TensorBoard reads it, every event kept (no
    reservoir sampling, no purging of orphaned steps: a step logged twice shows twice)."""
    acc = EventAccumulator(str(directory), size_guidance={"scalars": 0}, purge_orphaned_data=False)
    acc.Reload()
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def metrics_rows(workdir) -> list[dict]:
    return [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]


def as_float32(values) -> np.ndarray:
    return np.asarray([math.nan if v is None else v for v in values], np.float32)


def cosine_rates(lr: float, final_fraction: float, epochs: int) -> np.ndarray:
    """The cosine schedule at the end of each epoch: from lr down to final_fraction * lr."""
    e = np.arange(1, epochs + 1)
    return lr * (final_fraction + (1 - final_fraction) * 0.5 * (1 + np.cos(np.pi * e / epochs)))


def assert_same_as_metrics_jsonl(logged: dict, rows: list[dict]) -> None:
    """Every key of every metrics.jsonl line is a scalar at step = epoch, each epoch once, the same value to
    float32 precision (a null is NaN); no other tags but the learning rate."""
    keys = [k for k in rows[0] if k != "epoch"]
    assert set(logged) == {expected_tag(k) for k in keys} | {LR}
    epochs = [r["epoch"] for r in rows]
    for key in keys:
        steps, values = zip(*logged[expected_tag(key)], strict=True)
        assert list(steps) == epochs, key
        np.testing.assert_array_equal(np.asarray(values, np.float32), as_float32(r[key] for r in rows),
                                      err_msg=key)
    assert [s for s, _ in logged[LR]] == epochs


def test_a_training_run_logs_every_value_of_metrics_jsonl_and_the_learning_rate(data_dir, tmp_path):
    c = run_config(data_dir, **{"optim.schedule": "cosine", "optim.final_fraction": 0.1})
    train_and_evaluate(c, tmp_path)
    rows = metrics_rows(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6]
    logged = scalars(tmp_path / "tensorboard")
    assert {"train/loss", "val/loss", "val/r2", "val/mae", "test/r2", "epoch/seconds"} <= set(logged)
    assert_same_as_metrics_jsonl(logged, rows)
    np.testing.assert_allclose([v for _, v in logged[LR]], cosine_rates(c.optim.learning_rate, 0.1, 6),
                               rtol=1e-6)


def test_a_resumed_run_logs_each_epoch_once_and_keeps_what_the_first_run_logged(data_dir, tmp_path):
    first = run_config(data_dir, **{"training.epochs": 4})
    train_and_evaluate(first, tmp_path)
    before = scalars(tmp_path / "tensorboard")
    walls = {e.step: e.wall_time for e in EventAccumulator(str(tmp_path / "tensorboard")).Reload()
             .Scalars("val/loss")}
    # a killed run logged epochs 5 and 6 after its last checkpoint (epoch 4), to metrics.jsonl and to an
    # event file of its own (written here by tensorboardX's SummaryWriter, as any writer would)
    rows = metrics_rows(tmp_path)
    with open(tmp_path / "metrics.jsonl", "a") as f:
        for e in (5, 6):
            f.write(json.dumps(rows[-1] | {"epoch": e, "train_loss": 99.0}) + "\n")
    with SummaryWriter(str(tmp_path / "tensorboard")) as w:
        for e in (5, 6):
            w.add_scalar("train/loss", 99.0, e)
            w.add_scalar(LR, 1.0, e)
    assert [s for s, _ in scalars(tmp_path / "tensorboard")["train/loss"]] == [1, 2, 3, 4, 5, 6]
    # resumed from epoch 4 with half the learning rate (which applies from epoch 5 on)
    lr = first.optim.learning_rate
    second = run_config(data_dir, **{"training.epochs": 6, "optim.learning_rate": lr / 2})
    results = train_and_evaluate(second, tmp_path)
    assert results["resumed_from_epoch"] == 4
    rows = metrics_rows(tmp_path)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5, 6] and 99.0 not in [r["train_loss"] for r in rows]
    logged = scalars(tmp_path / "tensorboard")
    assert_same_as_metrics_jsonl(logged, rows)  # epochs 5 and 6 once, this run's values
    np.testing.assert_array_equal([v for _, v in logged[LR]], np.float32([lr] * 4 + [lr / 2] * 2))
    for tag, points in before.items():  # epochs 1-4 as the first run logged them, at the same times
        assert logged[tag][:4] == points, tag
    resumed = EventAccumulator(str(tmp_path / "tensorboard")).Reload().Scalars("val/loss")
    assert {e.step: e.wall_time for e in resumed if e.step <= 4} == walls
    assert len(event_files(tmp_path / "tensorboard")) == 1  # the old files were replaced


def session_groups(logdir):
    """What TensorBoard's hparams dashboard lists for `logdir`: its session groups, by the plugin's backend
    over the event multiplexer (the Python data path of `tensorboard --logdir`)."""
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    context = base_plugin.TBContext(logdir=str(logdir), multiplexer=mux,
                                    data_provider=data_provider.MultiplexerDataProvider(mux, str(logdir)))
    statuses = [api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE,
                api_pb2.STATUS_RUNNING]
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=statuses)
    return list_session_groups.Handler(tb_context.RequestContext(), backend_context.Context(context), "",
                                       request).run().session_groups


def test_a_sweep_writes_one_hparams_session_per_trial_with_its_final_validation_metrics(tmp_path):
    c = default.get_config()
    c.model.hidden = (16, 8)
    c.optim.name = "sgd"
    c.optim.momentum = 0.0
    c.training.batch_size = 10
    c.training.epochs = 4
    c.training.epochs_per_chunk = 2
    assert c.optim.schedule == "cosine"
    c.sweep = sweep.sweep_section(learning_rate=(1000.0, 0.05, 0.01), seed=(3,))  # 1000 diverges in epoch 1
    results = sweep._run_and_write(c, tmp_path, standardized_data(*vorticity_arrays(), val_every=4),
                                   progress=False)
    records = results["trials"]
    assert records[0]["diverged"] and not records[1]["diverged"]
    assert sorted(p.name for p in (tmp_path / "tensorboard").iterdir()) == ["trial_0", "trial_1", "trial_2"]
    groups = {g.sessions[0].name: g for g in session_groups(tmp_path)}
    assert sorted(groups) == [f"tensorboard/trial_{i}" for i in range(3)]
    final = {"val/loss": "final_val_loss", "val/r2": "val_r2", "val/mse": "val_mse", "val/mae": "val_mae"}
    for rec in records:
        group = groups[f"tensorboard/trial_{rec['trial']}"]
        hparams = {k: getattr(v, v.WhichOneof("kind")) for k, v in group.hparams.items()}
        assert hparams == {"learning_rate": rec["learning_rate"], "weight_decay": 0.0, "momentum": 0.0,
                           "l2": 0.0, "l1": 0.0, "seed": 3, "batch_size": 10, "hidden": "(16, 8)"}
        metrics = {m.name.tag: m for m in group.metric_values}
        assert set(metrics) == set(final)
        for tag, key in final.items():
            assert metrics[tag].training_step == 4
            assert np.float32(metrics[tag].value) == np.float32(rec[key]), (rec["trial"], tag)
        # and its curves, per epoch, as results.json holds them
        logged = scalars(tmp_path / "tensorboard" / f"trial_{rec['trial']}")
        for key, curve in rec["curves"].items():
            steps, values = zip(*logged[expected_tag(key)], strict=True)
            assert list(steps) == [1, 2, 3, 4]
            np.testing.assert_array_equal(np.asarray(values, np.float32), as_float32(curve), err_msg=key)
        rates = cosine_rates(rec["learning_rate"], c.optim.final_fraction, 4)  # the default schedule
        np.testing.assert_allclose([v for _, v in logged[LR]], rates, rtol=1e-6)
    assert np.isnan(scalars(tmp_path / "tensorboard" / "trial_0")["train/loss"][0][1])  # diverged in epoch 1


def test_the_logged_learning_rate_is_the_rate_the_next_update_takes():
    c = default.get_config().optim
    c.name, c.momentum, c.learning_rate = "sgd", 0.0, 0.1
    c.schedule, c.warmup_epochs, c.final_fraction = "warmup_cosine", 1, 0.2
    steps, epochs = 3, 4
    tx = make_optimizer(c, steps_per_epoch=steps, num_epochs=epochs)
    params = jnp.zeros(())
    state = set_hyperparams(tx.init(params), default_hparams(c))
    seen = []
    for epoch in range(1, epochs):
        for _ in range(steps):
            _, state = tx.update(jnp.zeros(()), state, params)
        update, _ = tx.update(jnp.ones(()), state, params)  # plain SGD: -rate * gradient
        rate = learning_rate_after(c, epoch, steps_per_epoch=steps, num_epochs=epochs)
        np.testing.assert_allclose(-float(update), rate, rtol=1e-6)
        seen.append(rate)
    assert len(set(seen)) == len(seen)


def test_the_old_files_are_read_up_to_a_truncated_record(tmp_path):
    with EventLog(tmp_path) as log:
        for e in (1, 2, 3):
            log.epoch({"epoch": e, "train_loss": e / 10, "val_r2": None}, learning_rate=0.5)
    (path,) = event_files(tmp_path)
    path.write_bytes(path.read_bytes()[:-7])  # a kill in the middle of the last record (epoch 3's rate)
    got = read_scalars([path])
    assert sorted(got["train/loss"]) == [1, 2, 3] and sorted(got[LR]) == [1, 2]
    assert [v for _, v in got["train/loss"].values()] == list(np.float32([0.1, 0.2, 0.3]))
    assert all(math.isnan(v) for _, v in got["val/r2"].values())
