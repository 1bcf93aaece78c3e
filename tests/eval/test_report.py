"""Reports that stand alone: the reference column, the data's provenance, spreads and the plots."""

import copy
import json
import math
import os
import re
import shutil

import pytest
import torch

import seqjepa
from seqjepa import SeqJEPA
from seqjepa.eval import EvalOptions, ProbeSettings, data_fingerprint, reference_for, render_markdown, run_protocol, write_report
from seqjepa.eval.paper import PAPER
from seqjepa.eval.reference import card_numbers
from seqjepa.zoo.registry import WEIGHTS_DIR, ModelCard
from tests.conftest import small_config

FAST = EvalOptions(max_views=3, probe=ProbeSettings(epochs=2, batch_size=16), batch_size=8, mlp_width=32, bootstrap=50)
NUMBER_SECTIONS = ("top1_z", "top1_zagg", "r2", "r2_sie", "path_integration", "path_integration_sie")


def _card_json(name):
    return json.loads((WEIGHTS_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _leaves(tree, path=()):
    if isinstance(tree, dict):
        for key, value in tree.items():
            yield from _leaves(value, path + (key,))
    else:
        yield path, tree


def _at(tree, path):
    for key in path:
        tree = tree[key]
    return tree


@pytest.fixture
def small_model():
    torch.manual_seed(0)
    return SeqJEPA(small_config(train_seq_len=3)).eval()


# ---------------------------------------------------------------- the reference column
def test_default_model_on_toy_data_is_compared_with_its_own_card(toy_root):
    model = seqjepa.load("tiny-toy3diebench")
    results = run_protocol(model, "3diebench-rot", data_root=str(toy_root), options=FAST, model_name="tiny-toy3diebench")
    ref = results["reference"]
    assert ref["kind"] == "card" and "tiny-toy3diebench" in ref["source"]
    assert "paper" not in results
    own = [r for r in _card_json("tiny-toy3diebench")["measured"] if "ablation" not in r["setting"]]
    by_metric = {r["metric"]: r["value"] for r in own if r["metric"] != "top1_linear_zagg"}
    zagg = {re.search(r"M_val=(\d+)", r["setting"]).group(1): r["value"] for r in own if r["metric"] == "top1_linear_zagg"}
    assert ref["top1_zagg"] == zagg and len(zagg) == 8
    assert ref["top1_z"] == by_metric["top1_linear_z"]
    assert ref["r2"] == {"rotation": by_metric["rotation_r2"], "rotation_from_zagg": by_metric["rotation_from_zagg_r2"],
                         "individual_rotation": by_metric["individual_rotation_r2"]}
    assert ref["r2_sie"]["rotation"] == by_metric["rotation_r2_sie"]
    md = render_markdown(results)
    row1 = next(r for r in own if r["metric"] == "top1_linear_zagg" and "M_val=1;" in r["setting"])
    assert ref["spread"]["top1_zagg"]["1"] == row1["spread"] and ref["floor"]["top1_zagg"]["1"] == row1["floor"]
    assert (f"| z_AGG | 1 | {results['top1_zagg']['1']:.2f} ± {results['spread']['top1_zagg']['1']:.2f} | "
            f"{zagg['1']:.2f} ± {row1['spread']:.2f} (untrained {row1['floor']:.2f} ± {row1['floor_spread']:.2f}) |") in md


def test_official_checkpoint_on_toy_data_has_no_reference(toy_root, small_model):
    results = run_protocol(small_model, "3diebench-rot", data_root=str(toy_root), options=FAST, model_name="resnet18-3diebench")
    ref = results["reference"]
    assert ref["kind"] == "none" and "toy data" in ref["note"] and "real 3DIEBench" in ref["note"]
    assert not any(key in ref for key in ("top1_zagg", "r2", "path_integration"))
    md = render_markdown(results)
    assert ref["note"] in md and "| z_AGG | 1 |" in md


def test_official_checkpoint_on_real_data_gets_the_papers_numbers(toy_root, small_model, tmp_path):
    real = tmp_path / "real"
    shutil.copytree(toy_root, real)
    (real / "toy.json").unlink()  # what the real 3DIEBench looks like: the same index files, no generator settings
    results = run_protocol(small_model, "3diebench-rot", data_root=str(real), options=FAST, model_name="resnet18-3diebench")
    ref = results["reference"]
    assert ref["kind"] == "paper" and "2505.03176" in ref["source"]
    assert ref["top1_zagg"] == {str(m): v for m, v in PAPER["3diebench"]["top1_zagg_heatmap"][3].items()}
    assert ref["r2"] == {"rotation": 0.71, "individual_rotation": 0.74}  # Table 1 at M_tr = 3
    assert results["data"]["toy"] is None
    assert "toy data: no" in render_markdown(results)


def test_reference_for_other_models_says_why_there_is_none(tmp_path):
    kw = dict(train_seq_len=3, data_root=str(tmp_path), toy=None)
    cases = {
        None: "local model",
        "hf-hub:someone/model": "not a registry name",
        "resnet18-3diebench-rotcolor": "not available",
        "resnet18-stl10-pls": "trained on STL-10",
    }
    for name, words in cases.items():
        ref = reference_for(name, "3diebench", **kw)
        assert ref["kind"] == "none" and words in ref["note"], (name, ref)
    for name in ("resnet18-3diebench", "tiny-toy3diebench"):
        ood = reference_for(name, "3diebench", ood=True, **kw)
        assert ood["kind"] == "none" and "3DIEBench-OOD" in ood["note"]
    assert reference_for("tiny-toy3diebench", "3diebench", **kw)["kind"] == "card"
    assert reference_for("resnet18-3diebench", "3diebench", train_seq_len=3, data_root=None, toy=None)["kind"] == "none"
    assert reference_for("resnet18-3diebench", "3diebench", **kw)["kind"] == "paper"
    stl = reference_for("resnet18-stl10-pls", "stl10", train_seq_len=4, data_root=str(tmp_path), toy=None)
    assert stl["kind"] == "paper" and stl["r2"] == {"saccade_position": 0.802}


def test_card_numbers_skip_ablations_and_rows_they_cannot_place():
    raw = _card_json("tiny-toy3diebench")
    rows = [
        {"metric": "top1_linear_z", "value": 1.0, "setting": "ablation without actions, one view", "source": "s"},
        {"metric": "top1_linear_z", "value": 90.0, "setting": "this model, one view", "source": "s", "spread": 0.5,
         "seeds": 3, "floor": 12.5, "floor_spread": 1.5},
        {"metric": "top1_linear_zagg", "value": 2.0, "setting": "this model, no inference length", "source": "s"},
        {"metric": "top1_linear_zagg", "value": 91.0, "setting": "this model, M_tr=3, M_val=2", "source": "t"},
        {"metric": "relative_rotation_r2", "value": 0.5, "setting": "this model", "source": "s", "spread": 0.01},
        {"metric": "training_minutes", "value": 13.0, "setting": "this model", "source": "s"},
    ]
    raw["measured"] = rows
    numbers = card_numbers(ModelCard.from_dict(raw))
    assert numbers["top1_z"] == 90.0 and numbers["top1_zagg"] == {"2": 91.0} and numbers["r2"] == {"rotation": 0.5}
    assert numbers["spread"] == {"top1_z": 0.5, "r2": {"rotation": 0.01}}
    assert numbers["floor"] == {"top1_z": 12.5} and numbers["floor_spread"] == {"top1_z": 1.5}
    assert numbers["sources"] == ["s", "t"]
    results = {"protocol": "3diebench-rot", "top1_z": 80.0, "top1_zagg": {"2": 85.0}, "spread": {"top1_z": 2.0},
               "reference": {"kind": "card", "note": "n", "source": "s", **numbers}}
    assert "| z (one view) | — | 80.00 ± 2.00 | 90.00 ± 0.50 (untrained 12.50 ± 1.50) |" in render_markdown(results)
    raw["measured"] = [rows[0], rows[-1]]
    assert card_numbers(ModelCard.from_dict(raw)) == {}


# ---------------------------------------------------------------- provenance
def test_report_states_its_setting(toy_root, small_model, tmp_path):
    options = EvalOptions(max_views=3, probe=ProbeSettings(epochs=3, batch_size=16), batch_size=8, mlp_width=32,
                          redraw=2, seed=5, bootstrap=40)
    results = run_protocol(small_model, "3diebench-rot", data_root=str(toy_root), options=options)
    paths = write_report(results, tmp_path / "report")
    md = open(paths["markdown"], encoding="utf-8").read()
    fingerprint = data_fingerprint(toy_root)["sha256"]
    assert results["data"]["root"] == os.path.abspath(toy_root) and results["data"]["fingerprint"]["sha256"] == fingerprint
    assert f"- data root: `{os.path.abspath(toy_root)}`" in md
    assert f"sha256 `{fingerprint}` over train_images.npy" in md
    assert "- toy data (toy.json): seed 0, objects 12, classes 3, views 6, size 16" in md
    assert "- protocol seed: 5" in md
    assert "- probes: 3 epochs, adamw, lr 0.0004" in md and "MLP width 32" in md
    assert "- view draws: 2 training view sets" in md
    assert f"- sequences: {results['num_train']} train, {results['num_val']} val, 3 views each" in md
    assert "bootstrap std over the 3 val sequences, 40 resamples" in md
    # a model passed in memory has no weights file: the report says so and names the fingerprint apart
    assert results["model"]["weights_sha256"] is None and "sha256" not in results["model"]
    assert "weights sha256 not known (a model passed in memory)" in md
    assert f"model fingerprint `{results['model']['fingerprint']}` (sha256 of its config and state dict)" in md
    assert "- no reference: a local model" in md
    saved = json.loads(open(paths["json"], encoding="utf-8").read())
    assert saved["data"]["toy"]["seed"] == 0 and saved["options"]["redraw"] == 2 and saved["options"]["bootstrap"] == 40
    png = tmp_path / "report" / "r2.png"
    assert str(png) in paths["plots"] and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("protocol", ["3diebench-rot", "path-integration"])
def test_every_number_has_a_bootstrap_spread(toy_root, small_model, protocol):
    results = run_protocol(small_model, protocol, data_root=str(toy_root), options=FAST)
    numbers = [(path, v) for key in NUMBER_SECTIONS if key in results for path, v in _leaves(results[key], (key,))]
    assert len(numbers) >= (12 if protocol == "path-integration" else 10)
    spreads = [_at(results["spread"], path) for path, _ in numbers]
    assert all(isinstance(s, float) and math.isfinite(s) and s >= 0 for s in spreads)
    assert any(s > 0 for s in spreads)
    assert sorted(p for p, _ in _leaves(results["spread"])) == sorted(p for p, _ in numbers)  # nothing else in it
    if "top1_z" in results:  # a top-1 over n val rows: the bootstrap std is near the binomial one
        n, p = results["num_val"], results["top1_z"] / 100
        assert results["spread"]["top1_z"] == pytest.approx(100 * math.sqrt(p * (1 - p) / n), rel=0.25, abs=1e-9)
    md = render_markdown(results)
    for path, value in numbers:
        if path[0] in ("top1_z", "top1_zagg", "r2", "path_integration"):
            digits = 2 if path[0].startswith("top1") else 3
            assert f"{value:.{digits}f} ± {_at(results['spread'], path):.{digits}f}" in md, path


def test_plots_label_the_reference_by_its_kind(tmp_path, monkeypatch):
    import matplotlib.axes

    labels = []
    real_errorbar = matplotlib.axes.Axes.errorbar

    def spy(self, *args, **kwargs):
        labels.append(kwargs.get("label"))
        return real_errorbar(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "errorbar", spy)
    from seqjepa.eval.report import plot_report

    results = {"protocol": "3diebench-rot", "top1_z": 50.0, "top1_zagg": {"1": 60.0, "2": 70.0},
               "r2": {"rotation": 0.4}, "r2_sie": {"rotation": 0.6},
               "spread": {"top1_z": 1.0, "top1_zagg": {"1": 2.0, "2": 3.0}, "r2": {"rotation": 0.05}, "r2_sie": {"rotation": 0.02}},
               "reference": {"kind": "card", "top1_zagg": {"1": 65.0}, "r2": {"rotation": 0.5}}}
    written = plot_report(results, tmp_path)
    assert [os.path.basename(p) for p in written] == ["top1_vs_mval.png", "r2.png"]
    assert "card (z_AGG)" in labels and "card" in labels and not any("paper" in str(x) for x in labels)
    paper = copy.deepcopy(results)
    paper["reference"]["kind"] = "paper"
    labels.clear()
    plot_report(paper, tmp_path)
    assert "paper (z_AGG)" in labels
