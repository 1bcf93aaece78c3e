"""Preprocessing that matches a checkpoint: resize to the model's image size, then normalize."""

from __future__ import annotations

from torchvision import transforms as T

from .config import SeqJEPAConfig

__all__ = ["eval_transform", "INTERPOLATION_MODES"]

INTERPOLATION_MODES = {
    "bilinear": T.InterpolationMode.BILINEAR,
    "bicubic": T.InterpolationMode.BICUBIC,
    "nearest": T.InterpolationMode.NEAREST,
}


def eval_transform(config: SeqJEPAConfig) -> T.Compose:
    """PIL image -> (C, H, W) float tensor: Resize((S, S)) -> ToTensor -> Normalize(mean, std).

    This is the official 3DIEBench preprocessing (256 px renders resized to 128), and the
    preprocessing recorded in every model's config.
    """
    size = config.image_size
    return T.Compose(
        [
            T.Resize((size, size), interpolation=INTERPOLATION_MODES[config.interpolation]),
            T.ToTensor(),
            T.Normalize(mean=list(config.mean), std=list(config.std)),
        ]
    )
