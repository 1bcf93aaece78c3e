"""Encoders built with timm: ResNet-18 by default, optionally with the CIFAR stem.

timm's ``resnet18(num_classes=0)`` has exactly torchvision's state-dict keys and, with
``zero_init_last=True`` (timm's default), the same zero-initialized last BatchNorm of each
residual block as the official ``torchvision.models.resnet18(zero_init_residual=True)``.
"""

from __future__ import annotations

from torch import nn

from .config import SeqJEPAConfig
from ..errors import ConfigError

__all__ = ["create_encoder"]


def create_encoder(config: SeqJEPAConfig) -> nn.Module:
    """Build the encoder described by ``config``: images (N, C, H, W) -> pooled features (N, D).

    Raises:
        ConfigError: the timm model is unknown, cannot take the CIFAR stem, or its feature size
            differs from ``config.encoder_dim``.
    """
    import timm  # imported here: it pulls in torchvision and torch._dynamo, half of seqjepa's import time

    kwargs = dict(config.backbone_kwargs)
    try:
        encoder = timm.create_model(
            config.backbone, pretrained=False, num_classes=0, in_chans=config.in_channels, **kwargs
        )
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(
            f"config field 'backbone': timm could not build {config.backbone!r} with backbone_kwargs={kwargs}: {exc}"
        ) from exc
    if config.cifar_stem:
        _apply_cifar_stem(encoder, config)
    features = getattr(encoder, "num_features", None)
    if features != config.encoder_dim:
        raise ConfigError(
            f"config fields 'backbone' and 'encoder_dim' clash: {config.backbone!r} gives {features}-d features, "
            f"config says encoder_dim={config.encoder_dim}"
        )
    return encoder


def _apply_cifar_stem(encoder: nn.Module, config: SeqJEPAConfig) -> None:
    conv1 = getattr(encoder, "conv1", None)
    if not isinstance(conv1, nn.Conv2d) or not hasattr(encoder, "maxpool"):
        raise ConfigError(
            f"config fields 'backbone' and 'cifar_stem' clash: {config.backbone!r} has no single conv1 + maxpool "
            "stem to replace (the CIFAR stem needs a ResNet-style backbone with a plain stem)"
        )
    # Same module as the official code: a fresh default-initialized 3x3 stride-1 conv, no max-pool.
    encoder.conv1 = nn.Conv2d(
        config.in_channels, conv1.out_channels, kernel_size=3, stride=1, padding=1, bias=False
    )
    encoder.maxpool = nn.Identity()
