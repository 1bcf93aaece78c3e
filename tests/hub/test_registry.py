"""Registry cards: schema, names, and that every card builds its model."""

from __future__ import annotations

import copy
import json

import pytest

import seqjepa
from seqjepa import SeqJEPA, SeqJEPAConfig
from seqjepa.zoo import registry
from seqjepa.errors import ConfigError
from seqjepa.zoo._resolve import match_pattern
from seqjepa.errors import WeightsNotAvailableError

OFFICIAL = ("resnet18-3diebench", "resnet18-3diebench-rotcolor", "resnet18-stl10-pls")


@pytest.fixture(autouse=True)
def _fresh_registry():
    registry.clear_cache()
    yield
    registry.clear_cache()


def test_every_shipped_card_is_valid_and_builds_its_model():
    names = seqjepa.list_models()
    assert set(OFFICIAL) <= set(names)
    for name in names:
        card = seqjepa.get_pretrained_cfg(name).to_dict()
        registry.validate_card(card, where=name)
        config = SeqJEPAConfig.from_dict(card["model"])
        model = SeqJEPA(config, with_target_encoder=False)
        assert model.config.action_dim == card["actions"]["dim"]


def test_official_cards_hold_the_documented_settings():
    rot, rotcol, pls = (seqjepa.get_pretrained_cfg(n).to_dict() for n in OFFICIAL)
    assert (rot["model"]["train_seq_len"], rot["model"]["action_dim"], rot["model"]["image_size"], rot["model"]["cifar_stem"]) == (3, 4, 128, False)
    assert (rotcol["model"]["train_seq_len"], rotcol["model"]["action_dim"]) == (4, 6)
    m = pls["model"]
    assert (m["train_seq_len"], m["action_dim"], m["image_size"], m["cifar_stem"], m["last_slot_in_batchnorm"]) == (4, 2, 32, True, "zeros")
    assert m["mean"] == [0.4467, 0.4398, 0.4066]
    for card in (rot, rotcol, pls):
        src = card["source"]
        assert src["repo"] == "Hafez/seq-JEPA" and src["format"] == "official-pth"
        assert src["revision"] is None and src["sha256"] is None and src["file_pattern"]  # not guessed


def test_official_patterns_pick_exactly_their_file():
    # the Hub card names 3diebench_rotcol_seqlen4.pth (paper-notes §1c); the others follow its scheme
    listing = ["README.md", "3diebench_rot_seqlen3.pth", "3diebench_rotcol_seqlen4.pth", "stl10_pls_seqlen4.pth"]
    picks = {n: match_pattern(seqjepa.get_pretrained_cfg(n).to_dict()["source"]["file_pattern"], listing, what=n) for n in OFFICIAL}
    assert picks == {
        "resnet18-3diebench": "3diebench_rot_seqlen3.pth",
        "resnet18-3diebench-rotcolor": "3diebench_rotcol_seqlen4.pth",
        "resnet18-stl10-pls": "stl10_pls_seqlen4.pth",
    }
    with pytest.raises(WeightsNotAvailableError, match="matches 3 files"):
        match_pattern("*.pth", listing, what="x")
    with pytest.raises(WeightsNotAvailableError, match="no file matches.*README.md"):
        match_pattern("*.bin", listing, what="x")


@pytest.mark.parametrize("spelling", ["resnet18-3diebench", "RESNET18_3DIEBENCH", " resnet18-3DIEbench ", "3diebench-rot"])
def test_names_are_case_and_separator_insensitive(spelling):
    assert seqjepa.get_pretrained_cfg(spelling).to_dict()["name"] == "resnet18-3diebench"


def test_unknown_name_suggests():
    with pytest.raises(ValueError, match="did you mean 'resnet18-stl10-pls'"):
        seqjepa.get_pretrained_cfg("resnet18-stl10-psl").to_dict()


@pytest.mark.parametrize("bad", ["../etc/passwd", "a/b", "http://evil.example/x", "x;rm -rf", "", "a\nb"])
def test_malformed_names_are_refused(bad):
    with pytest.raises(seqjepa.UnknownModelError, match=r"is not a model name \(letters, digits"):
        seqjepa.get_pretrained_cfg(bad).to_dict()


