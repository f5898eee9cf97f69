"""The model shipped in the package (turbjax/pretrained): it loads, it gives the estimates recorded when it
was exported on tests/data/pretrained_check.npz (four frames of the seed run at Re 600, never trained on),
with an interval that holds 600 (the estimate on these four frames: 592 [533, 638]; on the whole run: 604,
README, "Your own files")."""

import json
from pathlib import Path

import numpy as np

from turbjax.estimates import PRETRAINED, estimate_run, load_model

ROOT = Path(__file__).resolve().parent.parent


def test_the_shipped_model_loads_and_gives_its_recorded_estimates():
    info = json.loads((PRETRAINED / "model.json").read_text())
    model = load_model()
    assert model.config.data.units == "flow" and model.novelty is not None
    e = estimate_run(model, ROOT / info["check"]["file"], "turbjax")
    np.testing.assert_allclose(e.frames[:, 0], info["check"]["frames"], rtol=1e-5)
    assert abs(e.reynolds / info["check"]["reynolds"] - 1) < 1e-5
    assert e.low <= 600 <= e.high and not e.out_of_distribution


def test_the_shipped_files_are_small_and_say_what_the_model_was_trained_on():
    size = sum(p.stat().st_size for p in PRETRAINED.iterdir())
    assert size < 2_000_000
    info = json.loads((PRETRAINED / "model.json").read_text())
    assert info["selected_on"] == "validation" and "numerics" in info["trained_on"]
