"""TensorBoard event files of a training run and of a sweep's trials, written with tensorboardX.

    <train workdir>/tensorboard/               one TensorBoard run: the run's values per epoch
    <sweep workdir>/tensorboard/trial_<i>/     one run per trial: its values per epoch, its hyperparameters
                                               and final validation metrics (the hparams plugin)

    tensorboard --logdir runs                  every workdir under runs/: runs "default/tensorboard",
                                               "sweep_lr/tensorboard/trial_3", ...

What is logged. metrics.jsonl is the source of truth (other code reads it); the event files hold the same
values, one scalar per key and epoch, with step = epoch: a key becomes a tag by its part, `train_loss` ->
`train/loss`, `val_r2` -> `val/r2`, `test_mae` -> `test/mae`, any other key (`seconds`) -> `epoch/seconds`
(`tag_of`). Besides them, `train/learning_rate`: the rate at the end of the epoch (schedule included;
turbjax.training.optimizers.learning_rate_after). TensorBoard stores a scalar as float32; a null of
metrics.jsonl (not finite) is NaN.

Crashes. Events are written synchronously (tensorboardX's EventsWriter; the SummaryWriter's queue is drained
by a thread, so its flush() does not promise that the events added before it are in the file) and `flush()`
writes them to disk (fsync) where the train job flushes metrics.jsonl: after each chunk of epochs. A writer
is closed in a `with` block, also on an error.

Resuming. When train resumes from its checkpoint at epoch k it rewrites metrics.jsonl to epochs 1..k (a killed
run may have logged later epochs); `open_run` does the same to the event files: it writes a new event file
holding exactly the kept lines (with the learning rates and wall times that the old files logged for those
epochs, since a resumed run may have changed config.optim), then deletes the old files, and the epochs after
k are logged again as they run. So every epoch is in the files once, for any reader (TensorBoard's purging of
out-of-order steps is not relied on). A kill between writing the new file and deleting the old ones leaves
copies of the same values, removed by the next open.

Sweeps write their trials once, at the end, where results.json is written (`write_trial`); a rerun replaces
them.
"""

from __future__ import annotations

import math
import os
import struct
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

# tensorboardX is imported where it is used: importing it imports PyTorch where that is installed
# (tensorboardX.writer, ~4 s on a 2-core CPU), which a command that fails on its config need not wait for.

DIRNAME = "tensorboard"  # under a workdir
PARTS = ("train", "val", "test")
LEARNING_RATE = "train/learning_rate"


def tag_of(key: str) -> str:
    """The tag of a metrics.jsonl key: train_loss -> train/loss, val_r2 -> val/r2, seconds ->
    epoch/seconds."""
    part, _, name = key.partition("_")
    return f"{part}/{name}" if part in PARTS and name else f"epoch/{key}"


def event_files(directory: Path) -> list[Path]:
    """The event files of one TensorBoard run (a directory's own files whose name holds 'tfevents', as
    TensorBoard finds them), in the order TensorBoard reads them."""
    directory = Path(directory)
    return sorted(p for p in directory.iterdir() if "tfevents" in p.name and p.is_file()) \
        if directory.is_dir() else []


