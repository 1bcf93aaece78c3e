"""The extraction benchmark's smoke run (``--quick``: tiny models; its ratios mean nothing)."""

from __future__ import annotations

import re

import pytest
import torch

from ..conftest import load_module as _load
from .conftest import ROOT


@pytest.mark.slow
def test_benchmark_quick_run_prints_table_and_summary(capsys):
    threads = torch.get_num_threads()
    try:
        assert _load(ROOT / "benchmarks" / "bench_extract_files.py", "_bench_extract_files").main(["--quick"]) == 0
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert re.search(r"^\| default \(32 px\) +\| extract \(exact\) +\| \d+ ", out, re.M)
    assert "peak resident MiB" in out
    last = out.strip().splitlines()[-1]
    assert re.match(r"SUMMARY extract_files: ratio=[\d.]+x \(target (>=|<=) [\d.]+x\) (PASS|FAIL) \[.*quick.*\]$", last)
