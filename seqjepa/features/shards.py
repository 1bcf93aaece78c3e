"""The output directory of an extraction: safetensors shards, ``meta.json``, ``errors.jsonl``; and reading it back.

Layout::

    DIR/meta.json                 what was extracted with what (model, preprocessing, precision, source, ...)
    DIR/shard-00000.safetensors   source rows [0, S)
    DIR/shard-00001.safetensors   source rows [S, 2S)
    ...
    DIR/errors.jsonl              one JSON object per skipped row: {"row", "path" or "id", "reason", "shard"}

Shard k holds the source rows [k*S, (k+1)*S) that could be read, in order, with their source row
numbers in ``row``; the rows of that range that could not be read are recorded in the shard's own
metadata (so a shard and its error records are written together, atomically) and gathered into
``errors.jsonl`` when the run completes. Every shard is a pure function of (model, source, k): one
process and many write the same files, and a rerun skips shards that are already there.

Each file is written atomically (temporary file, fsync, rename): a killed run leaves finished shards
and at most a temporary ``.shard-*.tmp`` file, which the next run removes.

Nothing in the directory is trusted on its word. Each shard records, when it is written, its row
range and the sha256 of its tensor data; a rerun verifies a finished shard against both before it
skips it. The completed ``meta.json`` lists every shard (name, row range, row count, size, sha256 of
the file), and :func:`read_features` checks that list, and every field derived from the compared
identity, against the files before it returns anything (the hashes too with ``verify=True``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import logging

import numpy as np

from ..errors import IntegrityError
from ..utils.files import atomic_write_bytes, atomic_write_text, path_problem

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "META_NAME",
    "ERRORS_NAME",
    "Features",
    "read_features",
    "iter_shards",
    "shard_name",
]

FORMAT = "seqjepa-features"
FORMAT_VERSION = 2
META_NAME = "meta.json"
ERRORS_NAME = "errors.jsonl"
#: the run lock (seqjepa.train.checkpoint.RunLock) a running extraction holds, and its owner record
LOCK_NAMES = (".lock", ".lock.owner")
_META_KEY = "seqjepa_extract"
_SHARD_RE = re.compile(r"^shard-(\d{5,})\.safetensors$")
# the temporaries seqjepa.utils.files.atomic_open makes beside a shard: ".shard-00003.safetensors.<random>.tmp"
_SHARD_TMP_RE = re.compile(r"^\.shard-(\d{5,})\.safetensors\.[A-Za-z0-9_]+\.tmp$")
_OTHER_TMP_RE = re.compile(r"^\.(meta\.json|errors\.jsonl)\.[A-Za-z0-9_]+\.tmp$")
_CHUNK = 1 << 20
# what each layout names its rows by
_KEY_NAMES = {"images": "path", "sequences": "id", "dataset": "id"}
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}

PathLike = Union[str, "os.PathLike[str]"]

logger = logging.getLogger("seqjepa.features")

# The parts of meta.json a rerun must match, and how a mismatch is named in the refusal.
IDENTITY_FIELDS = {
    "model": "another model",
    "preprocessing": "another preprocessing",
    "precision": "another precision",
    "source": "another source",
    "shard_size": "another shard size",
    "outputs": "other outputs",
}


# Fields of meta.json that follow from the identity (and the format): a rerun rewrites a meta.json that
# disagrees on any of them, and read_features refuses one.
DERIVED_FIELDS = ("format", "format_version", "fingerprint", "identity", "preprocessing", "precision", "outputs",
                  "shard_size", "num_shards", "rows", "key_name", "classes")


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.safetensors"


# --------------------------------------------------------------------------- safetensors headers
def _read_header(path: Path) -> tuple[int, dict[str, Any]]:
    """(header length, header) of a safetensors file; ValueError if it is not a complete one."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path}: {size} bytes, too short to be a safetensors file")
        (hlen,) = struct.unpack("<Q", head)
        if hlen > size - 8:
            raise ValueError(f"{path}: truncated (header of {hlen} bytes in a {size}-byte file)")
        try:
            header = json.loads(fh.read(hlen))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: corrupt safetensors header: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path}: corrupt safetensors header")
    end = 0
    for key, entry in header.items():
        if key != "__metadata__":
            end = max(end, int(entry["data_offsets"][1]))
    if 8 + hlen + end > size:
        raise ValueError(f"{path}: truncated (its tensors need {8 + hlen + end} bytes, the file has {size})")
    return hlen, header


