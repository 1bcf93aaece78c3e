"""Predictive learning across saccades (STL-10 or any image folder / array): foveal glimpses + positions.

For each image, M+1 fixations are drawn one after the other from a saliency map, with inhibition of
return: after each fixation the map is zeroed in a square of half-side ``ior`` pixels around it
(16 px at 96 px as in the official code, paper-notes §2.3; by default scaled with the image size as
``round(16 * size / 96)``). Each fixation gives a ``patch_size`` glimpse (32 px at 96 px) cut
exactly around it: rows run downward and columns rightward in the image's own orientation, so no
flip/rotation fix is needed (the official code samples with ``grid_sample`` and then rotates by -90
degrees and flips to restore this orientation). Pixels outside the image are zero before
normalization. The latent of a view is its fixation ``(row, col) / image_size`` in [0, 1), and the
action is the difference of consecutive positions (action space ``"saccade"``).

Saliency maps come, in order of preference, from ``saliency`` (an array (N, H, W), a single .npy
file holding one, or a directory of per-image ``.npy`` files named like the images with ``.npy``
appended to their relative path stem, e.g. ``cat/img_001.npy``; for array sources ``<index>.npy``).
Without maps, a centre-bias Gaussian (sigma = image_size / 4) is used for every image, which is a
documented fallback, not DeepGaze.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
from PIL import Image
import torch

from ..models.actions import get_action_space
from ..errors import IntegrityError
from ._sources import ImageSequenceDataset, ImageSource, channel_triplet, check_index, positive_int

__all__ = ["SaccadeSequences", "center_bias_saliency", "sample_fixations", "STL10_MEAN", "STL10_STD"]

STL10_MEAN = (0.4467, 0.4398, 0.4066)
STL10_STD = (0.2241, 0.2215, 0.2239)


def center_bias_saliency(height: int, width: Optional[int] = None, sigma_fraction: float = 0.25) -> np.ndarray:
    """A centred isotropic Gaussian map (H, W), sigma = ``sigma_fraction`` * side, summing to 1."""
    width = height if width is None else width
    rows = (np.arange(height) + 0.5 - height / 2) / (sigma_fraction * height)
    cols = (np.arange(width) + 0.5 - width / 2) / (sigma_fraction * width)
    g = np.exp(-0.5 * (rows[:, None] ** 2 + cols[None, :] ** 2))
    return g / g.sum()


def sample_fixations(saliency: np.ndarray, count: int, ior: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` fixations (row, col) drawn from ``saliency`` with inhibition of return of half-side ``ior``.

    If the map is exhausted (all zero) before ``count`` fixations, the remaining ones are drawn
    uniformly from the pixels not yet inhibited (or from all pixels if none are left).
    """
    sal = np.array(saliency, dtype=np.float64, copy=True)
    h, w = sal.shape
    allowed = np.ones_like(sal, dtype=bool)
    out = np.empty((count, 2), dtype=np.int64)
    for k in range(count):
        total = sal.sum()
        if total > 0:
            flat = rng.choice(h * w, p=(sal / total).ravel())
        else:
            pool = np.flatnonzero(allowed) if allowed.any() else np.arange(h * w)
            flat = int(rng.choice(pool))
        r, c = divmod(int(flat), w)
        out[k] = (r, c)
        sal[max(0, r - ior): r + ior + 1, max(0, c - ior): c + ior + 1] = 0.0
        allowed[max(0, r - ior): r + ior + 1, max(0, c - ior): c + ior + 1] = False
    return out


def _crop(image: np.ndarray, r: int, c: int, size: int) -> np.ndarray:
    """``size`` x ``size`` patch whose centre pixel is (r, c) (top-left at r - size//2), zero outside."""
    h, w = image.shape[:2]
    top, left = r - size // 2, c - size // 2
    patch = np.zeros((size, size, image.shape[2]), dtype=image.dtype)
    r0, r1 = max(top, 0), min(top + size, h)
    c0, c1 = max(left, 0), min(left + size, w)
    patch[r0 - top: r1 - top, c0 - left: c1 - left] = image[r0:r1, c0:c1]
    return patch


