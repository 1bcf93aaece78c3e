"""Where the rows of an extraction come from: an image folder, a JSON Lines manifest of sequences, or a dataset.

Every source lists its rows once, in a deterministic order, without decoding anything:

* :class:`ImageFolderSource`: one image per row, files found recursively, in sorted relative-path
  order (component by component, so ``a/x.jpg`` comes before ``a-b/y.jpg`` as in torchvision's
  ImageFolder); top-level class folders give labels when every image lies inside one.
* :class:`ManifestSource`: one sequence of views per row, from a JSON Lines file.
* :class:`DatasetSource`: one sequence per row from a 3DIEBench-layout root or a named dataset of
  :mod:`seqjepa.data`, read as the evaluation protocols read them.

``source.load(row)`` decodes one row (in a DataLoader worker); a bad image raises
:class:`~seqjepa.errors.IntegrityError` or :class:`FileNotFoundError` naming the file, which the
runner records and skips. Problems with the listing itself (a malformed manifest line, an empty
folder) are argument errors raised when the source is built.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path, PurePosixPath
from typing import Any, Optional, Union

import numpy as np

from ..errors import IntegrityError
from ..utils.jsonlines import iter_json_objects
from ..utils.files import path_problem

__all__ = [
    "IMAGE_EXTENSIONS",
    "DATASETS",
    "Source",
    "ImageFolderSource",
    "ManifestSource",
    "DatasetSource",
    "open_source",
    "BAD_INPUT_ERRORS",
    "MAX_SEQUENCE_VIEWS",
]

PathLike = Union[str, "os.PathLike[str]"]

logger = logging.getLogger("seqjepa.features")

#: File name endings read from an image folder (case-insensitive).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
#: Named datasets (``dataset=``): a 3DIEBench-layout root or an image folder ``ROOT/<split>/<class>/<image>``.
DATASETS = ("3diebench", "cifar100", "tinyimagenet", "stl10", "imagenet")
#: The most views one sequence may have: a sequence goes through the model in one pass (its z_AGG attends over
#: all of its views, so it cannot be split), and the memory of that pass grows with its length (6,000 views
#: took 4 GB on CPU). A longer manifest line or ``num_views`` is refused naming this limit.
MAX_SEQUENCE_VIEWS = 1024
#: The largest class label a manifest may give (labels are stored as int64; this leaves room for any real
#: label space and refuses numbers that are not class indices).
MAX_LABEL = 2**31 - 1
#: Exceptions that mean "this input is bad" (skipped and recorded), as opposed to a bug; PIL's
#: DecompressionBombError (neither OSError nor ValueError) counts too, see :func:`is_bad_input`.
BAD_INPUT_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, SyntaxError, EOFError)


def _sha256_lines(lines) -> str:
    h = hashlib.sha256()
    for line in lines:
        h.update(line.encode("utf-8", "surrogateescape"))
        h.update(b"\n")
    return h.hexdigest()


class Source:
    """What the runner needs of a source; see the subclasses."""

    #: "images" (one view per row) or "sequences"
    kind: str = "images"
    #: name of the per-row identifier column: "path" or "id"
    key_name: str = "path"

    def __len__(self) -> int:
        raise NotImplementedError

    def key(self, row: int) -> str:
        raise NotImplementedError

    def num_views(self, row: int) -> int:
        return 1

    @property
    def labels(self) -> Optional[np.ndarray]:
        return None

    def identity(self) -> dict[str, Any]:
        """What must match for a rerun to continue the same extraction (JSON-able)."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """identity() plus informative fields that are not compared (e.g. the absolute path)."""
        return self.identity()

    def load(self, row: int) -> Any:
        raise NotImplementedError


# --------------------------------------------------------------------------- image folder
class ImageFolderSource(Source):
    """Every image under ``root`` (recursively; hidden files and folders are skipped).

    Labels follow torchvision's ImageFolder: when every image lies inside a top-level folder, the
    sorted folder names are the classes 0..K-1. Images directly in ``root`` mean "no labels".
    """

    kind = "images"
    key_name = "path"

    def __init__(self, root: PathLike, *, image_size: int, interpolation: str, draft: bool) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"source: image folder {path_problem(self.root, 'a directory')}")
        self.image_size, self.interpolation, self.draft = int(image_size), interpolation, bool(draft)
        found: list[tuple[tuple[str, ...], int]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = os.path.relpath(dirpath, self.root)
            parts = () if rel_dir == "." else PurePosixPath(Path(rel_dir).as_posix()).parts
            for name in filenames:
                if name.startswith(".") or not name.lower().endswith(IMAGE_EXTENSIONS):
                    continue
                try:
                    st = os.stat(os.path.join(dirpath, name))
                    # size and modification time: an image edited in place (even to the same size) changes the
                    # listing, so a rerun refuses to mix its old features with new ones
                    size = f"{st.st_size}\t{st.st_mtime_ns}"
                except OSError:
                    size = "-1"  # listed, and reported as unreadable when loaded
                found.append((parts + (name,), size))
        if not found:
            raise FileNotFoundError(
                f"source: no images ({', '.join(IMAGE_EXTENSIONS)}) under {self.root}"
            )
        found.sort(key=lambda item: item[0])
        self.paths = ["/".join(parts) for parts, _ in found]
        self.sizes = [size for _, size in found]
        self.classes: Optional[list[str]] = None
        self._labels: Optional[np.ndarray] = None
        top = [parts[0] for parts, _ in found if len(parts) == 1]
        if top and len(top) < len(found):
            logger.warning("source: %d image(s) lie directly in %s (e.g. %s), not in a class folder: the %d other "
                           "image(s) get no class labels either (labels come from top-level folders only when "
                           "every image is in one)", len(top), self.root, top[0][:80], len(found) - len(top))
        if all(len(parts) >= 2 for parts, _ in found):
            self.classes = sorted({parts[0] for parts, _ in found})
            index = {name: k for k, name in enumerate(self.classes)}
            self._labels = np.asarray([index[parts[0]] for parts, _ in found], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.paths)

    def key(self, row: int) -> str:
        return self.paths[row]

    @property
    def labels(self) -> Optional[np.ndarray]:
        return self._labels

    def identity(self) -> dict[str, Any]:
        return {
            "kind": "image_folder",
            "rows": len(self.paths),
            "classes": self.classes,
            "listing_sha256": _sha256_lines(f"{p}\t{s}" for p, s in zip(self.paths, self.sizes)),
        }

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "path": str(self.root.resolve())}

    def load(self, row: int) -> np.ndarray:
        from ..data._images import load_rgb

        return load_rgb(os.path.join(self.root, self.paths[row]), self.image_size,
                        interpolation=self.interpolation, draft=self.draft)


# --------------------------------------------------------------------------- manifest
class ManifestSource(Source):
    """Sequences listed in a JSON Lines file, one object a line::

        {"id": "mug-3", "views": ["mug3/a.jpg", "mug3/b.jpg"], "actions": [[0, 0, 0.38, 0.92]], "label": 2}

    ``views`` are paths relative to the manifest's folder (absolute paths are taken as they are);
    ``actions`` holds M-1 relative actions (row j leads from view j to view j+1), or ``latents``
    holds M per-view latents from which the model's action space computes them (a model without
    action conditioning needs neither and ignores them). ``label`` is optional. Blank lines are ignored. Every line is checked when the source is built; a malformed
    line is a ValueError naming the file and line.
    """

    kind = "sequences"
    key_name = "id"

    def __init__(self, path: PathLike, *, image_size: int, interpolation: str, draft: bool,
                 action_space: Optional[str], action_dim: Optional[int]) -> None:
        """``action_space``/``action_dim``: the model's (None for a model without action conditioning)."""
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"source: manifest {path_problem(self.path, 'a JSON Lines file')}")
        self.base = self.path.parent
        self.image_size, self.interpolation, self.draft = int(image_size), interpolation, bool(draft)
        raw = self.path.read_bytes()
        self.sha256 = hashlib.sha256(raw).hexdigest()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"source: manifest {self.path} is not UTF-8 text: {exc}") from None
        space = None
        if action_dim is not None and action_space is not None:
            from ..models.actions import get_action_space

            space = get_action_space(action_space)
        self.ids: list[str] = []
        self.views: list[list[str]] = []
        self.actions: list[Optional[np.ndarray]] = []
        label_values: list[Optional[int]] = []
        seen: dict[str, int] = {}
        for lineno, obj in iter_json_objects(text, f"source: manifest {self.path}"):
            where = f"source: manifest {self.path} line {lineno}"
            unknown = sorted(set(obj) - {"id", "views", "actions", "latents", "label"})
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {unknown}; expected id, views, actions or latents, label")
            ident = obj.get("id")
            if isinstance(ident, bool) or not isinstance(ident, (str, int)) or (isinstance(ident, str) and not ident):
                raise ValueError(f"{where}: 'id' must be a non-empty string or an integer, got {ident!r}")
            ident = str(ident)
            if ident in seen:
                raise ValueError(f"{where}: id {ident!r} repeats line {seen[ident]}; ids must be unique")
            seen[ident] = lineno
            views = obj.get("views")
            if not isinstance(views, list) or not views or not all(isinstance(v, str) and v for v in views):
                raise ValueError(f"{where}: 'views' must be a non-empty list of image paths, got {views!r}")
            m = len(views)
            if m > MAX_SEQUENCE_VIEWS:
                raise ValueError(
                    f"{where}: {m} views; a sequence goes through the model in one pass, at most "
                    f"{MAX_SEQUENCE_VIEWS} views (its memory grows with the views): split the sequence")
            if "actions" in obj and "latents" in obj:
                raise ValueError(f"{where}: give 'actions' or 'latents', not both")
            acts: Optional[np.ndarray] = None
            if action_dim is not None:
                if "actions" in obj:
                    acts = _float_matrix(f"{where}: 'actions'", obj["actions"], m - 1, action_dim).astype(np.float32)
                elif "latents" in obj:
                    if space is None:  # pragma: no cover - action_dim without a space
                        raise ValueError(f"{where}: 'latents' need the model's action space")
                    lat = _float_matrix(f"{where}: 'latents'", obj["latents"], m, space.latent_dim)
                    if m == 1:
                        acts = np.zeros((0, action_dim), dtype=np.float32)
                    else:
                        try:
                            acts = np.asarray(space(lat.astype(np.float64)), dtype=np.float32)
                        except ValueError as exc:
                            raise ValueError(f"{where}: {exc}") from None
                        if acts.shape != (m - 1, action_dim):
                            raise ValueError(
                                f"{where}: the model's action space {space.name!r} gives actions of shape "
                                f"{acts.shape}, the model takes ({m - 1}, {action_dim})"
                            )
                elif m == 1:
                    acts = np.zeros((0, action_dim), dtype=np.float32)
                else:
                    raise ValueError(
                        f"{where}: the model is action-conditioned: give 'actions' ({m - 1} x {action_dim}) "
                        f"or 'latents' ({m} per-view latents) for its {m} views"
                    )
            label = obj.get("label")
            if label is not None and (isinstance(label, bool) or not isinstance(label, int)
                                      or not 0 <= label <= MAX_LABEL):
                raise ValueError(f"{where}: 'label' must be an integer in [0, {MAX_LABEL}] when given, "
                                 f"got {label!r:.40}")
            self.ids.append(ident)
            self.views.append(views)
            self.actions.append(acts)
            label_values.append(label)
        if not self.ids:
            raise ValueError(f"source: manifest {self.path} lists no sequences")
        self._labels: Optional[np.ndarray] = None
        if any(v is not None for v in label_values):
            # lines without a label get -1 (documented); the column exists when any line has one
            self._labels = np.asarray([-1 if v is None else v for v in label_values], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, row: int) -> str:
        return self.ids[row]

    def num_views(self, row: int) -> int:
        return len(self.views[row])

    @property
    def labels(self) -> Optional[np.ndarray]:
        return self._labels

    def view_path(self, row: int, j: int) -> str:
        return os.path.join(self.base, self.views[row][j])

    def identity(self) -> dict[str, Any]:
        return {"kind": "manifest", "rows": len(self.ids), "manifest_sha256": self.sha256}

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "path": str(self.path.resolve())}

    def load(self, row: int) -> dict[str, Any]:
        from ..data._images import load_rgb

        images = []
        for j in range(len(self.views[row])):
            path = self.view_path(row, j)
            try:
                images.append(load_rgb(path, self.image_size, interpolation=self.interpolation, draft=self.draft))
            except Exception as exc:  # noqa: BLE001 - re-raised unless it is bad input
                if not is_bad_input(exc):
                    raise
                raise _BadView(j, exc) from exc
        return {"pixels": np.stack(images), "actions": self.actions[row]}


