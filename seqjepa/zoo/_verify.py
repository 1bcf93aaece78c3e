"""Checks on downloaded and cached files before anything deserializes them.

Each check reads the file once and hands back the bytes it hashed, so what is verified is what
gets loaded. A file that fails is removed from the cache (snapshot entry and blob) so the next
load fetches it again.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from pathlib import Path
from typing import Any, Mapping, Optional

from ..errors import IntegrityError, UnverifiedWeightsWarning
from ..utils.files import check_safetensors_bytes, sha256_bytes, sha256_mismatch
from ._cache import remove_cached_file

__all__ = ["VerifiedFile", "verify_file", "verify_weights_file", "blob_sha256", "git_blob_sha1"]


class VerifiedFile:
    """A file's bytes and their sha256, read once."""

    __slots__ = ("path", "data", "sha256")

    def __init__(self, path: Path, data: bytes, sha256: str) -> None:
        self.path, self.data, self.sha256 = path, data, sha256

    @property
    def size(self) -> int:
        return len(self.data)


def git_blob_sha1(data: bytes) -> str:
    """Git's object id of some bytes (sha1 of ``blob <size>\\0<content>``): the Hub's id of non-LFS files."""
    digest = hashlib.sha1(f"blob {len(data)}\0".encode())
    digest.update(data)
    return digest.hexdigest()


def verify_file(
    path: Path, expected: Mapping[str, Any], *, what: str, remove: bool = True, safetensors: bool = False
) -> VerifiedFile:
    """Check size, then sha256 (or git blob id) of ``path``'s bytes; returns them with their sha256.

    ``expected`` may hold ``size``, ``sha256`` and ``git_sha1``; with no hash at all the file is
    used with an :class:`~seqjepa.errors.UnverifiedWeightsWarning` naming its sha256. With
    ``safetensors`` the format is checked first (an LFS pointer or a cut file is named as such).
    """
    with open(path, "rb") as fh:
        data = fh.read()
    if safetensors:
        try:
            check_safetensors_bytes(data, where=str(path))
        except IntegrityError as exc:
            _fail(str(exc), path, remove)
    problem = None
    if expected.get("size") is not None and len(data) != expected["size"]:
        problem = f"{what} {path} is {len(data)} bytes, expected {expected['size']} (truncated or replaced)"
    actual = sha256_bytes(data)
    if problem is None and expected.get("sha256") and actual != expected["sha256"].lower():
        problem = sha256_mismatch(what, str(path), actual, expected["sha256"])
    if problem is None and not expected.get("sha256") and expected.get("git_sha1"):
        blob = git_blob_sha1(data)
        if blob != expected["git_sha1"].lower():
            problem = f"{what} {path} has git blob id {blob}, the Hub announced {expected['git_sha1'].lower()}"
    if problem is not None:
        _fail(problem, path, remove)
    if not expected.get("sha256") and not expected.get("git_sha1"):
        warnings.warn(
            f"{what} {path} has no known hash to check (not pinned in a card, no resolution record, no Hub "
            f"metadata); its sha256 is {actual}",
            UnverifiedWeightsWarning,
            stacklevel=3,
        )
    return VerifiedFile(path, data, actual)


def verify_weights_file(path: Path, expected: Mapping[str, Any], *, remove: bool = True) -> VerifiedFile:
    """:func:`verify_file` for weights; a ``.safetensors`` file gets the format checks first."""
    return verify_file(path, expected, what="weights", remove=remove, safetensors=path.suffix == ".safetensors")


def _fail(problem: str, path: Path, remove: bool) -> None:
    removed = remove_cached_file(path) if remove else []
    raise IntegrityError(
        problem + (f"; removed it from the cache ({', '.join(removed)}) so the next load fetches it again" if removed else "")
    )


def blob_sha256(path: Path) -> Optional[str]:
    """The sha256 huggingface_hub stored an LFS file under (its blob name is the Hub's ETag), if any."""
    if not path.is_symlink():
        return None
    blob = Path(os.path.realpath(path)).name
    return blob if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob) else None
