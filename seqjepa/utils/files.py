"""Atomic file writes and content checks shared by the weights I/O, the Hub cache and the trainer.

Verified reads work on bytes: a file is read once, and the bytes that were hashed are the bytes
that get deserialized (a file replaced between a check and a second open cannot slip through).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import struct
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Union

from ..errors import IntegrityError

__all__ = [
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "sha256_file",
    "sha256_bytes",
    "verify_sha256",
    "sha256_mismatch",
    "check_safetensors_file",
    "check_safetensors_bytes",
    "require_regular_file",
    "path_problem",
    "OUTPUT_MARKER",
    "check_replaceable",
    "mark_output",
    "remove_output",
    "LFS_POINTER_PREFIX",
    "default_file_mode",
]

PathLike = Union[str, "os.PathLike[str]"]

LFS_POINTER_PREFIX = b"version https://git-lfs.github.com/spec/"


@contextmanager
def atomic_open(path: PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success fsync it and rename it over ``path``.

    A crash or exception at any point leaves ``path`` as it was (absent or the previous version),
    never half-written.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode: expected 'wb' or 'w', got {mode!r}")
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:  # name the file the caller asked for, not a temporary name
        raise type(exc)(exc.errno, f"cannot write {target}: {exc.strerror or exc}") from None
    # mkstemp creates 0600 files; give the result the permissions a plain open() would (0666 - umask)
    os.fchmod(fd, default_file_mode())
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise type(exc)(exc.errno, f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        # an error about the temporary (a full disk, a quota, a writer that names the file it writes) is
        # reported for the file the caller asked for: the temporary name means nothing to them and is gone
        if isinstance(exc, OSError) and tmp in str(exc):
            raise type(exc)(exc.errno, f"cannot write {target}: {exc.strerror or str(exc).replace(tmp, str(target))}") from None
        raise
    _fsync_dir(target.parent)


def default_file_mode() -> int:
    """The mode a plain ``open(path, "w")`` gives a new file: 0666 minus the process umask."""
    return 0o666 & ~_current_umask()


def _current_umask() -> int:
    # /proc tells the umask without changing it (os.umask would briefly affect every thread)
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_open(path, "w") as fh:
        fh.write(text)


def sha256_file(path: PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of bytes in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256_mismatch(what: str, where: str, actual: str, expected: str) -> str:
    """The one wording of a failed sha256 check: what and where, both hashes, and what it means."""
    return (
        f"{what} {where} has sha256 {actual}, expected {expected.lower()}: "
        "the file is corrupt, truncated or not the one that was pinned"
    )


def verify_sha256(path: PathLike, expected: str, *, what: str = "file") -> str:
    """Raise :class:`IntegrityError` with both hashes unless ``path`` hashes to ``expected``."""
    actual = sha256_file(path)
    if actual.lower() != expected.lower():
        raise IntegrityError(sha256_mismatch(what, os.fspath(path), actual, expected))
    return actual


def path_problem(path: PathLike, wanted: str) -> str:
    """``"<path> does not exist"`` or ``"<path> is <what it is>, not <wanted>"``: for the message when a path is not
    the kind asked for (a plain file where a directory was expected is not "missing", nor is a link to /dev/zero)."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        return f"{p} is a link whose target is missing" if p.is_symlink() else f"{p} does not exist"
    except OSError as exc:
        return f"{p} cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(st.st_mode):
        kind = "a directory"
    elif stat.S_ISREG(st.st_mode):
        kind = "a file"
    elif stat.S_ISFIFO(st.st_mode):
        kind = "a FIFO"
    else:
        kind = "a device or special file"
    link = f" (a link to {os.path.realpath(p)})" if p.is_symlink() else ""
    return f"{p} is {kind}{link}, not {wanted}"


