"""What a backbone is, in words: ``ResNet-18``, or ``narrow ResNet-10 (widths 16/32/64/128)``.

``config.backbone`` is the timm constructor (``resnet18``) and ``backbone_kwargs`` may change its depth and
widths, so the constructor name alone can misname the network (the default model is built by
``resnet18`` with one block per stage and a quarter of the widths). This module names what gets built.

It imports nothing outside the standard library: ``docs/gen_model_zoo.py`` loads it by path to name the
backbones of the cards without importing torch.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

__all__ = ["backbone_label", "format_parameters"]

# timm's ResNet constructors: (blocks per stage, convolutions per block)
_RESNETS = {
    "resnet18": ((2, 2, 2, 2), 2),
    "resnet34": ((3, 4, 6, 3), 2),
    "resnet26": ((2, 2, 2, 2), 3),
    "resnet50": ((3, 4, 6, 3), 3),
    "resnet101": ((3, 4, 23, 3), 3),
    "resnet152": ((3, 8, 36, 3), 3),
}
_RESNET_WIDTHS = (64, 128, 256, 512)


def _ints(value: Any) -> Optional[tuple[int, ...]]:
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(value)
    return None


def backbone_label(backbone: str, backbone_kwargs: Optional[Mapping[str, Any]] = None) -> str:
    """A name for the network ``timm.create_model(backbone, **backbone_kwargs)`` builds.

    A ResNet constructor whose ``layers`` or ``channels`` are overridden is named by its real depth
    (stem + every convolution of the stages + the classifier position, as "ResNet-18" counts) and, when
    its widths differ from ResNet's 64/128/256/512, called narrow or wide with its widths. Anything else
    is the timm name, with the overridden arguments when there are any.
    """
    kwargs = dict(backbone_kwargs or {})
    base = _RESNETS.get(backbone)
    if base is None:
        if not kwargs:
            return backbone
        args = ", ".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
        return f"{backbone} ({args})"
    layers = _ints(kwargs.get("layers")) or base[0]
    channels = _ints(kwargs.get("channels")) or _RESNET_WIDTHS
    depth = sum(layers) * base[1] + 2
    label = f"ResNet-{depth}"
    if channels != _RESNET_WIDTHS:
        kind = "narrow" if all(c <= d for c, d in zip(channels, _RESNET_WIDTHS)) else "wide"
        label = f"{kind} {label} (widths {'/'.join(str(c) for c in channels)})"
    return label


def format_parameters(count: int) -> str:
    """``1018624`` -> ``1.02 M``, ``11689512`` -> ``11.7 M``, ``8192`` -> ``8.19 k``."""
    if count >= 1_000_000:
        value, unit = count / 1_000_000, "M"
    elif count >= 1_000:
        value, unit = count / 1_000, "k"
    else:
        return str(count)
    return f"{value:.3g} {unit}"
