"""The sha256 is checked on the bytes read once, before anything deserializes them, on every read path.

The spies cannot be bypassed: :func:`tests.conftest.deserialized` replaces every deserializer
under every name seqjepa imported it as, and :func:`tests.conftest.opened_files` is an audit hook
on the ``open`` event (any Python-level open). A tampered file must raise before either spy sees a
deserialization, not merely raise at some point.
"""

from __future__ import annotations

import os

import pytest
import torch

import seqjepa
from seqjepa import SeqJEPA
from seqjepa.errors import IntegrityError
from seqjepa.zoo._convert_official import read_official_checkpoint
from seqjepa.zoo._serialization import CONFIG_NAME, WEIGHTS_NAME
from seqjepa.utils.files import sha256_bytes

from .conftest import small_config
from .test_convert import _fake_official_checkpoint


def _saved(tmp_path):
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).eval()
    model.save_pretrained(tmp_path / "m")
    return model, tmp_path / "m"


def _flip_a_weight_byte(path):
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # inside the last tensor's data: the file still parses, only the hash tells
    path.write_bytes(bytes(data))


def test_a_tampered_directory_is_refused_before_deserializing(tmp_path, deserialized, opened_files):
    _, d = _saved(tmp_path)
    _flip_a_weight_byte(d / WEIGHTS_NAME)
    opened_files.clear()  # what the test itself opened so far
    with pytest.raises(IntegrityError, match=r"has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        seqjepa.load(d)
    assert deserialized == []
    assert opened_files.count(os.fspath(d / WEIGHTS_NAME)) == 1  # read once


def test_the_bytes_hashed_are_the_bytes_deserialized(tmp_path, deserialized, opened_files):
    model, d = _saved(tmp_path)
    opened_files.clear()
    loaded = seqjepa.load(d)
    assert opened_files.count(os.fspath(d / WEIGHTS_NAME)) == 1 and os.fspath(d / CONFIG_NAME) in opened_files
    # the verified bytes go to safetensors' bytes reader; no reader that opens the file again
    assert "safetensors.torch.load" in deserialized
    assert not {"safetensors.torch.load_file", "safetensors.torch.safe_open", "safetensors.safe_open"} & set(deserialized)
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_pinned_sha256_that_differs_is_refused_before_deserializing(tmp_path, deserialized):
    from seqjepa.zoo._serialization import load_directory

    _, d = _saved(tmp_path)  # an intact file, but not the one that was pinned
    with pytest.raises(IntegrityError, match="not the one that was pinned"):
        load_directory(d, model_class=SeqJEPA, expected_sha256="ab" * 32)
    assert deserialized == []


def test_an_official_checkpoint_with_the_wrong_sha256_is_never_unpickled(tmp_path, deserialized):
    torch.manual_seed(0)
    path = tmp_path / "official.pth"
    _fake_official_checkpoint(path, SeqJEPA(small_config()))
    good = sha256_bytes(path.read_bytes())
    with pytest.raises(IntegrityError, match=f"expected {'0' * 64}"):
        read_official_checkpoint(path, expected_sha256="0" * 64)
    assert deserialized == []
    read_official_checkpoint(path, expected_sha256=good)
    assert deserialized == ["torch.load"]  # the spy does see the unpickling when it happens
