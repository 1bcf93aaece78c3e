"""A tiny in-memory dataset following the shared data contract (random 16-px sequences with labels)."""

from __future__ import annotations

from typing import Any

import torch

from tests.conftest import small_config


class TinySequences:
    """Deterministic in (seed, epoch, index); labels are learnable from the mean colour."""

    def __init__(self, n: int = 24, num_views: int = 2, action_dim: int = 4, num_classes: int = 3,
                 size: int = 16, seed: int = 0, nan_at: int = -1) -> None:
        self.n, self.num_views, self.action_dim, self.num_classes = n, num_views, action_dim, num_classes
        self.size, self.seed, self.epoch, self.nan_at = size, seed, 0, nan_at

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch * 10_007 + i)
        label = i % self.num_classes
        m = self.num_views
        images = torch.randn(m + 1, 3, self.size, self.size, generator=g) * 0.5 + (label - 1.0)
        latents = torch.randn(m + 1, self.action_dim, generator=g)
        actions = latents[1:] - latents[:-1]
        return {
            "views": images[:m].contiguous(), "target": images[m].contiguous(), "actions": actions.float(),
            "label": torch.tensor(label, dtype=torch.int64), "latents": latents.float(),
        }


def build(root: Any, split: str = "train", num_views: int = 2, seed: int = 0, **options: Any) -> TinySequences:
    """Dataset factory used by recipes as ``tests.train.tinydata:build``."""
    n = int(options.get("n", 24 if split == "train" else 12))
    return TinySequences(n=n, num_views=num_views, seed=seed + (0 if split == "train" else 99))


def tiny_recipe(**train: Any) -> dict[str, Any]:
    """A recipe for a tiny model on :class:`TinySequences`, fp32, one worker-less process."""
    from seqjepa.train import recipe_from_dict

    model = small_config(train_seq_len=2).to_dict()
    t = dict(epochs=2, batch_size=4, num_workers=0, precision="fp32", channels_last=False, probe_hidden=16,
             log_every=0, checkpoint_every=1, seed=3)
    t.update(train)
    return recipe_from_dict({
        "name": "tiny-test", "model": model,
        "data": {"dataset": "tests.train.tinydata:build", "num_views": 2},
        "optim": {"warmup_epochs": 1}, "train": t,
    })
