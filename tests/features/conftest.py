"""Small saved models and procedural inputs for the extraction tests (all build in well under a second)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import seqjepa

from ..conftest import small_config

ROOT = Path(__file__).resolve().parents[2]


def save_model(path: Path, seed: int = 0, **changes) -> Path:
    torch.manual_seed(seed)
    seqjepa.SeqJEPA(small_config(**changes)).eval().save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """A small rotation model (16 px, D=32, E=40) saved as a directory: what MODEL takes."""
    return save_model(tmp_path_factory.mktemp("extract-model") / "m")


@pytest.fixture(scope="session")
def other_model_dir(tmp_path_factory) -> Path:
    """Same architecture, other weights."""
    return save_model(tmp_path_factory.mktemp("extract-model-b") / "m", seed=1)


def write_images(root: Path, spec: dict[str, int], seed: int = 0, size=(24, 20)) -> list[str]:
    """``spec`` maps a relative folder to a number of images; returns the relative paths written.

    Formats rotate through jpg, png, webp, bmp; sizes vary so that the resize matters."""
    rng = np.random.default_rng(seed)
    formats = ["jpg", "png", "webp", "bmp"]
    written = []
    n = 0
    for folder, count in spec.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            h, w = size[0] + (n % 3) * 4, size[1] + (n % 2) * 8
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            rel = (Path(folder) / f"img{i:03d}.{formats[n % 4]}").as_posix()
            Image.fromarray(arr).save(root / rel)
            written.append(rel)
            n += 1
    return written


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """Two classes (one with a nested folder), 11 images in four formats."""
    root = tmp_path / "images"
    write_images(root, {"cat": 4, "dog": 4, "dog/puppies": 3})
    return root


def transform_batch(model, paths) -> torch.Tensor:
    """``model.transform`` of each file, as the issue's reference: (N, C, H, W)."""
    return torch.stack([model.transform(Image.open(p).convert("RGB")) for p in paths])


def write_manifest(path: Path, lines: list[dict]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def subprocess_env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1", **extra)


PYTHON = sys.executable
