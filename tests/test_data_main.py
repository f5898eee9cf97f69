"""`python -m turbjax.data`: synthetic files, the summary, and a clear error for a missing directory."""

import pytest

from turbjax.data.__main__ import main


def test_synthetic_then_summary(tmp_path, capsys):
    assert main(["--dir", str(tmp_path), "--synthetic", "--frames", "40", "--split", "time"]) == 0
    out = capsys.readouterr().out
    assert out.count("synthetic stand-in") == 4
    assert "of 64x64 = 4096 features" in out and "Re 1200: 8 train, 4 val, 8 test" in out
    # per series of 40: 8 test after a gap of 10; of the 22 before it, the last 4 validate after another 10


def test_missing_directory_is_an_error_with_the_fix(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--dir", str(tmp_path / "none")])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("turbjax.data: error: ") and err.count("\n") == 1  # one line
    assert "python -m turbjax.simulate --re 300 600 900 1200 --out" in err


def test_plots_of_the_class_balance_and_pca(tmp_path, capsys):
    args = ["--dir", str(tmp_path / "d"), "--synthetic", "--frames", "20", "--plots", str(tmp_path / "p")]
    assert main(args) == 0
    for name in ("class_balance.png", "pca.png"):
        assert (tmp_path / "p" / name).stat().st_size > 1000
    assert not list((tmp_path / "p").glob("*.tmp*"))


def test_runs_from_outside_the_checkout(tmp_path):
    """The command needs only the package (its config is turbjax.configs.default), from any directory."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    # the package importable, the checkout's top-level `configs` not (as with an installed turbjax)
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "turbjax").symlink_to(root / "turbjax")
    env = dict(os.environ, PYTHONPATH=str(tmp_path / "site"))
    cmd = [sys.executable, "-m", "turbjax.data", "--dir", "d", "--synthetic", "--frames", "20"]
    proc = subprocess.run(cmd,
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "of 64x64 = 4096 features" in proc.stdout and (tmp_path / "d").is_dir()
