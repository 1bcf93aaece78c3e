"""The demo's numbers, panel by panel; nothing here prints (:mod:`seqjepa.demo.report` does).

Every function runs the model as it is (call them under ``torch.inference_mode()``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..data.synthetic import DEFAULT_MAX_ANGLE
from .example import Example
from .gallery import Gallery, render_gallery, render_sweep
from .model import relative_actions, tensor_batch

__all__ = [
    "SequenceEmbeddings",
    "GalleryEmbeddings",
    "PredictionScores",
    "embed_example",
    "embed_gallery",
    "score_prediction",
    "nearest_classes",
    "sweep_embeddings",
    "prediction_cosines",
]


@dataclass
class SequenceEmbeddings:
    """The example in the model: its views, relative actions, and the embeddings of the observed views."""

    views: torch.Tensor  # (V, C, H, W): the observed views, then the held-out target
    actions: Optional[torch.Tensor]  # (V-1, A): view j -> j+1, the last row leads to the target; None: action-free
    equivariant: torch.Tensor  # (M, D) z of the observed views
    invariant: torch.Tensor  # (E,) z_AGG of the observed sequence

    @property
    def observed(self) -> int:
        """M, the number of observed views (all but the held-out target)."""
        return self.views.shape[0] - 1


@dataclass
class GalleryEmbeddings:
    """The gallery in the model: each object's views observed but the last, which is held out."""

    gallery: Gallery
    views: torch.Tensor  # (N, V, C, H, W)
    actions: Optional[torch.Tensor]  # (N, V-1, A), or None for action-free models
    invariant: torch.Tensor  # (N, E) z_AGG of each object's observed views
    size: int  # the side, in pixels, the gallery was rendered at


@dataclass
class PredictionScores:
    """How well z_AGG and the action to the held-out view predict its embedding, against random actions."""

    prediction: torch.Tensor  # (D,) predicted embedding of the example's held-out view
    target_embedding: torch.Tensor  # (D,) its actual embedding
    by_target_encoder: bool  # whether the target encoder (else the encoder) gave the actual embedding
    cos_true: float
    cos_random: list  # the same cosine with each random action
    gallery_sequences: int
    gallery_cos_true: Optional[float] = None  # the contrast averaged over the gallery (None without random actions)
    gallery_cos_random: Optional[float] = None
    gallery_true_best: Optional[int] = None  # sequences where the true action beats every random one

    @property
    def true_action_rank(self) -> int:
        """1 + the number of random actions whose prediction is closer to the target than the true action's."""
        return 1 + sum(c > self.cos_true for c in self.cos_random)


def embed_example(net, example: Example) -> SequenceEmbeddings:
    """z of each observed view and z_AGG of the observed sequence (the last view is held out)."""
    views = tensor_batch(net, example.images)
    actions = relative_actions(net, example.latents)
    m = len(example.images) - 1
    observed_actions = None if actions is None else actions[: m - 1].unsqueeze(0)
    out = net.encode_views(views[:m].unsqueeze(0), observed_actions)
    return SequenceEmbeddings(views, actions, out.equivariant[0], out.invariant[0])


def render_size(image_size: int) -> int:
    """The side the demo renders new objects at: the model's input size, within 64..128 pixels."""
    return min(128, max(64, image_size))


def embed_gallery(net, example: Example, class_names: Sequence[str], objects_per_class: int, views: int,
                  seed: int) -> GalleryEmbeddings:
    """Render ``objects_per_class`` new objects per class, ``views`` observed + 1 held-out view each, and embed them.

    The scene (light, face colours, angle range) is the example's.
    """
    size = render_size(net.config.image_size)
    gallery = render_gallery(class_names, objects_per_class, views + 1, size=size, seed=seed,
                             light_color=example.light_color, face_colors=example.face_colors,
                             max_angle=example.max_angle)
    n, v = gallery.images.shape[:2]
    flat = tensor_batch(net, [Image.fromarray(im) for im in gallery.images.reshape(n * v, size, size, 3)])
    g_views = flat.reshape(n, v, *flat.shape[1:])
    g_actions = relative_actions(net, gallery.latents)
    invariant = net.encode_views(g_views[:, :-1], None if g_actions is None else g_actions[:, :-1]).invariant
    return GalleryEmbeddings(gallery, g_views, g_actions, invariant, size)


