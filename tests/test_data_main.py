"""`python -m turbjax.data`: synthetic files, the summary, and a clear error for a missing directory."""

from turbjax.data.__main__ import main


def test_synthetic_then_summary(tmp_path, capsys):
    assert main(["--dir", str(tmp_path), "--synthetic", "--frames", "20", "--split", "time"]) == 0
    out = capsys.readouterr().out
    assert out.count("synthetic stand-in") == 4
    assert "of 64x64 = 4096 features" in out and "Re 1200: 6 train, 4 test" in out


def test_missing_directory_is_an_error_with_the_fix(tmp_path, capsys):
    assert main(["--dir", str(tmp_path / "none")]) == 1
    assert "python -m turbjax.simulate --re 300 600 900 1200 --out" in capsys.readouterr().err


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
