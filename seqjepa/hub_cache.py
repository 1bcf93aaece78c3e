"""seqjepa's corner of the Hugging Face cache: resolution records, converted weights, locks.

Everything lives under ``<hub cache>/seqjepa/`` so that copying the one Hugging Face cache
directory to an air-gapped machine carries the downloads, the conversions and the records that
pin them. Environment variables are read at call time, not at import.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from .fileio import atomic_write_text

__all__ = [
    "RECORD_FORMAT_VERSION",
    "hub_cache_dir",
    "offline_mode",
    "seqjepa_dir",
    "record_path",
    "read_record",
    "write_record",
    "converted_dir",
    "cache_lock",
    "repo_cache_folder",
    "local_commit",
    "remove_cached_file",
    "git_blob_sha1",
]

RECORD_FORMAT_VERSION = 1
_TRUE = {"1", "on", "yes", "true"}
_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]")

PathLike = Union[str, "os.PathLike[str]"]


def offline_mode(local_files_only: Optional[bool] = None) -> bool:
    """``local_files_only`` if given, else ``HF_HUB_OFFLINE`` (or ``TRANSFORMERS_OFFLINE``) read now."""
    if local_files_only is not None:
        return bool(local_files_only)
    value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.strip().lower() in _TRUE


def hub_cache_dir(cache_dir: Optional[PathLike] = None) -> Path:
    """The Hugging Face hub cache: ``cache_dir``, else ``HF_HUB_CACHE``, else ``$HF_HOME/hub`` (read now)."""
    if cache_dir is not None:
        return Path(os.path.expanduser(os.fspath(cache_dir))).resolve()
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.path.expanduser(os.environ["HF_HUB_CACHE"])).resolve()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "huggingface"
    )
    return (Path(os.path.expanduser(home)) / "hub").resolve()


def seqjepa_dir(cache: Path) -> Path:
    return cache / "seqjepa"


def _safe(text: str) -> str:
    cleaned = _SAFE_RE.sub("_", text)
    if cleaned != text:  # keep distinct inputs distinct after cleaning
        cleaned += "-" + hashlib.sha256(text.encode()).hexdigest()[:8]
    return cleaned


def record_path(cache: Path, key: str, revision: Optional[str]) -> Path:
    """Where the resolution record of (``key``, requested ``revision``) lives."""
    return seqjepa_dir(cache) / "records" / _safe(key) / f"{_safe(revision or 'default')}.json"


def read_record(cache: Path, key: str, revision: Optional[str]) -> Optional[dict[str, Any]]:
    """The resolution record, or None if there is none or it is unreadable (it is then re-resolved)."""
    path = record_path(cache, key, revision)
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("record_format_version") != RECORD_FORMAT_VERSION:
        return None
    return record


def write_record(cache: Path, key: str, revision: Optional[str], record: dict[str, Any]) -> Path:
    """Atomically write a resolution record (what name + revision resolved to, with hashes)."""
    from .version import __version__

    document = {
        "record_format_version": RECORD_FORMAT_VERSION,
        "seqjepa_version": __version__,
        "resolved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **record,
    }
    path = record_path(cache, key, revision)
    atomic_write_text(path, json.dumps(document, indent=2, sort_keys=True) + "\n")
    return path


def converted_dir(cache: Path, name: str, commit: str) -> Path:
    """Where the safetensors conversion of an official checkpoint at ``commit`` is kept."""
    return seqjepa_dir(cache) / "converted" / _safe(name) / _safe(commit)


@contextmanager
def cache_lock(cache: Path, key: str, timeout: float = 600.0) -> Iterator[None]:
    """An inter-process lock for one model's conversion and record writes."""
    from filelock import FileLock

    path = seqjepa_dir(cache) / ".locks" / f"{_safe(key)}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path), timeout=timeout):
        yield


def repo_cache_folder(cache: Path, repo_id: str) -> Path:
    """huggingface_hub's folder for a model repo: ``models--org--name``."""
    return cache / ("models--" + repo_id.replace("/", "--"))


def local_commit(cache: Path, repo_id: str, revision: str) -> Optional[str]:
    """The commit a revision points to in the local cache (a commit is itself), or None."""
    if re.fullmatch(r"[0-9a-f]{40}", revision):
        return revision
    ref = repo_cache_folder(cache, repo_id) / "refs" / revision
    try:
        commit = ref.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return commit if re.fullmatch(r"[0-9a-f]{40}", commit) else None


def remove_cached_file(path: PathLike) -> list[str]:
    """Delete a cached file: the snapshot entry and, when it is a link, the blob it points to."""
    removed = []
    p = Path(path)
    target = Path(os.path.realpath(p)) if p.is_symlink() else None
    for item in (p, target):
        if item is None:
            continue
        try:
            item.unlink()
            removed.append(str(item))
        except FileNotFoundError:
            pass
    return removed


def git_blob_sha1(path: PathLike) -> str:
    """Git's object id of a file (sha1 of ``blob <size>\\0<content>``): the Hub's id of non-LFS files."""
    p = Path(path)
    digest = hashlib.sha1(f"blob {p.stat().st_size}\0".encode())
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