@pytest.mark.parametrize("bad, reason", [
    ("hf-hub:", "expected a Hugging Face repo id"), ("hf-hub:org", "expected a Hugging Face repo id"),
    ("hf-hub:../x", "expected a Hugging Face repo id"), ("hf-hub:org/../x", "expected a Hugging Face repo id"),
    ("hf-hub:org/repo/extra", "expected a Hugging Face repo id"), ("hf-hub:https://x.y/z", "URLs are not loaded"),
    ("hf-hub:org/repo@", "empty revision"), ("hf-hub:org/repo@../main", "expected a branch, tag or 40-hex commit"),
    ("hf-hub:org/re po", "expected a Hugging Face repo id"), ("hf-hub:org/repo@a b", "expected a branch, tag"),
    ("hf-hub:org/repo?x=1", "expected a Hugging Face repo id"),
])
def test_malformed_hub_names_are_refused(bad, reason):
    with pytest.raises(ValueError, match=reason):
        seqjepa.load(bad, local_files_only=True)


def test_repo_filename_validation():
    for bad in ["/abs", "../x", "a/../b", "a\\b", "c:x", "a//b"]:
        with pytest.raises(ValueError, match="expected a relative file name inside the repository"):
            registry.validate_repo_filename(bad)
    assert registry.validate_repo_filename("sub/model.pth") == "sub/model.pth"


def _base_card():
    return copy.deepcopy(seqjepa.get_pretrained_cfg("resnet18-3diebench").to_dict())


@pytest.mark.parametrize("mutate, message", [
    (lambda c: c.pop("license"), "license: missing"),
    (lambda c: c.update(description="two\nlines"), "description"),
    (lambda c: c["model"].update(action_dim="4"), "model:"),
    (lambda c: c["actions"].update(dim=6), "actions.dim 6 disagrees"),
    (lambda c: c["preprocessing"].update(mean=[0.5, 0.5, 0.5]), "preprocessing.mean"),
    (lambda c: c["source"].update(revision="main"), "40-hex"),
    (lambda c: c["source"].update(sha256="abc"), "64 lower-case hex"),
    (lambda c: c["source"].update(repo="../evil"), "source.repo"),
    (lambda c: c["source"].update(format="pickle"), "source.format"),
    (lambda c: c["source"].update(filename=None, file_pattern=None), "filename or a file_pattern"),
    (lambda c: c["training"].update(train_seq_len=5), "train_seq_len"),
    (lambda c: c["reported"].append({"metric": "x"}), "reported[4].value: missing"),
    (lambda c: c["measured"].append({"metric": "m", "value": 1.0, "setting": "s", "source": "x", "spread": -0.1}), "measured[0].spread: expected a finite number >= 0"),
    (lambda c: c["measured"].append({"metric": "m", "value": 1.0, "setting": "s", "source": "x", "floor": float("nan")}), "measured[0].floor: expected a finite number"),
    (lambda c: c["measured"].append({"metric": "m", "value": 1.0, "setting": "s", "source": "x", "seeds": 0}), "measured[0].seeds: expected an integer >= 1"),
    (lambda c: c["measured"].append({"metric": "m", "value": 1.0, "setting": "s", "source": "x", "seeds": 2.5}), "measured[0].seeds: expected int"),
    (lambda c: c["measured"].append({"metric": "m", "value": 1.0, "setting": "s", "source": "x", "sprd": 0.1}), "measured[0]: unknown field.*'sprd'"),
    (lambda c: c.update(surprise=1), "unknown field"),
    (lambda c: c.update(card_format_version=True), "card_format_version"),
])
def test_validate_card_names_the_problem(mutate, message):
    card = _base_card()
    mutate(card)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        registry.validate_card(card, where="test")


def test_a_measured_row_carries_its_spread_and_floor():
    card = _base_card()
    card["measured"] = [{"metric": "rotation_r2", "value": 0.61, "setting": "s", "source": "x", "spread": 0.02, "seeds": 3,
                         "floor": 0.05, "floor_spread": 0.01}]
    row = registry.ModelCard.from_dict(card).measured[0]
    assert (row.value, row.spread, row.seeds, row.floor, row.floor_spread) == (0.61, 0.02, 3, 0.05, 0.01)
    assert row.describe() == "0.610 ± 0.020 (3 data seeds; untrained floor 0.050 ± 0.010)"
    bare = registry.CardMetric("top1", 96.0, "s", "x")
    assert bare.describe(1) == "96.0"


def test_a_package_card_must_stay_inside_the_package(tmp_path, monkeypatch):
    card = _base_card()
    card["source"] = {"kind": "package", "filename": "../x.safetensors", "sha256": "0" * 64, "size": 1, "format": "safetensors"}
    with pytest.raises(ConfigError, match="bare name"):
        registry.validate_card(card)


def test_create_model_from_a_card_name():
    model = seqjepa.create_model("resnet18-stl10-pls")
    assert model.config.cifar_stem and model.config.action_dim == 2
    json.dumps(seqjepa.get_pretrained_cfg("resnet18-stl10-pls").to_dict())
