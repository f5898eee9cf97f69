"""notebooks/lecture.ipynb runs end to end in its small size (TURBJAX_NOTEBOOK=small: analytic stand-in data,
a few epochs) without a cell error, and the numbers it computes state facts: the course's double-well check
values, hand-written gradients equal to jax.grad, the data set's shapes, a flagged (not crashing) divergence
at learning rate 1. Also: the committed notebook is the one scripts/build_notebook.py writes (same cell
sources).

The kernel is the interpreter running pytest (a kernel spec written to a temporary directory), so nothing
needs to be registered with Jupyter beforehand. About 1.5 minutes on a loaded 2-core CPU (the notebook's
own cells: ~80 s).
"""

from __future__ import annotations

import copy
import json
import math
import os
import runpy
import sys
from pathlib import Path

import nbclient  # the dev extras install nbclient and nbformat (with nbmake) and ipykernel
import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "lecture.ipynb"
TIMEOUT_S = 300  # per cell


def _kernel_spec_dir(tmp_path: Path) -> Path:
    """A Jupyter data dir with a kernel spec 'turbjax-test' running this interpreter's ipykernel."""
    spec = tmp_path / "jupyter" / "kernels" / "turbjax-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "turbjax test kernel",
        "language": "python",
    }))
    return tmp_path / "jupyter"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Execute a copy of the notebook in small mode; return (facts dict, executed notebook)."""
    tmp = tmp_path_factory.mktemp("notebook")
    facts_path = tmp / "facts.json"
    nb = copy.deepcopy(nbformat.read(NOTEBOOK, as_version=4))
    for cell in nb.cells:  # run the committed notebook's sources from a clean state
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    env = {
        "TURBJAX_NOTEBOOK": "small",
        "TURBJAX_NOTEBOOK_FACTS": str(facts_path),
        "TURBJAX_ROOT": str(ROOT),
        "JAX_PLATFORMS": "cpu",
        "MPLBACKEND": "Agg",
        # the notebook's work dir (mkdtemp: data files, runs) goes under pytest's tmp_path
        "TMPDIR": str(tmp),
        "JUPYTER_PATH": str(_kernel_spec_dir(tmp)),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment of the process that starts it
    try:
        client = nbclient.NotebookClient(
            nb, kernel_name="turbjax-test", timeout=TIMEOUT_S, resources={"metadata": {"path": str(tmp)}},
        )
        client.execute()  # raises CellExecutionError on the first failing cell
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return json.loads(facts_path.read_text()), nb


def test_runs_in_small_mode(executed):
    facts, nb = executed
    assert facts["size"] == "small"
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []


def test_double_well_check_values(executed):
    dw = executed[0]["double_well"]
    assert dw["x"] == 0.12132987
    assert dw["V"] == pytest.approx(-0.029225168711847025, rel=1e-12)
    assert dw["dVdx_hand"] == pytest.approx(-0.4781751223381389, rel=1e-12)
    assert dw["dVdx_jax"] == pytest.approx(dw["dVdx_hand"], rel=1e-12)


def test_hand_written_gradients_equal_jax_grad(executed):
    diffs = executed[0]["grad_max_abs_diff"]
    assert set(diffs) == {"tanh_dot", "two_layer", "two_layer_batch"}
    for name, d in diffs.items():
        assert 0 <= d < 1e-5, (name, d)


def test_data_shapes(executed):
    data = executed[0]["data"]
    # small mode: 4 x 200 frames at sample_every_steps 10 = frame_stride; 16 x 16 windows; a random 20% tests,
    # a random 20% of the rest (128) validates
    assert data["X_train"] == [512, 256] and data["X_test"] == [160, 256]
    assert data["classes"] == [300.0, 600.0, 900.0, 1200.0]


def test_learning_rate_one_is_flagged_not_fatal(executed):
    lr = executed[0]["lr_study"]
    assert set(lr) == {"1", "0.1", "0.001", "1e-05"}
    assert lr["1"]["diverged"] is True
    assert lr["0.001"]["diverged"] is False and math.isfinite(lr["0.001"]["test_r2"])


def test_every_model_scores(executed):
    facts = executed[0]
    for name, r2 in facts["test_r2"].items():
        assert math.isfinite(r2) and r2 <= 1, (name, r2)
    assert math.isfinite(facts["scratch_test_r2"])
    assert math.isfinite(facts["splits"]["heldout_600_mean"])


def test_committed_notebook_matches_builder():
    builder = runpy.run_path(str(ROOT / "scripts" / "build_notebook.py"))
    built = builder["build"]()
    committed = nbformat.read(NOTEBOOK, as_version=4)
    assert ([(c.cell_type, c.source) for c in committed.cells]
            == [(c.cell_type, c.source) for c in built.cells]), (
        "notebooks/lecture.ipynb differs from scripts/build_notebook.py: rebuild it and re-execute the full "
        "size"
    )
