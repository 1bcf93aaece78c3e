"""Every exception (and the one warning) seqjepa raises on purpose, all under :class:`SeqJEPAError`."""

from __future__ import annotations

__all__ = [
    "SeqJEPAError",
    "ConfigError",
    "UnknownModelError",
    "WeightsNotAvailableError",
    "IntegrityError",
    "UnsafeCheckpointError",
    "CheckpointMismatchError",
    "ConfigWeightsMismatchError",
    "CheckpointSaveError",
    "RunLockedError",
    "NonFiniteLossError",
    "CommandLineError",
    "MissingExtraError",
    "UnverifiedWeightsWarning",
]


class SeqJEPAError(Exception):
    """Base class of every error seqjepa raises on purpose."""


class ConfigError(SeqJEPAError, ValueError):
    """A configuration is invalid: unknown, missing, ill-typed or clashing fields."""


class UnknownModelError(SeqJEPAError, ValueError):
    """A model name is not in the registry (the message suggests close names)."""


class WeightsNotAvailableError(SeqJEPAError, FileNotFoundError):
    """Weights were asked for but could be found neither in the cache nor on the network."""


class IntegrityError(SeqJEPAError, OSError):
    """A file's content is not what was expected (hash, size, LFS pointer, truncation)."""


class UnsafeCheckpointError(SeqJEPAError, RuntimeError):
    """A pickled checkpoint asked for a global outside the allow-list; nothing of it was run."""


class CheckpointMismatchError(SeqJEPAError, RuntimeError):
    """A state dict does not fit the model exactly (missing, unexpected or mis-shaped keys)."""


class ConfigWeightsMismatchError(ConfigError, CheckpointMismatchError):
    """A config.json describes another architecture than its weights file; found before anything was allocated."""


class CheckpointSaveError(SeqJEPAError, OSError):
    """A training checkpoint could not be written; the previous checkpoints are untouched."""


class RunLockedError(SeqJEPAError, RuntimeError):
    """Another live training run holds the output directory."""


class NonFiniteLossError(SeqJEPAError, FloatingPointError):
    """The training loss became NaN or infinite; the run stopped and kept its last good checkpoint."""


class CommandLineError(SeqJEPAError):
    """A bad command-line argument: reported as one line, exit status 2."""


class MissingExtraError(SeqJEPAError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it (``seqjepa[plots]``)."""


class UnverifiedWeightsWarning(UserWarning):
    """A cached file was used although no hash was known to check it against."""
