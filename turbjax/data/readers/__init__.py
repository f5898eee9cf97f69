# placeholder until the readers branch lands (replaced by it at the merge)
from types import SimpleNamespace

from turbjax.data import course_pickle, snapshots
from turbjax.data.discovery import FORMATS  # noqa: F401

SIMULATOR_FORMAT = "turbjax"


def reader(fmt):
    if fmt == "course":
        return SimpleNamespace(
            needs_trust=True, description="the course's pickled files",
            trust_hint=lambda d: "loading a pickle can run code: pass --trust-pickle if you trust them, or "
            f"convert them once with `python -m turbjax.data.convert --trust-pickle {d} --out DIR`",
            header=lambda p, trust_pickle: (None, None, {"frame_stride": course_pickle.COURSE_FRAME_STRIDE}))
    return SimpleNamespace(needs_trust=False, header=lambda p, trust_pickle: snapshots.snapshot_header(p))
