"""``export``: any loadable model to a publishable directory (weights, config, README with provenance).

It sits above the factory (it loads names) and nothing below imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from ..models.model import SeqJEPA
from .factory import download, load
from ._loading import is_local_path
from ._model_card import card_metadata
from .registry import HUB_PREFIX, get_pretrained_cfg

__all__ = ["export"]

PathLike = Union[str, "os.PathLike[str]"]


def export(
    model_or_name: Union[SeqJEPA, str, PathLike],
    out_dir: PathLike,
    *,
    include_target_encoder: bool = True,
    metadata: Optional[Mapping[str, Any]] = None,
    **load_kwargs: Any,
) -> Path:
    """Write model.safetensors + config.json + README.md (metrics, provenance, sha256, how to load).

    ``model_or_name`` is a model, a registry name, ``hf-hub:...`` or a local directory / .pth.
    A registry name's card supplies the README's description, metrics and provenance.
    """
    meta: dict[str, Any] = {}
    if isinstance(model_or_name, SeqJEPA):
        model = model_or_name
    else:
        model = load(model_or_name, **load_kwargs)
        text = os.fspath(model_or_name)
        if not is_local_path(model_or_name) and not text.startswith(HUB_PREFIX):
            meta = card_metadata(get_pretrained_cfg(text))
            res = download(text, revision=load_kwargs.get("revision"), cache_dir=load_kwargs.get("cache_dir"),
                           local_files_only=load_kwargs.get("local_files_only"))
            src = next(iter(res.files.items()))
            meta["source"] = f"{res.repo}@{res.commit}/{src[0]}"
            meta["source_sha256"] = src[1]["sha256"]
        else:
            meta["source"] = text
    meta.update(metadata or {})
    model.save_pretrained(out_dir, include_target_encoder=include_target_encoder, metadata=meta)
    return Path(out_dir)
