"""Local weights I/O in the Hugging Face layout: ``config.json`` + ``model.safetensors`` + ``README.md``.

``config.json`` records the sha256 and size of ``model.safetensors``; loading checks both before
deserializing, so a bit flip or a truncated copy is caught, never half-loaded.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

import torch
from safetensors.torch import load_file, save_file

from .config import SeqJEPAConfig
from .errors import CheckpointMismatchError, ConfigError, IntegrityError, WeightsNotAvailableError
from .fileio import atomic_write_text, check_safetensors_file, default_file_mode, sha256_file, verify_sha256
from .version import __version__

if TYPE_CHECKING:
    from .model import SeqJEPA

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CARD_NAME",
    "save_pretrained",
    "load_directory",
    "load_state_dict_strict",
    "read_config_file",
    "model_from_state_dict",
    "render_model_card",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

PathLike = Union[str, "os.PathLike[str]"]


def save_pretrained(
    model: "SeqJEPA",
    save_directory: PathLike,
    *,
    include_target_encoder: bool = True,
    dtype: Optional[torch.dtype] = None,
    metadata: Optional[Mapping[str, Any]] = None,
    card: Optional[str] = None,
) -> str:
    """Write ``model`` to ``save_directory`` in the Hugging Face layout; every file atomically.

    Args:
        model: the model to save.
        save_directory: created if missing.
        include_target_encoder: False writes an inference export without the EMA target encoder.
        dtype: cast floating-point tensors (e.g. ``torch.float16``) for a smaller export.
        metadata: extra JSON-able facts for ``config.json`` (provenance, metrics...).
        card: README text; by default a model card is generated.

    Returns:
        The directory path.
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
    weights_path = out / WEIGHTS_NAME
    tmp = out / f".{WEIGHTS_NAME}.{os.getpid()}.tmp"
    try:
        save_file(tensors, str(tmp), metadata={"format": "pt", "library": "seqjepa"})
        os.chmod(tmp, default_file_mode())  # safetensors creates its files 0600
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, weights_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    digest = sha256_file(weights_path)
    document: dict[str, Any] = {
        "library": "seqjepa",
        "seqjepa_version": __version__,
        "model": model.config.to_dict(),
        "has_target_encoder": include_target_encoder and model.has_target_encoder,
        "weights": {WEIGHTS_NAME: {"sha256": digest, "size": weights_path.stat().st_size}},
    }
    if metadata:
        document["metadata"] = dict(metadata)
    atomic_write_text(out / CONFIG_NAME, json.dumps(document, indent=2, sort_keys=True) + "\n")
    if card is None:
        card = render_model_card(model.config, sha256=digest, metadata=metadata)
    atomic_write_text(out / CARD_NAME, card)
    return str(out)


def read_config_file(path: PathLike) -> tuple[SeqJEPAConfig, dict[str, Any]]:
    """Parse a seqjepa ``config.json``: returns the model config and the whole document."""
    try:
        with open(path, encoding="utf-8") as fh:
            document = json.load(fh)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{os.fspath(path)} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        raise ConfigError(f"{os.fspath(path)}: expected a JSON object with a 'model' section (a seqjepa config.json)")
    # save_pretrained writes every field: a missing one would silently take a default (e.g. another
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
    device: Union[str, torch.device] = "cpu",
    dtype: Optional[torch.dtype] = None,
    expected_sha256: Optional[str] = None,
) -> "SeqJEPA":
    """Load a directory written by :func:`save_pretrained`: verified, strict, in eval mode.

    The weights' sha256 is checked against ``expected_sha256`` when given, else against the one
    recorded in ``config.json``, before safetensors reads the file.
    """
    d = Path(directory)
    config_path, weights_path = d / CONFIG_NAME, d / WEIGHTS_NAME
    for p in (config_path, weights_path):
        if not p.is_file():
            raise WeightsNotAvailableError(f"{p} not found: a seqjepa model directory holds {CONFIG_NAME} and {WEIGHTS_NAME}")
    config, document = read_config_file(config_path)
    check_safetensors_file(weights_path)
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
    want = expected_sha256 or recorded.get("sha256")
    if "size" in recorded and weights_path.stat().st_size != recorded["size"]:
        raise IntegrityError(
            f"{weights_path} is {weights_path.stat().st_size} bytes, {config_path} records {recorded['size']}: truncated or replaced"
        )
    if want:
        verify_sha256(weights_path, want, what="weights")
    state = load_file(str(weights_path), device="cpu")
    model = model_from_state_dict(config, state, source=str(weights_path))
    return finalize(model, device=device, dtype=dtype)


