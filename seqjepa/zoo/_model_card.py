"""The README model card written beside ``config.json`` and ``model.safetensors``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Mapping, Optional

from ..models.config import SeqJEPAConfig

if TYPE_CHECKING:
    from .registry import ModelCard

__all__ = ["render_model_card", "card_metadata"]


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


def card_metadata(card: "ModelCard") -> dict[str, Any]:
    """README metadata (name, description, license, metrics) taken from a registry card."""
    metrics = {}
    for row in card.reported:
        metrics[f"{row.metric} ({row.setting}), paper"] = f"{row.value} [{row.source}]"
    for row in card.measured:
        metrics[f"{row.metric} ({row.setting}), measured"] = f"{row.describe()} [{row.source}]"
    return {"name": card.name, "description": card.description, "license": card.license, "metrics": metrics}
