"""Smoke tests of the benchmark scripts and ``seqjepa bench``: each --quick run prints its SUMMARY line.

Speed is never asserted (quick runs use tiny models on a shared CPU; their ratios mean nothing).
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest
import torch

from seqjepa.cli import main as cli_main

BENCH_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
SUMMARY = re.compile(r"^SUMMARY (\S+): (ratio|value)=[\d.]+(x| s)? \(target (>=|<=) [\d.]+(x| s)?\) (PASS|FAIL) \[.*\]$", re.M)


def _load(name: str):
    path = BENCH_DIR / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["extract", "fast_inference", "load", "world"])
def test_quick_run_prints_table_and_summary(name, capsys):
    assert _load(f"bench_{name}").main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "torch threads" in out and "cpu" in out  # hardware printed
    assert re.search(r"^\|.*\|$", out, re.M)  # a table
    lines = SUMMARY.findall(out)
    assert len(lines) == 1 and lines[0][0] == name
    assert out.strip().splitlines()[-1].startswith(f"SUMMARY {name}:")


@pytest.mark.slow
def test_scaling_quick_writes_plot_and_json(tmp_path, capsys):
    assert _load("bench_scaling").main(["--quick", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert SUMMARY.search(out)
    assert (tmp_path / "scaling.png").stat().st_size > 1000
    import json

    points = json.loads((tmp_path / "scaling.json").read_text())["points"]
    assert {(p["B"], p["M"]) for p in points} == {(1, 1), (1, 2)}
    assert all(p["ms"] > 0 and p["peak_mib"] >= 0 for p in points)


def test_cuda_script_importable_and_help(capsys, monkeypatch):
    module = _load("cuda_inference")
    with pytest.raises(SystemExit) as exc:
        module.main(["--help"])
    assert exc.value.code == 0
    assert "--compile" in capsys.readouterr().out
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the no-GPU path, on any machine
    assert module.main([]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "SUMMARY cuda_inference: skipped (no CUDA device)"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_script_measures_on_a_gpu(capsys):
    module = _load("cuda_inference")
    assert module.main(["--batch", "2", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "median ms/batch" in out
    assert re.search(r"^SUMMARY cuda_inference: .*\[.*checks pass\]", out, re.M), out


def test_runner_lists_every_bench_script(capsys):
    assert cli_main(["bench", "--list"]) == 0
    listed = {line.split("\t")[0] for line in capsys.readouterr().out.splitlines()}
    assert listed == {p.stem[len("bench_"):] for p in BENCH_DIR.glob("bench_*.py")}
    assert {"extract", "fast_inference", "load", "scaling"} <= listed


@pytest.mark.slow
def test_runner_runs_a_benchmark_in_a_subprocess(capsys):
    assert cli_main(["bench", "fast_inference", "--quick"]) == 0
    out = capsys.readouterr().out
    assert "=== summary" in out
    assert re.search(r"^fast_inference\s+ratio=[\d.]+x \(target >= 1\.80x\) (PASS|FAIL)", out, re.M)


def test_runner_reports_a_crash_and_bad_names(tmp_path, capsys):
    (tmp_path / "bench_broken.py").write_text("raise SystemExit(3)\n")
    (tmp_path / "bench_silent.py").write_text("print('no summary here')\n")
    assert cli_main(["bench", "--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^broken\s+CRASHED \(exit status 3\)", out, re.M)
    assert re.search(r"^silent\s+NO SUMMARY LINE", out, re.M)
    assert cli_main(["bench", "--dir", str(tmp_path), "nope"]) == 2
    assert "unknown benchmark(s) nope" in capsys.readouterr().err
    assert cli_main(["bench", "--dir", str(tmp_path / "missing")]) == 2


def test_runner_strict_fails_on_missed_target(tmp_path, capsys):
    (tmp_path / "bench_slow.py").write_text(
        "print('SUMMARY slow: ratio=0.50x (target >= 1.00x) FAIL [x; 0/1 checks pass]')\n"
    )
    assert cli_main(["bench", "--dir", str(tmp_path)]) == 0
    assert cli_main(["bench", "--dir", str(tmp_path), "--strict"]) == 1


def test_an_installed_wheel_says_where_the_benchmarks_come_from(tmp_path, monkeypatch, capsys):
    """A wheel has no benchmarks/ beside the package: one line that names the sdist and --dir, no traceback."""
    import seqjepa.cli.bench as bench

    site = tmp_path / "site-packages" / "seqjepa" / "cli"
    site.mkdir(parents=True)
    monkeypatch.setattr(bench, "__file__", str(site / "bench.py"))
    monkeypatch.chdir(tmp_path)
    assert bench.default_directory() is None
    assert cli_main(["bench", "--list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "source checkout or the sdist" in err and "--dir" in err and "pip download" in err
    # run from inside an unpacked sdist, ./benchmarks is found
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench_one.py").write_text("print('SUMMARY one: value=1.0 s (target <= 2.0 s) PASS [x]')\n")
    assert bench.default_directory() == tmp_path / "benchmarks"
    assert cli_main(["bench", "--list"]) == 0
    assert capsys.readouterr().out.startswith("one\t")
