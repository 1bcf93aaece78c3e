"""World-model queries on a seq-JEPA: which action led here, what comes next, which image is next.

All three rest on the model's public methods: :meth:`~seqjepa.SeqJEPA.encode_views` (z and z_AGG
of the observed views, one encoder pass), :meth:`~seqjepa.SeqJEPA.predict` (the predictor on z_AGG
and an action), :meth:`~seqjepa.SeqJEPA.aggregate`, :meth:`~seqjepa.SeqJEPA.predict_next` and
:meth:`~seqjepa.SeqJEPA.equivariant_embedding`. Every input goes through the model's own checks.
The model answers in eval mode (BatchNorm running statistics; a model in training mode is put in
eval mode for the query and put back afterwards) and no gradient reaches its parameters.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch
import torch.nn.functional as F

from ..models.checks import check_actions
from .grids import box_grid, rotation_grid, rotation_grid_resolution

__all__ = ["ActionEstimate", "Ranking", "infer_action", "rollout", "rank_candidates", "SEARCHABLE_SPACES"]

_log = logging.getLogger("seqjepa.world")

#: rows of (z_AGG, action) the predictor sees at once while scoring a grid
_CHUNK = 32768
#: range of one hue difference (hues are turns in [0, 1)) and of one saccade displacement (positions / size in [0, 1])
_HUE_RANGE = (-1.0, 1.0)
_SACCADE_RANGE = (-1.0, 1.0)
_HUE_POINTS = 17
_SACCADE_POINTS = 41

#: action spaces :func:`infer_action` can search, with how each is parametrized
SEARCHABLE_SPACES = {
    "rotation": "unit quaternion: super-Fibonacci grid over all rotations, the best few refined on the sphere",
    "rotation_color": "rotation as above with zero hue change, then a 17 x 17 grid of (floor hue, light hue) "
                      "differences in [-1, 1] around the best rotations, then all six refined together",
    "saccade": "(row, col) displacement: a 41 x 41 grid on [-1, 1]^2 (step 0.05), the best few refined in the box",
}


@dataclass
class ActionEstimate:
    """What :func:`infer_action` found, per query.

    Attributes:
        action: (B, A) the inferred relative action, in the model's action space (a rotation as a
            unit quaternion (x, y, z, w), with the sign that scored best).
        score: (B,) cos(predicted embedding for ``action``, embedding of the target): at most 1.
        candidates: (N, A) the coarse candidates every query was scored on (the grid).
        candidate_scores: (B, N) the score of each coarse candidate: how peaked the answer is.
        coarse_action: (B, A) the best coarse candidate before refinement.
        resolution: the grid's stated resolution (degrees for a rotation grid, action units otherwise):
            no action of the searched range is farther than this from a candidate.
        action_space: the model's action space.
    """

    action: torch.Tensor
    score: torch.Tensor
    candidates: torch.Tensor
    candidate_scores: torch.Tensor
    coarse_action: torch.Tensor
    resolution: float
    action_space: str


@dataclass
class Ranking:
    """What :func:`rank_candidates` found.

    Attributes:
        scores: (B, K) cos(predicted next embedding, embedding of candidate k).
        order: (B, K) candidate indices, best first.
    """

    scores: torch.Tensor
    order: torch.Tensor


@contextmanager
def _eval_mode(model: torch.nn.Module) -> Iterator[None]:
    was_training = model.training
    model.eval()
    try:
        yield
    finally:
        model.train(was_training)


def _check_model(model: object) -> None:
    for attr in ("config", "encode_views", "predict", "equivariant_embedding"):
        if not hasattr(model, attr):
            raise ValueError(f"model: expected a seqjepa.SeqJEPA (seqjepa.load(...)), got {type(model).__name__}")


def _check_count(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return value


def _embed(model, images: torch.Tensor, name: str) -> torch.Tensor:
    """``model.equivariant_embedding(images)`` with its input errors naming ``name`` (the argument the caller gave)."""
    try:
        return model.equivariant_embedding(images)
    except ValueError as exc:
        message = str(exc)
        if message.startswith("images:"):
            raise ValueError(name + message[len("images"):]) from None
        raise


def _cosine(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cosine_similarity(pred.float(), target.float(), dim=-1)


# ---------------------------------------------------------------- search spaces
@dataclass(frozen=True)
class _Search:
    """How one action space is searched: coarse candidates, an optional second grid, the projection onto valid actions."""

    grid: Callable[[torch.dtype, torch.device], torch.Tensor]
    resolution: float
    project: Callable[[torch.Tensor], torch.Tensor]
    second: Optional[Callable[[torch.Tensor], torch.Tensor]] = None


def _project_rotation(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)


def _project_rotation_color(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([F.normalize(x[..., :4], dim=-1), x[..., 4:].clamp(*_HUE_RANGE)], dim=-1)


def _project_saccade(x: torch.Tensor) -> torch.Tensor:
    return x.clamp(*_SACCADE_RANGE)


def _hue_expansion(rotations: torch.Tensor) -> torch.Tensor:
    """(R, 6) rotation candidates with zero hue change -> (R * H, 6): each rotation with every hue pair of the grid."""
    hues = box_grid(*_HUE_RANGE, _HUE_POINTS, 2, dtype=rotations.dtype, device=rotations.device)
    r, h = rotations.shape[0], hues.shape[0]
    rot = rotations[:, None, :4].expand(r, h, 4)
    return torch.cat([rot, hues[None].expand(r, h, 2)], dim=-1).reshape(r * h, 6)


def _search_for(space: str, grid_size: int) -> _Search:
    if space == "rotation":
        return _Search(lambda dt, dev: rotation_grid(grid_size, dtype=dt, device=dev),
                       rotation_grid_resolution(grid_size), _project_rotation)
    if space == "rotation_color":
        def grid(dt: torch.dtype, dev: torch.device) -> torch.Tensor:
            q = rotation_grid(grid_size, dtype=dt, device=dev)
            return torch.cat([q, q.new_zeros(q.shape[0], 2)], dim=-1)
        return _Search(grid, rotation_grid_resolution(grid_size), _project_rotation_color, _hue_expansion)
    if space == "saccade":
        step = (_SACCADE_RANGE[1] - _SACCADE_RANGE[0]) / (_SACCADE_POINTS - 1)
        return _Search(lambda dt, dev: box_grid(*_SACCADE_RANGE, _SACCADE_POINTS, 2, dtype=dt, device=dev),
                       step * math.sqrt(2.0) / 2.0, _project_saccade)
    raise ValueError(
        f"model: infer_action searches the action spaces {sorted(SEARCHABLE_SPACES)}, "
        f"got a model with the {space!r} action space"
    )


# ---------------------------------------------------------------- scoring
def _score_rows(model, z_agg: torch.Tensor, z_target: torch.Tensor, rows: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """cos(predict(z_agg[rows], candidates), z_target[rows]) for R (query index, candidate) rows: (R,)."""
    out = []
    for start in range(0, rows.shape[0], _CHUNK):
        idx = rows[start:start + _CHUNK]
        pred = model.predict(z_agg[idx], candidates[start:start + _CHUNK])
        out.append(_cosine(pred, z_target[idx]))
    return torch.cat(out)


def _score_grid(model, z_agg: torch.Tensor, z_target: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Every query against every grid candidate: (B, N)."""
    b, n = z_agg.shape[0], grid.shape[0]
    rows = torch.arange(b, device=z_agg.device).repeat_interleave(n)
    return _score_rows(model, z_agg, z_target, rows, grid.repeat(b, 1)).reshape(b, n)


