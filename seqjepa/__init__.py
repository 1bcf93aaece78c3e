"""seqjepa: pretrained seq-JEPA models (Ghaemi, Muller, Bakhtiari, NeurIPS 2025), loadable in one line.

>>> import seqjepa
>>> model = seqjepa.load()                                # the small model shipped in the package
>>> z = model.equivariant_embedding(images)              # (B, C, H, W) -> (B, D): keeps pose
>>> z_agg = model.invariant_embedding(views, actions)    # (B, M, C, H, W), (B, M-1, A) -> (B, E)

Layout: :mod:`seqjepa.models` (the network and what it needs), :mod:`seqjepa.zoo` (names ->
verified weights -> models), :mod:`seqjepa.data`, :mod:`seqjepa.train` (pretraining and
fine-tuning), :mod:`seqjepa.probes` (online and offline probes), :mod:`seqjepa.eval`,
:mod:`seqjepa.features` (files -> feature shards: :func:`seqjepa.extract`, :func:`seqjepa.read_features`),
:mod:`seqjepa.demo` and :mod:`seqjepa.cli`.
"""

import logging as _logging

from .errors import (
    CheckpointMismatchError,
    ConfigError,
    IntegrityError,
    SeqJEPAError,
    UnknownModelError,
    UnsafeCheckpointError,
    WeightsNotAvailableError,
)
from .models.actions import get_action_space, list_action_spaces
from .models.config import SeqJEPAConfig
from .models.model import SeqJEPA, SeqJEPAOutput, SeqJEPATrainOutput
from .features import extract, read_features
from .version import __version__
from .zoo.factory import DEFAULT_MODEL, convert_official, create_model, download, load, load_official
from .zoo.registry import ModelCard, get_pretrained_cfg, list_models, list_pretrained


def __getattr__(name: str):
    # fine-tuning lives beside the trainer, which `import seqjepa` does not load: imported on first use
    if name == "load_finetuned":
        from .train.finetune import load_finetuned

        return load_finetuned
    raise AttributeError(f"module 'seqjepa' has no attribute {name!r}")


# a library adds no handler of its own: the application (or ``seqjepa``'s CLI) decides where messages go
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "DEFAULT_MODEL",
    "SeqJEPA",
    "SeqJEPAConfig",
    "SeqJEPAOutput",
    "SeqJEPATrainOutput",
    "ModelCard",
    "load",
    "download",
    "list_models",
    "list_pretrained",
    "get_pretrained_cfg",
    "create_model",
    "extract",
    "read_features",
    "load_finetuned",
    "convert_official",
    "load_official",
    "get_action_space",
    "list_action_spaces",
    "SeqJEPAError",
    "ConfigError",
    "UnknownModelError",
    "WeightsNotAvailableError",
    "IntegrityError",
    "UnsafeCheckpointError",
    "CheckpointMismatchError",
    "__version__",
]
