"""The queries run on the official architectures (ResNet-18, 128 px; random weights: the checkpoints need the Hub)."""

from __future__ import annotations

import pytest
import torch

import seqjepa
from seqjepa.world import infer_action, rank_candidates, rollout


@pytest.mark.parametrize("name", ["resnet18-3diebench", "resnet18-3diebench-rotcolor", "resnet18-stl10-pls"])
def test_queries_on_an_official_architecture(name):
    torch.manual_seed(0)
    model = seqjepa.create_model(name).eval()
    c = model.config
    g = torch.Generator().manual_seed(1)
    views = torch.randn(2, 2, 3, c.image_size, c.image_size, generator=g)
    actions = torch.randn(2, 1, c.action_dim, generator=g)
    target = torch.randn(2, 3, c.image_size, c.image_size, generator=g)
    est = infer_action(model, views, actions, target, grid_size=64, top_k=2, steps=2)
    assert est.action.shape == (2, c.action_dim) and torch.all(est.score <= 1.0 + 1e-6)
    if c.action_space.startswith("rotation"):
        torch.testing.assert_close(est.action[:, :4].norm(dim=1), torch.ones(2))
    assert rollout(model, views, actions, torch.randn(2, 3, c.action_dim, generator=g)).shape == (2, 3, c.encoder_dim)
    assert rank_candidates(model, views, actions, actions[:, 0], target).order.shape == (2, 2)
