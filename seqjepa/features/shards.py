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
"""

from __future__ import annotations

import json
import os
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterator, Optional, Union

import numpy as np

from ..utils.files import atomic_write_bytes, atomic_write_text

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
FORMAT_VERSION = 1
META_NAME = "meta.json"
ERRORS_NAME = "errors.jsonl"
_META_KEY = "seqjepa_extract"
_SHARD_RE = re.compile(r"^shard-(\d{5,})\.safetensors$")
# the temporaries seqjepa.utils.files.atomic_open makes beside a shard: ".shard-00003.safetensors.<random>.tmp"
_SHARD_TMP_RE = re.compile(r"^\.shard-(\d{5,})\.safetensors\.[A-Za-z0-9_]+\.tmp$")
_OTHER_TMP_RE = re.compile(r"^\.(meta\.json|errors\.jsonl)\.[A-Za-z0-9_]+\.tmp$")
_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}

PathLike = Union[str, "os.PathLike[str]"]

# The parts of meta.json a rerun must match, and how a mismatch is named in the refusal.
IDENTITY_FIELDS = {
    "model": "another model",
    "preprocessing": "another preprocessing",
    "precision": "another precision",
    "source": "another source",
    "shard_size": "another shard size",
    "outputs": "other outputs",
}


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
    """Write shard ``k`` (numpy arrays + the extraction record) atomically; returns its path."""
    from safetensors.numpy import save

    blob = save({key: np.ascontiguousarray(a) for key, a in arrays.items()},
                metadata={_META_KEY: json.dumps(info, sort_keys=True)})
    path = out / shard_name(k)
    atomic_write_bytes(path, blob)
    return path


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
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
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


def check_compatible(out: Path, meta: Mapping[str, Any], identity: Mapping[str, Any]) -> None:
    """Raise ValueError naming what differs when ``out`` was extracted with another identity."""
    old = meta.get("identity", {})
    diffs = [_difference(label, old.get(key), identity.get(key))
             for key, label in IDENTITY_FIELDS.items() if old.get(key) != identity.get(key)]
    if diffs:
        raise ValueError(
            f"out: {out} holds features extracted with {', '.join(diffs)}; extract into a new directory "
            "or delete this one"
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
            foreign = sorted(p.name for p in out.iterdir() if not _OTHER_TMP_RE.match(p.name))
            if foreign:
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
    if write:
        _remove_other_temporaries(out)
    return existing


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


def finished_shards(out: Path, fingerprint: str, shards: set[int]) -> set[int]:
    """The shards among ``shards`` whose files are complete and belong to this extraction."""
    done = set()
    for k in shards:
        path = out / shard_name(k)
        if not path.is_file():
            continue
        try:
            info = shard_info(path)
        except (ValueError, KeyError, TypeError, OSError):
            continue  # unreadable: computed again and replaced atomically
        if info.get("fingerprint") == fingerprint and info.get("shard") == k:
            done.add(k)
    return done


def finalize(out: Path, meta: dict[str, Any], num_rows: int) -> dict[str, Any]:
    """Check every shard is there and accounts for its rows; write errors.jsonl and the final meta.json."""
    shard_size, num_shards = int(meta["shard_size"]), int(meta["num_shards"])
    errors: list[dict[str, Any]] = []
    extracted = 0
    for k in range(num_shards):
        path = out / shard_name(k)
        if not path.is_file():
            raise FileNotFoundError(f"out: {path} is missing: the extraction did not finish; rerun the same command")
        info = shard_info(path)
        if info.get("fingerprint") != meta["fingerprint"]:
            raise ValueError(f"out: {path} belongs to another extraction; rerun the same command to replace it")
        start, stop = k * shard_size, min((k + 1) * shard_size, num_rows)
        n_rows, shard_errors = int(info["num_rows"]), list(info.get("errors", []))
        if n_rows + len(shard_errors) != stop - start:
            raise ValueError(
                f"out: {path} accounts for {n_rows} rows + {len(shard_errors)} errors, expected {stop - start} "
                f"(rows {start}..{stop - 1})"
            )
        extracted += n_rows
        errors += [{**e, "shard": k} for e in shard_errors]
    errors.sort(key=lambda e: e["row"])
    atomic_write_text(out / ERRORS_NAME, "".join(json.dumps(e, sort_keys=True) + "\n" for e in errors))
    meta = dict(meta, status="complete", rows_extracted=extracted, rows_failed=len(errors))
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
        raise FileNotFoundError(f"path: feature directory {out} does not exist")
    meta = read_meta(out)
    if meta is None:
        raise FileNotFoundError(f"path: {out} holds no meta.json: not a seqjepa feature directory")
    if meta.get("status") != "complete":
        raise ValueError(
            f"path: the extraction in {out} is not complete; rerun the command that started it to finish it"
        )
    return out, meta


def iter_shards(path: PathLike) -> Iterator[dict[str, np.ndarray]]:
    """The columns of each shard in turn, memory-mapped: for outputs larger than memory."""
    out, meta = _open_dir(path)
    for k in range(int(meta["num_shards"])):
        yield _shard_columns(out / shard_name(k), meta)


def _shard_columns(path: Path, meta: Mapping[str, Any]) -> dict[str, np.ndarray]:
    arrays, info = read_shard(path)
    if info.get("fingerprint") != meta["fingerprint"]:
        raise ValueError(f"{path} belongs to another extraction than {path.parent / META_NAME}")
    key_name = meta["key_name"]
    cols = dict(arrays)
    cols[key_name] = np.asarray(info["keys"], dtype=str) if info["keys"] else np.empty(0, dtype="<U1")
    return cols


def read_features(path: PathLike) -> Features:
    """The features a ``seqjepa extract`` run wrote to directory ``path``.

    Every shard is memory-mapped; with one shard the arrays are the maps themselves (no copy), with
    several they are concatenated in row order (see :func:`iter_shards` to go shard by shard).
    Raises ValueError when the extraction is not complete (rerun its command to finish it).
    """
    out, meta = _open_dir(path)
    parts = [_shard_columns(out / shard_name(k), meta) for k in range(int(meta["num_shards"]))]
    columns: dict[str, np.ndarray] = {}
    for key in parts[0]:
        columns[key] = parts[0][key] if len(parts) == 1 else np.concatenate([p[key] for p in parts])
    if "num_views" in columns:
        columns["offsets"] = np.concatenate([[0], np.cumsum(columns["num_views"], dtype=np.int64)]).astype(np.int64)
    errors_path = out / ERRORS_NAME
    errors = [json.loads(line) for line in errors_path.read_text(encoding="utf-8").splitlines() if line.strip()] \
        if errors_path.is_file() else []
    return Features(columns, meta, errors)
