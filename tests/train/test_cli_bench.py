"""The command line (train, export-run, recipes) and the benchmark scripts' entry points."""

from __future__ import annotations

import re

import importlib.util
import json
from pathlib import Path

import pytest

import seqjepa
from seqjepa.cli import main

from .tinydata import tiny_recipe

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_train_command_runs_a_recipe_file_and_export_run_loads(tmp_path, capsys):
    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps(tiny_recipe()))
    out = tmp_path / "run"
    assert main(["train", "--recipe", str(recipe), "--output", str(out), "--device", "cpu", "--allow-dataset-code",
                 "--set", "train.epochs=1", "--set", "train.log_every=3"]) == 0
    captured = capsys.readouterr()
    assert "img/s ETA" in captured.err and "completed: epoch 1" in captured.out  # progress on stderr, result on stdout
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 1 and {"loss", "val_probe_acc", "val_probe_r2", "lr"} <= set(json.loads(lines[0]))
    assert main(["export-run", str(out), "--to", str(tmp_path / "export")]) == 0
    assert seqjepa.load(str(tmp_path / "export")).config.image_size == 16


def test_train_command_reports_bad_arguments_in_one_line(tmp_path, capsys):
    assert main(["train", "--recipe", "toy-3diebench", "--output", str(tmp_path), "--set", "train.nope=1"]) == 2
    assert "unknown key 'nope'" in capsys.readouterr().err
    assert main(["train", "--recipe", "toy-3diebench", "--output", str(tmp_path), "--resume", "missing.pt"]) == 2
    assert main(["train", "--recipe", "no-such", "--output", str(tmp_path)]) == 2


def test_recipes_command_lists_the_shipped_recipes(capsys):
    assert main(["recipes"]) == 0
    assert "3diebench-rot " in capsys.readouterr().out


@pytest.mark.slow
def test_bench_train_quick_prints_the_ratio(capsys):
    ratio = _module("bench_train").main(["--quick"])
    assert ratio > 0
    assert "ratio reference/seqjepa:" in capsys.readouterr().out


def test_cuda_train_has_a_help_and_reports_no_gpu(capsys, monkeypatch):
    import torch

    mod = _module("cuda_train")
    with pytest.raises(SystemExit) as exc:
        mod.main(["--help"])
    assert exc.value.code == 0
    capsys.readouterr()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the no-GPU path, on any machine
    assert mod.main(["--steps", "1"]) == 1
    assert capsys.readouterr().out == "cuda_train: no CUDA device here; nothing measured\n"


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_cuda_train_measures_steps_on_a_gpu(capsys):
    mod = _module("cuda_train")
    assert mod.main(["--batch", "4", "--steps", "2", "--warmup", "1"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.search(r"batch 4 x \(\d+\+1\) views .*: [\d.]+ ms/step, [\d.]+ seq/s", line), line
