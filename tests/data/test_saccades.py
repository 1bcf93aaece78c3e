"""Saccade sequences: fixations from saliency with inhibition of return, exact glimpses, position actions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqjepa.data import SaccadeSequences, center_bias_saliency
from seqjepa.data.saccades import STL10_MEAN, STL10_STD, sample_fixations
from seqjepa.errors import IntegrityError


def _images(n=4, size=96):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(n, size, size, 3), dtype=np.uint8), np.arange(n) % 2


def test_inhibition_of_return():
    rng = np.random.default_rng(1)
    sal = np.ones((96, 96))
    for _ in range(20):
        fix = sample_fixations(sal, 5, 16, rng)
        for a in range(5):
            for b in range(a + 1, 5):
                assert np.abs(fix[a] - fix[b]).max() > 16, fix  # later fixations avoid earlier squares


def test_fixations_follow_saliency():
    sal = np.zeros((96, 96))
    sal[10, 80] = 1.0
    sal[70, 5] = 3.0
    fix = sample_fixations(sal, 2, 16, np.random.default_rng(0))
    assert sorted(map(tuple, fix.tolist())) == [(10, 80), (70, 5)]
    # map exhausted: remaining fixations come from non-inhibited pixels
    fix = sample_fixations(sal, 4, 16, np.random.default_rng(0))
    assert len({tuple(f) for f in fix.tolist()}) == 4


def test_center_bias():
    m = center_bias_saliency(96)
    assert m.shape == (96, 96) and abs(m.sum() - 1) < 1e-9 and m[48, 48] > m[0, 0] * 20


def test_contract_patches_and_actions():
    images, labels = _images()
    ds = SaccadeSequences(images=images, labels=labels, num_views=4)
    assert (ds.num_views, ds.action_dim, ds.num_classes, ds.ior) == (4, 2, 2, 16)
    item = ds[2]
    assert item["views"].shape == (4, 3, 32, 32) and item["target"].shape == (3, 32, 32)
    assert item["latents"].shape == (5, 2) and item["actions"].shape == (4, 2)
    torch.testing.assert_close(item["actions"], item["latents"][1:] - item["latents"][:-1])
    pos = (item["latents"].double() * 96).round().long()
    mean = torch.tensor(STL10_MEAN).view(3, 1, 1)
    std = torch.tensor(STL10_STD).view(3, 1, 1)
    for k, (r, c) in enumerate(pos.tolist()):
        patch = item["views"][k] if k < 4 else item["target"]
        raw = (patch * std + mean) * 255
        # the glimpse's centre pixel (16, 16) is the fixated image pixel, rows down and columns right
        np.testing.assert_allclose(raw[:, 16, 16].numpy(), images[2, r, c].astype(np.float32), atol=1e-3)
        if 16 <= r < 80 and 16 <= c < 80:
            np.testing.assert_allclose(raw.permute(1, 2, 0).numpy(), images[2, r - 16:r + 16, c - 16:c + 16], atol=1e-3)
    torch.testing.assert_close(ds[2], SaccadeSequences(images=images, labels=labels, num_views=4)[2])
    ds.set_epoch(3)
    assert not torch.equal(ds[2]["latents"], item["latents"])


def test_saliency_sources(tmp_path):
    images, labels = _images(2)
    maps = np.zeros((2, 96, 96))
    maps[:, 40, 60] = 1.0
    ds = SaccadeSequences(images=images, labels=labels, num_views=1, saliency=maps)
    assert (ds[0]["latents"][0] * 96).round().tolist() == [40.0, 60.0]
    np.save(tmp_path / "maps.npy", maps)
    ds = SaccadeSequences(images=images, labels=labels, num_views=1, saliency=tmp_path / "maps.npy")
    assert (ds[1]["latents"][0] * 96).round().tolist() == [40.0, 60.0]
    mapdir = tmp_path / "dir"
    mapdir.mkdir()
    np.save(mapdir / "0.npy", np.log(maps[0] + 1e-30))
    ds = SaccadeSequences(images=images, labels=labels, num_views=1, saliency=mapdir, log_density=True)
    assert (ds[0]["latents"][0] * 96).round().tolist() == [40.0, 60.0]
    with pytest.raises(FileNotFoundError, match="1.npy"):
        ds[1]
    np.save(mapdir / "1.npy", np.zeros((50, 50)))
    with pytest.raises(IntegrityError, match="1.npy"):
        ds[1]
    np.save(mapdir / "1.npy", -np.ones((96, 96)))
    with pytest.raises(IntegrityError, match="non-negative"):
        SaccadeSequences(images=images, labels=labels, num_views=1, saliency=mapdir)[1]
    with pytest.raises(ValueError, match="saliency"):
        SaccadeSequences(images=images, labels=labels, saliency=np.zeros((3, 96, 96)))


def test_size_checks_and_ior_scaling():
    images, labels = _images(2, size=64)
    with pytest.raises(ValueError, match="image_size"):
        SaccadeSequences(images=images, labels=labels)[0]
    ds = SaccadeSequences(images=images, labels=labels, image_size=64, patch_size=16, num_views=2)
    assert ds.ior == 11 and ds[0]["views"].shape == (2, 3, 16, 16)
    with pytest.raises(ValueError, match="patch_size"):
        SaccadeSequences(images=images, labels=labels, image_size=64, patch_size=65)