def shard_info(path: Path) -> dict[str, Any]:
    """The extraction record stored in a shard's metadata; ValueError if the file is not a valid shard."""
    _, header = _read_header(path)
    raw = (header.get("__metadata__") or {}).get(_META_KEY)
    if raw is None:
        raise ValueError(f"{path}: not a seqjepa feature shard (no '{_META_KEY}' metadata)")
    return json.loads(raw)


def _memmap(path: Path, hlen: int, entry: Mapping[str, Any]) -> np.ndarray:
    dtype = _DTYPES.get(entry["dtype"])
    if dtype is None:
        raise ValueError(f"{path}: tensor dtype {entry['dtype']} cannot be read as numpy")
    shape = tuple(int(s) for s in entry["shape"])
    start, stop = (int(o) for o in entry["data_offsets"])
    if stop == start:
        return np.empty(shape, dtype=dtype)
    return np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r", offset=8 + hlen + start, shape=shape)


def write_shard(out: Path, k: int, arrays: Mapping[str, np.ndarray], info: Mapping[str, Any]) -> Path:
    """Write shard ``k`` (numpy arrays + the extraction record) atomically; returns its path.

    The record gains ``data_sha256``, the sha256 of the tensor bytes (everything after the header):
    the data section does not depend on the header, so it is hashed from a first serialization.
    """
    from safetensors.numpy import save

    arrays = {key: np.ascontiguousarray(a) for key, a in arrays.items()}
    draft = save(arrays, metadata={_META_KEY: json.dumps(info, sort_keys=True)})
    (hlen,) = struct.unpack("<Q", draft[:8])
    info = dict(info, data_sha256=hashlib.sha256(memoryview(draft)[8 + hlen:]).hexdigest())
    blob = save(arrays, metadata={_META_KEY: json.dumps(info, sort_keys=True)})
    path = out / shard_name(k)
    atomic_write_bytes(path, blob)
    return path


def _hash_shard(path: Path, hlen: int) -> tuple[str, str]:
    """(sha256 of the whole file, sha256 of its tensor data), in one read."""
    whole, data = hashlib.sha256(), hashlib.sha256()
    with open(path, "rb") as fh:
        whole.update(fh.read(8 + hlen))
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            whole.update(chunk)
            data.update(chunk)
    return whole.hexdigest(), data.hexdigest()


def shard_rows(k: int, shard_size: int, rows: int) -> list[int]:
    """The source row range [start, stop) of shard ``k``."""
    return [k * shard_size, min((k + 1) * shard_size, rows)]


def verify_shard(path: Path, *, fingerprint: str, k: int, rows: list[int]) -> dict[str, Any]:
    """Check that ``path`` is shard ``k`` of this extraction, holding exactly ``rows``, with intact tensor data.

    Returns ``{"info", "sha256", "bytes"}``; raises :class:`IntegrityError` saying what is wrong.
    """
    try:
        hlen, header = _read_header(path)
        info = json.loads((header.get("__metadata__") or {}).get(_META_KEY, "null") or "null")
    except (ValueError, KeyError, TypeError, IndexError, OSError) as exc:
        raise IntegrityError(f"{path}: not a readable feature shard ({exc})") from None
    if not isinstance(info, dict):
        raise IntegrityError(f"{path}: not a seqjepa feature shard (no '{_META_KEY}' metadata)")
    if info.get("fingerprint") != fingerprint:
        raise IntegrityError(f"{path} belongs to another extraction")
    if info.get("shard") != k:
        raise IntegrityError(f"{path} holds shard {_short(info.get('shard'))}, not shard {k}")
    if info.get("rows") != rows:
        raise IntegrityError(f"{path} holds rows {_short(info.get('rows'))}, expected {rows}")
    whole, data = _hash_shard(path, hlen)
    if info.get("data_sha256") != data:
        raise IntegrityError(f"{path}: its tensor data has sha256 {data}, the shard recorded "
                             f"{_short(info.get('data_sha256'))} when it was written: the file was changed")
    return {"info": info, "sha256": whole, "bytes": path.stat().st_size}


