"""The loader benchmark runs in quick mode and prints its ratio line (speed itself is not tested)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_loader.py"


def test_bench_loader_quick(capsys):
    spec = importlib.util.spec_from_file_location("bench_loader", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^summary: .* ratio \d+\.\d\dx$", out, re.MULTILINE), out