def require_regular_file(path: PathLike, *, why: str) -> None:
    """Raise naming what ``path`` is when it is not a regular file (missing, a directory, a device, a dangling link).

    A missing file is a :class:`~seqjepa.errors.WeightsNotAvailableError`; a directory or a special file
    (a link to ``/dev/zero``, a FIFO) is an :class:`~seqjepa.errors.IntegrityError`: it exists but is not data.
    """
    from ..errors import WeightsNotAvailableError

    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        dangling = " (a link whose target is missing)" if p.is_symlink() else ""
        raise WeightsNotAvailableError(f"{p} not found{dangling}: {why}") from None
    except OSError as exc:
        raise IntegrityError(f"{p} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISREG(st.st_mode):
        return
    kind = "a directory" if stat.S_ISDIR(st.st_mode) else "a device or special file"
    link = f" (a link to {os.path.realpath(p)})" if p.is_symlink() else ""
    raise IntegrityError(f"{p} is {kind}{link}, not a regular file: {why}")


#: Written into every directory a seqjepa command creates and may later replace (``--overwrite``).
OUTPUT_MARKER = ".seqjepa-output.json"


def _protected(target: Path) -> Optional[str]:
    """Why ``target`` may never be replaced, whoever wrote it: the root, the home directory, the working directory or a parent of it."""
    home = Path(os.path.expanduser("~")).resolve()
    cwd = Path.cwd().resolve()
    if target == Path(target.anchor):
        return "it is the file system root"
    if target == home or home.is_relative_to(target):
        return "it is the home directory or holds it"
    if cwd == target or cwd.is_relative_to(target):
        return "it is the working directory or a parent of it"
    return None


def check_replaceable(path: PathLike, *, what: str, kind: str) -> None:
    """Refuse, before any work, to replace ``path`` unless a seqjepa command of ``kind`` wrote it.

    An absent path or an empty directory is fine. Anything else must be a directory holding
    :data:`OUTPUT_MARKER` for ``kind``; the root, the home directory and the working directory (or
    a parent of it) are refused even then.
    """
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    resolved = target.resolve()
    why = _protected(resolved)
    if why is not None:
        raise ValueError(f"{what}: refusing to replace {target}: {why}")
    if not os.path.lexists(target):
        return
    if target.is_symlink() or not target.is_dir():
        raise FileExistsError(f"{what}: {target} exists and is not a directory seqjepa wrote; remove it yourself or choose another path")
    if not any(target.iterdir()):
        return
    marker = target / OUTPUT_MARKER
    try:
        record = json.loads(marker.read_text(encoding="utf-8"))
        recorded = record.get("kind")
    except (OSError, ValueError, AttributeError, RecursionError):
        record, recorded = None, None
    if recorded != kind:
        found = "no seqjepa marker" if recorded is None else f"its marker says {str(recorded)[:40]!r}"
        raise FileExistsError(
            f"{what}: {target} exists and was not written by this seqjepa command ({found}: {OUTPUT_MARKER}); "
            "it is left as it is: remove it yourself or choose another path"
        )
    # the marker lists what the command wrote: a marker copied into another directory, or files added, changed
    # or removed since, no longer match it (a listing rather than an inode, so that the same command writes the
    # same bytes wherever it runs)
    added, changed = _listing_changes(target, record.get("files"))
    if added or changed:
        parts = ([f"{len(added)} file(s) it did not write (e.g. {added[0][:120]})"] if added else []) + \
                ([f"{len(changed)} file(s) changed or removed since (e.g. {changed[0][:120]})"] if changed else [])
        raise FileExistsError(
            f"{what}: {target} holds {' and '.join(parts)}; replacing it would lose them: move them away, remove "
            "the directory yourself or choose another path"
        )


def _listing(directory: Path) -> dict[str, int]:
    """Relative path -> size of every file under ``directory`` (links not followed), the marker excepted."""
    files: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(directory):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, directory)
            if rel != OUTPUT_MARKER:
                files[Path(rel).as_posix()] = os.lstat(path).st_size
    return files


def _listing_changes(directory: Path, recorded: Any) -> tuple[list[str], list[str]]:
    """(files not in the recorded listing, recorded files missing or of another size), each sorted."""
    if not isinstance(recorded, dict):
        return ["(its marker lists no files: written by an older seqjepa?)"], []
    now = _listing(directory)
    added = sorted(set(now) - set(recorded))
    changed = sorted(k for k, size in recorded.items() if now.get(k) != size)
    return added, changed


def mark_output(directory: PathLike, *, kind: str) -> None:
    """Record in ``directory`` that a seqjepa command of ``kind`` wrote it, and what it wrote (so a later
    ``--overwrite`` may replace it, and only it: not a copy of the marker elsewhere, nor files added since)."""
    d = Path(directory)
    record = {"kind": kind, "written_by": "seqjepa", "files": _listing(d)}
    atomic_write_text(d / OUTPUT_MARKER, json.dumps(record, sort_keys=True) + "\n")


def remove_output(path: PathLike, *, what: str, kind: str) -> None:
    """Delete a directory :func:`check_replaceable` accepts (checked again now); anything else is left alone."""
    check_replaceable(path, what=what, kind=kind)
    target = Path(os.path.abspath(os.path.expanduser(os.fspath(path))))
    if target.is_dir():
        shutil.rmtree(target)


def check_safetensors_file(path: PathLike) -> None:
    """Recognize a Git LFS pointer, an empty or truncated file before safetensors reads it.

    safetensors itself reports these as a cryptic ``HeaderTooLarge``; we name the cause.
    """
    p = Path(path)
    with open(p, "rb") as fh:
        check_safetensors_bytes(fh.read(), where=str(p))


def check_safetensors_bytes(data: bytes, *, where: str) -> dict:
    """The checks of :func:`check_safetensors_file` on bytes in memory; returns the parsed header."""
    size = len(data)
    if data.startswith(LFS_POINTER_PREFIX):
        raise IntegrityError(
            f"{where} is a Git LFS pointer, not the weights: fetch the real file (git lfs pull, or download it "
            "through seqjepa / huggingface_hub)"
        )
    if size < 8:
        raise IntegrityError(f"{where} is {size} bytes long: too short to be a safetensors file (truncated or empty)")
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > size - 8:
        raise IntegrityError(
            f"{where} is truncated or not a safetensors file: its header claims {header_len} bytes but the file has {size}"
        )
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise IntegrityError(f"{where} has a corrupt safetensors header: {type(exc).__name__}") from None
    if not isinstance(header, dict):
        raise IntegrityError(f"{where} has a corrupt safetensors header: expected a JSON object, got {type(header).__name__}")
    end = 0
    for key, meta in header.items():
        if key == "__metadata__":
            continue
        try:
            end = max(end, int(meta["data_offsets"][1]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise IntegrityError(f"{where} has a corrupt safetensors header entry for {key!r}") from exc
    if 8 + header_len + end > size:
        raise IntegrityError(
            f"{where} is truncated: its tensors need {8 + header_len + end} bytes but the file has {size}"
        )
    return header
