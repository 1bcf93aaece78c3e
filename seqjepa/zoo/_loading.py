"""From a name or a path to a verified model of a given class: the work behind ``load`` and ``from_pretrained``.

The model class is a parameter, never imported, so that the model's own ``from_pretrained``
can call this module without an import cycle (the factory passes :class:`seqjepa.SeqJEPA`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

import torch

from ..errors import IntegrityError, WeightsNotAvailableError
from . import _cache as hc
from ._convert_official import ConversionReport, convert_to_directory, read_official_checkpoint
from .registry import HUB_PREFIX, ModelCard, get_pretrained_cfg
from ._resolve import Resolution, resolve
from ._serialization import CONFIG_NAME, WEIGHTS_NAME, finalize, load_directory, load_weights_bytes, model_from_state_dict
from ._verify import verify_weights_file

if TYPE_CHECKING:
    from ..models.model import SeqJEPA

__all__ = ["load_model", "load_resolution", "load_official_file", "convert_official_file", "is_local_path",
           "check_name_text", "check_load_options"]

PathLike = Union[str, "os.PathLike[str]"]
OFFICIAL_SUFFIXES = (".pth", ".pt", ".tar")


def is_local_path(name_or_path: PathLike) -> bool:
    """True for anything that should be read from disk rather than resolved as a model name."""
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    if text.startswith(HUB_PREFIX):
        return False
    return (
        os.path.exists(text)
        or text.startswith((".", "~", os.sep))
        or (os.altsep is not None and os.altsep in text)
        or text.endswith(OFFICIAL_SUFFIXES + (".safetensors",))
    )


def check_name_text(text: str) -> None:
    """Refuse what is neither a name nor a path before anything resolves it: empty, control characters, URLs."""
    if not text.strip():
        raise ValueError("name_or_path: expected a model name or a path, got an empty string")
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise ValueError(f"name_or_path: control characters (NUL, newline...) are not allowed, got {text!r}")
    if "://" in text:
        raise ValueError(
            f"name_or_path: URLs are not loaded, got {text!r}; use a registry name, 'hf-hub:org/repo[@revision]' "
            "or a local path"
        )


def check_load_options(device: object, dtype: object) -> torch.device:
    """Validate ``device`` and ``dtype`` before any file is read; returns the device."""
    if dtype is not None and (not isinstance(dtype, torch.dtype) or not dtype.is_floating_point):
        raise ValueError(f"dtype: expected a floating-point torch.dtype such as torch.float16, got {dtype!r}")
    if not isinstance(device, (str, torch.device)):
        raise ValueError(f"device: expected a string such as 'cpu' or 'cuda:0', or a torch.device, got {type(device).__name__}")
    try:
        return torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"device: expected a device such as 'cpu' or 'cuda:0', got {device!r}") from None


def load_model(
    name_or_path: PathLike,
    *,
    model_class: type,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
    local_files_only: Optional[bool] = None,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
) -> "SeqJEPA":
    """Load ``name_or_path`` (see :func:`seqjepa.load`) as ``model_class``: verified, strict, in eval mode."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise ValueError(f"name_or_path: expected a model name or a path, got {type(name_or_path).__name__}")
    check_name_text(os.fspath(name_or_path))
    check_load_options(device, dtype)
    if is_local_path(name_or_path):
        return _load_local(Path(os.path.expanduser(os.fspath(name_or_path))), model_class=model_class, device=device, dtype=dtype)
    name = str(name_or_path)
    res = resolve(name, model_class=model_class, revision=revision, cache_dir=cache_dir, local_files_only=local_files_only)
    card = None if name.startswith(HUB_PREFIX) else get_pretrained_cfg(name)
    return load_resolution(res, card, model_class=model_class, device=device, dtype=dtype)


def load_resolution(
    res: Resolution, card: Optional[ModelCard], *, model_class: type, device, dtype
) -> "SeqJEPA":
    """Build the model a :class:`~seqjepa.zoo._resolve.Resolution` points to, hashing what it deserializes."""
    if card is None:  # hf-hub:org/repo in our layout
        weights = res.files[WEIGHTS_NAME]
        # an unverified weights file (hand-copied cache) is checked against the sha256 in its config.json
        expected = weights["sha256"] if weights.get("verified", True) else None
        return load_directory(res.model_dir, model_class=model_class, device=device, dtype=dtype, expected_sha256=expected)
    if res.model_dir is not None:  # an official checkpoint, converted into the cache
        conv_sha = res.files[f"converted/{WEIGHTS_NAME}"]["sha256"]
        try:
            return load_directory(res.model_dir, model_class=model_class, device=device, dtype=dtype, expected_sha256=conv_sha)
        except IntegrityError as exc:
            removed = [p for f in (WEIGHTS_NAME, CONFIG_NAME) for p in hc.remove_cached_file(Path(res.model_dir) / f)]
            raise IntegrityError(f"{exc}; removed the converted copy ({', '.join(removed)}): load again to reconvert") from exc
    path = Path(res.weights_path)
    meta = next(iter(res.files.values()))
    # a file inside the installed package is not the cache's to delete
    verified = verify_weights_file(path, meta, remove=card.source.kind != "package")
    return load_weights_bytes(verified.data, card.config, model_class=model_class, source=str(path), device=device, dtype=dtype)


def load_official_file(path: PathLike, *, model_class: type, device, dtype, overrides=None) -> "SeqJEPA":
    """An official ``.pth`` converted in memory (safe unpickling) into ``model_class``, strict, eval mode."""
    config, state, report = read_official_checkpoint(path, overrides=overrides)
    model = model_from_state_dict(config, state, source=os.fspath(path), model_class=model_class)
    model.conversion_report = report
    return finalize(model, device=device, dtype=dtype)


def convert_official_file(checkpoint: PathLike, out_dir: PathLike, *, model_class: type, overrides=None,
                          include_target_encoder: bool = True) -> ConversionReport:
    """An official ``.pth`` written to ``out_dir`` in our layout, its README naming the source and its sha256."""
    def metadata(report: ConversionReport) -> dict[str, Any]:
        return {
            "name": f"seq-JEPA converted from {report.source}",
            "source": report.source,
            "source_sha256": report.source_sha256,
            "converted_from": "official seq-JEPA checkpoint (hafezgh/seq-jepa)",
            "assumed": report.assumed,
        }

    report, _ = convert_to_directory(checkpoint, out_dir, model_class=model_class, metadata=metadata, overrides=overrides,
                                     include_target_encoder=include_target_encoder)
    return report


def _load_local(path: Path, *, model_class: type, device, dtype) -> "SeqJEPA":
    if not path.exists():
        raise WeightsNotAvailableError(f"name_or_path: {path} does not exist")
    if path.is_dir():
        return load_directory(path, model_class=model_class, device=device, dtype=dtype)
    if path.suffix == ".safetensors":
        if path.name != WEIGHTS_NAME or not (path.parent / CONFIG_NAME).is_file():
            raise WeightsNotAvailableError(
                f"name_or_path: {path} needs its config: load the directory holding {WEIGHTS_NAME} and "
                f"{CONFIG_NAME} (weights without their config would load with the wrong preprocessing)"
            )
        return load_directory(path.parent, model_class=model_class, device=device, dtype=dtype)
    if path.suffix in OFFICIAL_SUFFIXES:
        return load_official_file(path, model_class=model_class, device=device, dtype=dtype)
    raise ValueError(f"name_or_path: expected a directory, a model.safetensors or an official .pth file, got {path}")