def finalize(model: "SeqJEPA", *, device: Union[str, torch.device] = "cpu", dtype: Optional[torch.dtype] = None) -> "SeqJEPA":
    """Move to ``device``/``dtype`` and switch to eval mode."""
    if dtype is not None:
        if not dtype.is_floating_point:
            raise ValueError(f"dtype: expected a floating-point torch.dtype, got {dtype}")
        model = model.to(dtype=dtype)
    return model.to(device).eval()


def model_from_state_dict(config: SeqJEPAConfig, state: Mapping[str, torch.Tensor], *, source: str) -> "SeqJEPA":
    """Build a model for ``config`` (with a target encoder iff ``state`` has one) and load ``state`` strictly."""
    from .model import SeqJEPA

    has_target = any(k.startswith("target_encoder.") for k in state)
    model = SeqJEPA(config, with_target_encoder=has_target)
    load_state_dict_strict(model, state, source=source)
    return model


def load_state_dict_strict(module: torch.nn.Module, state: Mapping[str, torch.Tensor], *, source: str) -> None:
    """Load ``state`` into ``module`` only if keys, shapes and dtypes match exactly; else load nothing.

    The error names the first mismatching keys of each kind instead of dumping hundreds.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shape = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in own
        if k in state and tuple(state[k].shape) != tuple(own[k].shape)
    ]
    kinds = [
        f"{k}: checkpoint {state[k].dtype} vs model {own[k].dtype}"
        for k in own
        if k in state and state[k].is_floating_point() != own[k].is_floating_point()
    ]
    problems = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shape), ("dtype mismatch", kinds)):
        if items:
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            problems.append(f"{len(items)} {label}: {', '.join(items[:5])}{more}")
    if problems:
        raise CheckpointMismatchError(
            f"{source} does not fit this model exactly; nothing was loaded. " + "; ".join(problems)
        )
    with torch.no_grad():
        for k, v in own.items():
            v.copy_(state[k].to(v.dtype) if v.is_floating_point() else state[k])


def render_model_card(config: SeqJEPAConfig, *, sha256: str, metadata: Optional[Mapping[str, Any]] = None) -> str:
    """A README model card: what the model is, how to load it, its config, provenance and metrics."""
    meta = dict(metadata or {})
    name = meta.get("name", "seq-JEPA model")
    lines = [
        "---",
        "library_name: seqjepa",
        "tags:",
        "- seq-jepa",
        "- self-supervised-learning",
        "- equivariance",
        f"license: {meta.get('license', 'mit')}",
        "---",
        "",
        f"# {name}",
        "",
        str(meta.get("description", "A seq-JEPA model (Ghaemi, Muller, Bakhtiari, NeurIPS 2025, arXiv:2505.03176).")),
        "",
        "## Load",
        "",
        "```python",
        "import seqjepa",
        "model = seqjepa.load(\"PATH_OR_NAME\")  # this directory, hf-hub:org/repo, or a registry name",
        "z = model.equivariant_embedding(images)            # (B, C, H, W) -> (B, D)",
        "z_agg = model.invariant_embedding(views, actions)  # (B, M, C, H, W), (B, M-1, A) -> (B, E)",
        "```",
        "",
        "## Architecture and preprocessing",
        "",
        "| field | value |",
        "|---|---|",
    ]
    for key, value in config.to_dict().items():
        lines.append(f"| {key} | `{json.dumps(value)}` |")
    metrics = meta.get("metrics")
    if isinstance(metrics, Mapping) and metrics:
        lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
        for key, value in metrics.items():
            lines.append(f"| {key} | {value} |")
    lines += ["", "## Provenance", "", f"- `model.safetensors` sha256: `{sha256}`"]
    for key in ("source", "source_sha256", "command", "seed"):
        if key in meta:
            lines.append(f"- {key}: `{meta[key]}`")
    lines += [
        "",
        "## Citation",
        "",
        "```bibtex",
        "@inproceedings{ghaemi2025seqjepa,",
        "  title={seq-JEPA: Autoregressive Predictive Learning of Invariant-Equivariant World Models},",
        "  author={Ghaemi, Hafez and Muller, Eilif B. and Bakhtiari, Shahab},",
        "  booktitle={Advances in Neural Information Processing Systems},",
        "  year={2025}",
        "}",
        "```",
        "",
    ]
    return "\n".join(lines)
