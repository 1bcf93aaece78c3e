"""infer_action, rollout and rank_candidates on a model whose right answers are known (see conftest.py)."""

from __future__ import annotations

import torch

from seqjepa.models.actions import quaternion_multiply
from seqjepa.world import geodesic_degrees, infer_action, rank_candidates, rollout

from .conftest import KnownAnswerModel, make_queries, state_images


def _errors(space: str, estimate: torch.Tensor, truth: torch.Tensor) -> "tuple[torch.Tensor, torch.Tensor]":
    """(rotation error in degrees, largest error of the other components) per query."""
    if space == "saccade":
        return torch.zeros(truth.shape[0]), (estimate - truth).abs().max(dim=1).values
    rot = geodesic_degrees(estimate[:, :4], truth[:, :4])
    if space == "rotation":
        return rot, torch.zeros_like(rot)
    hue = (estimate[:, 4:] - truth[:, 4:] + 0.5) % 1.0 - 0.5  # hues are turns: a whole turn is no change
    return rot, hue.abs().max(dim=1).values


def test_recovers_the_true_action(space):
    model = KnownAnswerModel(space)
    views, actions, target, truth = make_queries(space, batch=6, seed=1)
    est = infer_action(model, views, actions, target)
    rot, other = _errors(space, est.action, truth)
    assert rot.max() < 1.0, rot  # degrees
    assert other.max() < 0.005, other  # 1/200 of a turn or of the image
    assert torch.all(est.score > 0.9999)
    # the coarse search alone is within the grid's resolution, and refinement only improves the score
    coarse_rot, _ = _errors(space, est.coarse_action, truth)
    if space != "saccade":
        assert coarse_rot.max() <= est.resolution
    assert torch.all(est.score >= est.candidate_scores.max(dim=1).values - 1e-6)
    assert est.candidate_scores.shape == (6, est.candidates.shape[0])


def test_without_refinement_the_answer_is_the_best_grid_point():
    model = KnownAnswerModel("rotation")
    views, actions, target, truth = make_queries("rotation", batch=4, seed=2)
    est = infer_action(model, views, actions, target, steps=0)
    best = est.candidates[est.candidate_scores.argmax(dim=1)]
    torch.testing.assert_close(est.action, best, atol=1e-6, rtol=0)  # the grid point, projected onto the sphere
    assert geodesic_degrees(est.action, truth).max() <= est.resolution


def test_batched_equals_one_by_one(space):
    model = KnownAnswerModel(space)
    views, actions, target, _ = make_queries(space, batch=4, seed=3)
    batched = infer_action(model, views, actions, target, steps=10)
    for i in range(4):
        one = infer_action(model, views[i:i + 1], actions[i:i + 1], target[i:i + 1], steps=10)
        torch.testing.assert_close(one.action[0], batched.action[i], atol=1e-5, rtol=0)
        torch.testing.assert_close(one.score[0], batched.score[i], atol=1e-6, rtol=0)
        torch.testing.assert_close(one.candidate_scores[0], batched.candidate_scores[i], atol=1e-6, rtol=0)


def test_rollout_applies_each_action_in_turn():
    model = KnownAnswerModel("rotation")
    views, actions, _, _ = make_queries("rotation", batch=3, seed=4)
    g = torch.Generator().manual_seed(5)
    future = torch.nn.functional.normalize(torch.randn(3, 4, 4, generator=g), dim=-1)
    imagined = rollout(model, views, actions, future)
    assert imagined.shape == (3, 4, model.config.encoder_dim)
    # the true pose after t steps: last observed rotation composed with future[:, :t+1]
    last = views[:, -1, 0, 0, :4]
    pose = last
    for t in range(4):
        pose = quaternion_multiply(pose, future[:, t])
        truth = model.encode(state_images(pose, g))
        torch.testing.assert_close(imagined[:, t], truth, atol=1e-5, rtol=0)


def test_rank_candidates_puts_the_true_next_view_first():
    model = KnownAnswerModel("rotation")
    views, actions, target, truth = make_queries("rotation", batch=5, seed=6)
    # candidates: every query's target, so query i's own target is candidate i
    shared = rank_candidates(model, views, actions, truth, target)
    assert torch.equal(shared.order[:, 0], torch.arange(5))
    assert shared.scores.shape == (5, 5)
    per_query = rank_candidates(model, views, actions, truth, target[None].expand(5, -1, -1, -1, -1))
    torch.testing.assert_close(per_query.scores, shared.scores)
    assert torch.all(shared.scores.sort(dim=1, descending=True).values == shared.scores.gather(1, shared.order))
