"""Every sequence dataset shares one implementation of the contract (SequenceDataset), not a copy of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqjepa.data import AugmentedSequences, SaccadeSequences, SequenceDataset, ThreeDIEBench

DATASETS = (ThreeDIEBench, AugmentedSequences, SaccadeSequences)


@pytest.mark.parametrize("cls", DATASETS, ids=lambda c: c.__name__)
def test_the_contract_is_inherited_not_repeated(cls):
    assert issubclass(cls, SequenceDataset)
    for name in ("action_dim", "set_epoch", "__getitem__"):
        assert getattr(cls, name) is getattr(SequenceDataset, name), f"{cls.__name__} redefines {name}"


def _datasets(toy_root):
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 255, (6, 40, 40, 3), dtype=np.uint8), np.arange(6) % 3
    return (
        ThreeDIEBench(toy_root, "train", num_views=2, image_size=16),
        AugmentedSequences(images=images, labels=labels, num_views=2, image_size=16),
        SaccadeSequences(images=rng.integers(0, 255, (4, 96, 96, 3), dtype=np.uint8), labels=np.arange(4), num_views=2),
    )


def test_each_dataset_keeps_the_contract(toy_root):
    for ds in _datasets(toy_root):
        assert ds.action_dim == ds.action_space.dim and isinstance(ds.num_classes, int) and len(ds) > 0
        first = ds[len(ds) - 1]
        assert set(first) == {"views", "target", "actions", "label", "latents"}
        assert first["actions"].shape == (2, ds.action_dim)
        torch.testing.assert_close(ds[-1], ds.sample(len(ds) - 1), rtol=0, atol=0)
        ds.set_epoch(np.int64(3))
        assert ds.epoch == 3 and type(ds.epoch) is int
        assert not torch.equal(ds[len(ds) - 1]["latents"], first["latents"])  # a new epoch draws anew
        with pytest.raises(IndexError, match="index: expected"):
            ds[len(ds)]


def test_the_base_cannot_stand_without_len_and_sample():
    class Partial(SequenceDataset):
        def __len__(self) -> int:
            return 0

    with pytest.raises(TypeError, match="sample"):
        Partial()
