"""Damaged, forged and mismatched files: a clear error each time, never a partial or wrong model."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import torch

import seqjepa
from seqjepa import SeqJEPA
from seqjepa.errors import CheckpointMismatchError, ConfigError, IntegrityError, WeightsNotAvailableError
from seqjepa.utils.files import LFS_POINTER_PREFIX
from seqjepa.zoo._serialization import load_directory, load_state_dict_strict

from ..conftest import small_config

LFS_POINTER = LFS_POINTER_PREFIX + b"v1\noid sha256:" + b"0" * 64 + b"\nsize 1234\n"


@pytest.fixture(scope="module")
def saved(tiny, tmp_path_factory) -> Path:
    return Path(tiny.save_pretrained(tmp_path_factory.mktemp("saved") / "model"))


@pytest.fixture
def copy(saved, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(saved, out)
    return out


def _edit_config(directory: Path, edit) -> None:
    path = directory / "config.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))


def test_intact_copy_loads_exactly(tiny, copy):
    loaded = seqjepa.load(str(copy))
    for (k, a), (k2, b) in zip(tiny.state_dict().items(), loaded.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    assert not loaded.training


# ----------------------------------------------------------------------------- damaged weights
@pytest.mark.parametrize("keep", [0, 7, 100, "half", -1])
@pytest.mark.parametrize("record", [True, False])
def test_truncated_weights_are_refused(copy, keep, record):
    weights = copy / "model.safetensors"
    data = weights.read_bytes()
    n = {"half": len(data) // 2}.get(keep, keep)
    weights.write_bytes(data[:n] if n >= 0 else data[:-1])
    if not record:  # no recorded size/sha: the safetensors header check alone must catch it
        _edit_config(copy, lambda d: d.pop("weights"))
    with pytest.raises(IntegrityError, match=r"truncated|too short|bytes long|records"):
        seqjepa.load(str(copy))


@pytest.mark.parametrize("where", ["header_length", "header", "data", "last_byte"])
def test_bit_flips_are_caught_by_the_recorded_sha256(copy, where):
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    index = {"header_length": 0, "header": 8 + header_len // 2, "data": 8 + header_len + 1000, "last_byte": len(data) - 1}[where]
    data[index] ^= 0x10
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"sha256|truncated|header"):
        seqjepa.load(str(copy))


def test_a_pinned_sha256_overrides_the_recorded_one(copy):
    """A tampered cache can rewrite config.json too; a caller's pin is what counts."""
    with pytest.raises(IntegrityError, match=r"expected " + "a" * 64):
        load_directory(copy, model_class=seqjepa.SeqJEPA, expected_sha256="a" * 64)


def test_lfs_pointer_in_place_of_weights(copy):
    (copy / "model.safetensors").write_bytes(LFS_POINTER)
    _edit_config(copy, lambda d: d.pop("weights"))
    with pytest.raises(IntegrityError, match=r"Git LFS pointer"):
        seqjepa.load(str(copy))


def test_missing_files(copy):
    (copy / "model.safetensors").rename(copy / "other.safetensors")
    with pytest.raises(WeightsNotAvailableError, match=r"model.safetensors not found"):
        seqjepa.load(str(copy))
    with pytest.raises(WeightsNotAvailableError, match=r"needs its config"):
        seqjepa.load(str(copy / "other.safetensors"))


# ----------------------------------------------------------------------------- config.json
@pytest.mark.parametrize(
    "edit, match",
    [
        (lambda d: d["model"].__setitem__("surprise", 1), r"unknown config field\(s\) \['surprise'\]"),
        (lambda d: d["model"].pop("mean"), r"lacks field\(s\) \['mean'\]"),
        (lambda d: d["model"].pop("image_size"), r"lacks field\(s\) \['image_size'\]"),
        (lambda d: d["model"].__setitem__("image_size", "16"), r"'image_size': expected int, got str"),
        (lambda d: d["model"].__setitem__("num_heads", 4.0), r"'num_heads': expected int, got float"),
        (lambda d: d["model"].__setitem__("cifar_stem", 1), r"'cifar_stem': expected bool, got int"),
        (lambda d: d["model"].__setitem__("mean", ["a", "b", "c"]), r"'mean': expected a list of numbers"),
        (lambda d: d["model"].__setitem__("mean", [0.5, 0.5]), r"'mean'/'std' clash with 'in_channels'"),
        (lambda d: d["model"].__setitem__("config_format_version", 99), r"reads version 1, got 99"),
        (lambda d: d["model"].__setitem__("backbone", "hf-hub:evil/net"), r"'backbone': expected a timm model name"),
        (lambda d: d["model"].__setitem__("backbone", "local-dir:/etc"), r"'backbone': expected a timm model name"),
        (
            lambda d: d["model"]["backbone_kwargs"].__setitem__("checkpoint_path", "/etc/passwd"),
            r"'backbone_kwargs': \['checkpoint_path'\] may not be set",
        ),
        (
            lambda d: d["model"]["backbone_kwargs"].__setitem__("pretrained_cfg_overlay", {"url": "http://evil"}),
            r"'backbone_kwargs': \['pretrained_cfg_overlay'\] may not be set",
        ),
        (lambda d: d.__setitem__("model", [1, 2]), r"expected a JSON object with a 'model' section"),
        (lambda d: d.__setitem__("weights", []), r"'weights.model.safetensors' must be an object"),
        (lambda d: d["weights"]["model.safetensors"].__setitem__("sha256", 5), r"must be an object with sha256"),
        (lambda d: d["weights"]["model.safetensors"].__setitem__("size", "5"), r"must be an object with sha256"),
    ],
)
def test_bad_config_json_is_a_config_error(copy, edit, match):
    _edit_config(copy, edit)
    with pytest.raises(ConfigError, match=match):
        seqjepa.load(str(copy))