class SaccadeSequences(ImageSequenceDataset):
    """M foveal glimpses + one target glimpse of an image, with relative fixation positions as actions.

    Args:
        root / images, labels: an image folder (``root/<class>/<image>``) or uint8 arrays (N, H, W, 3) / (N, 3, H, W).
        num_views: M (M+1 fixations are drawn; the last glimpse is the target).
        patch_size: glimpse side in pixels (32 in the paper, from 96-px STL-10 images).
        image_size: images are expected at this size (96 for STL-10); others raise ValueError.
        saliency: maps (see the module docstring) or None for the centre-bias fallback.
        log_density: the maps hold log densities (DeepGaze's output): exponentiate them first.
        ior: inhibition-of-return half-side in pixels (default ``round(16 * image_size / 96)``).
        resize_images: resize (bilinear) images of any size to image_size x image_size first (ImageNet);
            the official ImageNet trainer uses RandomResizedCrop(224) instead, a simplification here.
        mean, std: normalization of the glimpses (default STL-10's).
        seed: base of every draw; item i in epoch e uses ``default_rng([seed, e, i])``.
    """

    def __init__(
        self,
        root: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        images=None,
        labels=None,
        num_views: int = 4,
        patch_size: int = 32,
        image_size: int = 96,
        saliency=None,
        log_density: bool = False,
        ior: Optional[int] = None,
        resize_images: bool = False,
        mean: Sequence[float] = STL10_MEAN,
        std: Sequence[float] = STL10_STD,
        seed: int = 0,
    ) -> None:
        self.source = ImageSource(root, images, labels)
        self.num_views = positive_int("num_views", num_views)
        self.image_size = positive_int("image_size", image_size)
        self.patch_size = positive_int("patch_size", patch_size)
        if self.patch_size > self.image_size:
            raise ValueError(f"patch_size: expected <= image_size ({self.image_size}), got {self.patch_size}")
        self.ior = int(round(16 * self.image_size / 96)) if ior is None else positive_int("ior", ior, minimum=0)
        self.mean, self.std = channel_triplet("mean", mean), channel_triplet("std", std)
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std: expected positive values, got {self.std}")
        self.log_density = bool(log_density)
        self.resize_images = bool(resize_images)
        self.seed = int(seed)
        self.epoch = 0
        self.action_space = get_action_space("saccade")
        self._maps: Optional[np.ndarray] = None
        self._map_dir: Optional[Path] = None
        if saliency is None:
            self._fallback = center_bias_saliency(self.image_size)
        elif isinstance(saliency, (str, os.PathLike)):
            path = Path(saliency)
            if path.is_dir():
                self._map_dir = path
            elif path.is_file():
                self._maps = np.load(path, mmap_mode="r", allow_pickle=False)
            else:
                raise FileNotFoundError(f"saliency: {path} is neither a .npy file nor a directory of maps")
        else:
            self._maps = saliency.numpy() if isinstance(saliency, torch.Tensor) else np.asarray(saliency)
        if self._maps is not None:
            expected = (len(self.source), self.image_size, self.image_size)
            if self._maps.shape != expected:
                raise ValueError(f"saliency: expected maps of shape (N, H, W) = {expected}, got {self._maps.shape}")

    def saliency_map(self, index: int) -> np.ndarray:
        """The (H, W) non-negative saliency map of image ``index`` (after exp for log densities)."""
        if self._maps is not None:
            sal, where = np.asarray(self._maps[index], dtype=np.float64), f"saliency[{index}]"
        elif self._map_dir is not None:
            name = self.source.name(index)
            path = self._map_dir / (str(Path(name).with_suffix("")) + ".npy")
            if not path.exists():
                raise FileNotFoundError(f"saliency map not found: {path} (for image {name})")
            try:
                sal = np.asarray(np.load(path, allow_pickle=False), dtype=np.float64)
            except (ValueError, OSError, EOFError) as exc:
                raise IntegrityError(f"saliency map {path} cannot be read: {exc}") from exc
            where = str(path)
            if sal.shape != (self.image_size, self.image_size):
                raise IntegrityError(f"saliency map {path}: expected shape {(self.image_size,) * 2}, got {sal.shape}")
        else:
            return self._fallback
        if self.log_density:
            sal = np.exp(sal - sal.max())
        if not np.isfinite(sal).all() or (sal < 0).any():
            raise IntegrityError(f"saliency map {where}: expected finite non-negative values")
        return sal

    def sample(self, index: int, num_views: Optional[int] = None) -> dict[str, torch.Tensor]:
        """The contract dict of item ``index`` with ``num_views`` observed glimpses (default ``self.num_views``)."""
        index = check_index(index, len(self.source))
        m = self.num_views if num_views is None else positive_int("num_views", num_views)
        image = self.source.image(index)
        if self.resize_images and image.shape[:2] != (self.image_size, self.image_size):
            image = np.asarray(Image.fromarray(image).resize((self.image_size, self.image_size), Image.BILINEAR))
        if image.shape[:2] != (self.image_size, self.image_size):
            raise ValueError(
                f"image_size: image {self.source.name(index)} is {image.shape[1]}x{image.shape[0]}, "
                f"expected {self.image_size}x{self.image_size}"
            )
        rng = np.random.default_rng([self.seed, self.epoch, index])
        fix = sample_fixations(self.saliency_map(index), m + 1, self.ior, rng)
        patches = np.stack([_crop(image, int(r), int(c), self.patch_size) for r, c in fix])
        pixels = torch.from_numpy(patches).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        pixels = (pixels - torch.tensor(self.mean).view(1, 3, 1, 1)) / torch.tensor(self.std).view(1, 3, 1, 1)
        positions = torch.from_numpy(fix.astype(np.float64) / self.image_size)
        return {
            "views": pixels[:-1].contiguous(),
            "target": pixels[-1].contiguous(),
            "actions": self.action_space(positions).to(torch.float32),
            "label": torch.tensor(int(self.source.labels[index]), dtype=torch.int64),
            "latents": positions.to(torch.float32),
        }
