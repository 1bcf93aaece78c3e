"""Local weights I/O in the Hugging Face layout: ``config.json`` + ``model.safetensors`` + ``README.md``.

``config.json`` records the sha256 and size of ``model.safetensors``; loading reads the file once,
checks both on those bytes and deserializes the same bytes, so a bit flip, a truncated copy or a
file swapped mid-load is caught, never half-loaded.

This module builds models only through a class it is given (``model_class``) and imports neither
the model, the factory nor the resolver: :class:`seqjepa.SeqJEPA`'s ``save_pretrained`` (through
:func:`write_model_directory`) and ``from_pretrained`` rest on it without an import cycle.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import torch
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from ..errors import CheckpointMismatchError, ConfigError, ConfigWeightsMismatchError, IntegrityError
from ..models.config import SeqJEPAConfig
from ..utils.files import atomic_write_bytes, atomic_write_text, check_safetensors_bytes, require_regular_file, sha256_bytes, sha256_mismatch
from ..version import __version__
from ._model_card import render_model_card

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from ..models.model import SeqJEPA

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CARD_NAME",
    "write_model_directory",
    "load_directory",
    "load_weights_bytes",
    "load_state_dict_strict",
    "read_config_file",
    "model_from_state_dict",
    "finalize",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

PathLike = Union[str, "os.PathLike[str]"]


def write_model_directory(
    model: "SeqJEPA",
    save_directory: PathLike,
    *,
    include_target_encoder: bool,
    dtype: Optional[torch.dtype],
    metadata: Optional[Mapping[str, Any]],
    card: Optional[str],
) -> str:
    """Write ``model`` to ``save_directory`` in the Hugging Face layout, every file atomically.

    The one writer behind :meth:`seqjepa.SeqJEPA.save_pretrained`, which holds the options' defaults
    and documents them; the official-checkpoint conversion calls it directly for the sha256 of the
    ``model.safetensors`` it wrote, which it returns.
    """
    out = Path(save_directory)
    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        if not include_target_encoder and key.startswith("target_encoder."):
            continue
        value = value.detach().to("cpu")
        if dtype is not None and value.is_floating_point():
            value = value.to(dtype)
        tensors[key] = value.contiguous()
    data = _canonical_header(save_safetensors_bytes(tensors, metadata={"format": "pt", "library": "seqjepa"}))
    atomic_write_bytes(out / WEIGHTS_NAME, data)
    digest = sha256_bytes(data)
    document: dict[str, Any] = {
        "library": "seqjepa",
        "seqjepa_version": __version__,
        "model": model.config.to_dict(),
        "has_target_encoder": include_target_encoder and model.has_target_encoder,
        "weights": {WEIGHTS_NAME: {"sha256": digest, "size": len(data)}},
    }
    if metadata:
        document["metadata"] = dict(metadata)
    atomic_write_text(out / CONFIG_NAME, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if card is None:
        card = render_model_card(model.config, sha256=digest, metadata=metadata)
    atomic_write_text(out / CARD_NAME, card)
    return digest


def _canonical_header(data: bytes) -> bytes:
    """The same file with its JSON header's keys sorted: the same model always gives the same bytes.

    safetensors writes the header's keys in hash-map order, which changes from process to process;
    the sorted header has the same length, so the tensor bytes and offsets are untouched.
    """
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    if len(text) > length:  # pragma: no cover - the same keys and values cannot grow
        return data
    return data[:8] + text.ljust(length, b" ") + data[8 + length :]


_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}")


def read_config_file(path: PathLike) -> tuple[SeqJEPAConfig, dict[str, Any]]:
    """Parse a seqjepa ``config.json``: returns the model config and the whole document."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ConfigError(f"{os.fspath(path)} is not valid JSON: {type(exc).__name__}: {str(exc)[:200]}") from None
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        raise ConfigError(f"{os.fspath(path)}: expected a JSON object with a 'model' section (a seqjepa config.json)")
    if isinstance(document.get("finetune"), dict):
        # its weights hold a head and the backbone under another prefix: loading them as a SeqJEPA cannot work
        kind = str(document["finetune"].get("kind"))[:40]
        raise ConfigError(
            f"{os.fspath(path)} belongs to a fine-tuned model ({kind}), not a pretrained seq-JEPA: load its directory "
            f"with seqjepa.load_finetuned({os.fspath(Path(path).parent)!r})"
        )
    # write_model_directory writes every field: a missing one would silently take a default (e.g. another
    # normalization or image size) and give wrong features from the right weights
    missing = sorted(f.name for f in dataclasses.fields(SeqJEPAConfig) if f.name not in document["model"])
    if missing:
        raise ConfigError(f"{os.fspath(path)}: the 'model' section lacks field(s) {missing}")
    try:
        config = SeqJEPAConfig.from_dict(document["model"])
    except ConfigError as exc:
        raise ConfigError(f"{os.fspath(path)}: {exc}") from exc
    return config, document