class _BadView(Exception):
    """View ``view`` of a sequence could not be read: carries its position and the cause."""

    def __init__(self, view: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.view, self.cause = view, cause


def _float_matrix(what: str, value: Any, rows: int, cols: int) -> np.ndarray:
    """``value`` as a finite float64 (rows, cols) array of JSON numbers (not strings, not booleans) of magnitude
    at most MAX_ACTION_MAGNITUDE, or a ValueError saying what it is instead."""
    from ..models.checks import MAX_ACTION_MAGNITUDE

    if not isinstance(value, list) or not all(
            isinstance(r, list) and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in r)
            for r in value):
        raise ValueError(f"{what} must be a list of {rows} lists of {cols} numbers, got {value!r:.80}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a list of {rows} lists of {cols} numbers, got {value!r:.80}") from None
    if rows == 0 and arr.size == 0:
        return np.zeros((0, cols), dtype=np.float64)
    if arr.shape != (rows, cols):
        raise ValueError(f"{what}: expected shape ({rows}, {cols}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what}: expected finite numbers, got NaN or Inf")
    if arr.size and np.abs(arr).max() > MAX_ACTION_MAGNITUDE:
        raise ValueError(f"{what}: expected numbers of magnitude at most {MAX_ACTION_MAGNITUDE:g}, got "
                         f"{np.abs(arr).max():.3g}")
    return arr


