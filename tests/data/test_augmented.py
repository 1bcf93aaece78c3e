"""Parametric augmentation sequences: parameters are the ones applied, actions follow them, sources work."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from seqjepa.models.actions import get_action_space
from seqjepa.data import AugmentedSequences, ParametricAugment, blur_kernel_size


def _images(n=6, size=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8), np.arange(n) % 3


def test_kernel_rule():
    assert [blur_kernel_size(s) for s in (32, 64, 96, 224)] == [3, 7, 9, 23]


def test_params_are_the_applied_ops():
    img, _ = _images(1)
    aug = ParametricAugment(32, blur_p=0.0, jitter_p=0.0, gray_p=0.0, flip_p=0.0)
    x, p = aug(img[0], np.random.default_rng(1))
    i, j, h, w = (int(v) for v in p[:4])
    assert list(p[4:]) == [1.0, 1.0, 1.0, 0.0, 0.0]  # neutral jitter and sigma when off
    assert 0.2 * 40 * 40 * 0.9 <= h * w <= 40 * 40 and 0 <= i <= 40 - h and 0 <= j <= 40 - w
    ref = TF.resized_crop(torch.from_numpy(img[0]).permute(2, 0, 1), i, j, h, w, [32, 32],
                          InterpolationMode.BICUBIC, antialias=True).float() / 255
    torch.testing.assert_close(x, ref)
    on = ParametricAugment(32, blur_p=1.0, jitter_p=1.0)
    rng = np.random.default_rng(2)
    for _ in range(20):
        _, p = on(img[0], rng)
        assert 0.6 <= p[4] <= 1.4 and 0.6 <= p[5] <= 1.4 and 0.8 <= p[6] <= 1.2 and -0.1 <= p[7] <= 0.1
        assert 0.1 <= p[8] <= 2.0


def test_probabilities():
    img, _ = _images(1)
    rng = np.random.default_rng(3)
    target = ParametricAugment(32, blur_p=0.1, solarize_p=0.2)
    params = np.stack([target(img[0], rng)[1] for _ in range(300)])
    blurred = (params[:, 8] > 0).mean()
    jittered = (params[:, 4:8] != [1, 1, 1, 0]).any(axis=1).mean()
    assert 0.05 < blurred < 0.17 and 0.72 < jittered < 0.88


def test_contract_and_actions_from_array():
    images, labels = _images()
    ds = AugmentedSequences(images=images, labels=labels, num_views=3, image_size=32)
    assert (ds.num_views, ds.action_dim, ds.num_classes, len(ds)) == (3, 9, 3, 6)
    item = ds[1]
    assert item["views"].shape == (3, 3, 32, 32) and item["target"].shape == (3, 32, 32)
    assert item["latents"].shape == (4, 9) and item["actions"].shape == (3, 9) and item["label"] == 1
    lat = item["latents"].double()
    norm = lat / lat.norm(dim=0, keepdim=True).clamp_min(1e-12)
    torch.testing.assert_close(item["actions"], (norm[1:] - norm[:-1]).float())
    assert (item["latents"][:3, 8] > 0).all()  # observed views are always blurred
    torch.testing.assert_close(ds[1], AugmentedSequences(images=images, labels=labels, num_views=3, image_size=32)[1])
    ds.set_epoch(1)
    assert not torch.equal(ds[1]["latents"], item["latents"])
    crop = AugmentedSequences(images=images, labels=labels, num_views=2, image_size=32, action_space="crop")
    assert crop[0]["actions"].shape == (2, 4) and crop.action_dim == 4
    assert ds.sample(0, num_views=6)["views"].shape[0] == 6
    assert ds.original(0).shape == (3, 32, 32)


def test_chw_tensor_source_and_folder(tmp_path):
    images, labels = _images(4)
    ds = AugmentedSequences(images=torch.from_numpy(images).permute(0, 3, 1, 2), labels=torch.from_numpy(labels),
                            num_views=2, image_size=16)
    assert ds[0]["views"].shape == (2, 3, 16, 16)
    for k, (img, lab) in enumerate(zip(images, labels)):
        (tmp_path / f"class_{lab}").mkdir(exist_ok=True)
        Image.fromarray(img).save(tmp_path / f"class_{lab}" / f"{k}.png")
    folder = AugmentedSequences(tmp_path, num_views=2, image_size=16)
    assert len(folder) == 4 and folder.num_classes == 3
    assert folder[1]["label"] == 0 and folder[3]["label"] == 2 and folder[3]["views"].shape == (2, 3, 16, 16)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(images=np.zeros((2, 8, 8, 3), dtype=np.float32), labels=[0, 1]), "images"),
        (dict(images=np.zeros((2, 8, 8, 3), dtype=np.uint8), labels=[0]), "labels"),
        (dict(images=np.zeros((2, 8, 8, 3), dtype=np.uint8), labels=None), "labels"),
        (dict(images=np.zeros((2, 8, 8, 3), dtype=np.uint8), labels=[0, 1], action_space="rotation"), "action_space"),
        (dict(images=np.zeros((2, 8, 8, 3), dtype=np.uint8), labels=[0, 1], num_views=0), "num_views"),
        (dict(), "root"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugmentedSequences(**kwargs)


def test_bad_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="class sub-folders"):
        AugmentedSequences(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "broken.jpg").write_bytes(b"nope")
    ds = AugmentedSequences(tmp_path, num_views=1, image_size=8)
    from seqjepa.errors import IntegrityError

    with pytest.raises(IntegrityError, match="broken.jpg"):
        ds[0]


def test_action_space_name_matches_registry():
    assert get_action_space("augmentation").dim == 9
