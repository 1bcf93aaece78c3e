"""Training checkpoints: atomic writes, safe loading, newest-valid discovery, RNG capture, run lock.

A checkpoint is one ``torch.save`` dict holding only tensors and plain Python values, so it loads
with ``torch.load(weights_only=True)`` and no allow-list. It is serialized in memory and written
through :func:`seqjepa.utils.files.atomic_open` (temp file + fsync + rename): a crash, SIGKILL or full
disk during a save leaves the previous file untouched.
"""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import random
import re
import socket
import sys
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..errors import CheckpointSaveError, IntegrityError, RunLockedError, UnsafeCheckpointError
from ..utils.files import atomic_open, atomic_write_text, path_problem

__all__ = [
    "CHECKPOINT_FORMAT",
    "LAST_NAME",
    "CheckpointSaveError",
    "RunLockedError",
    "save_checkpoint",
    "load_checkpoint",
    "find_resumable",
    "capture_rng",
    "restore_rng",
    "RunLock",
]

CHECKPOINT_FORMAT = 1
LAST_NAME = "last.pt"
_EPOCH_RE = re.compile(r"^epoch_(\d+)\.pt$")
_REQUIRED = ("format", "model", "optimizer", "epoch", "step_in_epoch", "global_step", "recipe", "rng")
#: Test hook: seconds to pause half-way through writing a checkpoint (lets a test SIGKILL a save).
SLOW_SAVE_ENV = "SEQJEPA_TEST_SLOW_SAVE"


# ---------------------------------------------------------------- RNG states as plain values
def capture_rng() -> dict[str, Any]:
    """This process's RNG states (torch CPU, CUDA of the current device, numpy, python) as tensors and lists."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": [str(np_state[0]), torch.from_numpy(np.asarray(np_state[1], dtype=np.int64)), int(np_state[2]), int(np_state[3]), float(np_state[4])],
        "python": [int(py_state[0]), list(py_state[1]), py_state[2]],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng`."""
    torch.set_rng_state(state["torch"])
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


# ---------------------------------------------------------------- save / load
def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> None:
    """Serialize ``state`` and write it atomically to ``path``.

    Raises:
        CheckpointSaveError: the write failed (e.g. ENOSPC); ``path`` and every other file are as before.
    """
    buffer = io.BytesIO()
    torch.save(state, buffer)
    data = buffer.getbuffer()
    delay = float(os.environ.get(SLOW_SAVE_ENV, "0") or 0)
    try:
        with atomic_open(path, "wb") as fh:
            half = len(data) // 2
            fh.write(data[:half])
            if delay > 0:
                fh.flush()
                time.sleep(delay)
            fh.write(data[half:])
    except OSError as exc:
        reason = "the disk is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
        raise CheckpointSaveError(
            exc.errno or errno.EIO,
            f"could not write checkpoint {os.fspath(path)}: {reason}; nothing already saved was changed "
            f"(the previous checkpoints in {Path(path).parent} are intact)",
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
    return text[:300]


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a training checkpoint with ``weights_only=True``; raise :class:`IntegrityError` if unreadable or incomplete."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {path_problem(p, 'a checkpoint file')}")
    from ..zoo._convert_official import check_torch_magic

    with open(p, "rb") as fh:
        head = fh.read(16)
    if head:
        check_torch_magic(head, f"checkpoint {p}", IntegrityError)
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc)) or re.search(r"global ([\w.]+)", str(exc))
        if found is not None:  # torch's pages-long advice to set weights_only=False is the wrong one here
            raise UnsafeCheckpointError(
                f"checkpoint {p} references {found.group(1)}, which no seqjepa checkpoint holds: it was not loaded "
                "and none of its code ran. Do not load it with weights_only=False: it may be malicious") from None
        raise IntegrityError(f"checkpoint {p} cannot be read ({_first_line(exc)}); it is truncated or corrupt") from None
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError... for damaged files
        raise IntegrityError(f"checkpoint {p} cannot be read ({type(exc).__name__}: {_first_line(exc)}); it is "
                             "truncated or corrupt") from exc
    if not isinstance(state, dict):
        raise IntegrityError(f"checkpoint {p} is not a seqjepa training checkpoint (a {type(state).__name__})")
    missing = [k for k in _REQUIRED if k not in state]
    if missing:
        raise IntegrityError(f"checkpoint {p} is not a seqjepa training checkpoint: missing {missing}")
    if state["format"] != CHECKPOINT_FORMAT:
        raise IntegrityError(f"checkpoint {p} has format {state['format']!r}; this seqjepa reads format {CHECKPOINT_FORMAT}")
    return state


