import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from seqjepa import SeqJEPA
from seqjepa.cli import main
from seqjepa.train.finetune import load_finetuned
from tests.conftest import small_config


def _model_dir(tmp_path, name, **changes):
    torch.manual_seed(0)
    return SeqJEPA(small_config(**changes)).eval().save_pretrained(tmp_path / name)


def _eval(model_dir, out, cache, protocol="3diebench-rot"):
    return main(["eval", "--model", model_dir, "--protocol", protocol, "--out", str(out), "--dataset",
                 "tests.eval.conftest:cli_factory", "--max-views", "3", "--epochs", "2", "--cache-dir", str(cache),
                 "--device", "cpu", "--bootstrap", "30"])


def test_cli_eval_writes_reports_and_heatmap(tmp_path, capsys):
    runs = []
    for mtr in (1, 3):
        out = tmp_path / f"run{mtr}"
        assert _eval(_model_dir(tmp_path, f"m{mtr}", train_seq_len=mtr), out, tmp_path / "cache") == 0
        report = json.loads((out / "report.json").read_text())
        assert report["model"]["train_seq_len"] == mtr and set(report["top1_zagg"]) == {"1", "2", "3"}
        weights = Path(tmp_path / f"m{mtr}" / "model.safetensors").read_bytes()
        assert report["model"]["weights_sha256"] == __import__("hashlib").sha256(weights).hexdigest()
        md = (out / "report.md").read_text()
        assert "| z_AGG | 2 |" in md and "- no reference: a local model has no registry card" in md
        assert report["options"]["bootstrap"] == 30 and "30 resamples" in md
        assert report["reference"]["kind"] == "none" and set(report["spread"]["top1_zagg"]) == {"1", "2", "3"}
        for png in ("top1_vs_mval.png", "r2.png"):
            assert (out / png).read_bytes()[:4] == b"\x89PNG"
        runs.append(str(out / "report.json"))
    assert main(["eval-report", "--runs", *runs, "--out", str(tmp_path / "heat")]) == 0
    heat = json.loads((tmp_path / "heat" / "heatmap.json").read_text())
    assert heat["train_seq_len"] == [1, 3] and len(heat["top1"]) == 3
    assert (tmp_path / "heat" / "heatmap_top1.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_eval_path_integration_plot(tmp_path):
    out = tmp_path / "pi"
    assert _eval(_model_dir(tmp_path, "m"), out, tmp_path / "cache", "path-integration") == 0
    assert (out / "r2_vs_mval.png").is_file()
    assert "vision only" in json.loads((out / "report.json").read_text())["path_integration"]


def test_cli_eval_bad_arguments(tmp_path, capsys):
    assert main(["eval", "--protocol", "3diebench-rot", "--out", str(tmp_path), "--dataset", "nocolon"]) == 2
    assert "MODULE:CALLABLE" in capsys.readouterr().err
    assert main(["eval", "--protocol", "3diebench-rot", "--out", str(tmp_path)]) == 2
    assert "--data-root" in capsys.readouterr().err
    assert main(["eval", "--protocol", "3diebench-rot", "--out", str(tmp_path), "--dataset",
                 "tests.eval.conftest:cli_factory", "--bootstrap", "1"]) == 2
    assert "bootstrap" in capsys.readouterr().err


def test_cli_finetune_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for cls, colour in (("cats", 40), ("dogs", 200)):
            d = tmp_path / "imgs" / split / cls
            d.mkdir(parents=True)
            for i in range(3):
                arr = np.clip(colour + rng.normal(0, 10, (20, 20, 3)), 0, 255).astype(np.uint8)
                Image.fromarray(arr).save(d / f"{i}.png")
    out = tmp_path / "ft"
    code = main(["finetune", "--model", _model_dir(tmp_path, "m"), "--data", str(tmp_path / "imgs"), "--out", str(out),
                 "--epochs", "1", "--batch-size", "4", "--device", "cpu"])
    assert code == 0
    clf = load_finetuned(out)
    assert clf.on == "equivariant" and clf.num_classes == 2
    assert main(["finetune", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "imgs"), "--out", str(out),
                 "--on", "invariant"]) == 2


