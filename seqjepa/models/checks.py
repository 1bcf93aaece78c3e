"""Input checks for the public API: every message names the argument, what was expected and what came."""

from __future__ import annotations

import torch

__all__ = ["check_images", "check_actions", "check_same_device", "check_finite"]


def _describe(t: torch.Tensor) -> str:
    return f"{tuple(t.shape)} {str(t.dtype).replace('torch.', '')} on {t.device}"


def _check_tensor(name: str, value: object) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{name}: expected a torch.Tensor, got {type(value).__name__}")
    if value.layout != torch.strided:
        raise ValueError(f"{name}: expected a dense tensor, got a {str(value.layout).replace('torch.', '')} one "
                         "(call .to_dense() first)")
    return value


#: The largest magnitude a normalized image value may have: pixels in [0, 1] normalized with the config's
#: extreme mean (10) and std (1e-6) stay below 1.1e7. Larger finite inputs (3e38) overflow inside the model.
MAX_IMAGE_MAGNITUDE = 1e8
#: The largest magnitude of an action value (quaternions, angles, saccade offsets are all far below it).
MAX_ACTION_MAGNITUDE = 1e6


def check_finite(name: str, t: torch.Tensor, limit: float | None = None, what: str = "values") -> None:
    """Raise a ValueError naming ``name`` if ``t`` holds NaN or Inf, or with ``limit`` a value of larger
    magnitude (meta tensors hold no values)."""
    if not t.numel() or t.device.type == "meta":
        return
    if limit is None:
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name}: expected finite values, got NaN or Inf in a tensor of shape {tuple(t.shape)}")
        return
    largest = float(t.detach().abs().amax())  # NaN when any value is NaN
    if largest != largest or largest == float("inf"):
        raise ValueError(f"{name}: expected finite values, got NaN or Inf in a tensor of shape {tuple(t.shape)}")
    if largest > limit:
        raise ValueError(f"{name}: expected {what} of magnitude at most {limit:g}, got {largest:.3g} (the model's "
                         "arithmetic would overflow)")


#: the scan under another name: check_images and check_actions take a flag called check_finite, which shadows it
_scan_finite = check_finite


def check_images(
    name: str,
    value: object,
    *,
    ndims: tuple[int, ...],
    channels: int,
    image_size: int | None = None,
    check_finite: bool = True,
) -> torch.Tensor:
    """Check an image batch: floating point, ``ndims`` dimensions, ``channels`` at dim -3, non-empty, finite.

    ``image_size`` (when given) must match both spatial sides: the weights were trained at that size
    and feeding another size silently changes the features.
    """
    t = _check_tensor(name, value)
    layout = {4: "(B, C, H, W)", 5: "(B, M, C, H, W)"}
    expected = " or ".join(layout[n] for n in ndims)
    if t.dim() not in ndims:
        raise ValueError(f"{name}: expected shape {expected}, got {_describe(t)}")
    if not t.is_floating_point():
        raise ValueError(
            f"{name}: expected a floating-point tensor (normalized images, see model.transform), got {_describe(t)}"
        )
    if t.shape[-3] != channels:
        raise ValueError(f"{name}: expected C={channels} channels at dim {t.dim() - 3}, got {_describe(t)}")
    if any(s == 0 for s in t.shape):
        raise ValueError(f"{name}: expected a non-empty batch, got {_describe(t)}")
    if image_size is not None and (t.shape[-1] != image_size or t.shape[-2] != image_size):
        raise ValueError(
            f"{name}: expected {image_size}x{image_size} images (the model's image_size; model.transform "
            f"resizes PIL images to it), got {_describe(t)}"
        )
    if check_finite:
        _scan_finite(name, t)
    return t


def check_actions(
    name: str,
    value: object,
    *,
    batch: int,
    steps: int,
    action_dim: int,
    check_finite: bool = True,
) -> torch.Tensor:
    """Check relative actions of shape (batch, steps, action_dim), floating point and finite."""
    t = _check_tensor(name, value)
    expected = (batch, steps, action_dim)
    if t.dim() != 3 or tuple(t.shape) != expected:
        raise ValueError(f"{name}: expected shape (B, steps, A) = {expected}, got {_describe(t)}")
    if not t.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {_describe(t)}")
    if check_finite:
        _scan_finite(name, t)
    return t


def check_same_device(reference: torch.nn.Module | torch.Tensor, **tensors: torch.Tensor) -> None:
    """Every tensor must live on the device of ``reference`` (a module's first parameter, or a tensor)."""
    if isinstance(reference, torch.nn.Module):
        param = next(reference.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        where = "the model"
    else:
        device = reference.device
        where = "the first input"
    for name, t in tensors.items():
        if t is not None and t.device != device:
            raise ValueError(f"{name}: expected a tensor on {device} (where {where} is), got one on {t.device}")