def read_shard(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays of one shard, memory-mapped, and its extraction record."""
    hlen, header = _read_header(path)
    info = json.loads((header.get("__metadata__") or {}).get(_META_KEY, "null") or "null")
    if not isinstance(info, dict):
        raise ValueError(f"{path}: not a seqjepa feature shard (no '{_META_KEY}' metadata)")
    arrays = {key: _memmap(path, hlen, entry) for key, entry in header.items() if key != "__metadata__"}
    return arrays, info


# --------------------------------------------------------------------------- the output directory
def read_meta(out: Path) -> Optional[dict[str, Any]]:
    path = out / META_NAME
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"out: {path} is not valid JSON ({exc}); it was not written by seqjepa extract") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"out: {path} is not a seqjepa feature directory's meta.json (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"out: {path} has format version {meta.get('format_version')!r}; this seqjepa reads "
                         f"{FORMAT_VERSION}: extract into a new directory")
    return meta


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:16] + "…"


def _difference(label: str, old: Any, new: Any) -> str:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        parts = [f"{k}: {_short(old.get(k))} there, {_short(new.get(k))} now" for k in keys[:3]]
        return f"{label} ({'; '.join(parts)})"
    return f"{label} ({_short(old)} there, {_short(new)} now)"


def identity_fingerprint(identity: Any) -> str:
    """The sha256 an extraction's identity is known by (meta.json's ``fingerprint``, each shard's record)."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _shard_fingerprints(out: Path) -> set[Optional[str]]:
    """The fingerprints the shard files in ``out`` recorded when they were written (None for an unreadable one)."""
    found: set[Optional[str]] = set()
    for path in out.iterdir():
        if not _SHARD_RE.match(path.name):
            continue
        try:
            info = shard_info(path)
        except (ValueError, KeyError, TypeError, OSError):
            found.add(None)
            continue
        found.add(info.get("fingerprint") if isinstance(info, dict) else None)
    return found


def check_compatible(out: Path, meta: Mapping[str, Any], identity: Mapping[str, Any]) -> None:
    """Raise ValueError naming what differs when ``out`` was extracted with another identity.

    meta.json can be edited; the shards cannot be without failing their hashes. So where meta.json
    disagrees with this extraction but every shard in ``out`` records this extraction's fingerprint (or
    there is none yet), meta.json is what changed and the directory is continued (the caller rewrites it).
    """
    fingerprint = identity_fingerprint(identity)
    old = meta.get("identity")
    intact = isinstance(old, dict) and meta.get("fingerprint") == identity_fingerprint(old)
    if intact and meta.get("fingerprint") == fingerprint:
        return
    shards = _shard_fingerprints(out)
    if shards <= {fingerprint, None} and (fingerprint in shards or not intact):
        return
    if not intact:
        raise ValueError(
            f"out: {out / META_NAME} was changed after it was written (its 'identity' no longer matches its "
            f"'fingerprint') and the shards in {out} were written by another extraction; extract into a new "
            "directory or delete this one"
        )
    diffs = [_difference(label, old.get(key), identity.get(key))
             for key, label in IDENTITY_FIELDS.items() if old.get(key) != identity.get(key)]
    raise ValueError(
        f"out: {out} holds features extracted with {', '.join(diffs) or 'another identity'}; extract into a "
        "new directory or delete this one"
    )


def prepare_dir(out: Path, meta: Mapping[str, Any], *, write: bool) -> dict[str, Any]:
    """Check ``out`` can take this extraction; with ``write``, create it and its meta.json if new.

    A new or empty directory is fine; one with a matching meta.json is continued; anything else
    (another extraction, files that are not ours) is refused.
    """
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out: {out} exists and is not a directory")
    existing = read_meta(out) if out.is_dir() else None
    if existing is None:
        if out.is_dir():
            foreign = sorted(p.name for p in out.iterdir()
                             if not _OTHER_TMP_RE.match(p.name) and p.name not in LOCK_NAMES)
            if foreign and not _only_own_shards(out, foreign, meta["fingerprint"]):
                raise FileExistsError(
                    f"out: {out} is not empty and holds no seqjepa meta.json (found {', '.join(foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}); choose a new or empty directory"
                )
        if write:
            out.mkdir(parents=True, exist_ok=True)
            _remove_other_temporaries(out)
            write_meta(out, meta)
        return dict(meta)
    check_compatible(out, existing, meta["identity"])
    changed = [key for key in DERIVED_FIELDS if existing.get(key) != meta.get(key)]
    if changed:
        # the identity matches, so everything derived from it must too: meta.json was edited or damaged
        logger.warning("out: %s disagrees with this extraction on %s (edited after it was written?); "
                       "writing it again and checking every shard", out / META_NAME, ", ".join(changed))
        existing = dict(meta)
        if write:
            write_meta(out, existing)
    if write:
        _remove_other_temporaries(out)
    return existing


def _only_own_shards(out: Path, names: list[str], fingerprint: str) -> bool:
    """Whether ``names`` are this extraction's shards (each records ``fingerprint``) and its errors.jsonl:
    a directory whose meta.json was deleted, which a rerun continues."""
    if not any(_SHARD_RE.match(n) for n in names):
        return False
    if any(not (_SHARD_RE.match(n) or _SHARD_TMP_RE.match(n) or n == ERRORS_NAME) for n in names):
        return False
    if _shard_fingerprints(out) != {fingerprint}:
        return False
    logger.warning("out: %s has lost its %s; its shards were written by this extraction: writing it again and "
                   "checking every shard", out, META_NAME)
    return True


def _remove_other_temporaries(out: Path) -> None:
    """meta.json / errors.jsonl temporaries a killed run left (only the writer of those files calls this)."""
    for p in out.iterdir():
        if _OTHER_TMP_RE.match(p.name):
            p.unlink(missing_ok=True)


def write_meta(out: Path, meta: Mapping[str, Any]) -> None:
    atomic_write_text(out / META_NAME, json.dumps(meta, indent=2, sort_keys=True) + "\n")


def remove_stale_temporaries(out: Path, shards: set[int]) -> list[str]:
    """Delete the temporaries a killed run left for ``shards`` (files we name, in our directory)."""
    removed = []
    for p in out.iterdir():
        m = _SHARD_TMP_RE.match(p.name)
        if m and int(m.group(1)) in shards:
            try:
                p.unlink()
                removed.append(p.name)
            except FileNotFoundError:  # pragma: no cover - raced with another rank
                pass
    return removed


def finished_shards(out: Path, fingerprint: str, shards: set[int], *, shard_size: int, rows: int) -> set[int]:
    """The shards among ``shards`` whose files are complete, belong to this extraction, hold their own row
    range and still have the tensor data they were written with (each file is read and hashed)."""
    done = set()
    for k in sorted(shards):
        path = out / shard_name(k)
        if not path.is_file():
            continue
        try:
            verify_shard(path, fingerprint=fingerprint, k=k, rows=shard_rows(k, shard_size, rows))
        except IntegrityError as exc:  # computed again and replaced atomically
            logger.warning("%s; it is extracted again", exc)
            continue
        done.add(k)
    return done


def finalize(out: Path, meta: dict[str, Any], num_rows: int) -> dict[str, Any]:
    """Check every shard is there and accounts for its rows; write errors.jsonl and the final meta.json."""
    shard_size, num_shards = int(meta["shard_size"]), int(meta["num_shards"])
    errors: list[dict[str, Any]] = []
    extracted = 0
    listing: list[dict[str, Any]] = []
    for k in range(num_shards):
        path = out / shard_name(k)
        if not path.is_file():
            raise FileNotFoundError(f"out: {path} is missing: the extraction did not finish; rerun the same command")
        start, stop = shard_rows(k, shard_size, num_rows)
        checked = verify_shard(path, fingerprint=meta["fingerprint"], k=k, rows=[start, stop])
        info = checked["info"]
        n_rows, shard_errors = int(info["num_rows"]), list(info.get("errors", []))
        if n_rows + len(shard_errors) != stop - start:  # pragma: no cover - the writer checks this
            raise ValueError(
                f"out: {path} accounts for {n_rows} rows + {len(shard_errors)} errors, expected {stop - start} "
                f"(rows {start}..{stop - 1})"
            )
        extracted += n_rows
        errors += [{**e, "shard": k} for e in shard_errors]
        listing.append({"name": path.name, "rows": [start, stop], "num_rows": n_rows, "errors": len(shard_errors),
                        "bytes": checked["bytes"], "sha256": checked["sha256"]})
    errors.sort(key=lambda e: e["row"])
    atomic_write_text(out / ERRORS_NAME, "".join(json.dumps(e, sort_keys=True) + "\n" for e in errors))
    if num_rows and not extracted:
        # nothing to read back: not a result, and rerunning would only find the same files
        write_meta(out, dict(meta, status="failed", rows_extracted=0, rows_failed=len(errors), shards=listing))
        first = errors[0] if errors else {}
        raise IntegrityError(
            f"source: none of the {num_rows} rows could be read (row {first.get('row')}: "
            f"{str(first.get('reason'))[:200]}); every reason is in {out / ERRORS_NAME}. Fix the source or the "
            f"arguments and extract into a new directory (or delete {out})")
    meta = dict(meta, status="complete", rows_extracted=extracted, rows_failed=len(errors), shards=listing)
    write_meta(out, meta)
    return meta


# --------------------------------------------------------------------------- reading
class Features(Mapping):
    """The features of an extraction: a read-only mapping of column name -> numpy array.

    Columns: ``z`` (N, D) for image folders, (N, M, D) for datasets, (V, D) for manifests (all views
    of all sequences, in order; ``offsets`` (N+1,) and ``num_views`` (N,) locate sequence i at
    ``z[offsets[i]:offsets[i+1]]``); ``z_agg`` (N, E) where extracted; ``path`` (image folders)
    or ``id`` (N,) strings; ``label`` (N,) where known; ``row`` (N,), each row's position in the
    source listing (rows that could not be read are absent: see ``errors``); ``latents`` (N, M, K)
    for datasets.

    Attributes:
        meta: the parsed ``meta.json``.
        errors: the records of ``errors.jsonl`` (skipped rows).
    """

    def __init__(self, columns: dict[str, np.ndarray], meta: dict[str, Any], errors: list[dict[str, Any]]) -> None:
        self._columns = columns
        self.meta = meta
        self.errors = errors

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._columns:
            raise KeyError(f"column {key!r} was not extracted; have {sorted(self._columns)}")
        return self._columns[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)

    @property
    def num_rows(self) -> int:
        return int(self._columns["row"].shape[0])

    def __repr__(self) -> str:
        cols = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self._columns.items())
        return f"Features({self.num_rows} rows; {cols})"