def load_directory(
    directory: PathLike,
    *,
    model_class: type,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
    expected_sha256: Optional[str] = None,
) -> "SeqJEPA":
    """Load a directory written by :func:`write_model_directory` as ``model_class``: verified, strict, in eval mode.

    The weights' sha256 is checked against ``expected_sha256`` when given, else against the one
    recorded in ``config.json``, on the bytes that are then deserialized.
    """
    d = Path(directory)
    config_path, weights_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (config_path, weights_path):
        require_regular_file(p, why=f"a seqjepa model directory holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    config, document = read_config_file(config_path)
    weights_section = document.get("weights", {})
    recorded = weights_section.get(WEIGHTS_NAME, {}) if isinstance(weights_section, dict) else None
    if (
        not isinstance(recorded, dict)
        or not isinstance(recorded.get("sha256", ""), str)
        or not isinstance(recorded.get("size", 0), int)
        or isinstance(recorded.get("size"), bool)
    ):
        raise ConfigError(
            f"{config_path}: field 'weights.{WEIGHTS_NAME}' must be an object with sha256 (hex string) and size "
            f"(integer), got {weights_section!r:.200}"
        )
    if expected_sha256 is not None and not isinstance(expected_sha256, str):
        raise ValueError(f"expected_sha256: expected a hex string, got {type(expected_sha256).__name__}")
    if expected_sha256 is not None and not _SHA256_RE.fullmatch(expected_sha256):
        raise ValueError(f"expected_sha256: expected 64 hexadecimal digits, got {expected_sha256[:80]!r} "
                         "(malformed, so nothing could match it)")
    if recorded.get("sha256") and not _SHA256_RE.fullmatch(recorded["sha256"]):
        raise ConfigError(f"{config_path}: field 'weights.{WEIGHTS_NAME}.sha256' must be 64 hexadecimal digits, got "
                          f"{recorded['sha256'][:80]!r} (malformed: the file is damaged or was edited)")
    with open(weights_path, "rb") as fh:
        data = fh.read()
    check_safetensors_bytes(data, where=str(weights_path))
    if "size" in recorded and len(data) != recorded["size"]:
        raise IntegrityError(
            f"{weights_path} is {len(data)} bytes, {config_path} records {recorded['size']}: truncated or replaced"
        )
    if not (expected_sha256 or recorded.get("sha256")):
        # nothing to check against (a hand-written config.json): load, but not without a word
        logger.warning("%s records no sha256 for %s, so the weights load unverified (their sha256 is %s)",
                       config_path, WEIGHTS_NAME, sha256_bytes(data))
    want = expected_sha256 or recorded.get("sha256")
    actual = sha256_bytes(data)
    if want and actual != want.lower():
        raise IntegrityError(sha256_mismatch("weights", str(weights_path), actual, want))
    return load_weights_bytes(data, config, model_class=model_class, source=str(weights_path), device=device, dtype=dtype)


def load_weights_bytes(
    data: bytes,
    config: SeqJEPAConfig,
    *,
    model_class: type,
    source: str,
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
) -> "SeqJEPA":
    """Deserialize verified safetensors bytes into ``model_class(config)``: strict, eval mode.

    The shapes ``config`` implies are compared with the file's header on a meta-device model first,
    so a config.json that disagrees with its weights fails before any memory is allocated for it.
    """
    check_config_against_header(config, check_safetensors_bytes(data, where=source), model_class=model_class, source=source)
    try:
        state = load_safetensors_bytes(data)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error types for corrupt bytes
        raise IntegrityError(f"{source} is not a readable safetensors file: {type(exc).__name__}: {exc}") from None
    for key, tensor in state.items():  # NaN weights load silently and give NaN features for every input
        if tensor.is_floating_point() and tensor.numel() and not bool(torch.isfinite(tensor).all()):
            raise IntegrityError(f"{source}: tensor {key[:120]!r} holds NaN or Inf values: the weights are damaged "
                                 "(or come from a diverged run)")
    model = model_from_state_dict(config, state, source=source, model_class=model_class)
    return finalize(model, device=device, dtype=dtype)


def check_device(device: Union[str, torch.device], what: str = "device") -> None:
    """ValueError naming ``device`` unless this machine can hold a model there: torch's own messages ("Found no
    NVIDIA driver on your system", "not linked with support for mps devices") come late and speak of torch."""
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"{what}: expected 'cpu', 'cuda', 'cuda:N' or 'mps', got {str(device)[:40]!r}") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{what}: {str(device)!r} was asked for, but no CUDA device is available here "
                             "(torch.cuda.is_available() is False: no GPU or no driver); use 'cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"{what}: {str(device)!r} was asked for, this machine has "
                             f"{torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise ValueError(f"{what}: 'mps' was asked for, but the MPS backend is not available here; use 'cpu'")
    elif dev.type not in ("cpu", "meta"):  # meta: shapes without values, asked for on purpose
        raise ValueError(f"{what}: expected 'cpu', 'cuda', 'cuda:N' or 'mps', got {str(device)[:40]!r}")


