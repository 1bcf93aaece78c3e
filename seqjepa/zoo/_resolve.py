"""Named models from the Hugging Face Hub: resolve -> cache first -> download -> verify -> convert.

Three kinds of names are resolved here:

* a registry name whose weights ship inside the package (pinned by the card's sha256);
* a registry name whose card points at a Hub file: pinned (revision + filename + sha256) or given
  by a documented ``file_pattern`` that is matched against the repository's file list;
* ``hf-hub:org/repo[@revision]`` for a repository in our layout (config.json + model.safetensors).

Every file is hashed before it is deserialized: against the card's pin, else the resolution
record written when it was first fetched, else the hash the Hub announced for it (LFS sha256, or
git blob id for small files). A mismatching file is deleted from the cache and reported with both
hashes. What a name resolved to (commit, file, sha256) is written to a small JSON record in the
cache, so later loads are pinned and need no network. The cache is asked once per resolution
(:func:`seqjepa.zoo._cache.lookup`) and written through a claim on it; it never calls back.

This module moves files only. It never imports the model class or the factory: converting an
official checkpoint builds the model through the ``model_class`` its caller passes.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from ..errors import IntegrityError, WeightsNotAvailableError
from ..utils.files import sha256_bytes
from . import _cache as hc
from ._hub_api import HubContext, default_endpoint, fetch_file, repo_files
from ._convert_official import convert_to_directory
from .registry import HUB_PREFIX, ModelCard, get_pretrained_cfg, parse_hub_name, validate_repo_filename, validate_revision
from ._serialization import CONFIG_NAME, WEIGHTS_NAME
from ._verify import blob_sha256, verify_file, verify_weights_file

__all__ = ["Resolution", "resolve", "package_resolution", "package_file", "match_pattern"]

PathLike = Union[str, "os.PathLike[str]"]


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


# --------------------------------------------------------------------------- public entry points
def resolve(
    name: str,
    *,
    model_class: type,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    refresh: bool = False,
) -> Resolution:
    """Resolve a Hub-backed registry name or ``hf-hub:org/repo[@revision]`` to verified files in the cache.

    ``refresh=True`` ignores an earlier resolution record and asks the Hub again. An official
    checkpoint is converted once (as ``model_class``) and the safetensors result is cached.

    Raises:
        WeightsNotAvailableError: neither cached nor downloadable (offline: in well under a second).
        IntegrityError: a file's hash or format is wrong; it was removed from the cache unread.
        ValueError: a malformed name or revision (an unknown name is an UnknownModelError).
    """
    if not isinstance(name, str):
        raise ValueError(f"name: expected a model name, got {type(name).__name__}")
    validate_revision(revision)
    if name.startswith(HUB_PREFIX):
        return _resolve_hub_repo(name, revision, cache_dir, local_files_only, refresh=refresh)
    card = get_pretrained_cfg(name)
    if card.source.kind == "package":
        if revision is not None:
            raise ValueError(f"revision: {card.name!r} ships inside the package and has no revisions")
        return package_resolution(card)
    return _resolve_card(card, revision, cache_dir, local_files_only, refresh=refresh, model_class=model_class)


# --------------------------------------------------------------------------- package cards
def package_resolution(card: ModelCard) -> Resolution:
    """What a package card resolves to: its file inside the installed package, pinned by the card."""
    path = package_file(card)
    return Resolution(
        name=card.name, repo="(package)", requested_revision=None, commit="(package)",
        format="safetensors", files={path.name: {"sha256": card.source.sha256, "size": card.source.size}},
        weights_path=str(path), verified_against="card", from_cache=True,
    )


def package_file(card: ModelCard) -> Path:
    """The weights file a package card names, inside the package's weights directory."""
    from . import registry

    filename = card.source.filename or ""
    base = registry.WEIGHTS_DIR.resolve()
    path = (base / filename).resolve()
    if path.parent != base:
        raise ValueError(f"card {card.name!r}: source.filename {filename!r} leaves the package weights directory")
    if not path.is_file():
        raise WeightsNotAvailableError(
            f"weights for {card.name!r} are not available: {path} is missing from the installed package "
            "(reinstall seqjepa; in a source checkout the file may not have been fetched with git lfs)"
        )
    return path


