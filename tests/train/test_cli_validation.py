"""Arguments are checked before any work: one line, exit 2, nothing created; real bugs keep their traceback."""

from __future__ import annotations

import json
import re

import pytest
import torch

from seqjepa.cli import main
from seqjepa.cli.convert import parse_overrides
from seqjepa.errors import ConfigError
from seqjepa.train import apply_overrides, load_recipe, recipe_from_dict

from .tinydata import tiny_recipe


def _run(argv, capsys) -> tuple[int, str]:
    status = main(argv)
    err = capsys.readouterr().err
    return status, err


TRAIN_CASES = [
    (["--set", "train.ema_base=abc"], r"train.ema_base: expected a finite number in \[0.0, 1.0\], got 'abc'"),
    (["--set", "train.ema_base=true"], r"train.ema_base: expected a finite number .* got True"),
    (["--set", 'optim.betas=["a","b"]'], r"optim.betas: expected two finite numbers in \[0, 1\), got \['a', 'b'\]"),
    (["--set", "optim.betas=[0.9, 1.5]"], r"optim.betas"),
    (["--set", "optim.lr=Infinity"], r"optim.lr: expected a finite number >= 0.0, got 'Infinity'"),
    (["--set", "optim.lr=-1e-3"], r"optim.lr: expected a finite number >= 0.0, got -0.001"),
    (["--set", "optim.lr=1e999"], r"optim.lr: expected a finite number >= 0.0, got inf"),
    (["--set", "optim.warmup_epochs=2.5"], r"optim.warmup_epochs: expected an integer"),
    (["--set", "train.epochs=true"], r"train.epochs: expected an integer in \[1, "),
    (["--set", "train.seed=-1"], r"train.seed: expected an integer in \[0, "),
    (["--set", "train.max_steps=1e100"], r"train.max_steps: expected an integer"),
    (["--set", "train.batch_size=1"], r"train.batch_size: expected an integer in \[2, "),
    (["--set", "train.num_workers=100000"], r"train.num_workers: expected an integer in \[0, 1024\]"),
    (["--set", "train.probes=1"], r"train.probes: expected true or false, got 1"),
    (["--set", "train.precision=fp8"], r"train.precision"),
    (["--set", "data.val_split=3"], r"data.val_split: expected a split name or null, got 3"),
    (["--set", "data.options=[1]"], r"data.options: expected an object"),
    (["--set", "data.options.bogus=1", "--data-root", "{tmp}"], r"data.options: dataset '3diebench' .* takes no option\(s\) \['bogus'\]"),
    (["--set", "train.epochs.x=1"], r"--set 'train.epochs.x=1': 'epochs' is not an object"),
    (["--set", "train.epochs=" + "[" * 5000],  # the echoed value is cut in the middle (issue 27)
     r"--set 'train.epochs=\[+…\[\d+ characters\]…\[+': the value is nested more than 32 levels deep"),
    ([], r"--data-root: dataset '3diebench' \(data.dataset\) reads its files from a directory; give --data-root DIR"),
    (["--data-root", "{tmp}/missing"], r"--data-root: .*missing is not a directory \(no such directory\)"),
    (["--data-root", "{file}"], r"--data-root: .* is not a directory \(a file\)"),
    (["--data-root", "{tmp}", "--output", "{file}"], r"--output: .* exists and is not a directory"),
    (["--device", "gpu"], r"argument --device: invalid choice"),
]


