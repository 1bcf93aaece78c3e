"""Named models from the Hugging Face Hub: resolve -> cache first -> download -> verify -> convert -> load.

Three kinds of names reach :func:`load_named` (through :func:`seqjepa.load`):

* a registry name whose card points at a file inside the package (``source.kind == "package"``);
* a registry name whose card points at a Hub file: pinned (revision + filename + sha256) or given
  by a documented ``file_pattern`` that is matched against the repository's file list;
* ``hf-hub:org/repo[@revision]`` for a repository in our layout (config.json + model.safetensors).

Every file is hashed before it is deserialized: against the card's pin, else the resolution
record written when it was first fetched, else the hash the Hub announced for it (LFS sha256, or
git blob id for small files). A mismatching file is deleted from the cache and reported with both
hashes. What a name resolved to (commit, file, sha256) is written to a small JSON record in the
cache, so later loads are pinned and need no network. ``HF_HUB_OFFLINE``, ``HF_ENDPOINT`` and
``SEQJEPA_HUB_TIMEOUT`` are read at call time.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Optional, Union

import torch

from . import hub_cache as hc
from .errors import IntegrityError, WeightsNotAvailableError
from .fileio import check_safetensors_file, sha256_file
from .io import CONFIG_NAME, WEIGHTS_NAME, finalize, load_directory, model_from_state_dict, save_pretrained
from .registry import (
    HUB_PREFIX,
    get_pretrained_cfg,
    parse_hub_name,
    resolve_name,
    validate_repo_filename,
    validate_revision,
)

if TYPE_CHECKING:
    from .model import SeqJEPA

__all__ = [
    "Resolution",
    "load_named",
    "download",
    "push_to_hub",
    "export",
    "match_pattern",
    "default_endpoint",
    "UnverifiedWeightsWarning",
]

PathLike = Union[str, "os.PathLike[str]"]
_DEFAULT_ENDPOINT = "https://huggingface.co"
_DEFAULT_TIMEOUT = 10.0


class UnverifiedWeightsWarning(UserWarning):
    """A cached file was used although no hash was known to check it against."""


@dataclass
class Resolution:
    """What a name resolved to: enough to pin it in a card and to reload it with no network."""

    name: str
    repo: str
    requested_revision: Optional[str]
    commit: str
    format: str
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_dir: Optional[str] = None  # a directory with config.json + model.safetensors
    weights_path: Optional[str] = None  # bare weights (card safetensors sources)
    verified_against: str = "none"
    from_cache: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --------------------------------------------------------------------------- environment
def default_endpoint() -> str:
    """The Hub endpoint: ``HF_ENDPOINT`` read now (a mirror), else huggingface.co."""
    return (os.environ.get("HF_ENDPOINT") or _DEFAULT_ENDPOINT).rstrip("/")


def _timeout() -> float:
    raw = os.environ.get("SEQJEPA_HUB_TIMEOUT")
    if not raw:
        return _DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"SEQJEPA_HUB_TIMEOUT: expected seconds as a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"SEQJEPA_HUB_TIMEOUT: expected a positive number of seconds, got {raw!r}")
    return value


@contextmanager
def _network(allowed: bool) -> Iterator[None]:
    """Make huggingface_hub follow the offline decision taken now (it read HF_HUB_OFFLINE at import)."""
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = not allowed
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


@dataclass
class _Ctx:
    """One load's settings and what goes into its error messages."""

    label: str  # registry name or hf-hub:repo
    repo: str
    revision: Optional[str]
    cache: Path
    offline: bool
    endpoint: str

    def not_available(self, filename: str, why: str, cause: Optional[BaseException] = None) -> WeightsNotAvailableError:
        rev = self.revision or "main"
        fix = (
            f"To fix: on a machine with network run `seqjepa download {self.label}"
            + (f" --revision {self.revision}" if self.revision else "")
            + f"` (or `seqjepa.load({self.label!r})`), then copy its cache directory to {self.cache} here"
            " (or point HF_HUB_CACHE / cache_dir at the copy); behind a mirror set HF_ENDPOINT"
        )
        mode = "on (HF_HUB_OFFLINE or local_files_only)" if self.offline else "off"
        detail = f": {_one_line(cause)}" if cause is not None else ""
        return WeightsNotAvailableError(
            f"weights for {self.label!r} are not available: {why}{detail}. Looked for {self.repo}@{rev} file "
            f"{filename!r} in the cache {self.cache}; offline mode {mode}; endpoint {self.endpoint}. {fix}"
        )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


