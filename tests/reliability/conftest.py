"""Fixtures for the adversarial tests: tiny models built once per module, official-format checkpoints."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
import torch

from seqjepa import SeqJEPA
from seqjepa.zoo._convert_official import seqjepa_to_official_key

from ..conftest import small_config

#: Overrides a tiny official checkpoint needs: the converter assumes ResNet-18's 512-d features.
TINY_OVERRIDES = {
    "encoder_dim": 32,
    "backbone_kwargs": {"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
    "dropout": 0.0,
}


@pytest.fixture(scope="module")
def tiny() -> SeqJEPA:
    torch.manual_seed(0)
    return SeqJEPA(small_config()).eval()


@pytest.fixture(scope="module")
def tiny_free() -> SeqJEPA:
    torch.manual_seed(1)
    return SeqJEPA(small_config(action_conditioned=False, learn_action_embedding=False)).eval()


def write_official_checkpoint(model: SeqJEPA, path: Path, *, zip_format: bool = True, args=None) -> Path:
    """Save ``model`` the way the official scripts do: official keys, an argparse.Namespace in 'args'."""
    state = {seqjepa_to_official_key(k): v.clone() for k, v in model.state_dict().items()}
    if args is None:
        args = argparse.Namespace(num_heads=model.config.num_heads, img_size=model.config.image_size, seq_len=3)
    payload = {"model": state, "optimizer": {}, "epoch": 3, "min_loss": 0.5, "args": args}
    torch.save(payload, path, _use_new_zipfile_serialization=zip_format)
    return path