# --------------------------------------------------------------------------- helpers
def _context(label: str, view: hc.CacheView) -> HubContext:
    return HubContext(label=label, repo=view.repo, revision=view.revision, cache=view.root, offline=view.offline,
                      endpoint=default_endpoint())


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
def _resolve_card(card: ModelCard, revision, cache_dir, local_files_only, *, refresh: bool, model_class: type) -> Resolution:
    src = card.source
    requested = revision or src.revision
    pinned = src.sha256 if (src.revision and requested == src.revision) else None
    view = hc.lookup(card.name, repo=src.repo or "", revision=requested, cache_dir=cache_dir,
                     local_files_only=local_files_only, refresh=refresh, pinned_sha256=pinned,
                     converted_files=(CONFIG_NAME, WEIGHTS_NAME))
    ctx = _context(card.name, view)
    file_label = src.filename or f"matching {src.file_pattern!r}"

    # 1. a resolution record from an earlier load: everything is known, no network needed
    record = view.record
    if record is not None:
        res = _from_record(card, ctx, view, pinned, model_class)
        if res is not None:
            return res

    # 2. the cache without a record (a pinned card, or a cache copied by hand)
    if view.snapshot is not None:
        commit, cached = view.snapshot
        filename = src.filename or _match_cached(ctx, commit, list(cached), src.file_pattern)
        path = cached.get(filename) if filename else None
        if path is not None:
            expected = {"sha256": pinned or blob_sha256(path), "size": src.size if pinned else None}
            how = "card" if pinned else ("cache-blob-name" if expected["sha256"] else "none")
            return _finish_card(card, ctx, view, commit, filename, path, expected, how, from_cache=True,
                                model_class=model_class)

    # 3. the network
    if ctx.offline:
        raise ctx.not_available(file_label, "it is not in the cache and offline mode forbids downloading")
    # a recorded resolution whose files left the cache is fetched again at the recorded commit
    pinned_commit = record["commit"] if record is not None else None
    commit, files = repo_files(ctx, file_label, pinned_commit)
    if src.filename:
        filename = src.filename
        if filename not in files:
            raise ctx.not_available(filename, f"{filename!r} is not in {ctx.repo}@{commit}")
    else:
        try:
            filename = match_pattern(src.file_pattern or "", list(files), what=f"{card.name} ({ctx.repo}@{commit})")
        except WeightsNotAvailableError as exc:
            raise ctx.not_available(file_label, str(exc)) from None
    announced = files[filename]
    if pinned and announced.get("sha256") and announced["sha256"] != pinned:
        raise IntegrityError(
            f"{ctx.repo}@{commit}/{filename}: the Hub announces sha256 {announced['sha256']} but the card for "
            f"{card.name!r} pins {pinned}; nothing was downloaded"
        )
    expected = {"sha256": pinned or announced.get("sha256"), "git_sha1": announced.get("git_sha1"), "size": announced.get("size")}
    path = fetch_file(ctx, filename, commit)
    how = "card" if pinned else "hub"
    return _finish_card(card, ctx, view, commit, filename, path, expected, how, from_cache=False, model_class=model_class)


def _match_cached(ctx: HubContext, commit: str, names: list[str], pattern: Optional[str]) -> Optional[str]:
    if pattern is None:
        return None
    try:
        return match_pattern(pattern, names, what=f"{ctx.label} (cached {ctx.repo}@{commit})")
    except WeightsNotAvailableError:
        return None


