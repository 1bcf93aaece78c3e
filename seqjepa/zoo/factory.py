"""The front door: ``load``, ``create_model``, ``download`` and the official-checkpoint helpers.

This is the one zoo module that knows the concrete model class, and it only binds it: the work is
:mod:`seqjepa.zoo._loading`'s, which is handed the class, so the model's own ``from_pretrained``
reaches the same code without an import cycle.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import torch

from ..errors import ConfigError
from ..models.config import SeqJEPAConfig
from ..models.model import SeqJEPA
from ..utils.files import sha256_file
from ._convert_official import ConversionReport
from ._loading import convert_official_file, load_model, load_official_file
from ._serialization import WEIGHTS_NAME as WEIGHTS_FILE
from ._resolve import Resolution, resolve
from .registry import get_pretrained_cfg

__all__ = [
    "load", "create_model", "download", "load_official", "convert_official", "describe_weights", "DEFAULT_MODEL",
]

logger = logging.getLogger(__name__)

#: The small model shipped inside the package; loads with no network.
DEFAULT_MODEL = "tiny-toy3diebench"

PathLike = Union[str, "os.PathLike[str]"]


def load(
    name_or_path: PathLike = DEFAULT_MODEL,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
) -> SeqJEPA:
    """Load a pretrained seq-JEPA in eval mode, strictly, with its preprocessing attached.

    Args:
        name_or_path: a registry name (see :func:`seqjepa.list_models`), ``"hf-hub:org/repo[@revision]"``,
            a local directory (config.json + model.safetensors), a ``.safetensors`` file with its
            ``config.json`` beside it, or an official seq-JEPA ``.pth`` checkpoint (converted in
            memory with safe unpickling).
        revision: override the pinned Hub revision (a branch, tag or 40-hex commit).
        cache_dir: Hugging Face cache directory (default: the standard HF cache).
        local_files_only: never touch the network; ``None`` follows ``HF_HUB_OFFLINE``.
        device: where to put the model.
        dtype: floating-point dtype of the parameters (default: as stored).

    Returns:
        SeqJEPA: the model, in eval mode, with its preprocessing attached (``model.transform``).

    Raises:
        UnknownModelError: the name is not in the registry (the message suggests close names).
        WeightsNotAvailableError: the weights are neither cached nor downloadable.
        IntegrityError: a file's sha256, size or format is wrong; nothing was deserialized.
        UnsafeCheckpointError: an official checkpoint references a global outside the allow-list.
    """
    return load_model(
        name_or_path, model_class=SeqJEPA, revision=revision, cache_dir=cache_dir,
        local_files_only=local_files_only, device=device, dtype=dtype,
    )


def create_model(name_or_config: Union[str, SeqJEPAConfig], pretrained: bool = False, **load_kwargs: Any) -> SeqJEPA:
    """Build a seq-JEPA from a config or a registry name; ``pretrained=True`` loads its weights.

    Without ``pretrained`` the model is randomly initialized (in train mode), as for training.
    """
    if isinstance(name_or_config, SeqJEPAConfig):
        if pretrained:
            raise ValueError("pretrained: a bare SeqJEPAConfig has no weights; pass a registry name or path")
        return SeqJEPA(name_or_config)
    if not isinstance(name_or_config, str):
        raise ValueError(f"name_or_config: expected a registry name or a SeqJEPAConfig, got {type(name_or_config).__name__}")
    if pretrained:
        return load(name_or_config, **load_kwargs)
    try:
        config = get_pretrained_cfg(name_or_config).config
    except (KeyError, TypeError) as exc:  # pragma: no cover - cards are validated when read
        raise ConfigError(f"registry card {name_or_config!r} has no valid 'model' section") from exc
    return SeqJEPA(config)


def download(
    name: str,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    refresh: bool = False,
) -> Resolution:
    """Fetch (and convert) a named model into the cache without loading it; returns what it resolved.

    ``refresh=True`` ignores an earlier resolution record and asks the Hub again.
    """
    return resolve(name, model_class=SeqJEPA, revision=revision, cache_dir=cache_dir,
                   local_files_only=local_files_only, refresh=refresh)


def load_official(
    path: PathLike,
    *,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
    overrides: Optional[Mapping[str, Any]] = None,
) -> SeqJEPA:
    """Load an official ``.pth`` checkpoint into a :class:`~seqjepa.SeqJEPA` (eval mode, strict)."""
    return load_official_file(path, model_class=SeqJEPA, device=device, dtype=dtype, overrides=overrides)


def convert_official(
    checkpoint: PathLike,
    out_dir: PathLike,
    *,
    overrides: Optional[Mapping[str, Any]] = None,
    include_target_encoder: bool = True,
) -> ConversionReport:
    """Convert an official ``.pth`` to ``out_dir`` (config.json + model.safetensors + README.md).

    The README names the source file and its sha256; the conversion report lists dropped keys.
    """
    return convert_official_file(checkpoint, out_dir, model_class=SeqJEPA, overrides=overrides,
                                 include_target_encoder=include_target_encoder)


def describe_weights(spec: Optional[str], revision: Optional[str] = None) -> dict[str, Any]:
    """Name, resolved revision and the sha256 of the weights file behind ``spec``, as far as is known offline.

    ``spec`` is anything :func:`load` takes. For a directory or a file, the sha256 of its ``model.safetensors``
    (or of the file); for a registry or ``hf-hub:`` name, the sha256 its cache resolution recorded (nothing is
    downloaded). ``weights_sha256`` is None when it cannot be told. This is the one meaning of "weights sha256"
    in seqjepa's outputs: a hash of the file's bytes, never of a state dict.
    """
    record: dict[str, Any] = {"name": spec, "revision": revision, "weights_sha256": None}
    if spec is None:
        return record
    path = Path(os.path.expanduser(spec))
    weights = path / WEIGHTS_FILE if path.is_dir() else path
    if weights.is_file():
        record["weights_sha256"] = sha256_file(weights)
        record["path"] = str(weights.resolve())
        return record
    try:
        res = download(spec, revision=revision, local_files_only=True)
        record["revision"] = res.commit
        first = next(iter(res.files.values()), {}) if res.files else {}
        record["weights_sha256"] = (res.files.get(WEIGHTS_FILE) or first).get("sha256")
    except Exception as exc:  # noqa: BLE001 - provenance only: the caller's model is already loaded
        logger.debug("could not resolve %s offline to record its weights' sha256: %s", spec, exc)
    return record

