"""seqjepa: pretrained seq-JEPA models (Ghaemi, Muller, Bakhtiari, NeurIPS 2025), loadable in one line.

>>> import seqjepa
>>> model = seqjepa.load()                                # the small model shipped in the package
>>> z = model.equivariant_embedding(images)              # (B, C, H, W) -> (B, D): keeps pose
>>> z_agg = model.invariant_embedding(views, actions)    # (B, M, C, H, W), (B, M-1, A) -> (B, E)
"""

from .config import SeqJEPAConfig
from .convert import convert_official, load_official
from .errors import (
    CheckpointMismatchError,
    ConfigError,
    IntegrityError,
    SeqJEPAError,
    UnsafeCheckpointError,
    WeightsNotAvailableError,
)
from .factory import DEFAULT_MODEL, create_model, load
from .extract import extract, read_features
from .model import SeqJEPA, SeqJEPAOutput, SeqJEPATrainOutput
from .registry import get_pretrained_cfg, list_models, list_pretrained
from .version import __version__

__all__ = [
    "DEFAULT_MODEL",
    "SeqJEPA",
    "SeqJEPAConfig",
    "SeqJEPAOutput",
    "SeqJEPATrainOutput",
    "load",
    "list_models",
    "list_pretrained",
    "get_pretrained_cfg",
    "create_model",
    "extract",
    "read_features",
    "convert_official",
    "load_official",
    "SeqJEPAError",
    "ConfigError",
    "WeightsNotAvailableError",
    "IntegrityError",
    "UnsafeCheckpointError",
    "CheckpointMismatchError",
    "__version__",
]
