"""Shared fixtures: small configs and models that build in well under a second."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# No test may reach the real Hub: seqjepa reads HF_HUB_OFFLINE at call time and then never asks
# huggingface_hub for the network. huggingface_hub itself reads it once, at import, and would
# then refuse the fake Hub on loopback that tests/hub serves, so it is imported before it is set.
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
import huggingface_hub.constants  # noqa: E402,F401  (the package itself imports its constants lazily)

os.environ["HF_HUB_OFFLINE"] = "1"

from seqjepa import SeqJEPA, SeqJEPAConfig  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"

torch.set_num_threads(min(2, torch.get_num_threads()))


def small_config(**changes) -> SeqJEPAConfig:
    """A seq-JEPA small enough for unit tests: narrow ResNet, 16-px images, 1 aggregator layer."""
    base = dict(
        backbone="resnet18",
        backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [8, 16, 16, 32], "stem_width": 8},
        encoder_dim=32,
        image_size=16,
        cifar_stem=True,
        action_embed_dim=8,
        num_layers=1,
        num_heads=4,
        predictor_hidden=32,
        dropout=0.0,
    )
    base.update(changes)
    return SeqJEPAConfig(**base)


@pytest.fixture
def config() -> SeqJEPAConfig:
    return small_config()


@pytest.fixture
def model(config) -> SeqJEPA:
    torch.manual_seed(0)
    return SeqJEPA(config).eval()
