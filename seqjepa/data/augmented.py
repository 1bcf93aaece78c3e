"""Sequences of parametric augmentations (CIFAR-100, Tiny ImageNet, any image folder or array).

Each view is one draw of the EquiMod-style augmentation the official code uses (paper-notes §2.3):
RandomResizedCrop (scale (0.2, 1), ratio (3/4, 4/3), bicubic) with horizontal flip p=0.5; color
jitter p=0.8 (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1) with explicit factors applied
in a random order; grayscale p=0.2; Gaussian blur with sigma in (0.1, 2); solarize. Observed views
blur with p=1 and never solarize; the target view blurs with p=0.1 and solarizes with p=0.2.

The blur kernel side follows the official rule ``2 * round((size - 10) / 20) + 1`` (3 at 32 px,
7 at 64 px, 9 at 96 px, 23 at 224 px).

Each view records 9 parameters ``(crop i, j, h, w [pixels of the source image], brightness,
contrast, saturation, hue, blur sigma)``; an op that was not applied records its neutral value:
jitter (1, 1, 1, 0), sigma 0. Flip, grayscale and solarize are not part of the action. The actions
are built from these by :mod:`seqjepa.models.actions` (each parameter L2-normalized across the M+1 views of
the sequence, then consecutive differences).
"""

from __future__ import annotations

import math
import os
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

from ..models.actions import ActionSpace, get_action_space
from ._images import to_normalized_tensor
from ._sources import ImageSequenceDataset, ImageSource, channel_triplet, check_index, positive_int

__all__ = ["ParametricAugment", "AugmentedSequences", "blur_kernel_size", "CIFAR100_MEAN", "CIFAR100_STD",
           "TINY_IMAGENET_MEAN", "TINY_IMAGENET_STD"]

CIFAR100_MEAN = (0.5071, 0.4867, 0.4408)
CIFAR100_STD = (0.2675, 0.2565, 0.2761)
TINY_IMAGENET_MEAN = (0.4802, 0.4481, 0.3975)
TINY_IMAGENET_STD = (0.2302, 0.2265, 0.2262)
AUGMENTATION_SPACES = ("augmentation", "crop", "jitter", "blur")


def blur_kernel_size(size: int) -> int:
    """Odd Gaussian-blur kernel side for ``size``-px views: ``2 * round((size - 10) / 20) + 1`` (official rule)."""
    return max(1, 2 * int(round((size - 10) / 20)) + 1)


