"""Local weights I/O: Hugging Face layout, bit-exact round trips, inference exports, verified reads."""

from __future__ import annotations

import json

import pytest
import torch

import seqjepa
from seqjepa import SeqJEPA
from seqjepa.zoo._serialization import CONFIG_NAME, WEIGHTS_NAME

from .conftest import small_config


def _model() -> SeqJEPA:
    torch.manual_seed(0)
    model = SeqJEPA(small_config())
    with torch.no_grad():
        for t in model.state_dict().values():
            if t.is_floating_point():
                t.add_(torch.randn_like(t) * 0.1)
    return model


def test_save_and_load_round_trip_is_bit_exact(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["README.md", CONFIG_NAME, WEIGHTS_NAME]
    loaded = SeqJEPA.from_pretrained(str(tmp_path / "m"))
    assert not loaded.training and loaded.has_target_encoder
    assert loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    document = json.loads((tmp_path / "m" / CONFIG_NAME).read_text())
    assert document["weights"][WEIGHTS_NAME]["sha256"] == seqjepa.utils.files.sha256_file(tmp_path / "m" / WEIGHTS_NAME)
    # a model.safetensors path with its config beside it loads too
    assert seqjepa.load(tmp_path / "m" / WEIGHTS_NAME).config == model.config


def test_inference_export_and_dtype(tmp_path):
    model = _model()
    model.save_pretrained(tmp_path / "inf", include_target_encoder=False, dtype=torch.float16)
    loaded = seqjepa.load(tmp_path / "inf")
    assert not loaded.has_target_encoder
    assert loaded.encoder.conv1.weight.dtype == torch.float32  # stored fp16, model built in fp32
    half = seqjepa.load(tmp_path / "inf", dtype=torch.bfloat16)
    assert half.encoder.conv1.weight.dtype == torch.bfloat16
    ref = model.state_dict()["encoder.conv1.weight"].half().float()
    assert torch.equal(loaded.encoder.conv1.weight, ref)
    with pytest.raises(ValueError, match="dtype"):
        seqjepa.load(tmp_path / "inf", dtype=torch.int8)


def test_bit_flip_is_caught_before_deserializing(tmp_path, deserialized):
    _model().save_pretrained(tmp_path / "m")
    weights = tmp_path / "m" / WEIGHTS_NAME
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(seqjepa.IntegrityError, match="has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        seqjepa.load(tmp_path / "m")
    assert deserialized == []  # raising afterwards is not enough: nothing may have been deserialized


def test_strict_load_refuses_another_architecture(tmp_path):
    _model().save_pretrained(tmp_path / "m")
    document = json.loads((tmp_path / "m" / CONFIG_NAME).read_text())
    document["model"]["predictor_hidden"] = 64
    (tmp_path / "m" / CONFIG_NAME).write_text(json.dumps(document))
    with pytest.raises(seqjepa.CheckpointMismatchError, match="shape mismatch: predictor.fc1.weight"):
        seqjepa.load(tmp_path / "m")


def test_missing_files_and_weights_without_config(tmp_path):
    with pytest.raises(seqjepa.WeightsNotAvailableError, match="does not exist"):
        seqjepa.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(seqjepa.WeightsNotAvailableError, match="config.json"):
        seqjepa.load(tmp_path / "empty")
    lone = tmp_path / "lone.safetensors"
    lone.write_bytes(b"\0" * 16)
    with pytest.raises(seqjepa.WeightsNotAvailableError, match="needs its config"):
        seqjepa.load(lone)


def test_saved_files_get_ordinary_permissions(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        _model().save_pretrained(tmp_path / "m")
    finally:
        os.umask(old)
    for name in (WEIGHTS_NAME, CONFIG_NAME, "README.md"):
        assert stat.S_IMODE((tmp_path / "m" / name).stat().st_mode) == 0o644, name