def _from_record(card: ModelCard, ctx: HubContext, view: hc.CacheView, pinned: Optional[str],
                 model_class: type) -> Optional[Resolution]:
    record = view.record or {}
    try:
        commit, filename, sha = record["commit"], record["filename"], record["sha256"]
        validate_repo_filename(filename)
    except (KeyError, ValueError, TypeError):
        return None
    if pinned and sha != pinned:
        return None  # the card moved on: resolve again
    if card.source.format == "official-pth":
        conv = record.get("converted") or {}
        if conv.get("sha256") and view.converted is not None:
            return _converted_resolution(card, ctx, commit, filename, record, view.converted, conv["sha256"], from_cache=True)
    path = view.files.get(filename)
    if path is None:
        return None
    expected = {"sha256": sha, "size": record.get("size")}
    return _finish_card(card, ctx, view, commit, filename, path, expected, record.get("verified_against", "record"),
                        from_cache=True, model_class=model_class)


def _finish_card(card: ModelCard, ctx: HubContext, view: hc.CacheView, commit: str, filename: str, path: Path,
                 expected, how: str, *, from_cache: bool, model_class: type) -> Resolution:
    """Verify the source file, convert it if it is an official .pth, write the record."""
    name, fmt = card.name, card.source.format
    with hc.claim(view, commit) as held:
        if fmt == "safetensors":
            verified = verify_weights_file(path, expected)
            record = {"kind": "card", "name": name, "repo": ctx.repo, "requested_revision": ctx.revision,
                      "commit": commit, "filename": filename, "sha256": verified.sha256, "size": verified.size,
                      "format": fmt, "verified_against": how}
            held.store(record)
            return Resolution(
                name=name, repo=ctx.repo, requested_revision=ctx.revision, commit=commit, format=fmt,
                files={filename: {"sha256": verified.sha256, "size": verified.size}}, weights_path=str(path),
                verified_against=how, from_cache=from_cache,
            )
        conv_dir, existing = held.converted, held.record
        if (
            existing is not None and existing.get("commit") == commit and existing.get("filename") == filename
            and (existing.get("converted") or {}).get("sha256") and (conv_dir / WEIGHTS_NAME).is_file()
            and (conv_dir / CONFIG_NAME).is_file() and (not expected.get("sha256") or existing.get("sha256") == expected["sha256"])
        ):  # another process converted it while we waited for the lock
            return _converted_resolution(card, ctx, commit, filename, existing, conv_dir, existing["converted"]["sha256"], from_cache)
        verified = verify_file(path, expected, what="official checkpoint")
        conv_sha = _convert(card, path, verified.sha256, conv_dir, model_class=model_class,
                            source={"repo": ctx.repo, "commit": commit, "filename": filename, "sha256": verified.sha256})
        record = {"kind": "card", "name": name, "repo": ctx.repo, "requested_revision": ctx.revision,
                  "commit": commit, "filename": filename, "sha256": verified.sha256, "size": verified.size,
                  "format": fmt, "verified_against": how,
                  "converted": {"path": conv_dir.relative_to(ctx.cache).as_posix(), "sha256": conv_sha}}
        held.store(record)
        return _converted_resolution(card, ctx, commit, filename, record, conv_dir, conv_sha, from_cache)


def _converted_resolution(card: ModelCard, ctx, commit, filename, record, conv_dir: Path, conv_sha: str, from_cache: bool) -> Resolution:
    return Resolution(
        name=card.name, repo=ctx.repo, requested_revision=ctx.revision, commit=commit,
        format=card.source.format,
        files={filename: {"sha256": record["sha256"], "size": record.get("size")},
               f"converted/{WEIGHTS_NAME}": {"sha256": conv_sha}},
        model_dir=str(conv_dir), verified_against=record.get("verified_against", "record"), from_cache=from_cache,
    )


def _convert(card: ModelCard, pth: Path, sha256: str, out_dir: Path, *, model_class: type, source: Mapping[str, Any]) -> str:
    """Official .pth -> config.json + model.safetensors (weights_only unpickling; the card's config)."""
    overrides = {k: v for k, v in card.config.to_dict().items() if k != "config_format_version"}
    metadata = {
        "name": card.name, "description": card.description, "license": card.license,
        "source": f"{source['repo']}@{source['commit']}/{source['filename']}", "source_sha256": source["sha256"],
        "converted_from": "official seq-JEPA checkpoint",
    }
    _, digest = convert_to_directory(pth, out_dir, model_class=model_class, metadata=lambda _: metadata, overrides=overrides,
                                     expected_sha256=sha256)
    return digest


