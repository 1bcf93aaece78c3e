"""Where an evaluation's numbers come from: the data root, a fingerprint of its index files, toy settings.

The fingerprint hashes the small index files of a 3DIEBench-layout root (image lists, labels and
the toy generator's ``toy.json``), never the images: cheap enough to run on every evaluation, and
enough to tell two data sets, two toy seeds or two splits apart.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import Any, Optional, Union

__all__ = ["INDEX_FILES", "data_fingerprint", "toy_settings", "describe_data"]

PathLike = Union[str, "os.PathLike[str]"]

_logger = logging.getLogger("seqjepa.eval")

#: The files :func:`data_fingerprint` hashes, in this order, when they exist in the root.
INDEX_FILES = ("train_images.npy", "train_labels.npy", "val_images.npy", "val_labels.npy", "toy.json")

_CHUNK = 1 << 20


def data_fingerprint(root: PathLike) -> dict[str, Any]:
    """sha256 over the index files of ``root`` that exist (see :data:`INDEX_FILES`).

    Each file contributes its name, its size and its bytes, so renaming or truncating one changes
    the hash. Returns ``{"sha256": hex or None, "files": [names hashed]}``; the hash is None when
    the root holds none of the files (an image-folder dataset, for instance).
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"root: {root} is not a directory")
    digest = hashlib.sha256()
    files = []
    for name in INDEX_FILES:
        path = base / name
        if not path.is_file():
            continue
        digest.update(f"{name}\0{path.stat().st_size}\0".encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(block)
        files.append(name)
    return {"sha256": digest.hexdigest() if files else None, "files": files}


def toy_settings(root: Optional[PathLike]) -> Optional[dict[str, Any]]:
    """The settings of a procedural toy data set under ``root``, or None for other data (the real 3DIEBench)."""
    if root is None:
        return None
    try:
        from ..data.synthetic import read_toy_settings
    except ImportError:  # the data package ships separately in development trees
        _logger.warning("seqjepa.data is not importable: %s is taken for real data without reading toy.json", root)
        return None
    return read_toy_settings(root)


def describe_data(root: Optional[PathLike], *, ood_root: Optional[PathLike] = None) -> dict[str, Any]:
    """The ``data`` record of a report: absolute roots, their fingerprints and the toy settings (or None)."""

    def one(path: Optional[PathLike]) -> "tuple[Optional[str], Optional[dict[str, Any]]]":
        if path is None:
            return None, None
        absolute = os.path.abspath(os.fspath(path))
        return absolute, (data_fingerprint(absolute) if os.path.isdir(absolute) else None)

    record: dict[str, Any] = {}
    record["root"], record["fingerprint"] = one(root)
    record["toy"] = toy_settings(root)
    if ood_root is not None:
        record["ood_root"], record["ood_fingerprint"] = one(ood_root)
    return record
