"""``push_to_hub``: a model to a Hub repository in the seqjepa layout, in one commit.

It rests on the serialization layer only, so :meth:`seqjepa.SeqJEPA.push_to_hub` can use it
without importing the factory or the resolver.
"""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING, Any, Mapping, Optional, Union

from ._hub_api import default_endpoint
from .registry import validate_repo_id, validate_revision
from ._serialization import CARD_NAME, CONFIG_NAME, WEIGHTS_NAME

if TYPE_CHECKING:
    from ..models.model import SeqJEPA

__all__ = ["push_to_hub"]


def push_to_hub(
    model: "SeqJEPA",
    repo_id: str,
    *,
    revision: Optional[str] = None,
    private: Optional[bool] = None,
    token: Optional[Union[str, bool]] = None,
    commit_message: str = "Upload seq-JEPA model",
    include_target_encoder: bool = True,
    metadata: Optional[Mapping[str, Any]] = None,
    api: Any = None,
) -> Any:
    """Upload ``model`` to the Hub as model.safetensors + config.json + README.md (one commit).

    ``api`` defaults to ``huggingface_hub.HfApi(endpoint=HF_ENDPOINT)``. Returns the upload's commit info.
    """
    validate_repo_id(repo_id)
    validate_revision(revision)
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(endpoint=default_endpoint(), library_name="seqjepa")
    with tempfile.TemporaryDirectory(prefix="seqjepa-push-") as tmp:
        model.save_pretrained(tmp, include_target_encoder=include_target_encoder, metadata=dict(metadata or {}))
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True, token=token)
        return api.upload_folder(
            repo_id=repo_id, folder_path=tmp, repo_type="model", revision=revision,
            commit_message=commit_message, token=token,
            allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME],
        )