@pytest.mark.parametrize("text", [b"", b"{", b"\xff\xfe\x00\x01", b"[]", b"null"])
def test_unparsable_config_json_is_a_config_error(copy, text):
    (copy / "config.json").write_bytes(text)
    with pytest.raises(ConfigError, match=r"config.json"):
        seqjepa.load(str(copy))


def test_architecture_change_in_config_is_a_mismatch(copy):
    """A config that describes another architecture than the weights never loads partially."""
    _edit_config(copy, lambda d: d["model"].__setitem__("action_embed_dim", 12))
    with pytest.raises(CheckpointMismatchError, match=r"shape mismatch: .*action_embedding.proj.weight"):
        seqjepa.load(str(copy))


# ----------------------------------------------------------------------------- strict loading
def _params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(
    "other, kinds",
    [
        (dict(num_layers=2), ["unexpected", "aggregator.layers.1."]),
        (dict(action_embed_dim=12), ["shape mismatch", "action_embedding.proj.weight"]),
        (dict(action_conditioned=False, learn_action_embedding=False), ["missing", "action_embedding.proj.weight"]),
        (dict(predictor_hidden=0), ["missing", "predictor.fc2"]),
    ],
)
def test_strict_load_names_keys_and_changes_nothing(other, kinds):
    torch.manual_seed(0)
    model = SeqJEPA(small_config())
    foreign = SeqJEPA(small_config(**other)).state_dict()
    before = _params(model)
    with pytest.raises(CheckpointMismatchError, match=r"nothing was loaded") as info:
        load_state_dict_strict(model, foreign, source="other.safetensors")
    for text in kinds:
        assert text in str(info.value)
    after = _params(model)
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


def test_strict_load_refuses_integer_tensors_for_float_parameters():
    model = SeqJEPA(small_config())
    state = {k: v.clone() for k, v in model.state_dict().items()}
    key = "predictor.fc1.weight"
    state[key] = state[key].to(torch.int64)
    before = _params(model)
    with pytest.raises(CheckpointMismatchError, match=rf"dtype mismatch: {key}"):
        load_state_dict_strict(model, state, source="x")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_error_lists_at_most_five_keys_per_kind():
    model = SeqJEPA(small_config())
    with pytest.raises(CheckpointMismatchError) as info:
        load_state_dict_strict(model, {}, source="empty")
    message = str(info.value)
    assert "more)" in message and message.count("encoder.") <= 6


# ----------------------------------------------------------------------------- names given to seqjepa.load
@pytest.mark.parametrize(
    "name, error, match",
    [
        ("", ValueError, "empty string"),
        ("   ", ValueError, "empty string"),
        ("a\x00b", ValueError, "control characters"),
        ("x\x00.pth", ValueError, "control characters"),
        ("model\nname", ValueError, "control characters"),
        ("http://evil/x", ValueError, "URLs are not loaded"),
        ("https://huggingface.co/org/repo", ValueError, "URLs are not loaded"),
        ("file:///etc/passwd", ValueError, "URLs are not loaded"),
        ("../../definitely/not/here", WeightsNotAvailableError, "does not exist"),
        ("/etc/passwd", ValueError, "expected a directory, a model.safetensors or an official .pth"),
        (123, ValueError, "expected a model name or a path, got int"),
    ],
)
def test_bad_names_are_refused_before_anything_is_read(name, error, match, opened_files):
    # an audit hook on the "open" event: open, os.open, Path.read_bytes and np.load cannot bypass it
    with pytest.raises(error, match=match):
        seqjepa.load(name)
    assert [p for p in opened_files if not str(p).endswith((".py", ".pyc"))] == []


@pytest.mark.parametrize(
    "name",
    ["hf-hub:../x", "hf-hub:org/repo@../../x", "hf-hub:org/../../etc", "hf-hub:/etc/passwd", "../x@main", "hf-hub:"],
)
def test_hub_names_with_path_tricks_are_refused(name, tmp_path, monkeypatch):
    import seqjepa.zoo._resolve  # noqa: F401
    monkeypatch.chdir(tmp_path)
    with pytest.raises((ValueError, WeightsNotAvailableError)):
        seqjepa.load(name, cache_dir=str(tmp_path / "cache"), local_files_only=True)
    assert not any(p.is_file() for p in tmp_path.rglob("*")), "nothing may be written for a refused name"
