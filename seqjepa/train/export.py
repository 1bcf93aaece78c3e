"""Export a training run to the Hugging Face layout that :func:`seqjepa.load` reads.

Only the model (and optionally its EMA target encoder) is written: the online probes, the
optimizer and the rest of the training state stay in the run directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from ..models.model import SeqJEPA
from .checkpoint import find_resumable, load_checkpoint
from .recipe import model_config

__all__ = ["export_run"]


def export_run(
    run_dir: str | os.PathLike[str],
    to: str | os.PathLike[str],
    *,
    checkpoint: Optional[str | os.PathLike[str]] = None,
    include_target_encoder: bool = True,
) -> tuple[str, dict]:
    """Write ``config.json`` + ``model.safetensors`` + ``README.md`` for a run's newest valid checkpoint.

    Returns ``(checkpoint path, metadata written)``.
    """
    if checkpoint is not None:
        path, state = Path(checkpoint), load_checkpoint(checkpoint)
    else:
        if not Path(run_dir).is_dir():
            raise FileNotFoundError(f"RUN_DIR: {run_dir} is not a directory")
        path, state, skipped = find_resumable(run_dir)
        if state is None:
            detail = f" ({'; '.join(skipped)})" if skipped else ""
            raise FileNotFoundError(f"RUN_DIR: no usable checkpoint (last.pt or epoch_N.pt) in {run_dir}{detail}")
    recipe = state["recipe"]
    config = model_config(recipe)
    has_target = any(k.startswith("target_encoder.") for k in state["model"])
    model = SeqJEPA(config, with_target_encoder=has_target)
    model.load_state_dict(state["model"], strict=True)
    metadata = {
        "name": f"seq-JEPA ({recipe.get('name', 'custom')})",
        "description": recipe.get("description") or "A seq-JEPA model trained with seqjepa.",
        "source": str(path),
        "recipe": recipe.get("name"),
        "epoch": int(state["epoch"]),
        "global_step": int(state["global_step"]),
        "trained_with": f"seqjepa {state.get('seqjepa_version', '?')}",
        "seed": recipe["train"]["seed"],
    }
    metrics = {k: v for k, v in (state.get("metrics") or {}).items() if k.startswith(("val_", "train_", "loss"))}
    if metrics:
        metadata["metrics"] = metrics
    model.save_pretrained(to, include_target_encoder=include_target_encoder and has_target, metadata=metadata)
    return str(path), metadata
