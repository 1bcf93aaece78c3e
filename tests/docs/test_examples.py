"""Each example runs end to end (``main(["--fast", ...])``) on a small model, and its pieces are right."""

from __future__ import annotations

import inspect
import json
import math
import re

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn import metrics as sklearn_metrics
from sklearn.linear_model import Ridge

import seqjepa
from seqjepa.data.synthetic import FACE_COLORS
from seqjepa.train.finetune import load_finetuned

from .conftest import EXAMPLES, load_example


def test_feature_extraction_procedural_views(small_model_dir, tmp_path, capsys):
    ex = load_example("feature_extraction")
    out = tmp_path / "feats.npz"
    assert ex.main(["--fast", "--model", str(small_model_dir), "--out", str(out)]) == 0
    feats = np.load(out)
    model = seqjepa.load(small_model_dir)
    assert feats["z"].shape == (3, model.config.encoder_dim)
    assert feats["z_agg"].shape == (model.config.token_dim,)
    assert "z_agg" in capsys.readouterr().out


def test_feature_extraction_files_match_the_model(small_model_dir, tmp_path):
    ex = load_example("feature_extraction")
    paths, actions = ex.make_procedural_views(tmp_path, 3)
    np.save(tmp_path / "actions.npy", actions)
    out = tmp_path / "feats.npz"
    argv = [*map(str, paths), "--actions", str(tmp_path / "actions.npy"), "--model", str(small_model_dir), "--out", str(out)]
    assert ex.main(argv) == 0
    feats = np.load(out)
    model = seqjepa.load(small_model_dir)
    views = torch.stack([model.transform(Image.open(p).convert("RGB")) for p in paths])
    with torch.no_grad():
        z = model.equivariant_embedding(views)
        z_agg = model.invariant_embedding(views[None], torch.from_numpy(actions)[None])
    np.testing.assert_allclose(feats["z"], z.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(feats["z_agg"], z_agg[0].numpy(), rtol=1e-5, atol=1e-6)
    # 40 degrees between consecutive views: q = (0, 0, sin 20deg, cos 20deg)
    np.testing.assert_allclose(actions[0], [0, 0, math.sin(math.radians(20)), math.cos(math.radians(20))], atol=1e-6)


def test_feature_extraction_needs_actions_for_an_action_conditioned_model(small_model_dir, tmp_path):
    ex = load_example("feature_extraction")
    paths, _ = ex.make_procedural_views(tmp_path, 2)
    with pytest.raises(SystemExit, match="--actions"):
        ex.main([*map(str, paths), "--model", str(small_model_dir)])


def test_finetune_classifier_trains_both_groups(small_model_dir, tmp_path):
    ex = load_example("finetune_classifier")
    out = tmp_path / "metrics.json"
    saved = tmp_path / "clf"
    argv = ["--fast", "--model", str(small_model_dir), "--on", "invariant", "--json", str(out), "--save", str(saved)]
    assert ex.main(argv) == 0
    history = json.loads(out.read_text())["history"]
    assert len(history) == 3
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert (saved / "config.json").is_file() and (saved / "model.safetensors").is_file()
    # the last epoch's test top-1 is the saved classifier's, counted here sample by sample
    args = ex.parse_args(argv)
    test = ex.make_split(seqjepa.load(small_model_dir), args.test_size, classes=args.classes, num_views=args.views,
                         seed=args.seed + 1)
    clf = load_finetuned(saved).eval()
    with torch.no_grad():
        correct = sum(int(clf(s["views"][None], s["actions"][None]).argmax(1).item() == s["label"].item()) for s in test)
    assert history[-1]["test_top1"] == pytest.approx(100.0 * correct / len(test))


def test_rotation_regression_runs_and_its_r2_is_sklearns(small_model_dir, tmp_path):
    ex = load_example("rotation_regression")
    out = tmp_path / "r2.json"
    assert ex.main(["--fast", "--model", str(small_model_dir), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["features"] == 2 * seqjepa.load(small_model_dir).config.encoder_dim
    # the same pairs through scikit-learn: Ridge on standardized features (alpha scaled by n), sklearn's R²
    args = ex.parse_args(["--fast", "--model", str(small_model_dir)])
    model = seqjepa.load(small_model_dir)
    scene = dict(classes=args.classes, face_colors=args.face_colors, light_color=args.light,
                 max_angle=math.radians(args.max_angle))
    x_train, y_train = ex.make_pairs(model, args.train_size, seed=args.seed, **scene)
    x_test, y_test = ex.make_pairs(model, args.test_size, seed=args.seed + 1, **scene)
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0) + 1e-8
    ridge = Ridge(alpha=args.alpha * len(x_train)).fit((x_train - mean) / scale, y_train)
    assert result["r2_train"] == pytest.approx(sklearn_metrics.r2_score(y_train, ridge.predict((x_train - mean) / scale)), abs=1e-6)
    assert result["r2_test"] == pytest.approx(sklearn_metrics.r2_score(y_test, ridge.predict((x_test - mean) / scale)), abs=1e-6)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 6))
    y = np.stack([x @ rng.normal(size=6) + 3.0, np.cos(x[:, 0])], axis=1)
    pred = ex.predict_ridge(ex.fit_ridge(x[:150], y[:150], 1e-3), x[150:])
    assert ex.r2_score(y[150:], pred) == pytest.approx(sklearn_metrics.r2_score(y[150:], pred), abs=1e-12)
    exact = ex.predict_ridge(ex.fit_ridge(x, y[:, :1], 0.0), x)
    assert ex.r2_score(y[:, :1], exact) == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="constant"):
        ex.r2_score(np.ones((4, 1)), np.zeros((4, 1)))