def test_without_matplotlib_the_report_is_written_without_figures(tmp_path, monkeypatch, caplog):
    import builtins
    import json as _json

    from seqjepa.errors import MissingExtraError
    from seqjepa.eval.report import plot_report, write_report

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ModuleNotFoundError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    results = {"protocol": "x", "top1_zagg": {"1": 50.0}, "top1_z": 40.0}
    with pytest.raises(MissingExtraError, match=r"pip install 'seqjepa\[plots\]'"):
        plot_report(results, tmp_path)
    with caplog.at_level("WARNING", logger="seqjepa.eval"):
        paths = write_report(results, tmp_path / "r")
    assert paths["plots"] == [] and _json.loads((tmp_path / "r" / "report.json").read_text())["top1_z"] == 40.0
    assert any("seqjepa[plots]" in r.getMessage() for r in caplog.records)


def test_cli_eval_prints_a_rounded_table_and_the_time(tmp_path, capsys):
    assert _eval(_model_dir(tmp_path, "m"), tmp_path / "out", tmp_path / "cache") == 0
    out = capsys.readouterr().out
    assert "{'" not in out and "R² {" not in out  # no raw dicts
    lines = out.splitlines()
    assert lines[0].split() == ["metric", "ours", "none"]
    top1 = next(line for line in lines if line.startswith("top-1 z_AGG (%), M_val=2"))
    assert __import__("re").search(r"\d+\.\d ± \d+\.\d\s+—$", top1)  # one decimal, ± spread, no reference
    assert any(line.startswith("R² rotation") for line in lines)
    assert __import__("re").search(r"^done in \d+ s$", lines[-1])


def test_cli_eval_quick_preset_and_missing_matplotlib(tmp_path, capsys, caplog, monkeypatch):
    import importlib.util
    import logging

    import seqjepa.eval as ev
    from seqjepa.cli._eval_console import QUICK

    seen = {}
    monkeypatch.setattr(ev, "run_protocol", lambda model, protocol, options, **kw: seen.setdefault("o", options) and {})
    monkeypatch.setattr(ev, "write_report", lambda results, out: {"json": "j", "markdown": "m", "plots": []})
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a))
    with caplog.at_level(logging.INFO, logger="seqjepa"):
        assert main(["eval", "--model", str(_model_dir(tmp_path, "m")), "--protocol", "3diebench-rot", "--out",
                     str(tmp_path / "o"), "--dataset", "tests.eval.conftest:cli_factory", "--device", "cpu",
                     "--quick", "--epochs", "3"]) == 0
    options = seen["o"]
    assert options.probe.epochs == 3  # given on the command line: it wins over the preset
    assert (options.max_views, options.max_train, options.max_val, options.bootstrap, options.mlp_width) == (
        QUICK["max_views"], QUICK["max_train"], QUICK["max_val"], QUICK["bootstrap"], QUICK["mlp_width"])
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("--quick: ") for m in messages)
    assert any("matplotlib is not installed" in m for m in messages)


def test_eval_report_weights_sha256_is_the_files(tmp_path):
    """One meaning of "weights sha256" everywhere: the model.safetensors file's, as on the card and in extract."""
    import hashlib

    from seqjepa.zoo.factory import describe_weights

    model_dir = _model_dir(tmp_path, "m")
    want = hashlib.sha256((Path(model_dir) / "model.safetensors").read_bytes()).hexdigest()
    assert describe_weights(str(model_dir))["weights_sha256"] == want
    assert describe_weights("tiny-toy3diebench")["weights_sha256"] == __import__("seqjepa").get_pretrained_cfg(
        "tiny-toy3diebench").source.sha256
    assert describe_weights(str(tmp_path / "nowhere"))["weights_sha256"] is None