# --------------------------------------------------------------------------- public entry points
def load_named(
    name: str,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
) -> "SeqJEPA":
    """Load a registry name or ``hf-hub:org/repo[@revision]``: cache first, verified, strict, eval mode.

    Raises:
        WeightsNotAvailableError: neither cached nor downloadable (offline: in well under a second).
        IntegrityError: a file's hash or format is wrong; it was removed from the cache unread.
        ValueError: a malformed or unknown name (with suggestions).
    """
    if not isinstance(name, str):
        raise ValueError(f"name: expected a model name, got {type(name).__name__}")
    validate_revision(revision)
    if name.startswith(HUB_PREFIX):
        res = _resolve_hub_repo(name, revision, cache_dir, local_files_only, refresh=False)
        weights = res.files[WEIGHTS_NAME]
        # an unverified weights file (hand-copied cache) is checked against the sha256 in its config.json
        expected = weights["sha256"] if weights.get("verified", True) else None
        return load_directory(res.model_dir, device=device, dtype=dtype, expected_sha256=expected)
    card = get_pretrained_cfg(name)
    if card["source"]["kind"] == "package":
        if revision is not None:
            raise ValueError(f"revision: {card['name']!r} ships inside the package and has no revisions")
        return _load_package_card(card, device=device, dtype=dtype)
    res = _resolve_card(card, revision, cache_dir, local_files_only, refresh=False)
    return _load_resolution(card, res, device=device, dtype=dtype)


def download(
    name: str,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    refresh: bool = False,
) -> Resolution:
    """Fetch (and convert) a named model into the cache without building it; returns what it resolved.

    ``refresh=True`` ignores an earlier resolution record and asks the Hub again.
    """
    if not isinstance(name, str):
        raise ValueError(f"name: expected a model name, got {type(name).__name__}")
    validate_revision(revision)
    if name.startswith(HUB_PREFIX):
        return _resolve_hub_repo(name, revision, cache_dir, local_files_only, refresh=refresh)
    card = get_pretrained_cfg(name)
    if card["source"]["kind"] == "package":
        path = _package_file(card)
        return Resolution(
            name=card["name"], repo="(package)", requested_revision=None, commit="(package)",
            format="safetensors", files={path.name: {"sha256": card["source"]["sha256"], "size": path.stat().st_size}},
            weights_path=str(path), verified_against="card", from_cache=True,
        )
    return _resolve_card(card, revision, cache_dir, local_files_only, refresh=refresh)


# --------------------------------------------------------------------------- package cards
def _package_file(card: Mapping[str, Any]) -> Path:
    from .registry import WEIGHTS_DIR

    filename = card["source"]["filename"]
    base = WEIGHTS_DIR.resolve()
    path = (base / filename).resolve()
    if path.parent != base:
        raise ValueError(f"card {card['name']!r}: source.filename {filename!r} leaves the package weights directory")
    if not path.is_file():
        raise WeightsNotAvailableError(
            f"weights for {card['name']!r} are not available: {path} is missing from the installed package "
            "(reinstall seqjepa; in a source checkout the file may not have been fetched with git lfs)"
        )
    return path


def _load_package_card(card: Mapping[str, Any], *, device, dtype) -> "SeqJEPA":
    path = _package_file(card)
    _check_weights_file(path, {"sha256": card["source"]["sha256"], "size": card["source"].get("size")}, remove=False)
    return _build_from_weights(card, path, device=device, dtype=dtype)


