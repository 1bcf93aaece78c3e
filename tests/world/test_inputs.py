"""Bad inputs to the world queries are refused as elsewhere in the API: a ValueError naming the argument."""

from __future__ import annotations

import pytest
import torch

from seqjepa.world import infer_action, rank_candidates, rollout

from .conftest import KnownAnswerModel, make_queries


@pytest.fixture(scope="module")
def model():
    return KnownAnswerModel("rotation")


@pytest.fixture(scope="module")
def query():
    return make_queries("rotation", batch=2, seed=7)


def test_infer_action_refuses(model, query):
    views, actions, target, _ = query
    with pytest.raises(ValueError, match=r"^views: expected shape \(B, M, C, H, W\), got \(2, 3, 8, 8\)"):
        infer_action(model, views[:, 0], actions, target)
    with pytest.raises(ValueError, match=r"^actions: expected shape \(B, steps, A\) = \(2, 2, 4\), got \(2, 2, 3\)"):
        infer_action(model, views, actions[..., :3], target)
    with pytest.raises(ValueError, match=r"^target: expected shape \(2, 3, 8, 8\) .*got \(1, 3, 8, 8\)"):
        infer_action(model, views, actions, target[:1])
    bad = target.clone()
    bad[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"^target: expected finite values, got NaN or Inf"):
        infer_action(model, views, actions, bad)
    with pytest.raises(ValueError, match=r"^target: expected dtype float32 .*got float64"):
        infer_action(model, views, actions, target.double())
    with pytest.raises(ValueError, match=r"^actions: expected dtype float32"):
        infer_action(model, views, actions.double(), target)
    for name, kwargs in (("grid_size", {"grid_size": 10}), ("top_k", {"top_k": 0}), ("steps", {"steps": -1}),
                         ("lr", {"lr": float("nan")})):
        with pytest.raises(ValueError, match=rf"^{name}: expected .*, got"):
            infer_action(model, views, actions, target, **kwargs)
    with pytest.raises(ValueError, match=r"^model: expected a seqjepa.SeqJEPA"):
        infer_action(object(), views, actions, target)


def test_infer_action_refuses_spaces_it_cannot_search_and_action_free_models():
    from seqjepa import SeqJEPAConfig, create_model

    tiny = dict(backbone_kwargs={"layers": [1, 1, 1, 1], "channels": [4, 4, 4, 16], "stem_width": 4}, encoder_dim=16,
                image_size=8, action_embed_dim=4, num_layers=1, num_heads=2, predictor_hidden=8, cifar_stem=True)
    jitter = create_model(SeqJEPAConfig(action_space="jitter", action_dim=4, **tiny)).eval()
    v = torch.zeros(1, 2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"^model: infer_action searches the action spaces .*'jitter'"):
        infer_action(jitter, v, torch.zeros(1, 1, 4), v[:, 0])
    free = create_model(SeqJEPAConfig(action_conditioned=False, learn_action_embedding=False,
                                      **{**tiny, "action_embed_dim": 0})).eval()
    with pytest.raises(ValueError, match=r"^model: infer_action needs an action-conditioned model"):
        infer_action(free, v, None, v[:, 0])
    # rollout and retrieval work on an action-free model, which takes no actions
    assert rollout(free, v, None, None, horizon=3).shape == (1, 3, 16)
    with pytest.raises(ValueError, match=r"^future_actions: this model was trained without action conditioning"):
        rollout(free, v, None, torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match=r"^horizon: expected an integer >= 1, got None"):
        rollout(free, v, None, None)
    assert rank_candidates(free, v, None, None, v[0]).scores.shape == (1, 2)


def test_rollout_refuses(model, query):
    views, actions, _, _ = query
    with pytest.raises(ValueError, match=r"^future_actions: expected shape \(B, T, A\) = \(2, T, 4\), got \(2, 4\)"):
        rollout(model, views, actions, actions[:, 0])
    with pytest.raises(ValueError, match=r"^future_actions: expected shape \(B, steps, A\) = \(2, 2, 4\), got \(2, 2, 5\)"):
        rollout(model, views, actions, torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match=r"^future_actions: expected finite values"):
        rollout(model, views, actions, torch.full((2, 2, 4), float("inf")))
    with pytest.raises(ValueError, match=r"^horizon: an action-conditioned model takes T from future_actions"):
        rollout(model, views, actions, actions, horizon=2)


def test_rank_candidates_refuses(model, query):
    views, actions, target, truth = query
    with pytest.raises(ValueError, match=r"^next_action: expected shape \(B, A\) = \(2, 4\), got \(4,\)"):
        rank_candidates(model, views, actions, truth[0], target)
    with pytest.raises(ValueError, match=r"^candidates: expected shape \(B, K, C, H, W\) with B=2"):
        rank_candidates(model, views, actions, truth, target[None])
    with pytest.raises(ValueError, match=r"^candidates: expected shape .*got \(3, 8, 8\)"):
        rank_candidates(model, views, actions, truth, target[0])
    with pytest.raises(ValueError, match=r"^candidates: expected C=3 channels"):
        rank_candidates(model, views, actions, truth, target[:, :2])


def test_a_model_in_training_mode_answers_in_eval_mode_and_is_put_back(model, query):
    views, actions, target, _ = query
    model.train()
    try:
        infer_action(model, views, actions, target, steps=2)
        assert model.training
    finally:
        model.eval()
    assert all(p.grad is None for p in model.parameters())


def test_the_shared_checks_scan_for_non_finite_values_by_default():
    # check_images / check_actions take a flag named like the scan they run; with the flag on they must still scan
    from seqjepa.models.checks import check_actions, check_images

    with pytest.raises(ValueError, match=r"^a: expected finite values"):
        check_actions("a", torch.full((1, 1, 4), float("nan")), batch=1, steps=1, action_dim=4)
    with pytest.raises(ValueError, match=r"^v: expected finite values"):
        check_images("v", torch.full((1, 3, 4, 4), float("inf")), ndims=(4,), channels=3)
