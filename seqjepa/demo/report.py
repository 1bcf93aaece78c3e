"""The demo's text, panel by panel, from numbers :mod:`seqjepa.demo.compute` already has; nothing here computes."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .compute import PredictionScores, SequenceEmbeddings
from .example import Example
from .model import rotation_angle_deg
from ..models._naming import backbone_label

__all__ = ["header", "sequence", "prediction", "nearest", "footer"]

Echo = Callable[[str], None]


def _vec(t: torch.Tensor, k: int = 6) -> str:
    values = ", ".join(f"{v:+.3f}" for v in t[:k].tolist())
    return f"[{values}, ...]" if t.numel() > k else f"[{values}]"


def header(echo: Echo, name: str, cfg, example: Example) -> None:
    """The model (its sizes and action space) and the example."""
    actions = cfg.action_space if cfg.action_conditioned else "none"
    echo(f"seq-JEPA demo: model {name!r} ({backbone_label(cfg.backbone, cfg.backbone_kwargs)}, z: D={cfg.encoder_dim}, z_AGG: E={cfg.token_dim}, "
         f"{cfg.image_size} px, actions: {actions})")
    echo(f"example: one {example.shape}, {len(example.images) - 1} observed views + 1 held-out target ({example.source})")


def sequence(echo: Echo, cfg, seq: SequenceEmbeddings) -> None:
    """The relative actions between the example's views, then z of each observed view and z_AGG of them all."""
    m = seq.observed
    echo("")
    if seq.actions is not None:
        names = [f"view {j + 1} -> view {j + 2}" for j in range(m - 1)] + [f"view {m} -> target"]
        hue = " + hue shifts" if seq.actions.shape[1] > 4 else ""
        echo(f"relative actions ({cfg.action_space}: quaternion x, y, z, w{hue}):")
        for label, a in zip(names, seq.actions.cpu().numpy()):
            echo(f"  {label:<16} {_vec(torch.as_tensor(a), 6)}  turn {rotation_angle_deg(a):5.1f} deg")
    else:
        echo("this model was trained without actions: z_AGG and the prediction use the views only")
    z, z_agg = seq.equivariant, seq.invariant
    echo("")
    echo(f"equivariant embeddings z (pose-aware, one per observed view): shape {tuple(z.shape)}")
    for j in range(m):
        echo(f"  view {j + 1}  {_vec(z[j])}")
    echo(f"invariant embedding z_AGG (the whole observed sequence): shape {tuple(z_agg.shape)}")
    echo(f"  {_vec(z_agg)}")


def prediction(echo: Echo, observed: int, scores: PredictionScores) -> None:
    """The held-out view's prediction: its cosine with the true action, with random ones, and over the gallery."""
    which = "target encoder" if scores.by_target_encoder else "encoder"
    echo("")
    echo(f"predict the held-out view's z from z_AGG and the action view {observed} -> target ({which} gives the true z):")
    echo(f"  cos(prediction, true z) = {scores.cos_true:+.3f}  with the true action")
    if not scores.cos_random:
        return
    k, n = len(scores.cos_random), scores.gallery_sequences
    echo(f"  cos(prediction, true z) = {float(np.mean(scores.cos_random)):+.3f}  mean over {k} random "
         f"actions (best {max(scores.cos_random):+.3f}); the true action ranks {scores.true_action_rank} of {k + 1}")
    echo(f"  over {n} gallery sequences: {scores.gallery_cos_true:+.3f} with the true action, "
         f"{scores.gallery_cos_random:+.3f} with random ones; the true action is the best of {k + 1} "
         f"in {scores.gallery_true_best} of {n} (chance: {n / (k + 1):.1f})")
    echo(f"  action effect: {scores.gallery_cos_true - scores.gallery_cos_random:+.3f} (true minus random: how much "
         "the prediction depends on the action it is given; 0 for a predictor that ignores its actions)")


def nearest(echo: Echo, ranked: Sequence[tuple[str, float]], example_shape: str, classes: int,
            objects_per_class: int, gallery_views: int) -> None:
    """The three classes whose gallery centroid is nearest the example's z_AGG."""
    echo("")
    echo(f"nearest classes (cosine of z_AGG to class centroids of a gallery rendered now: {classes} classes x "
         f"{objects_per_class} new objects x {gallery_views} views):")
    for i, (name, s) in enumerate(ranked[:3]):
        mark = "  <- the example's class" if name == example_shape else ""
        echo(f"  {i + 1}. {name:<16} {s:+.3f}{mark}")
    if example_shape not in [name for name, _ in ranked]:
        echo(f"  (the example's class, {example_shape}, is not among the gallery's {classes} classes)")


def footer(echo: Echo, figure: Optional[Path], elapsed_s: float) -> None:
    """Where the figure went, and how long it all took."""
    echo("")
    if figure is not None:
        echo(f"figure: {figure}")
    echo(f"done in {elapsed_s:.1f} s")