def _build_from_weights(card: Mapping[str, Any], path: Path, *, device, dtype) -> "SeqJEPA":
    from safetensors.torch import load_file

    from .config import SeqJEPAConfig

    config = SeqJEPAConfig.from_dict(card["model"])
    model = model_from_state_dict(config, load_file(str(path), device="cpu"), source=str(path))
    return finalize(model, device=device, dtype=dtype)


# --------------------------------------------------------------------------- verification
def _verify(path: Path, expected: Mapping[str, Any], *, what: str, remove: bool = True) -> str:
    """Check size, then sha256 (or git blob id) before anything reads the file; returns its sha256.

    On a mismatch the file is removed from the cache (snapshot entry and blob) unless ``remove`` is False.
    """
    size = path.stat().st_size
    problem = None
    if expected.get("size") is not None and size != expected["size"]:
        problem = f"{what} {path} is {size} bytes, expected {expected['size']} (truncated or replaced)"
    actual = sha256_file(path)
    if problem is None and expected.get("sha256") and actual != expected["sha256"].lower():
        problem = (
            f"{what} {path} has sha256 {actual}, expected {expected['sha256'].lower()}: "
            "the file is corrupt, truncated or not the one that was pinned"
        )
    if problem is None and not expected.get("sha256") and expected.get("git_sha1"):
        blob = hc.git_blob_sha1(path)
        if blob != expected["git_sha1"].lower():
            problem = f"{what} {path} has git blob id {blob}, the Hub announced {expected['git_sha1'].lower()}"
    if problem is not None:
        removed = hc.remove_cached_file(path) if remove else []
        raise IntegrityError(problem + (f"; removed it from the cache ({', '.join(removed)}) so the next load fetches it again" if removed else ""))
    if not expected.get("sha256") and not expected.get("git_sha1"):
        warnings.warn(
            f"{what} {path} has no known hash to check (not pinned in a card, no resolution record, no Hub "
            f"metadata); its sha256 is {actual}",
            UnverifiedWeightsWarning,
            stacklevel=3,
        )
    return actual


def _check_weights_file(path: Path, expected: Mapping[str, Any], *, remove: bool = True) -> str:
    if path.suffix == ".safetensors":
        try:
            check_safetensors_file(path)
        except IntegrityError as exc:
            removed = hc.remove_cached_file(path) if remove else []
            raise IntegrityError(f"{exc}" + (f"; removed it from the cache ({', '.join(removed)})" if removed else "")) from None
    return _verify(path, expected, what="weights", remove=remove)


def _blob_sha256(path: Path) -> Optional[str]:
    """The sha256 huggingface_hub stored an LFS file under (its blob name = the Hub's ETag), if any."""
    if not path.is_symlink():
        return None
    blob = Path(os.path.realpath(path)).name
    return blob if len(blob) == 64 and all(c in "0123456789abcdef" for c in blob) else None


