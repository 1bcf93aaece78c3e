"""Training checkpoints: atomic writes, safe loading, newest-valid discovery, RNG capture, run lock.

A checkpoint is one ``torch.save`` dict holding only tensors and plain Python values, so it loads
with ``torch.load(weights_only=True)`` and no allow-list. It is serialized in memory and written
through :func:`seqjepa.utils.files.atomic_open` (temp file + fsync + rename): a crash, SIGKILL or full
disk during a save leaves the previous file untouched.
"""

from __future__ import annotations

import errno
import io
import os
import random
import re
import socket
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from ..errors import CheckpointSaveError, IntegrityError, RunLockedError
from ..utils.files import atomic_open

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


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load a training checkpoint with ``weights_only=True``; raise :class:`IntegrityError` if unreadable or incomplete."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError... for damaged files
        raise IntegrityError(f"checkpoint {p} cannot be read ({type(exc).__name__}: {exc}); it is truncated or corrupt") from exc
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
class RunLock:
    """``DIR/.lock`` holding ``host pid``: one training run per output directory.

    A lock left by a process that no longer exists (same host) is taken over; a lock from a live
    process, or from another host (whose liveness cannot be checked), is refused.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory) / ".lock"
        self.held = False

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = f"{socket.gethostname()} {os.getpid()}\n"
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                owner = self._owner()
                if owner is None:
                    continue  # vanished between the two calls, or unreadable and being rewritten
                host, pid = owner
                if host == socket.gethostname() and not _pid_alive(pid):
                    try:
                        self.path.unlink()
                    except FileNotFoundError:
                        pass
                    continue
                raise RunLockedError(
                    f"output directory {self.path.parent} is in use by another training run (pid {pid} on {host}, "
                    f"lock file {self.path}); use another --output, or remove the lock if that run is gone"
                )
            with os.fdopen(fd, "w") as fh:
                fh.write(me)
            self.held = True
            return
        raise RunLockedError(f"could not take the lock {self.path}: it keeps changing (another run is starting?)")

    def _owner(self) -> Optional[tuple[str, int]]:
        try:
            text = self.path.read_text().split()
            return text[0], int(text[1])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def release(self) -> None:
        if self.held:
            owner = self._owner()
            if owner is not None and owner[1] == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
