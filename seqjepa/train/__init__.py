"""Training seq-JEPA: recipes, the resumable (multi-GPU) loop, checkpoints, export; and fine-tuning.

>>> from seqjepa.train import load_recipe, Trainer
>>> recipe = load_recipe("toy-3diebench", ["train.epochs=5"])
>>> Trainer(recipe, "runs/toy", data_root="data/toy3diebench").run()

The trainer trains the online probes of :mod:`seqjepa.probes.online` alongside. Fine-tuning a
pretrained model for a downstream task (a classifier or a pose regressor, their save format and
loops) is :mod:`seqjepa.train.finetune`.
"""

from .checkpoint import CheckpointSaveError, RunLockedError, find_resumable, load_checkpoint
from .export import export_run
from .loop import NonFiniteLossError, Trainer, TrainResult
from .recipe import DEFAULTS, apply_overrides, list_recipes, load_recipe, model_config, recipe_from_dict

__all__ = [
    "Trainer",
    "TrainResult",
    "NonFiniteLossError",
    "CheckpointSaveError",
    "RunLockedError",
    "load_recipe",
    "recipe_from_dict",
    "list_recipes",
    "apply_overrides",
    "model_config",
    "DEFAULTS",
    "find_resumable",
    "load_checkpoint",
    "export_run",
]