def test_examples_default_to_the_default_models_scene():
    """rotation_regression and the demo's views are in the default model's scene; fine-tuning tests off it."""
    scene = load_example("action_ablation").SCENE  # the default model's scene (its training set differs only in seed)
    assert scene["face_colors"] == "independent"
    ex = load_example("rotation_regression")
    args = ex.parse_args([])
    assert (args.face_colors, args.light) == (scene["face_colors"], scene["light_color"])
    assert math.radians(args.max_angle) == pytest.approx(scene["max_angle"])
    defaults = inspect.signature(ex.make_pairs).parameters
    assert defaults["face_colors"].default == scene["face_colors"] and defaults["light_color"].default == scene["light_color"]
    assert defaults["max_angle"].default == pytest.approx(scene["max_angle"])
    shipped = json.loads((EXAMPLES / "assets" / "example.json").read_text())["scene"]
    assert (shipped["face_colors"], shipped["light_color"]) == (scene["face_colors"], scene["light_color"])
    assert shipped["max_angle"] == pytest.approx(scene["max_angle"])

    parser = load_example("finetune_vs_linear_probe").make_parser()
    args = parser.parse_args([])
    assert args.face_colors != scene["face_colors"]  # a shift away from the training scene by default
    assert args.light == scene["light_color"] and math.radians(args.max_angle) == pytest.approx(scene["max_angle"])
    assert parser.parse_args(["--face-colors", scene["face_colors"]]).face_colors == scene["face_colors"]
    choices = next(a.choices for a in parser._actions if a.dest == "face_colors")
    assert tuple(choices) == FACE_COLORS


def test_rotation_pairs_are_two_views_and_their_relative_quaternion(small_model_dir):
    ex = load_example("rotation_regression")
    model = seqjepa.load(small_model_dir)
    d = model.config.encoder_dim
    x, y = ex.make_pairs(model, 5, seed=3, classes=2, batch_size=2)
    assert x.shape == (5, 2 * d) and y.shape == (5, 4)
    np.testing.assert_allclose(np.linalg.norm(y, axis=1), 1.0, atol=1e-12)
    again, _ = ex.make_pairs(model, 5, seed=3, classes=2)
    np.testing.assert_allclose(again, x, atol=1e-5)  # seeded, and batching does not change it
    assert not np.allclose(x[:, :d], x[:, d:])  # two different views
    # a rotation range of almost nothing: the relative rotation is the identity
    x, y = ex.make_pairs(model, 3, seed=3, classes=2, max_angle=1e-6)
    np.testing.assert_allclose(np.abs(y), [[0, 0, 0, 1]] * 3, atol=1e-6)


