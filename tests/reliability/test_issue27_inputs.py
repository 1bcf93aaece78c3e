"""Hostile inputs of issue 27 outside feature extraction: deep or huge JSON in recipes, non-finite normalization."""

from __future__ import annotations

import pytest

from seqjepa.cli import main


def _run(argv, capsys):
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply to be a recipe"),
    ('{"train": {"epochs": ' + "1" * 5000 + "}}", "not valid JSON: Exceeds the limit"),
])
def test_a_deep_or_huge_recipe_file_is_one_line(text, match, tmp_path, capsys):
    recipe = tmp_path / "r.json"
    recipe.write_text(text)
    status, err = _run(["train", "--recipe", str(recipe), "--output", str(tmp_path / "run")], capsys)
    assert status == 2 and err.count("\n") == 1 and match in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()


def _image_folders(root):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls, colour in (("cats", 40), ("dogs", 200)):
        d = root / "train" / cls
        d.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.clip(colour + rng.normal(0, 10, (20, 20, 3)), 0, 255).astype(np.uint8)).save(d / f"{i}.png")


def test_finetune_out_follows_the_rules_of_every_command_that_writes(tmp_path, capsys, monkeypatch):
    from tests.eval.test_cli import _model_dir

    _image_folders(tmp_path / "imgs")
    model = _model_dir(tmp_path, "m")
    out = tmp_path / "ft"

    def finetune(target, *extra):
        return _run(["finetune", "--model", model, "--data", str(tmp_path / "imgs"), "--out", str(target),
                     "--epochs", "1", "--batch-size", "4", "--device", "cpu", *extra], capsys)

    assert finetune(out)[0] == 0
    stamp = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    status, err = finetune(out)
    assert status == 2 and "already holds a fine-tuned model; pass --overwrite" in err, err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == stamp
    assert finetune(out, "--overwrite")[0] == 0
    (tmp_path / "theirs").mkdir()
    (tmp_path / "theirs" / "config.json").write_text("{}")
    status, err = finetune(tmp_path / "theirs", "--overwrite")
    assert status == 2 and "was not written by this seqjepa command" in err, err
    assert (tmp_path / "theirs" / "config.json").read_text() == "{}"
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    status, err = finetune(".")
    assert status == 2 and "working directory" in err and not list((tmp_path / "cwd").iterdir()), err