# --------------------------------------------------------------------------- Hub access
def _hub_files(ctx: _Ctx, filename_hint: str, revision: Optional[str] = None) -> tuple[str, dict[str, dict[str, Any]]]:
    """Ask the Hub for a revision's commit and file metadata (one API call; one retry on 5xx/network).

    ``revision`` defaults to the requested one; a recorded commit is passed to stay pinned.
    """
    revision = revision or ctx.revision
    from huggingface_hub import HfApi
    from huggingface_hub.errors import (
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    import httpx2

    api = HfApi(endpoint=ctx.endpoint, library_name="seqjepa")
    info = None
    for attempt in range(2):
        if attempt:
            time.sleep(0.5)
        try:
            with _network(True):
                info = api.model_info(ctx.repo, revision=revision, files_metadata=True, timeout=_timeout(), token=False)
            break
        except RepositoryNotFoundError as exc:
            raise ctx.not_available(filename_hint, f"the repository {ctx.repo} does not exist on {ctx.endpoint} (or is private)", exc) from exc
        except RevisionNotFoundError as exc:
            raise ctx.not_available(filename_hint, f"revision {revision!r} does not exist in {ctx.repo}", exc) from exc
        except HfHubHTTPError as exc:
            status = getattr(getattr(exc, "response", None), "status_code", None)
            if attempt or status is None or status < 500:  # only a 5xx is worth one more try
                raise ctx.not_available(filename_hint, "the Hub refused the request", exc) from exc
        except (httpx2.TimeoutException, OfflineModeIsEnabled) as exc:
            # a slow Hub stays slow: do not double the wait
            raise ctx.not_available(filename_hint, "the Hub could not be reached in time", exc) from exc
        except (httpx2.NetworkError, httpx2.RemoteProtocolError) as exc:
            if attempt:
                raise ctx.not_available(filename_hint, "the Hub could not be reached", exc) from exc
    assert info is not None
    commit = info.sha
    if not commit or len(commit) != 40:
        raise ctx.not_available(filename_hint, f"the Hub answered without a commit id for {ctx.repo}@{ctx.revision or 'main'}")
    files: dict[str, dict[str, Any]] = {}
    for sib in info.siblings or []:
        meta: dict[str, Any] = {"size": sib.size}
        if sib.lfs is not None:
            meta.update(sha256=sib.lfs.sha256, size=sib.lfs.size)
        elif sib.blob_id:
            meta["git_sha1"] = sib.blob_id
        files[sib.rfilename] = meta
    return commit, files


def _local_file(ctx: _Ctx, filename: str, commit: str) -> Optional[Path]:
    """The cached file of ``repo@commit`` (no network, whatever the mode), or None."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        with _network(False):
            return Path(
                hf_hub_download(ctx.repo, filename, revision=commit, cache_dir=str(ctx.cache), local_files_only=True)
            )
    except (LocalEntryNotFoundError, FileNotFoundError):
        return None


def _fetch(ctx: _Ctx, filename: str, commit: str, expected: Mapping[str, Any]) -> Path:
    """Download one file of ``repo@commit`` through huggingface_hub's cache."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError

    try:
        with _network(True):
            path = hf_hub_download(
                ctx.repo, filename, revision=commit, cache_dir=str(ctx.cache), endpoint=ctx.endpoint,
                etag_timeout=_timeout(), library_name="seqjepa", token=False,
            )
    except EntryNotFoundError as exc:
        raise ctx.not_available(filename, f"{filename!r} is not in {ctx.repo}@{commit}", exc) from exc
    except (HfHubHTTPError, OSError) as exc:
        if "Consistency check failed" in str(exc):
            raise IntegrityError(
                f"the download of {ctx.repo}@{commit}/{filename} was cut short ({_one_line(exc)}); nothing was "
                "kept; retry the load"
            ) from exc
        raise ctx.not_available(filename, "the download failed", exc) from exc
    except Exception as exc:  # httpx2 transport errors
        raise ctx.not_available(filename, "the download failed", exc) from exc
    return Path(path)


def match_pattern(pattern: str, filenames: list[str], *, what: str) -> str:
    """The one file name matching ``pattern`` (case-insensitive glob); else a clear error listing candidates."""
    hits = sorted(f for f in filenames if fnmatch.fnmatch(f.lower(), pattern.lower()))
    if len(hits) == 1:
        return hits[0]
    listing = ", ".join(sorted(filenames)[:30]) or "(no files)"
    if not hits:
        raise WeightsNotAvailableError(
            f"{what}: no file matches the pattern {pattern!r}; the files are: {listing}. "
            "Update source.file_pattern (or pin source.filename) in the model card"
        )
    raise WeightsNotAvailableError(
        f"{what}: the pattern {pattern!r} matches {len(hits)} files ({', '.join(hits)}); expected exactly one. "
        "Pin source.filename in the model card"
    )


# --------------------------------------------------------------------------- registry cards on the Hub
def _resolve_card(card, revision, cache_dir, local_files_only, *, refresh: bool) -> Resolution:
    src = card["source"]
    name = card["name"]
    requested = revision or src["revision"]
    ctx = _Ctx(
        label=name, repo=src["repo"], revision=requested, cache=hc.hub_cache_dir(cache_dir),
        offline=hc.offline_mode(local_files_only), endpoint=default_endpoint(),
    )
    file_label = src["filename"] or f"matching {src['file_pattern']!r}"
    pinned = src["sha256"] if (src["revision"] and requested == src["revision"]) else None

    # 1. a resolution record from an earlier load: everything is known, no network needed
    record = None if refresh else hc.read_record(ctx.cache, name, requested)
    if record is not None and record.get("repo") == ctx.repo:
        res = _from_record(card, ctx, record, pinned)
        if res is not None:
            return res

    # 2. the cache without a record (a pinned card, or a cache copied by hand)
    if not refresh:
        commit = hc.local_commit(ctx.cache, ctx.repo, requested or "main")
        if commit is not None:
            filename = src["filename"] or _match_local(ctx, commit, src["file_pattern"])
            path = _local_file(ctx, filename, commit) if filename else None
            if path is not None:
                expected = {"sha256": pinned or _blob_sha256(path), "size": src["size"] if pinned else None}
                how = "card" if pinned else ("cache-blob-name" if expected["sha256"] else "none")
                return _finish_card(card, ctx, commit, filename, path, expected, how, from_cache=True)

    # 3. the network
    if ctx.offline:
        raise ctx.not_available(file_label, "it is not in the cache and offline mode forbids downloading")
    # a recorded resolution whose files left the cache is fetched again at the recorded commit
    pinned_commit = record["commit"] if record is not None and record.get("repo") == ctx.repo else None
    commit, files = _hub_files(ctx, file_label, pinned_commit)
    if src["filename"]:
        filename = src["filename"]
        if filename not in files:
            raise ctx.not_available(filename, f"{filename!r} is not in {ctx.repo}@{commit}")
    else:
        try:
            filename = match_pattern(src["file_pattern"], list(files), what=f"{name} ({ctx.repo}@{commit})")
        except WeightsNotAvailableError as exc:
            raise ctx.not_available(file_label, str(exc)) from None
    announced = files[filename]
    if pinned and announced.get("sha256") and announced["sha256"] != pinned:
        raise IntegrityError(
            f"{ctx.repo}@{commit}/{filename}: the Hub announces sha256 {announced['sha256']} but the card for "
            f"{name!r} pins {pinned}; nothing was downloaded"
        )
    expected = {"sha256": pinned or announced.get("sha256"), "git_sha1": announced.get("git_sha1"), "size": announced.get("size")}
    path = _fetch(ctx, filename, commit, expected)
    how = "card" if pinned else "hub"
    return _finish_card(card, ctx, commit, filename, path, expected, how, from_cache=False)


def _match_local(ctx: _Ctx, commit: str, pattern: Optional[str]) -> Optional[str]:
    snapshot = hc.repo_cache_folder(ctx.cache, ctx.repo) / "snapshots" / commit
    if pattern is None or not snapshot.is_dir():
        return None
    names = [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*") if p.is_file()]
    try:
        return match_pattern(pattern, names, what=f"{ctx.label} (cached {ctx.repo}@{commit})")
    except WeightsNotAvailableError:
        return None


def _from_record(card, ctx: _Ctx, record: Mapping[str, Any], pinned: Optional[str]) -> Optional[Resolution]:
    try:
        commit, filename, sha = record["commit"], record["filename"], record["sha256"]
        validate_repo_filename(filename)
    except (KeyError, ValueError, TypeError):
        return None
    if pinned and sha != pinned:
        return None  # the card moved on: resolve again
    if card["source"]["format"] == "official-pth":
        conv = record.get("converted") or {}
        conv_dir = hc.converted_dir(ctx.cache, card["name"], commit)
        if conv.get("sha256") and (conv_dir / CONFIG_NAME).is_file() and (conv_dir / WEIGHTS_NAME).is_file():
            return _resolution(card, ctx, commit, filename, record, conv_dir, conv["sha256"], from_cache=True)
    path = _local_file(ctx, filename, commit)
    if path is None:
        return None
    expected = {"sha256": sha, "size": record.get("size")}
    return _finish_card(card, ctx, commit, filename, path, expected, record.get("verified_against", "record"), from_cache=True)


def _finish_card(card, ctx: _Ctx, commit: str, filename: str, path: Path, expected, how: str, *, from_cache: bool) -> Resolution:
    """Verify the source file, convert it if it is an official .pth, write the record."""
    name, fmt = card["name"], card["source"]["format"]
    with hc.cache_lock(ctx.cache, f"{name}--{commit}"):
        if fmt == "safetensors":
            sha = _check_weights_file(path, expected)
            record = {"kind": "card", "name": name, "repo": ctx.repo, "requested_revision": ctx.revision,
                      "commit": commit, "filename": filename, "sha256": sha, "size": path.stat().st_size,
                      "format": fmt, "verified_against": how}
            hc.write_record(ctx.cache, name, ctx.revision, record)
            return Resolution(
                name=name, repo=ctx.repo, requested_revision=ctx.revision, commit=commit, format=fmt,
                files={filename: {"sha256": sha, "size": record["size"]}}, weights_path=str(path),
                verified_against=how, from_cache=from_cache,
            )
        conv_dir = hc.converted_dir(ctx.cache, name, commit)
        existing = hc.read_record(ctx.cache, name, ctx.revision)
        if (
            existing is not None and existing.get("commit") == commit and existing.get("filename") == filename
            and (existing.get("converted") or {}).get("sha256") and (conv_dir / WEIGHTS_NAME).is_file()
            and (conv_dir / CONFIG_NAME).is_file() and (not expected.get("sha256") or existing.get("sha256") == expected["sha256"])
        ):  # another process converted it while we waited for the lock
            return _resolution(card, ctx, commit, filename, existing, conv_dir, existing["converted"]["sha256"], from_cache)
        sha = _verify(path, expected, what="official checkpoint")
        conv_sha = _convert(card, path, conv_dir, source={"repo": ctx.repo, "commit": commit, "filename": filename, "sha256": sha})
        record = {"kind": "card", "name": name, "repo": ctx.repo, "requested_revision": ctx.revision,
                  "commit": commit, "filename": filename, "sha256": sha, "size": path.stat().st_size,
                  "format": fmt, "verified_against": how,
                  "converted": {"path": conv_dir.relative_to(ctx.cache).as_posix(), "sha256": conv_sha}}
        hc.write_record(ctx.cache, name, ctx.revision, record)
        return _resolution(card, ctx, commit, filename, record, conv_dir, conv_sha, from_cache)


def _resolution(card, ctx, commit, filename, record, conv_dir: Path, conv_sha: str, from_cache: bool) -> Resolution:
    return Resolution(
        name=card["name"], repo=ctx.repo, requested_revision=ctx.revision, commit=commit,
        format=card["source"]["format"],
        files={filename: {"sha256": record["sha256"], "size": record.get("size")},
               f"converted/{WEIGHTS_NAME}": {"sha256": conv_sha}},
        model_dir=str(conv_dir), verified_against=record.get("verified_against", "record"), from_cache=from_cache,
    )


def _convert(card, pth: Path, out_dir: Path, *, source: Mapping[str, Any]) -> str:
    """Official .pth -> config.json + model.safetensors (weights_only unpickling; the card's config)."""
    from .convert import read_official_checkpoint

    overrides = {k: v for k, v in card["model"].items() if k != "config_format_version"}
    config, state, report = read_official_checkpoint(pth, overrides=overrides)
    model = model_from_state_dict(config, state, source=str(pth))
    metadata = {
        "name": card["name"], "description": card["description"], "license": card["license"],
        "source": f"{source['repo']}@{source['commit']}/{source['filename']}", "source_sha256": source["sha256"],
        "converted_from": "official seq-JEPA checkpoint", "dropped_keys": report.dropped_keys, "epoch": report.epoch,
    }
    save_pretrained(model, out_dir, metadata=metadata)
    return sha256_file(out_dir / WEIGHTS_NAME)


def _load_resolution(card, res: Resolution, *, device, dtype) -> "SeqJEPA":
    if res.model_dir is not None:
        conv_sha = res.files[f"converted/{WEIGHTS_NAME}"]["sha256"]
        try:
            return load_directory(res.model_dir, device=device, dtype=dtype, expected_sha256=conv_sha)
        except IntegrityError as exc:
            removed = [p for f in (WEIGHTS_NAME, CONFIG_NAME) for p in hc.remove_cached_file(Path(res.model_dir) / f)]
            raise IntegrityError(f"{exc}; removed the converted copy ({', '.join(removed)}): load again to reconvert") from exc
    return _build_from_weights(card, Path(res.weights_path), device=device, dtype=dtype)


# --------------------------------------------------------------------------- hf-hub:org/repo
def _resolve_hub_repo(name, revision, cache_dir, local_files_only, *, refresh: bool) -> Resolution:
    repo, name_revision = parse_hub_name(name)
    if revision is not None and name_revision is not None and revision != name_revision:
        raise ValueError(f"revision: {revision!r} contradicts the revision in the name {name!r}")
    requested = revision or name_revision
    label = f"{HUB_PREFIX}{repo}"
    ctx = _Ctx(label=label, repo=repo, revision=requested, cache=hc.hub_cache_dir(cache_dir),
               offline=hc.offline_mode(local_files_only), endpoint=default_endpoint())
    wanted = (CONFIG_NAME, WEIGHTS_NAME)

    record = None if refresh else hc.read_record(ctx.cache, label, requested)
    if record is not None and record.get("repo") == repo and isinstance(record.get("files"), dict):
        paths = {f: _local_file(ctx, f, record["commit"]) for f in wanted}
        if all(paths.values()) and all(f in record["files"] for f in wanted):
            for f in wanted:
                _verify(paths[f], record["files"][f], what=f)
            return _hub_resolution(ctx, record["commit"], record["files"], paths, "record", from_cache=True)

    if not refresh:
        commit = hc.local_commit(ctx.cache, repo, requested or "main")
        if commit is not None:
            paths = {f: _local_file(ctx, f, commit) for f in wanted}
            if all(paths.values()):
                expected = {f: {"sha256": _blob_sha256(p) if f == WEIGHTS_NAME else None} for f, p in paths.items()}
                # a hand-copied cache has no record: config.json's own record of the weights' sha256 checks them
                metas = {}
                for f, p in paths.items():
                    known = bool(expected[f]["sha256"])
                    metas[f] = {"sha256": _verify(p, expected[f], what=f) if known else sha256_file(p),
                                "size": p.stat().st_size, "verified": known}
                return _hub_resolution(ctx, commit, metas, paths, "config.json", from_cache=True)

    if ctx.offline:
        raise ctx.not_available(WEIGHTS_NAME, "it is not in the cache and offline mode forbids downloading")
    pinned_commit = record["commit"] if record is not None and record.get("repo") == repo else None
    commit, files = _hub_files(ctx, WEIGHTS_NAME, pinned_commit)
    missing = [f for f in wanted if f not in files]
    if missing:
        raise ctx.not_available(
            missing[0], f"{repo}@{commit} is not a seqjepa repository: it lacks {', '.join(missing)} "
            f"(it has {', '.join(sorted(files)[:20]) or 'no files'})"
        )
    paths, metas = {}, {}
    for f in wanted:
        expected = {k: files[f].get(k) for k in ("sha256", "git_sha1", "size")}
        paths[f] = _fetch(ctx, f, commit, expected)
        metas[f] = {"sha256": _verify(paths[f], expected, what=f), "size": paths[f].stat().st_size, "verified": True}
    with hc.cache_lock(ctx.cache, f"{label}--{commit}"):
        hc.write_record(ctx.cache, label, requested, {
            "kind": "hf-hub", "name": label, "repo": repo, "requested_revision": requested, "commit": commit,
            "files": metas, "verified_against": "hub",
        })
    return _hub_resolution(ctx, commit, metas, paths, "hub", from_cache=False)


def _hub_resolution(ctx: _Ctx, commit, metas, paths, how: str, *, from_cache: bool) -> Resolution:
    weights = paths[WEIGHTS_NAME]
    if paths[CONFIG_NAME].parent != weights.parent:  # pragma: no cover - same snapshot by construction
        raise IntegrityError(f"{CONFIG_NAME} and {WEIGHTS_NAME} of {ctx.repo}@{commit} are not in one snapshot")
    return Resolution(
        name=ctx.label, repo=ctx.repo, requested_revision=ctx.revision, commit=commit, format="safetensors",
        files={f: dict(m) for f, m in metas.items()}, model_dir=str(weights.parent), verified_against=how,
        from_cache=from_cache,
    )


# --------------------------------------------------------------------------- publishing
def export(
    model_or_name: Union["SeqJEPA", str, PathLike],
    out_dir: PathLike,
    *,
    include_target_encoder: bool = True,
    metadata: Optional[Mapping[str, Any]] = None,
    **load_kwargs: Any,
) -> Path:
    """Write model.safetensors + config.json + README.md (metrics, provenance, sha256, how to load).

    ``model_or_name`` is a model, a registry name, ``hf-hub:...`` or a local directory / .pth.
    A registry name's card supplies the README's description, metrics and provenance.
    """
    from .model import SeqJEPA

    meta: dict[str, Any] = {}
    if isinstance(model_or_name, SeqJEPA):
        model = model_or_name
    else:
        from .factory import is_local_path, load

        model = load(model_or_name, **load_kwargs)
        text = os.fspath(model_or_name)
        if not is_local_path(model_or_name) and not text.startswith(HUB_PREFIX):
            meta = card_metadata(get_pretrained_cfg(text))
            res = download(text, revision=load_kwargs.get("revision"), cache_dir=load_kwargs.get("cache_dir"),
                           local_files_only=load_kwargs.get("local_files_only"))
            src = next(iter(res.files.items()))
            meta["source"] = f"{res.repo}@{res.commit}/{src[0]}"
            meta["source_sha256"] = src[1]["sha256"]
        else:
            meta["source"] = text
    meta.update(metadata or {})
    save_pretrained(model, out_dir, include_target_encoder=include_target_encoder, metadata=meta)
    return Path(out_dir)


def card_metadata(card: Mapping[str, Any]) -> dict[str, Any]:
    """README metadata (name, description, license, metrics) taken from a registry card."""
    metrics = {}
    for row in card.get("reported", []):
        metrics[f"{row['metric']} ({row['setting']}), paper"] = f"{row['value']} [{row['source']}]"
    for row in card.get("measured", []):
        metrics[f"{row['metric']} ({row['setting']}), measured"] = f"{row['value']} [{row['source']}]"
    return {"name": card["name"], "description": card["description"], "license": card["license"], "metrics": metrics}


def push_to_hub(
    model: "SeqJEPA",
    repo_id: str,
    *,
    revision: Optional[str] = None,
    private: Optional[bool] = None,
    token: Optional[Union[str, bool]] = None,
    commit_message: str = "Upload seq-JEPA model",
    include_target_encoder: bool = True,
    metadata: Optional[Mapping[str, Any]] = None,
    api: Any = None,
) -> Any:
    """Upload ``model`` to the Hub as model.safetensors + config.json + README.md (one commit).

    ``api`` defaults to ``huggingface_hub.HfApi(endpoint=HF_ENDPOINT)``. Returns the upload's commit info.
    """
    from .registry import validate_repo_id

    validate_repo_id(repo_id)
    validate_revision(revision)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=default_endpoint(), library_name="seqjepa")
    with tempfile.TemporaryDirectory(prefix="seqjepa-push-") as tmp:
        save_pretrained(model, tmp, include_target_encoder=include_target_encoder, metadata=dict(metadata or {}))
        with _network(True):
            api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True, token=token)
            return api.upload_folder(
                repo_id=repo_id, folder_path=tmp, repo_type="model", revision=revision,
                commit_message=commit_message, token=token,
                allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, "README.md"],
            )