@pytest.mark.parametrize("extra, match", TRAIN_CASES)
def test_train_validates_every_argument_before_work(extra, match, tmp_path, capsys):
    (tmp_path / "a-file").write_text("x")
    out = tmp_path / "run"
    extra = [a.replace("{tmp}", str(tmp_path)).replace("{file}", str(tmp_path / "a-file")) for a in extra]
    status, err = _run(["train", "--recipe", "toy-3diebench", "--output", str(out), *extra], capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("seqjepa: error: "), err
    assert re.search(match, err), err
    assert not out.exists()  # nothing created, nothing locked


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer on a machine without a GPU")
def test_train_on_cuda_without_a_gpu_is_refused_before_work(tmp_path, capsys):
    status, err = _run(["train", "--recipe", "toy-3diebench", "--output", str(tmp_path / "run"), "--data-root", str(tmp_path),
                        "--device", "cuda"], capsys)
    assert status == 2 and "no CUDA device is available" in err and not (tmp_path / "run").exists()


def test_every_recipe_field_is_checked_for_type_finiteness_and_range():
    base = tiny_recipe()
    bad = {
        ("optim", "lr"): [float("inf"), float("nan"), "1e-3", True, -1.0, None],
        ("optim", "min_lr"): [float("-inf")],
        ("optim", "betas"): [[0.9], [0.9, float("nan")], "0.9,0.99", [True, 0.9]],
        ("train", "ema_base"): [True, "abc", 1.5, float("nan")],
        ("train", "epochs"): [0, 1.0, True, 10**30],
        ("train", "probe_hidden"): [0],
        ("train", "tf32"): ["true", 0],
        ("data", "num_views"): [True, 0],
        ("data", "dataset"): ["", 3],
        ("data", "options"): [{"not an identifier": 1}],
    }
    for (section, key), values in bad.items():
        for value in values:
            recipe = json.loads(json.dumps(base, allow_nan=True))
            recipe[section][key] = value
            with pytest.raises(ConfigError, match=re.escape(f"{section}.{key}")):
                recipe_from_dict(recipe)
    with pytest.raises(ConfigError, match="section 'model' must be an object"):
        recipe_from_dict({**base, "model": 5})
    from seqjepa.train.recipe import validate_recipe

    with pytest.raises(ConfigError, match=r"train: missing key\(s\) \['tf32'\]"):
        validate_recipe({**base, "train": {k: v for k, v in base["train"].items() if k != "tf32"}})


EVAL = ["eval", "--protocol", "3diebench-rot", "--data-root", "{tmp}", "--out", "{tmp}/out"]


@pytest.mark.parametrize(
    "argv, match",
    [
        ([*EVAL, "--device", "bogus"], r"--device: expected auto, cpu, cuda, cuda:N or mps, got 'bogus'"),
        ([*EVAL, "--batch-size", "0"], r"argument --batch-size: expected an integer >= 1, got '0'"),
        ([*EVAL, "--workers", "-1"], r"argument --workers: expected an integer >= 0, got '-1'"),
        ([*EVAL, "--lr", "nan"], r"argument --lr: expected a finite number >= 0, got 'nan'"),
        ([*EVAL, "--epochs", "1e3"], r"argument --epochs: expected an integer >= 1, got '1e3'"),
        ([*EVAL, "--max-views", "0"], r"argument --max-views"),
        (["eval", "--protocol", "3diebench-rot", "--data-root", "{tmp}/missing", "--out", "{tmp}/out"], r"--data-root: .* is not a directory"),
        (["eval", "--protocol", "3diebench-rot", "--data-root", "{tmp}", "--out", "{file}"], r"--out: .* exists and is not a directory"),
        (["finetune", "--data", "{tmp}/missing", "--out", "{tmp}/out"], r"--data: .* is not a directory"),
        (["finetune", "--data", "{tmp}", "--out", "{tmp}/out", "--device", "cuda:x"], r"--device: expected"),
        (["finetune", "--data", "{tmp}", "--out", "{tmp}/out", "--head-lr", "inf"], r"argument --head-lr: expected a finite number"),
        (["finetune", "--data", "{tmp}", "--out", "{tmp}/out", "--batch-size", "0"], r"argument --batch-size"),
    ],
)
def test_eval_and_finetune_check_arguments_before_loading_anything(argv, match, tmp_path, capsys, monkeypatch):
    import seqjepa.cli.evaluate as evaluate

    def no_loading(*args, **kwargs):  # a cached feature pass would start with the model: it must not be reached
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr(evaluate, "_load_model", no_loading)
    (tmp_path / "a-file").write_text("x")
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{file}", str(tmp_path / "a-file")) for a in argv]
    status, err = _run(argv, capsys)
    assert status == 2 and err.count("\n") == 1 and err.startswith("seqjepa: error: "), err
    assert re.search(match, err), err
    assert not (tmp_path / "out").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the answer on a machine without a GPU")
def test_eval_on_cuda_without_a_gpu_is_one_line(tmp_path, capsys):
    status, err = _run([a.replace("{tmp}", str(tmp_path)) for a in EVAL] + ["--device", "cuda"], capsys)
    assert status == 2 and "--device cuda: no CUDA device is available here" in err


def test_eval_report_names_the_file_with_bad_json(tmp_path, capsys):
    bad = tmp_path / "broken.json"
    bad.write_text('{"protocol": "3diebench-rot", ')
    status, err = _run(["eval-report", "--runs", str(bad), "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and err.count("\n") == 1 and f"{bad} is not valid JSON" in err, err
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "report.json").write_bytes(b"\xff\xfe")
    status, err = _run(["eval-report", "--runs", str(tmp_path / "run"), "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and str(tmp_path / "run" / "report.json") in err and "not UTF-8" in err, err
    odd = tmp_path / "odd.json"
    odd.write_text(json.dumps({"protocol": "3diebench-rot", "model": {"train_seq_len": "3"}, "top1_zagg": {}}))
    status, err = _run(["eval-report", "--runs", str(odd), "--out", str(tmp_path / "out")], capsys)
    assert status == 2 and f"{odd}: model.train_seq_len must be an integer" in err, err


def test_convert_and_recipes_share_one_set_parser_and_one_error_style():
    values = ["4", "0.5", "true", "null", "[0.9, 0.999]", '{"a": 1}', '"text"', "paper", "Infinity", "NaN", "-Infinity", "", "a=b"]
    for value in values:
        via_convert = parse_overrides([f"field={value}"])["field"]
        via_recipe = apply_overrides({"train": {}}, [f"train.epochs={value}"])["train"]["epochs"]
        assert via_convert == via_recipe and type(via_convert) is type(via_recipe), value
    assert parse_overrides(["x=Infinity"])["x"] == "Infinity"  # not a JSON number: stays a string, refused by name
    for item in ("=4", "novalue", " =1", "a..b=1"):
        with pytest.raises(ValueError, match=r"^--set '.*': expected FIELD=VALUE \(VALUE is JSON, or else a string\)$"):
            parse_overrides([item])
        with pytest.raises(ValueError, match=r"^--set '.*': expected SECTION.KEY=VALUE"):
            load_recipe("toy-3diebench", [item])
    deep = "x=" + "[" * 100_000
    with pytest.raises(ValueError, match="nested more than 32 levels"):
        parse_overrides([deep])


def test_unexpected_exceptions_keep_their_traceback(monkeypatch):
    import seqjepa.train

    def broken():
        raise RuntimeError("a real bug")

    monkeypatch.setattr(seqjepa.train, "list_recipes", broken)
    with pytest.raises(RuntimeError, match="a real bug"):
        main(["recipes"])
