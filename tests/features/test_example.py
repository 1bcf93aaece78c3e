"""``examples/linear_probe_on_features.py`` end to end."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import seqjepa

from ..conftest import load_module as _load
from .conftest import ROOT


def test_linear_probe_example_extracts_both_splits_and_scores_them(model_dir, tmp_path, capsys):
    ex = _load(ROOT / "examples" / "linear_probe_on_features.py", "seqjepa_example_linear_probe_on_features")
    data, feats, out = tmp_path / "shapes", tmp_path / "feats", tmp_path / "scores.json"
    ex.make_image_folder(data, per_class=4, classes=3, seed=0)
    argv = ["--data", str(data), "--features", str(feats), "--model", str(model_dir), "--on", "z_agg", "--k", "3",
            "--json", str(out)]
    assert ex.main(argv) == 0
    result = json.loads(out.read_text())
    assert (result["train"], result["val"], result["classes"], result["k"]) == (12, 6, 3, 3)
    assert "logistic regression top-1" in capsys.readouterr().out
    train = seqjepa.read_features(feats / "train")
    val = seqjepa.read_features(feats / "val")
    # the 3-NN top-1 by hand: cosine similarities, majority vote (a three-way tie goes to the lowest label)
    xt, xv = (np.asarray(f["z_agg"], dtype=np.float64) for f in (train, val))
    yt, yv = np.asarray(train["label"]), np.asarray(val["label"])
    sims = (xv / np.linalg.norm(xv, axis=1, keepdims=True)) @ (xt / np.linalg.norm(xt, axis=1, keepdims=True)).T
    votes = [np.bincount(yt[np.argsort(-row)[:3]], minlength=3).argmax() for row in sims]
    assert result["knn_top1"] == pytest.approx(100.0 * np.mean(np.array(votes) == yv))
    # the linear probe's top-1 is a count over the 6 validation images
    assert result["linear_top1"] * 6 / 100 == pytest.approx(round(result["linear_top1"] * 6 / 100), abs=1e-9)
    assert train["z_agg"].shape == (12, 40) and train.meta["classes"] == ["3-gon", "4-gon", "5-gon"]
    # a rerun reuses the features on disk
    assert ex.main(argv) == 0
    assert json.loads(out.read_text()) == result


def test_probe_scores_separable_features_perfectly():
    ex = sys.modules.get("seqjepa_example_linear_probe_on_features") or _load(
        ROOT / "examples" / "linear_probe_on_features.py", "seqjepa_example_linear_probe_on_features")
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 10
    y = np.repeat(np.arange(3), 10)
    x = centres[y] + rng.normal(size=(30, 8))
    scores = ex.probe(x[::2], y[::2], x[1::2], y[1::2], k=3)
    assert scores == {"linear_top1": 100.0, "knn_top1": 100.0}
    with pytest.raises(ValueError, match="--k: expected"):
        ex.probe(x[::2], y[::2], x[1::2], y[1::2], k=99)