def finalize(model: "SeqJEPA", *, device: Union[str, torch.device] = "cpu", dtype: Optional[torch.dtype] = None) -> "SeqJEPA":
    """Move to ``device``/``dtype`` and switch to eval mode."""
    check_device(device)
    if dtype is not None:
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise ValueError(f"dtype: expected a floating-point torch.dtype, got {dtype}")
        model = model.to(dtype=dtype)
    return model.to(device).eval()


_FIELDS_BY_PREFIX = (
    ("encoder.", "backbone / backbone_kwargs / encoder_dim / in_channels / cifar_stem"),
    ("target_encoder.", "backbone / backbone_kwargs / encoder_dim / in_channels / cifar_stem"),
    ("action_embedding.", "action_dim / action_embed_dim"),
    ("aggregator.layers.", "num_layers / num_heads / mlp_ratio"),
    ("aggregator.", "encoder_dim / action_embed_dim"),
    ("predictor.", "predictor_hidden"),
)


def check_config_against_header(config: SeqJEPAConfig, header: Mapping[str, Any], *, model_class: type, source: str) -> None:
    """Compare the shapes ``config`` implies (a meta-device model: nothing allocated) with a safetensors header.

    Raises :class:`~seqjepa.errors.ConfigWeightsMismatchError` (a ConfigError and a
    CheckpointMismatchError) naming the config fields behind the first differences.
    """
    stored = {
        k: (tuple(v.get("shape", ())), _HEADER_DTYPES.get(str(v.get("dtype")), str(v.get("dtype"))))
        for k, v in header.items() if k != "__metadata__" and isinstance(v, Mapping)
    }
    has_target = any(k.startswith("target_encoder.") for k in stored)
    with torch.device("meta"):
        model = model_class(config, with_target_encoder=has_target)
    expected = {k: (tuple(v.shape), str(v.dtype)) for k, v in model.state_dict().items()}
    problems, keys = _mismatches(expected, stored)
    if problems:
        fields = list(dict.fromkeys(names for key in keys for prefix, names in _FIELDS_BY_PREFIX if key.startswith(prefix)))
        raise ConfigWeightsMismatchError(
            f"{source} does not fit the model its config.json describes (check config field(s) "
            f"{'; '.join(fields[:2]) or 'all'}); nothing was loaded. " + "; ".join(problems)
        )


_HEADER_DTYPES = {"F64": "torch.float64", "F32": "torch.float32", "F16": "torch.float16", "BF16": "torch.bfloat16",
                  "I64": "torch.int64", "I32": "torch.int32", "I16": "torch.int16", "I8": "torch.int8",
                  "U8": "torch.uint8", "BOOL": "torch.bool"}


def _is_float(dtype: str) -> bool:
    return dtype.startswith(("torch.float", "torch.bfloat"))


def _mismatches(
    expected: Mapping[str, tuple[tuple[int, ...], str]], stored: Mapping[str, tuple[tuple[int, ...], str]]
) -> tuple[list[str], list[str]]:
    """One line per kind of difference (at most five keys each) and the differing keys in model order.

    Shapes must be equal; dtypes need only agree on floating point vs not (a float16 file loads into
    a float32 model).
    """
    missing = [k for k in expected if k not in stored]
    unexpected = [k for k in stored if k not in expected]
    shape = [k for k in expected if k in stored and stored[k][0] != expected[k][0]]
    kind = [k for k in expected if k in stored and _is_float(stored[k][1]) != _is_float(expected[k][1])]
    problems = []
    for label, items, fmt in (
        ("missing", missing, "{}"), ("unexpected", unexpected, "{}"),
        ("shape mismatch", shape, "{}: checkpoint {} vs model {}"), ("dtype mismatch", kind, "{}: checkpoint {} vs model {}"),
    ):
        if items:
            shown = [fmt.format(k, stored[k][0 if "shape" in label else 1], expected[k][0 if "shape" in label else 1])
                     if "mismatch" in label else k for k in items[:5]]
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(shown)}{more}")
    return problems, shape + missing + unexpected + kind


def model_from_state_dict(
    config: SeqJEPAConfig, state: Mapping[str, torch.Tensor], *, source: str, model_class: type
) -> "SeqJEPA":
    """Build ``model_class(config)`` (with a target encoder iff ``state`` has one) and load ``state`` strictly."""
    has_target = any(k.startswith("target_encoder.") for k in state)
    model = model_class(config, with_target_encoder=has_target)
    load_state_dict_strict(model, state, source=source)
    return model


def load_state_dict_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` into ``module`` only if keys, shapes and dtypes match exactly; else load nothing.

    The error names the first mismatching keys of each kind instead of dumping hundreds.
    """
    own = module.state_dict()
    problems, _ = _mismatches(
        {k: (tuple(v.shape), str(v.dtype)) for k, v in own.items()},
        {k: (tuple(v.shape), str(v.dtype)) for k, v in state.items()},
    )
    if problems:
        raise CheckpointMismatchError(
            f"{source} does not fit this model exactly; nothing was loaded. " + "; ".join(problems)
        )
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(state[k].to(v.dtype) if v.is_floating_point() else state[k])
