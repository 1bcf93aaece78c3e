"""Named datasets over image folders: the builders recipes and protocols use."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from seqjepa.data import cifar100_sequences, imagenet_saccades, split_folder, stl10_saccades
from seqjepa.train.datasets import build_dataset
from seqjepa.train.recipe import load_recipe


def _folder(root, split, size, classes=2, per_class=2):
    rng = np.random.default_rng(0)
    for c in range(classes):
        d = root / split / f"c{c}"
        d.mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)).save(d / f"{i}.png")


def test_split_folder_falls_back_from_val_to_test(tmp_path):
    _folder(tmp_path, "test", 8)
    assert split_folder(tmp_path, "val") == tmp_path / "test"
    with pytest.raises(FileNotFoundError, match="train"):
        split_folder(tmp_path, "train")
    with pytest.raises(ValueError, match="split"):
        split_folder(tmp_path, "../x")


def test_builders_yield_contract_items(tmp_path):
    _folder(tmp_path, "train", 32)
    cifar = cifar100_sequences(tmp_path, num_views=3)
    item = cifar[0]
    assert item["views"].shape == (3, 3, 32, 32) and item["actions"].shape == (3, 9)
    _folder(tmp_path / "stl", "train", 96)
    stl = stl10_saccades(tmp_path / "stl", num_views=4)
    assert stl[1]["views"].shape == (4, 3, 32, 32) and stl.action_dim == 2
    _folder(tmp_path / "in", "train", 50)  # any size: resized to 224 before glimpses are cut
    imnet = imagenet_saccades(tmp_path / "in", num_views=2, image_size=32)
    assert imnet[0]["views"].shape == (2, 3, 32, 32)


def test_recipe_dataset_names_resolve_to_real_readers(tmp_path):
    _folder(tmp_path, "train", 32)
    recipe = load_recipe("cifar100-aug", overrides=["train.seed=1"])
    dataset = build_dataset(recipe, str(tmp_path), "train")
    assert dataset.num_views == recipe["data"]["num_views"] and dataset.action_dim == 9