def _open_dir(path: PathLike) -> tuple[Path, dict[str, Any]]:
    out = Path(os.path.expanduser(os.fspath(path)))
    if not out.is_dir():
        raise FileNotFoundError(f"path: feature directory {path_problem(out, 'a directory')}")
    try:
        meta = read_meta(out)
    except ValueError as exc:
        raise IntegrityError(str(exc).replace("out: ", "path: ", 1)) from None
    if meta is None:
        if any(_SHARD_RE.match(p.name) for p in out.iterdir()):
            raise FileNotFoundError(f"path: {out} holds feature shards but no meta.json; if seqjepa extract wrote "
                                    "them, rerun its command: it checks every shard and writes meta.json again")
        raise FileNotFoundError(f"path: {out} holds no meta.json: not a seqjepa feature directory")
    if meta.get("status") == "failed":
        raise ValueError(f"path: the extraction in {out} failed: none of its rows could be read (see "
                         f"{out / ERRORS_NAME}); fix the source and extract into a new directory")
    if meta.get("status") != "complete":
        raise ValueError(
            f"path: the extraction in {out} is not complete; rerun the command that started it to finish it"
        )
    try:
        _check_meta(meta)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise IntegrityError(f"path: {out / META_NAME} is inconsistent: {exc}; it was changed after the extraction "
                             "wrote it: rerun the command that made it, which checks every shard and rewrites it, "
                             "or extract again into a new directory") from None
    return out, meta


