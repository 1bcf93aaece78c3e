"""``seqjepa list`` and ``seqjepa info``: the zoo at a glance, from the shipped cards, without network."""

from __future__ import annotations

import json

from seqjepa.cli import main
from seqjepa.zoo import _glance
from seqjepa.zoo.registry import get_pretrained_cfg, list_pretrained


def test_list_prints_one_row_per_model_with_the_columns(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["list"]) == 0
    header, rule, *rest = capsys.readouterr().out.splitlines()
    columns = [c.strip() for c in header.split("  ") if c.strip()]
    assert columns == ["name", "backbone", "parameters", "input", "top-1 z_AGG @M_val", "action R²", "weights", "cached"]
    rows = {line.split()[0]: line for line in rest[: len(list_pretrained())]}
    assert set(rows) == set(list_pretrained())
    tiny = rows["tiny-toy3diebench"]
    for cell in ("narrow ResNet-10", "1.02 M", "3x32x32", "78.8 @8 (untrained 24.9)", "0.122 (untrained -0.039)",
                 "4.1 MB", "in package"):
        assert cell in tiny, cell
    assert "87.41 @5 (paper)" in rows["resnet18-3diebench"] and "0.71 (paper)" in rows["resnet18-3diebench"]
    assert rows["resnet18-3diebench"].rstrip().endswith("no")  # nothing in an empty cache


def test_list_json_has_the_same_cells(capsys):
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    tiny = next(r for r in rows if r["name"] == "tiny-toy3diebench")
    assert tiny["parameter_count"] == 1_018_624 and tiny["input"] == "3x32x32"
    assert tiny["description"] == get_pretrained_cfg("tiny").description


def test_info_is_short_and_json_is_the_whole_card(capsys):
    assert main(["info", "tiny"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert 5 <= len(lines) <= 12 and lines[0].startswith("tiny-toy3diebench: ")
    assert not any("measured[" in line for line in lines)
    assert any("78.8 @8 (untrained 24.9)" in line for line in lines)
    assert main(["info", "tiny", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == get_pretrained_cfg("tiny").to_dict()
    assert main(["info", "tiny", "--all"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 100  # every field, flattened


def test_headlines_prefer_measured_numbers_and_skip_ablations():
    card = {"training": {"recommended_inference_seq_len": 5},
            "reported": [{"metric": "top1_linear_zagg", "value": 90.0, "setting": "M_tr=3, M_val=5"}],
            "measured": [{"metric": "top1_linear_zagg", "value": 50.0, "setting": "ablation without actions, M_val=5"},
                         {"metric": "top1_linear_zagg", "value": 70.25, "setting": "M_val=3", "floor": 20.0},
                         {"metric": "top1_linear_zagg", "value": 71.0, "setting": "M_val=4"}]}
    assert _glance.headline_top1(card) == "71.0 @4"  # no measured M_val=5: the longest measured
    assert _glance.headline_top1({"reported": card["reported"], "training": card["training"]}) == "90 @5 (paper)"
    assert _glance.headline_r2(card) == _glance.DASH
    assert _glance.weights_size({"source": {"size": 4_094_616}}) == "4.1 MB" and _glance.weights_size({}) == _glance.DASH
