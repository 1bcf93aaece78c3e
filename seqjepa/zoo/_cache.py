"""seqjepa's corner of the Hugging Face cache: resolution records, converted weights, locks.

Everything lives under ``<hub cache>/seqjepa/`` so that copying the one Hugging Face cache
directory to an air-gapped machine carries the downloads, the conversions and the records that
pin them. What huggingface_hub itself keeps there (snapshots, refs, blobs) is read only through
its public API (``try_to_load_from_cache``, ``scan_cache_dir``). Environment variables are read
at call time, not at import.

The resolver asks this module once per resolution, with :func:`lookup`, which reads everything the
cache knows about a name in one go (the resolution record, the cached files it names, the
conversion, the snapshot a revision points to) into a :class:`CacheView`; it then writes through
:func:`claim` (an inter-process lock with the record re-read under it) or :func:`store`. Calls go
one way: nothing here imports or calls the resolver.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional, Union

from ..utils.files import atomic_write_text
from ..version import __version__

__all__ = ["CacheView", "Claim", "lookup", "claim", "store", "read_record", "remove_cached_file", "RECORD_FORMAT_VERSION"]

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
        path = Path(os.path.expanduser(os.fspath(cache_dir))).resolve()
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"cache_dir: {path} is a file; expected the directory of a Hugging Face cache")
        return path
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


def cached_file(cache: Path, repo_id: str, filename: str, revision: str) -> Optional[Path]:
    """The cached copy of ``repo_id@revision/filename`` (a branch, tag or commit), or None; no network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=str(cache), revision=revision, repo_type="model")
    if isinstance(found, str) and os.path.isfile(found):
        return Path(found)
    return None


def cached_revision(cache: Path, repo_id: str, revision: str) -> Optional[tuple[str, dict[str, Path]]]:
    """``(commit, {file name: path})`` of the cached snapshot a branch, tag or commit points to, or None."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.utils import CacheNotFound

    try:
        info = scan_cache_dir(str(cache))
    except (CacheNotFound, OSError, ValueError):
        return None
    for repo in info.repos:
        if repo.repo_type != "model" or repo.repo_id != repo_id:
            continue
        for rev in repo.revisions:
            if rev.commit_hash == revision or revision in rev.refs:
                files = {Path(f.file_path).relative_to(rev.snapshot_path).as_posix(): Path(f.file_path) for f in rev.files}
                return rev.commit_hash, {n: files[n] for n in sorted(files) if os.path.isfile(files[n])}
    return None


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


# --------------------------------------------------------------------------- the resolver's one question
@dataclass(frozen=True)
class CacheView:
    """Everything the cache holds for one name at one requested revision, read by :func:`lookup`."""

    root: Path  # the Hugging Face hub cache directory
    offline: bool  # whether downloading is forbidden
    key: str  # the name the record is kept under
    repo: str
    revision: Optional[str]  # the requested revision (None: the card's pin or main)
    record: Optional[dict[str, Any]] = None  # the resolution record of an earlier load of this repo
    files: dict[str, Path] = field(default_factory=dict)  # the cached files the record names, at its commit
    converted: Optional[Path] = None  # the record's converted directory, where it exists
    snapshot: Optional[tuple[str, dict[str, Path]]] = None  # (commit, cached files) that ``revision or main`` points to


def _recorded_names(record: Mapping[str, Any]) -> list[str]:
    if isinstance(record.get("files"), dict):
        return [f for f in record["files"] if isinstance(f, str)]
    return [record["filename"]] if isinstance(record.get("filename"), str) else []


def lookup(
    key: str,
    *,
    repo: str,
    revision: Optional[str],
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    refresh: bool = False,
    pinned_sha256: Optional[str] = None,
    converted_files: tuple[str, ...] = (),
) -> CacheView:
    """Read what the cache knows about ``key`` (a record for ``repo``) at the requested ``revision``, in one go.

    ``refresh`` ignores the cache (nothing is read). ``converted`` is set where the record's
    conversion (which it names with a sha256) holds every one of ``converted_files``. The cached snapshot that ``revision or "main"``
    points to is looked up (a scan of the cache) only when the record cannot serve on its own: there
    is none, a file it names left the cache, or it disagrees with ``pinned_sha256``.
    """
    root, offline = hub_cache_dir(cache_dir), offline_mode(local_files_only)
    if refresh:
        return CacheView(root, offline, key, repo, revision)
    record = read_record(root, key, revision)
    if record is not None and record.get("repo") != repo:
        record = None
    files: dict[str, Path] = {}
    converted = None
    commit = record.get("commit") if record is not None else None
    if isinstance(commit, str):
        for name in _recorded_names(record):
            try:
                path = cached_file(root, repo, name, commit)
            except ValueError:  # a malformed name in a hand-edited record: it cannot serve
                path = None
            if path is not None:
                files[name] = path
        conv = converted_dir(root, key, commit)
        if converted_files and (record.get("converted") or {}).get("sha256") and all((conv / f).is_file() for f in converted_files):
            converted = conv
    names = _recorded_names(record) if record is not None else []
    serves = (
        isinstance(commit, str) and bool(names) and (converted is not None or len(files) == len(names))
        and not (pinned_sha256 and record.get("sha256") != pinned_sha256)
    )
    snapshot = None if serves else cached_revision(root, repo, revision or "main")
    return CacheView(root, offline, key, repo, revision, record, files, converted, snapshot)


@dataclass
class Claim:
    """Held while a name's files are converted and its record written: the record as it is under the lock."""

    view: CacheView
    record: Optional[dict[str, Any]]
    converted: Path  # where the conversion of this commit goes

    def store(self, record: dict[str, Any]) -> Path:
        """Write ``record`` as the name's resolution record (under the lock this claim holds)."""
        return write_record(self.view.root, self.view.key, self.view.revision, record)


@contextmanager
def claim(view: CacheView, commit: str) -> Iterator[Claim]:
    """Lock ``view``'s name at ``commit`` against other processes; yields the record re-read under the lock."""
    with cache_lock(view.root, f"{view.key}--{commit}"):
        yield Claim(view, read_record(view.root, view.key, view.revision), converted_dir(view.root, view.key, commit))


def store(view: CacheView, commit: str, record: dict[str, Any]) -> Path:
    """Write ``record`` as ``view``'s resolution record, under the lock of ``commit``."""
    with cache_lock(view.root, f"{view.key}--{commit}"):
        return write_record(view.root, view.key, view.revision, record)
