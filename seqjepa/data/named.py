"""The paper's named datasets as image folders (``ROOT/<split>/<class>/<image>``) read by our sequence readers.

The trainer's recipes and the evaluation protocols refer to datasets by name; these builders turn
a name, a root and a split into a contract dataset. Nothing is downloaded: export CIFAR-100, Tiny
ImageNet, STL-10 or ImageNet into the image-folder layout first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from .augmented import CIFAR100_MEAN, CIFAR100_STD, TINY_IMAGENET_MEAN, TINY_IMAGENET_STD, AugmentedSequences
from .saccades import STL10_MEAN, STL10_STD, SaccadeSequences

__all__ = ["split_folder", "cifar100_sequences", "tinyimagenet_sequences", "stl10_saccades", "imagenet_saccades"]

PathLike = Union[str, "os.PathLike[str]"]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def split_folder(root: PathLike, split: str) -> Path:
    """``ROOT/<split>``; an evaluation split called ``val`` falls back to ``test`` (CIFAR, STL-10 naming)."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split: expected 'train', 'val' or 'test', got {split!r}")
    candidates = [split] + (["test"] if split == "val" else [])
    for name in candidates:
        path = Path(root) / name
        if path.is_dir():
            return path
    tried = " or ".join(str(Path(root) / n) for n in candidates)
    raise FileNotFoundError(f"root: expected an image folder {tried} laid out as <split>/<class>/<image>")


def cifar100_sequences(root: PathLike, *, split: str = "train", num_views: int = 3, image_size: int = 32,
                       mean: Sequence[float] = CIFAR100_MEAN, std: Sequence[float] = CIFAR100_STD,
                       seed: int = 0, action_space: str = "augmentation") -> AugmentedSequences:
    """CIFAR-100 augmentation sequences (32 px, 9-d crop/jitter/blur actions by default)."""
    return AugmentedSequences(split_folder(root, split), num_views=num_views, image_size=image_size,
                              action_space=action_space, mean=mean, std=std, seed=seed)


def tinyimagenet_sequences(root: PathLike, *, split: str = "train", num_views: int = 3, image_size: int = 64,
                           mean: Sequence[float] = TINY_IMAGENET_MEAN, std: Sequence[float] = TINY_IMAGENET_STD,
                           seed: int = 0, action_space: str = "augmentation") -> AugmentedSequences:
    """Tiny ImageNet augmentation sequences (64 px)."""
    return AugmentedSequences(split_folder(root, split), num_views=num_views, image_size=image_size,
                              action_space=action_space, mean=mean, std=std, seed=seed)


def stl10_saccades(root: PathLike, *, split: str = "train", num_views: int = 4, image_size: int = 32,
                   mean: Sequence[float] = STL10_MEAN, std: Sequence[float] = STL10_STD, seed: int = 0,
                   saliency: Optional[Any] = None, log_density: bool = False) -> SaccadeSequences:
    """STL-10 saccade sequences: 32-px glimpses (``image_size`` is the model's input, the patch) of 96-px images."""
    return SaccadeSequences(split_folder(root, split), num_views=num_views, patch_size=image_size, image_size=96,
                            saliency=saliency, log_density=log_density, mean=mean, std=std, seed=seed)


def imagenet_saccades(root: PathLike, *, split: str = "train", num_views: int = 4, image_size: int = 84,
                      mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD, seed: int = 0,
                      saliency: Optional[Any] = None) -> SaccadeSequences:
    """ImageNet saccade sequences: ``image_size``-px glimpses of images resized to 224 px."""
    return SaccadeSequences(split_folder(root, split), num_views=num_views, patch_size=image_size, image_size=224,
                            resize_images=True, saliency=saliency, mean=mean, std=std, seed=seed)
