"""The few exception types a seqjepa user may want to catch."""

from __future__ import annotations

__all__ = [
    "SeqJEPAError",
    "ConfigError",
    "WeightsNotAvailableError",
    "IntegrityError",
    "UnsafeCheckpointError",
    "CheckpointMismatchError",
]


class SeqJEPAError(Exception):
    """Base class of every error seqjepa raises on purpose."""


class ConfigError(SeqJEPAError, ValueError):
    """A configuration is invalid: unknown, missing, ill-typed or clashing fields."""


class WeightsNotAvailableError(SeqJEPAError, FileNotFoundError):
    """Weights were asked for but could be found neither in the cache nor on the network."""


class IntegrityError(SeqJEPAError, OSError):
    """A file's content is not what was expected (hash, size, LFS pointer, truncation)."""


class UnsafeCheckpointError(SeqJEPAError, RuntimeError):
    """A pickled checkpoint asked for a global outside the allow-list; nothing of it was run."""


class CheckpointMismatchError(SeqJEPAError, RuntimeError):
    """A state dict does not fit the model exactly (missing, unexpected or mis-shaped keys)."""