def _check_meta(meta: Mapping[str, Any]) -> None:
    """ValueError naming the first field of a complete meta.json that disagrees with the identity it records
    (the fingerprint is the identity's sha256) or with the shard listing."""
    identity = meta["identity"]
    if meta["fingerprint"] != identity_fingerprint(identity):
        raise ValueError("'fingerprint' is not the sha256 of 'identity'")
    for key in ("preprocessing", "precision", "outputs", "shard_size"):
        if meta[key] != identity[key]:
            raise ValueError(f"{key!r} is {_short(meta[key])}, the identity records {_short(identity[key])}")
    source = identity["source"]
    if any(meta["source"].get(key) != value for key, value in source.items()):
        raise ValueError("'source' differs from the identity's")
    if meta["model"]["state_sha256"] != identity["model"]["state_sha256"]:
        raise ValueError("'model.state_sha256' differs from the identity's")
    config = meta["model"].get("config") or {}
    for key in ("image_size", "interpolation", "mean", "std"):
        if key in config and config[key] != identity["preprocessing"][key]:
            raise ValueError(f"'model.config.{key}' is {_short(config[key])}, the preprocessing records "
                             f"{_short(identity['preprocessing'][key])}")
    rows, shard_size = meta["rows"], meta["shard_size"]
    if rows != source["rows"]:
        raise ValueError(f"'rows' is {_short(rows)}, the source has {source['rows']}")
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise ValueError(f"'shard_size' is {_short(shard_size)}")
    if meta["num_shards"] != math.ceil(rows / shard_size):
        raise ValueError(f"'num_shards' is {_short(meta['num_shards'])}; {rows} rows in shards of {shard_size} "
                         f"make {math.ceil(rows / shard_size)}")
    expected_key = _KEY_NAMES.get(identity["outputs"]["layout"])
    if meta["key_name"] != expected_key:
        raise ValueError(f"'key_name' is {_short(meta['key_name'])}, expected {expected_key!r} for this layout")
    if "classes" in source and meta["classes"] != source["classes"]:
        raise ValueError("'classes' differs from the source's")
    listing = meta["shards"]
    if not isinstance(listing, list) or len(listing) != meta["num_shards"]:
        raise ValueError(f"'shards' lists {len(listing) if isinstance(listing, list) else _short(listing)} "
                         f"shard(s), 'num_shards' is {meta['num_shards']}")
    for k, entry in enumerate(listing):
        if entry["name"] != shard_name(k) or entry["rows"] != shard_rows(k, shard_size, rows):
            raise ValueError(f"'shards' entry {k} is {_short(entry)}, expected {shard_name(k)} with rows "
                             f"{shard_rows(k, shard_size, rows)}")
        if entry["num_rows"] + entry["errors"] != entry["rows"][1] - entry["rows"][0]:
            raise ValueError(f"'shards' entry {k} ({shard_name(k)}) does not account for its rows")
    if meta["rows_extracted"] != sum(e["num_rows"] for e in listing):
        raise ValueError(f"'rows_extracted' is {_short(meta['rows_extracted'])}, the shards hold "
                         f"{sum(e['num_rows'] for e in listing)}")
    if meta["rows_failed"] != sum(e["errors"] for e in listing):
        raise ValueError(f"'rows_failed' is {_short(meta['rows_failed'])}, the shards record "
                         f"{sum(e['errors'] for e in listing)}")


