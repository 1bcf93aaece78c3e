"""``seqjepa infer-action``, ``seqjepa eval --protocol world-model`` and the protocol on a small toy data set."""

from __future__ import annotations

import json

import pytest
import torch

import seqjepa
from seqjepa.cli import main
from seqjepa.eval.world_model import WorldModelOptions, run_world_model, write_world_model_report


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    from seqjepa.data.synthetic import make_toy_3diebench

    root = tmp_path_factory.mktemp("world") / "toy"
    make_toy_3diebench(root, objects=20, views=8, classes=2, size=32, seed=5, workers=1,
                       light_color="white", face_colors="independent", max_angle=0.785)
    return root


@pytest.fixture(scope="module")
def default_model():
    return seqjepa.load()


def test_protocol_reports_every_number_with_its_spread(toy, default_model, tmp_path):
    torch.manual_seed(0)
    untrained = seqjepa.create_model(default_model.config).eval()
    opts = WorldModelOptions(num_views=2, candidates=4, draws=2, max_objects=4, batch_size=4, grid_size=64, steps=1, top_k=1)
    results = run_world_model({"default": default_model, "untrained": untrained}, str(toy), options=opts)
    assert results["models"] == ["default", "untrained"] and results["num_objects"] == 4
    for name in ("default", "untrained", "guessing"):
        m = results["metrics"][name]
        for key in ("median_error_deg", "mean_error_deg", "top1_pose", "top1_object"):
            assert 0 <= m[key]["mean"] <= 180 and m[key]["spread"] >= 0, (name, key)
    assert results["metrics"]["guessing"]["top1_pose"]["mean"] == 25.0
    assert {f"rollout_cos_{t}" for t in range(1, 5)} <= set(results["metrics"]["default"])
    paths = write_world_model_report(results, tmp_path / "out")
    assert json.loads(paths["json"].read_text())["protocol"] == "world-model"
    assert "| guessing |" in paths["markdown"].read_text()
    assert paths["plots"][0].stat().st_size > 1000


def test_protocol_refuses_models_that_do_not_match(toy, default_model):
    other = seqjepa.create_model(seqjepa.SeqJEPAConfig(
        backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [4, 4, 4, 16], "stem_width": 4}, encoder_dim=16,
        image_size=16, action_embed_dim=4, num_layers=1, num_heads=2, predictor_hidden=8, cifar_stem=True))
    with pytest.raises(ValueError, match=r"^models: 'other' has action space 'rotation' at 16px"):
        run_world_model({"default": default_model, "other": other}, str(toy))
    with pytest.raises(ValueError, match=r"^draws: expected an integer >= 2, got 1"):
        WorldModelOptions(draws=1)


@pytest.mark.slow
def test_eval_command_runs_the_world_model_protocol(toy, tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["-q", "eval", "--protocol", "world-model", "--data-root", str(toy), "--out", str(out), "--device", "cpu",
                 "--world-views", "2", "--candidates", "4", "--max-val", "4", "--batch-size", "4", "--redraw", "2"]) == 0
    assert (out / "report.md").is_file() and (out / "world-model.png").is_file()
    assert json.loads((out / "report.json").read_text())["models"][1] == "untrained"


def _save(tensor, path, model):
    from PIL import Image

    mean, std = torch.tensor(model.config.mean)[:, None, None], torch.tensor(model.config.std)[:, None, None]
    pixels = ((tensor * std + mean).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
    Image.fromarray(pixels).save(path)


def test_infer_action_command(toy, default_model, tmp_path, capsys):
    from seqjepa.data import ThreeDIEBench

    cfg = default_model.config
    item = ThreeDIEBench(toy, split="val", num_views=2, image_size=cfg.image_size, mean=cfg.mean, std=cfg.std)[0]
    names = []
    for i, img in enumerate([*item["views"], item["target"]]):
        _save(img, tmp_path / f"v{i}.png", default_model)
        names.append(f"v{i}.png")
    acts = json.dumps(item["actions"][:1].tolist())
    assert main(["infer-action", "--views", str(tmp_path / names[0]), str(tmp_path / names[1]), "--actions", acts,
                 "--target", str(tmp_path / names[2]), "--grid-size", "256"]) == 0
    out = capsys.readouterr().out
    assert "quaternion (x, y, z, w):" in out and "axis-angle:" in out and "score (cosine):" in out
    manifest = tmp_path / "queries.jsonl"
    query = {"views": names[:2], "actions": item["actions"][:1].tolist(), "target": names[2]}
    manifest.write_text(json.dumps(query) + "\n" + json.dumps({**query, "views": names[:1], "actions": []}) + "\n")
    assert main(["infer-action", "--manifest", str(manifest), "--out", str(tmp_path / "rows.jsonl"), "--grid-size", "256"]) == 0
    rows = [json.loads(line) for line in (tmp_path / "rows.jsonl").read_text().splitlines()]
    assert [r["query"] for r in rows] == [1, 2] and all(0 <= r["angle_deg"] <= 180 for r in rows)


@pytest.mark.parametrize("args, message", [
    (["--views", "a.png"], "--views and --target: required"),
    (["--views", "a.png", "--target", "b.png", "--actions", "[[1, 2]"], "query actions: expected a JSON list of actions"),
    (["--manifest", "nowhere.jsonl", "--out", "x.jsonl"], "--manifest: nowhere.jsonl is not a file"),
    (["--manifest", "m.jsonl"], "--out: required with --manifest"),
])
def test_infer_action_command_refuses(args, message, capsys):
    assert main(["infer-action", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("actions", ["[" * 100000 + "]" * 100000, "[[1" + "0" * 5000 + "]]"])
def test_infer_action_refuses_hostile_actions_json_in_one_line(actions, capsys):
    from seqjepa.cli import main

    assert main(["infer-action", "--views", "a.png", "--actions", actions, "--target", "b.png"]) != 0
    err = capsys.readouterr().err
    assert "actions: expected a JSON list of actions" in err and "Traceback" not in err and len(err) < 2000


def test_manifest_lines_are_read_by_one_reader(tmp_path):
    from seqjepa.utils.jsonlines import iter_json_objects

    text = '{"a": 1}\n\n{"b": 2}\n'
    assert list(iter_json_objects(text, "m")) == [(1, {"a": 1}), (3, {"b": 2})]
    for bad, why in (("[1]", "expected a JSON object, got list"), ("{", "not valid JSON"),
                     (r"[" * 100000, r"not valid JSON \(nested too deeply\)"), ('{"x": 1' + "0" * 5000 + "}", "not valid JSON")):
        with pytest.raises(ValueError, match=rf"^m line 2: {why}"):
            list(iter_json_objects('{"ok": 1}\n' + bad, "m"))
