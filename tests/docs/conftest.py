"""Fixtures for the docs and examples tests: a small saved model and a loader for example scripts."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
import torch

from seqjepa import SeqJEPA

from ..conftest import load_module, small_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path, as a user running it would."""
    return load_module(EXAMPLES / f"{name}.py", f"seqjepa_example_{name}")


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory) -> Path:
    """A small seq-JEPA (16 px, rotation actions) saved with save_pretrained: what --model takes."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).eval()
    out = tmp_path_factory.mktemp("small-model")
    model.save_pretrained(str(out))
    return out
