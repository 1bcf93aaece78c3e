"""Procedural images for the examples: coloured polygons seen at known in-plane rotations.

The examples run without any data set: each "object" is a polygon (its number of sides is its
class) with a marker on one corner, so every rotation of it is a distinct image. Turning the
camera about its viewing axis by Δθ is the rotation whose quaternion is
``(0, 0, sin(Δθ/2), cos(Δθ/2))`` (scalar last, the 3DIEBench action convention).

These are illustrations of the API on images the model never saw, not a benchmark.
"""

from __future__ import annotations

import colorsys
import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw

__all__ = [
    "ToyObject",
    "polygon_view",
    "relative_rotation_quaternion",
    "sequence_actions",
    "random_objects",
    "views_tensor",
    "model_actions",
    "load_model",
]

ROTATION_ACTION_DIM = 4


@dataclass(frozen=True)
class ToyObject:
    """One procedural object: a polygon with ``sides`` corners (its class) and a colour."""

    sides: int
    hue: float
    scale: float = 0.8

    @property
    def label(self) -> int:
        """Class index: 3 sides -> 0, 4 sides -> 1, ..."""
        return self.sides - 3


def polygon_view(obj: ToyObject, angle: float, size: int = 64) -> Image.Image:
    """An RGB image of ``obj`` rotated by ``angle`` radians (counter-clockwise) about the image centre."""
    if obj.sides < 3:
        raise ValueError(f"obj.sides: expected at least 3 corners, got {obj.sides}")
    if size < 8:
        raise ValueError(f"size: expected at least 8 pixels, got {size}")
    image = Image.new("RGB", (size, size), (128, 128, 128))
    draw = ImageDraw.Draw(image)
    c, r = size / 2, obj.scale * size / 2
    corners = [
        (c + r * math.cos(angle + 2 * math.pi * k / obj.sides), c - r * math.sin(angle + 2 * math.pi * k / obj.sides))
        for k in range(obj.sides)
    ]
    fill = tuple(int(255 * v) for v in colorsys.hsv_to_rgb(obj.hue, 0.7, 0.9))
    draw.polygon(corners, fill=fill, outline=(20, 20, 20))
    mx, my = corners[0]
    m = max(2, size // 12)
    draw.ellipse([mx - m, my - m, mx + m, my + m], fill=(250, 250, 250), outline=(0, 0, 0))
    return image


def relative_rotation_quaternion(angle_from: float, angle_to: float) -> np.ndarray:
    """Quaternion (x, y, z, w) of the in-plane rotation taking a view at ``angle_from`` to ``angle_to``."""
    half = (angle_to - angle_from) / 2.0
    return np.array([0.0, 0.0, math.sin(half), math.cos(half)], dtype=np.float32)


def sequence_actions(angles: Sequence[float]) -> np.ndarray:
    """(len(angles) - 1, 4) relative rotations: row j leads from view j to view j + 1."""
    if len(angles) < 2:
        return np.zeros((0, ROTATION_ACTION_DIM), dtype=np.float32)
    return np.stack([relative_rotation_quaternion(a, b) for a, b in zip(angles[:-1], angles[1:])])


def random_objects(n: int, *, classes: int, rng: np.random.Generator) -> list[ToyObject]:
    """``n`` objects, cycling through ``classes`` polygon kinds (3, 4, ... sides), random colours."""
    if classes < 1:
        raise ValueError(f"classes: expected at least 1, got {classes}")
    return [ToyObject(sides=3 + i % classes, hue=float(rng.uniform()), scale=float(rng.uniform(0.6, 0.9))) for i in range(n)]


def views_tensor(model, images: Sequence[Image.Image]) -> torch.Tensor:
    """(M, C, H, W) tensor of ``images`` preprocessed with the model's own transform."""
    return torch.stack([model.transform(img) for img in images])


def model_actions(model, actions: Optional[np.ndarray]) -> Optional[torch.Tensor]:
    """The actions as the model takes them: ``None`` for an action-free model, else a float tensor.

    Raises:
        ValueError: the model's action space is not a 4-d rotation, so these actions do not apply.
    """
    if not model.config.action_conditioned:
        return None
    if model.config.action_dim != ROTATION_ACTION_DIM:
        raise ValueError(
            f"--model: these examples generate rotation actions (A={ROTATION_ACTION_DIM}), but the model's "
            f"action space {model.config.action_space!r} has A={model.config.action_dim}"
        )
    if actions is None:
        raise ValueError("actions: this model is action-conditioned and needs the relative actions")
    return torch.as_tensor(actions, dtype=next(model.parameters()).dtype)


def load_model(name_or_path: str):
    """``seqjepa.load`` with a message that says what to pass when the default model is missing."""
    import seqjepa

    try:
        return seqjepa.load(name_or_path)
    # WeightsNotAvailableError is a FileNotFoundError; an unknown name (UnknownModelError) is a ValueError
    except (FileNotFoundError, ValueError) as exc:
        raise SystemExit(
            f"could not load model {name_or_path!r}: {exc}\n"
            "pass --model with a registry name (seqjepa.list_models()), a directory written by "
            "save_pretrained, or an official .pth checkpoint"
        ) from exc