def iter_shards(path: PathLike, *, verify: bool = False) -> Iterator[dict[str, np.ndarray]]:
    """The columns of each shard in turn, memory-mapped: for outputs larger than memory.

    Each shard is checked against ``meta.json`` before it is yielded (see :func:`read_features`).
    """
    out, meta = _open_dir(path)
    for k in range(int(meta["num_shards"])):
        yield _shard_columns(out, meta, k, verify=verify)


def _shard_columns(out: Path, meta: Mapping[str, Any], k: int, *, verify: bool) -> dict[str, np.ndarray]:
    """Shard ``k``'s columns, after checking the file against what ``meta.json`` lists for it."""
    entry = meta["shards"][k]
    path = out / shard_name(k)
    if not path.is_file():
        raise IntegrityError(f"path: {path} is missing (meta.json lists it)")
    size = path.stat().st_size
    if size != entry["bytes"]:
        raise IntegrityError(f"path: {path} has {size} bytes, meta.json records {entry['bytes']}: the file was "
                             "changed after the extraction wrote it")
    if verify:
        checked = verify_shard(path, fingerprint=meta["fingerprint"], k=k, rows=entry["rows"])
        if checked["sha256"] != entry["sha256"]:
            raise IntegrityError(f"path: {path} has sha256 {checked['sha256']}, meta.json records "
                                 f"{_short(entry['sha256'])}: the file was changed after the extraction wrote it")
    try:
        arrays, info = read_shard(path)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise IntegrityError(f"path: {path} is not a readable feature shard ({exc})") from None
    if info.get("fingerprint") != meta["fingerprint"]:
        raise IntegrityError(f"path: {path} belongs to another extraction than {out / META_NAME}")
    if info.get("shard") != k or info.get("rows") != entry["rows"]:
        raise IntegrityError(f"path: {path} holds shard {_short(info.get('shard'))}, rows "
                             f"{_short(info.get('rows'))}; meta.json lists shard {k}, rows {entry['rows']}")
    n = entry["num_rows"]
    keys = info.get("keys")
    if info.get("num_rows") != n or not isinstance(keys, list) or len(keys) != n:
        raise IntegrityError(f"path: {path} holds {_short(info.get('num_rows'))} rows, meta.json records {n}")
    key_name = meta["key_name"]
    if key_name in arrays:
        raise IntegrityError(f"path: {path} has a tensor named {key_name!r}, the name of its keys")
    for name, array in arrays.items():
        if name != "z" or meta["outputs"]["layout"] != "sequences":  # z of sequences holds every view
            if array.shape[:1] != (n,):
                raise IntegrityError(f"path: {path} column {name!r} has {array.shape[:1]} rows, expected {n}")
    row = np.asarray(arrays.get("row", np.empty(0, dtype=np.int64)))
    start, stop = entry["rows"]
    if "row" not in arrays or (n and (row[0] < start or row[-1] >= stop or np.any(np.diff(row) <= 0))):
        raise IntegrityError(f"path: {path} column 'row' is not increasing within rows [{start}, {stop})")
    if "num_views" in arrays and "z" in arrays and int(np.sum(arrays["num_views"])) != arrays["z"].shape[0]:
        raise IntegrityError(f"path: {path} column 'num_views' does not add up to the rows of 'z'")
    cols = dict(arrays)
    cols[key_name] = np.asarray(keys, dtype=str) if keys else np.empty(0, dtype="<U1")
    return cols