class ParametricAugment:
    """One random augmentation that also returns its 9 parameters.

    ``aug(image, rng)`` takes a uint8 ``(H, W, 3)`` array and a ``numpy.random.Generator`` and returns
    ``(float32 (3, size, size) in [0, 1], float64 (9,) parameters)``.

    Args:
        size: output side.
        blur_p: probability of the Gaussian blur (1.0 for observed views, 0.1 for the target).
        solarize_p: probability of solarization (0.0 for observed views, 0.2 for the target).
        scale, ratio: RandomResizedCrop ranges; flip_p, jitter_p, gray_p: probabilities;
        brightness, contrast, saturation, hue: jitter strengths; sigma: blur sigma range.
    """

    def __init__(
        self,
        size: int,
        *,
        blur_p: float = 1.0,
        solarize_p: float = 0.0,
        scale: tuple[float, float] = (0.2, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip_p: float = 0.5,
        jitter_p: float = 0.8,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.2,
        hue: float = 0.1,
        gray_p: float = 0.2,
        sigma: tuple[float, float] = (0.1, 2.0),
    ) -> None:
        self.size = positive_int("size", size)
        for name, p in (("blur_p", blur_p), ("solarize_p", solarize_p), ("flip_p", flip_p),
                        ("jitter_p", jitter_p), ("gray_p", gray_p)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {p!r}")
        if not 0 < scale[0] <= scale[1] <= 1:
            raise ValueError(f"scale: expected 0 < lo <= hi <= 1, got {scale!r}")
        if not 0 < ratio[0] <= ratio[1]:
            raise ValueError(f"ratio: expected 0 < lo <= hi, got {ratio!r}")
        if not 0 < sigma[0] <= sigma[1]:
            raise ValueError(f"sigma: expected 0 < lo <= hi, got {sigma!r}")
        self.blur_p, self.solarize_p, self.flip_p, self.jitter_p, self.gray_p = blur_p, solarize_p, flip_p, jitter_p, gray_p
        self.scale, self.ratio, self.sigma = tuple(scale), tuple(ratio), tuple(sigma)
        self.brightness, self.contrast, self.saturation, self.hue = brightness, contrast, saturation, hue
        self.kernel = blur_kernel_size(self.size)

    def crop_params(self, height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        """(i, j, h, w) of a random resized crop: torchvision's algorithm (10 tries, then a centre crop)."""
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target_area = area * rng.uniform(self.scale[0], self.scale[1])
            aspect = math.exp(rng.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                i = int(rng.integers(0, height - h + 1))
                j = int(rng.integers(0, width - w + 1))
                return i, j, h, w
        in_ratio = width / height
        if in_ratio < self.ratio[0]:
            w, h = width, int(round(width / self.ratio[0]))
        elif in_ratio > self.ratio[1]:
            h, w = height, int(round(height * self.ratio[1]))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, np.ndarray]:
        if image.ndim != 3 or image.shape[-1] != 3 or image.dtype != np.uint8:
            raise ValueError(f"image: expected a uint8 (H, W, 3) array, got {image.dtype} {image.shape}")
        h0, w0 = image.shape[:2]
        i, j, h, w = self.crop_params(h0, w0, rng)
        x = torch.from_numpy(np.array(image, copy=True)).permute(2, 0, 1)
        x = TF.resized_crop(x, i, j, h, w, [self.size, self.size], InterpolationMode.BICUBIC, antialias=True)
        x = x.to(torch.float32).div_(255.0)
        if rng.uniform() < self.flip_p:
            x = TF.hflip(x)
        jitter = np.array([1.0, 1.0, 1.0, 0.0])
        if rng.uniform() < self.jitter_p:
            jitter = np.array([
                rng.uniform(1 - self.brightness, 1 + self.brightness),
                rng.uniform(1 - self.contrast, 1 + self.contrast),
                rng.uniform(1 - self.saturation, 1 + self.saturation),
                rng.uniform(-self.hue, self.hue),
            ])
            for op in rng.permutation(4):
                if op == 0:
                    x = TF.adjust_brightness(x, float(jitter[0]))
                elif op == 1:
                    x = TF.adjust_contrast(x, float(jitter[1]))
                elif op == 2:
                    x = TF.adjust_saturation(x, float(jitter[2]))
                else:
                    x = TF.adjust_hue(x, float(jitter[3]))
        if rng.uniform() < self.gray_p:
            x = TF.rgb_to_grayscale(x, num_output_channels=3)
        sigma = 0.0
        if rng.uniform() < self.blur_p:
            sigma = float(rng.uniform(*self.sigma))
            x = TF.gaussian_blur(x, [self.kernel, self.kernel], [sigma, sigma])
        if rng.uniform() < self.solarize_p:
            x = TF.solarize(x, 128.0 / 255.0)
        params = np.array([i, j, h, w, *jitter, sigma], dtype=np.float64)
        return x.clamp(0.0, 1.0).contiguous(), params


class AugmentedSequences(ImageSequenceDataset):
    """M augmented observations + one augmented target of the same image, with their actions.

    Args:
        root: an image folder (``root/<class>/<image>``); or
        images, labels: uint8 arrays/tensors (N, H, W, 3) or (N, 3, H, W) and (N,) (e.g. CIFAR-100's arrays).
        num_views: M (observations; one more view is the target).
        image_size: view side (32 for CIFAR-100, 64 for Tiny ImageNet).
        action_space: ``"augmentation"`` (9-d), ``"crop"``, ``"jitter"`` (4-d) or ``"blur"`` (1-d).
        mean, std: normalization (default CIFAR-100's).
        seed: base of every draw; item i in epoch e uses ``default_rng([seed, e, i])``.

    ``dataset[i]`` returns the shared contract dict; ``latents`` are the raw 9 parameters per view.
    ``dataset.original(i)`` is the un-augmented image (resize + normalize) for classification probes.
    """

    def __init__(
        self,
        root: Optional[Union[str, "os.PathLike[str]"]] = None,
        *,
        images=None,
        labels=None,
        num_views: int = 3,
        image_size: int = 32,
        action_space: Union[str, ActionSpace] = "augmentation",
        mean: Sequence[float] = CIFAR100_MEAN,
        std: Sequence[float] = CIFAR100_STD,
        seed: int = 0,
    ) -> None:
        self.source = ImageSource(root, images, labels)
        self.num_views = positive_int("num_views", num_views)
        self.image_size = positive_int("image_size", image_size)
        self.action_space = get_action_space(action_space)
        if self.action_space.name not in AUGMENTATION_SPACES:
            raise ValueError(f"action_space: expected one of {AUGMENTATION_SPACES}, got {self.action_space.name!r}")
        self.mean, self.std = channel_triplet("mean", mean), channel_triplet("std", std)
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std: expected positive values, got {self.std}")
        self.seed = int(seed)
        self.epoch = 0
        self.observe = ParametricAugment(self.image_size, blur_p=1.0, solarize_p=0.0)
        self.target_aug = ParametricAugment(self.image_size, blur_p=0.1, solarize_p=0.2)

    def sample(self, index: int, num_views: Optional[int] = None) -> dict[str, torch.Tensor]:
        """The contract dict of item ``index`` with ``num_views`` observations (default ``self.num_views``)."""
        index = check_index(index, len(self.source))
        m = self.num_views if num_views is None else positive_int("num_views", num_views)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        image = self.source.image(index)
        views, params = [], []
        for k in range(m + 1):
            x, p = (self.observe if k < m else self.target_aug)(image, rng)
            views.append(x)
            params.append(p)
        pixels = torch.stack(views)
        m_t = torch.tensor(self.mean).view(1, 3, 1, 1)
        s_t = torch.tensor(self.std).view(1, 3, 1, 1)
        pixels = (pixels - m_t) / s_t
        latents = torch.from_numpy(np.stack(params))
        return {
            "views": pixels[:-1].contiguous(),
            "target": pixels[-1].contiguous(),
            "actions": self.action_space(latents).to(torch.float32),
            "label": torch.tensor(int(self.source.labels[index]), dtype=torch.int64),
            "latents": latents.to(torch.float32),
        }

    def original(self, index: int) -> torch.Tensor:
        """Un-augmented image ``index``: resized (bilinear) to ``image_size`` and normalized, (3, S, S)."""
        index = check_index(index, len(self.source))
        x = torch.from_numpy(np.array(self.source.image(index), copy=True)).permute(2, 0, 1)
        if x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            x = TF.resize(x, [self.image_size, self.image_size], antialias=True)
        return to_normalized_tensor([x.permute(1, 2, 0).numpy()], self.mean, self.std)[0]
