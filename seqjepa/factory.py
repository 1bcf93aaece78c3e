"""`load` and `create_model`: the front door from a name, a directory or a file to a model."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import torch

from .config import SeqJEPAConfig
from .errors import ConfigError, WeightsNotAvailableError

__all__ = ["load", "create_model", "DEFAULT_MODEL", "is_local_path"]

#: The small model shipped inside the package; loads with no network.
DEFAULT_MODEL = "tiny-toy3diebench"

_OFFICIAL_SUFFIXES = (".pth", ".pt", ".tar")


def is_local_path(name_or_path: Union[str, "os.PathLike[str]"]) -> bool:
    """True for anything that should be read from disk rather than resolved as a model name."""
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    if text.startswith("hf-hub:"):
        return False
    return (
        os.path.exists(text)
        or text.startswith((".", "~", os.sep))
        or (os.altsep is not None and os.altsep in text)
        or text.endswith(_OFFICIAL_SUFFIXES + (".safetensors",))
    )


def load(
    name_or_path: Union[str, "os.PathLike[str]"] = DEFAULT_MODEL,
    *,
    revision: Optional[str] = None,
    cache_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    local_files_only: Optional[bool] = None,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
):
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
        A :class:`~seqjepa.model.SeqJEPA` in eval mode.

    Raises:
        WeightsNotAvailableError: the weights are neither cached nor downloadable.
        IntegrityError: a file's sha256, size or format is wrong; nothing was deserialized.
        UnsafeCheckpointError: an official checkpoint references a global outside the allow-list.
    """
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"name_or_path: expected a model name or a path, got {type(name_or_path).__name__}")
    _check_name_text(os.fspath(name_or_path))
    if is_local_path(name_or_path):
        return _load_local(Path(os.path.expanduser(os.fspath(name_or_path))), device=device, dtype=dtype)
    from .hub import load_named

    return load_named(
        str(name_or_path),
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        device=device,
        dtype=dtype,
    )


def _check_name_text(text: str) -> None:
    """Refuse what is neither a name nor a path before anything resolves it: empty, NUL, URLs."""
    if not text.strip():
        raise ValueError("name_or_path: expected a model name or a path, got an empty string")
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise ValueError(f"name_or_path: control characters (NUL, newline...) are not allowed, got {text!r}")
    if "://" in text:
        raise ValueError(
            f"name_or_path: URLs are not loaded, got {text!r}; use a registry name, 'hf-hub:org/repo[@revision]' "
            "or a local path"
        )


def _load_local(path: Path, *, device, dtype):
    from .convert import load_official
    from .io import CONFIG_NAME, load_directory

    if not path.exists():
        raise WeightsNotAvailableError(f"name_or_path: {path} does not exist")
    if path.is_dir():
        return load_directory(path, device=device, dtype=dtype)
    if path.suffix == ".safetensors":
        if path.name != "model.safetensors" or not (path.parent / CONFIG_NAME).is_file():
            raise WeightsNotAvailableError(
                f"name_or_path: {path} needs its config: load the directory holding model.safetensors and "
                f"{CONFIG_NAME} (weights without their config would load with the wrong preprocessing)"
            )
        return load_directory(path.parent, device=device, dtype=dtype)
    if path.suffix in _OFFICIAL_SUFFIXES:
        return load_official(path, device=device, dtype=dtype)
    raise ValueError(
        f"name_or_path: expected a directory, a model.safetensors or an official .pth file, got {path}"
    )


def create_model(name_or_config: Union[str, SeqJEPAConfig], pretrained: bool = False, **load_kwargs):
    """Build a seq-JEPA from a config or a registry name; ``pretrained=True`` loads its weights.

    Without ``pretrained`` the model is randomly initialized (in train mode), as for training.
    """
    from .model import SeqJEPA

    if isinstance(name_or_config, SeqJEPAConfig):
        if pretrained:
            raise ValueError("pretrained: a bare SeqJEPAConfig has no weights; pass a registry name or path")
        return SeqJEPA(name_or_config)
    if not isinstance(name_or_config, str):
        raise ValueError(f"name_or_config: expected a registry name or a SeqJEPAConfig, got {type(name_or_config).__name__}")
    if pretrained:
        return load(name_or_config, **load_kwargs)
    from .registry import get_pretrained_cfg

    card = get_pretrained_cfg(name_or_config)
    try:
        config = SeqJEPAConfig.from_dict(card["model"])
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"registry card {name_or_config!r} has no valid 'model' section") from exc
    return SeqJEPA(config)
