"""The demo's model: loaded offline, checked that it can show the demo, and fed its images and latents."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..errors import WeightsNotAvailableError
from ..zoo.factory import DEFAULT_MODEL

__all__ = ["ROTATION_SPACES", "load_model", "tensor_batch", "relative_actions", "rotation_angle_deg"]

#: The action spaces that read 3DIEBench's 7-d latent: the only ones the demo's views can give.
ROTATION_SPACES = ("rotation", "rotation_color")


def load_model(name: str):
    """``name`` loaded offline (a registry name or a local path), refused unless it takes RGB rotation sequences."""
    net = _load(name)
    cfg = net.config
    if cfg.action_conditioned and cfg.action_space not in ROTATION_SPACES:
        raise ValueError(
            f"--model: the demo shows rotation models (action space {' or '.join(map(repr, ROTATION_SPACES))}, "
            f"3DIEBench-style); {name!r} uses {cfg.action_space!r}"
        )
    if cfg.in_channels != 3:
        raise ValueError(f"--model: the demo's views are RGB; this model takes {cfg.in_channels} channels")
    return net


def _load(name: str):
    from ..zoo._loading import is_local_path
    from ..zoo.factory import load
    from ..zoo.registry import list_models

    how = (
        "run `seqjepa demo --model DIR` with a model directory written by model.save_pretrained() or "
        "`seqjepa export-run`, or a name from `seqjepa list`"
    )
    if name == DEFAULT_MODEL and not is_local_path(name) and DEFAULT_MODEL not in list_models():
        raise WeightsNotAvailableError(
            f"--model: the default model {DEFAULT_MODEL!r} is not shipped in this install of seqjepa yet; {how}"
        )
    try:
        return load(name, local_files_only=None if is_local_path(name) else True)
    except WeightsNotAvailableError as exc:
        raise WeightsNotAvailableError(f"--model: {exc}; the demo runs offline: {how}") from exc


def tensor_batch(model, images: Sequence[Image.Image]) -> torch.Tensor:
    """``images`` through the model's transform, stacked on its device and in its dtype: (N, C, H, W)."""
    dtype = next(model.parameters()).dtype
    device = next(model.parameters()).device
    return torch.stack([model.transform(im) for im in images]).to(device=device, dtype=dtype)


def relative_actions(model, latents: np.ndarray) -> Optional[torch.Tensor]:
    """Relative actions of ``(..., V, 7)`` latents in the model's action space, or None for action-free models."""
    from ..models.actions import get_action_space

    if not model.config.action_conditioned:
        return None
    space = get_action_space(model.config.action_space)
    dtype = next(model.parameters()).dtype
    return torch.as_tensor(space.actions(latents), dtype=dtype, device=next(model.parameters()).device)


def rotation_angle_deg(action: np.ndarray) -> float:
    """The angle, in degrees, of the rotation whose unit quaternion (x, y, z, w) leads ``action``."""
    return math.degrees(2.0 * math.acos(min(1.0, abs(float(action[3])))))