def _read_errors(out: Path, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
    path = out / ERRORS_NAME
    if not path.is_file():
        raise IntegrityError(f"path: {path} is missing (every complete extraction writes it)")
    errors = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            record = None
        if not isinstance(record, dict):
            raise IntegrityError(f"path: {path} line {lineno} is not a JSON object")
        errors.append(record)
    if len(errors) != meta["rows_failed"]:
        raise IntegrityError(f"path: {path} lists {len(errors)} record(s), meta.json records {meta['rows_failed']} "
                             "failed row(s)")
    return errors


def read_features(path: PathLike, *, verify: bool = False) -> Features:
    """The features a ``seqjepa extract`` run wrote to directory ``path``.

    Every shard is memory-mapped; with one shard the arrays are the maps themselves (no copy), with
    several they are concatenated in row order (see :func:`iter_shards` to go shard by shard).

    Before anything is returned, ``meta.json`` is checked against itself (every field derived from
    the recorded identity, the shard listing, the row counts) and against the files: each shard's
    name, size, shard number, row range, row count, column lengths and ``errors.jsonl``'s count.
    With ``verify=True`` every file is also read in full and its sha256 and the sha256 of its tensor
    data compared with those recorded when it was written.

    Raises:
        ValueError: the extraction is not complete (rerun its command to finish it).
        IntegrityError: the directory disagrees with its ``meta.json``; the message names the file.
    """
    if not isinstance(verify, bool):
        raise ValueError(f"verify: expected True or False, got {verify!r:.40}")
    out, meta = _open_dir(path)
    parts = [_shard_columns(out, meta, k, verify=verify) for k in range(int(meta["num_shards"]))]
    columns: dict[str, np.ndarray] = {}
    for key in parts[0]:
        columns[key] = parts[0][key] if len(parts) == 1 else np.concatenate([p[key] for p in parts])
    if "num_views" in columns:
        columns["offsets"] = np.concatenate([[0], np.cumsum(columns["num_views"], dtype=np.int64)]).astype(np.int64)
    return Features(columns, meta, _read_errors(out, meta))
