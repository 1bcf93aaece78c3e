"""Procedural objects rendered in memory for the demo: the class gallery and the example's turn."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from PIL import Image

from ..data.synthetic import DEFAULT_MAX_ANGLE
from .example import Example

__all__ = ["Gallery", "render_gallery", "render_sweep"]


@dataclass
class Gallery:
    """Procedural objects of known class, rendered in memory: ``images[n, v]`` has ``latents[n, v]``."""

    images: np.ndarray  # (N, V, S, S, 3) uint8
    latents: np.ndarray  # (N, V, 7) float64
    labels: np.ndarray  # (N,) int64, index into ``classes``
    classes: list


def render_gallery(classes: Sequence[str], objects_per_class: int = 6, views: int = 3, size: int = 64,
                   seed: int = 0, *, light_color: str = "3diebench", face_colors: str = "random",
                   max_angle: float = DEFAULT_MAX_ANGLE) -> Gallery:
    """Render ``objects_per_class`` new objects of every class in ``classes``, ``views`` random views each.

    Objects draw from ``default_rng([seed, 7919, k, n])``, a stream no toy dataset uses; the scene
    (``light_color``, ``face_colors``, ``max_angle``) is the one the example views were rendered with.
    """
    from ..data.synthetic import make_mesh, render_view, sample_latents

    for name, value, lo in (("objects_per_class", objects_per_class, 1), ("views", views, 2), ("size", size, 8)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise ValueError(f"{name}: expected an integer >= {lo}, got {value!r}")
    images, latents, labels = [], [], []
    for k, shape in enumerate(classes):
        for n in range(objects_per_class):
            rng = np.random.default_rng([seed, 7919, k, n])
            mesh = make_mesh(shape, rng, face_colors=face_colors)
            lat = sample_latents(rng, views, max_angle=max_angle)
            if light_color == "white":
                lat[:, 6] = 0.0
            images.append(np.stack([render_view(mesh, v, size, light_color=light_color) for v in lat]))
            latents.append(lat)
            labels.append(k)
    return Gallery(np.stack(images), np.stack(latents), np.asarray(labels, dtype=np.int64), list(classes))


def render_sweep(example: Example, steps: int, size: int) -> tuple[list[Image.Image], np.ndarray]:
    """The example object turned about the vertical (world z) axis: ``steps`` views and their angles (radians).

    Every other latent stays the first view's; the angles span the example's ``[-max_angle, max_angle]``.
    """
    from ..data.synthetic import make_mesh, render_view

    mesh = make_mesh(example.shape, np.random.default_rng(example.mesh_seed), face_colors=example.face_colors)
    angles = np.linspace(-example.max_angle, example.max_angle, steps)
    latents = np.repeat(example.latents[:1], steps, axis=0)
    latents[:, 2] = angles
    images = [Image.fromarray(render_view(mesh, lat, size, light_color=example.light_color)) for lat in latents]
    return images, angles