def _candidates(directory: Path) -> list[Path]:
    epochs = sorted(
        ((int(m.group(1)), p) for p in directory.iterdir() if (m := _EPOCH_RE.match(p.name))),
        reverse=True,
    )
    out = [directory / LAST_NAME] if (directory / LAST_NAME).is_file() else []
    return out + [p for _, p in epochs]


def find_resumable(directory: str | os.PathLike[str]) -> tuple[Optional[Path], Optional[dict[str, Any]], list[str]]:
    """The newest checkpoint in ``directory`` that loads and is complete.

    Returns ``(path, state, skipped)`` where ``skipped`` explains each newer file that was unusable;
    ``(None, None, skipped)`` if nothing usable exists. Newest means the furthest (epoch, step).
    """
    d = Path(directory)
    skipped: list[str] = []
    if not d.is_dir():
        return None, None, skipped
    best: Optional[tuple[tuple[int, int], Path, dict[str, Any]]] = None
    for p in _candidates(d):
        try:
            state = load_checkpoint(p)
        except (IntegrityError, OSError) as exc:
            skipped.append(str(exc))
            continue
        key = (int(state["epoch"]), int(state["step_in_epoch"]))
        if best is None or key > best[0]:
            best = (key, p, state)
        if p.name == LAST_NAME:
            break  # last.pt is written at every save: nothing older can be newer
    if best is None:
        return None, None, skipped
    return best[1], best[2], skipped


# ---------------------------------------------------------------- run lock
OWNER_SUFFIX = ".owner"


class RunLock:
    """One training run per output directory: an OS file lock on ``DIR/.lock`` (through ``filelock``).

    The operating system holds the lock for the process and drops it when that process ends in any way
    (exit, crash, ``kill -9``), so a lock file left behind, empty or written by an older seqjepa, never
    blocks a directory. While the lock is held, ``DIR/.lock.owner`` records who holds it (host, pid,
    start time, command) for the message another run gets; it is removed on release and ignored
    when its writer is gone. The lock file itself stays (removing it would let two runs lock two
    different files of the same name).
    """

    def __init__(self, directory: str | os.PathLike[str], *, what: str = "training run",
                 option: str = "--output") -> None:
        """``what`` and ``option`` name the kind of run and its output option in the refusal."""
        self.what, self.option = what, option
        self.path = Path(directory) / ".lock"
        self.owner_path = self.path.with_name(self.path.name + OWNER_SUFFIX)
        self.held = False
        self._lock: Any = None

    def acquire(self) -> None:
        """Take the lock without waiting.

        Raises:
            RunLockedError: another live process holds it; the message names that process.
        """
        from filelock import FileLock, Timeout

        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunLockedError(
                f"output directory {self.path.parent} is in use by another {self.what} ({self.owner()}); "
                f"wait for it to end or use another {self.option}"
            ) from None
        self._lock = lock
        self.held = True
        record = {
            "host": socket.gethostname(), "pid": os.getpid(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv),
        }
        try:
            atomic_write_text(self.owner_path, json.dumps(record) + "\n")
        except OSError:  # the record only improves another run's message; the lock is what counts
            pass

    def owner(self) -> str:
        """Who holds the lock, as recorded in the owner file (for messages)."""
        try:
            rec = json.loads(self.owner_path.read_text(encoding="utf-8"))
            return f"pid {int(rec['pid'])} on {rec['host']}, started {rec['started']}: {rec['command']}"
        except (OSError, ValueError, KeyError, TypeError):
            return f"owner not recorded in {self.owner_path}"

    def release(self) -> None:
        if self.held:
            try:
                self.owner_path.unlink(missing_ok=True)
            except OSError:
                pass
            self._lock.release()
            self._lock = None
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
