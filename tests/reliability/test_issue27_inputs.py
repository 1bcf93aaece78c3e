"""Hostile inputs of issue 27 outside feature extraction: deep or huge JSON in recipes, non-finite normalization."""

from __future__ import annotations

import pytest

from seqjepa.cli import main


def _run(argv, capsys):
    status = main(argv)
    return status, capsys.readouterr().err


@pytest.mark.parametrize("text, match", [
    ("[" * 100_000 + "]" * 100_000, "is not valid JSON: nested too deeply"),
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


@pytest.mark.parametrize("std, match", [
    ((float("inf"),) * 3, r"std: expected finite per-channel standard deviations in \[1e-06, 10\], got \[inf"),
    ((float("nan"),) * 3, r"std: expected finite .* got \[nan"),
    ((1e-300,) * 3, r"std: expected finite .* got \[1e-300"),
])
def test_dataset_normalization_is_range_checked(tmp_path, std, match):
    from seqjepa.data import ThreeDIEBench, make_toy_3diebench

    make_toy_3diebench(tmp_path / "toy", objects=2, views=3, classes=2, size=24, seed=0, workers=1)
    with pytest.raises(ValueError, match=match):
        ThreeDIEBench(tmp_path / "toy", std=std)
    with pytest.raises(ValueError, match=r"mean: expected finite per-channel means"):
        ThreeDIEBench(tmp_path / "toy", mean=(1e30, 0, 0))


def test_a_recipe_with_an_infinite_std_is_refused_before_training(tmp_path, capsys):
    from seqjepa.data import make_toy_3diebench

    make_toy_3diebench(tmp_path / "toy", objects=2, views=3, classes=2, size=24, seed=0, workers=1)
    recipe = tmp_path / "r.json"
    recipe.write_text('{"data": {"dataset": "3diebench", "options": {"std": [Infinity, Infinity, Infinity]}}}')
    status, err = _run(["train", "--recipe", str(recipe), "--output", str(tmp_path / "run"), "--data-root",
                        str(tmp_path / "toy"), "--device", "cpu"], capsys)
    assert status == 2 and err.count("\n") == 1 and "data.options.std: expected finite" in err, err
    assert not (tmp_path / "run").exists()


def test_a_malformed_sha256_is_called_malformed_not_a_mismatch(tmp_path):
    import json

    import seqjepa
    from seqjepa.errors import ConfigError
    from seqjepa.zoo._serialization import load_directory
    from tests.eval.test_cli import _model_dir

    d = _model_dir(tmp_path, "m")
    with pytest.raises(ValueError, match=r"expected_sha256: expected 64 hexadecimal digits, got 'zz' \(malformed"):
        load_directory(d, model_class=seqjepa.SeqJEPA, expected_sha256="zz")
    doc = json.loads((tmp_path / "m" / "config.json").read_text())
    doc["weights"]["model.safetensors"]["sha256"] = "zz"
    (tmp_path / "m" / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ConfigError, match=r"sha256' must be 64 hexadecimal digits, got 'zz' \(malformed"):
        seqjepa.load(d)


def test_train_output_with_a_tilde_is_the_home_directory_not_a_literal_tilde(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    (tmp_path / "home" / "x").write_text("a file")
    status, err = _run(["train", "--recipe", "toy-3diebench", "--output=~/x", "--data-root", str(tmp_path)], capsys)
    assert status == 2 and str(tmp_path / "home" / "x") in err and "exists and is not a directory" in err, err
    assert not (tmp_path / "cwd" / "~").exists()


def test_a_recipe_naming_code_as_its_dataset_needs_an_explicit_flag(tmp_path, capsys):
    import json

    marker = tmp_path / "ran"
    recipe = tmp_path / "r.json"
    recipe.write_text(json.dumps({"data": {"dataset": "os:system", "options": {}}}))
    status, err = _run(["train", "--recipe", str(recipe), "--output", str(tmp_path / "run"), "--data-root",
                        f"touch {marker}"], capsys)
    assert status == 2 and "names Python code (module:callable)" in err and "--allow-dataset-code" in err, err
    assert not marker.exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv", [
    ["train", "--recipe", "toy-3diebench", "--output", "{tmp}/run", "--set", "train.epochs=" + "9" * 100_000],
    ["train", "--recipe", "toy-3diebench", "--output", "{tmp}/run", "--set", "train.epochs=" + "[1, " * 20_000],
    ["info", "n" * 10_000],
    ["train", "--recipe", "{tmp}/" + "d" * 200 + "/" + "r" * 200 + ".json", "--output", "{tmp}/run"],
])
def test_messages_cut_long_echoed_values(tmp_path, capsys, argv):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    status, err = _run(argv, capsys)
    assert status == 2 and err.count("\n") == 1 and len(err) < 2200, (len(err), err[:300])
    assert "characters" in err and "Traceback" not in err


def test_a_file_or_a_link_to_dev_zero_is_not_reported_as_missing(tmp_path):
    import os

    import seqjepa
    from seqjepa.data import ThreeDIEBench
    from seqjepa.zoo._convert_official import read_official_checkpoint

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    zero = tmp_path / "zero"
    os.symlink("/dev/zero", zero)
    with pytest.raises(FileNotFoundError, match=r"plain.txt is a file, not a directory"):
        ThreeDIEBench(plain)
    with pytest.raises(FileNotFoundError, match=r"feature directory .*plain.txt is a file, not a directory"):
        seqjepa.read_features(plain)
    with pytest.raises(FileNotFoundError, match=r"zero is a device or special file \(a link to /dev/zero\), not"):
        read_official_checkpoint(zero)
    with pytest.raises(FileNotFoundError, match=r"manifest .*zero is a device or special file"):
        seqjepa.features.sources.ManifestSource(zero, image_size=16, interpolation="bilinear", draft=False,
                                               action_space=None, action_dim=None)


@pytest.mark.parametrize("command", [["eval", "--protocol", "3diebench-rot", "--out", "{tmp}/o"],
                                     ["extract", "m", "{tmp}", "--out", "{tmp}/o"]])
def test_a_thousand_workers_are_refused(tmp_path, capsys, command):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in command] + ["--workers", "1000"]
    status, err = _run(argv, capsys)
    assert status == 2 and "--workers: expected an integer in [0, 64], got '1000'" in err, err
