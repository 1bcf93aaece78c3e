"""What is hashed is what is deserialized; bad argument types name the argument."""

from __future__ import annotations

import json

import pytest
import torch

import seqjepa
from seqjepa.errors import ConfigError, IntegrityError
from seqjepa.zoo import serialization

from ..conftest import small_config


def _saved(tmp_path, seed: int, name: str):
    torch.manual_seed(seed)
    model = seqjepa.SeqJEPA(small_config())
    model.save_pretrained(tmp_path / name)
    return model, tmp_path / name


def test_weights_swapped_after_the_hash_cannot_be_loaded(tmp_path, monkeypatch):
    """A save racing a load: the file is replaced right after it was read. The load must use the bytes it hashed."""
    model_a, dir_a = _saved(tmp_path, 0, "a")
    _, dir_b = _saved(tmp_path, 1, "b")
    weights_b = (dir_b / "model.safetensors").read_bytes()
    real_check = serialization.check_safetensors_bytes

    def check_then_swap(data, *, where):
        header = real_check(data, where=where)
        (dir_a / "model.safetensors").write_bytes(weights_b)  # the other model lands on disk now
        return header

    monkeypatch.setattr(serialization, "check_safetensors_bytes", check_then_swap)
    loaded = seqjepa.load(dir_a)
    for key, value in model_a.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key


def test_dtype_and_pinned_hash_of_the_wrong_type_name_the_argument(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    with pytest.raises(ValueError, match=r"dtype: expected a floating-point torch.dtype.*'float16'"):
        seqjepa.load(d, dtype="float16")
    with pytest.raises(ValueError, match="device: expected"):
        seqjepa.load(d, device=3.5)
    with pytest.raises(ValueError, match="expected_sha256: expected a hex string, got int"):
        serialization.load_directory(d, model_class=seqjepa.SeqJEPA, expected_sha256=123)


def test_a_deeply_nested_config_is_a_config_error(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    (d / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="not valid JSON"):
        seqjepa.load(d)


def test_a_safetensors_header_that_is_a_list_is_an_integrity_error(tmp_path):
    _, d = _saved(tmp_path, 0, "m")
    header = json.dumps([1, 2, 3]).encode()
    (d / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header)
    with pytest.raises(IntegrityError, match="expected a JSON object, got list"):
        seqjepa.load(d)
