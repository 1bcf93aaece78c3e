"""Where still images come from: an image folder (ImageFolder layout) or in-memory arrays."""

from __future__ import annotations

import math

import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ._contract import SequenceDataset
from ..utils.files import path_problem
from ._images import load_rgb

__all__ = ["ImageSource", "IMAGE_EXTENSIONS", "ImageSequenceDataset"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".webp", ".tif", ".tiff")

PathLike = Union[str, "os.PathLike[str]"]


class ImageSource:
    """Indexable images with labels: ``source.image(i)`` -> (H, W, 3) uint8, ``source.labels[i]``.

    Either ``root`` is a folder laid out like torchvision's ImageFolder (``root/<class>/<image>``;
    classes sorted by name give labels 0..K-1, images sorted by path), or ``images`` is an array or
    tensor of uint8 images, (N, H, W, 3) (CIFAR's numpy layout) or (N, 3, H, W), with ``labels`` (N,).
    """

    def __init__(self, root: Optional[PathLike] = None, images=None, labels=None) -> None:
        if (root is None) == (images is None):
            raise ValueError("source: expected exactly one of root= (an image folder) or images= (an array)")
        self.root: Optional[Path] = None
        self.paths: list[Path] = []
        if root is not None:
            self.root = Path(root)
            if not self.root.is_dir():
                raise FileNotFoundError(f"root: image folder {path_problem(self.root, 'a directory')}")
            classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
            if not classes:
                raise FileNotFoundError(f"root: {self.root} has no class sub-folders (expected root/<class>/<image>)")
            self.classes = classes
            labels_list = []
            for k, name in enumerate(classes):
                files = sorted(
                    p for p in (self.root / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS
                )
                self.paths += files
                labels_list += [k] * len(files)
            if not self.paths:
                raise FileNotFoundError(f"root: no images ({', '.join(IMAGE_EXTENSIONS)}) under {self.root}")
            self.labels = np.asarray(labels_list, dtype=np.int64)
            self.array = None
        else:
            arr = images.numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
            if arr.ndim != 4 or arr.dtype != np.uint8:
                raise ValueError(f"images: expected uint8 (N, H, W, 3) or (N, 3, H, W), got {arr.dtype} {arr.shape}")
            if arr.shape[-1] != 3 and arr.shape[1] == 3:
                arr = arr.transpose(0, 2, 3, 1)
            if arr.shape[-1] != 3:
                raise ValueError(f"images: expected 3 channels, got shape {arr.shape}")
            if labels is None:
                raise ValueError("labels: expected an integer array of length N with images=, got None")
            lab = labels.numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
            if lab.shape != (arr.shape[0],) or lab.dtype.kind not in "iu":
                raise ValueError(f"labels: expected {arr.shape[0]} integers, got {lab.dtype} {lab.shape}")
            if arr.shape[0] == 0:
                raise ValueError("images: expected at least one image, got 0")
            self.array = np.ascontiguousarray(arr)
            self.labels = lab.astype(np.int64)
            self.classes = [str(k) for k in range(int(self.labels.max()) + 1)]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def image(self, index: int) -> np.ndarray:
        """(H, W, 3) uint8 image ``index`` at its stored size."""
        if self.array is not None:
            return self.array[index]
        return load_rgb(self.paths[index], None)

    def name(self, index: int) -> str:
        """A stable name of image ``index``: its path relative to the root, or its position."""
        if self.root is not None:
            return self.paths[index].relative_to(self.root).as_posix()
        return str(index)


def check_index(index: object, n: int) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"index: expected an integer, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"index: expected -{n} <= index < {n}, got {index}")
    return int(index) % n


def positive_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


#: name -> (lowest, highest, what): the normalization ranges of the model config (seqjepa.models.config).
_CHANNEL_RANGES = {"mean": (-10.0, 10.0, "per-channel means of [0, 1] pixels"),
                   "std": (1e-6, 10.0, "per-channel standard deviations")}


def channel_triplet(name: str, value: Sequence[float]) -> tuple[float, float, float]:
    try:
        out = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected 3 numbers (one per RGB channel), got {value!r}") from None
    if len(out) != 3:
        raise ValueError(f"{name}: expected 3 numbers (one per RGB channel), got {len(out)}: {value!r:.80}")
    # the ranges config.json takes: an infinite std zeroes every pixel, a tiny one blows them up, and the run
    # still "completes" (with a flat loss) instead of failing here
    low, high, what = _CHANNEL_RANGES.get(name.rsplit(".", 1)[-1], (-math.inf, math.inf, "numbers"))
    if not all(math.isfinite(v) and low <= v <= high for v in out):
        raise ValueError(f"{name}: expected finite {what} in [{low:g}, {high:g}], got {list(out)}")
    return out


class ImageSequenceDataset(SequenceDataset):
    """The still-image sequence datasets: one item per image of ``self.source``.

    Subclasses set ``source`` (an :class:`ImageSource`) and what :class:`SequenceDataset` asks for
    except ``num_classes``, which is the source's, and implement ``sample(index, num_views=None)``.
    """

    source: ImageSource

    @property
    def num_classes(self) -> int:
        return self.source.num_classes

    def __len__(self) -> int:
        return len(self.source)
