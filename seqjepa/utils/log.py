"""The ``seqjepa`` logger tree and progress bars that appear only where a person is watching.

Library code logs through ``logging.getLogger("seqjepa.<module>")`` and never prints; the
command line (or the user) decides where messages go. Progress bars are tqdm bars on stderr,
shown only when stderr is a terminal and not silenced with :func:`set_progress` (``-q``).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Iterable, Optional, TypeVar

__all__ = ["get_logger", "configure_cli_logging", "progress", "set_progress", "progress_enabled"]

T = TypeVar("T")
ROOT = "seqjepa"
_PROGRESS_ENV = "SEQJEPA_PROGRESS"
_progress_override: Optional[bool] = None


def get_logger(name: str) -> logging.Logger:
    """The logger for a seqjepa module: pass ``__name__``."""
    return logging.getLogger(name if name == ROOT or name.startswith(ROOT + ".") else f"{ROOT}.{name}")


def set_progress(enabled: Optional[bool]) -> None:
    """Force progress bars on or off for this process; ``None`` goes back to "only on a terminal"."""
    global _progress_override
    _progress_override = enabled


def progress_enabled() -> bool:
    """Whether a progress bar would be drawn now: the override, ``SEQJEPA_PROGRESS=0/1``, else a tty check."""
    if _progress_override is not None:
        return _progress_override
    env = os.environ.get(_PROGRESS_ENV, "").strip().lower()
    if env in ("0", "false", "off", "no"):
        return False
    if env in ("1", "true", "on", "yes"):
        return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def progress(iterable: Iterable[T], *, desc: str, total: Optional[int] = None, unit: str = "it", **kwargs: Any) -> Iterable[T]:
    """``iterable`` wrapped in a tqdm bar when :func:`progress_enabled`, else returned as it is."""
    if not progress_enabled():
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, dynamic_ncols=True, leave=False, **kwargs)


def configure_cli_logging(verbosity: int) -> None:
    """What the ``seqjepa`` command shows: -1 (``-q``) errors only, 0 info, 1+ (``-v``) debug.

    Messages go to stderr as plain lines, so stdout carries only the command's results.
    """
    level = logging.ERROR if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    logger = logging.getLogger(ROOT)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_seqjepa_cli", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._seqjepa_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
    if verbosity < 0:
        set_progress(False)