class EventLog:
    """One TensorBoard run: a directory and the event file this writer adds to it. Writes are synchronous;
    `flush()` puts them on disk. A context manager: closed on leaving the block, also on an error."""

    def __init__(self, directory):
        from tensorboardX.event_file_writer import EventsWriter

        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        # tensorboardX names the file events.out.tfevents.<seconds>.<host><suffix> and opens it with "wb": two
        # writers within one second (a quick resume) would share the name, the second emptying the first's
        # file. The suffix keeps every writer's file its own.
        self._writer = EventsWriter(str(self.directory / "events"), f".{os.getpid()}.{uuid.uuid4().hex[:8]}")
        self._closed = False

    def scalar(self, tag: str, value, step: int, wall_time: float | None = None) -> None:
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.proto.summary_pb2 import Summary

        value = math.nan if value is None else float(value)
        wall = time.time() if wall_time is None else float(wall_time)
        # the proto that tensorboardX.summary.scalar makes, without its warning for every NaN
        summary = Summary(value=[Summary.Value(tag=tag, simple_value=value)])
        self._writer.write_event(Event(wall_time=wall, step=int(step), summary=summary))

    def epoch(self, row: dict, learning_rate: float | None = None, wall_times: dict | None = None) -> None:
        """One metrics.jsonl line (step = its epoch; every key but `epoch`), and the learning rate; at the
        wall times that `wall_times` gives by tag, else now."""
        step, walls = int(row["epoch"]), wall_times or {}
        for key, value in row.items():
            if key != "epoch":
                self.scalar(tag_of(key), value, step, walls.get(tag_of(key)))
        if learning_rate is not None:
            self.scalar(LEARNING_RATE, learning_rate, step, walls.get(LEARNING_RATE))

    def hparams(self, hparams: dict, metrics: Iterable[str]) -> None:
        """This run as one session of the hparams plugin: its hyperparameters (numbers, strings or bools) and
        the tags whose last value in this run the hparams table shows as its metrics."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import hparams as hparams_summaries

        for summary in hparams_summaries(dict(hparams), dict.fromkeys(metrics, 0.0)):  # values: unused
            self._writer.write_event(Event(wall_time=time.time(), step=0, summary=summary))

    def flush(self) -> None:
        self._writer.flush()  # the file's buffer, then fsync

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._writer.close()

    def __enter__(self) -> EventLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------- a train run


def open_run(workdir, rows: list[dict], learning_rate: Callable[[int], float]) -> EventLog:
    """The writer of a train run's event files (<workdir>/tensorboard), after making them hold exactly `rows`:
    the metrics.jsonl lines the run keeps (none for a new run; epochs 1..k when it resumes at epoch k). The
    learning rate of a row, and the wall time of each of its values, come from the old files where they
    logged them, else from learning_rate(epoch) and the clock. Then the old files are deleted."""
    directory = Path(workdir) / DIRNAME
    old_files = event_files(directory)
    old = read_scalars(old_files)
    rates = old.get(LEARNING_RATE, {})
    log = EventLog(directory)
    try:
        for row in rows:
            e = int(row["epoch"])
            walls = {tag: series[e][0] for tag, series in old.items() if e in series}
            log.epoch(row, rates[e][1] if e in rates else learning_rate(e), walls)
        log.flush()
        for f in old_files:
            f.unlink()
    except BaseException:
        log.close()
        raise
    return log


def read_records(path: Path) -> Iterator[bytes]:
    """The records of one event file (TFRecord framing: length, its CRC, data, its CRC), up to the first
    truncated or damaged one (a killed writer's last)."""
    from tensorboardX.record_writer import masked_crc32c

    data = Path(path).read_bytes()
    pos = 0
    while pos + 12 <= len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        end = pos + 12 + length + 4
        if struct.unpack("<I", data[pos + 8 : pos + 12])[0] != masked_crc32c(header) or end > len(data):
            return
        body = data[pos + 12 : end - 4]
        if struct.unpack("<I", data[end - 4 : end])[0] != masked_crc32c(body):
            return
        yield body
        pos = end


def read_scalars(files: Iterable[Path]) -> dict[str, dict[int, tuple[float, float]]]:
    """{tag: {step: (wall_time, value)}} of the scalars in event files (read in order: a later one wins)."""
    from tensorboardX.proto.event_pb2 import Event

    out: dict = {}
    for f in files:
        for record in read_records(f):
            event = Event.FromString(record)
            for v in event.summary.value:
                if v.WhichOneof("value") == "simple_value":
                    point = (float(event.wall_time), float(v.simple_value))
                    out.setdefault(v.tag, {})[int(event.step)] = point
    return out


# ------------------------------------------------------------------------------------------ a sweep's trial


def write_trial(directory, rows: list[dict], learning_rates: list[float], hparams: dict,
                metrics: Iterable[str]) -> None:
    """One sweep trial as a TensorBoard run: its per-epoch rows (as metrics.jsonl would hold them) with the
    learning rates, then its hyperparameters and the tags of its final metrics for the hparams plugin."""
    with EventLog(directory) as log:
        for row, rate in zip(rows, learning_rates, strict=True):
            log.epoch(row, rate)
        log.hparams(hparams, metrics)
        log.flush()