def _refine(model, z_agg: torch.Tensor, z_target: torch.Tensor, rows: torch.Tensor, start: torch.Tensor,
            project: Callable[[torch.Tensor], torch.Tensor], steps: int, lr: float) -> "tuple[torch.Tensor, torch.Tensor]":
    """Gradient ascent on the score from ``start`` (R, A), one row per (query, start); the best point seen per row."""
    best_action = project(start.detach().float()).to(start.dtype)
    best_score = _score_rows(model, z_agg, z_target, rows, best_action)
    if steps == 0:
        return best_action, best_score
    x = start.detach().clone().float().requires_grad_(True)
    optimizer = torch.optim.Adam([x], lr=lr)
    agg, tgt = z_agg[rows], z_target[rows]
    for step in range(steps):
        for group in optimizer.param_groups:  # cosine decay to zero: coarse moves first, sub-degree at the end
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        with torch.enable_grad():
            action = project(x).to(agg.dtype)
            score = _cosine(model.predict(agg, action), tgt)
            (grad,) = torch.autograd.grad(-score.sum(), [x])
        with torch.no_grad():
            better = score.detach() > best_score
            best_score = torch.where(better, score.detach(), best_score)
            best_action = torch.where(better[:, None], action.detach(), best_action)
        x.grad = grad
        optimizer.step()
    with torch.no_grad():
        final = project(x.detach()).to(agg.dtype)
        score = _score_rows(model, z_agg, z_target, rows, final)
        better = score > best_score
        best_score = torch.where(better, score, best_score)
        best_action = torch.where(better[:, None], final, best_action)
    return best_action, best_score


