"""Fixtures for the docs and examples tests: a small saved model and a loader for example scripts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from seqjepa import SeqJEPA

from ..conftest import small_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` by path, as a user running it would."""
    path = EXAMPLES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"seqjepa_example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory) -> Path:
    """A small seq-JEPA (16 px, rotation actions) saved with save_pretrained: what --model takes."""
    torch.manual_seed(0)
    model = SeqJEPA(small_config()).eval()
    out = tmp_path_factory.mktemp("small-model")
    model.save_pretrained(str(out))
    return out