def score_prediction(net, example: Example, sequence: SequenceEmbeddings, gallery: GalleryEmbeddings,
                     random_actions: int, seed: int) -> PredictionScores:
    """Predict the held-out view's z with the true action and ``random_actions`` random ones; the same over the gallery.

    The random actions draw from ``default_rng([seed, 104729])``, the example's first, then the gallery's.
    """
    m = sequence.observed
    last_action = None if sequence.actions is None else sequence.actions[None, m - 1]
    target_embedding = net.encode(sequence.views[m:], target=True)[0]
    rng = np.random.default_rng([seed, 104729])
    cos_t, cos_r = prediction_cosines(net, sequence.invariant[None], example.latents[None, m - 1], last_action,
                                      target_embedding[None], random_actions, rng, example.max_angle)
    prediction = _predict(net, sequence.invariant[None], last_action)[0]
    scores = PredictionScores(prediction, target_embedding, net.has_target_encoder, float(cos_t[0]),
                              cos_r[0].tolist(), gallery_sequences=gallery.views.shape[0])
    if scores.cos_random:
        g_t, g_r = prediction_cosines(net, gallery.invariant, gallery.gallery.latents[:, -2], gallery.actions[:, -1],
                                      net.encode(gallery.views[:, -1], target=True), random_actions, rng,
                                      example.max_angle)
        scores.gallery_cos_true = float(g_t.mean())
        scores.gallery_cos_random = float(g_r.mean())
        scores.gallery_true_best = int((g_t[:, None] >= g_r).all(dim=1).sum())
    return scores


def nearest_classes(invariant: torch.Tensor, gallery: GalleryEmbeddings) -> list[tuple[str, float]]:
    """Every gallery class with the cosine of ``invariant`` (E,) to its centroid of unit z_AGG, best first."""
    g_unit = F.normalize(gallery.invariant, dim=1)
    labels, names = gallery.gallery.labels, gallery.gallery.classes
    centroids = torch.stack([g_unit[torch.as_tensor(labels == k)].mean(0) for k in range(len(names))])
    sims = F.cosine_similarity(invariant[None], centroids, dim=1)
    order = torch.argsort(sims, descending=True).tolist()
    return [(names[k], float(sims[k])) for k in order]


def sweep_embeddings(net, example: Example, steps: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """z (steps, D) of the example object turned about the vertical axis, and the angles (radians) it was turned to."""
    images, angles = render_sweep(example, steps, size)
    z = net.encode(tensor_batch(net, images))
    return z.float().cpu().numpy(), angles


def _predict(net, z_agg: torch.Tensor, action: Optional[torch.Tensor]) -> torch.Tensor:
    return net.predict(z_agg) if action is None else net.predict(z_agg, action)


def prediction_cosines(net, z_agg, last_latents: np.ndarray, true_actions, target_z, k: int,
                       rng: np.random.Generator, max_angle: float = DEFAULT_MAX_ANGLE) -> tuple[torch.Tensor, torch.Tensor]:
    """Cosine to ``target_z`` (B, D) of the prediction with the true action (B,) and with ``k`` random ones (B, k).

    A random action leads from the last observed view's latent to a freshly drawn one (angles in
    ``U(-max_angle, max_angle)``, the training distribution).
    """
    from ..data.synthetic import sample_latents

    cos_true = F.cosine_similarity(_predict(net, z_agg, true_actions), target_z, dim=1)
    b = z_agg.shape[0]
    if true_actions is None or k == 0:
        return cos_true, cos_true.new_zeros(b, 0)
    wrong = sample_latents(rng, b * k, max_angle=max_angle).reshape(b, k, 7)
    pairs = np.stack([np.broadcast_to(last_latents[:, None], wrong.shape), wrong], axis=2)  # (B, k, 2, 7)
    wrong_actions = relative_actions(net, pairs.reshape(b * k, 2, 7))[:, 0]  # (B*k, A)
    pred = _predict(net, z_agg.repeat_interleave(k, dim=0), wrong_actions)
    cos_random = F.cosine_similarity(pred, target_z.repeat_interleave(k, dim=0), dim=1).reshape(b, k)
    return cos_true, cos_random