# ---------------------------------------------------------------- the queries
def infer_action(
    model,
    views: torch.Tensor,
    actions: Optional[torch.Tensor],
    target: torch.Tensor,
    *,
    grid_size: int = 4096,
    top_k: int = 8,
    steps: int = 40,
    lr: float = 0.02,
) -> ActionEstimate:
    """The relative action that leads from the last of ``views`` to ``target``, as the model sees it.

    Maximizes cos(prediction, z(target)) over the model's action space, where the prediction is
    ``model.predict(z_AGG(views, actions), a)`` and z(target) is ``model.equivariant_embedding(target)``
    (the online encoder: exported models carry no target encoder; at convergence the EMA target
    encoder it was trained against is close to it). The search is deterministic: every query is
    scored on a fixed grid (see :data:`SEARCHABLE_SPACES`; rotations on
    :func:`~seqjepa.world.rotation_grid`), then its ``top_k`` best candidates are refined by
    ``steps`` Adam steps on the score, the action projected back onto the valid set at each step
    (a rotation onto the unit sphere), and the best point seen wins.

    Args:
        model: any action-conditioned seq-JEPA whose action space is one of :data:`SEARCHABLE_SPACES`.
        views: (B, M, C, H, W) observed views, normalized as ``model.transform`` does.
        actions: (B, M-1, A) relative actions between them (``actions[:, j]`` leads from view j to j+1).
        target: (B, C, H, W) the view the action leads to.
        grid_size: rotation grid points (>= 64); the resolution shrinks as ``grid_size ** (-1/3)``.
        top_k: grid candidates refined per query (>= 1).
        steps: refinement steps (0: the best grid point).
        lr: refinement step size.

    Returns:
        an :class:`ActionEstimate`: ``.action`` (B, A), ``.score`` (B,), the coarse candidates and their scores.

    Raises:
        ValueError: bad shapes, dtypes, devices or values (named as the model names them); a model
            trained without actions, or whose action space cannot be searched.
    """
    _check_model(model)
    config = model.config
    if not config.action_conditioned:
        raise ValueError("model: infer_action needs an action-conditioned model; this one was trained without actions")
    search = _search_for(config.action_space, _check_count("grid_size", grid_size, 64))
    top_k = _check_count("top_k", top_k, 1)
    steps = _check_count("steps", steps, 0)
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr: expected a finite number > 0, got {lr!r}")
    with _eval_mode(model), torch.no_grad():
        out = model.encode_views(views, actions)
        if not isinstance(target, torch.Tensor) or target.dim() != 4 or target.shape[0] != views.shape[0] \
                or target.shape[1:] != views.shape[2:]:
            got = tuple(target.shape) if isinstance(target, torch.Tensor) else type(target).__name__
            raise ValueError(f"target: expected shape {(views.shape[0], *views.shape[2:])} (one view per sequence, "
                             f"like views), got {got}")
        z_target = _embed(model, target, "target")
        z_agg = out.invariant
        grid = search.grid(z_agg.dtype, z_agg.device)
        grid_scores = _score_grid(model, z_agg, z_target, grid)
        b = z_agg.shape[0]
        k = min(top_k, grid.shape[0])
        top = grid_scores.topk(k, dim=1).indices  # (B, k)
        coarse = grid[top[:, 0]]
        starts = grid[top.reshape(-1)]
        rows = torch.arange(b, device=z_agg.device).repeat_interleave(k)
        if search.second is not None:
            expanded = search.second(starts)
            per = expanded.shape[0] // starts.shape[0]
            exp_rows = rows.repeat_interleave(per)
            s2 = _score_rows(model, z_agg, z_target, exp_rows, expanded).reshape(b, k * per)
            best2 = s2.topk(k, dim=1).indices
            starts = expanded.reshape(b, k * per, -1).gather(1, best2[..., None].expand(-1, -1, expanded.shape[-1]))
            starts = starts.reshape(b * k, -1)
            coarse = starts.reshape(b, k, -1)[:, 0]
    refined, scores = _refine(model, z_agg, z_target, rows, starts, search.project, steps, float(lr))
    with torch.no_grad():
        scores = scores.reshape(b, k)
        best = scores.argmax(dim=1)
        action = refined.reshape(b, k, -1)[torch.arange(b, device=best.device), best]
        score = scores.max(dim=1).values
    _log.debug("infer_action: %d queries, %d grid candidates, %d refined each", b, grid.shape[0], k)
    return ActionEstimate(action=action.detach(), score=score.detach(), candidates=grid, candidate_scores=grid_scores,
                          coarse_action=coarse, resolution=search.resolution, action_space=config.action_space)


