"""3DIEBench (and its procedural stand-in) as sequences of views with their relative actions.

Reads the real dataset (SIE's layout, paper-notes §4) or one written by
:func:`seqjepa.data.synthetic.make_toy_3diebench`::

    ROOT/{train,val}_images.npy   '/<synset>/<obj_id>/' strings (the leading '/' is stripped)
    ROOT/{train,val}_labels.npy   int64 labels
    ROOT/<synset>/<obj_id>/image_<i>.jpg, latent_<i>.npy

View sampling differs from the official loader on purpose. The official ``__getitem__`` calls
``np.random.choice`` and its ``seed_worker`` reseeds numpy from the worker id, so each DataLoader
worker replays the same stream of view draws every epoch (paper-notes §2.3). Here the draw for item
``i`` is ``numpy.random.default_rng([seed, epoch, i]).choice(view_ids, M + 1, replace=False)``: it
depends neither on the worker nor on the order items are asked for, and changes with
:meth:`ThreeDIEBench.set_epoch`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch

from ..models.actions import ActionSpace, get_action_space
from ..models.config import THREEDIEBENCH_MEAN, THREEDIEBENCH_STD
from ..errors import IntegrityError
from ._contract import SequenceDataset
from ._images import PIL_INTERPOLATION, load_rgb, to_normalized_tensor
from ._sources import channel_triplet, check_index, positive_int
from ..utils.files import path_problem
from ..utils.log import progress

__all__ = ["ThreeDIEBench", "THREEDIEBENCH_MEAN", "THREEDIEBENCH_STD", "LATENT_DIM"]

LATENT_DIM = 7
SPLITS = ("train", "val", "ood")
_IMAGE_RE = re.compile(r"^image_(\d+)\.jpg$")
_INDEX_PART_RE = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}")
#: far above any real class count (3DIEBench has 55): a label beyond it is a corrupt label file
_MAX_CLASSES = 100_000

PathLike = Union[str, "os.PathLike[str]"]


class ThreeDIEBench(SequenceDataset):
    """Sequences of ``M`` observed views plus one target view of a 3DIEBench object.

    ``dataset[i]`` returns the shared data contract (see :mod:`seqjepa.data`): ``views`` (M, 3, S, S),
    ``target`` (3, S, S), ``actions`` (M, A) (row j leads from view j to j+1, the last row from the
    last observation to the target), ``label`` (int64), ``latents`` (M+1, 7) float32.

    Args:
        root: dataset root.
        split: ``"train"``, ``"val"`` or ``"ood"``. ``"ood"`` reads 3DIEBench-OOD: objects come from
            ``val_images.npy`` / ``val_labels.npy`` found in ``root`` or else in ``index_root``, and
            each object's views are whichever ``image_<i>.jpg`` exist in its folder.
        num_views: M, the number of observed views (M + 1 distinct views are drawn per item).
        action_space: ``"rotation"`` (A=4) or ``"rotation_color"`` (A=6), or an ActionSpace reading 7-d latents.
        image_size: side views are resized to (the model's ``image_size``; 128 in the paper).
        mean, std: normalization (default: 3DIEBench's).
        seed: base of every view draw.
        views_per_object: number of views ``0..n-1`` per object for train/val; default: counted from
            the first object's folder (50 for the real dataset).
        interpolation: resize filter, ``"bilinear"`` (torchvision's default), ``"bicubic"`` or ``"nearest"``.
        fast_decode: decode JPEGs in draft mode at reduced scale when ``image_size`` <= half the
            stored size (see :func:`seqjepa.data._images.load_rgb`).
        num_classes: number of classes; default: 1 + the largest label in the train/val label files present.
        index_root: where to find the index files for ``split="ood"`` when ``root`` has none.
        allow_missing_objects: for ``"ood"`` only: drop objects of the index that have no folder
            (listed in ``missing_objects``) instead of raising.
        in_memory: decode every view of the split once, at construction, into one uint8 array
            (resized to ``image_size``) and keep the latents beside it; items are then cut from memory
            with no file access, and are identical to the ones read from disk. For small data sets
            (the 32-px toy set: 1,280 objects x 20 views is 79 MB); a split that would take more than
            half of the machine's memory is refused.
    """

    def __init__(
        self,
        root: PathLike,
        split: str = "train",
        num_views: int = 3,
        action_space: Union[str, ActionSpace] = "rotation",
        image_size: int = 128,
        mean: Sequence[float] = THREEDIEBENCH_MEAN,
        std: Sequence[float] = THREEDIEBENCH_STD,
        seed: int = 0,
        *,
        views_per_object: Optional[int] = None,
        interpolation: str = "bilinear",
        fast_decode: bool = True,
        num_classes: Optional[int] = None,
        index_root: Optional[PathLike] = None,
        allow_missing_objects: bool = False,
        in_memory: bool = False,
    ) -> None:
        self.root = Path(root)
        self._root_str = os.fspath(self.root)
        if split not in SPLITS:
            raise ValueError(f"split: expected one of {SPLITS}, got {split!r}")
        if not self.root.is_dir():
            raise FileNotFoundError(f"root: dataset directory {path_problem(self.root, 'a directory')}")
        self.split = split
        self.action_space = get_action_space(action_space)
        if self.action_space.latent_dim != LATENT_DIM:
            raise ValueError(
                f"action_space: expected one that reads the 7-d 3DIEBench latent ('rotation', 'rotation_color'), "
                f"got {self.action_space.name!r} (reads {self.action_space.latent_dim}-d latents)"
            )
        self.num_views = positive_int("num_views", num_views)
        self.image_size = positive_int("image_size", image_size)
        self.mean = channel_triplet("mean", mean)
        self.std = channel_triplet("std", std)
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std: expected positive values, got {self.std}")
        if interpolation not in PIL_INTERPOLATION:
            raise ValueError(f"interpolation: expected one of {sorted(PIL_INTERPOLATION)}, got {interpolation!r}")
        self.interpolation = interpolation
        self.fast_decode = bool(fast_decode)
        self.seed = int(seed)
        self.epoch = 0

        index_split = "val" if split == "ood" else split
        index_dir = self.root
        if split == "ood" and not (self.root / "val_images.npy").exists():
            if index_root is None:
                raise FileNotFoundError(
                    f"root: {self.root} has no val_images.npy for the OOD split; pass index_root= the directory "
                    "holding val_images.npy / val_labels.npy (e.g. the main 3DIEBench root)"
                )
            index_dir = Path(index_root)
        self.samples, self.labels = _read_index(index_dir, index_split)
        self.num_classes = int(num_classes) if num_classes is not None else _infer_num_classes(index_dir, self.labels)
        if self.labels.size and (self.labels.min() < 0 or self.labels.max() >= self.num_classes):
            raise ValueError(
                f"num_classes: labels of {index_dir / f'{index_split}_labels.npy'} span "
                f"{self.labels.min()}..{self.labels.max()}, outside 0..{self.num_classes - 1}"
            )

        self.missing_objects: list[str] = []
        self._view_ids: Optional[np.ndarray] = None
        self._per_object_views: Optional[list[np.ndarray]] = None
        if split == "ood":
            self._discover_ood_views(allow_missing_objects)
        else:
            if views_per_object is None:
                views_per_object = _count_views(self.root / self.samples[0])
            self._view_ids = np.arange(positive_int("views_per_object", views_per_object))
            if self.num_views + 1 > len(self._view_ids):
                raise ValueError(
                    f"num_views: M={self.num_views} needs M+1={self.num_views + 1} distinct views per object, "
                    f"but objects have {len(self._view_ids)} views"
                )
        if not isinstance(in_memory, bool):
            raise ValueError(f"in_memory: expected True or False, got {in_memory!r}")
        self.in_memory = in_memory
        self._memory: Optional[_DecodedSplit] = _DecodedSplit.decode(self) if in_memory else None

    # ------------------------------------------------------------------ contract
    def __len__(self) -> int:
        return len(self.samples)

    def view_ids(self, index: int) -> np.ndarray:
        """The view numbers available for object ``index``."""
        if self._per_object_views is not None:
            return self._per_object_views[check_index(index, len(self.samples))]
        return self._view_ids

    def draw_views(self, index: int, num_views: Optional[int] = None) -> np.ndarray:
        """The M+1 distinct view ids item ``index`` uses in the current epoch (observations, then target)."""
        index = check_index(index, len(self.samples))
        m = self.num_views if num_views is None else positive_int("num_views", num_views)
        available = self.view_ids(index)
        if m + 1 > len(available):
            raise ValueError(
                f"num_views: M={m} needs M+1={m + 1} distinct views, but object {self.samples[index]} has "
                f"{len(available)} ({self.root / self.samples[index]})"
            )
        rng = np.random.default_rng([self.seed, self.epoch, index])
        return rng.choice(available, m + 1, replace=False)

    def sample(self, index: int, num_views: Optional[int] = None) -> dict[str, torch.Tensor]:
        """The contract dict of item ``index`` with ``num_views`` observations (default: ``self.num_views``)."""
        return self.load_views(index, self.draw_views(index, num_views))

    def load_views(self, index: int, view_ids: Sequence[int]) -> dict[str, torch.Tensor]:
        """The contract dict for explicit ``view_ids`` of object ``index``: all but the last are observed,
        the last is the target (at least two ids)."""
        index = check_index(index, len(self.samples))
        ids = [int(v) for v in view_ids]
        if len(ids) < 2:
            raise ValueError(f"view_ids: expected at least 2 view ids (observations + target), got {list(view_ids)}")
        if len(set(ids)) != len(ids):
            raise ValueError(f"view_ids: expected distinct view ids, got {ids}")
        if self._memory is not None:
            images, latents64 = self._memory.views(self, index, ids)
        else:
            images, latents64 = self._read_views(index, ids)
        pixels = to_normalized_tensor(images, self.mean, self.std)
        actions = torch.from_numpy(self.action_space(latents64)).to(torch.float32)
        return {
            "views": pixels[:-1],
            "target": pixels[-1],
            "actions": actions,
            "label": torch.tensor(int(self.labels[index]), dtype=torch.int64),
            "latents": torch.from_numpy(latents64).to(torch.float32),
        }

    def _read_views(self, index: int, ids: Sequence[int]) -> "tuple[list[np.ndarray], np.ndarray]":
        folder = os.path.join(self._root_str, self.samples[index])
        images = [
            load_rgb(os.path.join(folder, f"image_{v}.jpg"), self.image_size, interpolation=self.interpolation,
                     draft=self.fast_decode)
            for v in ids
        ]
        return images, np.stack([_load_latent(os.path.join(folder, f"latent_{v}.npy")) for v in ids])

    # ------------------------------------------------------------------ helpers
    def _discover_ood_views(self, allow_missing: bool) -> None:
        keep, views = [], []
        for k, rel in enumerate(self.samples):
            folder = self.root / rel
            if not folder.is_dir():
                if allow_missing:
                    self.missing_objects.append(rel)
                    continue
                raise FileNotFoundError(
                    f"object folder {folder} (listed in the val index) does not exist in the OOD root; pass "
                    "allow_missing_objects=True to drop such objects explicitly"
                )
            ids = _image_ids(folder)
            if len(ids) < self.num_views + 1:
                raise ValueError(
                    f"num_views: M={self.num_views} needs M+1={self.num_views + 1} distinct views, but {folder} "
                    f"has {len(ids)} (ids {ids.tolist()})"
                )
            keep.append(k)
            views.append(ids)
        if not keep:
            raise FileNotFoundError(f"root: no object of the val index exists under {self.root}")
        self.samples = [self.samples[k] for k in keep]
        self.labels = self.labels[keep]
        self._per_object_views = views


class _DecodedSplit:
    """Every view of a split, decoded once: ``pixels`` (total views, S, S, 3) uint8 and ``latents`` (total views, 7).

    Object ``k``'s views occupy rows ``offsets[k] : offsets[k + 1]``, in the order of ``view_ids(k)``.
    One contiguous array (not one per object) so DataLoader workers share it copy-on-write.
    """

    def __init__(self, pixels: np.ndarray, latents: np.ndarray, offsets: np.ndarray) -> None:
        self.pixels, self.latents, self.offsets = pixels, latents, offsets

    @classmethod
    def decode(cls, ds: "ThreeDIEBench") -> "_DecodedSplit":
        counts = np.array([len(ds.view_ids(k)) for k in range(len(ds))], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        total = int(offsets[-1])
        nbytes = total * ds.image_size * ds.image_size * 3
        budget = _physical_memory() // 2
        if budget and nbytes > budget:
            raise ValueError(
                f"in_memory: the {ds.split} split decodes to {nbytes / 2**30:.1f} GiB ({total} views at "
                f"{ds.image_size} px), more than half of this machine's memory ({budget / 2**30:.1f} GiB); "
                "read it from disk (in_memory=False)"
            )
        pixels = np.empty((total, ds.image_size, ds.image_size, 3), dtype=np.uint8)
        latents = np.empty((total, LATENT_DIM), dtype=np.float64)
        for k in progress(range(len(ds)), desc=f"decoding {ds.split} split", unit="obj"):
            images, lat = ds._read_views(k, ds.view_ids(k))
            pixels[offsets[k]:offsets[k + 1]] = np.stack(images)
            latents[offsets[k]:offsets[k + 1]] = lat
        return cls(pixels, latents, offsets)

    def views(self, ds: "ThreeDIEBench", index: int, ids: Sequence[int]) -> "tuple[list[np.ndarray], np.ndarray]":
        available = ds.view_ids(index)
        pos = np.searchsorted(available, ids)
        bad = [v for v, p in zip(ids, pos) if p >= len(available) or available[p] != v]
        if bad:
            raise ValueError(f"view_ids: object {ds.samples[index]} has no view(s) {bad} (it has {available.tolist()})")
        rows = self.offsets[index] + pos
        return list(self.pixels[rows]), self.latents[rows]


def _physical_memory() -> int:
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # not POSIX: no limit can be computed
        return 0


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise IntegrityError(f"{what} {path} cannot be read as a .npy array: {exc}") from exc


def _read_index(root: Path, split: str) -> tuple[list[str], np.ndarray]:
    images_path, labels_path = root / f"{split}_images.npy", root / f"{split}_labels.npy"
    if not images_path.exists() and not any(root.iterdir()):
        raise FileNotFoundError(f"root: {root} is empty (expected {split}_images.npy, {split}_labels.npy and object folders)")
    images = _load_npy(images_path, "index file")
    labels = _load_npy(labels_path, "label file")
    if images.ndim != 1 or images.dtype.kind != "U":
        raise IntegrityError(f"index file {images_path}: expected a 1-d array of strings, got {images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise IntegrityError(f"label file {labels_path}: expected a 1-d integer array, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise IntegrityError(
            f"index files disagree: {images_path} lists {len(images)} objects, {labels_path} has {len(labels)} labels"
        )
    if len(images) == 0:
        raise ValueError(f"index file {images_path} lists no objects")
    samples = [str(s).strip("/") for s in images]
    for i, entry in enumerate(samples):
        # '<synset>/<object>' inside the root: no '..', no absolute path, no empty or hidden parts
        parts = entry.split("/")
        if len(parts) != 2 or not all(_INDEX_PART_RE.fullmatch(p) for p in parts):
            raise IntegrityError(
                f"index file {images_path}: entry {i} is {str(images[i])!r}; expected '/<synset>/<object_id>/' "
                "(letters, digits, '_' and '-'), which stays inside the dataset root"
            )
    if labels.min() < 0 or labels.max() >= _MAX_CLASSES:
        bad = int(labels.min()) if labels.min() < 0 else int(labels.max())
        raise IntegrityError(f"label file {labels_path}: labels must lie in [0, {_MAX_CLASSES}), got {bad}")
    return samples, labels.astype(np.int64)


def _infer_num_classes(root: Path, labels: np.ndarray) -> int:
    top = int(labels.max())
    for split in ("train", "val"):
        path = root / f"{split}_labels.npy"
        if path.exists():
            other = _load_npy(path, "label file")
            if other.size and other.dtype.kind in "iu" and 0 <= int(other.max()) < _MAX_CLASSES:
                top = max(top, int(other.max()))
    return top + 1


def _image_ids(folder: Path) -> np.ndarray:
    ids = sorted(int(m.group(1)) for name in os.listdir(folder) if (m := _IMAGE_RE.match(name)))
    return np.asarray(ids, dtype=np.int64)


def _count_views(folder: Path) -> int:
    if not folder.is_dir():
        raise FileNotFoundError(f"object folder not found: {folder}")
    ids = _image_ids(folder)
    if len(ids) == 0:
        raise FileNotFoundError(f"no image_<i>.jpg in {folder}: cannot count the views per object")
    if not np.array_equal(ids, np.arange(len(ids))):
        raise IntegrityError(
            f"{folder}: expected views numbered 0..{len(ids) - 1}, found ids {ids.tolist()}; pass views_per_object "
            "explicitly (or use split='ood' for datasets whose views are not numbered from 0)"
        )
    return len(ids)


_LATENT_HEADER = re.compile(rb"^\{'descr': '<f8', 'fortran_order': False, 'shape': \(7,\), \}\s*$")


def _load_latent(path: str) -> np.ndarray:
    # Fast path for the common file (npy v1, little-endian float64, shape (7,)): np.load parses the
    # header with ast, which costs more than reading the 56 data bytes. Anything else goes to np.load.
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"latent file not found: {path}") from None
    if data[:8] == b"\x93NUMPY\x01\x00" and len(data) >= 10:
        hlen = int.from_bytes(data[8:10], "little")
        if _LATENT_HEADER.match(data[10:10 + hlen]) and len(data) == 10 + hlen + 8 * LATENT_DIM:
            lat = np.frombuffer(data, dtype="<f8", offset=10 + hlen, count=LATENT_DIM).astype(np.float64)
            if not np.isfinite(lat).all():
                raise IntegrityError(f"latent file {path}: contains NaN or Inf: {lat.tolist()}")
            return lat
    lat = _load_npy(Path(path), "latent file")
    if lat.shape != (LATENT_DIM,) or lat.dtype.kind != "f":
        raise IntegrityError(f"latent file {path}: expected {LATENT_DIM} floats, got dtype {lat.dtype} shape {lat.shape}")
    if not np.isfinite(lat).all():
        raise IntegrityError(f"latent file {path}: contains NaN or Inf: {lat.tolist()}")
    return lat.astype(np.float64)
