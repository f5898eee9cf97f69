"""scripts/bench_common.py (the lines the benchmarks print beside their tables, the PyTorch peer) and
the peers of scripts/benchmark_simulate.py and scripts/benchmark_cnn.py: a peer that cannot be imported or
built is one line, never a traceback. Fast: no benchmark is run; torch and lbmpy are replaced by stand-ins or
blocked (one test trains a tiny network where torch is installed)."""

from __future__ import annotations

import runpy
import sys
import types
from pathlib import Path

import numpy as np
import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return runpy.run_path(str(SCRIPTS / "bench_common.py"))


@pytest.fixture
def simulate(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return runpy.run_path(str(SCRIPTS / "benchmark_simulate.py"))


def test_ratio_line_says_how_much_faster_turbjax_is(common):
    ratio_line = common["ratio_line"]
    # times: the peer's over turbjax's; rates: turbjax's over the peer's; X > 1 means turbjax is faster
    assert ratio_line("torch", "epoch time, same run", 0.5, 1.0, higher_is_better=False) == \
        "ratio turbjax/torch-best (epoch time, same run): 2.00"
    assert ratio_line("lbmpy", "wall MLUPS, same run, 2 threads", 300.0, 600.0, higher_is_better=True,
                      detail="turbjax mrt 300.0") == \
        "ratio turbjax/lbmpy-best (wall MLUPS, same run, 2 threads): 0.50 (turbjax mrt 300.0)"
    for missing in (None, 0.0, float("nan")):
        line = ratio_line("lbmpy", "wall MLUPS, same run, 1 threads", 300.0, missing, higher_is_better=True,
                          detail="no lbmpy variant ran")
        assert line == ("ratio turbjax/lbmpy-best (wall MLUPS, same run, 1 threads): n/a "
                        "(no lbmpy variant ran)")


def test_one_line_keeps_the_first_line_of_a_long_error(common):
    one_line = common["one_line"]
    e = RuntimeError("\n  g++ failed: no such file\nlog line 2\nlog line 3")
    assert one_line(e) == "RuntimeError: g++ failed: no such file"
    assert one_line(ValueError()) == "ValueError"
    long = one_line(OSError("x" * 500), limit=50)
    assert len(long) == len("OSError: ") + 50 and long.endswith("...")
    assert common["skipped_line"]("lbmpy", e) == "skipped lbmpy: RuntimeError: g++ failed: no such file"


def test_cpu_model_cores_and_versions(common, tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Some CPU @ 2.0GHz\n\n")
    assert common["cpu_model"](str(info)) == "Some CPU @ 2.0GHz"
    assert common["cpu_model"](str(tmp_path / "absent"))  # a fallback, never an error
    assert common["machine_line"]().startswith("CPU: ") and " cores" in common["machine_line"]()
    line = common["versions_line"](("numpy", "no-such-distribution-xyz"))
    assert line.startswith("versions: python ") and f"numpy {np.__version__}" in line
    assert "no-such-distribution-xyz not installed" in line


def test_torch_that_cannot_be_imported_is_one_line(common, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    epoch, why = common["torch_epoch"](lambda nn: None, np.zeros((4, 3)), np.zeros((4, 1)), np.zeros((2, 3)))
    assert epoch is None and "\n" not in why and why.startswith("torch is not importable (")
    assert common["import_error"]("torch").startswith("ModuleNotFoundError: ")
    assert common["import_error"]("numpy") is None


def test_torch_variant_that_fails_to_build_is_one_line(common, monkeypatch):
    def fail(*_):
        raise RuntimeError("InvalidCxxCompiler: no working C++ compiler\n<the compiler's whole log>")

    fake = types.SimpleNamespace(set_num_threads=lambda n: None, manual_seed=fail, __version__="0.0")
    monkeypatch.setitem(sys.modules, "torch", fake)
    epoch, why = common["torch_epoch"](lambda nn: None, np.zeros((4, 3)), np.zeros((4, 1)), np.zeros((2, 3)),
                                       2, compile=True)
    assert epoch is None and why == "RuntimeError: InvalidCxxCompiler: no working C++ compiler"


def test_torch_variants_run_a_tiny_epoch(common):
    """With torch installed: eager NCHW and channels_last train a tiny network (torch.compile is left to the
    benchmark: it compiles for a minute)."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y, xt = rng.normal(size=(64, 1, 8, 8)), rng.normal(size=(64, 1)), rng.normal(size=(16, 1, 8, 8))

    def net(nn):
        return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(128, 1))

    for channels_last in (False, True):
        epoch, desc = common["torch_epoch"](net, x, y, xt, 1, channels_last=channels_last)
        assert epoch is not None, desc
        epoch()
        assert ("channels_last" if channels_last else "NCHW") in desc and "eager" in desc


def test_cnn_variants_expand_torch(monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    cnn = runpy.run_path(str(SCRIPTS / "benchmark_cnn.py"))
    assert cnn["expand_variants"]("custom,torch,torch_cl") == [
        "custom", "torch_nchw", "torch_cl", "torch_compile", "torch_compile_cl"]
    with pytest.raises(SystemExit, match="unknown variant 'torch_fast'"):
        cnn["expand_variants"]("custom,torch_fast")


def test_lbmpy_that_cannot_be_imported_is_one_line(simulate, monkeypatch):
    monkeypatch.setitem(sys.modules, "lbmpy", None)
    lines = []
    assert simulate["lbmpy_kernels"](16, 8, [1, 2], log=lines.append) == {}
    assert len(lines) == 1 and lines[0].startswith("skipped lbmpy: not importable (") and "\n" not in lines[0]


def fake_lbmpy(monkeypatch, build):
    """Stand-ins for pystencils and lbmpy: every name benchmark_simulate uses; `build(target, config)` plays
    create_kernel(...).compile()."""

    class Target:
        def __init__(self, name, vector):
            self.name, self.vector = name, vector

        def is_vector_cpu(self):
            return self.vector

    targets = {n: Target(n, v) for n, v in (("_CPU", False), ("X86_AVX512", True), ("X86_AVX", True),
                                            ("X86_SSE", True), ("CurrentCPU", False))}
    ps = types.ModuleType("pystencils")
    ps.Target = types.SimpleNamespace(auto_cpu=lambda: targets["_CPU"], **targets)
    ps.fields = lambda spec, layout: ("src", "dst")

    def config(target=None, **kw):
        ns = types.SimpleNamespace
        return ns(target=target, cpu=ns(vectorize=ns(enable=False, assume_inner_stride_one=False),
                                        openmp=ns(enable=False, num_threads=None)), **kw)

    ps.CreateKernelConfig = config
    ps.create_kernel = lambda rule, config: types.SimpleNamespace(
        compile=lambda: build(config.target, config))
    lb = types.ModuleType("lbmpy")
    for name in ("LBMConfig", "LBMOptimisation", "LBStencil"):
        setattr(lb, name, lambda *a, **k: None)
    lb.Method, lb.Stencil = types.SimpleNamespace(MRT="MRT"), types.SimpleNamespace(D2Q9="D2Q9")
    lb.create_lb_update_rule = lambda **k: "rule"
    monkeypatch.setitem(sys.modules, "pystencils", ps)
    monkeypatch.setitem(sys.modules, "lbmpy", lb)


def test_lbmpy_variants_that_fail_are_one_line_and_the_rest_run(simulate, monkeypatch):
    """No vector ISA found by pystencils (the scalar auto target: vectorizing it is the CodegenError of issue
    23) and an OpenMP build failing: every failure on one line, the variants that build are kept."""

    def build(target, config):
        if config.cpu.vectorize.enable and not target.is_vector_cpu():
            raise RuntimeError("Cannot vectorize: selected target is no vector CPU target.\nmore")
        if config.cpu.openmp.enable:
            raise OSError("libgomp missing\nlinker log")
        return lambda src, dst: None

    fake_lbmpy(monkeypatch, build)
    flags = {"avx", "avx2", "fma", "avx512f"}
    monkeypatch.setitem(simulate["lbmpy_kernels"].__globals__, "cpu_flags", lambda: flags)
    lines = []
    built = simulate["lbmpy_kernels"](16, 8, [1, 2], log=lines.append)
    assert sorted(built) == ["lbmpy scalar", "lbmpy simd avx", "lbmpy simd avx512"]
    assert all(t == 1 for _, t, _ in built.values())
    assert len(lines) == 1 and "\n" not in lines[0], lines
    line = lines[0]
    assert line.startswith("lbmpy variants that failed (5 of 8, left out): ")
    assert "lbmpy simd auto, lbmpy simd auto omp2: RuntimeError: Cannot vectorize" in line
    assert "py-cpuinfo" in line
    assert "lbmpy simd avx512 omp2, lbmpy simd avx omp2, lbmpy scalar omp2: OSError: libgomp missing" in line


def test_lbmpy_with_no_variant_left_is_one_line(simulate, monkeypatch):
    def build(target, config):
        raise RuntimeError("no compiler")

    fake_lbmpy(monkeypatch, build)
    monkeypatch.setitem(simulate["lbmpy_kernels"].__globals__, "cpu_flags", lambda: set())
    lines = []
    assert simulate["lbmpy_kernels"](16, 8, [1], log=lines.append) == {}
    assert len(lines) == 1 and lines[0].startswith(
        "skipped lbmpy: none of its 2 kernel variants could be built or run: lbmpy simd auto: RuntimeError: "
        "no compiler (Target.auto_cpu() found no vector ISA")
    assert lines[0].endswith("; lbmpy scalar: RuntimeError: no compiler")