def rollout(
    model,
    views: torch.Tensor,
    actions: Optional[torch.Tensor],
    future_actions: Optional[torch.Tensor],
    *,
    horizon: Optional[int] = None,
) -> torch.Tensor:
    """Imagine T steps ahead: the predicted embedding after each of ``future_actions``, (B, T, D).

    Step t predicts ``model.predict(z_AGG, future_actions[:, t])``, where z_AGG aggregates the observed
    views *and the t embeddings imagined so far*, each entered as an observation with the action that
    led to it. What is fed back is the predicted embedding itself: the predictor is trained to match
    the (EMA) encoder's embedding of the unseen view, so a prediction lives where an observation
    does, and the aggregator, which has no positional embedding, takes sequences of any length. This
    is the paper's path integration done in the model's own embedding space: the state after step t
    integrates every action up to t, and a mistake at step t carries into step t+1 just as it would
    for an agent that acts without looking.

    Args:
        views: (B, M, C, H, W) observed views.
        actions: (B, M-1, A) relative actions between them (None for an action-free model).
        future_actions: (B, T, A) the actions to imagine; ``future_actions[:, 0]`` leads from the
            last observed view. None for an action-free model, which then takes ``horizon=T``.

    Returns:
        (B, T, D) imagined encoder-space embeddings.
    """
    _check_model(model)
    config = model.config
    with _eval_mode(model), torch.no_grad():
        out = model.encode_views(views, actions)
        b = out.invariant.shape[0]
        if config.action_conditioned:
            if horizon is not None:
                raise ValueError(f"horizon: an action-conditioned model takes T from future_actions, got horizon={horizon!r}")
            if not isinstance(future_actions, torch.Tensor) or future_actions.dim() != 3:
                got = tuple(future_actions.shape) if isinstance(future_actions, torch.Tensor) else type(future_actions).__name__
                raise ValueError(f"future_actions: expected shape (B, T, A) = ({b}, T, {config.action_dim}), got {got}")
            t_steps = future_actions.shape[1]
            if t_steps < 1:
                raise ValueError(f"future_actions: expected at least one step, got shape {tuple(future_actions.shape)}")
            check_actions("future_actions", future_actions, batch=b, steps=t_steps, action_dim=config.action_dim)
            future_actions = future_actions.to(out.invariant.dtype)
        else:
            if future_actions is not None:
                raise ValueError("future_actions: this model was trained without action conditioning and takes "
                                 f"future_actions=None (and horizon=T), got a {type(future_actions).__name__}")
            t_steps = _check_count("horizon", horizon, 1)
        z, acts, z_agg = out.equivariant, actions, out.invariant
        predictions = []
        for t in range(t_steps):
            if t > 0:
                z_agg = model.aggregate(z, acts)
            step = future_actions[:, t] if future_actions is not None else None
            pred = model.predict(z_agg, step)
            predictions.append(pred)
            z = torch.cat([z, pred[:, None].to(z.dtype)], dim=1)
            if step is not None:
                acts = torch.cat([acts, step[:, None].to(acts.dtype)], dim=1)
        return torch.stack(predictions, dim=1)