# --------------------------------------------------------------------------- hf-hub:org/repo
def _resolve_hub_repo(name, revision, cache_dir, local_files_only, *, refresh: bool) -> Resolution:
    repo, name_revision = parse_hub_name(name)
    if revision is not None and name_revision is not None and revision != name_revision:
        raise ValueError(f"revision: {revision!r} contradicts the revision in the name {name!r}")
    requested = revision or name_revision
    label = f"{HUB_PREFIX}{repo}"
    view = hc.lookup(label, repo=repo, revision=requested, cache_dir=cache_dir, local_files_only=local_files_only,
                     refresh=refresh)
    ctx = _context(label, view)
    wanted = (CONFIG_NAME, WEIGHTS_NAME)

    record = view.record
    if record is not None and isinstance(record.get("files"), dict):
        paths = {f: view.files.get(f) for f in wanted}
        if all(paths.values()) and all(f in record["files"] for f in wanted):
            for f in wanted:
                verify_file(paths[f], record["files"][f], what=f)
            return _hub_resolution(ctx, record["commit"], record["files"], paths, "record", from_cache=True)

    if view.snapshot is not None:
        commit, cached = view.snapshot
        paths = {f: cached.get(f) for f in wanted}
        if all(paths.values()):
            # a hand-copied cache has no record: config.json's own record of the weights' sha256 checks them
            metas = {}
            for f, p in paths.items():
                known = blob_sha256(p) if f == WEIGHTS_NAME else None
                if known:
                    sha = verify_file(p, {"sha256": known}, what=f).sha256
                else:
                    with open(p, "rb") as fh:
                        sha = sha256_bytes(fh.read())
                metas[f] = {"sha256": sha, "size": p.stat().st_size, "verified": bool(known)}
            return _hub_resolution(ctx, commit, metas, paths, "config.json", from_cache=True)

    if ctx.offline:
        raise ctx.not_available(WEIGHTS_NAME, "it is not in the cache and offline mode forbids downloading")
    pinned_commit = record["commit"] if record is not None else None
    commit, files = repo_files(ctx, WEIGHTS_NAME, pinned_commit)
    missing = [f for f in wanted if f not in files]
    if missing:
        raise ctx.not_available(
            missing[0], f"{repo}@{commit} is not a seqjepa repository: it lacks {', '.join(missing)} "
            f"(it has {', '.join(sorted(files)[:20]) or 'no files'})"
        )
    paths, metas = {}, {}
    for f in wanted:
        expected = {k: files[f].get(k) for k in ("sha256", "git_sha1", "size")}
        paths[f] = fetch_file(ctx, f, commit)
        verified = verify_file(paths[f], expected, what=f)
        metas[f] = {"sha256": verified.sha256, "size": verified.size, "verified": True}
    hc.store(view, commit, {
        "kind": "hf-hub", "name": label, "repo": repo, "requested_revision": requested, "commit": commit,
        "files": metas, "verified_against": "hub",
    })
    return _hub_resolution(ctx, commit, metas, paths, "hub", from_cache=False)


def _hub_resolution(ctx: HubContext, commit, metas, paths, how: str, *, from_cache: bool) -> Resolution:
    weights = paths[WEIGHTS_NAME]
    if paths[CONFIG_NAME].parent != weights.parent:  # pragma: no cover - same snapshot by construction
        raise IntegrityError(f"{CONFIG_NAME} and {WEIGHTS_NAME} of {ctx.repo}@{commit} are not in one snapshot")
    return Resolution(
        name=ctx.label, repo=ctx.repo, requested_revision=ctx.revision, commit=commit, format="safetensors",
        files={f: dict(m) for f, m in metas.items()}, model_dir=str(weights.parent), verified_against=how,
        from_cache=from_cache,
    )