def test_retrieval_runs_and_neighbours_are_by_cosine(small_model_dir, tmp_path):
    ex = load_example("retrieval")
    out = tmp_path / "p.json"
    assert ex.main(["--fast", "--model", str(small_model_dir), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["k"] == 3
    # precision@3 recomputed here: cosine neighbours by matmul of unit vectors, hits counted by hand
    args = ex.parse_args(["--fast", "--model", str(small_model_dir)])
    model = seqjepa.load(small_model_dir)
    gallery, g_labels = ex.embed_sequences(model, args.gallery_size, classes=args.classes, num_views=args.views, seed=args.seed)
    queries, q_labels = ex.embed_sequences(model, args.queries, classes=args.classes, num_views=args.views, seed=args.seed + 1)
    cos = torch.nn.functional.normalize(queries, dim=1) @ torch.nn.functional.normalize(gallery, dim=1).T
    top = cos.argsort(dim=1, descending=True)[:, :3]
    hits = [int(g_labels[int(j)] == q_labels[i]) for i in range(len(q_labels)) for j in top[i]]
    assert result["precision_at_k"] == pytest.approx(sum(hits) / len(hits))

    gallery = torch.tensor([[1.0, 0.0], [0.0, 5.0], [-1.0, 0.1], [3.0, 3.1]])
    queries = torch.tensor([[2.0, 0.1], [0.0, -1.0]])
    idx, sims = ex.nearest_neighbours(queries, gallery, 2)
    assert idx.tolist() == [[0, 3], [0, 2]]
    np.testing.assert_allclose(sims[0, 0].item(), 2.0 / math.hypot(2.0, 0.1), rtol=1e-6)
    assert ex.precision_at_k(idx, np.array([0, 1]), np.array([0, 1, 1, 0])) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="k: expected"):
        ex.nearest_neighbours(queries, gallery, 5)


def test_load_official_checkpoint_round_trip(tmp_path):
    ex = load_example("load_official_checkpoint")
    out = tmp_path / "converted"
    assert ex.main(["--fast", "--out", str(out)]) == 0
    loaded = seqjepa.load(out)
    original = ex.small_model()
    views, actions = torch.randn(2, 3, 3, 16, 16), torch.randn(2, 2, 4)
    with torch.no_grad():
        assert torch.equal(loaded.invariant_embedding(views, actions), original.invariant_embedding(views, actions))


def test_train_tiny_trains_exports_and_loads(tmp_path):
    ex = load_example("train_tiny")
    out = tmp_path / "model"
    assert ex.main(["--fast", "--device", "cpu", "--out", str(out), "--run-dir", str(tmp_path / "run")]) == 0
    model = seqjepa.load(out)
    assert (tmp_path / "run" / "metrics.jsonl").is_file()
    assert model.config.image_size == 32 and model.config.train_seq_len == 1  # the toy recipe's M_tr


def test_finetune_vs_linear_probe_runs_both_arms(small_model_dir, tmp_path, capsys):
    ex = load_example("finetune_vs_linear_probe")
    out = tmp_path / "acc.json"
    assert ex.main(["--fast", "--model", str(small_model_dir), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result) == {"linear_probe_top1", "finetuned_top1"}
    text = capsys.readouterr().out
    # accuracies are counts over the held-out objects: multiples of 100 / n (n printed by the example)
    n = int(re.search(r"\((\d+) new objects", text).group(1))
    assert n >= 1 and all(abs(v * n / 100.0 - round(v * n / 100.0)) < 1e-9 for v in result.values())
    assert f"{result['linear_probe_top1']:6.2f} %" in text and f"{result['finetuned_top1']:6.2f} %" in text
    assert "frozen linear probe" in text and "fine-tuned" in text


@pytest.mark.slow
def test_action_ablation_trains_both_arms_evaluates_fresh_seeds_and_resumes(tmp_path, capsys):
    ex = load_example("action_ablation")
    work = tmp_path / "ablation"
    assert ex.main(["--fast", "--work", str(work)]) == 0
    for arm in ex.ARMS:  # two epochs kept (checkpoint_every=1) and the untrained network, on both fresh seeds
        assert sorted(p.name for p in (work / arm / "curve").iterdir()) == [
            f"epoch{e:04d}-seed{s}.json" for e in (0, 1, 2) for s in (1, 2)]
        report = json.loads((work / arm / "curve" / "epoch0002-seed2.json").read_text())
        assert report["data"]["toy"]["seed"] == 2 and report["ablation"]["arm"] == arm
        assert report["model"]["action_conditioned"] is (arm == "actions")
    assert sorted(p.name for p in (work / "actions" / "final").iterdir()) == [
        "trained-seed1.json", "trained-seed2.json", "untrained-seed1.json", "untrained-seed2.json"]
    curve = json.loads((work / "curve.json").read_text())
    cell = curve["actions"]["2"]["rotation R² from [z_0, z_1]"]
    values = [json.loads((work / "actions" / "curve" / f"epoch0002-seed{s}.json").read_text())["r2"]["rotation"] for s in (1, 2)]
    assert cell["n"] == 2 and cell["mean"] == pytest.approx(sum(values) / 2) and cell["std"] == pytest.approx(abs(values[0] - values[1]) / 2 ** 0.5)
    assert "Verdict: the gap" in (work / "summary.md").read_text()
    rows = json.loads((work / "card_measured.json").read_text())
    mine = [r for r in rows if r["setting"].startswith("this model")]
    assert mine and all(r["seeds"] == 2 and "floor" in r for r in mine)
    m_tr = json.loads((work / "actions" / "run" / "recipe.json").read_text())["model"]["train_seq_len"]
    assert all(f"M_tr={m_tr}, M_val=" in r["setting"] for r in rows if r["metric"] == "top1_linear_zagg")
    assert any(r["setting"].startswith("ablation") and "floor" not in r for r in rows)
    trained = [json.loads((work / "actions" / "final" / f"trained-seed{s}.json").read_text())["r2"]["rotation"] for s in (1, 2)]
    assert next(r for r in mine if r["metric"] == "rotation_r2")["value"] == pytest.approx(sum(trained) / 2, abs=5e-4)
    first_render = (work / "toy-seed1" / "toy.json").stat().st_mtime_ns
    capsys.readouterr()
    assert ex.main(["--fast", "--work", str(work)]) == 0  # resumes: no new data, no new epoch, no new evaluation
    out = capsys.readouterr().out
    assert (work / "toy-seed1" / "toy.json").stat().st_mtime_ns == first_render
    assert "12 of 12 evaluations already done; running 0" in out and "6 of 6 evaluations already done" in out
    assert "completed: epoch 2" in (work / "actions" / "train.log").read_text()


def test_action_ablation_verdict_needs_a_gap_beyond_twice_its_standard_error():
    ex = load_example("action_ablation")
    args = ex.parse_args(["--work", "unused"])
    label = "rotation R² from [z_0, z_1]"

    def final(a_mean, a_std, b_mean, b_std):
        return {"actions": {"trained": {label: {"mean": a_mean, "std": a_std, "n": 3}}, "untrained": {label: {"mean": 0.01, "std": 0.0, "n": 3}}},
                "no-actions": {"trained": {label: {"mean": b_mean, "std": b_std, "n": 3}}, "untrained": {}}}

    opened = ex.gap(final(0.60, 0.03, 0.40, 0.03))
    assert opened["opens"] and opened["difference"] == pytest.approx(0.20) and opened["standard_error"] == pytest.approx((2 * 0.03 ** 2 / 3) ** 0.5)
    assert not ex.gap(final(0.60, 0.15, 0.45, 0.15))["opens"]  # 0.15 apart, standard error 0.122
    assert not ex.gap(final(0.40, 0.01, 0.60, 0.01))["opens"]  # a gap the other way is no gap
    table = ex.summarize(final(0.60, 0.03, 0.40, 0.03), {}, args)
    assert "| rotation R² from [z_0, z_1] | 0.600 ± 0.030 | 0.400 ± 0.030 | 0.010 ± 0.000 |" in table
    assert "the gap in rotation R² from [z_0, z_1] opens: actions minus no actions +0.200" in table


@pytest.mark.slow
def test_world_model_study_signals_on_fresh_objects(tmp_path, capsys):
    """The study's signals: sensitivity is true minus shuffled per draw, exactly 0 for an action-free predictor;
    the supervised ceiling trains, resumes from its periodic save, and is measured with the same probe."""
    from seqjepa.data import synthetic

    ex = load_example("world_model_study")
    root = tmp_path / "toy"
    synthetic.make_toy_3diebench(root, objects=24, views=6, classes=2, size=32, seed=5, workers=1,
                                 light_color="white", face_colors="independent")
    out = tmp_path / "untrained.json"
    assert ex.main(["signals", "--untrained", "--data-root", str(root), "--draws", "2", "--out", str(out)]) == 0
    r = json.loads(out.read_text())
    assert r["draws"] == 2 and len(r["sensitivity"]["values"]) == 2
    for t, s, d in zip(r["cos_true"]["values"], r["cos_shuffled"]["values"], r["sensitivity"]["values"]):
        assert d == pytest.approx(t - s, abs=1e-9)
    assert all(0 <= v <= 100 for k in ("top1_z", "top1_zagg1", "top1_zagg3") for v in r[k]["values"])
    assert r["r2_rel"]["mean"] <= 1.0

    flat = tmp_path / "no-actions.json"
    no_actions = ["--set", "model.action_conditioned=false", "--set", "model.learn_action_embedding=false"]
    assert ex.main(["signals", "--untrained", *no_actions, "--data-root", str(root), "--draws", "2", "--out", str(flat)]) == 0
    assert json.loads(flat.read_text())["sensitivity"]["values"] == [0.0, 0.0]

    ceiling = tmp_path / "ceiling"
    assert ex.main(["supervised", "--data-root", str(root), "--out", str(ceiling), "--steps", "250", "--batch-size", "4"]) == 0
    assert torch.load(ceiling / "partial.pt", weights_only=True)["steps"] == 250
    assert ex.main(["supervised", "--data-root", str(root), "--out", str(ceiling), "--steps", "251", "--batch-size", "4"]) == 0
    assert torch.load(ceiling / "supervised.pt", weights_only=True)["steps"] == 251  # went on from step 250
    sup = tmp_path / "supervised.json"
    assert ex.main(["signals", "--supervised", str(ceiling), "--data-root", str(root), "--draws", "2", "--out", str(sup)]) == 0
    s = json.loads(sup.read_text())
    assert s["network"] == "supervised" and s["steps"] == 251 and "sensitivity" not in s
    capsys.readouterr()
    assert ex.main(["table", str(out), str(sup)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("| run | epoch | data seeds | R² [z_0, z_1]") and len(rows) == 4
    # two evaluation roots of one network make one row: mean and std over the roots of each root's mean
    second = dict(r, r2_rel={"mean": r["r2_rel"]["mean"] + 0.2, "std": 0.0, "values": []})
    (tmp_path / "second.json").write_text(json.dumps(second))
    row = ex.across_seeds([r, second])
    assert row["seeds"] == 2 and row["r2_rel"]["mean"] == pytest.approx(r["r2_rel"]["mean"] + 0.1)
    assert row["r2_rel"]["std"] == pytest.approx(0.2 / 2 ** 0.5)
    assert ex.main(["table", str(out), str(tmp_path / "second.json")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_reproduce_script_compares_the_rebuilt_weights_and_numbers_with_the_card(tmp_path):
    import subprocess
    import sys

    from seqjepa.eval.reference import card_numbers

    script = (EXAMPLES / "reproduce_default_model.sh").read_text()
    assert subprocess.run(["bash", "-n", str(EXAMPLES / "reproduce_default_model.sh")]).returncode == 0
    check = re.search(r"<<'PY'\n(.*?)\nPY\n", script, re.S).group(1)
    card = card_numbers(seqjepa.get_pretrained_cfg("tiny-toy3diebench"))
    report = {key: card[key] for key in ("top1_z", "top1_zagg", "r2")}
    report["top1_zagg"] = dict(report["top1_zagg"], **{"3": card["top1_zagg"]["3"] + 3 * card["spread"]["top1_zagg"]["3"]})
    (tmp_path / "report.json").write_text(json.dumps(report))
    shipped = EXAMPLES.parent / "weights" / "tiny-toy3diebench.safetensors"
    other = tmp_path / "other.safetensors"
    other.write_bytes(b"x")
    for weights, first in ((shipped, "weights: identical to the shipped ones"), (other, "weights: sha256 ")):
        proc = subprocess.run([sys.executable, "-c", check, str(tmp_path / "report.json"), str(weights)],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0].startswith(first)
        assert sum("within two spreads" in line for line in lines) == len(lines) - 2
        assert [line.split(":")[0] for line in lines if "OUTSIDE" in line] == ["top1_zagg[3]"]
