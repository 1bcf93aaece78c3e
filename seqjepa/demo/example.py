"""The demo's shipped example: views of one procedural object and the 3DIEBench latent of each."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from PIL import Image

from ..data.synthetic import DEFAULT_MAX_ANGLE

__all__ = ["ASSETS_DIR", "EXAMPLE_FILE", "Example", "load_example"]

PathLike = Union[str, "os.PathLike[str]"]


def _find_assets_dir() -> Path:
    # installed: the wheel maps examples/assets/ to seqjepa/assets/; a source checkout reads examples/assets
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "assets", package.parent / "examples" / "assets"):
        if candidate.is_dir():
            return candidate
    return package / "assets"


#: The shipped example views (``examples/assets`` of the repository, packaged as ``seqjepa/assets``).
ASSETS_DIR = _find_assets_dir()
EXAMPLE_FILE = "example.json"


@dataclass
class Example:
    """The shipped example: views of one object and the 7-d 3DIEBench latent of each."""

    images: list  # PIL RGB images, observed views first, the held-out target last
    latents: np.ndarray  # (V, 7) float64
    shape: str
    mesh_seed: list
    source: Path
    light_color: str = "3diebench"  # how the views were rendered (see make_toy_3diebench)
    face_colors: str = "random"
    max_angle: float = DEFAULT_MAX_ANGLE  # Euler angles were drawn from U(-max_angle, max_angle)


def load_example(directory: Optional[PathLike] = None) -> Example:
    """Read ``example.json`` and its views from ``directory`` (default: the package's assets)."""
    from ..data.synthetic import SHAPE_CLASSES, check_max_angle

    root = Path(directory) if directory is not None else ASSETS_DIR
    path = root / EXAMPLE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"example: {path} is missing; the package's demo assets were not installed "
            "(reinstall seqjepa, or regenerate them with tools/make_demo_assets.py)"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        views = doc["views"]
        shape = doc["shape"]
        mesh_seed = list(doc["mesh_seed"])
        names = [v["image"] for v in views]
        raw = [v["latent"] for v in views]
        scene = doc.get("scene", {})
        light_color = scene.get("light_color", "3diebench")
        face_colors = scene.get("face_colors", "random")
        max_angle = float(scene.get("max_angle", DEFAULT_MAX_ANGLE))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"example: {path} is not a valid demo example file ({exc})") from exc
    for i, latent in enumerate(raw):
        if not isinstance(latent, list) or len(latent) != 7:
            raise ValueError(f"example: view {i} in {path} needs a 7-d 3DIEBench latent, got {latent!r}")
    latents = np.asarray(raw, dtype=np.float64)
    if latents.ndim != 2 or latents.shape[0] < 3 or latents.shape[1] != 7:
        raise ValueError(f"example: expected at least 3 views with 7-d latents in {path}, got shape {latents.shape}")
    if shape not in SHAPE_CLASSES:
        raise ValueError(f"example: shape must be one of {SHAPE_CLASSES}, got {shape!r} in {path}")
    try:
        check_max_angle(max_angle)
    except ValueError as exc:
        raise ValueError(f"example: scene.max_angle in {path} is invalid ({exc})") from None
    images = []
    for name in names:
        image_path = root / name
        if Path(name).name != name or not image_path.is_file():
            raise FileNotFoundError(f"example: view {name!r} listed in {path} is missing")
        with Image.open(image_path) as im:
            images.append(im.convert("RGB"))
    return Example(images=images, latents=latents, shape=shape, mesh_seed=mesh_seed, source=root,
                   light_color=light_color, face_colors=face_colors, max_angle=max_angle)
