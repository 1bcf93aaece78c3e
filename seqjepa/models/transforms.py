"""Preprocessing that matches a checkpoint: resize to the model's image size, then normalize."""

from __future__ import annotations

from typing import Any

from PIL import Image
from torchvision import transforms as T

from .config import SeqJEPAConfig

__all__ = ["eval_transform", "to_rgb", "INTERPOLATION_MODES"]

# 16/32-bit integer and float images have no agreed mapping to 8-bit colour (Pillow clips them):
# reading them silently would give wrong features, so they are refused with their mode named.
_AMBIGUOUS_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "I;16S", "I;32", "I;32B", "F", "F;32", "La"}


def to_rgb(image: Any, *, what: str = "image", mode: str = "RGB") -> Image.Image:
    """An 8-bit RGB PIL image, converted as the datasets convert (alpha dropped, palettes expanded).

    Modes without an unambiguous 8-bit reading (16/32-bit integers, floats) raise a ValueError
    naming the mode; anything that is not a PIL image raises one naming its type.
    """
    if not isinstance(image, Image.Image):
        raise ValueError(
            f"{what}: expected a PIL image (model.transform prepares PIL images; pass tensors to the model "
            f"directly), got {type(image).__name__}"
        )
    if image.mode == mode:
        return image
    if image.mode in _AMBIGUOUS_MODES:
        raise ValueError(
            f"{what}: mode {image.mode!r} has no unambiguous 8-bit RGB reading (16/32-bit or float pixels); "
            "scale it to 8 bits yourself (e.g. Image.fromarray(uint8_array)) and pass an RGB, L or P image"
        )
    try:
        return image.convert(mode)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{what}: mode {image.mode!r} cannot be converted to {mode}: {exc}") from None

INTERPOLATION_MODES = {
    "bilinear": T.InterpolationMode.BILINEAR,
    "bicubic": T.InterpolationMode.BICUBIC,
    "nearest": T.InterpolationMode.NEAREST,
}


def eval_transform(config: SeqJEPAConfig) -> T.Compose:
    """PIL image -> (C, H, W) float tensor: to RGB -> Resize((S, S)) -> ToTensor -> Normalize(mean, std).

    This is the official 3DIEBench preprocessing (256 px renders resized to 128), and the
    preprocessing recorded in every model's config.
    """
    size = config.image_size
    target_mode = {1: "L", 3: "RGB"}.get(config.in_channels)
    convert = [lambda image: to_rgb(image, mode=target_mode)] if target_mode else []
    return T.Compose(
        [
            *convert,
            T.Resize((size, size), interpolation=INTERPOLATION_MODES[config.interpolation]),
            T.ToTensor(),
            T.Normalize(mean=list(config.mean), std=list(config.std)),
        ]
    )