def rank_candidates(
    model,
    views: torch.Tensor,
    actions: Optional[torch.Tensor],
    next_action: Optional[torch.Tensor],
    candidates: torch.Tensor,
) -> Ranking:
    """Next-view retrieval: score candidate images by cos(predicted next embedding, their embedding).

    Args:
        views: (B, M, C, H, W) observed views.
        actions: (B, M-1, A) relative actions between them (None for an action-free model).
        next_action: (B, A) the action from the last view to the unseen one (None for an action-free model).
        candidates: (B, K, C, H, W) candidates per query, or (K, C, H, W) shared by every query.

    Returns:
        a :class:`Ranking`: ``.scores`` (B, K) and ``.order`` (B, K), best first.
    """
    _check_model(model)
    config = model.config
    if not isinstance(views, torch.Tensor) or views.dim() != 5:
        # the model's own check names the problem; run it for its message
        model.encode_views(views, actions)
    b = views.shape[0]
    with _eval_mode(model), torch.no_grad():
        if config.action_conditioned:
            if not isinstance(next_action, torch.Tensor) or next_action.dim() != 2 or next_action.shape[0] != b:
                got = tuple(next_action.shape) if isinstance(next_action, torch.Tensor) else type(next_action).__name__
                raise ValueError(f"next_action: expected shape (B, A) = ({b}, {config.action_dim}), got {got}")
            if actions is None or not isinstance(actions, torch.Tensor) or actions.dim() != 3:
                model.encode_views(views, actions)  # raises, naming actions
            full = torch.cat([actions, next_action[:, None].to(actions.dtype)], dim=1)
            pred = model.predict_next(views, full)
        else:
            if next_action is not None:
                raise ValueError("next_action: this model was trained without action conditioning and takes "
                                 f"next_action=None, got a {type(next_action).__name__}")
            pred = model.predict_next(views, actions)
        if isinstance(candidates, torch.Tensor) and candidates.dim() == 4:
            z_c = _embed(model, candidates, "candidates")[None].expand(b, -1, -1)
        elif isinstance(candidates, torch.Tensor) and candidates.dim() == 5:
            if candidates.shape[0] != b:
                raise ValueError(f"candidates: expected shape (B, K, C, H, W) with B={b} (one set per query) "
                                 f"or (K, C, H, W), got {tuple(candidates.shape)}")
            z_c = _embed(model, candidates, "candidates")
        else:
            got = tuple(candidates.shape) if isinstance(candidates, torch.Tensor) else type(candidates).__name__
            raise ValueError(f"candidates: expected shape (B, K, C, H, W) or (K, C, H, W), got {got}")
        scores = _cosine(pred[:, None, :], z_c)
        order = scores.argsort(dim=1, descending=True, stable=True)
    return Ranking(scores=scores, order=order)