# --------------------------------------------------------------------------- datasets
class DatasetSource(Source):
    """A contract dataset of :mod:`seqjepa.data`: each row is observed views + target (M views in all)
    with the M-1 actions between them, exactly the sequence the evaluation protocols encode."""

    kind = "sequences"
    key_name = "id"

    def __init__(self, name: str, root: PathLike, *, split: str, num_views: int, seed: int, config: Any,
                 draft: bool) -> None:
        if name not in DATASETS:
            raise ValueError(f"dataset: expected one of {DATASETS}, got {name!r}")
        if (isinstance(num_views, bool) or not isinstance(num_views, int) or not
                2 <= num_views <= MAX_SEQUENCE_VIEWS):
            raise ValueError(f"num_views: expected an integer in [2, {MAX_SEQUENCE_VIEWS}] (observed views + the "
                             f"target; a sequence goes through the model in one pass), got {num_views!r:.40}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"seed: expected an integer in [0, 2**63), got {seed!r:.40}")
        self.name, self.root, self.split, self.seed = name, Path(root), split, seed
        self.m = num_views
        if not self.root.is_dir():
            raise FileNotFoundError(f"source: dataset root {path_problem(self.root, 'a directory')}")
        import seqjepa.data as data

        common = dict(num_views=num_views - 1, image_size=config.image_size, mean=config.mean, std=config.std, seed=seed)
        space = config.action_space
        if name == "3diebench":
            if split not in ("train", "val"):
                raise ValueError(f"split: expected 'train' or 'val' for 3diebench, got {split!r}")
            self.dataset = data.ThreeDIEBench(self.root, split=split, action_space=space,
                                              interpolation=config.interpolation, fast_decode=draft, **common)
            ids, labels = list(self.dataset.samples), np.asarray(self.dataset.labels, dtype=np.int64)
        else:
            if draft:
                raise ValueError(f"decode: 'draft' applies to JPEG resizing; {name} sequences crop and resize "
                                 "images at their stored size, so only 'exact' is possible")
            if name in ("cifar100", "tinyimagenet"):
                builder = data.cifar100_sequences if name == "cifar100" else data.tinyimagenet_sequences
                self.dataset = builder(self.root, split=split, action_space=space, **common)
            else:
                if space != "saccade":
                    raise ValueError(f"dataset: {name} yields saccade actions, but the model's action space is {space!r}")
                builder = data.stl10_saccades if name == "stl10" else data.imagenet_saccades
                self.dataset = builder(self.root, split=split, **common)
            src = self.dataset.source
            ids = [src.name(i) for i in range(len(src))]
            labels = np.asarray(src.labels, dtype=np.int64)
        if config.action_conditioned and self.dataset.action_dim != config.action_dim:
            raise ValueError(
                f"dataset: {name} gives {self.dataset.action_dim}-d actions, the model takes {config.action_dim}-d "
                f"({config.action_space!r})"
            )
        self.ids, self._labels = ids, labels
        self.conditioned = bool(config.action_conditioned)

    def __len__(self) -> int:
        return len(self.ids)

    def key(self, row: int) -> str:
        return self.ids[row]

    def num_views(self, row: int) -> int:
        return self.m

    @property
    def labels(self) -> Optional[np.ndarray]:
        return self._labels

    def identity(self) -> dict[str, Any]:
        return {
            "kind": "dataset", "name": self.name, "split": self.split, "num_views": self.m, "seed": self.seed,
            "rows": len(self.ids),
            "listing_sha256": _sha256_lines(f"{i}\t{int(lab)}" for i, lab in zip(self.ids, self._labels)),
        }

    def describe(self) -> dict[str, Any]:
        return {**self.identity(), "path": str(self.root.resolve())}

    def load(self, row: int) -> dict[str, Any]:
        item = self.dataset[row]
        views = np.concatenate([item["views"].numpy(), item["target"].numpy()[None]])
        return {"views": views, "actions": item["actions"].numpy(), "latents": item["latents"].numpy()}


# --------------------------------------------------------------------------- front door
def open_source(source: PathLike, *, config: Any, draft: bool, dataset: Optional[str] = None, split: str = "train",
                num_views: int = 8, seed: int = 0) -> Source:
    """Build the source ``source`` names: a manifest file, a 3DIEBench root, an image folder, or a named dataset.

    ``dataset`` forces a named dataset (``"3diebench"``, ``"cifar100"``, ...); without it a file is a
    manifest, a folder holding ``train_images.npy`` or ``val_images.npy`` is a 3DIEBench root, and any
    other folder is an image folder.
    """
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source: expected a path (image folder, manifest or dataset root), got {type(source).__name__}")
    path = Path(os.path.expanduser(os.fspath(source)))
    if dataset is None and path.is_dir() and any((path / f"{s}_images.npy").is_file() for s in ("train", "val")):
        dataset = "3diebench"
    if dataset is not None:
        if dataset not in DATASETS:
            raise ValueError(f"dataset: expected one of {DATASETS}, got {dataset!r}")
        return DatasetSource(dataset, path, split=split, num_views=num_views, seed=seed, config=config, draft=draft)
    if not path.exists():
        raise FileNotFoundError(f"source: {path} does not exist")
    if path.is_file():
        conditioned = bool(config.action_conditioned)
        return ManifestSource(path, image_size=config.image_size, interpolation=config.interpolation, draft=draft,
                              action_space=config.action_space if conditioned else None,
                              action_dim=config.action_dim if conditioned else None)
    return ImageFolderSource(path, image_size=config.image_size, interpolation=config.interpolation, draft=draft)


def bad_input_reason(exc: BaseException) -> str:
    """One line saying why an input was skipped."""
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_bad_input(exc: BaseException) -> bool:
    """Whether ``exc`` says an input file is unreadable (recorded and skipped) rather than a bug (raised)."""
    from PIL.Image import DecompressionBombError

    return isinstance(exc, BAD_INPUT_ERRORS + (_BadView, IntegrityError, DecompressionBombError))
